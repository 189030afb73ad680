//! The `klarna-token` binary, run as a user would, against an in-process
//! sandbox on 127.0.0.1: every single-call subcommand and exit code.

use crate::support::{ORDER, against, run, sandbox_env, temp_dir, write};
use klarna_customer_token::{CustomerToken, IdempotencyKey, Operation, TokenStatus};
use klarna_customer_token_sandbox::{Fault, Sandbox, credentials, tokens};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_commands_and_exit_codes() {
    let out = run(&["--help"], &[], None).await;
    assert_eq!(out.code, 0);
    for text in [
        "read TOKEN",
        "cancel TOKEN",
        "order TOKEN --file ORDER.json",
        "validate ORDER.json",
        "batch FILE.jsonl --journal JOURNAL.jsonl --namespace NS",
        "0  success",
        "1  usage or invalid input",
        "2  not done for another reason",
        "3  may have been created",
        "4  configuration",
        "in the order 4, 3, 1,\n    2, 0",
        "KLARNA_USERNAME and KLARNA_PASSWORD, or KLARNA_API_KEY",
    ] {
        assert!(
            out.stdout.contains(text),
            "--help lacks {text:?}:\n{}",
            out.stdout
        );
    }
    for args in [
        &[][..],
        &["frobnicate"],
        &["read"],
        &["read", "t-12345678", "--yes"],
        &["order", "t-12345678"],
        &[
            "--endpoint",
            "kustom",
            "--base-url",
            "http://127.0.0.1:1",
            "read",
            "t-12345678",
        ],
    ] {
        let out = run(args, &[], None).await;
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("error: "), "{args:?}: {out:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_shows_status_and_payment_method() {
    let sandbox = Sandbox::start().await.unwrap();
    let out = against(&sandbox, &["read", tokens::ACTIVE_CARD], None).await;
    assert_eq!(out.code, 0, "{out:?}");
    // The user typed the token: it is shown as given.
    assert!(
        out.stdout
            .contains(&format!("token:          {}", tokens::ACTIVE_CARD)),
        "{out:?}"
    );
    assert!(out.stdout.contains("status:         ACTIVE"), "{out:?}");
    assert!(out.stdout.contains("payment method: CARD"), "{out:?}");
    assert!(out.stdout.contains("card:"), "{out:?}");

    let out = against(&sandbox, &["read", tokens::SUSPENDED, "--json"], None).await;
    assert_eq!(out.code, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["status"], "SUSPENDED");
    assert_eq!(json["token"], tokens::SUSPENDED);

    // An unknown token: not found, stop charging, exit 2.
    let out = against(&sandbox, &["read", "no-such-token-9876"], None).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("stop charging"), "{out:?}");
    let out = against(&sandbox, &["read", "no-such-token-9876", "--json"], None).await;
    assert_eq!(out.code, 2, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["error"]["status"], 404);
    assert_eq!(json["exit_code"], 2);
    assert!(!out.all().contains(credentials::PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_problems_exit_4_and_never_show_secrets() {
    let sandbox = Sandbox::start().await.unwrap();
    let url = sandbox.base_url();
    let secret = "hunter2-very-secret-password";
    let read = ["--base-url", url.as_str(), "read", tokens::ACTIVE_CARD];
    // No credentials, half of them, both kinds.
    for env in [
        &[][..],
        &[("KLARNA_USERNAME", credentials::USERNAME)],
        &[("KLARNA_PASSWORD", secret)],
        &[
            ("KLARNA_API_KEY", secret),
            ("KLARNA_USERNAME", "u"),
            ("KLARNA_PASSWORD", secret),
        ],
    ] {
        let out = run(&read, env, None).await;
        assert_eq!(out.code, 4, "{env:?}: {out:?}");
        assert!(!out.all().contains(secret), "{out:?}");
    }
    // No server, an unknown endpoint, a plain-http host beyond loopback.
    let env = sandbox_env();
    for args in [
        &["read", tokens::ACTIVE_CARD][..],
        &["--endpoint", "klarna-mars", "read", tokens::ACTIVE_CARD],
        &[
            "--base-url",
            "http://example.com",
            "read",
            tokens::ACTIVE_CARD,
        ],
    ] {
        let out = run(args, &env, None).await;
        assert_eq!(out.code, 4, "{args:?}: {out:?}");
    }
    let out = run(
        &["--endpoint", "klarna-mars", "read", "t-12345678"],
        &env,
        None,
    )
    .await;
    assert!(out.stderr.contains("klarna-playground-eu"), "{out:?}");
    // The server refuses the credentials: 401, fix the configuration.
    let out = run(
        &read,
        &[
            ("KLARNA_USERNAME", credentials::USERNAME),
            ("KLARNA_PASSWORD", secret),
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("fix the configuration"), "{out:?}");
    assert!(!out.all().contains(secret), "{out:?}");
    // An API key works as well.
    let out = run(&read, &[("KLARNA_API_KEY", credentials::API_KEY)], None).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.all().contains(credentials::API_KEY), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_asks_unless_yes_and_says_it_cannot_be_undone() {
    let sandbox = Sandbox::start().await.unwrap();
    let card = CustomerToken::new(tokens::ACTIVE_CARD).unwrap();
    for answer in [None, Some("no\n"), Some("")] {
        let out = against(&sandbox, &["cancel", tokens::ACTIVE_CARD], answer).await;
        assert_eq!(out.code, 1, "{answer:?}: {out:?}");
        assert!(out.stderr.contains("cannot be undone"), "{out:?}");
        assert!(out.stderr.contains("not cancelled"), "{out:?}");
        assert_eq!(sandbox.token_status(&card), Some(TokenStatus::Active));
    }
    let out = against(&sandbox, &["cancel", tokens::ACTIVE_CARD], Some("yes\n")).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("cancelled customer token"), "{out:?}");
    assert_eq!(sandbox.token_status(&card), Some(TokenStatus::Cancelled));

    let invoice = CustomerToken::new(tokens::ACTIVE_INVOICE).unwrap();
    let out = against(
        &sandbox,
        &["cancel", tokens::ACTIVE_INVOICE, "--yes", "--json"],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["cancelled"], true);
    assert_eq!(sandbox.token_status(&invoice), Some(TokenStatus::Cancelled));

    let out = against(&sandbox, &["cancel", "no-such-token-9876", "--yes"], None).await;
    assert_eq!(out.code, 2, "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_validates_prints_and_sends_only_with_yes() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = temp_dir("order");
    let file = write(&dir, "order.json", ORDER);
    let card = tokens::ACTIVE_CARD;

    // Without --yes: totals and a key, nothing sent, and it works offline.
    let out = run(&["order", card, "--file", &file], &[], None).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("order_amount:     1190"), "{out:?}");
    assert!(out.stdout.contains("order_tax_amount: 190"), "{out:?}");
    assert!(out.stdout.contains("key:"), "{out:?}");
    assert!(out.stdout.contains("not sent"), "{out:?}");
    assert!(sandbox.orders().is_empty());
    assert!(sandbox.requests().is_empty());

    // With --yes and a key: created once, and again with the same key only replayed.
    let key = IdempotencyKey::for_charge("support", "ticket-77", 1);
    for _ in 0..2 {
        let out = against(
            &sandbox,
            &[
                "order",
                card,
                "--file",
                &file,
                "--key",
                key.as_str(),
                "--yes",
            ],
            None,
        )
        .await;
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("created order"), "{out:?}");
        assert!(out.stdout.contains(key.as_str()), "{out:?}");
    }
    assert_eq!(sandbox.orders_with_key(&key).len(), 1);

    // The answer is lost on every attempt: exit 3, the outcome, the next
    // step and the key to reuse; reusing it charges once.
    let key = IdempotencyKey::for_charge("support", "ticket-78", 1);
    sandbox.inject(
        Fault::drop_after_processing()
            .with_operation(Operation::CreateOrder)
            .with_key(&key)
            .with_times(3),
    );
    let out = against(
        &sandbox,
        &[
            "order",
            card,
            "--file",
            &file,
            "--key",
            key.as_str(),
            "--yes",
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("outcome:   the order may have been created"),
        "{out:?}"
    );
    assert!(out.stderr.contains("next step: reconcile"), "{out:?}");
    assert!(
        out.stderr.contains(&format!("--key {key} --yes")),
        "{out:?}"
    );
    let out = against(
        &sandbox,
        &[
            "order",
            card,
            "--file",
            &file,
            "--key",
            key.as_str(),
            "--yes",
            "--json",
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["order"]["idempotency_key"], key.as_str());
    assert_eq!(sandbox.orders_with_key(&key).len(), 1, "charged once");

    // Not created: a suspended token (exit 2), a BAD_VALUE refusal (exit 1).
    let out = against(
        &sandbox,
        &["order", tokens::SUSPENDED, "--file", &file, "--yes"],
        None,
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("ask the customer"), "{out:?}");
    assert!(
        out.stderr.contains("outcome:   the order was not created"),
        "{out:?}"
    );
    sandbox.inject(
        Fault::status(
            400,
            r#"{"error_code":"BAD_VALUE","error_messages":["order_amount"]}"#,
        )
        .with_operation(Operation::CreateOrder),
    );
    let out = against(&sandbox, &["order", card, "--file", &file, "--yes"], None).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("fix the request"), "{out:?}");

    // An invalid order: every violation with its path, nothing sent.
    let before = sandbox.requests().len();
    let bad = write(
        &dir,
        "bad.json",
        &ORDER.replace("\"total_amount\":1190", "\"total_amount\":1000"),
    );
    let out = against(&sandbox, &["order", card, "--file", &bad, "--yes"], None).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("order_lines[0].total_amount"),
        "{out:?}"
    );
    let out = against(
        &sandbox,
        &["order", card, "--file", &file, "--key", "bad key", "--yes"],
        None,
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(sandbox.requests().len(), before, "nothing sent");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_is_offline_and_lists_every_violation() {
    let dir = temp_dir("validate");
    let good = write(&dir, "good.json", ORDER);
    let out = run(&["validate", &good], &[], None).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("valid"), "{out:?}");

    let bad = ORDER
        .replace("\"quantity\":1", "\"quantity\":\"one\"")
        .replace(
            "\"purchase_currency\":\"EUR\"",
            "\"purchase_currency\":\"EURO\"",
        );
    let bad = write(&dir, "bad.json", &bad);
    let out = run(&["validate", &bad], &[], None).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("order_lines[0].quantity"), "{out:?}");
    assert!(out.stderr.contains("purchase_currency"), "{out:?}");
    let out = run(&["validate", &bad, "--json"], &[], None).await;
    assert_eq!(out.code, 1, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(json["violations"].as_array().unwrap().len() >= 2, "{json}");

    // Unknown fields are sent as given, refused only with --strict.
    let extra = write(
        &dir,
        "extra.json",
        &ORDER.replacen('{', r#"{"locale":"de-DE","#, 1),
    );
    assert_eq!(run(&["validate", &extra], &[], None).await.code, 0);
    let out = run(&["validate", &extra, "--strict"], &[], None).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("locale"), "{out:?}");

    let missing = dir.join("missing.json");
    let out = run(&["validate", &missing.to_string_lossy()], &[], None).await;
    assert_eq!(out.code, 1, "{out:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The forms in which a server could echo a secret: percent-encoded (upper
/// and lower hex, `+` for a space), base64 (standard and URL-safe, padded
/// or not), HTML references (decimal, hex, named) and JSON `\u` escapes.
fn echoed_forms(secret: &str) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let percent = |upper: bool, plus: bool| -> String {
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
    vec![
        ("as is", secret.to_owned()),
        ("percent, upper", percent(true, false)),
        ("percent, lower", percent(false, false)),
        ("form", percent(true, true)),
        (
            "percent, every byte",
            secret.bytes().map(|b| format!("%{b:02x}")).collect(),
        ),
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
                .map(|c| format!("&#x{:X};", c as u32))
                .collect(),
        ),
        (
            "html, named",
            secret
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;"),
        ),
        (
            "json",
            secret
                .encode_utf16()
                .map(|u| format!("\\u{u:04x}"))
                .collect(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_echoing_the_password_in_any_encoding_never_shows_it() {
    use klarna_customer_token_testkit::hostile::{Hostile, Reply};
    let username = "K123456_abcd12345";
    let password = "p4ss w<rd&\"s3cr+t/é";
    for (name, encoded) in echoed_forms(password) {
        // Klarna's JSON error body, and an HTML page from a gateway.
        let json = serde_json::json!({
            "error_code": "UNAUTHORIZED",
            "error_messages": [format!("bad credentials: {encoded}")],
            "correlation_id": format!("corr-{encoded}"),
        })
        .to_string();
        let html = format!("<html><body><p>denied for {encoded}</p></body></html>");
        for (content_type, body) in [("application/json", json), ("text/html", html)] {
            let server = Hostile::start(move |_| {
                Reply::body(401, &[("Content-Type", content_type)], body.clone())
            })
            .await;
            let env = [("KLARNA_USERNAME", username), ("KLARNA_PASSWORD", password)];
            for json_flag in [false, true] {
                let mut args = vec!["--base-url", server.base_url.as_str(), "read"];
                args.push(tokens::ACTIVE_CARD);
                if json_flag {
                    args.push("--json");
                }
                let out = run(&args, &env, None).await;
                assert_eq!(out.code, 4, "{name} {content_type}: {out:?}");
                let all = out.all();
                assert!(
                    !all.contains(&encoded) && !all.contains(password),
                    "{name} {content_type} json={json_flag}: {all}"
                );
                assert!(all.contains("<redacted>"), "{name} {content_type}: {all}");
            }
            assert_eq!(server.requests(), 2, "{name}");
        }
    }
}
