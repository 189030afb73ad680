//! Order bodies in the shapes Klarna documents (`tests/fixtures/orders/`,
//! sources in its README): each is accepted, rebuilt by the builders,
//! accepted by the sandbox, and sent with its unknown fields unchanged.
//! Bodies that break Klarna's documented arithmetic stay refused, with
//! their paths.

use crate::support::capture::Capture;

use httpmock::prelude::*;
use klarna_customer_token::{
    Address, Attachment, Client, CustomerToken, Error, MerchantUrls, OrderLine, OrderLineType,
    OrderRequest, ProductIdentifiers, RetryPolicy, Subscription, SubscriptionInterval,
};
use serde_json::{Value, json};

/// Every fixture, with the unknown fields it must keep.
const FIXTURES: &[(&str, &[&str])] = &[
    (
        "us_sales_tax_tax_rate_zero.json",
        &["purchase_country", "locale"],
    ),
    (
        "us_sales_tax_no_tax_rate.json",
        &["purchase_country", "locale"],
    ),
    ("eu_line_discounts.json", &["purchase_country", "locale"]),
    (
        "discount_as_negative_physical_line.json",
        &["purchase_country", "locale"],
    ),
    (
        "gift_card_and_store_credit.json",
        &["purchase_country", "locale"],
    ),
    ("shipping_fee.json", &["purchase_country", "locale"]),
    ("surcharge.json", &["purchase_country", "locale"]),
    (
        "b2b_with_customer.json",
        &["purchase_country", "locale", "customer", "billing_address"],
    ),
    ("subscription_lines.json", &["locale"]),
    (
        "merchant_urls_notification.json",
        &["purchase_country", "locale"],
    ),
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/orders/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

fn validation(e: &Error) -> &klarna_customer_token::ValidationErrors {
    e.validation()
        .unwrap_or_else(|| panic!("not a validation error: {e}"))
}

#[test]
fn every_fixture_is_accepted_and_kept_whole() {
    for (name, unknown) in FIXTURES {
        let bytes = fixture(name);
        let order = OrderRequest::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = order.validate() {
            panic!("{name}: refused: {e}");
        }
        assert_eq!(order.unknown_fields(), *unknown, "{name}");
        // Nothing dropped, nothing changed: the JSON sent is the fixture.
        assert_eq!(value(&order.to_json()), value(&bytes), "{name}");
        // Typo protection on request names every unknown field.
        let err = OrderRequest::from_json_strict(&bytes).map(|_| ());
        match (unknown.is_empty(), err) {
            (true, Ok(())) => {}
            (false, Err(e)) => {
                let paths: Vec<&str> = validation(&e).iter().map(|v| v.path()).collect();
                assert_eq!(paths, *unknown, "{name}");
            }
            (_, other) => panic!("{name}: from_json_strict gave {other:?}"),
        }
    }
}

/// Rebuilds an order from its JSON through the builders, leaving every
/// total to them: `total_amount`, `total_tax_amount`, `order_amount` and
/// `order_tax_amount` are computed, never copied.
fn rebuild(v: &Value) -> Result<OrderRequest, Error> {
    let mut b = OrderRequest::builder();
    for (key, field) in v.as_object().expect("an object") {
        b = match key.as_str() {
            "order_amount" | "order_tax_amount" => b,
            "purchase_currency" => b.purchase_currency(text(field)),
            "merchant_reference1" => b.merchant_reference1(text(field)),
            "merchant_reference2" => b.merchant_reference2(text(field)),
            "merchant_data" => b.merchant_data(text(field)),
            "auto_capture" => b.auto_capture(field.as_bool().expect("bool")),
            "order_lines" => b.lines(
                field
                    .as_array()
                    .expect("lines")
                    .iter()
                    .map(|l| rebuild_line(l).expect("a valid line")),
            ),
            "merchant_urls" => b.merchant_urls(rebuild_urls(field)),
            "shipping_address" => b.shipping_address(rebuild_address(field)),
            "attachment" => b.attachment(Attachment::new(
                text(&field["content_type"]),
                text(&field["body"]),
            )),
            other => b.extra(other, field.clone()),
        };
    }
    b.build()
}

fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_owned()
}

fn int(v: &Value) -> i64 {
    v.as_i64().expect("an integer")
}

fn rebuild_line(v: &Value) -> Result<OrderLine, Error> {
    let mut b = OrderLine::builder(text(&v["name"]));
    for (key, field) in v.as_object().expect("an object") {
        b = match key.as_str() {
            "name" | "total_amount" | "total_tax_amount" => b,
            "quantity" => b.quantity(int(field)),
            "unit_price" => b.unit_price(int(field)),
            "tax_rate" => b.tax_rate(int(field)),
            "total_discount_amount" => b.total_discount_amount(int(field)),
            "type" => b.line_type(OrderLineType::from(field.as_str().expect("type"))),
            "reference" => b.reference(text(field)),
            "quantity_unit" => b.quantity_unit(text(field)),
            "merchant_data" => b.merchant_data(text(field)),
            "image_url" => b.image_url(text(field)),
            "product_url" => b.product_url(text(field)),
            "subscription" => b.subscription(Subscription::new(
                text(&field["name"]),
                SubscriptionInterval::from(field["interval"].as_str().expect("interval")),
                int(&field["interval_count"]),
            )),
            "product_identifiers" => {
                let mut ids = ProductIdentifiers::new();
                for (k, f) in field.as_object().expect("an object") {
                    ids = match k.as_str() {
                        "brand" => ids.with_brand(text(f)),
                        "category_path" => ids.with_category_path(text(f)),
                        _ => ids.with_extra(k.as_str(), f.clone()),
                    };
                }
                b.product_identifiers(ids)
            }
            other => b.extra(other, field.clone()),
        };
    }
    b.build()
}

fn rebuild_urls(v: &Value) -> MerchantUrls {
    let mut urls = MerchantUrls::new(text(&v["confirmation"]));
    for (key, field) in v.as_object().expect("an object") {
        urls = match key.as_str() {
            "confirmation" => urls,
            "push" => urls.with_push(text(field)),
            "notification" => urls.with_notification(text(field)),
            other => urls.with_extra(other, field.clone()),
        };
    }
    urls
}

fn rebuild_address(v: &Value) -> Address {
    let mut a = Address::new();
    for (key, field) in v.as_object().expect("an object") {
        let s = text(field);
        a = match key.as_str() {
            "attention" => a.with_attention(s),
            "city" => a.with_city(s),
            "country" => a.with_country(s),
            "email" => a.with_email(s),
            "family_name" => a.with_family_name(s),
            "given_name" => a.with_given_name(s),
            "organization_name" => a.with_organization_name(s),
            "phone" => a.with_phone(s),
            "postal_code" => a.with_postal_code(s),
            "region" => a.with_region(s),
            "street_address" => a.with_street_address(s),
            "street_address2" => a.with_street_address2(s),
            "title" => a.with_title(s),
            "street_name" => a.with_street_name(s),
            "street_number" => a.with_street_number(s),
            "house_extension" => a.with_house_extension(s),
            "care_of" => a.with_care_of(s),
            other => a.with_extra(other, field.clone()),
        };
    }
    a
}

#[test]
fn the_builders_compute_every_fixture_s_totals() {
    for (name, _) in FIXTURES {
        let expected = value(&fixture(name));
        let built = rebuild(&expected).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            serde_json::to_value(&built).expect("json"),
            expected,
            "{name}"
        );
    }
}

#[test]
fn a_us_order_s_tax_is_its_sales_tax_line() {
    // Shops send tax_rate 0 on every line of a US order: the tax is still
    // the sales_tax line's, for validation and for the builder.
    let mut v = value(&fixture("us_sales_tax_tax_rate_zero.json"));
    v["order_tax_amount"] = json!(0);
    let order = OrderRequest::from_json(v.to_string().as_bytes()).expect("decodes");
    let errors = order.validate().expect_err("tax 0 beside a 3938 sales tax");
    let paths: Vec<&str> = errors.iter().map(|e| e.path()).collect();
    assert_eq!(paths, ["order_tax_amount"]);
    assert!(errors.to_string().contains("3938"), "{errors}");
}

/// Bodies that break Klarna's documented arithmetic stay refused, at the
/// right path.
#[test]
fn broken_arithmetic_in_a_fixture_is_refused_at_its_path() {
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "eu_line_discounts.json",
            "/order_lines/0/total_amount",
            json!(5000),
            "order_lines[0].total_amount",
        ),
        (
            "eu_line_discounts.json",
            "/order_lines/1/total_tax_amount",
            json!(1900),
            "order_lines[1].total_tax_amount",
        ),
        (
            "shipping_fee.json",
            "/order_amount",
            json!(3500),
            "order_amount",
        ),
        (
            "gift_card_and_store_credit.json",
            "/order_tax_amount",
            json!(3990),
            "order_tax_amount",
        ),
        (
            "us_sales_tax_no_tax_rate.json",
            "/order_lines/0/tax_rate",
            json!(1000),
            "order_lines[0].tax_rate",
        ),
        (
            "us_sales_tax_tax_rate_zero.json",
            "/order_lines/0/total_tax_amount",
            json!(3938),
            "order_lines[0].total_tax_amount",
        ),
        (
            "discount_as_negative_physical_line.json",
            "/order_lines/1/total_amount",
            json!(-900),
            "order_lines[1].total_amount",
        ),
    ];
    for (name, pointer, bad, path) in cases {
        let mut v = value(&fixture(name));
        let (parent, field) = pointer.rsplit_once('/').expect("a pointer");
        v.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("the object")
            .insert(field.to_owned(), bad.clone());
        let order = OrderRequest::from_json(v.to_string().as_bytes()).expect("decodes");
        let errors = order
            .validate()
            .expect_err(&format!("{name} {pointer} refused"));
        assert!(errors.at(path).is_some(), "{name} {pointer}: {errors}");
    }
}

/// A sales_tax line beside a line taxed at a rate names both.
#[test]
fn both_tax_styles_at_once_are_refused_naming_both_lines() {
    let mut v = value(&fixture("us_sales_tax_no_tax_rate.json"));
    v["order_lines"][0]["tax_rate"] = json!(1000);
    v["order_lines"][0]["total_tax_amount"] = json!(1818);
    let order = OrderRequest::from_json(v.to_string().as_bytes()).expect("decodes");
    let errors = order.validate().expect_err("both styles");
    for path in [
        "order_lines[0].tax_rate",
        "order_lines[0].total_tax_amount",
        "order_lines[1].type",
    ] {
        assert!(errors.at(path).is_some(), "{path}: {errors}");
    }
}

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

fn mock_client(server: &MockServer) -> Client {
    Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(server.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

/// Unknown fields reach the wire byte for byte: number spellings, spacing
/// inside a value and key order are the caller's.
#[tokio::test]
async fn unknown_fields_reach_the_wire_unchanged() {
    let body = br#"{"purchase_currency":"EUR","order_amount":1000,"order_tax_amount":160,
        "risk_score": 1.50, "customer": {"type" : "person", "date_of_birth": "1970-01-01"},
        "order_lines":[{"name":"Plan","quantity":1,"unit_price":1000,"total_amount":1000,
        "tax_rate":1900,"total_tax_amount":160,"colour":"red","product_identifiers":
        {"brand":"b","model":[1e3, 2]}}]}"#;
    let order = OrderRequest::from_json(body).expect("decodes");
    let sent = String::from_utf8(order.to_json()).expect("utf-8");
    for raw in [
        r#""risk_score":1.50"#,
        r#""customer":{"type" : "person", "date_of_birth": "1970-01-01"}"#,
        r#""colour":"red""#,
        r#""model":[1e3, 2]"#,
    ] {
        assert!(sent.contains(raw), "{raw} not in {sent}");
    }
    assert!(
        sent.find("risk_score") < sent.find("\"customer\""),
        "order kept: {sent}"
    );

    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/customer-token/v1/tokens/{TOKEN}/order"))
                .body(sent.clone());
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"order_id":"ord-1","fraud_status":"ACCEPTED"}"#);
        })
        .await;
    let token = CustomerToken::new(TOKEN).expect("token");
    mock_client(&server)
        .create_order(&token, &order)
        .await
        .expect("sent");
    mock.assert_async().await;
}

/// Sending an order with unknown fields logs their paths at debug level,
/// never their values.
#[tokio::test]
async fn sending_unknown_fields_logs_their_paths() {
    let capture = Capture::default();
    let _guard = capture.install_at(tracing::Level::DEBUG);

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"order_id":"ord-1","fraud_status":"ACCEPTED"}"#);
        })
        .await;
    let order = OrderRequest::from_json(&fixture("b2b_with_customer.json")).expect("decodes");
    let token = CustomerToken::new(TOKEN).expect("token");
    mock_client(&server)
        .create_order(&token, &order)
        .await
        .expect("sent");
    let logs = capture.text();
    assert!(logs.contains("DEBUG"), "{logs}");
    assert!(
        logs.contains("billing_address") && logs.contains("customer"),
        "{logs}"
    );
    assert!(!logs.contains("556737-0431"), "a value was logged: {logs}");
}

#[test]
fn an_extra_field_may_not_repeat_a_typed_one() {
    let err = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(
            OrderLine::builder("Plan")
                .quantity(1)
                .unit_price(1000)
                .build()
                .expect("line"),
        )
        .extra("order_amount", json!(5))
        .extra("locale", json!("de-DE"))
        .shipping_address(Address::new().with_extra("city", json!("Berlin")))
        .build()
        .expect_err("order_amount twice");
    let paths: Vec<&str> = validation(&err).iter().map(|v| v.path()).collect();
    assert_eq!(paths, ["order_amount", "shipping_address.city"]);
    let err = OrderLine::builder("Plan")
        .quantity(1)
        .unit_price(1000)
        .extra("unit_price", json!(1))
        .build()
        .expect_err("unit_price twice");
    let paths: Vec<&str> = validation(&err).iter().map(|v| v.path()).collect();
    assert_eq!(paths, ["unit_price"]);
}

#[test]
fn a_body_over_one_mebibyte_is_refused_with_its_size() {
    let limit = klarna_customer_token::limits::MAX_BODY_BYTES;
    assert_eq!(limit, 1_048_576);
    let line = || {
        OrderLine::builder("Plan")
            .quantity(1)
            .unit_price(1000)
            .build()
            .expect("line")
    };
    // Unknown fields count: a big one alone takes the body past the limit.
    let big = "x".repeat(limit);
    let err = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(line())
        .extra("notes", json!(big))
        .build()
        .expect_err("over 1 MiB");
    let errors = validation(&err);
    let violation = errors.at("").expect("the body as a whole");
    let size = serde_json::to_vec(&json!({"notes": big}))
        .expect("json")
        .len();
    assert!(violation.message().contains("bytes"), "{violation}");
    let stated: usize = violation
        .message()
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("a size");
    assert!(stated > size && stated > limit, "{violation}");

    // Just under the limit is fine, read from JSON too.
    let fits = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(line())
        .extra("notes", json!("x".repeat(limit - 1000)))
        .build()
        .expect("under 1 MiB");
    assert!(fits.to_json().len() <= limit);
    let read = OrderRequest::from_json(&fits.to_json()).expect("decodes");
    read.validate().expect("under 1 MiB");
}

mod sandbox {
    use super::*;
    use klarna_customer_token_sandbox::{Sandbox, tokens};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sandbox_accepts_every_fixture_and_keeps_its_unknown_fields() {
        let run = async {
            // A fixture's notification URL names www.example.com: the
            // sandbox delivers beyond loopback only to hosts it is told to
            // allow. No order here is decided, so nothing is ever sent.
            let sandbox = Sandbox::builder()
                .notify_allow("www.example.com")
                .start()
                .await
                .expect("the sandbox starts");
            let client = sandbox
                .client_builder()
                .retry_policy(RetryPolicy::none())
                .build()
                .expect("client");
            let token = CustomerToken::new(tokens::ACTIVE_INVOICE).expect("token");
            for (name, _) in FIXTURES {
                let order = OrderRequest::from_json(&fixture(name)).expect("decodes");
                client
                    .create_order(&token, &order)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            let stored = sandbox.orders();
            assert_eq!(stored.len(), FIXTURES.len());
            for ((name, unknown), stored) in FIXTURES.iter().zip(&stored) {
                // The sandbox decoded what went over the wire: every field,
                // unknown ones included, arrived unchanged.
                assert_eq!(stored.order.unknown_fields(), *unknown, "{name}");
                assert_eq!(
                    value(&stored.order.to_json()),
                    value(&fixture(name)),
                    "{name}"
                );
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .expect("within a minute");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sandbox_refuses_broken_arithmetic_with_the_path() {
        let run = async {
            let sandbox = Sandbox::start().await.expect("the sandbox starts");
            let mut v = value(&fixture("us_sales_tax_tax_rate_zero.json"));
            v["order_tax_amount"] = json!(0);
            let response = reqwest_free_post(&sandbox, v.to_string()).await;
            assert!(response.starts_with("HTTP/1.1 400"), "{response}");
            assert!(response.contains("order_tax_amount"), "{response}");
            assert!(sandbox.orders().is_empty());
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .expect("within a minute");
    }

    /// Posts a raw body to the sandbox (bypassing the client's own
    /// validation) and returns the raw answer.
    async fn reqwest_free_post(sandbox: &Sandbox, body: String) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(sandbox.addr())
            .await
            .expect("connect");
        // An API key goes verbatim into the Basic header.
        let auth = klarna_customer_token_sandbox::credentials::API_KEY;
        let request = format!(
            "POST /customer-token/v1/tokens/{}/order HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Authorization: Basic {auth}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            tokens::ACTIVE_INVOICE,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }
}
