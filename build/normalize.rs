//! Reading and normalizing an OpenAPI description, before code generation and
//! before any structural comparison.
//!
//! This file is shared: `build.rs`, the `update-spec` tool and the tests
//! include it with `#[path]`. It depends on `serde_json` and `serde_norway`.
//!
//! Klarna's published description has quirks that generators trip on; each
//! is handled here, in code, so that Klarna's file can be vendored
//! unmodified:
//! - it is YAML (JSON is accepted too), possibly with a UTF-8 byte-order
//!   mark and CRLF line endings, and may hold mis-encoded bytes;
//! - its prose holds C0 control characters (U+0018 and U+0019 where
//!   typographic quotes belong), which the YAML reader refuses: they are
//!   swapped for placeholders before parsing and resolved after it (see
//!   `shield_controls` and `resolve_controls`);
//! - it declares OpenAPI 3.0.0;
//! - most error responses declare no body while one declares a JSON body,
//!   and statuses differ from ours;
//! - it declares no security scheme and a single server;
//! - descriptions hold non-ASCII and mis-encoded characters;
//! - `order.redirect_url` is required although Klarna's own examples omit
//!   it, and statuses are plain strings while one response enum is closed:
//!   the facade's own types decode every response (see `for_generation`).
//!
//! Two documents come out of it. The *normalized* document (`load`) keeps
//! the description's structure and its real responses: the structural diff
//! and the drift guards read it. The *canonical form* (`for_generation`) is
//! what code generation sees: everything incidental (prose, examples,
//! extensions, the declared statuses and error bodies) is replaced by fixed
//! values, so that the generated code depends only on what the facade uses.

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

/// The first code point of the placeholders `shield_controls` writes: a
/// control character `c` (U+0000 to U+009F) becomes `PLACEHOLDER_BASE + c`,
/// in Supplementary Private Use Area-A, which the YAML reader accepts and
/// no description uses.
const PLACEHOLDER_BASE: u32 = 0xF_0000;

/// Whether a control character is one the YAML reader refuses in a file:
/// every C0 control except tab, LF and CR, U+007F, and every C1 control.
fn refused_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// The control character a placeholder stands for.
fn placeholder_of(c: char) -> Option<char> {
    let code = u32::from(c).checked_sub(PLACEHOLDER_BASE)?;
    char::from_u32(code).filter(|&control| refused_control(control))
}

/// Step one of text cleaning, before parsing: swaps every control character
/// the YAML reader refuses for a placeholder (see `PLACEHOLDER_BASE`).
/// A leading byte-order mark is dropped.
pub fn shield_controls(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.chars()
        .map(|c| {
            if refused_control(c) {
                char::from_u32(PLACEHOLDER_BASE + u32::from(c)).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// A control character or placeholder, as it stood in the file: a refused
/// control is read through its placeholder, and a control written as an
/// escape (`"\u0018"` in JSON, `"\x18"` in YAML) as itself.
fn control_in(c: char) -> Option<char> {
    placeholder_of(c).or(Some(c).filter(|&c| refused_control(c)))
}

/// Step two of text cleaning, after parsing. In prose (`description`,
/// `summary`, `title`, and every string under an `x-` extension)
/// U+0018/U+0019 become the typographic quotes U+2018/U+2019 they stand
/// for, and every other control character is removed. Anywhere else (a
/// name, an enum value, a pattern, a default, an example) a control
/// character makes the description unusable: the error names the JSON
/// pointer of the value.
pub fn resolve_controls(doc: &mut Value) -> Result<(), Unusable> {
    resolve_in(doc, &mut String::from("#"), Context::Structure)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Keys and values that describe the API.
    Structure,
    /// Under an `x-` extension: every string is prose.
    Extension,
    /// Under `example`, `examples`, `default`, `enum` or `const`: data.
    Data,
}

fn resolve_in(value: &mut Value, pointer: &mut String, context: Context) -> Result<(), Unusable> {
    match value {
        Value::String(text) => {
            if context == Context::Extension {
                *text = prose_without_controls(text);
                Ok(())
            } else {
                refuse_controls(text, pointer)
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                resolve_in(item, pointer, context)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                // The key itself is a name (or a status, a media type).
                if context != Context::Extension {
                    refuse_controls(&key, pointer)?;
                }
                let inner = if context != Context::Structure {
                    context
                } else if key.starts_with("x-") {
                    Context::Extension
                } else if DATA_KEYS.contains(&key.as_str()) {
                    Context::Data
                } else {
                    Context::Structure
                };
                match &mut v {
                    Value::String(text)
                        if context == Context::Structure && TEXT_KEYS.contains(&key.as_str()) =>
                    {
                        *text = prose_without_controls(text);
                    }
                    _ => resolve_in(&mut v, pointer, inner)?,
                }
                pointer.truncate(len);
                map.insert(key, v);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Prose with its control characters resolved: U+0018/U+0019 as the
/// quotes they stand for, the others removed.
fn prose_without_controls(text: &str) -> String {
    text.chars()
        .filter_map(|c| match control_in(c) {
            Some('\u{18}') => Some('\u{2018}'),
            Some('\u{19}') => Some('\u{2019}'),
            Some(_) => None,
            None => Some(c),
        })
        .collect()
}

fn refuse_controls(text: &str, pointer: &str) -> Result<(), Unusable> {
    match text.chars().find_map(control_in) {
        Some(control) => Err(Unusable(format!(
            "the control character U+{:04X} stands in a value that is not prose, at {pointer}",
            u32::from(control)
        ))),
        None => Ok(()),
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
    let mut references = Vec::new();
    local_refs(doc, &mut references);
    if let Some(dangling) = references.iter().find(|r| {
        r.strip_prefix('#')
            .is_none_or(|pointer| doc.pointer(pointer).is_none())
    }) {
        return Err(Unusable(format!(
            "it refers to {dangling}, which it does not define (is the file complete?)"
        )));
    }
    Ok(())
}

/// Every `$ref` that points into the document itself.
fn local_refs(value: &Value, out: &mut Vec<String>) {
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
    notes.extend(supply_security(doc));
    notes.extend(supply_servers(doc));
    let cleaned = clean_texts(doc);
    if cleaned > 0 {
        notes.push(format!("cleaned {cleaned} description(s) to plain ASCII"));
    }
    notes
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
    declare_basic_auth(root);
    vec!["declared HTTP Basic authentication".to_owned()]
}

/// Declares HTTP Basic as the one security scheme, used by every operation,
/// and returns the `components` object.
fn declare_basic_auth(root: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    root.insert("security".to_owned(), json!([{ "basicAuth": [] }]));
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()?;
    components.insert(
        "securitySchemes".to_owned(),
        json!({ "basicAuth": { "type": "http", "scheme": "basic" } }),
    );
    Some(components)
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

/// The fixed title and description of the canonical form.
pub const CANONICAL_TITLE: &str = "Customer Token API";
/// See `CANONICAL_TITLE`.
pub const CANONICAL_DESCRIPTION: &str =
    "Generated from the vendored description; see the crate's facade for documentation.";

/// The operations the facade calls, with their success status, the schema
/// of their success body (none for cancel's 202) and of their request body.
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

/// The schema every error body is decoded as (the facade's `ErrorBody`).
pub const ERROR_SCHEMA: &str = "ErrorV2";

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
/// - the servers and the security scheme are fixed;
/// - `summary`, `description` and `title` prose, `example(s)`, `x-`
///   extensions, `externalDocs` and `termsOfService` are dropped everywhere,
///   and top-level `tags`;
/// - every known operation (see `KNOWN_OPERATIONS`) answers with one fixed
///   set of responses: its success status with the facade's type (cancel's
///   202 without a body), and every error under the ranges `4XX` and `5XX`
///   with the error body (see `ERROR_RANGES`);
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
    root.insert(
        "info".to_owned(),
        json!({
            "title": CANONICAL_TITLE,
            "description": CANONICAL_DESCRIPTION,
            "version": version,
        }),
    );
    root.insert(
        "servers".to_owned(),
        SERVERS
            .iter()
            .map(|(url, _)| json!({ "url": url }))
            .collect(),
    );
    if let Some(components) = declare_basic_auth(root) {
        let schemas = components
            .entry("schemas")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(schemas) = schemas.as_object_mut() {
            // The facade supplies these types; the description's own
            // definitions are pruned later (see `prune_replaced`).
            for (name, _) in REPLACED {
                schemas
                    .entry((*name).to_owned())
                    .or_insert_with(|| json!({ "type": "object" }));
            }
        }
    }
    let error = json!({
        "description": "",
        "content": { "application/json": { "schema": schema_ref(ERROR_SCHEMA) } }
    });
    let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else {
                continue;
            };
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            let mut responses = Map::new();
            if let Some((_, status, success, request)) =
                KNOWN_OPERATIONS.iter().find(|(known, ..)| *known == id)
            {
                let mut ok = json!({ "description": "" });
                if let Some(schema) = success {
                    ok["content"] = json!({ "application/json": { "schema": schema_ref(schema) } });
                }
                responses.insert((*status).to_owned(), ok);
                if let Some(schema) = request {
                    op.insert(
                        "requestBody".to_owned(),
                        json!({ "content": { "application/json": { "schema": schema_ref(schema) } } }),
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
            for range in ERROR_RANGES {
                responses.insert((*range).to_owned(), error.clone());
            }
            op.insert("responses".to_owned(), Value::Object(responses));
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

/// Reads a file's bytes into a document, its text cleaned in both steps
/// (see `shield_controls` and `resolve_controls`), not yet checked or
/// normalized.
pub fn read(bytes: &[u8]) -> Result<Value, Unusable> {
    let mut doc = parse(&shield_controls(&decode_text(bytes)))?;
    resolve_controls(&mut doc)?;
    Ok(doc)
}

/// Reads, checks and normalizes a description from a file's bytes.
pub fn load(bytes: &[u8]) -> Result<Value, Unusable> {
    let mut doc = read(bytes)?;
    check(&doc)?;
    normalize(&mut doc);
    Ok(doc)
}
