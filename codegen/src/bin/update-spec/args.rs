//! The command line: what to read, and how far to go.

use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

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
    --timeout <SECS>    download timeout (default 60)
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
}
