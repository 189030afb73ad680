//! The normalization step (`normalize`) against the quirks of
//! Klarna's published description, one test per quirk.
//!
//! Most tests read `codegen/tests/fixtures/klarna-shape-v1.yaml`: a description we
//! wrote ourselves in the shape of Klarna's downloadable file (OpenAPI 3.0.0,
//! one server, no security scheme, error responses that mix a JSON body and
//! no body, plain-string statuses, a closed enum inside a response,
//! `order.redirect_url` required, typographic and mis-encoded characters in
//! descriptions, and one raw Windows-1252 byte that is not valid UTF-8).
//! The decisive test shows that it and our own
//! `openapi/customer-token-v1.yaml` describe the same API once normalized.
//!
//! modules; they pass once the defect is fixed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use klarna_customer_token_codegen::{codegen, normalize, structure};
use serde_json::{Value, json};

/// The Klarna-shaped description, byte for byte (not valid UTF-8).
const FIXTURE: &[u8] = include_bytes!("fixtures/klarna-shape-v1.yaml");
/// Our own description, as `build.rs` reads it.
/// Our own description, as first written: a fixed copy, so that these tests
/// stay true whichever description is vendored in `openapi/`.
const OURS: &[u8] = include_bytes!("../../tests/fixtures/customer-token-v1.0.yaml");

const TOKEN_PATH: &str = "/customer-token/v1/tokens/{customerToken}";
const ORDER_PATH: &str = "/customer-token/v1/tokens/{customerToken}/order";
const STATUS_PATH: &str = "/customer-token/v1/tokens/{customerToken}/status";

/// The operations as (operationId, method, path).
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("readCustomerToken", "get", TOKEN_PATH),
    ("createOrder", "post", ORDER_PATH),
    ("patchCustomerToken", "patch", STATUS_PATH),
];

/// The component schemas of Klarna's description.
const SCHEMAS: &[&str] = &[
    "customer_token",
    "card_information",
    "direct_debit_information",
    "customer_token_order",
    "order_line",
    "product_identifiers",
    "subscription",
    "address",
    "attachment",
    "merchant_urls",
    "order",
    "authorized_payment_method",
    "customer_token_status_update_request",
    "ErrorV2",
];

/// Keys whose string values are prose (as `normalize` cleans them).
const TEXT_KEYS: &[&str] = &["description", "summary", "title"];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The fixture as read and parsed, before `check` and `normalize`.
fn klarna_raw() -> Value {
    normalize::parse(&normalize::decode_text(FIXTURE)).expect("the fixture parses")
}

/// The fixture as `build.rs` would use it: read, checked and normalized.
fn klarna() -> Value {
    normalize::load(FIXTURE).expect("the fixture loads")
}

/// Our own description, read, checked and normalized.
fn ours() -> Value {
    normalize::load(OURS).expect("our description loads")
}

/// Normalizes a copy.
fn normalized(doc: &Value) -> Value {
    let mut doc = doc.clone();
    normalize::normalize(&mut doc);
    doc
}

/// The fixture's bytes with every byte that is not valid UTF-8 replaced by
/// the UTF-8 encoding of its Windows-1252 character: the same document as a
/// valid UTF-8 file.
fn fixture_as_utf8() -> Vec<u8> {
    let mut bytes = FIXTURE.to_vec();
    let mut replaced = 0;
    while let Err(e) = std::str::from_utf8(&bytes) {
        let at = e.valid_up_to();
        let fixed = normalize::decode_text(&bytes[at..=at]);
        bytes.splice(at..=at, fixed.into_bytes());
        replaced += 1;
    }
    assert!(replaced > 0, "the fixture should hold an invalid byte");
    bytes
}

/// The first operation object with this operationId, and its path.
#[track_caller]
fn operation<'a>(doc: &'a Value, id: &str) -> (&'a str, &'a str, &'a Value) {
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in normalize::operations(item) {
            if op["operationId"] == id {
                return (path, method, op);
            }
        }
    }
    panic!("no operation {id}");
}

/// The responses of an operation, by status code.
#[track_caller]
fn responses<'a>(doc: &'a Value, id: &str) -> &'a serde_json::Map<String, Value> {
    operation(doc, id).2["responses"]
        .as_object()
        .expect("responses")
}

#[track_caller]
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc.pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("no schema {name}"))
}

#[track_caller]
fn prop<'a>(doc: &'a Value, schema_name: &str, property: &str) -> &'a Value {
    schema(doc, schema_name)
        .pointer(&format!("/properties/{property}"))
        .unwrap_or_else(|| panic!("no property {schema_name}.{property}"))
}

#[track_caller]
fn description<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text at {pointer}"))
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A string leaf of a document.
struct Leaf {
    pointer: String,
    /// The object key the string is the value of (None inside an array).
    key: Option<String>,
    text: String,
}

impl Leaf {
    fn is_prose(&self) -> bool {
        self.key.as_deref().is_some_and(|k| TEXT_KEYS.contains(&k))
    }
}

fn leaves(value: &Value) -> Vec<Leaf> {
    fn walk(value: &Value, pointer: &str, key: Option<&str>, out: &mut Vec<Leaf>) {
        match value {
            Value::String(text) => out.push(Leaf {
                pointer: pointer.to_owned(),
                key: key.map(str::to_owned),
                text: text.clone(),
            }),
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, &format!("{pointer}/{}", escape(k)), Some(k), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{pointer}/{i}"), None, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", None, &mut out);
    out
}

/// Whether any schema under `value` declares an `enum`.
fn has_enum(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("enum") || map.values().any(has_enum),
        Value::Array(items) => items.iter().any(has_enum),
        _ => false,
    }
}

fn enum_values(property: &Value) -> Vec<&str> {
    property["enum"]
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The differences between two descriptions' structures, as strings.
fn differences(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (structure::from_openapi(a), structure::from_openapi(b));
    let mut out = structure::compare_operations(&a.operations, &b.operations, "fixture", "ours");
    out.extend(structure::compare_schemas(
        &a.schemas, &b.schemas, "fixture", "ours",
    ));
    out.iter().map(ToString::to_string).collect()
}

/// `codegen::generate` swaps the process-wide panic hook while it runs;
/// two concurrent calls could leave the silent hook installed for good
/// (which would hide the messages of failing tests), so they take turns.
static GENERATOR: Mutex<()> = Mutex::new(());

fn generate(doc: &Value) -> Result<String, String> {
    let _turn = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    codegen::generate(doc)
}

// ---------------------------------------------------------------------------
// The fixture itself
// ---------------------------------------------------------------------------

/// The fixture has the shape this file claims; otherwise the tests below
/// would prove nothing about Klarna's quirks.
#[test]
fn fixture_has_the_shape_of_klarnas_file() {
    assert!(
        FIXTURE
            .utf8_chunks()
            .any(|chunk| !chunk.invalid().is_empty()),
        "the fixture must hold a byte that is not valid UTF-8"
    );
    assert!(FIXTURE.contains(&0x92), "a raw Windows-1252 0x92 byte");

    let doc = klarna_raw();
    assert_eq!(doc["openapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "Klarna Payments API V1");
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert_eq!(
        doc["servers"],
        json!([{
            "url": "https://api.klarna.com",
            "description": "Production (Europe)"
        }])
    );
    assert!(doc.pointer("/components/securitySchemes").is_none());
    assert!(doc.get("security").is_none());

    let schemas: BTreeSet<&str> = doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(schemas, SCHEMAS.iter().copied().collect());

    for (id, method, path) in OPERATIONS {
        let (p, m, op) = operation(&doc, id);
        assert_eq!((p, m), (*path, *method), "{id}");
        assert!(
            op["parameters"]
                .as_array()
                .expect("inline parameters")
                .iter()
                .any(|p| p["name"] == "customerToken" && p["in"] == "path"),
            "{id} declares customerToken inline"
        );
        if let Some(body) = op.get("requestBody") {
            assert!(body.get("required").is_none(), "{id}: body not required");
        }
    }

    // Which responses carry a body: Klarna's mix.
    let with_body = |id: &str| -> Vec<(String, bool)> {
        responses(&doc, id)
            .iter()
            .map(|(code, r)| (code.clone(), r.get("content").is_some()))
            .collect()
    };
    let expect = |pairs: &[(&str, bool)]| -> Vec<(String, bool)> {
        pairs.iter().map(|(c, b)| ((*c).to_owned(), *b)).collect()
    };
    assert_eq!(
        with_body("readCustomerToken"),
        expect(&[("200", true), ("403", false), ("404", false)])
    );
    assert_eq!(
        with_body("createOrder"),
        expect(&[
            ("200", true),
            ("400", true),
            ("403", false),
            ("404", false),
            ("409", false)
        ])
    );
    assert_eq!(
        with_body("patchCustomerToken"),
        expect(&[
            ("202", false),
            ("400", false),
            ("403", false),
            ("404", false)
        ])
    );
    assert_eq!(
        responses(&doc, "createOrder")["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorV2"
    );
}

// ---------------------------------------------------------------------------
// YAML, JSON and bytes
// ---------------------------------------------------------------------------

#[test]
fn yaml_is_parsed_and_the_same_document_in_json_gives_the_same_value() {
    let yaml = klarna_raw();
    assert_eq!(
        yaml["paths"][TOKEN_PATH]["get"]["operationId"],
        "readCustomerToken"
    );
    // Unquoted status codes (`200:`) are read as string keys.
    assert!(responses(&yaml, "readCustomerToken").contains_key("200"));
    assert_eq!(
        prop(&yaml, "order_line", "total_amount")["maximum"],
        100_000_000
    );

    let as_json = serde_json::to_string_pretty(&yaml).expect("serializes");
    assert_eq!(normalize::parse(&as_json), Ok(yaml.clone()));
    // And through the whole pipeline, as bytes.
    assert_eq!(normalize::load(as_json.as_bytes()), Ok(klarna()));

    // A small document written by hand in both notations.
    let yaml = normalize::parse(
        "openapi: 3.0.0\ninfo: {title: T, version: '1'}\npaths:\n  /a:\n    get:\n      \
         operationId: a\n      responses:\n        200:\n          description: ok\n",
    );
    let json = normalize::parse(
        r#"{"openapi": "3.0.0", "info": {"title": "T", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a",
            "responses": {"200": {"description": "ok"}}}}}}"#,
    );
    assert!(yaml.is_ok());
    assert_eq!(yaml, json);
}

#[test]
fn text_that_is_not_a_mapping_is_refused() {
    for text in ["- just\n- a list\n", "just a string", "{ unclosed: [", ""] {
        assert!(normalize::parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn an_invalid_utf8_byte_does_not_make_the_file_unreadable() {
    // The whole pipeline succeeds on the raw bytes.
    let text = normalize::decode_text(FIXTURE);
    let doc = normalize::parse(&text).expect("parses");
    normalize::check(&doc).expect("passes the checks");
    assert!(normalize::load(FIXTURE).is_ok());

    // Before cleaning, the byte 0x92 is its Windows-1252 character, U+2019.
    let pointer =
        "/components/schemas/customer_token_order/properties/merchant_reference1/description";
    assert_eq!(
        description(&doc, pointer),
        "The merchant\u{2019}s own reference for the order, such as an order number."
    );
    // After cleaning, an ASCII apostrophe.
    assert_eq!(
        description(&klarna(), pointer),
        "The merchant's own reference for the order, such as an order number."
    );

    // Byte by byte: the C1 range follows Windows-1252.
    assert_eq!(normalize::decode_text(b"a\x92b"), "a\u{2019}b");
    assert_eq!(
        normalize::decode_text(b"\x80\x85\x93\x94\x96\x97\x99\xa0\xe9"),
        "\u{20ac}\u{2026}\u{201c}\u{201d}\u{2013}\u{2014}\u{2122}\u{a0}\u{e9}"
    );
    // Valid UTF-8 is read as UTF-8.
    assert_eq!(normalize::decode_text("Malmö ’".as_bytes()), "Malmö ’");
}

/// Root cause of `a_closing_curly_quote_next_to_an_invalid_byte_still_loads`
/// and `typography_and_mojibake_become_the_intended_ascii_next_to_an_invalid_byte`:
/// one invalid byte makes `decode_text` read the *whole* file as
/// Windows-1252, so every valid UTF-8 character elsewhere turns into
/// mojibake (and examples such as `Malmö` change too).
#[test]
fn decode_text_keeps_valid_utf8_next_to_an_invalid_byte() {
    assert_eq!(
        normalize::decode_text(b"Malm\xc3\xb6 \x92"),
        "Malmö \u{2019}"
    );

    let doc = klarna_raw();
    assert_eq!(prop(&doc, "address", "city")["example"], "Malmö");
    assert!(description(&doc, "/info/description").contains("Kustom\u{2019}s hosts"));
}

#[test]
fn a_closing_curly_quote_next_to_an_invalid_byte_still_loads() {
    // The fixture with one closing curly quote more (`“SEK".` -> `“SEK”.`).
    let needle = "\u{201c}SEK\".".as_bytes();
    let at = FIXTURE
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the fixture has this text");
    let mut bytes = FIXTURE.to_vec();
    bytes.splice(at..at + needle.len(), "\u{201c}SEK\u{201d}.".bytes());
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "still holds the 0x92 byte"
    );

    let doc = normalize::load(&bytes).expect("loads");
    assert_eq!(
        description(
            &doc,
            "/components/schemas/customer_token_order/properties/purchase_currency/description"
        ),
        "ISO 4217 currency code, e.g. \"SEK\"."
    );
}

// ---------------------------------------------------------------------------
// Versions and operation ids
// ---------------------------------------------------------------------------

#[test]
fn openapi_3_0_0_is_accepted_and_declared_3_0_3() {
    let mut doc = klarna_raw();
    assert_eq!(normalize::check(&doc), Ok(()));
    let notes = normalize::normalize(&mut doc);
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(
        notes.iter().any(|n| n.contains("3.0.3")),
        "notes: {notes:?}"
    );

    // `openapi: 3.0` unquoted is a YAML number; it is accepted too.
    let mut short = normalize::parse("openapi: 3.0\npaths: {}\n").expect("parses");
    assert_eq!(normalize::check(&short), Ok(()));
    normalize::normalize(&mut short);
    assert_eq!(short["openapi"], "3.0.3");
}

#[test]
fn openapi_3_1_is_refused_naming_the_version() {
    let mut doc = klarna_raw();
    doc["openapi"] = json!("3.1.0");
    let err = normalize::check(&doc).expect_err("3.1 is refused");
    assert!(err.0.contains("3.1.0"), "{err}");

    // Through `load`, from the bytes.
    let text = normalize::decode_text(FIXTURE).replacen("openapi: 3.0.0", "openapi: 3.1.0", 1);
    let err = normalize::load(text.as_bytes()).expect_err("3.1 is refused");
    assert!(err.0.contains("OpenAPI 3.1.0"), "{err}");
}

#[test]
fn swagger_2_is_refused_naming_the_version() {
    let doc = normalize::parse(
        "swagger: '2.0'\ninfo: {title: T, version: '1'}\nhost: api.klarna.com\npaths: {}\n",
    )
    .expect("parses");
    let err = normalize::check(&doc).expect_err("Swagger is refused");
    assert!(err.0.contains("Swagger 2.0"), "{err}");

    let err = normalize::check(&json!({ "paths": {} })).expect_err("no version");
    assert!(err.0.contains("openapi"), "{err}");
}

#[test]
fn a_missing_operation_id_is_refused_naming_the_operation() {
    let mut doc = klarna_raw();
    doc["paths"][ORDER_PATH]["post"]
        .as_object_mut()
        .expect("operation")
        .remove("operationId");
    let err = normalize::check(&doc).expect_err("refused");
    assert!(
        err.0.contains(&format!("POST {ORDER_PATH}")),
        "names the operation: {err}"
    );
    assert!(!err.0.contains("GET"), "names only that operation: {err}");
    assert!(!err.0.contains("PATCH"), "names only that operation: {err}");
}

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

    let error = json!({
        "description": "",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorV2" } } }
    });
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
            json!({ "202": { "description": "" }, "4XX": error, "5XX": error })
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
    assert_eq!(
        dropped,
        [
            "address",
            "attachment",
            "authorized_payment_method",
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
    // Nothing replaced: every schema of the fixture is in use.
    let mut untouched = klarna();
    assert!(normalize::prune_replaced(&mut untouched, &[]).is_empty());
    assert_eq!(untouched, klarna());
}

// ---------------------------------------------------------------------------
// Non-ASCII and mis-encoded prose
// ---------------------------------------------------------------------------

#[test]
fn prose_becomes_plain_ascii_and_other_strings_are_untouched() {
    let raw = klarna_raw();
    let doc = normalized(&raw);

    let prose_before = leaves(&raw).into_iter().filter(Leaf::is_prose).count();
    let non_ascii_before = leaves(&raw)
        .into_iter()
        .filter(|l| l.is_prose() && !l.text.is_ascii())
        .count();
    assert!(non_ascii_before >= 20, "the fixture is meant to be messy");
    assert!(prose_before > non_ascii_before);

    for leaf in leaves(&doc).iter().filter(|l| l.is_prose()) {
        assert!(leaf.text.is_ascii(), "{}: {:?}", leaf.pointer, leaf.text);
    }

    // Every string that is not prose keeps its exact value: patterns, enum
    // values, examples, references, names. (`openapi` is the one exception.)
    let mut compared = 0;
    for leaf in leaves(&raw)
        .iter()
        .filter(|l| !l.is_prose() && l.pointer != "/openapi")
    {
        assert_eq!(
            doc.pointer(&leaf.pointer).and_then(Value::as_str),
            Some(leaf.text.as_str()),
            "{}",
            leaf.pointer
        );
        compared += 1;
    }
    assert!(compared > 200, "{compared}");
    assert_eq!(
        prop(&doc, "customer_token_order", "purchase_currency")["pattern"],
        "^[A-Za-z]{3,3}$"
    );
    assert_eq!(
        prop(&doc, "address", "country")["pattern"],
        "^[A-Za-z]{2,2}$"
    );
    // A non-ASCII example stays non-ASCII (whatever decode_text made of it).
    assert!(
        !prop(&doc, "address", "city")["example"]
            .as_str()
            .is_some_and(str::is_ascii)
    );
}

/// The intended ASCII of the fixture's typographic and mis-encoded prose.
#[track_caller]
fn assert_intended_ascii(doc: &Value) {
    let info = description(doc, "/info/description");
    for expected in [
        "the way Klarna's downloadable file is",
        "Customer Token endpoints - reading",
        "served on Kustom's hosts",
        "the customer's token, 100 kr.",
    ] {
        assert!(info.contains(expected), "{expected:?} in {info:?}");
    }
    let schemas = "/components/schemas";
    for (pointer, expected) in [
        (
            format!("{schemas}/customer_token_order/description"),
            "An order to be charged to the customer's token.",
        ),
        (
            format!("{schemas}/customer_token_order/properties/merchant_reference1/description"),
            "The merchant's own reference for the order, such as an order number.",
        ),
        (
            format!("{schemas}/customer_token_order/properties/merchant_reference2/description"),
            "A second reference, for the merchant's own use.",
        ),
        (
            format!("{schemas}/customer_token_order/properties/purchase_currency/description"),
            "ISO 4217 currency code, e.g. \"SEK\".",
        ),
        (
            format!("{schemas}/customer_token_order/properties/order_lines/description"),
            "The order's lines (1 - 1000 of them).",
        ),
        (
            format!("{schemas}/order_line/properties/tax_rate/description"),
            "Tax rate in basis points - 2500 is 25 %.",
        ),
        (
            format!("{schemas}/order_line/properties/total_amount/description"),
            "quantity x unit_price - total_discount_amount, in minor units.",
        ),
        (
            format!(
                "{schemas}/product_identifiers/properties/global_trade_item_number/description"
            ),
            "The GTIN (EAN, UPC, ISBN...).",
        ),
        (
            format!("{schemas}/customer_token/properties/status/description"),
            "'ACTIVE', 'SUSPENDED' or 'CANCELLED'.",
        ),
        (
            format!(
                "/paths/{}/get/responses/200/description",
                escape(TOKEN_PATH)
            ),
            "Token found - details follow.",
        ),
        (
            format!(
                "/paths/{}/post/responses/409/description",
                escape(ORDER_PATH)
            ),
            "The data in the request doesn't match the session.",
        ),
    ] {
        assert_eq!(description(doc, &pointer), expected, "{pointer}");
    }
}

/// The same document as a valid UTF-8 file: typographic characters and
/// UTF-8-encoded mojibake become the intended ASCII.
#[test]
fn typography_and_mojibake_become_the_intended_ascii_in_a_utf8_file() {
    let bytes = fixture_as_utf8();
    let doc = normalize::load(&bytes).expect("loads");
    assert_intended_ascii(&doc);
    // And nothing but the invalid byte differs from the original file.
    assert_eq!(
        structure::from_openapi(&doc),
        structure::from_openapi(&klarna())
    );
}

/// The same on the fixture as it is, with its invalid byte.
#[test]
fn typography_and_mojibake_become_the_intended_ascii_next_to_an_invalid_byte() {
    assert_intended_ascii(&klarna());
}

#[test]
fn known_quote_and_space_mojibake_becomes_ascii() {
    for (text, expected) in [
        ("the customerâ€™s token", "the customer's token"),
        ("â€˜quotedâ€™", "'quoted'"),
        ("â€œquotedâ€\u{9d}", "\"quoted\""),
        ("100Â kr", "100 kr"),
        ("100Â\u{a0}kr", "100 kr"),
        (
            "“typographic” ‘quotes’ – and … more",
            "\"typographic\" 'quotes' - and ... more",
        ),
        ("Kustom’s", "Kustom's"),
        ("a\u{a0}b", "a b"),
        ("plain ASCII stays", "plain ASCII stays"),
    ] {
        assert_eq!(normalize::ascii_text(text), expected, "{text:?}");
    }
}

#[test]
fn known_dash_and_ellipsis_mojibake_becomes_ascii() {
    for (text, expected) in [
        ("1 â€“ 1000", "1 - 1000"),
        ("wait â€” or not", "wait - or not"),
        ("and so onâ€¦", "and so on..."),
    ] {
        assert_eq!(normalize::ascii_text(text), expected, "{text:?}");
    }
}

#[test]
fn example_values_are_not_cleaned_as_prose() {
    let mut doc = json!({
        "openapi": "3.0.0",
        "paths": {},
        "components": { "schemas": { "address": {
            "type": "object",
            "properties": { "title": { "type": "string" } },
            "example": { "title": "Fröken", "given_name": "Åsa" }
        } } }
    });
    normalize::normalize(&mut doc);
    assert_eq!(
        doc["components"]["schemas"]["address"]["example"],
        json!({ "title": "Fröken", "given_name": "Åsa" })
    );
}

// ---------------------------------------------------------------------------
// The decisive test: the same API
// ---------------------------------------------------------------------------

/// Klarna's description (in its shape) and ours describe the same API:
/// operations, parameters, schemas, properties, required-ness, constraints
/// and enums are equal once both are normalized.
#[test]
fn the_klarna_shaped_fixture_and_our_description_have_the_same_structure() {
    let (klarna, ours) = (klarna(), ours());
    assert_eq!(differences(&klarna, &ours), Vec::<String>::new());
    // The spec-update diff also lists responses: the two differ only in the
    // error bodies the fixture leaves out, as Klarna's file does. (Before
    // responses were part of the diff, it was empty here.)
    let diff: Vec<String> = structure::diff(
        &structure::from_openapi(&klarna),
        &structure::from_openapi(&ours),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    let no_body = |id: &str, status: &str| {
        format!(
            "operation {id}: response {status}: no body in the vendored, \
             application/json ref ErrorV2 in the new"
        )
    };
    assert_eq!(
        diff,
        [
            no_body("createOrder", "403"),
            no_body("createOrder", "404"),
            no_body("createOrder", "409"),
            no_body("patchCustomerToken", "400"),
            no_body("patchCustomerToken", "403"),
            no_body("patchCustomerToken", "404"),
            no_body("readCustomerToken", "403"),
            no_body("readCustomerToken", "404"),
        ]
    );
    // ...and they generate the same code.
    assert_eq!(generate(&klarna), generate(&ours));

    let api = structure::from_openapi(&klarna);
    let ours_api = structure::from_openapi(&ours);
    assert_eq!(api.operations, ours_api.operations);
    assert_eq!(api.schemas, ours_api.schemas);
    assert_eq!(api.version, ours_api.version);
    // What was compared is the whole API, not an empty model.
    let operations: Vec<(&str, &str, &str)> = api
        .operations
        .iter()
        .map(|(id, op)| (id.as_str(), op.method.as_str(), op.path.as_str()))
        .collect();
    assert_eq!(
        operations,
        [
            ("createOrder", "POST", ORDER_PATH),
            ("patchCustomerToken", "PATCH", STATUS_PATH),
            ("readCustomerToken", "GET", TOKEN_PATH),
        ]
    );
    assert_eq!(
        api.operations["createOrder"].parameters,
        [
            ("header:klarna-idempotency-key".to_owned(), false),
            ("path:customerToken".to_owned(), true),
        ]
        .into_iter()
        .collect()
    );
    let schemas: BTreeSet<&str> = api.schemas.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = SCHEMAS
        .iter()
        .copied()
        .filter(|s| *s != "ErrorV2")
        .collect();
    assert_eq!(schemas, expected);
    let name = &api.schemas["order_line"].properties["name"];
    assert_eq!(
        (name.required, name.constraints.len()),
        (true, 2),
        "minLength 1 and maxLength 255"
    );
    // `minLength: 0` is no constraint: the fixture declares it, ours does not.
    assert!(
        api.schemas["customer_token"].properties["status"]
            .constraints
            .is_empty()
    );

    // Normalization itself does not change the structure.
    assert_eq!(structure::from_openapi(&klarna_raw()), api);
}

#[test]
fn error_body_schemas_are_not_part_of_the_structure() {
    for doc in [klarna(), ours()] {
        assert!(
            !structure::from_openapi(&doc)
                .schemas
                .contains_key("ErrorV2")
        );
    }

    // Changing ErrorV2 changes nothing structural...
    let mut changed = klarna();
    let error = changed
        .pointer_mut("/components/schemas/ErrorV2")
        .and_then(Value::as_object_mut)
        .expect("ErrorV2");
    error.insert(
        "required".to_owned(),
        json!(["error_code", "error_message"]),
    );
    error["properties"]["error_message"] = json!({ "type": "string", "maxLength": 10 });
    assert_eq!(differences(&changed, &ours()), Vec::<String>::new());

    // ...while the same kind of change to a success body is seen.
    let mut changed = klarna();
    changed["components"]["schemas"]["order"]["properties"]["extra"] = json!({ "type": "string" });
    changed["components"]["schemas"]["order"]["required"] = json!(["fraud_status", "order_id"]);
    assert_eq!(
        differences(&changed, &ours()),
        [
            "order.extra: field only in the fixture",
            "order.redirect_url: optional in the fixture, required in the ours",
        ]
    );
}

/// The comparison is not vacuous: a changed constraint, parameter or enum
/// value in the Klarna-shaped description is reported.
#[test]
fn structural_changes_are_reported() {
    let base = klarna();
    let mut changed = base.clone();
    changed["components"]["schemas"]["order_line"]["properties"]["name"]["maxLength"] = json!(254);
    changed["components"]["schemas"]["order_line"]["properties"]["type"]["enum"]
        .as_array_mut()
        .expect("enum")
        .push(json!("return_fee"));
    changed["paths"][ORDER_PATH]["post"]["parameters"][1]["required"] = json!(true);
    changed["paths"][TOKEN_PATH]["get"]["responses"]["429"] = json!({ "description": "slow down" });
    changed["paths"][TOKEN_PATH]["get"]["responses"]["403"]["content"] = json!({
        "application/json": { "schema": { "$ref": "#/components/schemas/ErrorV2" } }
    });
    changed["paths"][STATUS_PATH]["patch"]["responses"]
        .as_object_mut()
        .expect("responses")
        .remove("404");
    let changes: Vec<String> = structure::diff(
        &structure::from_openapi(&base),
        &structure::from_openapi(&changed),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        changes,
        [
            "operation createOrder: parameter header:klarna-idempotency-key optional in the vendored, required in the new",
            "operation patchCustomerToken: response 404 only in the vendored (no body)",
            "operation readCustomerToken: response 403: no body in the vendored, application/json ref ErrorV2 in the new",
            "operation readCustomerToken: response 429 only in the new (no body)",
            "order_line.name: maxLength 255 in the vendored, 254 in the new",
            "order_line.type: enum values only in the new: return_fee",
        ]
    );
}

// ---------------------------------------------------------------------------
// Idempotence
// ---------------------------------------------------------------------------

#[test]
fn normalize_is_idempotent() {
    for (name, raw) in [
        ("fixture", klarna_raw()),
        (
            "fixture as UTF-8",
            normalize::parse(&normalize::decode_text(&fixture_as_utf8())).expect("parses"),
        ),
        (
            "ours",
            normalize::parse(&normalize::decode_text(OURS)).expect("parses"),
        ),
    ] {
        let mut once = raw.clone();
        normalize::normalize(&mut once);
        let mut twice = once.clone();
        let notes = normalize::normalize(&mut twice);
        assert_eq!(
            notes,
            Vec::<String>::new(),
            "{name}: nothing left to change"
        );
        assert_eq!(twice, once, "{name}");
    }
    // The Klarna-shaped fixture needed every kind of change.
    let notes = normalize::normalize(&mut klarna_raw());
    for expected in ["3.0.3", "Basic", "description"] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected:?} in {notes:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Control characters, in two steps
// ---------------------------------------------------------------------------

/// Klarna's older file holds U+0018 and U+0019 where typographic quotes
/// belong; the YAML reader refuses them, so they are swapped for
/// placeholders before parsing and restored as quotes in prose after it.
#[test]
fn control_characters_in_prose_become_quotes_or_disappear() {
    let text = normalize::decode_text(OURS).replacen(
        "description: Person or department the delivery is for.",
        "description: \u{18}Attn.\u{19} Customer\u{19}s city\u{7}\u{1b}\u{7f}\u{85}.",
        1,
    );
    assert!(
        normalize::parse(&text).is_err(),
        "the YAML reader refuses them"
    );
    let doc = normalize::load(text.as_bytes()).expect("loads");
    assert_eq!(
        prop(&doc, "address", "attention")["description"],
        "'Attn.' Customer's city."
    );
    // Written as escapes in JSON, they are resolved the same way.
    let mut json_doc = normalize::parse(&normalize::decode_text(OURS)).expect("parses");
    json_doc["info"]["title"] = json!("\u{18}T\u{19}\u{1}");
    let bytes = serde_json::to_vec(&json_doc).expect("serializes");
    assert_eq!(
        normalize::load(&bytes).expect("loads")["info"]["title"],
        "'T'"
    );
}

/// The Windows-1252 fallback yields C1 characters for 0x81, 0x8D, 0x8F,
/// 0x90 and 0x9D; in prose they are removed like any other control.
#[test]
fn windows_1252_bytes_without_a_character_are_removed_from_prose() {
    assert_eq!(
        normalize::decode_text(b"\x81\x8d\x8f\x90\x9d"),
        "\u{81}\u{8d}\u{8f}\u{90}\u{9d}"
    );
    let mut bytes = OURS.to_vec();
    let needle = b"Person or department";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("text");
    bytes.splice(at..at, b"a\x81\x8d\x8f\x90\x9d\xb1b ".iter().copied());
    let doc = normalize::load(&bytes).expect("loads");
    assert_eq!(
        prop(&doc, "address", "attention")["description"],
        "ab Person or department the delivery is for."
    );
}

#[test]
fn a_control_character_outside_prose_is_refused_with_its_path() {
    let text = normalize::decode_text(OURS);
    for (from, to, path) in [
        (
            "            - shipping_fee\n",
            "            - ship\u{1}ping_fee\n",
            "#/components/schemas/order_line/properties/type/enum/2",
        ),
        (
            "pattern: '^[A-Za-z]{3,3}$'",
            "pattern: '^[A-Za-z]{3,3}\u{19}$'",
            "#/components/schemas/customer_token_order/properties/purchase_currency/pattern",
        ),
        (
            "example: ON4711",
            "example: ON\u{90}4711",
            "#/components/schemas/customer_token_order/properties/merchant_reference1/example",
        ),
        (
            "operationId: createOrder",
            "operationId: create\u{18}Order",
            "#/paths/~1customer-token~1v1~1tokens~1{customerToken}~1order/post/operationId",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let err = normalize::load(text.replacen(from, to, 1).as_bytes()).expect_err("refused");
        assert!(err.0.ends_with(path), "{err}");
        assert!(err.0.contains("control character"), "{err}");
    }
}

#[test]
fn a_byte_order_mark_and_crlf_line_endings_are_accepted() {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(
        normalize::decode_text(OURS)
            .replace('\n', "\r\n")
            .into_bytes(),
    );
    assert_eq!(normalize::load(&bytes), Ok(ours()));
}

#[test]
fn a_reference_to_an_undefined_schema_is_refused() {
    let text = normalize::decode_text(OURS).replacen(
        "$ref: '#/components/schemas/card_information'",
        "$ref: '#/components/schemas/card_info'",
        1,
    );
    let err = normalize::load(text.as_bytes()).expect_err("refused");
    assert!(err.0.contains("#/components/schemas/card_info"), "{err}");
}
