//! What reaches code generation: responses, security and servers, enums, the schemas the
//! facade replaces.

use super::*;

// ---------------------------------------------------------------------------
// Error responses that mix a JSON body and no body
// ---------------------------------------------------------------------------

/// The normalized document keeps every response as the file declares it
/// (the structural diff and the drift guards read it); generation sees one
/// fixed set per operation, whatever the file declares.
///
/// This replaces the earlier rule that copied an operation's JSON error
/// body onto its bodyless error responses: the canonical form makes error
/// bodies irrelevant to the generated code.
#[test]
fn responses_stay_real_in_the_normalized_document_and_are_fixed_for_generation() {
    let raw = klarna_raw();
    let doc = klarna();
    for (id, _, _) in OPERATIONS {
        assert_eq!(
            responses(&doc, id),
            responses(&normalized(&raw), id),
            "{id}"
        );
        let bodies = |d: &Value| -> Vec<(String, bool)> {
            responses(d, id)
                .iter()
                .map(|(code, r)| (code.clone(), r.get("content").is_some()))
                .collect()
        };
        assert_eq!(bodies(&doc), bodies(&raw), "{id}: nothing copied");
    }
    assert!(
        responses(&doc, "createOrder")["403"]
            .get("content")
            .is_none()
    );

    // Error bodies and cancel's 202 are raw bytes (`RAW_BODY`): the
    // generated code hands them on with their status and headers.
    let raw = json!({ "description": "", "content": { normalize::RAW_BODY: {} } });
    let error = raw.clone();
    let success = |schema: &str| {
        json!({
            "description": "",
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        })
    };
    for input in [doc.clone(), ours()] {
        let generation = codegen::prepare(&input);
        assert_eq!(
            Value::Object(responses(&generation, "readCustomerToken").clone()),
            json!({ "200": success("customer_token"), "4XX": error, "5XX": error })
        );
        assert_eq!(
            Value::Object(responses(&generation, "createOrder").clone()),
            json!({ "200": success("order"), "4XX": error, "5XX": error })
        );
        assert_eq!(
            Value::Object(responses(&generation, "patchCustomerToken").clone()),
            json!({ "202": raw, "4XX": error, "5XX": error })
        );
        assert_eq!(
            generation["info"],
            json!({
                "title": normalize::CANONICAL_TITLE,
                "description": normalize::CANONICAL_DESCRIPTION,
                "version": "1.0.0"
            })
        );
    }
}

#[test]
fn code_is_generated_from_the_normalized_fixture() {
    let code = generate(&klarna()).expect("generates");
    for function in [
        "read_customer_token",
        "create_order",
        "patch_customer_token",
    ] {
        assert!(code.contains(&format!("fn {function}")), "{function}");
    }
    // And from our own description.
    let ours = generate(&ours()).expect("generates");
    assert!(ours.contains("fn create_order"));
}

/// What the build script writes is progenitor's own output for the
/// canonical form with the facade's settings, only formatted: the same
/// tokens, from Klarna's description and from ours alike. Every method
/// sends through the hooks (`pre`, `exec`, `post`), takes the facade's
/// types for its bodies, and returns error answers as raw bytes.
#[test]
fn the_generated_code_is_progenitor_s_own() {
    for (name, doc) in [("klarna", klarna()), ("ours", ours())] {
        let spec: openapiv3::OpenAPI =
            serde_json::from_value(codegen::prepare(&doc)).expect("OpenAPI 3.0");
        let settings = codegen::settings().expect("settings");
        let tokens = progenitor_impl::Generator::new(&settings)
            .generate_tokens(&spec)
            .expect("progenitor generates it");
        let progenitor = prettyplease::unparse(&syn::parse2(tokens).expect("parses"));
        let written = generate(&doc).expect("generates");
        assert_eq!(written, progenitor, "{name}: the output was changed");

        // Without whitespace: the printer breaks long lines where it likes.
        let code: String = written.split_whitespace().collect();
        for hook in [
            "self.pre(&mutrequest,&info).await?;",
            "letresult=self.exec(request,&info).await;",
            "self.post(&result,&info).await?;",
        ] {
            assert_eq!(code.matches(hook).count(), 3, "{name}: {hook}");
        }
        assert_eq!(
            code.matches("Error<ByteStream>>").count(),
            3,
            "{name}: error answers are raw bytes"
        );
        assert_eq!(
            code.matches("Err(Error::ErrorResponse(ResponseValue::stream(response)))")
                .count(),
            6,
            "{name}: 4XX and 5XX of each operation"
        );
        assert!(code.contains("body:&'acrate::order::OrderJson"), "{name}");
        assert!(
            code.contains("body:&'acrate::token::CancelRequest"),
            "{name}"
        );
        assert!(
            code.contains(&format!("inner:{}", codegen::INNER_TYPE)),
            "{name}: the inner type"
        );
    }
}

/// The un-normalized fixture, with its mix of error bodies, generates the
/// same code as the normalized one: the canonical form decides the
/// responses. (Before the canonical form, progenitor panicked on the mix.)
/// A panic inside the generator is still turned into an error naming the
/// generator: an operation the facade does not know, with two success
/// bodies of different types, makes progenitor panic.
#[test]
fn generation_ignores_the_error_body_mix_and_a_generator_panic_is_an_error() {
    let raw = klarna_raw();
    assert_eq!(generate(&raw), generate(&klarna()));

    let mut unknown = klarna();
    unknown["paths"]["/things"] = json!({ "get": {
        "operationId": "listThings",
        "responses": {
            "200": { "description": "a", "content": { "application/json": { "schema": { "type": "string" } } } },
            "201": { "description": "b", "content": { "application/json": { "schema": { "type": "integer" } } } }
        }
    } });
    let outcome = std::panic::catch_unwind(|| generate(&unknown));
    let result = outcome.expect("generate returns instead of panicking");
    let err = result.expect_err("two success types are refused");
    assert!(err.contains("generator"), "{err}");
}

// ---------------------------------------------------------------------------
// Security and servers
// ---------------------------------------------------------------------------

#[test]
fn basic_auth_and_a_global_security_requirement_are_supplied() {
    let doc = klarna();
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({ "basicAuth": { "type": "http", "scheme": "basic" } })
    );
    assert_eq!(doc["security"], json!([{ "basicAuth": [] }]));

    // A description that declares its own scheme keeps it as it is.
    let mut own = normalize::parse(&normalize::decode_text(OURS)).expect("parses");
    let before = own["components"]["securitySchemes"]["basicAuth"]["type"].clone();
    normalize::normalize(&mut own);
    assert_eq!(
        own["components"]["securitySchemes"]["basicAuth"]["type"],
        before
    );
    assert_eq!(own["security"], json!([{ "basicAuth": [] }]));
}

/// The hosts are the facade's (`Endpoint`): normalization keeps the
/// servers a description declares as they are, supplies none, and the
/// canonical form carries none (the generated client takes its base URL at
/// run time). The facade's drift guards check the declared ones.
#[test]
fn servers_are_kept_as_declared_and_never_reach_generation() {
    let raw = klarna_raw();
    let doc = klarna();
    assert_eq!(doc["servers"], raw["servers"]);
    assert_eq!(doc["servers"].as_array().map(Vec::len), Some(1));

    // A description without servers gets none.
    let mut bare = json!({ "openapi": "3.0.3", "paths": {} });
    let notes = normalize::normalize(&mut bare);
    assert!(bare.get("servers").is_none(), "{bare}");
    assert!(!notes.iter().any(|n| n.contains("server")), "{notes:?}");

    for mut generation in [doc.clone(), ours()] {
        normalize::for_generation(&mut generation);
        assert!(generation.get("servers").is_none());
    }
    let mut canonical = doc;
    normalize::canonical(&mut canonical);
    assert!(canonical.get("servers").is_none());
}

// ---------------------------------------------------------------------------
// order.redirect_url, statuses and enums
// ---------------------------------------------------------------------------

#[test]
fn redirect_url_stays_required_until_generation() {
    let doc = klarna();
    let required = |doc: &Value| -> bool {
        schema(doc, "order")["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|n| n == "redirect_url"))
    };
    assert!(required(&klarna_raw()));
    assert!(required(&doc), "normalize preserves the structure");
    let api = structure::from_openapi(&doc);
    assert!(api.schemas["order"].properties["redirect_url"].required);

    let mut generation = doc.clone();
    normalize::for_generation(&mut generation);
    assert!(!required(&generation), "not required for generation");
}

#[test]
fn plain_string_statuses_stay_plain() {
    let raw = klarna_raw();
    let doc = klarna();
    for (schema_name, property) in [
        ("customer_token", "status"),
        ("customer_token", "payment_method_type"),
        ("order", "fraud_status"),
        ("ErrorV2", "fraud_status"),
    ] {
        assert_eq!(
            without_prose(prop(&doc, schema_name, property)),
            without_prose(prop(&raw, schema_name, property)),
            "{schema_name}.{property}"
        );
        assert_eq!(prop(&doc, schema_name, property)["type"], "string");
        assert!(prop(&doc, schema_name, property).get("enum").is_none());
    }
    let api = structure::from_openapi(&doc);
    for (schema_name, property) in [
        ("customer_token", "status"),
        ("customer_token", "payment_method_type"),
        ("order", "fraud_status"),
    ] {
        let p = &api.schemas[schema_name].properties[property];
        assert_eq!(
            (p.kind.as_str(), &p.values),
            ("string", &None),
            "{schema_name}.{property}"
        );
        assert!(p.required);
    }
}

/// A schema without its prose, to compare it before and after `normalize`.
fn without_prose(schema: &Value) -> Value {
    let mut copy = schema.clone();
    if let Some(map) = copy.as_object_mut() {
        map.retain(|key, _| !TEXT_KEYS.contains(&key.as_str()));
    }
    copy
}

#[test]
fn response_enums_are_opened_for_generation_and_request_enums_kept() {
    let doc = klarna();
    let payment_methods = [
        "invoice",
        "fixed_amount",
        "pix",
        "base_account",
        "deferred_interest",
        "direct_debit",
        "direct_bank_transfer",
        "b2b_invoice",
        "card",
        "slice_it_by_card",
        "pay_later_by_card",
        "fixed_sum_credit",
        "pay_by_card",
    ];
    // The normalized description keeps the closed enum (structure).
    assert_eq!(
        enum_values(prop(&doc, "authorized_payment_method", "type")),
        payment_methods
    );

    // Opening response enums: only the response schema changes.
    let mut opened = doc.clone();
    assert_eq!(
        normalize::open_response_enums(&mut opened),
        vec!["authorized_payment_method".to_owned()]
    );
    let opened_type = prop(&opened, "authorized_payment_method", "type");
    assert!(opened_type.get("enum").is_none());
    assert_eq!(opened_type["type"], "string");
    assert_eq!(
        enum_values(prop(&opened, "order_line", "type")),
        [
            "physical",
            "discount",
            "shipping_fee",
            "sales_tax",
            "digital",
            "gift_card",
            "store_credit",
            "surcharge"
        ]
    );
    assert_eq!(
        enum_values(prop(&opened, "subscription", "interval")),
        ["DAY", "WEEK", "MONTH", "YEAR"]
    );
    assert_eq!(
        enum_values(prop(
            &opened,
            "customer_token_status_update_request",
            "status"
        )),
        ["CANCELLED"]
    );

    // For generation: no schema reachable from a response keeps an enum.
    let mut generation = doc.clone();
    normalize::for_generation(&mut generation);
    let mut roots = Vec::new();
    for (id, _, _) in OPERATIONS {
        for response in responses(&generation, id).values() {
            normalize::collect_refs(response, &mut roots);
        }
    }
    for name in normalize::reachable_schemas(&generation, roots) {
        assert!(
            !has_enum(schema(&generation, &name)),
            "{name} keeps an enum"
        );
    }
    if let Some(method) = generation.pointer("/components/schemas/authorized_payment_method") {
        assert!(!has_enum(method));
    }
}

#[test]
fn schemas_the_facade_replaces_are_pruned_with_what_only_they_use() {
    let mut doc = klarna();
    let replaced: Vec<&str> = normalize::REPLACED.iter().map(|(name, _)| *name).collect();
    let mut dropped = normalize::prune_replaced(&mut doc, &replaced);
    dropped.sort();
    // `authorized_payment_method` stays: the normalized description's error
    // body (`ErrorV2`, not replaced) still uses it.
    assert_eq!(
        dropped,
        [
            "address",
            "attachment",
            "card_information",
            "direct_debit_information",
            "merchant_urls",
            "order_line",
            "product_identifiers",
            "subscription"
        ]
    );
    for name in &replaced {
        assert_eq!(schema(&doc, name), &json!({ "type": "object" }), "{name}");
    }
    // Generation sees error bodies as raw bytes: of the schemas, only the
    // replaced ones are left, the error body with everything it used gone.
    let generation = codegen::prepare(&klarna());
    let mut left: Vec<&str> = generation["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .map(String::as_str)
        .collect();
    left.sort_unstable();
    let mut expected = replaced.clone();
    expected.sort_unstable();
    assert_eq!(left, expected);
    // Nothing replaced: every schema of the fixture is in use.
    let mut untouched = klarna();
    assert!(normalize::prune_replaced(&mut untouched, &[]).is_empty());
    assert_eq!(untouched, klarna());
}
