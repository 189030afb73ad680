//! References inside a description: following them, collecting them, and
//! the schemas they reach.

use serde_json::Value;

/// Every `$ref` that points into the document itself.
pub(super) fn local_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str)
                && reference.starts_with('#')
            {
                out.push(reference.to_owned());
            }
            map.values().for_each(|v| local_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| local_refs(v, out)),
        _ => {}
    }
}

/// Follows a local `$ref`, if the value is one.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer)),
        None => Some(value),
    }
}

/// Every `#/components/schemas/NAME` reference found anywhere under `value`.
pub fn collect_refs(value: &Value, out: &mut Vec<String>) {
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
pub fn reachable_schemas(doc: &Value, roots: Vec<String>) -> Vec<String> {
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
