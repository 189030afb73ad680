//! The sandbox's connection limits, on real sockets and real time (short
//! timeouts set for each test; never tokio's paused time): lying and
//! endless bodies are cut off, dripping heads time out, and a legitimate
//! request is answered while more than the connection cap's worth of idle
//! and dripping connections is held.

use crate::support;
use support::{PREFIX, basic_header};

use std::time::Duration;

use klarna_customer_token::{CustomerToken, RetryPolicy, TokenStatus};
use klarna_customer_token_sandbox::{Sandbox, tokens};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const TEST_BOUND: Duration = Duration::from_secs(60);
/// How long a test waits for the sandbox to answer or close.
const PATIENCE: Duration = Duration::from_secs(10);
const CAP: usize = 8;

async fn within<F: Future>(body: F) -> F::Output {
    support::within_for(TEST_BOUND, body).await
}

/// The head of a create-order request with this framing header.
fn create_head(framing: &str) -> Vec<u8> {
    format!(
        "POST {PREFIX}{}/order HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\n{framing}\r\n\r\n",
        tokens::ACTIVE_INVOICE,
        basic_header()
    )
    .into_bytes()
}

async fn connect(sandbox: &Sandbox) -> TcpStream {
    TcpStream::connect(sandbox.addr()).await.expect("connect")
}

/// Reads until the sandbox closes the connection; `None` when it has not
/// within `PATIENCE`.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&reply).into_owned()),
            Ok(Ok(n)) => reply.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client with one attempt per call and a fresh connection pool.
fn client(sandbox: &Sandbox) -> klarna_customer_token::Client {
    sandbox
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

async fn read_status(sandbox: &Sandbox) -> TokenStatus {
    let token = CustomerToken::new(tokens::ACTIVE_CARD).expect("token");
    client(sandbox)
        .read_token(&token)
        .await
        .expect("a legitimate request is answered")
        .status()
        .clone()
}

#[tokio::test]
async fn a_content_length_that_lies_is_cut_off_with_408() {
    within(async {
        let sandbox = Sandbox::builder()
            .body_read_timeout(Duration::from_millis(300))
            .start()
            .await
            .expect("starts");
        let mut stream = connect(&sandbox).await;
        stream
            .write_all(&create_head("Content-Length: 5000"))
            .await
            .expect("write");
        stream.write_all(b"{\"purchase").await.expect("write");
        // The connection stays open for writing: only the sandbox can end it.
        let reply = read_until_closed(&mut stream)
            .await
            .expect("the sandbox closes the connection");
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
        assert!(reply.contains("REQUEST_TIMEOUT"), "{reply}");
        assert!(reply.contains("connection: close"), "{reply}");
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_chunked_body_that_never_ends_is_cut_off() {
    within(async {
        let sandbox = Sandbox::builder()
            .body_read_timeout(Duration::from_millis(500))
            .start()
            .await
            .expect("starts");
        let stream = connect(&sandbox).await;
        let (mut read, mut write) = stream.into_split();
        write
            .write_all(&create_head("Transfer-Encoding: chunked"))
            .await
            .expect("write");
        // One space every 20 ms, for at most 10 s: a body that never ends.
        let dripper = tokio::spawn(async move {
            for _ in 0..500 {
                if write.write_all(b"1\r\n \r\n").await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            false
        });
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, read.read(&mut buf)).await {
                Err(_) => panic!("the endless body was not cut off"),
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => reply.extend_from_slice(&buf[..n]),
            }
        }
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
        // The writer notices the closed connection.
        let noticed = tokio::time::timeout(PATIENCE, dripper)
            .await
            .expect("the dripper ends")
            .expect("task");
        assert!(noticed, "the sandbox stopped reading");
    })
    .await;
}

#[tokio::test]
async fn a_head_that_drips_or_never_comes_is_closed() {
    within(async {
        let sandbox = Sandbox::builder()
            .header_read_timeout(Duration::from_millis(300))
            .start()
            .await
            .expect("starts");
        // Idle: not a byte.
        let mut idle = connect(&sandbox).await;
        // Dripping: one header byte every 50 ms, for at most 5 s.
        let dripping = connect(&sandbox).await;
        let (mut drip_read, mut drip_write) = dripping.into_split();
        let dripper = tokio::spawn(async move {
            let _ = drip_write
                .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await;
            for _ in 0..100 {
                if drip_write.write_all(b"X").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let reply = read_until_closed(&mut idle).await.expect("idle closed");
        assert!(reply.is_empty(), "closed without an answer: {reply}");
        let mut buf = [0u8; 256];
        let closed = tokio::time::timeout(PATIENCE, drip_read.read(&mut buf))
            .await
            .expect("the dripping connection is closed");
        assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
        dripper.abort();
        // A prompt request is still served on a fresh connection.
        assert_eq!(read_status(&sandbox).await, TokenStatus::Active);
    })
    .await;
}

/// More than the cap's worth of idle and dripping connections, with long
/// timeouts, so that only the cap's eviction can make room.
#[tokio::test]
async fn a_legitimate_request_is_answered_while_idle_and_dripping_connections_are_held() {
    within(async {
        let sandbox = Sandbox::builder()
            .max_connections(CAP)
            .start()
            .await
            .expect("starts");
        assert_eq!(sandbox.max_connections(), CAP);
        let mut held = Vec::new();
        for i in 0..(CAP + 4) {
            let mut stream = connect(&sandbox).await;
            if i % 2 == 1 {
                // Dripping: part of a head.
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    .await
                    .expect("write");
            }
            held.push(stream);
            // Let the sandbox accept it before the next one.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..3 {
            assert_eq!(read_status(&sandbox).await, TokenStatus::Active);
        }
        // The oldest held connections were closed to make room: the four
        // past the cap, and one for the first legitimate connection (the
        // later ones may reuse the slot a finished client left).
        let mut closed = 0;
        for stream in &mut held {
            let mut buf = [0u8; 64];
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await
            {
                closed += 1;
            }
        }
        assert!(closed > 4, "{closed} held connections closed");
        assert!(closed < held.len(), "the newest are still open");
    })
    .await;
}

/// When every connection is busy with a request, a new one is refused;
/// once they finish, the sandbox serves again.
#[tokio::test]
async fn only_when_every_connection_is_busy_is_a_new_one_refused() {
    within(async {
        let sandbox = Sandbox::builder()
            .max_connections(CAP)
            .body_read_timeout(Duration::from_secs(30))
            .start()
            .await
            .expect("starts");
        let mut busy = Vec::new();
        for _ in 0..CAP {
            let mut stream = connect(&sandbox).await;
            stream
                .write_all(&create_head("Content-Length: 1000"))
                .await
                .expect("write");
            busy.push(stream);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Give the sandbox time to read every head.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut refused = connect(&sandbox).await;
        let reply = read_until_closed(&mut refused)
            .await
            .expect("refused at once");
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 503 "),
            "{reply}"
        );
        if !reply.is_empty() {
            assert!(reply.contains("retry-after: 1"), "{reply}");
            assert!(reply.contains("SERVICE_UNAVAILABLE"), "{reply}");
        }
        let token = CustomerToken::new(tokens::ACTIVE_CARD).expect("token");
        assert!(client(&sandbox).read_token(&token).await.is_err());
        // The busy requests end (their clients go away): room again.
        drop(busy);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if client(&sandbox).read_token(&token).await.is_ok() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sandbox did not recover"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
