//! Generates the private raw bindings from the vendored OpenAPI description.
//!
//! The description in `openapi/` is read as YAML, normalized (see
//! `build/normalize.rs`) and handed to progenitor. The result is written to
//! `$OUT_DIR/generated.rs` and included by `src/generated.rs`.
//!
//! When the description cannot be generated, the build fails with one
//! readable message instead of a panic backtrace.

#[path = "build/normalize.rs"]
#[allow(dead_code)]
mod normalize;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SPEC: &str = "openapi/customer-token-v1.yaml";

/// Schemas whose Rust type is the facade's own: the request body and every
/// response body, so that responses decode into open types.
const REPLACED: &[(&str, &str)] = &[
    ("customer_token_order", "crate::order::OrderRequest"),
    ("customer_token", "crate::token::TokenDetails"),
    ("order", "crate::order::OrderBody"),
    ("ErrorV2", "crate::error::ErrorBody"),
];

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build/normalize.rs");
    println!("cargo:rerun-if-changed=build.rs");
    emit_rustc_version();

    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo prints a build script's stderr when it fails; keep it to
            // one readable message.
            eprintln!("error: cannot generate the Customer Token bindings from {SPEC}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let text = std::fs::read_to_string(manifest_dir.join(SPEC))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let code = generate_code(&text)?;
    write_if_changed(&out_dir.join("generated.rs"), &code)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// YAML text in, formatted Rust source out.
fn generate_code(text: &str) -> Result<String, String> {
    let mut doc: serde_json::Value =
        serde_norway::from_str(text).map_err(|e| format!("it is not valid YAML: {e}"))?;
    let version = doc
        .get("openapi")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    if !version.starts_with("3.0.") {
        return Err(format!(
            "it declares OpenAPI {version:?}, but only OpenAPI 3.0.x is supported"
        ));
    }
    normalize::open_response_enums(&mut doc);
    let replaced: Vec<&str> = REPLACED.iter().map(|(schema, _)| *schema).collect();
    normalize::prune_replaced(&mut doc, &replaced);
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc)
        .map_err(|e| format!("it is not a valid OpenAPI 3.0 description: {e}"))?;

    let mut settings = progenitor_impl::GenerationSettings::new();
    settings
        .with_interface(progenitor_impl::InterfaceStyle::Positional)
        .with_tag(progenitor_impl::TagStyle::Merged)
        .with_inner_type(
            "std::sync::Arc<crate::transport::CallContext>"
                .parse()
                .map_err(|e| format!("internal: bad inner type: {e}"))?,
        )
        .with_hooks(progenitor_impl::HooksMode::Expected);
    for (schema, rust_type) in REPLACED {
        settings.with_replacement(pascal_case(schema), rust_type, std::iter::empty());
    }

    let mut generator = progenitor_impl::Generator::new(&settings);
    let tokens = run_quietly(move || generator.generate_tokens(&spec))?
        .map_err(|e| format!("progenitor rejected it: {e}"))?;
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("internal: generated code does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// `customer_token_order` -> `CustomerTokenOrder`, as typify names types.
fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Runs `f`, turning a panic inside the generator into an error message
/// rather than a backtrace.
fn run_quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    result.map_err(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no detail".to_owned());
        format!("the generator failed on it ({detail})")
    })
}

fn write_if_changed(path: &Path, code: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == code) {
        return Ok(());
    }
    std::fs::write(path, code).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Makes the compiler version available to the `User-Agent` header.
fn emit_rustc_version() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KCT_RUSTC_VERSION={version}");
}
