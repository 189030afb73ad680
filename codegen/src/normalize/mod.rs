//! Reading and normalizing an OpenAPI description, before code generation and
//! before any structural comparison.
//!
//! The facade's `build.rs` (through `codegen`), its drift guards and the
//! `update-spec` tool all read descriptions through this module. It depends
//! on `serde_json` and `serde_norway` only.
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
//! - it declares no security scheme;
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
//!
//! Servers are left as the description declares them: the hosts are the
//! facade's (`Endpoint`), the generated client takes its base URL at run
//! time, and the drift guards check that every server a description
//! declares is one of the facade's hosts.
//!
//! Before any of this, the text is bounded (`prescan`): a file larger than
//! `MAX_BYTES`, or holding a YAML anchor or alias, or nested deeper than
//! `MAX_DEPTH`, is refused before the YAML reader sees it.
//!
//! The steps live in submodules by topic: the bounds (`prescan`), the text
//! of the file (`text`), references (`refs`) and the canonical form
//! (`canonical`); everything public is re-exported here.

mod canonical;
mod prescan;
mod refs;
mod text;

pub use canonical::{
    CANONICAL_DESCRIPTION, CANONICAL_TITLE, ERROR_RANGES, KNOWN_OPERATIONS, RAW_BODY, canonical,
    for_generation, open_response_enums, prune_replaced,
};
pub use prescan::{MAX_BYTES, MAX_DEPTH, prescan};
pub use refs::{collect_refs, reachable_schemas, resolve};
pub use text::{ascii_text, decode_text, resolve_controls, shield_controls};

use serde_json::{Map, Value, json};

/// Schemas whose Rust type is the facade's own: the request bodies and every
/// success body, so that responses decode into open types. Error bodies are
/// raw bytes in the canonical form (see `RAW_BODY`), read by the facade.
pub const REPLACED: &[(&str, &str)] = &[
    // The order as the call keeps it: serialized once (the facade's
    // `OrderRequest` is what callers build and validate).
    ("customer_token_order", "crate::order::OrderJson"),
    ("customer_token", "crate::token::TokenDetails"),
    ("order", "crate::order::OrderBody"),
    (
        "customer_token_status_update_request",
        "crate::token::CancelRequest",
    ),
];

/// Why a description cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses YAML (or JSON) into a JSON value, once `prescan` has bounded
/// the text (its size, anchors and aliases, nesting).
pub fn parse(text: &str) -> Result<Value, Unusable> {
    prescan(text)?;
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
    refs::local_refs(doc, &mut references);
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

/// The methods of OpenAPI 3.0 operations, in lowercase.
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
    let cleaned = text::clean_texts(doc);
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

/// Reads a file's bytes into a document, its text cleaned in both steps
/// (see `shield_controls` and `resolve_controls`), not yet checked or
/// normalized.
pub fn read(bytes: &[u8]) -> Result<Value, Unusable> {
    if bytes.len() > MAX_BYTES {
        return Err(prescan::too_large(bytes.len()));
    }
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

/// A description file's bytes, read only up to `MAX_BYTES`: a larger file
/// is refused without being read whole.
pub fn file_bytes(path: &std::path::Path) -> Result<Vec<u8>, Unusable> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| Unusable(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_BYTES {
        return Err(Unusable(format!(
            "{} is larger than {MAX_BYTES} bytes; descriptions of this API are about 20 KB",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The one loader of a description file: reads it (`file_bytes`), then
/// reads, checks and normalizes it (`load`). The facade's build script,
/// its drift guards and route-table test, and this crate's tests and tool
/// all read the vendored description through it, so that whatever reads in
/// the build (Latin-1 bytes, control characters) reads in the tests too.
pub fn load_file(path: &std::path::Path) -> Result<Value, Unusable> {
    load(&file_bytes(path)?)
}
