//! A small hostile HTTP/1.1 server on 127.0.0.1: it reads each request and
//! answers with a scripted reply, which may be endless, huge or malformed.
//! Every loop in it is bounded in count and in time.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// One piece of a streamed body.
const PIECE: usize = 64 * 1024;
/// No streamed body goes past this many pieces (256 MiB)…
const MAX_PIECES: u64 = 4096;
/// …nor takes longer than this.
const MAX_STREAM_TIME: Duration = Duration::from_secs(30);
/// The server accepts at most this many connections.
const MAX_CONNECTIONS: usize = 256;

/// What the server answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// These bytes as they are, then the connection is closed.
    Raw(Vec<u8>),
    /// A status and headers, then a body of `total` bytes that starts with
    /// `prefix` and continues with `fill`, written in 64 KiB pieces (chunked
    /// when `chunked`, else with a `Content-Length`). Writing stops when the
    /// client hangs up, at `total`, after 256 MiB or after 30 s.
    Stream {
        /// The status line's code.
        status: u16,
        /// The headers, as they are written.
        headers: Vec<(String, String)>,
        /// The body's first bytes.
        prefix: Vec<u8>,
        /// The byte the body continues with.
        fill: u8,
        /// The body's length, prefix included.
        total: u64,
        /// Chunked transfer coding, else a `Content-Length`.
        chunked: bool,
    },
}

impl Reply {
    /// A complete answer with this body.
    pub fn body(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        Self::Stream {
            status,
            headers: owned(headers),
            total: body.len() as u64,
            prefix: body,
            fill: b' ',
            chunked: false,
        }
    }

    /// A chunked body that never ends (as far as the bounds allow).
    pub fn endless(status: u16, headers: &[(&str, &str)], prefix: &str, fill: u8) -> Self {
        Self::Stream {
            status,
            headers: owned(headers),
            prefix: prefix.as_bytes().to_vec(),
            fill,
            total: u64::MAX,
            chunked: true,
        }
    }

    /// A body of `total` bytes: `prefix`, then `fill`.
    pub fn sized(
        status: u16,
        headers: &[(&str, &str)],
        prefix: &str,
        fill: u8,
        total: u64,
        chunked: bool,
    ) -> Self {
        Self::Stream {
            status,
            headers: owned(headers),
            prefix: prefix.as_bytes().to_vec(),
            fill,
            total,
            chunked,
        }
    }
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// A running server; it stops when dropped.
pub struct Hostile {
    /// `http://127.0.0.1:PORT`, the server's address.
    pub base_url: String,
    requests: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    /// Every request's bytes as read (head, and the body up to its bound),
    /// when started with [`Hostile::recording`].
    recorded: Option<Arc<Mutex<Vec<Vec<u8>>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    /// Starts a server answering request number `n` (0-based) with
    /// `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::launch(script, None).await
    }

    /// Like [`start`](Self::start), and keeps the bytes of every request
    /// read (see [`recorded`](Self::recorded)).
    pub async fn recording(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::launch(script, Some(Arc::default())).await
    }

    async fn launch(
        script: impl Fn(usize) -> Reply + Send + Sync + 'static,
        recorded: Option<Arc<Mutex<Vec<Vec<u8>>>>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let script = Arc::new(script);
        let (count, bytes) = (Arc::clone(&requests), Arc::clone(&written));
        let record = recorded.clone();
        let task = tokio::spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let script = Arc::clone(&script);
                let (count, bytes) = (Arc::clone(&count), Arc::clone(&bytes));
                let record = record.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        MAX_STREAM_TIME + Duration::from_secs(5),
                        serve(stream, script, count, bytes, record),
                    )
                    .await;
                });
            }
        });
        Self {
            base_url,
            requests,
            written,
            recorded,
            task,
        }
    }

    /// How many requests were read.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// How many body bytes were written in all.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// The bytes of every request read so far, in order; empty unless the
    /// server was started with [`Hostile::recording`].
    pub fn recorded(&self) -> Vec<Vec<u8>> {
        self.recorded
            .as_ref()
            .map(|r| r.lock().map(|r| r.clone()).unwrap_or_default())
            .unwrap_or_default()
    }
}

async fn serve(
    mut stream: TcpStream,
    script: Arc<dyn Fn(usize) -> Reply + Send + Sync>,
    count: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    record: Option<Arc<Mutex<Vec<Vec<u8>>>>>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    if let Some(record) = record
        && let Ok(mut record) = record.lock()
    {
        record.push(request);
    }
    let n = count.fetch_add(1, Ordering::SeqCst);
    match script(n) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Stream {
            status,
            headers,
            prefix,
            fill,
            total,
            chunked,
        } => {
            let mut head = format!("HTTP/1.1 {status} Whatever\r\nconnection: close\r\n");
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            if chunked {
                head.push_str("transfer-encoding: chunked\r\n\r\n");
            } else {
                head.push_str(&format!("content-length: {total}\r\n\r\n"));
            }
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let started = std::time::Instant::now();
            let mut sent: u64 = 0;
            let mut prefix = &prefix[..];
            let filler = vec![fill; PIECE];
            for _ in 0..MAX_PIECES {
                if sent >= total || started.elapsed() > MAX_STREAM_TIME {
                    break;
                }
                let want = (total - sent).min(PIECE as u64) as usize;
                let mut piece = Vec::with_capacity(want);
                let from_prefix = prefix.len().min(want);
                piece.extend_from_slice(&prefix[..from_prefix]);
                prefix = &prefix[from_prefix..];
                piece.extend_from_slice(&filler[..want - from_prefix]);
                let ok = if chunked {
                    let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                    framed.extend_from_slice(&piece);
                    framed.extend_from_slice(b"\r\n");
                    stream.write_all(&framed).await.is_ok()
                } else {
                    stream.write_all(&piece).await.is_ok()
                };
                if !ok {
                    return;
                }
                sent += piece.len() as u64;
                written.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
            if chunked && sent >= total {
                let _ = stream.write_all(b"0\r\n\r\n").await;
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// Reads one request head and its `Content-Length` body (both bounded);
/// returns the bytes read, the body cut at its declared length.
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    const MAX_HEAD: usize = 64 * 1024;
    const MAX_BODY: usize = 1024 * 1024;
    let mut buffer = Vec::new();
    let mut piece = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        let read = read_some(stream, &mut piece).await?;
        buffer.extend_from_slice(&piece[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    while buffer.len() - head_end < length {
        let read = read_some(stream, &mut piece).await?;
        buffer.extend_from_slice(&piece[..read]);
    }
    buffer.truncate(head_end + length);
    Some(buffer)
}

/// One read of at least a byte, within 5 s; `None` at the end, on an error
/// or on a timeout.
async fn read_some(stream: &mut TcpStream, piece: &mut [u8]) -> Option<usize> {
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(piece))
        .await
        .ok()?
        .ok()?;
    (read > 0).then_some(read)
}
