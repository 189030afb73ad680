//! A minimal HTTP/1.1 server for the benchmarks and the memory example:
//! it reads a request (headers and a Content-Length body) and answers a
//! fixed 200 JSON body, keeping the connection alive. It is not the sandbox,
//! so that its cost stays small and the same for every client measured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connections accepted so far by every server of this process: a client
/// that reuses its pooled connections adds none per call.
pub static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// [`ACCEPTED`], read.
pub fn accepted() -> u64 {
    ACCEPTED.load(Ordering::Relaxed)
}

/// The answer to a create-order request.
pub const ORDER_BODY: &str = r#"{"order_id":"f3392f8b-6116-4073-ab96-e330819e2c07","fraud_status":"ACCEPTED","redirect_url":"https://credit.klarna.com/v1/sessions/x/redirect","authorized_payment_method":{"type":"invoice","number_of_days":14}}"#;
/// The answer to any other request.
pub const TOKEN_BODY: &str = r#"{"payment_method_type":"INVOICE","status":"ACTIVE"}"#;

/// Binds on loopback, serves in the background, returns the base URL.
pub async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener));
    format!("http://{addr}")
}

/// Like [`start`], and every request's bytes (head and body, as received)
/// are sent on the returned channel: for checking that two clients send the
/// same bytes. Not for measuring.
pub async fn start_capturing() -> (String, mpsc::Receiver<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (requests, received) = mpsc::channel();
    tokio::spawn(serve_with(listener, Some(requests)));
    (format!("http://{addr}"), received)
}

/// A minimal HTTP/1.1 server: reads a request (headers and a
/// Content-Length body), answers a fixed 200 JSON body, keeps the
/// connection alive. Its cost is the same for both sides.
pub async fn serve(listener: tokio::net::TcpListener) {
    serve_with(listener, None).await
}

async fn serve_with(listener: tokio::net::TcpListener, capture: Option<mpsc::Sender<Vec<u8>>>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        ACCEPTED.fetch_add(1, Ordering::Relaxed);
        let capture = capture.clone();
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(8192);
            let mut chunk = [0u8; 8192];
            loop {
                // Read one request.
                let (head_end, length) = loop {
                    if let Some(end) = find(&buf, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                while buf.len() < head_end + length {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let is_order = buf.starts_with(b"POST");
                if let Some(capture) = &capture {
                    let _ = capture.send(buf[..head_end + length].to_vec());
                }
                buf.drain(..head_end + length);
                let body = if is_order { ORDER_BODY } else { TOKEN_BODY };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
