//! The canonical form that code generation sees, and the steps that
//! follow it (response enums opened, the facade's schemas pruned).

use serde_json::{Map, Value, json};

use super::refs::{collect_refs, reachable_schemas, resolve};
use super::text::DATA_KEYS;
use super::{METHODS, REPLACED, declare_basic_auth, operations};

/// The fixed title and description of the canonical form.
pub const CANONICAL_TITLE: &str = "Customer Token API";
/// See `CANONICAL_TITLE`.
pub const CANONICAL_DESCRIPTION: &str =
    "Generated from the vendored description; see the crate's facade for documentation.";

/// The operations the facade calls, with their success status, the schema
/// of their success body (none for cancel's 202, declared as raw bytes: see
/// `RAW_BODY`) and of their request body.
pub const KNOWN_OPERATIONS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("readCustomerToken", "200", Some("customer_token"), None),
    (
        "createOrder",
        "200",
        Some("order"),
        Some("customer_token_order"),
    ),
    (
        "patchCustomerToken",
        "202",
        None,
        Some("customer_token_status_update_request"),
    ),
];

/// The media type of a body the generated code hands on as raw bytes
/// (progenitor's `ByteStream`): any type but JSON makes progenitor treat a
/// response as raw, and `*/*` says that any is expected.
///
/// Every error response is declared so: the generated code then returns an
/// error answer as `Error::ErrorResponse(ResponseValue<ByteStream>)`, with
/// its status and headers, whatever its body (a gateway's HTML page
/// included), and the facade reads Klarna's error fields from the bytes,
/// leniently. Declared as JSON, a body that is not JSON would end in
/// `Error::InvalidResponsePayload`, which keeps neither status nor headers.
/// Cancel's 202 is declared so too: the facade checks only that its body,
/// which it never reads, was within the cap.
pub const RAW_BODY: &str = "*/*";

/// The statuses every error is declared under in the canonical form. Not
/// `default`: progenitor 0.15 counts a `default` response as a success too
/// and accepts only one success type per operation, so the error ranges
/// are declared instead (any other status reaches the facade as an
/// unexpected answer, which it reads itself).
pub const ERROR_RANGES: &[&str] = &["4XX", "5XX"];

/// Keys dropped from the canonical form wherever they stand as a field of
/// the description (not as a name): prose, examples and documentation.
const INCIDENTAL_KEYS: &[&str] = &[
    "description",
    "summary",
    "title",
    "example",
    "examples",
    "externalDocs",
    "termsOfService",
];

/// Keys whose values are maps from names (of properties, schemas, paths,
/// statuses, media types, ...) to definitions: their own keys are names,
/// never dropped.
const NAME_MAPS: &[&str] = &[
    "properties",
    "schemas",
    "paths",
    "responses",
    "content",
    "parameters",
    "securitySchemes",
    "headers",
    "requestBodies",
    "links",
    "callbacks",
    "encoding",
    "variables",
    "mapping",
    "scopes",
];

/// The canonical form for code generation: what progenitor writes into the
/// generated client depends only on what the facade uses, never on the
/// description's incidental shape.
///
/// - `info` holds a fixed title and description and the description's
///   `info.version` (a real version change may change the generated code);
/// - there are no servers (the generated client takes its base URL at run
///   time, from the facade's `Endpoint`), and the security scheme is fixed;
/// - `summary`, `description` and `title` prose, `example(s)`, `x-`
///   extensions, `externalDocs` and `termsOfService` are dropped everywhere,
///   and top-level `tags`;
/// - every known operation (see `KNOWN_OPERATIONS`) answers with one fixed
///   set of responses: its success status with the facade's type (cancel's
///   202 as raw bytes), and every error under the ranges `4XX` and `5XX`
///   as raw bytes (see `ERROR_RANGES` and `RAW_BODY`);
///   its request body is the facade's type. Any other operation keeps its
///   success responses, and its errors become the same ranges;
/// - every response description is `""` (openapiv3 requires one).
pub fn canonical(doc: &mut Value) {
    strip_incidental(doc, None);
    let version = match doc.pointer("/info/version") {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    root.remove("tags");
    root.remove("servers");
    root.insert(
        "info".to_owned(),
        json!({
            "title": CANONICAL_TITLE,
            "description": CANONICAL_DESCRIPTION,
            "version": version,
        }),
    );
    if let Some(components) = declare_basic_auth(root) {
        declare_replaced(components);
    }
    if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) {
                    canonical_operation(op);
                }
            }
        }
    }
    // Shared response definitions (an unknown operation's success may
    // refer to one) lose their prose too.
    if let Some(components) = root.get_mut("components").and_then(Value::as_object_mut) {
        for response in components
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|map| map.values_mut())
        {
            if let Some(map) = response.as_object_mut() {
                map.insert("description".to_owned(), json!(""));
            }
        }
    }
}

/// Declares every schema the facade supplies (see `REPLACED`); the
/// description's own definitions are pruned later (see `prune_replaced`).
fn declare_replaced(components: &mut Map<String, Value>) {
    let schemas = components
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(schemas) = schemas.as_object_mut() {
        for (name, _) in REPLACED {
            schemas
                .entry((*name).to_owned())
                .or_insert_with(|| json!({ "type": "object" }));
        }
    }
}

/// One operation's fixed responses and request body (see `canonical`).
fn canonical_operation(op: &mut Map<String, Value>) {
    let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
    let mut responses = Map::new();
    if let Some((_, status, success, request)) =
        KNOWN_OPERATIONS.iter().find(|(known, ..)| *known == id)
    {
        let mut ok = json!({ "description": "" });
        ok["content"] = match success {
            Some(schema) => json_body(schema),
            None => raw_body(),
        };
        responses.insert((*status).to_owned(), ok);
        if let Some(schema) = request {
            op.insert(
                "requestBody".to_owned(),
                json!({ "content": json_body(schema) }),
            );
        }
    } else if let Some(declared) = op.get("responses").and_then(Value::as_object) {
        for (code, response) in declared {
            if code.starts_with('2') {
                let mut response = response.clone();
                if let Some(map) = response.as_object_mut()
                    && !map.contains_key("$ref")
                {
                    map.insert("description".to_owned(), json!(""));
                }
                responses.insert(code.clone(), response);
            }
        }
    }
    let error = json!({ "description": "", "content": raw_body() });
    for range in ERROR_RANGES {
        responses.insert((*range).to_owned(), error.clone());
    }
    op.insert("responses".to_owned(), Value::Object(responses));
}

/// A JSON `content` map whose schema is the named component schema.
fn json_body(schema: &str) -> Value {
    json!({ "application/json": { "schema": schema_ref(schema) } })
}

/// A `content` map of raw bytes of any type (see `RAW_BODY`).
fn raw_body() -> Value {
    let mut content = Map::new();
    content.insert(RAW_BODY.to_owned(), json!({}));
    Value::Object(content)
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Drops the incidental keys (see `INCIDENTAL_KEYS`) and `x-` extensions
/// from every object of the description that is not a map of names or
/// data.
fn strip_incidental(value: &mut Value, parent: Option<&str>) {
    match value {
        Value::Object(map) => {
            let names = parent.is_some_and(|p| NAME_MAPS.contains(&p));
            if !names {
                map.retain(|key, _| {
                    !key.starts_with("x-") && !INCIDENTAL_KEYS.contains(&key.as_str())
                });
            }
            for (key, v) in map.iter_mut() {
                if names {
                    strip_incidental(v, None);
                } else if !DATA_KEYS.contains(&key.as_str()) {
                    strip_incidental(v, Some(key));
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                strip_incidental(v, None);
            }
        }
        _ => {}
    }
}

/// The extra steps before code generation only: the canonical form (see
/// `canonical`), then response enums become
/// plain strings (no response is ever decoded through a generated
/// exhaustive enum), and the schemas the facade supplies itself are pruned
/// with everything only they use. `order` is one of them, so its required
/// `redirect_url` never reaches the generated code: the facade's own type
/// has it optional.
pub fn for_generation(doc: &mut Value) {
    canonical(doc);
    open_response_enums(doc);
    let replaced: Vec<&str> = REPLACED.iter().map(|(schema, _)| *schema).collect();
    prune_replaced(doc, &replaced);
}

/// Turns every `enum` found in a schema reachable from a response into a
/// plain string schema. Request-only schemas keep their enums.
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
        for (_, op) in operations(item) {
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for response in responses.values() {
                let response = resolve(doc, response);
                if let Some(content) = response.and_then(|r| r.get("content")) {
                    collect_refs(content, &mut out);
                }
            }
        }
    }
    out
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
/// more: their sub-schemas would otherwise be generated without ever being
/// used.
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
            *schema = json!({ "type": "object" });
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
