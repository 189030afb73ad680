//! Generates the private raw bindings from the vendored OpenAPI description.
//!
//! Whatever the vendored file is (this crate's own description or Klarna's
//! published one, unmodified), it is read, checked and normalized (see
//! `normalize` in `klarna-customer-token-codegen`), then handed to
//! progenitor (its `codegen`).
//! The result is written to `$OUT_DIR/generated.rs` and included by
//! `src/generated.rs`.
//!
//! When the description cannot be generated, the build fails with one
//! readable message instead of a panic backtrace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use klarna_customer_token_codegen::{codegen, normalize};

const SPEC: &str = "openapi/customer-token-v1.yaml";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
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
    // The one loader (bounded read, encoding, pre-scan, checks), as the
    // drift guards and every test read it.
    let doc = normalize::load_file(&manifest_dir.join(SPEC)).map_err(|e| e.0)?;
    let code = codegen::generate(&doc)?;
    write_if_changed(&out_dir.join("generated.rs"), &code)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
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
