//! The structure of an API, as the drift guards and the spec-update diff
//! compare it: operations (ids, methods, paths, parameters including
//! headers), schemas and their properties, required-ness and constraints;
//! and, for the spec-update diff only, the description's version, its
//! servers and each operation's responses (statuses and the body each
//! declares). Security schemes, descriptions and examples are not part of
//! it, and the schemas of error bodies are not among its schemas.
//!
//! It reads an OpenAPI 3.0 description and the JSON Schemas of the facade's
//! types (draft 2020-12, as schemars writes them) into the same model.
//! The drift guards and the `update-spec` tool read descriptions through
//! it; comparing two structures is in `compare` (re-exported here).

mod compare;

pub use compare::{Difference, compare_operations, compare_responses, compare_schemas, diff};

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::normalize;

/// An API's structure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Api {
    /// `info.version`.
    pub version: String,
    /// The servers' URLs, without a trailing slash.
    pub servers: BTreeSet<String>,
    /// By operationId.
    pub operations: BTreeMap<String, Operation>,
    /// By operationId, then status: the body the response declares, such
    /// as `application/json ref ErrorV2`, or `no body`.
    pub responses: BTreeMap<String, BTreeMap<String, String>>,
    /// By schema name: the schemas of request bodies and success responses,
    /// and everything they contain.
    pub schemas: BTreeMap<String, Schema>,
}

/// One operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Operation {
    /// Uppercase, such as `POST`.
    pub method: String,
    /// The path template, such as `/customer-token/v1/tokens/{customerToken}`.
    pub path: String,
    /// `in:name` (headers lowercased) to whether it is required.
    pub parameters: BTreeMap<String, bool>,
}

/// One object schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// By property name.
    pub properties: BTreeMap<String, Property>,
}

/// One property.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Property {
    /// Whether the object must carry it.
    pub required: bool,
    /// `string`, `integer`, `boolean`, `number`, `array of X`, or the name
    /// of a referenced schema as `ref X`.
    pub kind: String,
    /// `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
    /// `minItems`, `maxItems` (a `minLength` of 0 is no constraint).
    pub constraints: BTreeMap<String, Value>,
    /// The allowed values, if the property is an enum.
    pub values: Option<Values>,
}

/// The values of an enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Values {
    /// Only these values are allowed.
    Closed(BTreeSet<String>),
    /// These values are known, and any other string is accepted too.
    Open(BTreeSet<String>),
}

const CONSTRAINTS: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
];

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// Reads the structure of a (normalized) OpenAPI description.
pub fn from_openapi(doc: &Value) -> Api {
    let mut api = Api::default();
    let mut roots = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let shared = item.get("parameters").unwrap_or(&Value::Null);
            for (method, op) in normalize::operations(item) {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                if let Some(body) = op
                    .get("requestBody")
                    .and_then(|b| normalize::resolve(doc, b))
                {
                    normalize::collect_refs(body, &mut roots);
                }
                if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                    api.responses
                        .insert(id.to_owned(), responses_of(doc, responses, &mut roots));
                }
                api.operations.insert(
                    id.to_owned(),
                    Operation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        parameters: parameters(
                            doc,
                            [shared, op.get("parameters").unwrap_or(&Value::Null)],
                        ),
                    },
                );
            }
        }
    }
    api.servers = doc
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|server| server.get("url").and_then(Value::as_str))
        .map(|url| url.trim_end_matches('/').to_owned())
        .collect();
    api.version = match doc.pointer("/info/version") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for name in normalize::reachable_schemas(doc, roots) {
        if let Some(schema) = schemas.and_then(|s| s.get(&name)) {
            api.schemas
                .insert(name, object_schema(schema, &schema_name, &|_| None));
        }
    }
    api
}

/// The parameters of an operation, from its path item's list and its own:
/// `in:name` (headers lowercased) to whether it is required.
fn parameters(doc: &Value, lists: [&Value; 2]) -> BTreeMap<String, bool> {
    let mut parameters = BTreeMap::new();
    for p in lists.into_iter().filter_map(Value::as_array).flatten() {
        let Some(p) = normalize::resolve(doc, p) else {
            continue;
        };
        let location = p.get("in").and_then(Value::as_str).unwrap_or("?");
        let mut name = p
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        if location == "header" {
            name = name.to_ascii_lowercase();
        }
        let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        parameters.insert(format!("{location}:{name}"), required);
    }
    parameters
}

/// An operation's responses by status, in words; the schemas its success
/// responses refer to join `roots`.
fn responses_of(
    doc: &Value,
    responses: &serde_json::Map<String, Value>,
    roots: &mut Vec<String>,
) -> BTreeMap<String, String> {
    for (code, response) in responses {
        if code.starts_with('2')
            && let Some(response) = normalize::resolve(doc, response)
        {
            normalize::collect_refs(response, roots);
        }
    }
    responses
        .iter()
        .map(|(code, r)| (code.clone(), response_body(doc, r)))
        .collect()
}

fn schema_name(v: &Value) -> Option<String> {
    v.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(SCHEMA_PREFIX))
        .map(str::to_owned)
}

/// The body a response declares, in words: each media type with the kind
/// of its schema, or `no body`.
fn response_body(doc: &Value, response: &Value) -> String {
    let Some(response) = normalize::resolve(doc, response) else {
        return "an unresolvable reference".to_owned();
    };
    let bodies: Vec<String> = response
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(media, body)| match body.get("schema") {
            Some(schema) => format!("{media} {}", property(schema, &schema_name, &|_| None).kind),
            None => format!("{media} without a schema"),
        })
        .collect();
    if bodies.is_empty() {
        "no body".to_owned()
    } else {
        bodies.join(", ")
    }
}

/// Reads the structure of JSON Schemas by name, as
/// `klarna_customer_token::json_schemas()` returns them. A reference to a
/// schema that is not an object (such as a one-value enum) is read in
/// place.
pub fn from_json_schemas(schemas: &BTreeMap<String, Value>) -> BTreeMap<String, Schema> {
    let name_of = |v: &Value| {
        v.get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .map(str::to_owned)
    };
    let inline = |name: &str| -> Option<Value> {
        schemas
            .get(name)
            .filter(|s| s.get("type").and_then(Value::as_str) != Some("object"))
            .cloned()
    };
    schemas
        .iter()
        .filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("object"))
        .map(|(name, s)| (name.clone(), object_schema(s, &name_of, &inline)))
        .collect()
}

fn object_schema(
    schema: &Value,
    name_of: &dyn Fn(&Value) -> Option<String>,
    inline: &dyn Fn(&str) -> Option<Value>,
) -> Schema {
    let required: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Schema::default();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, p) in properties {
            let mut property = property(p, name_of, inline);
            property.required = required.contains(name.as_str());
            out.properties.insert(name.clone(), property);
        }
    }
    out
}

fn property(
    p: &Value,
    name_of: &dyn Fn(&Value) -> Option<String>,
    inline: &dyn Fn(&str) -> Option<Value>,
) -> Property {
    // `anyOf`/`oneOf`/`allOf` with one non-null member: that member.
    for combinator in ["anyOf", "oneOf", "allOf"] {
        if let Some(members) = p.get(combinator).and_then(Value::as_array) {
            let real: Vec<&Value> = members
                .iter()
                .filter(|m| m.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = real.as_slice() {
                let mut merged = property(only, name_of, inline);
                let own = property(&strip(p, combinator), name_of, inline);
                merged.constraints.extend(own.constraints);
                return merged;
            }
        }
    }
    if let Some(name) = name_of(p) {
        return match inline(&name) {
            Some(target) => property(&target, name_of, inline),
            None => Property {
                kind: format!("ref {name}"),
                ..Property::default()
            },
        };
    }
    Property {
        required: false,
        kind: kind(p, name_of, inline),
        constraints: constraints(p),
        values: values(p),
    }
}

/// `string`, `integer`, ... or `array of X`, of a schema that is not a
/// reference.
fn kind(
    p: &Value,
    name_of: &dyn Fn(&Value) -> Option<String>,
    inline: &dyn Fn(&str) -> Option<Value>,
) -> String {
    let kind = match p.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("?")
            .to_owned(),
        _ => "?".to_owned(),
    };
    if kind == "array" {
        let items = p
            .get("items")
            .map(|i| property(i, name_of, inline).kind)
            .unwrap_or_else(|| "?".to_owned());
        format!("array of {items}")
    } else {
        kind
    }
}

/// The constraints of a schema (see `CONSTRAINTS`); a `minLength` of 0 is
/// none.
fn constraints(p: &Value) -> BTreeMap<String, Value> {
    let mut constraints = BTreeMap::new();
    for key in CONSTRAINTS {
        if let Some(value) = p.get(*key) {
            if *key == "minLength" && value.as_u64() == Some(0) {
                continue;
            }
            constraints.insert((*key).to_owned(), number(value));
        }
    }
    constraints
}

/// The enum values of a schema: open (`x-open-enum`, as the facade's
/// schemas declare them) or closed (`enum`).
fn values(p: &Value) -> Option<Values> {
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    if let Some(known) = p.get("x-open-enum") {
        Some(Values::Open(strings(known)))
    } else {
        p.get("enum").map(|e| Values::Closed(strings(e)))
    }
}

fn strip(p: &Value, key: &str) -> Value {
    let mut copy = p.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove(key);
    }
    copy
}

/// Integral numbers as integers, so that `1` and `1.0` compare equal.
fn number(value: &Value) -> Value {
    match value.as_f64() {
        Some(f) if value.is_number() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Value::from(f as i64)
        }
        _ => value.clone(),
    }
}
