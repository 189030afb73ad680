//! The request URL progenitor's generated code builds (the base URL and the
//! path, each parameter percent-encoded by `encode_path`, formatted and then
//! parsed whole by reqwest) reaches the operation's route with the token
//! intact, for every base URL the client accepts and every token
//! `CustomerToken::new` accepts.

use proptest::prelude::*;

use crate::operation::Operation;
use crate::token::CustomerToken;

/// Base URLs as the client keeps them (`check_base_url` strips a trailing
/// slash; an endpoint's has none).
const BASES: &[&str] = &[
    "http://127.0.0.1:8080",
    "http://127.0.0.1:8080/prefix",
    "http://127.0.0.1:8080/a/b",
    "http://localhost",
    "http://[::1]:9",
    "https://api.klarna.com",
    "https://api-na.playground.klarna.com",
];

/// What the generated code does: format, then parse whole.
fn formatted(base: &str, token: &str, tail: &str) -> reqwest::Url {
    reqwest::Url::parse(&format!(
        "{base}/customer-token/v1/tokens/{}{tail}",
        progenitor_client::encode_path(token)
    ))
    .expect("a URL")
}

/// `%XX` escapes decoded (the test's own reading, independent of the
/// crate's).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// The token's segment of `path`, when `path` is the operation's template
/// with one non-empty segment where the template has `{customerToken}`.
fn token_segment(op: Operation, path: &str) -> Option<&str> {
    let (before, after) = op.path_template().split_once("{customerToken}")?;
    let segment = path.strip_prefix(before)?.strip_suffix(after)?;
    (!segment.is_empty() && !segment.contains('/')).then_some(segment)
}

fn same_for(token: &str) {
    for base in BASES {
        let prefix = reqwest::Url::parse(base).expect("a base").path().to_owned();
        let prefix = prefix.trim_end_matches('/');
        for (op, tail) in [
            (Operation::ReadToken, ""),
            (Operation::CreateOrder, "/order"),
            (Operation::CancelToken, "/status"),
        ] {
            let url = formatted(base, token, tail);
            let path = url
                .path()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{base} {token:?}: {url} keeps the base's path"));
            let sent = token_segment(op, path)
                .unwrap_or_else(|| panic!("{base} {token:?}: {path} is not {op}'s route"));
            assert_eq!(percent_decoded(sent), token, "{base} {op} {url}");
        }
    }
}

#[test]
fn tokens_with_every_printable_ascii_and_more() {
    let tokens = [
        "0b1d9815-165e-42e2-8867-35bc03789e00",
        "a.b",
        "...",
        ".a",
        "a..",
        "tøken€ü",
        "\"<>`{}^|[]",
        "~!$&'()*+,;=:@",
        "日本",
        "a\u{200b}b",
    ];
    for token in tokens {
        assert!(CustomerToken::new(token).is_ok(), "{token:?} is a token");
        same_for(token);
    }
    // Every printable ASCII character a token may hold, one at a time.
    for byte in 0x21u8..0x7f {
        let token = format!("ab{}cd", byte as char);
        if CustomerToken::new(token.as_str()).is_ok() {
            same_for(&token);
        }
    }
}

proptest! {
    #[test]
    fn any_token_the_facade_accepts(token in "\\PC{1,40}") {
        prop_assume!(CustomerToken::new(token.as_str()).is_ok());
        same_for(&token);
    }
}
