//! The command line: what to read, and how far to go.

use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest download deadline accepted, in seconds (an hour).
const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// The shortest, in seconds (a millisecond).
const MIN_TIMEOUT_SECS: f64 = 0.001;

pub const USAGE: &str = "\
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
    --timeout <SECS>    one deadline for the whole download, in seconds
                        (default 60, from 0.001 to 3600)
    --root <DIR>        the crate to update (default: this checkout)

EXIT STATUS:
    0 all passed (or up to date), 1 the build or the tests failed,
    2 the file is unusable or cannot be read or downloaded,
    3 (--check) the upstream file differs from the vendored one
";

/// Where the new description comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Url(String),
    Source,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub input: Input,
    pub check: bool,
    pub run_tests: bool,
    pub pr_body: Option<PathBuf>,
    pub timeout: Duration,
    pub root: PathBuf,
}

/// The checkout this tool was built from: the workspace root, the parent
/// of this crate's folder. The crate `--root` updates by default.
pub fn checkout() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut input = None;
    let mut options = Options {
        input: Input::Source,
        check: false,
        run_tests: true,
        pr_body: None,
        timeout: DEFAULT_TIMEOUT,
        root: checkout(),
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
            "--timeout" => options.timeout = parse_timeout(&value("--timeout")?)?,
            other if !other.starts_with('-') => set(Input::File(PathBuf::from(other)), &mut input)?,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    options.input = input.ok_or("name the new description: a FILE, --from-url or --from-source")?;
    Ok(options)
}

/// A `--timeout` value: a number of seconds from `MIN_TIMEOUT_SECS` to
/// `MAX_TIMEOUT_SECS`. Anything else (not a number, NaN, infinite,
/// negative, zero, `1e300`) is refused with a clear error, never a panic.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let refused = || {
        format!(
            "--timeout takes a number of seconds from {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS}, \
             not {text:?}"
        )
    };
    let secs: f64 = text.trim().parse().map_err(|_| refused())?;
    if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(refused());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn bad_timeouts_are_refused_with_a_clear_error() {
        for bad in [
            "1e300", "1e19", "3601", "NaN", "nan", "inf", "-inf", "infinity", "-1", "-0", "0",
            "0.0", "1e-300", "0.0001", "", " ", "ten", "1s", "0x10", "--", "1,5",
        ] {
            let error = parse_timeout(bad).expect_err(bad);
            assert!(
                error.starts_with("--timeout takes a number of seconds"),
                "{error}"
            );
            assert!(error.contains(&format!("{bad:?}")), "{error}");
            // And through the whole command line.
            let args = ["a.yaml", "--timeout", bad].map(str::to_owned);
            assert!(parse_args(&args).is_err(), "{bad:?}");
        }
        assert_eq!(parse_timeout("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("0.001"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_timeout("2"), Ok(Duration::from_secs(2)));
    }
}
