//! The normalization step (`normalize`) against the quirks of
//! Klarna's published description, one test per quirk.
//!
//! Most tests read `codegen/tests/fixtures/klarna-shape-v1.yaml`: a
//! description we wrote ourselves in the shape of Klarna's downloadable file (OpenAPI 3.0.0,
//! one server, no security scheme, error responses that mix a JSON body and
//! no body, plain-string statuses, a closed enum inside a response,
//! `order.redirect_url` required, typographic and mis-encoded characters in
//! descriptions, and one raw Windows-1252 byte that is not valid UTF-8).
//! The decisive test shows that it and our own
//! `openapi/customer-token-v1.yaml` describe the same API once normalized.
//!
//! modules; they pass once the defect is fixed.

mod generation;
mod prose;
mod reading;
mod same_api;

use std::collections::BTreeSet;
use std::sync::Mutex;

use klarna_customer_token_codegen::{codegen, normalize, structure};
use serde_json::{Value, json};

/// The Klarna-shaped description, byte for byte (not valid UTF-8).
const FIXTURE: &[u8] = include_bytes!("../../fixtures/klarna-shape-v1.yaml");
/// Our own description, as `build.rs` reads it.
/// Our own description, as first written: a fixed copy, so that these tests
/// stay true whichever description is vendored in `openapi/`.
const OURS: &[u8] = include_bytes!("../../../../tests/fixtures/customer-token-v1.0.yaml");

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
