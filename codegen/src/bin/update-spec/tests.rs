//! The tool end to end on temporary copies of the crate, and its checks
//! on real descriptions.

use super::*;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use crate::source::{Source, parse_source};

/// A description among the facade's fixtures (the worked example of its
/// README uses them too).
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(args::checkout().join("tests/fixtures").join(name)).unwrap()
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
    let vendored = std::fs::read(args::checkout().join(VENDORED)).unwrap();
    assert!(check(&vendored).is_ok());
    assert!(check(&own()).is_ok());
}

#[test]
fn the_checkouts_source_file_records_the_vendored_file() {
    let root = args::checkout();
    let source = read_source(&root).unwrap();
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
