//! The structure of an API, as the drift guards and the spec-update diff
//! compare it: operations (ids, methods, paths, parameters including
//! headers), schemas and their properties, required-ness and constraints;
//! and, for the spec-update diff only, the description's version and each
//! operation's responses (statuses and the body each declares). Servers,
//! security schemes, descriptions and examples are not part of it, and the
//! schemas of error bodies are not among its schemas.
//!
//! It reads an OpenAPI 3.0 description and the JSON Schemas of the facade's
//! types (draft 2020-12, as schemars writes them) into the same model.
//! Shared by the `update-spec` tool and the tests; it depends on
//! `serde_json` and the sibling `normalize` module.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::normalize;

/// An API's structure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Api {
    /// `info.version`.
    pub version: String,
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
            let shared = item.get("parameters").cloned().unwrap_or(Value::Null);
            for (method, op) in normalize::operations(item) {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let mut parameters = BTreeMap::new();
                for list in [&shared, op.get("parameters").unwrap_or(&Value::Null)] {
                    for p in list.as_array().into_iter().flatten() {
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
                }
                if let Some(body) = op
                    .get("requestBody")
                    .and_then(|b| normalize::resolve(doc, b))
                {
                    normalize::collect_refs(body, &mut roots);
                }
                if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                    api.responses.insert(
                        id.to_owned(),
                        responses
                            .iter()
                            .map(|(code, r)| (code.clone(), response_body(doc, r)))
                            .collect(),
                    );
                    for (code, response) in responses {
                        if code.starts_with('2')
                            && let Some(response) = normalize::resolve(doc, response)
                        {
                            normalize::collect_refs(response, &mut roots);
                        }
                    }
                }
                api.operations.insert(
                    id.to_owned(),
                    Operation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        parameters,
                    },
                );
            }
        }
    }
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
    let kind = if kind == "array" {
        let items = p
            .get("items")
            .map(|i| property(i, name_of, inline).kind)
            .unwrap_or_else(|| "?".to_owned());
        format!("array of {items}")
    } else {
        kind
    };
    let mut constraints = BTreeMap::new();
    for key in CONSTRAINTS {
        if let Some(value) = p.get(*key) {
            if *key == "minLength" && value.as_u64() == Some(0) {
                continue;
            }
            constraints.insert((*key).to_owned(), number(value));
        }
    }
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let values = if let Some(known) = p.get("x-open-enum") {
        Some(Values::Open(strings(known)))
    } else {
        p.get("enum").map(|e| Values::Closed(strings(e)))
    };
    Property {
        required: false,
        kind,
        constraints,
        values,
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

/// One structural difference between two APIs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// Where: `operation createOrder`, `order_line`, `order_line.tax_rate`.
    pub place: String,
    /// What, in words.
    pub what: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "none".to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

fn list(values: &BTreeSet<String>) -> String {
    values.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Compares operations. `a` and `b` name the two sides in the messages,
/// such as `"description"` and `"facade"`, or `"vendored"` and `"new"`.
pub fn compare_operations(
    a: &BTreeMap<String, Operation>,
    b: &BTreeMap<String, Operation>,
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (id, op) in a {
        let place = format!("operation {id}");
        let Some(other) = b.get(id) else {
            out.push(Difference {
                place,
                what: format!("only in the {a_name} ({} {})", op.method, op.path),
            });
            continue;
        };
        if op.method != other.method || op.path != other.path {
            out.push(Difference {
                place: place.clone(),
                what: format!(
                    "{} {} in the {a_name}, {} {} in the {b_name}",
                    op.method, op.path, other.method, other.path
                ),
            });
        }
        for (param, required) in &op.parameters {
            match other.parameters.get(param) {
                None => out.push(Difference {
                    place: place.clone(),
                    what: format!("parameter {param} only in the {a_name}"),
                }),
                Some(r) if r != required => out.push(Difference {
                    place: place.clone(),
                    what: format!(
                        "parameter {param} {} in the {a_name}, {} in the {b_name}",
                        required_word(*required),
                        required_word(*r)
                    ),
                }),
                Some(_) => {}
            }
        }
        for param in other.parameters.keys() {
            if !op.parameters.contains_key(param) {
                out.push(Difference {
                    place: place.clone(),
                    what: format!("parameter {param} only in the {b_name}"),
                });
            }
        }
    }
    for (id, op) in b {
        if !a.contains_key(id) {
            out.push(Difference {
                place: format!("operation {id}"),
                what: format!("only in the {b_name} ({} {})", op.method, op.path),
            });
        }
    }
    out.sort();
    out
}

fn required_word(required: bool) -> &'static str {
    if required { "required" } else { "optional" }
}

/// Compares schemas. `a` and `b` name the two sides in the messages.
pub fn compare_schemas(
    a: &BTreeMap<String, Schema>,
    b: &BTreeMap<String, Schema>,
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (name, schema) in a {
        let Some(other) = b.get(name) else {
            out.push(Difference {
                place: name.clone(),
                what: format!("schema only in the {a_name}"),
            });
            continue;
        };
        for (field, p) in &schema.properties {
            let place = format!("{name}.{field}");
            let Some(q) = other.properties.get(field) else {
                out.push(Difference {
                    place,
                    what: format!("field only in the {a_name}"),
                });
                continue;
            };
            compare_property(p, q, &place, a_name, b_name, &mut out);
        }
        for field in other.properties.keys() {
            if !schema.properties.contains_key(field) {
                out.push(Difference {
                    place: format!("{name}.{field}"),
                    what: format!("field only in the {b_name}"),
                });
            }
        }
    }
    for name in b.keys() {
        if !a.contains_key(name) {
            out.push(Difference {
                place: name.clone(),
                what: format!("schema only in the {b_name}"),
            });
        }
    }
    out.sort();
    out
}

fn compare_property(
    p: &Property,
    q: &Property,
    place: &str,
    a_name: &str,
    b_name: &str,
    out: &mut Vec<Difference>,
) {
    let mut push = |what: String| {
        out.push(Difference {
            place: place.to_owned(),
            what,
        })
    };
    if p.required != q.required {
        push(format!(
            "{} in the {a_name}, {} in the {b_name}",
            required_word(p.required),
            required_word(q.required)
        ));
    }
    if p.kind != q.kind {
        push(format!(
            "{} in the {a_name}, {} in the {b_name}",
            p.kind, q.kind
        ));
    }
    let keys: BTreeSet<&String> = p.constraints.keys().chain(q.constraints.keys()).collect();
    for key in keys {
        let (x, y) = (p.constraints.get(key), q.constraints.get(key));
        if x != y {
            push(format!(
                "{key} {} in the {a_name}, {} in the {b_name}",
                show(x),
                show(y)
            ));
        }
    }
    match (&p.values, &q.values) {
        (None, None) => {}
        (Some(Values::Closed(x)), Some(Values::Closed(y)))
        | (Some(Values::Open(x)), Some(Values::Open(y))) => {
            let only_a: BTreeSet<String> = x.difference(y).cloned().collect();
            let only_b: BTreeSet<String> = y.difference(x).cloned().collect();
            if !only_a.is_empty() {
                push(format!(
                    "enum values only in the {a_name}: {}",
                    list(&only_a)
                ));
            }
            if !only_b.is_empty() {
                push(format!(
                    "enum values only in the {b_name}: {}",
                    list(&only_b)
                ));
            }
        }
        // An open enum on one side, a closed one on the other: every value
        // of the closed side must be known to the open side.
        (Some(Values::Closed(closed)), Some(Values::Open(open))) => {
            push(format!(
                "closed enum in the {a_name}, open enum in the {b_name}"
            ));
            let unknown: BTreeSet<String> = closed.difference(open).cloned().collect();
            if !unknown.is_empty() {
                push(format!(
                    "enum values unknown to the {b_name}: {}",
                    list(&unknown)
                ));
            }
        }
        (Some(Values::Open(open)), Some(Values::Closed(closed))) => {
            push(format!(
                "open enum in the {a_name}, closed enum in the {b_name}"
            ));
            let unknown: BTreeSet<String> = closed.difference(open).cloned().collect();
            if !unknown.is_empty() {
                push(format!(
                    "enum values unknown to the {a_name}: {}",
                    list(&unknown)
                ));
            }
        }
        // A plain string on one side and an open enum on the other accept
        // the same strings.
        (None, Some(Values::Open(_))) | (Some(Values::Open(_)), None) => {}
        (None, Some(Values::Closed(values))) => {
            push(format!("enum only in the {b_name}: {}", list(values)));
        }
        (Some(Values::Closed(values)), None) => {
            push(format!("enum only in the {a_name}: {}", list(values)));
        }
    }
}

/// Compares the responses of the operations both sides have: statuses
/// added or removed, and the body each status declares.
pub fn compare_responses(
    a: &BTreeMap<String, BTreeMap<String, String>>,
    b: &BTreeMap<String, BTreeMap<String, String>>,
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (id, statuses) in a {
        let Some(others) = b.get(id) else { continue };
        let place = format!("operation {id}");
        for (status, body) in statuses {
            match others.get(status) {
                None => out.push(Difference {
                    place: place.clone(),
                    what: format!("response {status} only in the {a_name} ({body})"),
                }),
                Some(other) if other != body => out.push(Difference {
                    place: place.clone(),
                    what: format!(
                        "response {status}: {body} in the {a_name}, {other} in the {b_name}"
                    ),
                }),
                Some(_) => {}
            }
        }
        for (status, body) in others {
            if !statuses.contains_key(status) {
                out.push(Difference {
                    place: place.clone(),
                    what: format!("response {status} only in the {b_name} ({body})"),
                });
            }
        }
    }
    out.sort();
    out
}

/// The human-readable changes from one description to another: version,
/// operations, responses and schemas.
pub fn diff(old: &Api, new: &Api) -> Vec<Difference> {
    let mut out = Vec::new();
    if old.version != new.version {
        out.push(Difference {
            place: "info.version".to_owned(),
            what: format!(
                "{:?} in the vendored, {:?} in the new",
                old.version, new.version
            ),
        });
    }
    out.extend(compare_operations(
        &old.operations,
        &new.operations,
        "vendored",
        "new",
    ));
    out.extend(compare_responses(
        &old.responses,
        &new.responses,
        "vendored",
        "new",
    ));
    out.extend(compare_schemas(
        &old.schemas,
        &new.schemas,
        "vendored",
        "new",
    ));
    out
}
