//! Unit tests of `answer`.
#![allow(clippy::result_large_err)] // the generated code's own result type

use super::*;
use crate::transport::DEFAULT_MAX_RESPONSE_BODY;
use std::sync::Arc;

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

fn shared() -> Arc<Shared> {
    let client = crate::Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url("http://127.0.0.1:9")
        .build()
        .expect("client");
    Arc::clone(client.shared())
}

fn decode_u32(body: &[u8]) -> Result<u32, serde_path_to_error::Error<serde_json::Error>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de)
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        CORRELATION_ID,
        HeaderValue::from_str(&format!("id-{TOKEN}")).expect("header"),
    );
    headers
}

/// An attempt of `operation`, whose hook recorded `head` of its answer.
fn attempt(operation: Operation, head: Option<super::super::Head>) -> Attempt {
    let token = CustomerToken::new(TOKEN).expect("token");
    let attempt = Attempt::new(&shared(), operation, 1, Duration::from_secs(1), &token);
    if let Some(head) = head {
        assert!(attempt.head.set(head).is_ok(), "set once");
    }
    attempt
}

/// What the generated code returned, read as the retry loop reads its last
/// attempt.
async fn read(attempt: &Attempt, generated: Generated<u32>) -> Result<Success<u32>, Error> {
    let answered = Answered::read(generated, attempt).await;
    let reading = Reading {
        shared: &attempt.shared,
        operation: attempt.operation,
        token: &attempt.token,
        tally: Tally {
            attempts: 1,
            ambiguous: false,
        },
        key: None,
    };
    reading.finish(answered, decode_u32)
}

/// The raw bytes of an error answer, as the generated code hands them on.
fn stream(body: &'static [u8]) -> progenitor_client::ByteStream {
    let response = reqwest::Response::from(http::Response::new(Bytes::from_static(body)));
    progenitor_client::ByteStream::new(Box::pin(response.bytes_stream()))
}

/// An error status reaches the facade as progenitor's `ErrorResponse`,
/// status and headers intact, and Klarna's fields are read from its bytes.
#[tokio::test(flavor = "current_thread")]
async fn an_error_answer_keeps_its_status_headers_and_bytes() {
    let attempt = attempt(Operation::ReadToken, None);
    let value = progenitor_client::ResponseValue::new(
        stream(br#"{"error_code":"TOKEN_NOT_FOUND"}"#),
        reqwest::StatusCode::NOT_FOUND,
        headers(),
    );
    let e = read(
        &attempt,
        Err(progenitor_client::Error::ErrorResponse(value)),
    )
    .await
    .err()
    .expect("an error");
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.error_code().map(|c| c.as_str()), Some("TOKEN_NOT_FOUND"));
    assert_eq!(e.correlation_id(), Some("id-…9e00"));

    // A gateway's page: not JSON, still an answer with its status.
    let value = progenitor_client::ResponseValue::new(
        stream(b"<html>bad gateway</html>"),
        reqwest::StatusCode::BAD_GATEWAY,
        HeaderMap::new(),
    );
    let e = read(
        &attempt,
        Err(progenitor_client::Error::ErrorResponse(value)),
    )
    .await
    .err()
    .expect("an error");
    let api = e.api().expect("an API error");
    assert_eq!(api.status(), 502);
    assert_eq!(api.raw_body(), b"<html>bad gateway</html>");

    let e = read(
        &attempt,
        Err(progenitor_client::Error::InvalidRequest(format!(
            "bad {TOKEN}"
        ))),
    )
    .await
    .err()
    .expect("an error");
    assert!(matches!(e, Error::Connection(_)), "{e:?}");
    assert!(!e.to_string().contains(TOKEN), "{e}");
}

/// A success body the generated decoder refused keeps, through what the
/// hook recorded, the status and correlation id progenitor's
/// `InvalidResponsePayload` drops; it is read again from the same bytes.
#[tokio::test(flavor = "current_thread")]
async fn a_refused_success_body_keeps_its_head() {
    let head = super::super::Head {
        status: 200,
        correlation_id: headers().get(CORRELATION_ID).cloned(),
        cut: None,
    };
    let attempt = attempt(Operation::ReadToken, Some(head.clone()));
    let refused = |body: &'static [u8]| {
        Err(progenitor_client::Error::InvalidResponsePayload(
            Bytes::from_static(body),
            serde_json::from_str::<u32>("x").expect_err("not json"),
        ))
    };
    let success = read(&attempt, refused(b"7")).await;
    let Ok(success) = success else {
        panic!("not decoded");
    };
    assert_eq!(success.value, 7);
    assert_eq!(success.status, 200);
    assert_eq!(success.correlation_id.as_deref(), Some("id-…9e00"));

    let e = read(&attempt, refused(b"\"x\""))
        .await
        .err()
        .expect("an error");
    let Error::UndecodableResponse(u) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(u.status(), 200);
    assert_eq!(e.correlation_id(), Some("id-…9e00"));
    assert_eq!(u.raw_body(), b"\"x\"");
}

#[tokio::test(flavor = "current_thread")]
async fn an_oversized_answer_is_an_error_whatever_its_status() {
    let cap = DEFAULT_MAX_RESPONSE_BODY;
    let long = Bytes::from(vec![b' '; cap + 1]);
    // An undeclared 202, one byte past the cap.
    let undeclared = attempt(Operation::CreateOrder, None);
    let mut response = http::Response::new(long.clone());
    *response.status_mut() = reqwest::StatusCode::ACCEPTED;
    let e = read(
        &undeclared,
        Err(progenitor_client::Error::UnexpectedResponse(
            reqwest::Response::from(response),
        )),
    )
    .await
    .err()
    .expect("an error");
    let Error::UndecodableResponse(u) = &e else {
        panic!("{e:?}");
    };
    assert!(u.body_truncated());
    assert_eq!(u.raw_body().len(), cap);
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert!(e.to_string().contains("exceeded 1048576 bytes"), "{e}");

    // A declared 200 whose first bytes decoded: still past the cap.
    let head = super::super::Head {
        status: 200,
        correlation_id: None,
        cut: Some(long),
    };
    let padded = attempt(Operation::CreateOrder, Some(head));
    let decoded =
        progenitor_client::ResponseValue::new(7, reqwest::StatusCode::OK, HeaderMap::new());
    let e = read(&padded, Ok(decoded)).await.err().expect("an error");
    let Error::UndecodableResponse(u) = &e else {
        panic!("{e:?}");
    };
    assert!(u.body_truncated());
    assert_eq!(e.status(), Some(200));
}

fn chunked(chunks: Vec<&'static [u8]>) -> reqwest::Response {
    let stream = futures_util_stream(chunks);
    reqwest::Response::from(http::Response::new(reqwest::Body::wrap_stream(stream)))
}

/// A stream of chunks, without a stream crate.
fn futures_util_stream(
    chunks: Vec<&'static [u8]>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static {
    struct Chunks(std::collections::VecDeque<&'static [u8]>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.pop_front().map(|c| Ok(Bytes::from_static(c))))
        }
    }
    Chunks(chunks.into())
}

#[tokio::test(flavor = "current_thread")]
async fn bodies_are_read_up_to_the_cap() {
    // (frames, cap, kept, cut)
    type Case = (Vec<&'static [u8]>, usize, &'static [u8], bool);
    let cases: &[Case] = &[
        (vec![], 4, b"", false),
        (vec![b"abcd"], 4, b"abcd", false),
        (vec![b"abcde"], 4, b"abcd", true),
        (vec![b"ab", b"cd"], 4, b"abcd", false),
        (vec![b"ab", b"cd", b"e"], 4, b"abcd", true),
        (vec![b"abcd", b"e"], 4, b"abcd", true),
        (vec![b"ab", b"", b"cdef"], 4, b"abcd", true),
        (vec![b"a"], 0, b"", true),
        (vec![b"", b""], 0, b"", false),
    ];
    for (chunks, limit, kept, truncated) in cases {
        let (body, cut) = read_capped(&mut chunked(chunks.clone()), *limit, None)
            .await
            .expect("read");
        assert_eq!((&body[..], cut), (*kept, *truncated), "{chunks:?} {limit}");
        assert!(body.len() <= *limit);
    }
    // A declared length is allocated once; a lying one is still capped.
    let (body, cut) = read_capped(&mut chunked(vec![b"ab", b"cdef"]), 5, Some(3))
        .await
        .expect("read");
    assert_eq!((&body[..], cut), (&b"abcde"[..], true));
}

#[test]
fn buffers_grow_within_the_cap() {
    let limit = 1024 * 1024;
    let mut buffer = Vec::new();
    let mut len = 0;
    while len < limit {
        len = (len + 10_000).min(limit);
        reserve(&mut buffer, len, limit);
        assert!(buffer.capacity() >= len && buffer.capacity() <= limit);
        buffer.resize(len, 0);
    }
    assert_eq!(buffer.capacity(), limit);
}
