//! The request URL built from segments is the URL progenitor's formatted
//! string parses to, for every base URL the client accepts and every token
//! `CustomerToken::new` accepts.

use proptest::prelude::*;

use super::url_with;
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

/// What progenitor's generated code did: format, then parse whole.
fn formatted(base: &str, token: &str, tail: &str) -> reqwest::Url {
    reqwest::Url::parse(&format!(
        "{base}/customer-token/v1/tokens/{}{tail}",
        progenitor_client::encode_path(token)
    ))
    .expect("a URL")
}

/// As the client does: the prefix parsed onto the base once, then the rest.
fn built(base: &str, token: &str, tail: Option<&str>) -> reqwest::Url {
    let base = reqwest::Url::parse(base).expect("a base");
    let prefix = url_with(&base, &["customer-token", "v1", "tokens"]).expect("prefix");
    let mut rest = vec![token];
    rest.extend(tail);
    url_with(&prefix, &rest).expect("built")
}

fn same_for(token: &str) {
    for base in BASES {
        assert_eq!(
            built(base, token, None),
            formatted(base, token, ""),
            "{base} {token:?}"
        );
        for tail in ["order", "status"] {
            assert_eq!(
                built(base, token, Some(tail)),
                formatted(base, token, &format!("/{tail}")),
                "{base} {token:?} {tail}"
            );
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
