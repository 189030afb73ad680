use super::*;

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

fn secrets() -> Vec<SecretString> {
    vec![
        SecretString::from("SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA=="),
        SecretString::from("shared-secret"),
        SecretString::from("K123456_abcd12345"),
    ]
}

fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect()
}

#[test]
fn every_form_is_replaced() {
    let secrets = secrets();
    let s = Scrubber::new(TOKEN, "…9e00", &secrets);
    let inputs = [
        format!("token {TOKEN} end"),
        format!("token {} end", TOKEN.to_uppercase()),
        format!("token {} end", escaped(TOKEN)),
        format!("pw {} end", escaped("shared-secret")),
        // Escaped twice, and partly.
        format!("pw {} end", escaped("shared-secret").replace('\\', "\\\\")),
        "pw shared-s\\u0065cret end".to_owned(),
        "auth SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA== end".to_owned(),
        "auth SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA\\u003d\\u003d end".to_owned(),
        "user K123456\\u005fabcd12345 end".to_owned(),
    ];
    for input in inputs {
        let out = s.scrub(&input);
        let lower = out.to_ascii_lowercase();
        for secret in [
            TOKEN,
            "shared-secret",
            "k123456_abcd12345",
            "6c2hhcmvklxnly3jlda",
        ] {
            assert!(
                !lower.contains(&secret.to_ascii_lowercase()),
                "{input} -> {out}"
            );
        }
        assert!(out.ends_with(" end"), "{input} -> {out}");
        assert!(out.contains("…9e00") || out.contains(REDACTED), "{out}");
    }
}

#[test]
fn text_without_secrets_is_unchanged() {
    let secrets = secrets();
    let s = Scrubber::new(TOKEN, "…9e00", &secrets);
    for text in ["", "plain", "a \\u0041 \\n \\", "ü€😀 \\ud83d\\ude00"] {
        assert_eq!(s.scrub(text), text);
    }
}

#[test]
fn long_values_are_cut_and_a_secret_at_the_cut_is_hidden_whole() {
    let secrets = secrets();
    let s = Scrubber::new(TOKEN, "…9e00", &secrets);
    for offset in MAX_SHOWN_BYTES - 40..MAX_SHOWN_BYTES + 5 {
        let text = format!(
            "{}{}{}",
            "x".repeat(offset),
            escaped("shared-secret"),
            "y".repeat(5000)
        );
        let out = s.scrub(&text);
        assert!(out.ends_with('…'), "{offset}");
        assert!(
            out.len() <= MAX_SHOWN_BYTES + REDACTED.len() + 3,
            "{offset}"
        );
        // No prefix of the escaped secret is left at the cut.
        assert!(!out.contains("\\u0073\\u0068"), "{offset}: {out}");
    }
}

#[test]
fn preview_is_short_single_line_and_bounded() {
    let secrets = secrets();
    let s = Scrubber::new(TOKEN, "…9e00", &secrets);
    let body = format!(
        "<html>\n  <p>{TOKEN}</p>\n{}</html>",
        "word ".repeat(100_000)
    );
    let out = s.preview(body.as_bytes());
    assert!(out.starts_with("<html> <p>…9e00</p> word"), "{out}");
    assert!(out.chars().count() <= PREVIEW_CHARS + 1);
    assert!(out.ends_with('…'));
    assert!(!out.contains('\n'));
}

#[test]
fn no_secrets_means_no_work() {
    let s = Scrubber::new("", "…", &[]);
    assert_eq!(s.scrub("abc"), "abc");
}

/// Every encoding the scrub knows, applied to `secret`: the family of
/// forms a hostile or careless server could echo it in.
pub(super) fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let every_byte = |upper: bool| -> String {
        secret
            .bytes()
            .map(|b| {
                if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    };
    let component = |upper: bool, plus: bool| -> String {
        secret
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' if plus => "+".to_owned(),
                _ if upper => format!("%{b:02X}"),
                _ => format!("%{b:02x}"),
            })
            .collect()
    };
    let json =
        |text: &str| -> String { text.encode_utf16().map(|u| format!("\\u{u:04x}")).collect() };
    let named: String = secret
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let percent = component(true, false);
    vec![
        ("as is", secret.to_owned()),
        ("percent, every byte, upper", every_byte(true)),
        ("percent, every byte, lower", every_byte(false)),
        ("percent, component, upper", percent.clone()),
        ("percent, component, lower", component(false, false)),
        ("form, + for space", component(true, true)),
        ("base64", STANDARD.encode(secret)),
        ("base64, unpadded", STANDARD_NO_PAD.encode(secret)),
        ("base64url", URL_SAFE.encode(secret)),
        ("base64url, unpadded", URL_SAFE_NO_PAD.encode(secret)),
        (
            "html, decimal",
            secret.chars().map(|c| format!("&#{};", c as u32)).collect(),
        ),
        (
            "html, hex",
            secret
                .chars()
                .map(|c| format!("&#x{:x};", c as u32))
                .collect(),
        ),
        (
            "html, HEX",
            secret
                .chars()
                .map(|c| format!("&#X{:X};", c as u32))
                .collect(),
        ),
        ("html, named", named.clone()),
        ("json \\u", json(secret)),
        ("json \\u of percent", json(&percent)),
        ("percent of html", {
            let html: String = secret.chars().map(|c| format!("&#{};", c as u32)).collect();
            html.replace('&', "%26")
                .replace('#', "%23")
                .replace(';', "%3B")
        }),
        ("html named inside json", json(&named)),
    ]
}

#[test]
fn base64_forms_are_listed_once() {
    let forms = encoded_forms("shared-secret");
    assert_eq!(forms[0], "shared-secret");
    assert!(forms.contains(&"c2hhcmVkLXNlY3JldA==".to_owned()));
    assert!(forms.contains(&"c2hhcmVkLXNlY3JldA".to_owned()));
    // No `+` or `/` in it: the URL-safe forms are the same strings.
    assert_eq!(forms.len(), 3);
    assert_eq!(encoded_forms("a?>?").len(), 5);
}

#[test]
fn urls_are_shown_without_user_information_or_query() {
    for (url, shown) in [
        (
            "https://user:pass@api.example:8443/v1/x?key=s3cret#frag",
            "https://api.example:8443/v1/x",
        ),
        ("http://127.0.0.1:9/", "http://127.0.0.1:9/"),
        ("http://u:p@[bad host/x?y", "http://[bad host/x"),
        ("not a url?secret", "not a url"),
    ] {
        assert_eq!(shown_url(url), shown, "{url}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Each secret, in each encoding the scrub knows, inside a JSON
    /// error body, is never shown, and the text around it is.
    #[test]
    fn every_encoding_of_a_secret_is_scrubbed(
        secret in "[A-Za-z0-9 &<>\"'+/=%:é€😀_.-]{4,20}",
        token in "[a-f0-9-]{8,36}",
    ) {
        let lower = secret.to_lowercase();
        proptest::prop_assume!(!REDACTED.contains(lower.as_str()));
        proptest::prop_assume!(!r#"{"error_messages":["denied: !"]}"#.contains(lower.as_str()));
        proptest::prop_assume!(!lower.contains(token.as_str()) && !token.contains(lower.as_str()));
        proptest::prop_assume!(!"token  end".contains(lower.as_str()));
        // As the client lists a credential: itself and its base64.
        let secrets: Vec<SecretString> =
            encoded_forms(&secret).into_iter().map(SecretString::from).collect();
        let redacted = format!("…{}", &token[token.len() - 4..]);
        let s = Scrubber::new(&token, &redacted, &secrets);
        for (name, encoded) in encodings(&secret) {
            let body = format!(r#"{{"error_messages":["denied: {encoded}!"]}}"#);
            let out = s.scrub(&body);
            proptest::prop_assert!(!out.contains(&encoded), "{name}: {body} -> {out}");
            proptest::prop_assert!(
                !out.to_lowercase().contains(&secret.to_lowercase()),
                "{name}: {body} -> {out}"
            );
            proptest::prop_assert!(out.starts_with(r#"{"error_messages":["denied: "#), "{name}: {out}");
            proptest::prop_assert!(out.ends_with(r#"!"]}"#), "{name}: {out}");
            proptest::prop_assert!(out.contains(REDACTED), "{name}: {out}");
        }
        // The token, in its own forms, is redacted to its last four.
        for (name, encoded) in encodings(&token) {
            let out = s.scrub(&format!("token {encoded} end"));
            proptest::prop_assert!(!out.contains(&encoded), "{name}: {out}");
            proptest::prop_assert!(out.contains(&redacted), "{name}: {out}");
        }
    }
}

#[test]
fn scrubbing_a_hostile_window_stays_bounded() {
    // Every layer of every decoder has something to do, everywhere.
    let secrets = secrets();
    let s = Scrubber::new(TOKEN, "…9e00", &secrets);
    let text = "%25&amp;\\u0025+".repeat(10_000);
    let out = s.scrub(&text);
    assert!(out.len() <= MAX_SHOWN_BYTES + 3, "{}", out.len());
    assert!(out.ends_with('…'));
}
