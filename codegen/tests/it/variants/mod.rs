//! A family of variants of the vendored description, built programmatically
//! from `openapi/customer-token-v1.yaml`: each variant alone and every
//! combination of two must normalize and generate byte-identical code (the
//! string `build.rs` writes), and the refused variants must be refused,
//! alone and combined with every accepted one.
//!
//! No variant is compiled: generation is a pure function of the canonical
//! form (`codegen::prepare`), so the code of each variant is generated once
//! per distinct canonical form and compared byte for byte; every variant
//! and every pair is normalized and canonicalized itself.
//!
//! Every single variant (and every refused one) also goes through the
//! `update-spec` tool on a temporary copy of the crate, with the test step
//! off.

mod family;
mod tool;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use klarna_customer_token_codegen::{codegen, normalize};
use serde_json::{Map, Value, json};

use family::{accepted, refused};

/// The facade's folder (the workspace root), which vendors the description.
const FACADE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

const VENDORED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../openapi/customer-token-v1.yaml"
);

type Edit = Box<dyn Fn(&mut Value) + Send + Sync>;
type TextEdit = Box<dyn Fn(Vec<u8>) -> Vec<u8> + Send + Sync>;

/// When a text edit runs: content first, then line endings, then the
/// byte-order mark.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Content,
    LineEndings,
    ByteOrderMark,
}

struct Variant {
    name: String,
    edit: Option<Edit>,
    text: Option<(Stage, TextEdit)>,
    json: bool,
}

impl Variant {
    fn edit(name: impl Into<String>, edit: impl Fn(&mut Value) + Send + Sync + 'static) -> Self {
        Variant {
            name: name.into(),
            edit: Some(Box::new(edit)),
            text: None,
            json: false,
        }
    }

    fn text(
        name: impl Into<String>,
        stage: Stage,
        edit: impl Fn(Vec<u8>) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        Variant {
            name: name.into(),
            edit: None,
            text: Some((stage, Box::new(edit))),
            json: false,
        }
    }

    /// A variant that writes `bytes` into prose: a marker is put into the
    /// description's title and into the first schema description (as
    /// values), then replaced by the raw bytes in the file's text.
    fn prose_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        let name = name.into();
        let marker = marker_for(&name);
        let m = marker.clone();
        Variant {
            name,
            edit: Some(Box::new(move |doc| mark_prose(doc, &m))),
            text: Some((
                Stage::Content,
                Box::new(move |text| replace(&text, marker.as_bytes(), &bytes)),
            )),
            json: false,
        }
    }

    /// A variant that writes `bytes` into the value at `pointer` (which must
    /// be a string): refused, since it is not prose.
    fn value_bytes(name: impl Into<String>, pointer: &'static str, bytes: Vec<u8>) -> Self {
        let name = name.into();
        let marker = marker_for(&name);
        let m = marker.clone();
        Variant {
            name,
            edit: Some(Box::new(move |doc| {
                let value = doc.pointer_mut(pointer).expect("the value exists");
                let text = value.as_str().expect("a string").to_owned();
                *value = json!(format!("{}{m}{}", &text[..1], &text[1..]));
            })),
            text: Some((
                Stage::Content,
                Box::new(move |text| replace(&text, marker.as_bytes(), &bytes)),
            )),
            json: false,
        }
    }
}

/// A marker unique to a variant, plain enough to stay as it is in YAML and
/// JSON.
fn marker_for(name: &str) -> String {
    let digest: u64 = name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("qqmark{digest:x}qq")
}

fn replace(text: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    let mut replaced = 0;
    while i < text.len() {
        if text[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
            replaced += 1;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    assert!(replaced > 0, "the marker is in the text");
    out
}

fn mark_prose(doc: &mut Value, marker: &str) {
    let title = doc["info"]["title"].as_str().unwrap_or("API").to_owned();
    doc["info"]["title"] = json!(format!("{title} {marker}s"));
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("schemas");
    // A schema's own description (added when the file declares none: the
    // marker must stand somewhere in a schema's prose).
    let first = schemas.values_mut().next().expect("a schema");
    let text = first["description"].as_str().unwrap_or("").to_owned();
    first["description"] = json!(format!("{marker} {text}"));
    // And prose that progenitor would write into doc comments: operation
    // summaries and descriptions, parameter and response descriptions.
    let append = |map: &mut Map<String, Value>, key: &str| {
        let text = map
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("Text")
            .to_owned();
        map.insert(key.to_owned(), json!(format!("{text} {marker}")));
    };
    for op in operations(doc) {
        append(op, "summary");
        append(op, "description");
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
            .filter(|p| !p.contains_key("$ref"))
        {
            append(p, "description");
        }
        for r in responses(op).values_mut().filter_map(Value::as_object_mut) {
            append(r, "description");
        }
    }
    if let Some(params) = doc
        .pointer_mut("/components/parameters")
        .and_then(Value::as_object_mut)
    {
        params
            .values_mut()
            .filter_map(Value::as_object_mut)
            .for_each(|p| append(p, "description"));
    }
}

// ---------------------------------------------------------------------------
// Walking the description
// ---------------------------------------------------------------------------

/// Every operation object.
fn operations(doc: &mut Value) -> Vec<&mut Map<String, Value>> {
    let mut out = Vec::new();
    for item in doc["paths"].as_object_mut().expect("paths").values_mut() {
        for (method, op) in item.as_object_mut().expect("path item").iter_mut() {
            if normalize::operations(&json!({ method.clone(): {} })).is_empty() {
                continue;
            }
            if let Some(op) = op.as_object_mut() {
                out.push(op);
            }
        }
    }
    out
}

fn operation<'a>(doc: &'a mut Value, id: &str) -> &'a mut Map<String, Value> {
    operations(doc)
        .into_iter()
        .find(|op| op["operationId"] == id)
        .unwrap_or_else(|| panic!("no operation {id}"))
}

fn responses(op: &mut Map<String, Value>) -> &mut Map<String, Value> {
    op.get_mut("responses")
        .and_then(Value::as_object_mut)
        .expect("responses")
}

fn is_error(code: &str) -> bool {
    !code.starts_with('2')
}

fn error_body() -> Value {
    json!({ "application/json": { "schema": { "$ref": "#/components/schemas/ErrorV2" } } })
}

fn remove_error_bodies(op: &mut Map<String, Value>) {
    for (code, response) in responses(op).iter_mut() {
        if is_error(code)
            && let Some(r) = response.as_object_mut()
        {
            r.remove("content");
        }
    }
}

/// Calls `f` on every schema object (component schemas, their properties
/// and items, parameter and media-type schemas).
fn each_schema(doc: &mut Value, f: &dyn Fn(&mut Map<String, Value>)) {
    fn walk(value: &mut Value, f: &dyn Fn(&mut Map<String, Value>)) {
        let Some(map) = value.as_object_mut() else {
            return;
        };
        f(map);
        if let Some(props) = map.get_mut("properties").and_then(Value::as_object_mut) {
            props.values_mut().for_each(|p| walk(p, f));
        }
        if let Some(items) = map.get_mut("items") {
            walk(items, f);
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.values_mut().for_each(|s| walk(s, f));
    }
    for op in operations(doc) {
        if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
            for p in params {
                if let Some(schema) = p.get_mut("schema") {
                    walk(schema, f);
                }
            }
        }
    }
}

/// Calls `f` on every object a description lets carry extensions: the
/// root, `info`, path items, operations, parameters, request bodies,
/// responses, media types, servers, components and schemas.
fn each_extensible(doc: &mut Value, f: &dyn Fn(&mut Map<String, Value>)) {
    f(doc.as_object_mut().expect("root"));
    if let Some(info) = doc["info"].as_object_mut() {
        f(info);
    }
    if let Some(servers) = doc.get_mut("servers").and_then(Value::as_array_mut) {
        servers
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(f);
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        f(components);
    }
    for item in doc["paths"].as_object_mut().expect("paths").values_mut() {
        if let Some(item) = item.as_object_mut() {
            f(item);
        }
    }
    for op in operations(doc) {
        f(op);
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(p) = p.as_object_mut()
                && !p.contains_key("$ref")
            {
                f(p);
            }
        }
        if let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) {
            f(body);
        }
        for response in responses(op).values_mut() {
            let Some(response) = response.as_object_mut() else {
                continue;
            };
            for media in response
                .get_mut("content")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|c| c.values_mut())
            {
                if let Some(media) = media.as_object_mut() {
                    f(media);
                }
            }
            f(response);
        }
    }
    each_schema(doc, &|schema| {
        if !schema.contains_key("$ref") {
            f(schema);
        }
    });
}

/// The file of a combination of variants.
fn build(base: &Value, variants: &[&Variant]) -> Vec<u8> {
    let mut doc = base.clone();
    for v in variants {
        if let Some(edit) = &v.edit {
            edit(&mut doc);
        }
    }
    let mut text = if variants.iter().any(|v| v.json) {
        serde_json::to_vec_pretty(&doc).expect("serializes")
    } else {
        serde_norway::to_string(&doc)
            .expect("serializes")
            .into_bytes()
    };
    let mut edits: Vec<&(Stage, TextEdit)> =
        variants.iter().filter_map(|v| v.text.as_ref()).collect();
    edits.sort_by_key(|(stage, _)| *stage);
    for (_, edit) in edits {
        text = edit(text);
    }
    text
}

struct Family {
    base: Value,
    expected: String,
    /// Generated code by canonical form.
    codes: Mutex<HashMap<String, Result<String, String>>>,
}

impl Family {
    fn new() -> Self {
        // The one loader, as build.rs reads the file.
        let doc =
            normalize::load_file(Path::new(VENDORED)).expect("the vendored description loads");
        let bytes = normalize::file_bytes(Path::new(VENDORED)).expect("the vendored description");
        let expected = codegen::generate(&doc).expect("it generates");
        let base = normalize::read(&bytes).expect("it reads");
        Family {
            base,
            expected,
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// The code `build.rs` would write for these bytes.
    fn code(&self, bytes: &[u8]) -> Result<String, String> {
        let doc = normalize::load(bytes).map_err(|e| e.0)?;
        let prepared = codegen::prepare(&doc);
        let key = serde_json::to_string(&prepared).expect("serializes");
        if let Some(code) = self.codes.lock().expect("lock").get(&key) {
            return code.clone();
        }
        let code = codegen::generate_prepared(prepared);
        self.codes.lock().expect("lock").insert(key, code.clone());
        code
    }

    fn assert_same_code(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        match self.code(bytes) {
            Ok(code) if code == self.expected => Ok(()),
            Ok(code) => Err(format!(
                "{name}: the generated code differs:\n{}",
                first_difference(&self.expected, &code)
            )),
            Err(e) => Err(format!("{name}: {e}")),
        }
    }
}

fn first_difference(a: &str, b: &str) -> String {
    a.lines()
        .zip(b.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| format!("line {}: {x:?} / {y:?}", i + 1))
        .unwrap_or_else(|| "the lengths differ".to_owned())
}

/// Runs `f` on every item, on as many threads as there are cores, and
/// returns every error.
fn in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> Result<(), String> + Sync) -> Vec<String> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(|| {
                    chunk
                        .iter()
                        .filter_map(|item| f(item).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker finished"))
            .collect()
    })
}

#[test]
fn the_family_is_what_the_issue_lists() {
    let names: Vec<String> = accepted().into_iter().map(|v| v.name).collect();
    // 28 C0 controls, U+007F and 32 C1 controls, one variant each.
    assert_eq!(
        names
            .iter()
            .filter(|n| n.ends_with(" in prose") && n.starts_with("U+"))
            .count(),
        61
    );
    for expected in [
        "no error bodies at all",
        "a 202 with a body",
        "an extra 503 without a body",
        "the JSON form",
        "a UTF-8 byte-order mark",
        "CRLF line endings",
        "openapi 3.0.0",
        "no servers",
        "no securitySchemes",
        "statuses as plain strings",
        "redirect_url required",
        "x- extensions everywhere",
        "externalDocs everywhere",
        "examples everywhere",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}");
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "names are unique");
}

/// The re-serialized description itself generates the code, and so does
/// each variant.
#[test]
fn every_variant_alone_generates_the_same_code() {
    let family = Family::new();
    let plain = build(&family.base, &[]);
    family
        .assert_same_code("the description re-serialized", &plain)
        .unwrap();
    let variants = accepted();
    let errors = in_parallel(&variants, |v| {
        family.assert_same_code(&v.name, &build(&family.base, &[v]))
    });
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Every combination of two variants, none skipped.
#[test]
fn every_pair_of_variants_generates_the_same_code() {
    let started = std::time::Instant::now();
    let family = Family::new();
    let variants = accepted();
    let pairs: Vec<(usize, usize)> = (0..variants.len())
        .flat_map(|i| (i + 1..variants.len()).map(move |j| (i, j)))
        .collect();
    assert_eq!(pairs.len(), variants.len() * (variants.len() - 1) / 2);
    let errors = in_parallel(&pairs, |&(i, j)| {
        let (a, b) = (&variants[i], &variants[j]);
        let bytes = build(&family.base, &[a, b]);
        family.assert_same_code(&format!("{} + {}", a.name, b.name), &bytes)
    });
    assert!(
        errors.is_empty(),
        "{} pair(s) failed:\n{}",
        errors.len(),
        errors.join("\n")
    );
    println!(
        "{} variants, {} pairs, {} distinct canonical form(s), in {:?}",
        variants.len(),
        pairs.len(),
        family.codes.lock().expect("lock").len(),
        started.elapsed()
    );
}

/// Removing every error body changes nothing either way round: the
/// generated code depends on no error body at all.
#[test]
fn error_bodies_never_reach_the_generated_code() {
    let family = Family::new();
    let mut doc = family.base.clone();
    operations(&mut doc)
        .into_iter()
        .for_each(remove_error_bodies);
    for op in operations(&mut doc) {
        for (code, response) in responses(op).iter() {
            assert!(!is_error(code) || response.get("content").is_none());
        }
    }
    let bytes = serde_norway::to_string(&doc).expect("serializes");
    family
        .assert_same_code("no error bodies", bytes.as_bytes())
        .unwrap();
    // And a changed error schema does not reach it.
    doc["components"]["schemas"]["ErrorV2"] = json!({ "type": "string" });
    let bytes = serde_norway::to_string(&doc).expect("serializes");
    family
        .assert_same_code("ErrorV2 a string", bytes.as_bytes())
        .unwrap();
}

/// The comparison is not vacuous: a real version change changes the code.
#[test]
fn a_version_change_does_change_the_generated_code() {
    let family = Family::new();
    let mut doc = family.base.clone();
    doc["info"]["version"] = json!("9.9.9");
    let bytes = serde_norway::to_string(&doc).expect("serializes");
    let code = family.code(bytes.as_bytes()).expect("generates");
    assert_ne!(code, family.expected);
    assert!(code.contains("\"9.9.9\""));
}

#[test]
fn refused_variants_are_refused_alone_and_in_every_combination() {
    let family = Family::new();
    let accepted = accepted();
    let refused = refused();
    let mut cases = Vec::new();
    for (r, reason) in &refused {
        cases.push((vec![r], *reason));
        for a in &accepted {
            // The refused edit last, so that it wins over an accepted one
            // touching the same field (such as `openapi 3.0.0`).
            cases.push((vec![a, r], *reason));
        }
    }
    let errors = in_parallel(&cases, |(combination, reason)| {
        let name: Vec<&str> = combination.iter().map(|v| v.name.as_str()).collect();
        let bytes = build(&family.base, combination);
        match normalize::load(&bytes) {
            Ok(_) => Err(format!("{}: accepted", name.join(" + "))),
            Err(e) if e.0.contains(reason) && !e.0.contains('\n') => Ok(()),
            Err(e) => Err(format!("{}: {e}", name.join(" + "))),
        }
    });
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
