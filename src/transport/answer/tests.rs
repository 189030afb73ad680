//! Unit tests of `answer`.
#![allow(clippy::result_large_err)] // the generated code's own result type

use super::*;
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

fn answer(status: u16, body: &'static [u8], truncated: bool) -> Answer {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        CORRELATION_ID,
        HeaderValue::from_str(&format!("id-{TOKEN}")).expect("header"),
    );
    Answer {
        status,
        headers,
        body: Bytes::from_static(body),
        truncated,
    }
}

/// The final answer as the attempt loop hands it over, and the reading
/// of what the generated code made of it.
async fn read<E>(
    operation: Operation,
    answer: Answer,
    generated: impl FnOnce(
        reqwest::Response,
    )
        -> Result<progenitor_client::ResponseValue<u32>, progenitor_client::Error<E>>,
) -> Result<Success<u32>, Error> {
    let shared = shared();
    let token = CustomerToken::new(TOKEN).expect("token");
    let mut tally = Tally {
        attempts: 1,
        ..Tally::default()
    };
    let response = hand_over(answer, &mut tally);
    let reading = Reading {
        shared: &shared,
        operation,
        token: &token,
        tally,
        key: None,
    };
    reading
        .settle(generated(response), decode_u32)
        .resolved()
        .await
}

/// The generated code makes `Error<()>` for an operation whose error
/// responses declare no body; the reading takes it as any other.
#[tokio::test(flavor = "current_thread")]
async fn an_error_answer_passes_the_generated_code_whole() {
    type Unit = progenitor_client::Error<()>;
    let not_found = answer(404, br#"{"error_code":"TOKEN_NOT_FOUND"}"#, false);
    let e = read(Operation::ReadToken, not_found, |response| {
        assert_eq!(response.status().as_u16(), STAND_IN_STATUS);
        Err::<_, Unit>(progenitor_client::Error::UnexpectedResponse(response))
    })
    .await
    .err()
    .expect("an error");
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.error_code().map(|c| c.as_str()), Some("TOKEN_NOT_FOUND"));
    assert_eq!(e.correlation_id(), Some("id-…9e00"));

    let e = read(Operation::ReadToken, answer(200, b"7", false), |_| {
        Err::<progenitor_client::ResponseValue<u32>, Unit>(
            progenitor_client::Error::InvalidRequest(format!("bad {TOKEN}")),
        )
    })
    .await
    .err()
    .expect("an error");
    assert!(matches!(e, Error::Connection(_)), "{e:?}");
    assert!(!e.to_string().contains(TOKEN), "{e}");
}

/// A whole 2xx answer goes to the generated decoder with its body moved
/// in; what it cannot decode is read again from the same bytes.
#[tokio::test(flavor = "current_thread")]
async fn a_success_body_reaches_the_generated_decoder() {
    let success = read(Operation::ReadToken, answer(200, b"7", false), |response| {
        assert_eq!(response.status().as_u16(), 200);
        // The headers stay behind: the generated code would copy them.
        assert!(response.headers().is_empty());
        Err::<progenitor_client::ResponseValue<u32>, _>(progenitor_client::Error::<
            crate::error::ErrorBody,
        >::InvalidResponsePayload(
            Bytes::from_static(b"7"),
            serde_json::from_str::<u32>("x").expect_err("not json"),
        ))
    })
    .await;
    let Ok(success) = success else {
        panic!("not decoded");
    };
    assert_eq!(success.value, 7);
    assert_eq!(success.correlation_id.as_deref(), Some("id-…9e00"));
}

#[tokio::test(flavor = "current_thread")]
async fn an_oversized_answer_is_an_error_whatever_its_status() {
    let e = read(
        Operation::CreateOrder,
        answer(202, b"{}", true),
        |response| {
            Err::<progenitor_client::ResponseValue<u32>, _>(
                progenitor_client::Error::<()>::UnexpectedResponse(response),
            )
        },
    )
    .await
    .err()
    .expect("an error");
    let Error::UndecodableResponse(u) = &e else {
        panic!("{e:?}");
    };
    assert!(u.body_truncated());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert!(e.to_string().contains("exceeded 1048576 bytes"), "{e}");
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
