//! Code generation with progenitor (feature `generate`), run by the
//! facade's `build.rs` and by the `update-spec` tool (which uses it to
//! prove a new description can be generated before vendoring it).
//!
//! It depends on `progenitor_impl`, `openapiv3`, `syn`, `prettyplease` and
//! the `normalize` module. Its output passes through [`lean`], which builds
//! each request's URL on a path prefix the client parses once, drops a
//! header Klarna does not know and makes header names constants.

pub mod lean;

use serde_json::Value;

use crate::normalize;

/// Generates the formatted bindings from a normalized description: the
/// string `build.rs` writes.
pub fn generate(doc: &Value) -> Result<String, String> {
    generate_prepared(prepare(doc))
}

/// What generation sees: the canonical form of a normalized description
/// (see `normalize::for_generation`). `generate` is a function of it alone.
pub fn prepare(doc: &Value) -> Value {
    let mut doc = doc.clone();
    normalize::for_generation(&mut doc);
    doc
}

/// Generates the formatted bindings from a prepared description (see
/// `prepare`).
pub fn generate_prepared(doc: Value) -> Result<String, String> {
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
    for (schema, rust_type) in normalize::REPLACED {
        settings.with_replacement(pascal_case(schema), rust_type, std::iter::empty());
    }

    let mut generator = progenitor_impl::Generator::new(&settings);
    let tokens = run_quietly(move || generator.generate_tokens(&spec))?
        .map_err(|e| format!("progenitor rejected it: {e}"))?;
    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("internal: the generated code does not parse: {e}"))?;
    // What is not rewritten stays as progenitor wrote it (see `lean`).
    lean::lean(&mut file)?;
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
    // The panic hook is process-wide: one caller at a time swaps it.
    static HOOK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = HOOK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
