//! Brings a new version of the API description into the crate.
//!
//! ```text
//! scripts/update-spec path/to/new-description.yaml
//! scripts/update-spec --from-url https://example.com/customer-token.yaml
//! scripts/update-spec --from-source            # the URL in openapi/SOURCE.toml
//! scripts/update-spec --from-source --check    # is the vendored file current?
//! ```
//!
//! 1. Reads the file (or downloads it: a failed or timed-out download, an
//!    HTML page, an error status or a cut-short body is refused).
//! 2. Checks it: it must parse (YAML or JSON), be OpenAPI 3.0.x, give every
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

#[path = "../../build/codegen.rs"]
mod codegen;
#[path = "../../build/normalize.rs"]
#[allow(dead_code)]
mod normalize;
#[path = "../../build/structure.rs"]
#[allow(dead_code)]
mod structure;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use sha2::Digest as _;

const VENDORED: &str = "openapi/customer-token-v1.yaml";
const SOURCE: &str = "openapi/SOURCE.toml";

/// The largest description accepted from the network.
const MAX_DOWNLOAD: u64 = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// All passed; or, with `--check`, up to date.
const EXIT_OK: u8 = 0;
/// The build or the tests failed.
const EXIT_FAILED: u8 = 1;
/// The file is unusable, or cannot be read or downloaded.
const EXIT_UNUSABLE: u8 = 2;
/// With `--check`: the upstream file differs from the vendored one.
const EXIT_DIFFERS: u8 = 3;

const USAGE: &str = "\
update-spec: bring a new version of the Customer Token API description into the crate

USAGE:
    scripts/update-spec <FILE> [OPTIONS]
    scripts/update-spec --from-url <URL> [OPTIONS]
    scripts/update-spec --from-source [OPTIONS]

It checks the description, shows what changed against the vendored one,
vendors it unmodified (recording its sha256 in openapi/SOURCE.toml), then
builds the crate, runs the drift guards and the tests, and prints a verdict.

OPTIONS:
    --from-url <URL>    download the description from URL
    --from-source       download it from the URL in openapi/SOURCE.toml
    --check             only compare: exit 0 (\"up to date\") when its sha256 is
                        the recorded one, 3 with the API diff when it differs
    --no-test           vendor without building and testing
    --pr-body <PATH>    write a Markdown pull-request body (API diff, verdict,
                        first failures) to PATH
    --timeout <SECS>    download timeout (default 60)
    --root <DIR>        the crate to update (default: this checkout)

EXIT STATUS:
    0 all passed (or up to date), 1 the build or the tests failed,
    2 the file is unusable or cannot be read or downloaded,
    3 (--check) the upstream file differs from the vendored one
";

/// Where the new description comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Input {
    File(PathBuf),
    Url(String),
    Source,
}

#[derive(Clone, Debug)]
struct Options {
    input: Input,
    check: bool,
    run_tests: bool,
    pr_body: Option<PathBuf>,
    timeout: Duration,
    root: PathBuf,
}

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

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut input = None;
    let mut options = Options {
        input: Input::Source,
        check: false,
        run_tests: true,
        pr_body: None,
        timeout: DEFAULT_TIMEOUT,
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    };
    let mut args = args.iter();
    let set = |new: Input, input: &mut Option<Input>| match input {
        Some(_) => Err("name one description: a FILE, --from-url or --from-source".to_owned()),
        None => {
            *input = Some(new);
            Ok(())
        }
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--from-url" => set(Input::Url(value("--from-url")?), &mut input)?,
            "--from-source" => set(Input::Source, &mut input)?,
            "--check" => options.check = true,
            "--no-test" => options.run_tests = false,
            "--pr-body" => options.pr_body = Some(PathBuf::from(value("--pr-body")?)),
            "--root" => options.root = PathBuf::from(value("--root")?),
            "--timeout" => {
                let secs = value("--timeout")?;
                let secs: f64 = secs
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--timeout takes a number of seconds, not {secs:?}"))?;
                options.timeout = Duration::from_secs_f64(secs);
            }
            other if !other.starts_with('-') => set(Input::File(PathBuf::from(other)), &mut input)?,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    options.input = input.ok_or("name the new description: a FILE, --from-url or --from-source")?;
    Ok(options)
}

/// What the pull-request body says.
#[derive(Default)]
struct Report {
    origin: String,
    sha256: String,
    changes: Vec<String>,
    verdict: String,
    failures: Vec<String>,
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
    let vendored_path = root.join(VENDORED);
    let old_bytes = std::fs::read(&vendored_path).unwrap_or_default();
    report.changes = api_changes(&old_bytes, &new);
    println!("== API changes against the vendored description");
    for change in &report.changes {
        println!("   {change}");
    }

    if options.check {
        let recorded = read_source(root)
            .ok()
            .and_then(|s| s.sha256)
            .unwrap_or_else(|| sha256_hex(&old_bytes));
        if recorded == report.sha256 {
            println!("up to date");
            report.verdict = "up to date".to_owned();
            return EXIT_OK;
        }
        println!("differs: the upstream file's sha256 is not the one recorded in {SOURCE}");
        report.verdict = "the upstream file differs from the vendored one".to_owned();
        return EXIT_DIFFERS;
    }

    // 4. Vendor, atomically, and record its digest.
    if let Err(e) = replace_file(&vendored_path, &bytes) {
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
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        Input::Url(url) => {
            report.origin = url.clone();
            println!("== downloading {url}");
            download(url, options.timeout)
        }
        Input::Source => {
            let source = read_source(&options.root)?;
            report.origin = source.url.clone();
            println!("== downloading {} (from {SOURCE})", source.url);
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
            "none in structure (version, operations, parameters, responses, schemas, fields, \
             required-ness, constraints) and none in the generated code"
                .to_owned(),
        );
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Replaces a file whole: a temporary file in the same folder, renamed.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

// ---------------------------------------------------------------------------
// openapi/SOURCE.toml
// ---------------------------------------------------------------------------

/// The recorded origin of the vendored description.
#[derive(Debug, PartialEq, Eq)]
struct Source {
    url: String,
    sha256: Option<String>,
}

fn read_source(root: &Path) -> Result<Source, String> {
    let path = root.join(SOURCE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_source(&text).map_err(|e| format!("{SOURCE}: {e}"))
}

/// Reads the two keys of `SOURCE.toml` (`url` and `sha256`, quoted
/// strings); comments and blank lines are skipped.
fn parse_source(text: &str) -> Result<Source, String> {
    let mut url = None;
    let mut sha256 = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = \"value\"`", number + 1))?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.contains('"') && !v.contains('\\'))
            .ok_or_else(|| {
                format!(
                    "line {}: the value must be a plain quoted string",
                    number + 1
                )
            })?;
        match key.trim() {
            "url" => url = Some(value.to_owned()),
            "sha256" => sha256 = Some(value.to_owned()).filter(|v| !v.is_empty()),
            other => return Err(format!("line {}: unknown key {other:?}", number + 1)),
        }
    }
    Ok(Source {
        url: url.ok_or("it names no `url`")?,
        sha256,
    })
}

/// Rewrites the `sha256` line of `SOURCE.toml` (adding it if missing),
/// keeping everything else.
fn record_sha256(root: &Path, sha256: &str) -> Result<(), String> {
    let path = root.join(SOURCE);
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let line = format!("sha256 = \"{sha256}\"");
    let mut found = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("sha256") && l.contains('=') {
                found = true;
                line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !found {
        out.push(line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    replace_file(&path, text.as_bytes()).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------

/// Downloads a description: the answer must be a success, complete, at most
/// `MAX_DOWNLOAD` bytes, and not an HTML page.
fn download(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let failed = |what: String| format!("the download from {url} failed: {what}");
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .user_agent(concat!(
            "klarna-customer-token-update-spec/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| failed(e.without_url().to_string()))?;
    let response = client.get(url).send().map_err(|e| {
        if e.is_timeout() {
            failed(format!("no answer within {} s", timeout.as_secs_f64()))
        } else {
            failed(e.without_url().to_string())
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "the server answered with HTTP status {status}"
        )));
    }
    let html_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let declared = response.content_length();
    if declared.is_some_and(|n| n > MAX_DOWNLOAD) {
        return Err(failed(format!("it is larger than {MAX_DOWNLOAD} bytes")));
    }
    let mut body = Vec::new();
    response
        .take(MAX_DOWNLOAD + 1)
        .read_to_end(&mut body)
        .map_err(|e| failed(format!("the body was cut short ({e})")))?;
    if body.len() as u64 > MAX_DOWNLOAD {
        return Err(failed(format!("it is larger than {MAX_DOWNLOAD} bytes")));
    }
    if let Some(n) = declared
        && n != body.len() as u64
    {
        return Err(failed(format!(
            "the body was cut short ({} of {n} bytes)",
            body.len()
        )));
    }
    if html_type || looks_like_html(&body) {
        return Err(failed(
            "it is an HTML page, not an OpenAPI document (is the URL a documentation page \
             rather than the description's download link?)"
                .to_owned(),
        ));
    }
    Ok(body)
}

fn looks_like_html(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with("<!doctype html") || text.starts_with("<html") || text.starts_with("<head")
}

// ---------------------------------------------------------------------------
// Build, tests and verdict
// ---------------------------------------------------------------------------

/// How the crate fared with the new description.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Passed,
    /// The crate does not compile: the first compiler error.
    DoesNotCompile(String),
    /// The drift guards fail: the failing guards.
    DriftGuardsFail(Vec<Failure>),
    /// Other tests fail: the failing tests.
    TestsFail(Vec<Failure>),
    /// Cargo could not be run.
    NotRun(String),
}

/// One failing test and the first lines of what it printed.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    name: String,
    detail: String,
}

impl Verdict {
    fn describe(&self) -> (u8, String) {
        match self {
            Verdict::Passed => (
                EXIT_OK,
                "OK; the crate builds and the facade covers the new description".to_owned(),
            ),
            Verdict::DoesNotCompile(_) => (
                EXIT_FAILED,
                "DOES NOT COMPILE; the new description is vendored, and the crate does not build \
                 with it: the facade must follow the first compiler error below"
                    .to_owned(),
            ),
            Verdict::DriftGuardsFail(failures) => (
                EXIT_FAILED,
                format!(
                    "DRIFT; the new description is vendored, the crate builds, and {} failing \
                     drift guard(s) name every difference the facade must follow",
                    failures.len()
                ),
            ),
            Verdict::TestsFail(failures) => (
                EXIT_FAILED,
                format!(
                    "TESTS FAILING; the new description is vendored, the crate builds and the \
                     drift guards pass, but {} other test(s) fail",
                    failures.len()
                ),
            ),
            Verdict::NotRun(e) => (EXIT_FAILED, format!("NOT TESTED; cannot run cargo: {e}")),
        }
    }

    fn details(&self) -> Vec<String> {
        match self {
            Verdict::DoesNotCompile(error) => vec![error.clone()],
            Verdict::DriftGuardsFail(failures) | Verdict::TestsFail(failures) => failures
                .iter()
                .map(|f| format!("{}\n{}", f.name, f.detail))
                .collect(),
            Verdict::Passed | Verdict::NotRun(_) => Vec::new(),
        }
    }
}

/// Builds the tests, then runs the drift guards, then everything.
fn build_and_test(root: &Path) -> Verdict {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let run = |args: &[&str]| {
        println!("== cargo {}", args.join(" "));
        Command::new(&cargo)
            .args(args)
            .current_dir(root)
            .env("RUST_BACKTRACE", "0")
            .output()
    };
    let build = match run(&[
        "test",
        "--all-features",
        "--no-run",
        "--message-format=json",
    ]) {
        Ok(out) => out,
        Err(e) => return Verdict::NotRun(e.to_string()),
    };
    let (stdout, stderr) = (
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr),
    );
    if let Some(error) = first_build_error(&stdout, &stderr, build.status.success()) {
        return Verdict::DoesNotCompile(error);
    }
    type Step<'a> = (&'a [&'a str], fn(Vec<Failure>) -> Verdict);
    let steps: [Step; 2] = [
        (
            &["test", "--all-features", "--test", "drift"],
            Verdict::DriftGuardsFail,
        ),
        (
            &["test", "--all-features", "--no-fail-fast"],
            Verdict::TestsFail,
        ),
    ];
    for (args, verdict) in steps {
        let out = match run(args) {
            Ok(out) => out,
            Err(e) => return Verdict::NotRun(e.to_string()),
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        print!("{stdout}");
        if !out.status.success() {
            let mut failures = failed_tests(&stdout);
            if failures.is_empty() {
                failures.push(Failure {
                    name: "(no test named)".to_owned(),
                    detail: last_lines(&String::from_utf8_lossy(&out.stderr), 10),
                });
            }
            return verdict(failures);
        }
    }
    Verdict::Passed
}

/// The first compiler error of a `cargo --message-format=json` run, from
/// its standard output (one JSON message a line); for a failure cargo
/// reports outside the JSON messages (a build script that fails), the
/// first error on its standard error. `None` when the build succeeded.
fn first_build_error(stdout: &str, stderr: &str, success: bool) -> Option<String> {
    let mut finished = None;
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-message") if message["message"]["level"] == "error" => {
                let rendered = message["message"]["rendered"]
                    .as_str()
                    .or(message["message"]["message"].as_str())
                    .unwrap_or("a compiler error without text");
                return Some(rendered.trim_end().to_owned());
            }
            Some("build-finished") => finished = message["success"].as_bool(),
            _ => {}
        }
    }
    if finished.unwrap_or(success) && success {
        return None;
    }
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("error"));
    Some(match start {
        Some(start) => lines[start..]
            .iter()
            .take(12)
            .copied()
            .collect::<Vec<_>>()
            .join("\n"),
        None => last_lines(stderr, 12),
    })
}

/// The failing tests of libtest's output, each with the first lines of
/// what it printed.
fn failed_tests(stdout: &str) -> Vec<Failure> {
    let names: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let header = format!("---- {name} stdout ----");
            let detail = stdout
                .split_once(&header)
                .map(|(_, rest)| {
                    rest.lines()
                        .skip_while(|l| l.trim().is_empty())
                        .take_while(|l| !l.starts_with("---- ") && *l != "failures:")
                        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
                        .take(8)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            Failure { name, detail }
        })
        .collect()
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The Markdown body of the update's pull request.
fn pr_body(report: &Report) -> String {
    let mut out = String::from("## Update of the Customer Token API description\n\n");
    let _ = writeln!(out, "- source: `{}`", report.origin);
    if !report.sha256.is_empty() {
        let _ = writeln!(out, "- sha256: `{}`", report.sha256);
    }
    out.push_str("\n### API changes\n\n");
    for change in &report.changes {
        let _ = writeln!(out, "- {change}");
    }
    if report.changes.is_empty() {
        out.push_str("- (not compared)\n");
    }
    let _ = write!(out, "\n### Verdict\n\n{}\n", report.verdict);
    if !report.failures.is_empty() {
        out.push_str("\n### First failures\n\n");
        for failure in report.failures.iter().take(10) {
            let _ = write!(out, "```text\n{}\n```\n\n", failure.replace("```", "'''"));
        }
        out.push_str(
            "See README.md, \"Updating the API description\", for what to do with a failing \
             update.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Write as _;
    use std::net::TcpListener;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
    }

    fn text(name: &str) -> String {
        String::from_utf8(fixture(name)).unwrap()
    }

    /// Our own description as first written (a fixed copy: the vendored
    /// file may be Klarna's, laid out differently).
    fn own() -> Vec<u8> {
        fixture("customer-token-v1.0.yaml")
    }

    /// A temporary copy of the crate's `openapi/` folder: what the tool
    /// reads and writes when the tests are not run.
    struct Crate {
        root: PathBuf,
    }

    impl Crate {
        fn new(tag: &str) -> Self {
            static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let root =
                std::env::temp_dir().join(format!("update-spec-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join("openapi")).unwrap();
            std::fs::write(root.join(VENDORED), own()).unwrap();
            std::fs::write(
                root.join(SOURCE),
                format!(
                    "# test copy\nurl = \"http://127.0.0.1:9/none\"\nsha256 = \"{}\"\n",
                    sha256_hex(&own())
                ),
            )
            .unwrap();
            Crate { root }
        }

        fn options(&self, input: Input) -> Options {
            Options {
                input,
                check: false,
                run_tests: false,
                pr_body: None,
                timeout: Duration::from_secs(5),
                root: self.root.clone(),
            }
        }

        fn vendored(&self) -> Vec<u8> {
            std::fs::read(self.root.join(VENDORED)).unwrap()
        }

        fn source(&self) -> Source {
            read_source(&self.root).unwrap()
        }

        fn set_url(&self, url: &str) {
            let sha = self.source().sha256.unwrap_or_default();
            std::fs::write(
                self.root.join(SOURCE),
                format!("url = \"{url}\"\nsha256 = \"{sha}\"\n"),
            )
            .unwrap();
        }
    }

    impl Drop for Crate {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    /// A server on 127.0.0.1 answering `count` requests, each with the
    /// next raw HTTP answer; `None` accepts and never answers.
    fn serve(answers: Vec<Option<Vec<u8>>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for answer in answers {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut request = [0u8; 4096];
                let _ = std::io::Read::read(&mut stream, &mut request);
                match answer {
                    Some(bytes) => {
                        let _ = stream.write_all(&bytes);
                    }
                    None => held.push(stream),
                }
            }
            // Keep silent connections open until the client gives up.
            std::thread::sleep(Duration::from_secs(3));
        });
        format!("http://{address}/customer-token.yaml")
    }

    fn http(status: &str, content_type: &str, body: &[u8], length: usize) -> Option<Vec<u8>> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\
             Connection: close\r\n\r\n"
        )
        .into_bytes();
        out.extend_from_slice(body);
        Some(out)
    }

    fn ok(body: &[u8]) -> Option<Vec<u8>> {
        http("200 OK", "application/yaml", body, body.len())
    }

    /// A changed description: our own with one more optional field.
    fn changed() -> Vec<u8> {
        fixture("customer-token-v1.1.yaml")
    }

    #[test]
    fn the_vendored_description_is_usable() {
        let vendored = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(VENDORED)).unwrap();
        assert!(check(&vendored).is_ok());
        assert!(check(&own()).is_ok());
    }

    #[test]
    fn the_checkouts_source_file_records_the_vendored_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let source = read_source(root).unwrap();
        assert!(source.url.starts_with("https://"), "{}", source.url);
        let vendored = std::fs::read(root.join(VENDORED)).unwrap();
        assert_eq!(source.sha256, Some(sha256_hex(&vendored)));
    }

    #[test]
    fn unusable_files_are_refused_in_plain_words() {
        let yaml = String::from_utf8(own()).unwrap();
        let cases = [
            ("{ not: [valid", "cannot be parsed"),
            (
                "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n",
                "OpenAPI 3.1.0",
            ),
            ("swagger: '2.0'\n", "Swagger 2.0"),
        ];
        for (text, expected) in cases {
            let reason = check(text.as_bytes()).unwrap_err();
            assert!(reason.contains(expected), "{reason}");
        }
        let no_id = yaml.replace("operationId: createOrder", "summary: no id");
        let reason = check(no_id.as_bytes()).unwrap_err();
        assert!(
            reason.contains("POST /customer-token/v1/tokens/{customerToken}/order"),
            "{reason}"
        );
        // Parses as OpenAPI 3.0, but progenitor cannot generate it: a
        // parameter in an unsupported location.
        let cookie = yaml.replacen("in: header", "in: cookie", 1);
        let reason = check(cookie.as_bytes()).unwrap_err();
        assert!(reason.contains("progenitor"), "{reason}");
    }

    #[test]
    fn vendoring_replaces_the_file_whole() {
        let dir = Crate::new("vendor");
        let path = dir.root.join("spec.yaml");
        std::fs::write(&path, b"old").unwrap();
        replace_file(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        assert!(!dir.root.join("spec.yaml.tmp").exists());
    }

    #[test]
    fn arguments_name_one_description() {
        let args =
            |list: &[&str]| parse_args(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        let o = args(&["f.yaml", "--no-test", "--pr-body", "b.md"]).unwrap();
        assert_eq!(o.input, Input::File(PathBuf::from("f.yaml")));
        assert!(!o.run_tests && !o.check);
        assert_eq!(o.pr_body, Some(PathBuf::from("b.md")));
        let o = args(&["--from-url", "http://x/y", "--check", "--timeout", "2.5"]).unwrap();
        assert_eq!(o.input, Input::Url("http://x/y".to_owned()));
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert_eq!(args(&["--from-source"]).unwrap().input, Input::Source);
        for bad in [
            &["a", "b"][..],
            &["a", "--from-source"],
            &["--from-url"],
            &[],
            &["--timeout", "0", "a"],
            &["--bogus", "a"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_source_file_is_read_and_its_digest_rewritten() {
        let source = parse_source("# c\nurl = \"https://x/y\"\n\nsha256 = \"ab\"\n").unwrap();
        assert_eq!(
            source,
            Source {
                url: "https://x/y".to_owned(),
                sha256: Some("ab".to_owned())
            }
        );
        assert_eq!(
            parse_source("url = \"u\"\nsha256 = \"\"\n").unwrap().sha256,
            None
        );
        for bad in [
            "sha256 = \"ab\"\n",
            "url = u\n",
            "url = \"u\"\nother = \"x\"\n",
        ] {
            assert!(parse_source(bad).is_err(), "{bad:?}");
        }
        let dir = Crate::new("source");
        record_sha256(&dir.root, "0123").unwrap();
        let text = std::fs::read_to_string(dir.root.join(SOURCE)).unwrap();
        assert_eq!(
            text,
            "# test copy\nurl = \"http://127.0.0.1:9/none\"\nsha256 = \"0123\"\n"
        );
        assert_eq!(sha256_hex(b"abc").len(), 64);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn vendoring_a_file_rewrites_the_recorded_digest() {
        let dir = Crate::new("file");
        let path = dir.root.join("new.yaml");
        std::fs::write(&path, changed()).unwrap();
        let body = dir.root.join("body.md");
        let mut options = dir.options(Input::File(path));
        options.pr_body = Some(body.clone());
        assert_eq!(run(&options), EXIT_OK);
        assert_eq!(dir.vendored(), changed());
        assert_eq!(dir.source().sha256, Some(sha256_hex(&changed())));
        let body = std::fs::read_to_string(body).unwrap();
        assert!(
            body.contains("order_line.warranty_months: field only in the new"),
            "{body}"
        );
        assert!(body.contains("### Verdict"), "{body}");
    }

    #[test]
    fn an_unusable_file_leaves_the_vendored_one_untouched() {
        let dir = Crate::new("unusable");
        let path = dir.root.join("new.yaml");
        let yaml = String::from_utf8(own()).unwrap();
        std::fs::write(&path, yaml.replace("openapi: 3.0.3", "openapi: 3.1.0")).unwrap();
        let before = std::fs::read(dir.root.join(SOURCE)).unwrap();
        assert_eq!(run(&dir.options(Input::File(path))), EXIT_UNUSABLE);
        assert_eq!(dir.vendored(), own());
        assert_eq!(std::fs::read(dir.root.join(SOURCE)).unwrap(), before);
        assert_eq!(
            run(&dir.options(Input::File(dir.root.join("missing.yaml")))),
            EXIT_UNUSABLE
        );
    }

    #[test]
    fn a_good_download_is_vendored_like_a_file() {
        let dir = Crate::new("url");
        let url = serve(vec![ok(&changed())]);
        assert_eq!(run(&dir.options(Input::Url(url))), EXIT_OK);
        assert_eq!(dir.vendored(), changed());
        assert_eq!(dir.source().sha256, Some(sha256_hex(&changed())));
    }

    #[test]
    fn from_source_downloads_the_recorded_url() {
        let dir = Crate::new("source-url");
        dir.set_url(&serve(vec![ok(&changed())]));
        assert_eq!(run(&dir.options(Input::Source)), EXIT_OK);
        assert_eq!(dir.vendored(), changed());
    }

    #[test]
    fn check_says_up_to_date_or_differs_and_never_vendors() {
        let dir = Crate::new("check");
        dir.set_url(&serve(vec![ok(&own()), ok(&changed())]));
        let mut options = dir.options(Input::Source);
        options.check = true;
        assert_eq!(run(&options), EXIT_OK);
        let body = dir.root.join("body.md");
        options.pr_body = Some(body.clone());
        assert_eq!(run(&options), EXIT_DIFFERS);
        assert_eq!(dir.vendored(), own());
        assert_eq!(dir.source().sha256, Some(sha256_hex(&own())));
        let body = std::fs::read_to_string(body).unwrap();
        assert!(body.contains("warranty_months"), "{body}");
    }

    #[test]
    fn bad_downloads_are_refused_and_leave_the_vendored_file_untouched() {
        let good = changed();
        let cases: Vec<(&str, Option<Vec<u8>>, &str)> = vec![
            (
                "html",
                http(
                    "200 OK",
                    "text/html; charset=utf-8",
                    b"<!DOCTYPE html><html><body>Download OpenAPI specification</body></html>",
                    71,
                ),
                "HTML page",
            ),
            (
                "html without its type",
                ok(b"\n<html><head><title>Klarna Docs</title></head></html>"),
                "HTML page",
            ),
            ("404", http("404 Not Found", "text/plain", b"no", 2), "404"),
            (
                "truncated",
                http(
                    "200 OK",
                    "application/yaml",
                    &good[..good.len() / 2],
                    good.len(),
                ),
                "cut short",
            ),
            (
                "truncated without a length",
                Some({
                    let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
                    r.extend_from_slice(&good[..good.len() / 2]);
                    r
                }),
                "which it does not define",
            ),
            (
                "not an OpenAPI document",
                ok(b"just: some\nyaml: file\n"),
                "openapi",
            ),
            ("timeout", None, "no answer within"),
        ];
        for (name, answer, expected) in cases {
            let dir = Crate::new("bad");
            let url = serve(vec![answer]);
            let mut options = dir.options(Input::Url(url.clone()));
            options.timeout = Duration::from_millis(700);
            let body = dir.root.join("body.md");
            options.pr_body = Some(body.clone());
            assert_eq!(run(&options), EXIT_UNUSABLE, "{name}");
            assert_eq!(dir.vendored(), own(), "{name}");
            assert_eq!(dir.source().sha256, Some(sha256_hex(&own())), "{name}");
            let body = std::fs::read_to_string(body).unwrap();
            assert!(body.contains("REFUSED"), "{name}: {body}");
            assert!(body.contains(expected), "{name}: {body}");
        }
        // A refused port: nothing listens.
        let dir = Crate::new("refused");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x.yaml", listener.local_addr().unwrap());
        drop(listener);
        assert_eq!(run(&dir.options(Input::Url(url))), EXIT_UNUSABLE);
        assert_eq!(dir.vendored(), own());
    }

    // --- The verdict, on saved cargo output -------------------------------

    #[test]
    fn a_compiler_error_is_read_from_cargos_json_messages() {
        let error = first_build_error(
            &text("cargo/compile-error.stdout.jsonl"),
            &text("cargo/compile-error.stderr.txt"),
            false,
        )
        .expect("an error");
        assert!(
            error.starts_with("error[E0308]: mismatched types"),
            "{error}"
        );
        assert!(error.contains("src/lib.rs:2:68"), "{error}");
        // Only the first of the two errors.
        assert_eq!(error.matches("error[E0308]").count(), 1, "{error}");
    }

    #[test]
    fn a_failing_build_script_is_read_from_cargos_error_output() {
        let error = first_build_error(
            &text("cargo/build-script-error.stdout.jsonl"),
            &text("cargo/build-script-error.stderr.txt"),
            false,
        )
        .expect("an error");
        assert!(
            error.starts_with("error: failed to run custom build command"),
            "{error}"
        );
        assert!(
            error.contains("cannot generate the Customer Token bindings"),
            "{error}"
        );
    }

    #[test]
    fn a_successful_build_has_no_error() {
        assert_eq!(
            first_build_error(&text("cargo/build-ok.stdout.jsonl"), "", true),
            None
        );
        // A failed exit status with no message still counts as failed.
        assert!(first_build_error(&text("cargo/build-ok.stdout.jsonl"), "boom", false).is_some());
    }

    #[test]
    fn failing_tests_are_read_from_libtests_output() {
        let failures = failed_tests(&text("cargo/test-failed.stdout.txt"));
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].name, "tests::adds");
        assert!(
            failures[0]
                .detail
                .contains("assertion `left == right` failed: one more"),
            "{}",
            failures[0].detail
        );
        assert!(!failures[0].detail.contains("failures:"));
        assert!(failed_tests(&text("cargo/test-ok.stdout.txt")).is_empty());
    }

    #[test]
    fn each_verdict_says_what_failed_and_exits_accordingly() {
        let failure = || Failure {
            name: "t".to_owned(),
            detail: "d".to_owned(),
        };
        let cases = [
            (Verdict::Passed, EXIT_OK, "OK"),
            (
                Verdict::DoesNotCompile("error[E0308]".to_owned()),
                EXIT_FAILED,
                "DOES NOT COMPILE",
            ),
            (
                Verdict::DriftGuardsFail(vec![failure()]),
                EXIT_FAILED,
                "drift guard",
            ),
            (
                Verdict::TestsFail(vec![failure()]),
                EXIT_FAILED,
                "other test",
            ),
        ];
        for (verdict, code, words) in cases {
            let (c, text) = verdict.describe();
            assert_eq!(c, code, "{text}");
            assert!(text.contains(words), "{text}");
        }
        // Only the drift verdict speaks of drift guards naming differences.
        let (_, compile) = Verdict::DoesNotCompile(String::new()).describe();
        assert!(!compile.contains("drift"), "{compile}");
        let (_, tests) = Verdict::TestsFail(vec![]).describe();
        assert!(tests.contains("drift guards pass"), "{tests}");
        assert_eq!(
            Verdict::DoesNotCompile("first".to_owned()).details(),
            ["first"]
        );
    }

    #[test]
    fn the_pull_request_body_holds_the_diff_the_verdict_and_the_failures() {
        let report = Report {
            origin: "https://example.com/x.yaml".to_owned(),
            sha256: "ab".to_owned(),
            changes: vec!["order_line.x: field only in the new".to_owned()],
            verdict: "DRIFT; ...".to_owned(),
            failures: vec!["guard\nassertion failed".to_owned()],
        };
        let body = pr_body(&report);
        for expected in [
            "https://example.com/x.yaml",
            "`ab`",
            "- order_line.x: field only in the new",
            "### Verdict\n\nDRIFT",
            "```text\nguard\nassertion failed\n```",
        ] {
            assert!(body.contains(expected), "{expected:?} in {body}");
        }
    }
}
