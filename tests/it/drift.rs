//! Drift guards: the facade must cover the vendored API description, and
//! may differ from it only where a difference is declared below, with its
//! reason.
//!
//! They run on the *normalized* description and compare its structure
//! (operations, parameters, schemas, fields, required-ness, constraints,
//! enum values) with the facade's operations and with the JSON Schemas of
//! its types (`json_schemas()`, derived with schemars).

use std::collections::{BTreeMap, BTreeSet};

use klarna_customer_token::{Endpoint, OrderLine, OrderLineType, OrderRequest, Region};
use klarna_customer_token_codegen::{normalize, structure};
use serde_json::{Value, json};

/// Differences from Klarna's description that the facade makes on purpose.
/// The guards accept exactly these: any other difference fails, and so does
/// a declared one that no longer occurs.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "customer_token_order.usage: field only in the description",
        "`usage` is read-only: the server sets it and a request never carries it",
    ),
    (
        "order.redirect_url: required in the description, optional in the facade",
        "Klarna's own example answers omit it; requiring it would fail a successful charge",
    ),
    (
        "order_line.type: closed enum in the description, open enum in the facade",
        "open enums: a value Klarna adds is kept as Unknown (and refused by validation \
         before sending, rather than failing to parse)",
    ),
    (
        "subscription.interval: closed enum in the description, open enum in the facade",
        "open enums, as above",
    ),
    (
        "authorized_payment_method.type: closed enum in the description, open enum in the facade",
        "open enums: a new payment method must never fail a charge that succeeded",
    ),
    (
        "order_line.tax_rate: minimum none in the description, 0 in the facade",
        "Klarna documents tax rates of 0 to 10000 basis points",
    ),
    (
        "order_line.tax_rate: maximum none in the description, 10000 in the facade",
        "Klarna documents tax rates of 0 to 10000 basis points",
    ),
    (
        "order_line.quantity_unit: minLength none in the description, 1 in the facade",
        "Klarna documents quantity_unit as 1 to 8 characters",
    ),
    (
        "order_line.quantity_unit: maxLength none in the description, 8 in the facade",
        "Klarna documents quantity_unit as 1 to 8 characters",
    ),
    (
        "merchant_urls.notification: field only in the facade",
        "Klarna documents it on its merchant URLs (\"URL for notifications on pending \
         orders\", max 2000 characters: \
         https://klarna.github.io/kco_rest_dotnet/v3.1.9/api/Klarna.Rest.Core.Model.PaymentMerchantUrls.html) \
         and sends it in its own customer-token order body \
         (https://docs.klarna.com/kco/use-cases/place-order-token); checked at 2000 like its siblings",
    ),
    (
        "address.street_name: field only in the facade",
        "Klarna documents it on its order addresses (\"Street name. Only applicable in \
         DE/AT/NL\": \
         https://klarna.github.io/kco_rest_dotnet/v3.1.9/api/Klarna.Rest.Core.Model.CheckoutAddressInfo.html); \
         no length limit is documented, so none is checked",
    ),
    (
        "address.street_number: field only in the facade",
        "Klarna documents it on its order addresses (\"Street number. Only applicable in \
         DE/AT/NL\": \
         https://klarna.github.io/kco_rest_dotnet/v3.1.9/api/Klarna.Rest.Core.Model.CheckoutAddressInfo.html); \
         no length limit is documented, so none is checked",
    ),
    (
        "address.house_extension: field only in the facade",
        "Klarna documents it on its order addresses (\"House extension. Only applicable \
         in NL\": \
         https://klarna.github.io/kco_rest_dotnet/v3.1.9/api/Klarna.Rest.Core.Model.CheckoutAddressInfo.html); \
         no length limit is documented, so none is checked",
    ),
    (
        "address.care_of: field only in the facade",
        "Klarna documents it on its order addresses (\"Care of\": \
         https://klarna.github.io/kco_rest_dotnet/v3.1.9/api/Klarna.Rest.Core.Model.CheckoutAddressInfo.html); \
         no length limit is documented, so none is checked",
    ),
];

/// Rules of the facade beyond any schema, with a probe proving each is
/// still enforced: an order that breaks only that rule, and the path its
/// violation must name.
fn rules_beyond_the_schema() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    let valid = valid_order();
    let mut line_total = valid.clone();
    line_total["order_lines"][0]["total_amount"] = json!(2000);
    line_total["order_amount"] = json!(2000);
    line_total["order_lines"][0]["total_tax_amount"] = json!(319);
    line_total["order_tax_amount"] = json!(319);
    let mut line_tax = valid.clone();
    line_tax["order_lines"][0]["total_tax_amount"] = json!(390);
    line_tax["order_tax_amount"] = json!(390);
    let mut order_amount = valid.clone();
    order_amount["order_amount"] = json!(2501);
    let mut order_tax = valid.clone();
    order_tax["order_tax_amount"] = json!(410);
    let mut us_style = valid.clone();
    if let Some(lines) = us_style["order_lines"].as_array_mut() {
        lines.push(json!({
            "name": "Tax", "type": "sales_tax", "quantity": 1, "unit_price": 100,
            "total_amount": 100
        }));
    }
    us_style["order_amount"] = json!(2600);
    us_style["order_tax_amount"] = json!(100);
    vec![
        (
            "line total = quantity × unit_price − total_discount_amount",
            "Klarna's arithmetic",
            line_total,
            "order_lines[0].total_amount",
        ),
        (
            "line tax within 1 of total_amount × tax_rate / (10000 + tax_rate)",
            "Klarna's arithmetic",
            line_tax,
            "order_lines[0].total_tax_amount",
        ),
        (
            "order_amount = Σ total_amount",
            "Klarna's arithmetic",
            order_amount,
            "order_amount",
        ),
        (
            "order_tax_amount within ± lines of Σ total_tax_amount (EU style)",
            "Klarna's arithmetic",
            order_tax,
            "order_tax_amount",
        ),
        (
            "no line taxed at a rate beside a sales_tax line (US style)",
            "Klarna's US tax model",
            us_style,
            "order_lines[0].tax_rate",
        ),
    ]
}

fn valid_order() -> Value {
    json!({
        "order_amount": 2500,
        "order_tax_amount": 399,
        "purchase_currency": "GBP",
        "order_lines": [{
            "name": "Running shoe", "quantity": 1, "unit_price": 2500,
            "tax_rate": 1900, "total_amount": 2500, "total_tax_amount": 399
        }]
    })
}

/// The vendored description, through the one loader the build script uses.
fn vendored() -> Value {
    normalize::load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/customer-token-v1.yaml"
    )))
    .unwrap_or_else(|e| panic!("the vendored description cannot be read: {e}"))
}

fn facade_schemas() -> BTreeMap<String, structure::Schema> {
    structure::from_json_schemas(&klarna_customer_token::json_schemas())
}

/// The differences between a description and a facade that are not
/// declared, and the declared ones that did not occur.
fn undeclared(
    description: &structure::Api,
    schemas: &BTreeMap<String, structure::Schema>,
) -> (Vec<String>, Vec<String>) {
    let found: BTreeSet<String> =
        structure::compare_schemas(&description.schemas, schemas, "description", "facade")
            .iter()
            .map(ToString::to_string)
            .collect();
    let declared: BTreeSet<String> = DELIBERATE.iter().map(|(d, _)| (*d).to_owned()).collect();
    (
        found.difference(&declared).cloned().collect(),
        declared.difference(&found).cloned().collect(),
    )
}

#[test]
fn the_facade_types_match_the_description_schemas() {
    let description = structure::from_openapi(&vendored());
    let (unexpected, stale) = undeclared(&description, &facade_schemas());
    let mut message = String::new();
    if !unexpected.is_empty() {
        message.push_str("the facade differs from the description (follow it, or declare the difference in DELIBERATE with its reason):\n");
        for d in &unexpected {
            message.push_str(&format!("  {d}\n"));
        }
    }
    if !stale.is_empty() {
        message
            .push_str("declared differences that no longer occur (remove them from DELIBERATE):\n");
        for d in &stale {
            message.push_str(&format!("  {d}\n"));
        }
    }
    // The mark tells update-spec's verdict that this names differences.
    assert!(message.is_empty(), "[drift guard] {message}");
}

/// Every host the facade can reach, as `Endpoint` names it: the one host
/// table.
fn facade_hosts() -> BTreeSet<&'static str> {
    let regions = [Region::Europe, Region::NorthAmerica, Region::Oceania];
    regions
        .iter()
        .flat_map(|&r| [Endpoint::Klarna(r), Endpoint::KlarnaPlayground(r)])
        .chain([Endpoint::Kustom, Endpoint::KustomPlayground])
        .map(Endpoint::base_url)
        .collect()
}

/// The servers a description declares that are not among the facade's
/// hosts (a trailing slash aside).
fn unknown_servers(doc: &Value) -> Vec<String> {
    let hosts = facade_hosts();
    doc["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|server| server["url"].as_str().unwrap_or("(no url)"))
        .filter(|url| !hosts.contains(url.trim_end_matches('/')))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_server_of_the_description_is_a_facade_endpoint() {
    let description = vendored();
    assert!(
        description["servers"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "[drift guard] the vendored description declares no servers"
    );
    let unknown = unknown_servers(&description);
    assert!(
        unknown.is_empty(),
        "[drift guard] servers the facade's Endpoint cannot reach (add them to Endpoint): \
         {unknown:?}"
    );
    // The guard sees a host the facade lacks, and reads a trailing slash
    // as the same host.
    let mut changed = description.clone();
    changed["servers"] = json!([
        { "url": "https://api.klarna.com/" },
        { "url": "https://api-eu2.klarna.com" }
    ]);
    assert_eq!(unknown_servers(&changed), ["https://api-eu2.klarna.com"]);
}

#[test]
fn every_declared_difference_has_a_reason() {
    for (difference, reason) in DELIBERATE {
        assert!(reason.len() > 10, "{difference} needs a reason");
    }
    let unique: BTreeSet<&str> = DELIBERATE.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        unique.len(),
        DELIBERATE.len(),
        "a difference is declared twice"
    );
}

#[test]
fn rules_beyond_the_schema_are_still_enforced() {
    let valid = OrderRequest::from_json(valid_order().to_string().as_bytes()).expect("parses");
    assert!(valid.validate().is_ok(), "the base order must be valid");
    for (rule, source, order, path) in rules_beyond_the_schema() {
        let order = OrderRequest::from_json(order.to_string().as_bytes()).expect("parses");
        let errors = order.validate().expect_err(rule);
        assert!(
            errors.at(path).is_some(),
            "{rule} ({source}) is no longer enforced at {path}: {errors}"
        );
    }
}

/// Every limit of the description, applied to a request: a value one past
/// it is refused by the client with the field's path. So the client's
/// limits cannot drift from the description's.
#[test]
fn validation_limits_follow_the_description() {
    let description = structure::from_openapi(&vendored());
    let full = json!({
        "attachment": {"body": "{}", "content_type": "application/vnd.klarna.internal.emd-v2+json"},
        "merchant_data": "m", "merchant_reference1": "r1", "merchant_reference2": "r2",
        "merchant_urls": {"confirmation": "https://shop.example/c", "push": "https://shop.example/p"},
        "order_amount": 2500, "order_tax_amount": 399, "purchase_currency": "GBP",
        "shipping_address": {
            "attention": "a", "city": "c", "country": "GB", "email": "e@x.example",
            "family_name": "f", "given_name": "g", "organization_name": "o",
            "phone": "+441234", "postal_code": "W1", "region": "r", "street_address": "s",
            "street_address2": "s2", "title": "Mr."
        },
        "order_lines": [{
            "image_url": "https://x.example/i.png", "merchant_data": "md", "name": "Running shoe",
            "product_identifiers": {"brand": "b", "category_path": "c", "global_trade_item_number": "g",
                "manufacturer_part_number": "m", "color": "c", "size": "s"},
            "product_url": "https://x.example/p", "quantity": 1, "quantity_unit": "pcs",
            "reference": "ref", "tax_rate": 1900, "total_amount": 2500, "total_discount_amount": 0,
            "total_tax_amount": 399, "type": "physical", "unit_price": 2500,
            "subscription": {"name": "plan", "interval": "MONTH", "interval_count": 1}
        }]
    });
    let base = OrderRequest::from_json(full.to_string().as_bytes()).expect("parses");
    base.validate().expect("the full order is valid");

    // Where each request schema sits in the order, as a JSON pointer and a
    // path prefix.
    let places = [
        ("customer_token_order", "", ""),
        ("order_line", "/order_lines/0", "order_lines[0]."),
        (
            "product_identifiers",
            "/order_lines/0/product_identifiers",
            "order_lines[0].product_identifiers.",
        ),
        (
            "subscription",
            "/order_lines/0/subscription",
            "order_lines[0].subscription.",
        ),
        ("address", "/shipping_address", "shipping_address."),
        ("merchant_urls", "/merchant_urls", "merchant_urls."),
        ("attachment", "/attachment", "attachment."),
    ];
    let mut checked = 0;
    let mut problems = Vec::new();
    for (schema, pointer, prefix) in places {
        let Some(properties) = description.schemas.get(schema) else {
            problems.push(format!("{schema}: not in the description"));
            continue;
        };
        for (field, property) in &properties.properties {
            for (constraint, limit) in &property.constraints {
                let Some(bad) = past(constraint, limit, &property.kind) else {
                    continue;
                };
                let mut order = full.clone();
                let Some(target) = order.pointer_mut(pointer) else {
                    continue;
                };
                target[field] = bad;
                let path = format!("{prefix}{field}");
                checked += 1;
                let refused = OrderRequest::from_json(order.to_string().as_bytes())
                    .map(|o| o.validate().err().is_some_and(|e| e.at(&path).is_some()))
                    .unwrap_or(false);
                if !refused {
                    problems.push(format!("{path}: {constraint} {limit} is not enforced"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "[drift guard] limits of the description the client does not enforce:\n{}",
        problems.join("\n")
    );
    assert!(checked >= 30, "only {checked} limits were checked");
}

/// A value just past a limit, if the limit is one a value can break.
fn past(constraint: &str, limit: &Value, kind: &str) -> Option<Value> {
    let n = limit.as_i64();
    match (constraint, kind) {
        ("maxLength", _) => Some(json!("x".repeat(usize::try_from(n? + 1).ok()?))),
        ("minLength", _) if n? > 0 => Some(json!("x".repeat(usize::try_from(n? - 1).ok()?))),
        ("minimum", "integer") => Some(json!(n? - 1)),
        ("maximum", "integer") => Some(json!(n? + 1)),
        ("minItems", _) if n? > 0 => Some(json!([])),
        ("maxItems", _) => {
            let line = valid_order()["order_lines"][0].clone();
            Some(Value::Array(vec![line; usize::try_from(n? + 1).ok()?]))
        }
        ("pattern", _) => Some(json!("1")),
        _ => None,
    }
}

/// The worked example of the README: version 1.1 of the description adds
/// an optional field and a new enum value.
mod worked_example {
    use super::*;

    fn v1_1() -> Value {
        normalize::load_file(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/customer-token-v1.1.yaml"
        )))
        .expect("usable")
    }

    /// Version 1.0, our own description as first written: a fixed copy, so
    /// that the example holds whichever description is vendored.
    fn v1_0() -> Value {
        normalize::load_file(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/customer-token-v1.0.yaml"
        )))
        .expect("usable")
    }

    #[test]
    fn the_diff_lists_the_additions() {
        let changes: Vec<String> = structure::diff(
            &structure::from_openapi(&v1_0()),
            &structure::from_openapi(&v1_1()),
        )
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            changes,
            [
                "info.version: \"1.0.0\" in the vendored, \"1.1.0\" in the new",
                "order_line.type: enum values only in the new: service",
                "order_line.warranty_months: field only in the new",
            ]
        );
    }

    #[test]
    fn the_guards_fail_and_name_what_the_facade_must_follow() {
        let description = structure::from_openapi(&v1_1());
        let (unexpected, stale) = undeclared(&description, &facade_schemas());
        assert_eq!(
            unexpected,
            [
                "order_line.type: enum values unknown to the facade: service",
                "order_line.warranty_months: field only in the description",
            ]
        );
        assert!(stale.is_empty(), "{stale:?}");
    }

    /// The facade version that covers 1.1: an order line with the new
    /// field, and a line type that knows the new value.
    #[derive(schemars::JsonSchema)]
    #[schemars(rename = "order_line")]
    #[allow(dead_code)]
    struct OrderLineV11 {
        #[serde(flatten)]
        line: OrderLine,
        #[schemars(range(min = 0, max = 120))]
        warranty_months: Option<i64>,
    }

    #[test]
    fn the_facade_version_that_covers_it_passes() {
        let mut generator = schemars::SchemaGenerator::default();
        let _ = generator.subschema_for::<OrderLineV11>();
        let mut line =
            serde_json::to_value(&generator.definitions()["order_line"]).expect("schema");
        // The new enum value joins the line type's known values, as adding
        // `Service => "service"` to `OrderLineType` does.
        let mut known: Vec<&str> = OrderLineType::KNOWN.to_vec();
        known.push("service");
        line["properties"]["type"]["x-open-enum"] = json!(known);
        let mut schemas = klarna_customer_token::json_schemas();
        schemas.insert("order_line".to_owned(), line);
        let covering = structure::from_json_schemas(&schemas);

        let description = structure::from_openapi(&v1_1());
        let (unexpected, stale) = undeclared(&description, &covering);
        assert!(unexpected.is_empty(), "{unexpected:?}");
        assert!(stale.is_empty(), "{stale:?}");
    }
}
