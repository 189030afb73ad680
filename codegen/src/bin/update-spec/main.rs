//! Brings a new version of the API description into the crate.
//!
//! ```text
//! scripts/update-spec path/to/new-description.yaml
//! scripts/update-spec --from-url https://example.com/customer-token.yaml
//! scripts/update-spec --from-source            # the URL in openapi/SOURCE.toml
//! scripts/update-spec --from-source --check    # is the vendored file current?
//! ```
//!
//! 1. Reads the file (or downloads it, under one deadline for the whole
//!    download and following no redirect: a failed or timed-out download, a
//!    redirect, an HTML page, an error status, a body over the size limit
//!    or a cut-short body is refused). URLs are shown without user info or
//!    query, here and in the pull-request body.
//! 2. Checks it: at most 1 MiB, no YAML anchor or alias, nesting at most 64
//!    levels deep (all before parsing); it must parse (YAML or JSON), be OpenAPI 3.0.x, give every
//!    operation an operationId, hold control characters only in prose, and
//!    be generable by progenitor after normalization. An unusable file is
//!    refused with a one-line reason, and the vendored description stays
//!    exactly as it was.
//! 3. Prints the changes against the vendored description: version,
//!    operations, parameters, responses, schemas, fields, required-ness,
//!    constraints, and whether the generated code changes.
//! 4. Vendors the file, unmodified, atomically, and records its sha256 in
//!    `openapi/SOURCE.toml`.
//! 5. Builds the crate and runs the drift guards and the whole test suite,
//!    and prints a verdict that tells apart a crate that does not compile
//!    (with the first compiler error), failing drift guards, and other
//!    failing tests.
//!
//! Exit status: 0 when everything passes (or, with `--check`, when the
//! vendored file is current); 1 when the build or the tests fail; 2 when the
//! file is unusable or cannot be read or downloaded; 3 (with `--check`)
//! when the upstream file differs from the vendored one.
//!
//! Run it from the repository as
//! `cargo run -p klarna-customer-token-codegen --bin update-spec -- ARGS`
//! (what `scripts/update-spec` does); it updates the checkout it was built
//! from unless `--root` names another.

mod args;
mod download;
mod report;
mod shown;
mod source;
mod verdict;

#[cfg(test)]
mod tests;

use std::process::ExitCode;

use klarna_customer_token_codegen::{codegen, normalize, structure};

use args::{Input, Options, USAGE, parse_args};
use download::download;
use report::{Report, pr_body};
use shown::shown_url;
use source::{read_source, record_sha256, replace_file, sha256_hex};
use verdict::build_and_test;

const VENDORED: &str = "openapi/customer-token-v1.yaml";
const SOURCE: &str = "openapi/SOURCE.toml";

/// All passed; or, with `--check`, up to date.
const EXIT_OK: u8 = 0;
/// The build or the tests failed.
const EXIT_FAILED: u8 = 1;
/// The file is unusable, or cannot be read or downloaded.
const EXIT_UNUSABLE: u8 = 2;
/// With `--check`: the upstream file differs from the vendored one.
const EXIT_DIFFERS: u8 = 3;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse_args(&args) {
        Ok(options) => ExitCode::from(run(&options)),
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn run(options: &Options) -> u8 {
    let mut report = Report::default();
    let code = run_into(options, &mut report);
    if let Some(path) = &options.pr_body {
        if let Err(e) = std::fs::write(path, pr_body(&report)) {
            eprintln!(
                "error: cannot write the pull-request body to {}: {e}",
                path.display()
            );
            return code.max(EXIT_FAILED);
        }
        println!("== pull-request body written to {}", path.display());
    }
    code
}

fn run_into(options: &Options, report: &mut Report) -> u8 {
    let root = &options.root;
    let refuse = |report: &mut Report, reason: String| {
        eprintln!("unusable: {reason}");
        eprintln!("verdict: REFUSED; the vendored description is unchanged");
        report.verdict = format!("REFUSED, the vendored description is unchanged: {reason}");
        EXIT_UNUSABLE
    };

    // 1. Read or download.
    let bytes = match obtain(options, report) {
        Ok(bytes) => bytes,
        Err(reason) => return refuse(report, reason),
    };
    report.sha256 = sha256_hex(&bytes);

    // 2. Check.
    let new = match check(&bytes) {
        Ok(doc) => doc,
        Err(reason) => return refuse(report, reason),
    };
    println!(
        "   usable: OpenAPI 3.0, every operation has an operationId, \
         progenitor generates it (sha256 {})",
        report.sha256
    );

    // 3. Diff.
    let old_bytes = normalize::file_bytes(&root.join(VENDORED)).unwrap_or_default();
    report.changes = api_changes(&old_bytes, &new);
    println!("== API changes against the vendored description");
    for change in &report.changes {
        println!("   {change}");
    }

    if options.check {
        compare_only(options, &old_bytes, report)
    } else {
        vendor_and_test(options, &bytes, report)
    }
}

/// With `--check`: whether the new file is the one recorded in `SOURCE`
/// (its sha256, or the vendored file's when none is recorded).
fn compare_only(options: &Options, old_bytes: &[u8], report: &mut Report) -> u8 {
    let recorded = read_source(&options.root)
        .ok()
        .and_then(|s| s.sha256)
        .unwrap_or_else(|| sha256_hex(old_bytes));
    if recorded == report.sha256 {
        println!("up to date");
        report.verdict = "up to date".to_owned();
        return EXIT_OK;
    }
    println!("differs: the upstream file's sha256 is not the one recorded in {SOURCE}");
    report.verdict = "the upstream file differs from the vendored one".to_owned();
    EXIT_DIFFERS
}

/// Steps 4 and 5: vendors the file, records its digest, then (unless
/// `--no-test`) builds and tests the crate.
fn vendor_and_test(options: &Options, bytes: &[u8], report: &mut Report) -> u8 {
    let root = &options.root;
    // 4. Vendor, atomically, and record its digest.
    if let Err(e) = replace_file(&root.join(VENDORED), bytes) {
        eprintln!("error: cannot vendor the file: {e}");
        report.verdict = format!("FAILED, the vendored description is unchanged: {e}");
        return EXIT_UNUSABLE;
    }
    println!("== vendored as {VENDORED}");
    match record_sha256(root, &report.sha256) {
        Ok(()) => println!("== recorded its sha256 in {SOURCE}"),
        Err(e) => eprintln!("warning: cannot record the sha256 in {SOURCE}: {e}"),
    }

    // 5. Build and test.
    if !options.run_tests {
        println!("verdict: VENDORED; tests not run (--no-test)");
        report.verdict = "VENDORED; tests not run (--no-test)".to_owned();
        return EXIT_OK;
    }
    let verdict = build_and_test(root);
    let (code, text) = verdict.describe();
    println!("verdict: {text}");
    report.verdict = text;
    report.failures = verdict.details();
    for detail in &report.failures {
        println!("{detail}");
    }
    code
}

/// The new description's bytes, from a file or a download.
fn obtain(options: &Options, report: &mut Report) -> Result<Vec<u8>, String> {
    match &options.input {
        Input::File(path) => {
            println!("== checking {}", path.display());
            report.origin = path.display().to_string();
            normalize::file_bytes(path).map_err(|e| e.0)
        }
        Input::Url(url) => {
            report.origin = shown_url(url);
            println!("== downloading {}", report.origin);
            download(url, options.timeout)
        }
        Input::Source => {
            let source = read_source(&options.root)?;
            report.origin = shown_url(&source.url);
            println!("== downloading {} (from {SOURCE})", report.origin);
            download(&source.url, options.timeout)
        }
    }
}

/// Everything that must hold before a file may be vendored.
fn check(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let doc = normalize::load(bytes).map_err(|e| e.0)?;
    codegen::generate(&doc).map_err(|e| format!("progenitor cannot generate code from it: {e}"))?;
    Ok(doc)
}

/// The changes from the vendored description to the new one, in words:
/// the structural diff, and whether the generated code changes. One line
/// saying "none" when nothing that reaches generation, the facade or the
/// drift guards differs.
fn api_changes(old_bytes: &[u8], new: &serde_json::Value) -> Vec<String> {
    let old = normalize::load(old_bytes).ok();
    let mut out: Vec<String> = structure::diff(
        &old.as_ref()
            .map(structure::from_openapi)
            .unwrap_or_default(),
        &structure::from_openapi(new),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    let old_code = old.as_ref().and_then(|d| codegen::generate(d).ok());
    let new_code = codegen::generate(new).ok();
    if old_code != new_code {
        out.push("generated code: differs from what the vendored description generates".to_owned());
    }
    if out.is_empty() {
        out.push(
            "none in structure (version, servers, operations, parameters, responses, schemas, \
             fields, required-ness, constraints) and none in the generated code"
                .to_owned(),
        );
    }
    out
}
