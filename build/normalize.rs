//! Reading and normalizing an OpenAPI description, before code generation and
//! before any structural comparison.
//!
//! This file is shared: `build.rs`, the `update-spec` tool and the tests
//! include it with `#[path]`. It depends on `serde_json` and `serde_norway`.
//!
//! Klarna's published description has quirks that generators trip on; each
//! is handled here, in code, so that Klarna's file can be vendored
//! unmodified:
//! - it is YAML (JSON is accepted too), and may hold mis-encoded bytes;
//! - it declares OpenAPI 3.0.0;
//! - most error responses declare no body while one declares a JSON body
//!   (progenitor panics on such a mix);
//! - it declares no security scheme and a single server;
//! - descriptions hold non-ASCII and mis-encoded characters;
//! - `order.redirect_url` is required although Klarna's own examples omit
//!   it, and statuses are plain strings while one response enum is closed:
//!   the facade's own types decode every response (see `for_generation`).

use serde_json::{Map, Value, json};

/// Schemas whose Rust type is the facade's own: the request bodies and every
/// response body, so that responses decode into open types.
pub const REPLACED: &[(&str, &str)] = &[
    ("customer_token_order", "crate::order::OrderRequest"),
    ("customer_token", "crate::token::TokenDetails"),
    ("order", "crate::order::OrderBody"),
    ("ErrorV2", "crate::error::ErrorBody"),
    (
        "customer_token_status_update_request",
        "crate::token::CancelRequest",
    ),
];

/// Every host that serves the API; supplied when a description lacks one.
pub const SERVERS: &[(&str, &str)] = &[
    ("https://api.klarna.com", "Klarna live, Europe"),
    ("https://api-na.klarna.com", "Klarna live, North America"),
    ("https://api-oc.klarna.com", "Klarna live, Oceania"),
    (
        "https://api.playground.klarna.com",
        "Klarna playground, Europe",
    ),
    (
        "https://api-na.playground.klarna.com",
        "Klarna playground, North America",
    ),
    (
        "https://api-oc.playground.klarna.com",
        "Klarna playground, Oceania",
    ),
    ("https://api.kustom.co", "Kustom live"),
    ("https://api.playground.kustom.co", "Kustom playground"),
];

/// Why a description cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes a file's bytes as text: UTF-8 when valid, otherwise Windows-1252
/// (how mis-encoded descriptions are usually produced), so that a stray
/// byte in a description never makes the whole file unreadable.
pub fn decode_text(bytes: &[u8]) -> String {
    // Valid UTF-8 stays as it is; only the bytes that are not valid UTF-8
    // are read as Windows-1252.
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len());
                out.extend(after[..bad].iter().map(|&b| windows_1252(b)));
                rest = &after[bad..];
            }
        }
    }
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        other => char::from(other),
    }
}

/// Parses YAML (or JSON) into a JSON value.
pub fn parse(text: &str) -> Result<Value, Unusable> {
    let value: Value = serde_norway::from_str(text)
        .map_err(|e| Unusable(format!("it cannot be parsed as YAML or JSON: {e}")))?;
    if !value.is_object() {
        return Err(Unusable(
            "it is not an OpenAPI document (not a mapping)".to_owned(),
        ));
    }
    Ok(value)
}

/// Checks what no normalization can repair: the OpenAPI version and the
/// operation ids.
pub fn check(doc: &Value) -> Result<(), Unusable> {
    let version = match doc.get("openapi") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None if doc.get("swagger").is_some() => {
            return Err(Unusable(
                "it is a Swagger 2.0 document; only OpenAPI 3.0.x is supported".to_owned(),
            ));
        }
        None => return Err(Unusable("it has no `openapi` version field".to_owned())),
    };
    if !version.starts_with("3.0.") && version != "3.0" {
        return Err(Unusable(format!(
            "it declares OpenAPI {version}; only OpenAPI 3.0.x is supported"
        )));
    }
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Err(Unusable("it has no `paths`".to_owned()));
    };
    let mut missing = Vec::new();
    for (path, item) in paths {
        for (method, op) in operations(item) {
            if op.get("operationId").and_then(Value::as_str).is_none() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    if !missing.is_empty() {
        return Err(Unusable(format!(
            "these operations have no operationId: {}",
            missing.join(", ")
        )));
    }
    Ok(())
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The operations of a path item, with their lowercase methods.
pub fn operations(item: &Value) -> Vec<(&'static str, &Value)> {
    METHODS
        .iter()
        .filter_map(|m| item.get(*m).map(|op| (*m, op)))
        .collect()
}

/// Brings a usable description into the shape the rest of the crate
/// expects, without changing the API's structure (operations, parameters,
/// schemas, properties, required-ness, constraints). Returns a line per
/// change made.
pub fn normalize(doc: &mut Value) -> Vec<String> {
    let mut notes = Vec::new();
    if doc.get("openapi").and_then(Value::as_str) != Some("3.0.3") {
        doc["openapi"] = json!("3.0.3");
        notes.push("declared OpenAPI 3.0.3".to_owned());
    }
    notes.extend(unify_error_bodies(doc));
    notes.extend(supply_security(doc));
    notes.extend(supply_servers(doc));
    let cleaned = clean_texts(doc);
    if cleaned > 0 {
        notes.push(format!("cleaned {cleaned} description(s) to plain ASCII"));
    }
    notes
}

/// Gives every error response of an operation the same kind of body: when
/// some declare a JSON body and others none, the bodyless ones get the
/// same JSON body, since the facade reads every error body itself.
fn unify_error_bodies(doc: &mut Value) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return notes;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(responses) = item
                .get_mut(*method)
                .and_then(|op| op.get_mut("responses"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let is_error = |code: &str| !code.starts_with('2') && code != "default";
            let body = responses
                .iter()
                .filter(|(code, _)| is_error(code))
                .find_map(|(_, r)| r.get("content").filter(|c| !is_empty(c)).cloned());
            let Some(body) = body else { continue };
            for (code, response) in responses.iter_mut() {
                if is_error(code)
                    && response.get("$ref").is_none()
                    && response.get("content").is_none_or(is_empty)
                    && let Some(map) = response.as_object_mut()
                {
                    map.insert("content".to_owned(), body.clone());
                    notes.push(format!(
                        "gave the {code} answer of {} {path} the JSON error body of its other errors",
                        method.to_uppercase()
                    ));
                }
            }
        }
    }
    notes
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

fn supply_security(doc: &mut Value) -> Vec<String> {
    let has_scheme = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if has_scheme {
        return Vec::new();
    }
    let Some(root) = doc.as_object_mut() else {
        return Vec::new();
    };
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(components) = components.as_object_mut() {
        components.insert(
            "securitySchemes".to_owned(),
            json!({ "basicAuth": { "type": "http", "scheme": "basic" } }),
        );
    }
    root.insert("security".to_owned(), json!([{ "basicAuth": [] }]));
    vec!["declared HTTP Basic authentication".to_owned()]
}

fn supply_servers(doc: &mut Value) -> Vec<String> {
    let present: Vec<String> = doc
        .get("servers")
        .and_then(Value::as_array)
        .map(|servers| {
            servers
                .iter()
                .filter_map(|s| s.get("url").and_then(Value::as_str))
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&(&str, &str)> = SERVERS
        .iter()
        .filter(|(url, _)| !present.iter().any(|p| p == url))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let Some(root) = doc.as_object_mut() else {
        return Vec::new();
    };
    let servers = root
        .entry("servers")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = servers.as_array_mut() {
        for (url, description) in &missing {
            list.push(json!({ "url": url, "description": description }));
        }
    }
    vec![format!("listed {} more server(s)", missing.len())]
}

/// Keys whose values are prose.
const TEXT_KEYS: &[&str] = &["description", "summary", "title"];

/// Keys whose values are data, never prose, whatever keys they hold.
const DATA_KEYS: &[&str] = &["example", "examples", "default", "enum", "const"];

/// Rewrites prose to plain ASCII: typographic and mis-encoded characters
/// become their ASCII equivalents, anything else non-ASCII is dropped.
/// Returns how many texts changed.
fn clean_texts(value: &mut Value) -> usize {
    let mut changed = 0;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if TEXT_KEYS.contains(&key.as_str())
                    && let Value::String(text) = v
                {
                    let clean = ascii_text(text);
                    if clean != *text {
                        *text = clean;
                        changed += 1;
                    }
                } else if !DATA_KEYS.contains(&key.as_str()) {
                    changed += clean_texts(v);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                changed += clean_texts(v);
            }
        }
        _ => {}
    }
    changed
}

/// Mis-encodings of UTF-8 read as Windows-1252, and their meaning.
/// Longer sequences come first, so that a prefix never wins.
const MOJIBAKE: &[(&str, &str)] = &[
    ("â€™", "'"),
    ("â€˜", "'"),
    ("â€œ", "\""),
    ("â€\u{9d}", "\""),
    ("â€“", "-"),
    ("â€”", "-"),
    ("â€¦", "..."),
    ("â€", "\""),
    ("Â ", " "),
    ("Â", ""),
];

/// A text in plain ASCII.
pub fn ascii_text(text: &str) -> String {
    let mut text = text.to_owned();
    for (bad, good) in MOJIBAKE {
        if text.contains(bad) {
            text = text.replace(bad, good);
        }
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_ascii() => out.push(c),
            '‘' | '’' | '‚' | '′' => out.push('\''),
            '“' | '”' | '„' | '″' => out.push('"'),
            '–' | '—' | '−' => out.push('-'),
            '…' => out.push_str("..."),
            '\u{a0}' | '\u{2002}'..='\u{200a}' => out.push(' '),
            '€' => out.push_str("EUR"),
            '×' => out.push('x'),
            _ => {}
        }
    }
    out
}

/// The extra steps before code generation only: response enums become
/// plain strings (no response is ever decoded through a generated
/// exhaustive enum), and the schemas the facade supplies itself are pruned
/// with everything only they use. `order` is one of them, so its required
/// `redirect_url` never reaches the generated code: the facade's own type
/// has it optional.
pub fn for_generation(doc: &mut Value) {
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

/// Reads, checks and normalizes a description from a file's bytes.
pub fn load(bytes: &[u8]) -> Result<Value, Unusable> {
    let mut doc = parse(&decode_text(bytes))?;
    check(&doc)?;
    normalize(&mut doc);
    Ok(doc)
}
