//! The client against a hostile server of its own on 127.0.0.1: endless and
//! huge bodies, echoed secrets in every position, rate-limit headers on
//! every answer, `Retry-After` in every form, malformed heads.

use std::time::Duration;

use crate::support::capture::Capture;
use crate::support::fixtures::{BASIC_B64, PASSWORD, TOKEN, USERNAME, plan_order, token};
use klarna_customer_token_testkit::hostile::{Hostile, Reply};

use klarna_customer_token::clock::{Clock, VirtualClock};
use klarna_customer_token::{
    Client, ClientBuilder, Error, OrderOutcome, RetryPolicy, TransportKind,
};

const MIB: usize = 1024 * 1024;
/// No call in this file may take longer.
const CALL_BOUND: Duration = Duration::from_secs(60);

fn builder(server: &Hostile) -> ClientBuilder {
    Client::builder()
        .basic_auth(USERNAME, PASSWORD)
        .base_url(&server.base_url)
        .attempt_timeout(Duration::from_secs(20))
}

/// A client whose waits cost no real time, retrying twice.
fn retrying(server: &Hostile) -> (Client, VirtualClock) {
    let clock = VirtualClock::new();
    let client = builder(server)
        .clock(clock.clone())
        .retry_policy(RetryPolicy::default().with_max_retries(2))
        .build()
        .expect("client");
    (client, clock)
}

async fn bounded<T>(call: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(CALL_BOUND, call.into_future())
        .await
        .expect("the call ended in time")
}

/// What a user could see of an error: Display, Debug, and the same of every
/// source.
fn shown(e: &Error) -> Vec<String> {
    let mut texts = vec![e.to_string(), format!("{e:?}")];
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    texts
}

// ---------------------------------------------------------------- body cap

#[tokio::test]
async fn an_endless_success_body_is_cut_at_the_cap_and_reported_created() {
    let server = Hostile::start(|_| {
        Reply::endless(
            201,
            &[("content-type", "application/json")],
            r#"{"order_id":"o-1","fraud_status":"ACCEPTED","x":""#,
            b'a',
        )
    })
    .await;
    let (client, clock) = retrying(&server);
    let order = plan_order(1190);
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = bounded(call).await.expect_err("past the cap");
    let Error::UndecodableResponse(u) = &e else {
        panic!("expected an undecodable answer: {e:?}");
    };
    assert_eq!(u.status(), 201);
    assert!(u.body_truncated());
    assert_eq!(u.raw_body().len(), MIB);
    // A 2xx: the order exists, and it is never retried.
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert_eq!(e.attempts(), Some(1));
    assert_eq!(server.requests(), 1);
    assert!(clock.sleeps().is_empty());
    assert!(!e.is_retryable());
    assert_eq!(e.idempotency_key(), Some(&key));
    let text = e.to_string();
    assert!(text.contains("the answer exceeded 1048576 bytes"), "{text}");
    assert!(
        text.contains("do not retry with a new idempotency key"),
        "{text}"
    );
    // The server was stopped long before its 256 MiB bound.
    assert!(server.written() < 64 * MIB as u64, "{}", server.written());
}

#[tokio::test]
async fn a_64_mib_json_answer_is_not_accepted() {
    let prefix = r#"{"status":"ACTIVE","payment_method_type":"CARD"}"#;
    let server = Hostile::start(move |_| {
        Reply::sized(
            200,
            &[("content-type", "application/json")],
            prefix,
            b' ',
            64 * MIB as u64,
            false,
        )
    })
    .await;
    let client = builder(&server).build().expect("client");
    let e = bounded(client.read_token(&token()))
        .await
        .expect_err("64 MiB is past the cap");
    let Error::UndecodableResponse(u) = &e else {
        panic!("{e:?}");
    };
    assert!(u.body_truncated());
    assert!(u.raw_body().starts_with(prefix.as_bytes()));
    assert_eq!(e.order_outcome(), None);
    assert_eq!(server.requests(), 1, "never retried");

    // The same body within a larger cap is decoded.
    let client = builder(&server)
        .max_response_body(65 * MIB)
        .build()
        .expect("client");
    let details = bounded(client.read_token(&token()))
        .await
        .expect("within the cap");
    assert_eq!(details.status().as_str(), "ACTIVE");
}

#[tokio::test]
async fn a_100_mb_error_page_is_cut_and_retried_as_its_status_is() {
    let server = Hostile::start(|_| {
        Reply::sized(
            502,
            &[("content-type", "text/html")],
            "<html><body>bad gateway",
            b'x',
            100_000_000,
            true,
        )
    })
    .await;
    let (client, clock) = retrying(&server);
    let order = plan_order(1190);
    let e = bounded(client.create_order(&token(), &order))
        .await
        .expect_err("502");
    let a = e.api().expect("an API error");
    assert_eq!(a.status(), 502);
    assert!(a.body_truncated());
    assert_eq!(a.raw_body().len(), MIB);
    // A 502 is retried: three attempts, two waits.
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps().len(), 2);
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    let text = e.to_string();
    assert!(text.contains("klarna answered 502"), "{text}");
    assert!(text.contains("<html><body>bad gateway"), "{text}");
    assert!(text.contains("exceeded 1048576 bytes"), "{text}");
    assert!(text.len() < 2000, "{text}");
    assert!(server.written() < 3 * 64 * MIB as u64);
}

#[tokio::test]
async fn a_huge_json_rejection_is_cut_and_not_retried() {
    let server = Hostile::start(|_| {
        Reply::sized(
            400,
            &[("content-type", "application/json")],
            r#"{"error_code":"BAD_VALUE","error_messages":["x"],"pad":""#,
            b'a',
            100_000_000,
            false,
        )
    })
    .await;
    let (client, _clock) = retrying(&server);
    let order = plan_order(1190);
    let e = bounded(
        client
            .create_order(&token(), &order)
            .with_retry_policy(RetryPolicy::default()),
    )
    .await
    .expect_err("400");
    let a = e.api().expect("an API error");
    assert_eq!(a.status(), 400);
    assert!(a.body_truncated());
    // Fields are not read from a body that was cut.
    assert_eq!(a.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(e.attempts(), Some(1));
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert!(e.to_string().contains("exceeded 1048576 bytes"));
}

#[tokio::test]
async fn the_cap_is_settable_and_a_body_at_the_cap_is_whole() {
    let body = r#"{"order_id":"o-1","fraud_status":"ACCEPTED"}"#;
    let server =
        Hostile::start(move |_| Reply::body(200, &[("content-type", "application/json")], body))
            .await;
    let order = plan_order(1190);
    let at_cap = builder(&server)
        .max_response_body(body.len())
        .build()
        .expect("client");
    let created = bounded(at_cap.create_order(&token(), &order))
        .await
        .expect("exactly at the cap");
    assert_eq!(created.order_id(), "o-1");

    let below = builder(&server)
        .max_response_body(body.len() - 1)
        .build()
        .expect("client");
    let e = bounded(below.create_order(&token(), &order))
        .await
        .expect_err("one byte past the cap");
    let Error::UndecodableResponse(u) = &e else {
        panic!("{e:?}");
    };
    assert!(u.body_truncated());
    assert_eq!(u.raw_body(), &body.as_bytes()[..body.len() - 1]);
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    let text = e.to_string();
    assert!(
        text.contains(&format!("exceeded {} bytes", body.len() - 1)),
        "{text}"
    );
}

#[tokio::test]
async fn an_oversized_202_for_cancel_is_an_error() {
    let server =
        Hostile::start(|_| Reply::endless(202, &[("content-type", "text/plain")], "", b'.')).await;
    let client = builder(&server).build().expect("client");
    let e = bounded(client.cancel_token(&token()))
        .await
        .expect_err("past the cap");
    assert!(matches!(e, Error::UndecodableResponse(_)), "{e:?}");
    assert_eq!(server.requests(), 1);
}

// ------------------------------------------------------------ echoed secrets

/// Each character as a JSON `\u` escape.
fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect()
}

/// The secrets in every form a check looks for.
fn secret_forms() -> Vec<String> {
    let mut forms = vec![
        TOKEN.to_owned(),
        USERNAME.to_owned(),
        PASSWORD.to_owned(),
        BASIC_B64.to_owned(),
        BASIC_B64.trim_end_matches('=').to_owned(),
    ];
    for form in forms.clone() {
        forms.push(escaped(&form));
        forms.push(form.to_uppercase());
    }
    forms
}

fn assert_clean(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for secret in secret_forms() {
        assert!(
            !lower.contains(&secret.to_lowercase()),
            "{secret:?} leaked into {what}:\n{text}"
        );
    }
}

#[tokio::test]
async fn echoed_secrets_survive_nowhere() {
    let capture = Capture::default();
    let _guard = capture.install();

    let content_type = format!("application/json; t={TOKEN}; pw={PASSWORD}; b={BASIC_B64}");
    let json_echo = format!(
        concat!(
            r#"{{"error_code":"{pw}","error_messages":["raw {token}","escaped {etoken}","#,
            r#""pw {epw}","basic {b64}","ebasic {eb64}","user {user}"],"#,
            r#""reason":"{etoken} {pw}","fraud_status":"{token}","correlation_id":"{epw}"}}"#
        ),
        pw = PASSWORD,
        token = TOKEN,
        etoken = escaped(TOKEN),
        epw = escaped(PASSWORD),
        b64 = BASIC_B64,
        eb64 = escaped(BASIC_B64),
        user = USERNAME,
    );
    // A page without Klarna's fields: the preview, content type and
    // correlation-id header are shown.
    let page = format!(
        "<html>{TOKEN} {} {PASSWORD} {} {BASIC_B64} {USERNAME} {}</html>",
        escaped(TOKEN),
        escaped(PASSWORD),
        escaped(BASIC_B64)
    );
    // A success whose body a decoder quotes.
    let undecodable = format!(
        r#"{{"order_id":"o-1","fraud_status":"ACCEPTED","authorized_payment_method":"{TOKEN} {PASSWORD}"}}"#
    );
    let success = r#"{"order_id":"o-1","fraud_status":"ACCEPTED"}"#.to_owned();
    let correlation = format!("corr-{TOKEN}-{}-{PASSWORD}", escaped(PASSWORD));
    let answers: Vec<(u16, String, String)> = vec![
        (409, content_type.clone(), json_echo),
        (401, format!("text/html; t={TOKEN}"), page.clone()),
        (503, format!("text/plain; pw={PASSWORD}"), page),
        (200, content_type.clone(), undecodable),
        (200, content_type, success),
    ];
    let script_answers = answers.clone();
    let script_correlation = correlation.clone();
    let server = Hostile::start(move |n| {
        let (status, kind, body) = &script_answers[n % script_answers.len()];
        Reply::body(
            *status,
            &[
                ("content-type", kind.as_str()),
                ("klarna-correlation-id", script_correlation.as_str()),
                ("retry-after", "0"),
            ],
            body.clone(),
        )
    })
    .await;
    let client = builder(&server)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let order = plan_order(1190);
    let mut texts = Vec::new();
    for n in 0..answers.len() {
        match bounded(client.create_order(&token(), &order)).await {
            Err(e) => {
                if let Some(a) = e.api() {
                    texts.push(a.content_type().unwrap_or_default().to_owned());
                    texts.extend(a.error_messages().iter().cloned());
                    texts.extend(a.reason().map(str::to_owned));
                    texts.extend(a.correlation_id().map(str::to_owned));
                    texts.extend(a.error_code().map(|c| c.as_str().to_owned()));
                    texts.extend(a.fraud_status().map(|s| s.as_str().to_owned()));
                }
                texts.extend(shown(&e));
            }
            Ok(created) => {
                assert_eq!(n, answers.len() - 1, "only the last answer is a success");
                texts.push(format!("{created:?}"));
                texts.extend(created.correlation_id().map(str::to_owned));
            }
        }
    }
    assert_eq!(server.requests(), answers.len());
    for text in &texts {
        assert_clean("an error", text);
    }
    let all = texts.join("\n");
    // The decoder quoted the value it rejected, redacted.
    assert!(
        all.contains("invalid type: string \"…9e00 <redacted>\""),
        "{all}"
    );
    // The redacted forms show where the secrets were.
    assert!(all.contains("…9e00"), "{all}");
    assert!(all.contains("<redacted>"), "{all}");
    let logs = capture.text();
    assert!(logs.contains("klarna.attempt"), "no spans logged:\n{logs}");
    assert!(logs.contains("call failed"), "no failure logged:\n{logs}");
    assert_clean("the logs", &logs);
}

// ------------------------------------------------------------ waits

/// Klarna sends `X-Ratelimit-Reset` on every answer; only a 429 or a 503 is
/// a request to wait.
#[tokio::test]
async fn rate_limit_headers_on_every_answer_are_waits_only_on_429_and_503() {
    let with_headers = |status: u16, body: &str| {
        Reply::body(
            status,
            &[
                ("content-type", "application/json"),
                ("x-ratelimit-limit", "50"),
                ("x-ratelimit-remaining", "10"),
                ("x-ratelimit-reset", "30"),
                ("retry-after", "20"),
            ],
            body.to_owned(),
        )
    };
    let server = Hostile::start(move |n| match n {
        0 | 1 => with_headers(502, r#"{"error_code":"BAD_GATEWAY"}"#),
        2 => with_headers(200, r#"{"status":"ACTIVE","payment_method_type":"CARD"}"#),
        3 => with_headers(403, r#"{"error_code":"TOKEN_SUSPENDED"}"#),
        4 => with_headers(500, r#"{"error_code":"INTERNAL"}"#),
        _ => with_headers(409, r#"{"error_code":"CONFLICT"}"#),
    })
    .await;
    let (client, clock) = retrying(&server);
    let token = token();
    bounded(client.read_token(&token))
        .await
        .expect("third attempt");
    // Two backoffs, neither stretched to the headers' 20 or 30 s.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!(
        sleeps.iter().all(|s| *s <= Duration::from_millis(500)),
        "{sleeps:?}"
    );

    let e = bounded(client.read_token(&token)).await.expect_err("403");
    assert_eq!(e.status(), Some(403));
    assert_eq!(e.retry_after(), None);
    assert_eq!(e.api().and_then(|a| a.retry_after()), None);
    assert!(!e.to_string().contains("asked to wait"), "{e}");

    // A 500 is retried with backoff only; the 409 that ends it asks nothing.
    let e = bounded(client.read_token(&token)).await.expect_err("409");
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.retry_after(), None);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3, "{sleeps:?}");
    assert!(sleeps[2] <= Duration::from_millis(250), "{sleeps:?}");
}

#[tokio::test]
async fn on_429_and_503_the_longer_of_both_headers_is_waited() {
    let server = Hostile::start(|n| match n {
        0 => Reply::body(429, &[("retry-after", "2"), ("x-ratelimit-reset", "5")], ""),
        1 => Reply::body(503, &[("retry-after", "7"), ("x-ratelimit-reset", "3")], ""),
        _ => Reply::body(
            200,
            &[("content-type", "application/json")],
            r#"{"status":"ACTIVE","payment_method_type":"CARD"}"#,
        ),
    })
    .await;
    let (client, clock) = retrying(&server);
    bounded(client.read_token(&token()))
        .await
        .expect("after two waits");
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!(
        sleeps[0] >= Duration::from_secs(5) && sleeps[0] < Duration::from_secs(6),
        "{sleeps:?}"
    );
    assert!(
        sleeps[1] >= Duration::from_secs(7) && sleeps[1] < Duration::from_secs(8),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn retry_after_in_every_form() {
    // An HTTP-date is written when its row runs ("@" and the seconds from
    // then), so that the time the earlier rows took does not count.
    // (Retry-After, Some(retry_after()) when the call fails at once, or None
    // when it is waited for (or ignored) and the retry succeeds.)
    let table: Vec<(&str, Option<Duration>)> = vec![
        ("3", None),
        ("0.5", None),
        ("@10", None),
        ("-5", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("61", Some(Duration::from_secs(61))),
        ("1e12", Some(Duration::from_secs(1_000_000_000_000))),
        ("18446744073709551616", Some(Duration::MAX)),
        ("1e20", Some(Duration::MAX)),
        ("1e400", Some(Duration::MAX)),
        ("@600", Some(Duration::from_secs(600))),
    ];
    for (row, fails_with) in table {
        let value = match row.strip_prefix('@') {
            Some(secs) => httpdate::fmt_http_date(
                std::time::SystemTime::now() + Duration::from_secs(secs.parse().expect("seconds")),
            ),
            None => row.to_owned(),
        };
        let header = value.clone();
        let server = Hostile::start(move |n| {
            if n == 0 {
                Reply::body(429, &[("retry-after", &header)], "")
            } else {
                Reply::body(
                    200,
                    &[("content-type", "application/json")],
                    r#"{"status":"ACTIVE","payment_method_type":"CARD"}"#,
                )
            }
        })
        .await;
        let (client, clock) = retrying(&server);
        let result = bounded(client.read_token(&token())).await;
        match fails_with {
            None => {
                result.unwrap_or_else(|e| panic!("{value:?}: {e}"));
                assert_eq!(server.requests(), 2, "{value:?}");
                assert!(clock.now() <= Duration::from_secs(11), "{value:?}");
            }
            Some(asked) => {
                let e = result.expect_err(&value);
                assert_eq!(server.requests(), 1, "{value:?}: failed at once");
                assert!(clock.sleeps().is_empty(), "{value:?}");
                let got = e.retry_after().expect("the asked wait");
                // An HTTP-date loses up to a second to rounding and time.
                assert!(
                    got <= asked && got.saturating_add(Duration::from_secs(2)) >= asked,
                    "{value:?}: {got:?}"
                );
                assert!(e.to_string().contains("asked to wait"), "{e}");
            }
        }
    }
}

#[tokio::test]
async fn a_final_429_is_definitive_but_earlier_ambiguity_stays() {
    let server = Hostile::start(|_| Reply::body(429, &[("retry-after", "1")], "")).await;
    let (client, _clock) = retrying(&server);
    let order = plan_order(1190);
    let e = bounded(client.create_order(&token(), &order))
        .await
        .expect_err("429");
    assert_eq!(e.attempts(), Some(3));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert!(e.is_retryable());

    let server = Hostile::start(|n| match n {
        0 => Reply::body(503, &[], "busy"),
        _ => Reply::body(429, &[], ""),
    })
    .await;
    let (client, _clock) = retrying(&server);
    let e = bounded(client.create_order(&token(), &order))
        .await
        .expect_err("429");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
}

// ------------------------------------------------------------ malformed heads

#[tokio::test]
async fn a_malformed_head_is_an_unreadable_answer() {
    let heads: Vec<Vec<u8>> = vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nthis is no header\r\n\r\n{}".to_vec(),
        b"SMTP 220 ready\r\n\r\n".to_vec(),
        b"HTTP/1.1 abc OK\r\n\r\n".to_vec(),
        [
            b"HTTP/1.1 200 OK\r\nx-big: ".as_slice(),
            &vec![b'a'; 2 * MIB],
            b"\r\n\r\n",
        ]
        .concat(),
    ];
    for head in heads {
        let reply = head.clone();
        let server = Hostile::start(move |_| Reply::Raw(reply.clone())).await;
        let client = builder(&server)
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let order = plan_order(1190);
        let e = bounded(client.create_order(&token(), &order))
            .await
            .expect_err("malformed");
        let preview = String::from_utf8_lossy(&head[..head.len().min(40)]).into_owned();
        let Error::Connection(t) = &e else {
            panic!("{preview:?}: {e:?}");
        };
        assert_eq!(
            t.kind(),
            TransportKind::MalformedResponse,
            "{preview:?}: {e}"
        );
        assert!(t.may_have_been_sent());
        let text = e.to_string();
        assert!(text.contains("the answer could not be read"), "{text}");
        assert!(!text.contains("connection failed"), "{text}");
        assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    }

    // A connection closed without an answer is still a connection failure.
    let server = Hostile::start(|_| Reply::Raw(Vec::new())).await;
    let client = builder(&server)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let e = bounded(client.read_token(&token()))
        .await
        .expect_err("closed");
    let Error::Connection(t) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(t.kind(), TransportKind::Connection, "{e}");
}
