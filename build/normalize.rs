//! Normalization of an OpenAPI description before code generation.
//!
//! This file is shared: `build.rs` includes it with `#[path]`, and so do the
//! tools and tests that need to see the description exactly as the generator
//! sees it. It depends only on `serde_json`.

use serde_json::{Map, Value};

/// Turns every `enum` found in a schema reachable from a response into a
/// plain string schema, so that no response is ever decoded through an
/// exhaustive generated enum. Request-only schemas keep their enums.
///
/// Returns the names of the component schemas that were changed.
pub fn open_response_enums(doc: &mut Value) -> Vec<String> {
    let response_roots = response_schema_refs(doc);
    let reachable = reachable_schemas(doc, response_roots);
    let mut changed = Vec::new();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in reachable {
            if let Some(schema) = schemas.get_mut(&name)
                && strip_enums(schema)
            {
                changed.push(name);
            }
        }
    }
    changed.sort();
    changed
}

/// The names of the component schemas referenced directly by any response
/// body of any operation.
fn response_schema_refs(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for item in paths.values() {
        let Some(item) = item.as_object() else {
            continue;
        };
        for op in item.values() {
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for response in responses.values() {
                let response = resolve_response(doc, response);
                if let Some(content) = response.and_then(|r| r.get("content")) {
                    collect_refs(content, &mut out);
                }
            }
        }
    }
    out
}

fn resolve_response<'a>(doc: &'a Value, response: &'a Value) -> Option<&'a Value> {
    match response.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer)),
        None => Some(response),
    }
}

/// Every `#/components/schemas/NAME` reference found anywhere under `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_owned());
            }
            for v in map.values() {
                collect_refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The closure of `roots` under schema references.
fn reachable_schemas(doc: &Value, roots: Vec<String>) -> Vec<String> {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    let mut seen: Vec<String> = Vec::new();
    let mut queue = roots;
    while let Some(name) = queue.pop() {
        if seen.contains(&name) {
            continue;
        }
        if let Some(schema) = schemas.and_then(|s| s.get(&name)) {
            collect_refs(schema, &mut queue);
        }
        seen.push(name);
    }
    seen
}

/// Removes `enum` from every string schema under `schema`. Returns whether
/// anything was removed.
fn strip_enums(schema: &mut Value) -> bool {
    let mut changed = false;
    if let Value::Object(map) = schema {
        if map.contains_key("enum") && is_string_schema(map) {
            map.remove("enum");
            changed = true;
        }
        for v in map.values_mut() {
            changed |= strip_enums(v);
        }
    } else if let Value::Array(items) = schema {
        for v in items {
            changed |= strip_enums(v);
        }
    }
    changed
}

fn is_string_schema(map: &Map<String, Value>) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == "string",
        None => map
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| values.iter().all(Value::is_string)),
        _ => false,
    }
}

/// Replaces the bodies of the named component schemas by a bare object
/// schema and then drops every component schema that nothing references any
/// more. Used for the schemas whose Rust type the facade supplies itself:
/// their sub-schemas would otherwise be generated without ever being used.
///
/// Returns the names of the schemas that were dropped.
pub fn prune_replaced(doc: &mut Value, replaced: &[&str]) -> Vec<String> {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return Vec::new();
    };
    for name in replaced {
        if let Some(schema) = schemas.get_mut(*name) {
            *schema = serde_json::json!({ "type": "object" });
        }
    }
    // Roots: everything outside `components/schemas`.
    let mut roots = Vec::new();
    if let Some(map) = doc.as_object() {
        for (key, value) in map {
            if key != "components" {
                collect_refs(value, &mut roots);
            }
        }
    }
    if let Some(components) = doc.get("components").and_then(Value::as_object) {
        for (key, value) in components {
            if key != "schemas" {
                collect_refs(value, &mut roots);
            }
        }
    }
    let keep = reachable_schemas(doc, roots);
    let mut dropped = Vec::new();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.retain(|name, _| {
            let kept = keep.contains(name);
            if !kept {
                dropped.push(name.clone());
            }
            kept
        });
    }
    dropped
}
