//! Code generation with progenitor (feature `generate`), run by the
//! facade's `build.rs` and by the `update-spec` tool (which uses it to
//! prove a new description can be generated before vendoring it).
//!
//! It depends on `progenitor_impl`, `openapiv3`, `syn`, `prettyplease` and
//! the `normalize` module. What it writes is what progenitor generates from
//! the canonical form, only formatted: the facade extends the generated
//! client through progenitor's own settings (below: the replaced types, the
//! inner type, hooks that must be implemented) and its `ClientHooks` impl,
//! never by rewriting the output.

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

/// The generated client's inner value: each attempt of a call gets a
/// generated client of its own, whose inner value tells the `exec` hook what
/// the attempt is (see the facade's `transport` module).
pub const INNER_TYPE: &str = "crate::transport::Attempt";

/// Every setting the facade's bindings are generated with: positional
/// methods, one client, the facade's own types for every body
/// (`normalize::REPLACED`), the per-attempt inner value ([`INNER_TYPE`]), and
/// hooks the facade must implement (`HooksMode::Expected`: a missing
/// `ClientHooks` impl is a compile error, not a silent default).
///
/// # Errors
/// When the inner type does not parse, which its fixed text rules out.
pub fn settings() -> Result<progenitor_impl::GenerationSettings, String> {
    let mut settings = progenitor_impl::GenerationSettings::new();
    settings
        .with_interface(progenitor_impl::InterfaceStyle::Positional)
        .with_tag(progenitor_impl::TagStyle::Merged)
        .with_inner_type(
            INNER_TYPE
                .parse()
                .map_err(|e| format!("internal: bad inner type: {e}"))?,
        )
        .with_hooks(progenitor_impl::HooksMode::Expected);
    for (schema, rust_type) in normalize::REPLACED {
        settings.with_replacement(pascal_case(schema), rust_type, std::iter::empty());
    }
    Ok(settings)
}

/// Generates the formatted bindings from a prepared description (see
/// `prepare`): progenitor's output with [`settings`], formatted and nothing
/// else.
pub fn generate_prepared(doc: Value) -> Result<String, String> {
    let spec: openapiv3::OpenAPI = serde_json::from_value(doc)
        .map_err(|e| format!("it is not a valid OpenAPI 3.0 description: {e}"))?;
    let settings = settings()?;
    let mut generator = progenitor_impl::Generator::new(&settings);
    let tokens = run_quietly(move || generator.generate_tokens(&spec))?
        .map_err(|e| format!("progenitor rejected it: {e}"))?;
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("internal: the generated code does not parse: {e}"))?;
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
