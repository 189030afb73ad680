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
    // Through the one loader, as build.rs reads it.
    let path = args::checkout().join(VENDORED);
    normalize::load_file(&path).unwrap();
    let vendored = normalize::file_bytes(&path).unwrap();
    assert!(check(&vendored).is_ok());
    assert!(check(&own()).is_ok());
}

#[test]
fn the_checkouts_source_file_records_the_vendored_file() {
    let root = args::checkout();
    let source = read_source(&root).unwrap();
    assert!(source.url.starts_with("https://"), "{}", source.url);
    let vendored = normalize::file_bytes(&root.join(VENDORED)).unwrap();
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
    let names: Vec<_> = std::fs::read_dir(&dir.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
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
        ("timeout", None, "did not complete within"),
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

// ---------------------------------------------------------------------------
// Hostile descriptions, servers and folders
// ---------------------------------------------------------------------------

/// Our own description with `extra` appended as top-level YAML (extensions
/// and the like): a hostile payload inside an otherwise usable file.
fn own_with(extra: &str) -> Vec<u8> {
    let mut bytes = own();
    bytes.extend_from_slice(extra.as_bytes());
    bytes
}

/// "Billion laughs" and its relatives: each expands a few kilobytes into
/// gigabytes through anchors and aliases, in every style the reader knows.
fn anchor_bombs() -> Vec<(String, Vec<u8>)> {
    let flow = |n: usize| format!("[{}]", vec!["1"; n].join(","));
    let aliases = |n: usize| format!("[{}]", vec!["*a"; n].join(","));
    let mut out = vec![
        (
            // The reported one: an anchor of 5,000 scalars, 5,000 aliases
            // (about 25 KB).
            "quadratic, flow style, a bare document".to_owned(),
            format!("a: &a {}\nb: {}\n", flow(5000), aliases(5000)).into_bytes(),
        ),
        (
            "quadratic, flow style, in our description".to_owned(),
            own_with(&format!("x-a: &a {}\nx-b: {}\n", flow(5000), aliases(5000))),
        ),
        (
            "quadratic, block style".to_owned(),
            own_with(&format!(
                "x-a: &a\n{}x-b:\n{}",
                "  - 1\n".repeat(3000),
                "  - *a\n".repeat(3000)
            )),
        ),
        (
            "quadratic, JSON-like with a tag before the anchor".to_owned(),
            format!(
                "{{\"openapi\": \"3.0.3\", \"x-a\": !!seq &a {}, \"x-b\": {}}}\n",
                flow(5000),
                aliases(5000)
            )
            .into_bytes(),
        ),
        (
            "quadratic through merge keys".to_owned(),
            own_with(&format!(
                "x-a: &a {{{}}}\nx-b: [{}]\n",
                (0..2000)
                    .map(|i| format!("k{i}: 1"))
                    .collect::<Vec<_>>()
                    .join(", "),
                vec!["{<<: *a}"; 2000].join(", ")
            )),
        ),
    ];
    // Exponential: nine levels of ten aliases each.
    let mut lol = String::from("l0: &l0 lol\n");
    for level in 1..10 {
        lol.push_str(&format!(
            "l{level}: &l{level} [{}]\n",
            vec![format!("*l{}", level - 1); 10].join(", ")
        ));
    }
    out.push(("exponential, nine levels".to_owned(), own_with(&lol)));
    // Hidden behind what reads like text elsewhere: a BOM, CRLF line
    // endings, a Latin-1 byte in prose, a comment holding `&`.
    let mut crlf = own_with(&format!(
        "# Terms & conditions *apply*\nx-a: &a {}\nx-b: {}\n",
        flow(5000),
        aliases(5000)
    ));
    crlf = String::from_utf8(crlf)
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(&crlf);
    bom.extend_from_slice(b"x-c: caf\xe9\r\n");
    out.push(("with a BOM, CRLF and a Latin-1 byte".to_owned(), bom));
    // A harmless-looking use: one schema reused through an alias.
    let reuse =
        String::from_utf8(own())
            .unwrap()
            .replacen("    address:\n", "    address: &address\n", 1)
            + "x-copy: *address\n";
    out.push((
        "one schema reused through an alias".to_owned(),
        reuse.into_bytes(),
    ));
    out
}

/// Nesting far past the limit, in flow and block style.
fn deep_nestings() -> Vec<(String, Vec<u8>)> {
    let flow = |open: &str, close: &str, n: usize| {
        own_with(&format!("x-deep: {}{}\n", open.repeat(n), close.repeat(n)))
    };
    let unclosed = |n: usize| own_with(&format!("x-deep: {}\n", "[".repeat(n)));
    let block_maps = |n: usize| {
        let mut text = String::from("x-deep:\n");
        for i in 0..n {
            text.push_str(&format!("{}k:\n", " ".repeat(i + 1)));
        }
        own_with(&text)
    };
    vec![
        ("40k levels of [".to_owned(), flow("[", "]", 40_000)),
        ("1M levels of [".to_owned(), flow("[", "]", 1_000_000)),
        (
            "1M levels of [, never closed".to_owned(),
            unclosed(1_000_000),
        ),
        ("40k levels of {a:".to_owned(), flow("{a: ", "}", 40_000)),
        ("1M levels of [ as JSON".to_owned(), {
            let n = 1_000_000;
            format!(
                "{{\"openapi\":\"3.0.3\",\"x\":{}{}}}",
                "[".repeat(n),
                "]".repeat(n)
            )
            .into_bytes()
        }),
        (
            "100k levels of - on one line".to_owned(),
            own_with(&format!("x-deep: \n  {}x\n", "- ".repeat(100_000))),
        ),
        (
            "1,000 levels of block mappings".to_owned(),
            block_maps(1000),
        ),
    ]
}

/// A hostile file is refused with the expected reason, and neither the
/// vendored file nor its recorded digest changes.
fn assert_refused(name: &str, bytes: &[u8], expected: &str) {
    let dir = Crate::new("hostile");
    let path = dir.root.join("new.yaml");
    std::fs::write(&path, bytes).unwrap();
    let body = dir.root.join("body.md");
    let mut options = dir.options(Input::File(path));
    options.pr_body = Some(body.clone());
    let vendored_before = dir.vendored();
    let source_before = std::fs::read(dir.root.join(SOURCE)).unwrap();
    assert_eq!(run(&options), EXIT_UNUSABLE, "{name}");
    assert_eq!(dir.vendored(), vendored_before, "{name}");
    assert_eq!(
        std::fs::read(dir.root.join(SOURCE)).unwrap(),
        source_before,
        "{name}"
    );
    let body = std::fs::read_to_string(body).unwrap();
    assert!(body.contains("REFUSED"), "{name}: {body}");
    assert!(body.contains(expected), "{name}: {body}");
}

#[test]
fn anchors_and_aliases_are_refused_before_parsing() {
    let bombs = anchor_bombs();
    let reported = &bombs[0].1;
    assert!(
        (24_000..30_000).contains(&reported.len()),
        "{}",
        reported.len()
    );
    for (name, bytes) in &bombs {
        assert!(bytes.len() < 64 * 1024, "{name}: {} bytes", bytes.len());
        assert_refused(name, bytes, "YAML anchor");
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    for (name, bytes) in deep_nestings() {
        // 1M levels opened and closed take 2 MB: over the size limit too.
        let reason = if bytes.len() > normalize::MAX_BYTES {
            "larger than"
        } else {
            "nested deeper than 64 levels"
        };
        assert_refused(&name, &bytes, reason);
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_unread() {
    let mut big = own();
    big.extend(std::iter::repeat_n(b'#', normalize::MAX_BYTES));
    assert_refused("over 1 MiB", &big, "larger than");
}

/// A server on 127.0.0.1 that answers one request with `head`, then drips
/// `drip` one byte every 50 ms for up to 20 s (or until the client leaves).
fn drip(head: &'static str, drip: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = std::io::Read::read(&mut stream, &mut request);
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for byte in drip.iter().cycle().take(400) {
            std::thread::sleep(Duration::from_millis(50));
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
        }
    });
    format!("http://{address}/customer-token.yaml")
}

#[test]
fn one_deadline_covers_the_whole_download() {
    // Each drips a byte every 50 ms, well within any per-read timeout, for
    // 20 s: only a deadline over the whole download stops it at 1 s.
    let cases = [
        (
            "the body",
            drip(
                "HTTP/1.1 200 OK\r\nContent-Type: application/yaml\r\nContent-Length: 400\r\n\r\n",
                b"openapi: 3.0.3\n",
            ),
        ),
        ("the head", drip("HTTP/1.1 200 OK\r\n", b"X-Drip: a\r\n")),
        ("the status line", drip("", b"HTTP/1.1 200 OK")),
        (
            "a chunked body",
            drip(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"1\r\na\r\n",
            ),
        ),
    ];
    // The four downloads run at once (each in a directory of its own):
    // one second in all, not four.
    std::thread::scope(|scope| {
        let runs: Vec<_> = cases
            .into_iter()
            .map(|(name, url)| {
                scope.spawn(move || {
                    let dir = Crate::new("drip");
                    let mut options = dir.options(Input::Url(url));
                    options.timeout = Duration::from_secs(1);
                    let body = dir.root.join("body.md");
                    options.pr_body = Some(body.clone());
                    assert_eq!(run(&options), EXIT_UNUSABLE, "{name}");
                    assert_eq!(dir.vendored(), own(), "{name}");
                    let body = std::fs::read_to_string(body).unwrap();
                    assert!(
                        body.contains("did not complete within 1 s"),
                        "{name}: {body}"
                    );
                })
            })
            .collect();
        for run in runs {
            if let Err(panic) = run.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

#[test]
fn redirects_are_refused_and_never_followed() {
    // Where the redirects point: a server with a usable description, which
    // must see no request.
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_address = target.local_addr().unwrap();
    for (status, location) in [
        (
            "301 Moved Permanently",
            format!("http://{target_address}/x.yaml"),
        ),
        (
            "302 Found",
            format!("http://user:hunter2@{target_address}/x.yaml?token=s3cret"),
        ),
        ("303 See Other", "/elsewhere.yaml".to_owned()),
        (
            "307 Temporary Redirect",
            format!("http://{target_address}/x.yaml"),
        ),
        (
            "308 Permanent Redirect",
            "https://example.com/x.yaml".to_owned(),
        ),
        ("302 Found", "http://[not a url".to_owned()),
    ] {
        let dir = Crate::new("redirect");
        let answer = format!(
            "HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let url = serve(vec![Some(answer.into_bytes())]);
        let mut options = dir.options(Input::Url(url));
        let body = dir.root.join("body.md");
        options.pr_body = Some(body.clone());
        assert_eq!(run(&options), EXIT_UNUSABLE, "{status} {location}");
        assert_eq!(dir.vendored(), own());
        let body = std::fs::read_to_string(body).unwrap();
        assert!(body.contains("follows no redirects"), "{body}");
        assert!(body.contains(&status[..3]), "{body}");
        for secret in ["hunter2", "s3cret", "user"] {
            assert!(!body.contains(secret), "{body}");
        }
    }
    target.set_nonblocking(true).unwrap();
    assert!(
        target.accept().is_err(),
        "the redirect's target was asked for the file"
    );
}

#[test]
fn a_download_over_the_size_limit_is_refused() {
    let dir = Crate::new("large");
    let big = vec![b'#'; normalize::MAX_BYTES + 1];
    let declared = http("200 OK", "application/yaml", &big, big.len());
    let undeclared = Some({
        let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        r.extend_from_slice(&big);
        r
    });
    for answer in [declared, undeclared] {
        let mut options = dir.options(Input::Url(serve(vec![answer])));
        let body = dir.root.join("body.md");
        options.pr_body = Some(body.clone());
        assert_eq!(run(&options), EXIT_UNUSABLE);
        assert_eq!(dir.vendored(), own());
        let body = std::fs::read_to_string(body).unwrap();
        assert!(body.contains("larger than"), "{body}");
    }
}

#[test]
fn urls_are_shown_without_user_info_or_query() {
    for url in [
        serve(vec![ok(&changed())]),
        serve(vec![http("404 Not Found", "text/plain", b"no", 2)]),
    ] {
        let dir = Crate::new("scrub");
        let secret_url = url.replace("http://", "http://user:pa55word@") + "?token=t0ken#frag";
        let mut options = dir.options(Input::Url(secret_url));
        let body = dir.root.join("body.md");
        options.pr_body = Some(body.clone());
        run(&options);
        let body = std::fs::read_to_string(body).unwrap();
        assert!(body.contains(&format!("`{url}`")), "{body}");
        for secret in ["pa55word", "t0ken", "frag", "user"] {
            assert!(!body.contains(secret), "{body}");
        }
    }
    // From SOURCE.toml too.
    let dir = Crate::new("scrub-source");
    let url = serve(vec![ok(&changed())]);
    dir.set_url(&(url.replace("http://", "http://me:pa55word@") + "?sig=t0ken"));
    let body = dir.root.join("body.md");
    let mut options = dir.options(Input::Source);
    options.pr_body = Some(body.clone());
    assert_eq!(run(&options), EXIT_OK);
    let body = std::fs::read_to_string(body).unwrap();
    assert!(body.contains(&format!("`{url}`")), "{body}");
    assert!(
        !body.contains("pa55word") && !body.contains("t0ken"),
        "{body}"
    );
}

#[cfg(unix)]
#[test]
fn vendoring_follows_no_symbolic_link_and_leaves_none_behind() {
    use std::os::unix::fs::symlink;
    let dir = Crate::new("symlink");
    let victim = dir.root.join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let openapi = dir.root.join("openapi");
    // Links planted where temporary files were or could be written: the
    // old fixed names, and names in the temporary files' pattern.
    let planted: Vec<PathBuf> = [
        "customer-token-v1.yaml.tmp",
        "SOURCE.toml.tmp",
        ".customer-token-v1.yaml.tmp",
        ".customer-token-v1.yaml.AAAAAA.tmp",
        ".SOURCE.toml.AAAAAA.tmp",
    ]
    .iter()
    .map(|name| openapi.join(name))
    .collect();
    for link in &planted {
        symlink(&victim, link).unwrap();
    }
    let path = dir.root.join("new.yaml");
    std::fs::write(&path, changed()).unwrap();
    assert_eq!(run(&dir.options(Input::File(path))), EXIT_OK);
    assert_eq!(dir.vendored(), changed());
    assert_eq!(dir.source().sha256, Some(sha256_hex(&changed())));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    for link in &planted {
        assert_eq!(
            std::fs::read_link(link).unwrap(),
            victim,
            "{}",
            link.display()
        );
    }
    // Nothing else is left in the folder: no temporary file.
    let mut names: Vec<String> = std::fs::read_dir(&openapi)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), planted.len() + 2, "{names:?}");

    // The vendored file itself a link: replaced by a file, its target
    // untouched.
    std::fs::remove_file(dir.root.join(VENDORED)).unwrap();
    symlink(&victim, dir.root.join(VENDORED)).unwrap();
    replace_file(&dir.root.join(VENDORED), b"new").unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(
        !std::fs::symlink_metadata(dir.root.join(VENDORED))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(std::fs::read(dir.root.join(VENDORED)).unwrap(), b"new");
}

#[test]
fn a_failed_vendoring_leaves_no_temporary_file() {
    let dir = Crate::new("failed-vendor");
    // The target is a folder: the rename fails.
    let target = dir.root.join("openapi/folder.yaml");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), b"x").unwrap();
    assert!(replace_file(&target, b"new").is_err());
    let names: Vec<String> = std::fs::read_dir(dir.root.join("openapi"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}
