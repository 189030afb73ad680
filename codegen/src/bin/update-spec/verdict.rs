//! Building and testing the crate with a new description, and the verdict.

use std::path::Path;
use std::process::Command;

use crate::{EXIT_FAILED, EXIT_OK};

/// How the crate fared with the new description.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// The crate does not compile: the first compiler error.
    DoesNotCompile(String),
    /// The drift guards fail, each naming differences the facade must
    /// follow (their message carries `DRIFT_MARK`): the failing guards.
    DriftGuardsFail(Vec<Failure>),
    /// A test of the drift step failed or crashed without naming a
    /// difference (a panic, an unreadable description, a non-drift
    /// assertion, a test binary that aborts or does not build): not drift.
    Crashed(Vec<Failure>),
    /// Other tests fail: the failing tests.
    TestsFail(Vec<Failure>),
    /// Cargo could not be run.
    NotRun(String),
}

/// One failing test and the first lines of what it printed.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub name: String,
    pub detail: String,
}

impl Verdict {
    pub fn describe(&self) -> (u8, String) {
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
            Verdict::Crashed(failures) => (
                EXIT_FAILED,
                format!(
                    "TESTS FAILING OR CRASHED; the new description is vendored and the crate \
                     builds, but {} test(s) of the drift step failed or crashed without naming \
                     a difference (a panic, an unreadable description, a failing non-drift \
                     test): this is not drift, fix what is shown below first",
                    failures.len().max(1)
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

    pub fn details(&self) -> Vec<String> {
        match self {
            Verdict::DoesNotCompile(error) => vec![error.clone()],
            Verdict::DriftGuardsFail(failures)
            | Verdict::Crashed(failures)
            | Verdict::TestsFail(failures) => failures
                .iter()
                .map(|f| format!("{}\n{}", f.name, f.detail))
                .collect(),
            Verdict::Passed | Verdict::NotRun(_) => Vec::new(),
        }
    }
}

/// What a drift guard's failure message carries when it names differences
/// between the vendored description and the facade. A failure of the drift
/// step without it (a panic elsewhere, a crash) is `Verdict::Crashed`.
pub const DRIFT_MARK: &str = "[drift guard]";

/// The facade, whose drift guards (the `drift` module of its test binary,
/// `tests/it/drift.rs`, and the route table's unit test) are run first.
const FACADE: &str = "klarna-customer-token";

/// Builds the tests of every workspace member, then runs the facade's drift
/// guards, then everything.
pub fn build_and_test(root: &Path) -> Verdict {
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
        "--workspace",
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
    let steps: [Step; 3] = [
        // The route table's guard is a unit test of the facade (the table
        // is private): it reads the vendored description.
        (
            &[
                "test",
                "--package",
                FACADE,
                "--all-features",
                "--lib",
                "--",
                "operation::tests::the_route_table_is_the_vendored_description_s",
                "--exact",
            ],
            drift_step,
        ),
        (
            &[
                "test",
                "--package",
                FACADE,
                "--all-features",
                "--test",
                "it",
                "--",
                "drift::",
            ],
            drift_step,
        ),
        (
            &["test", "--workspace", "--all-features", "--no-fail-fast"],
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
                    name: NO_TEST_NAMED.to_owned(),
                    detail: last_lines(&String::from_utf8_lossy(&out.stderr), 10),
                });
            }
            return verdict(failures);
        }
    }
    Verdict::Passed
}

/// The verdict of a failed drift step: drift only when every failure names
/// differences (carries `DRIFT_MARK`); a panic, a non-drift failure or a
/// crash that names no test is `Crashed`.
fn drift_step(failures: Vec<Failure>) -> Verdict {
    let named = failures.iter().all(|f| f.name != NO_TEST_NAMED);
    if named && !failures.is_empty() && failures.iter().all(|f| f.detail.contains(DRIFT_MARK)) {
        Verdict::DriftGuardsFail(failures)
    } else {
        Verdict::Crashed(failures)
    }
}

/// The name given to a failure cargo reports without a failing test (a
/// test binary that aborts, does not build or cannot run).
const NO_TEST_NAMED: &str = "(no test named)";

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Saved cargo output, from this crate's fixtures.
    fn text(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cargo")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    // --- The verdict, on saved cargo output -------------------------------

    #[test]
    fn a_compiler_error_is_read_from_cargos_json_messages() {
        let error = first_build_error(
            &text("compile-error.stdout.jsonl"),
            &text("compile-error.stderr.txt"),
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
            &text("build-script-error.stdout.jsonl"),
            &text("build-script-error.stderr.txt"),
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
            first_build_error(&text("build-ok.stdout.jsonl"), "", true),
            None
        );
        // A failed exit status with no message still counts as failed.
        assert!(first_build_error(&text("build-ok.stdout.jsonl"), "boom", false).is_some());
    }

    #[test]
    fn failing_tests_are_read_from_libtests_output() {
        let failures = failed_tests(&text("test-failed.stdout.txt"));
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
        assert!(failed_tests(&text("test-ok.stdout.txt")).is_empty());
    }

    #[test]
    fn drift_guards_naming_differences_are_drift() {
        let verdict = drift_step(failed_tests(&text("drift-named.stdout.txt")));
        let Verdict::DriftGuardsFail(failures) = &verdict else {
            panic!("{verdict:?}");
        };
        assert_eq!(
            failures[0].name,
            "the_facade_types_match_the_description_schemas"
        );
        assert!(
            failures[0].detail.contains("warranty_months"),
            "{}",
            failures[0].detail
        );
        let (code, words) = verdict.describe();
        assert_eq!(code, EXIT_FAILED);
        assert!(words.starts_with("DRIFT;"), "{words}");
    }

    #[test]
    fn a_crashed_or_failing_test_of_the_drift_step_is_not_drift() {
        // The route-table test panicking on an unreadable description.
        let crashed = failed_tests(&text("drift-crashed.stdout.txt"));
        assert_eq!(crashed.len(), 1);
        let verdict = drift_step(crashed);
        assert!(matches!(verdict, Verdict::Crashed(_)), "{verdict:?}");
        let (code, words) = verdict.describe();
        assert_eq!(code, EXIT_FAILED);
        assert!(words.starts_with("TESTS FAILING OR CRASHED;"), "{words}");
        assert!(words.contains("not drift"), "{words}");
        assert!(!words.starts_with("DRIFT"), "{words}");
        assert!(
            verdict.details()[0].contains("stream did not contain valid UTF-8"),
            "{:?}",
            verdict.details()
        );
        // A libtest failure without the mark (an ordinary assertion).
        let plain = drift_step(failed_tests(&text("test-failed.stdout.txt")));
        assert!(matches!(plain, Verdict::Crashed(_)), "{plain:?}");
        // One guard naming differences and one crash: the crash wins.
        let mut mixed = failed_tests(&text("drift-named.stdout.txt"));
        mixed.extend(failed_tests(&text("drift-crashed.stdout.txt")));
        assert!(matches!(drift_step(mixed), Verdict::Crashed(_)));
        // A test binary that aborts (no test named), or no failure at all.
        let aborted = vec![Failure {
            name: NO_TEST_NAMED.to_owned(),
            detail: format!("{DRIFT_MARK} error: test failed, to rerun pass `--lib`"),
        }];
        assert!(matches!(drift_step(aborted), Verdict::Crashed(_)));
        assert!(matches!(drift_step(Vec::new()), Verdict::Crashed(_)));
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
            (
                Verdict::Crashed(vec![failure()]),
                EXIT_FAILED,
                "failed or crashed",
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
}
