//! Serving the sandbox over HTTP/1.1 with hyper.
//!
//! Connections are served with hyper directly (not through a framework) so
//! that a handler can close its connection without answering, which is how
//! the drop faults work: a service error makes hyper close the connection.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::MAX_HEAD_BYTES;
use super::answer::ErrorBody;
use super::answer::codes;
use super::router::handle;
use super::state::Shared;
use klarna_customer_token::ErrorCode;

/// The connection limits of a running sandbox.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The connection cap in force (see [`connection_cap`]).
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
}

/// The connection cap: the configured one (at least 1), lowered to stay
/// below the process's open-file limit with a margin for everything else
/// the process opens (the listener, files, client sockets).
pub(crate) fn connection_cap(configured: usize) -> usize {
    let configured = configured.max(1);
    match open_file_limit() {
        Some(limit) => {
            let margin = 32 + limit / 16;
            let room = usize::try_from(limit.saturating_sub(margin)).unwrap_or(usize::MAX);
            configured.min(room.max(1))
        }
        None => configured,
    }
}

/// The soft limit on open files, where the platform has one.
fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Open connections: whether each is busy with a request or, since when,
/// waiting for a request head.
#[derive(Default)]
struct Table {
    slots: HashMap<u64, Slot>,
    next: u64,
}

struct Slot {
    /// `None` while a request is being handled.
    idle_since: Option<Instant>,
    abort: Option<tokio::task::AbortHandle>,
}

type Connections = Arc<Mutex<Table>>;

fn lock(table: &Connections) -> MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a new connection may be served.
enum Admission {
    Admitted(u64),
    Refused,
}

impl Table {
    /// Makes room for a new connection: under the cap it is admitted; at
    /// the cap the connection that has waited longest for a request head is
    /// closed to make room; when every connection is busy, it is refused.
    fn admit(&mut self, cap: usize) -> Admission {
        while self.slots.len() >= cap {
            if !self.evict_longest_idle() {
                return Admission::Refused;
            }
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.slots.insert(
            id,
            Slot {
                idle_since: Some(Instant::now()),
                abort: None,
            },
        );
        Admission::Admitted(id)
    }

    /// Closes the connection that has waited longest without a complete
    /// request head; `false` when every connection is busy.
    fn evict_longest_idle(&mut self) -> bool {
        let oldest = self
            .slots
            .iter()
            .filter_map(|(id, slot)| slot.idle_since.map(|since| (since, *id)))
            .min();
        let Some((_, id)) = oldest else {
            return false;
        };
        if let Some(slot) = self.slots.remove(&id)
            && let Some(abort) = slot.abort
        {
            abort.abort();
        }
        true
    }

    fn set_idle(&mut self, id: u64, idle: bool) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.idle_since = idle.then(Instant::now);
        }
    }
}

/// Removes a connection from the table when its task ends.
struct SlotGuard {
    table: Connections,
    id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        lock(&self.table).slots.remove(&self.id);
    }
}

/// Marks a connection busy while a request is handled, idle again after.
struct Busy {
    table: Connections,
    id: u64,
}

impl Busy {
    fn new(table: &Connections, id: u64) -> Self {
        lock(table).set_idle(id, false);
        Self {
            table: Arc::clone(table),
            id,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        lock(&self.table).set_idle(self.id, true);
    }
}

/// Waits between failed accepts: 10 ms, doubling to 1 s, so that running
/// out of file descriptors does not spin the accept loop.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let wait = Self::FIRST
            .saturating_mul(1u32 << self.failures.min(16))
            .min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Where connections come from: the listener, or a stand-in in tests.
pub(crate) trait Acceptor {
    fn accept(&mut self) -> impl Future<Output = std::io::Result<TcpStream>> + Send;
}

impl Acceptor for tokio::net::TcpListener {
    async fn accept(&mut self) -> std::io::Result<TcpStream> {
        tokio::net::TcpListener::accept(self)
            .await
            .map(|(stream, _)| stream)
    }
}

/// Whether an accept failed because the process or system ran out of file
/// descriptors.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE and ENFILE on every Unix the crate builds on.
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(mut listener: impl Acceptor, shared: Arc<Shared>, limits: Limits) {
    // Connections live in this set, so that aborting this task (when the
    // sandbox is dropped) aborts every open connection too.
    let mut tasks = tokio::task::JoinSet::new();
    let table: Connections = Arc::default();
    let mut backoff = Backoff::default();
    loop {
        while tasks.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok(stream) => {
                backoff.reset();
                stream
            }
            // A failed accept (for example too many open files) affects one
            // connection; keep serving, after a pause, and with one idle
            // connection fewer when descriptors ran out.
            Err(e) => {
                if out_of_descriptors(&e) {
                    lock(&table).evict_longest_idle();
                }
                tokio::time::sleep(backoff.next()).await;
                continue;
            }
        };
        let id = match lock(&table).admit(limits.max_connections) {
            Admission::Admitted(id) => id,
            Admission::Refused => {
                refuse(&stream);
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let conn_table = Arc::clone(&table);
        let abort = tasks.spawn(async move {
            let _slot = SlotGuard {
                table: Arc::clone(&conn_table),
                id,
            };
            let service = hyper::service::service_fn(move |request| {
                let busy = Busy::new(&conn_table, id);
                let shared = Arc::clone(&shared);
                async move {
                    let reply = handle(shared, request).await;
                    drop(busy);
                    reply
                }
            });
            // Errors here are closed or dropped connections, some of them
            // injected on purpose, and timed-out heads.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_header_size(MAX_HEAD_BYTES)
                .max_buf_size(MAX_HEAD_BYTES)
                .writev(false)
                .serve_connection(JsonErrors::new(stream), service)
                .await;
        });
        if let Some(slot) = lock(&table).slots.get_mut(&id) {
            slot.abort = Some(abort);
        }
    }
}

/// Answers a connection that cannot be admitted with a 503, if the socket
/// takes it at once, and closes it.
fn refuse(stream: &TcpStream) {
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let body = ErrorBody {
        correlation_id: &correlation_id,
        error_code: &ErrorCode::ServiceUnavailable,
        error_messages: vec![
            "The sandbox is at its connection limit; every connection is busy".to_owned(),
        ],
    }
    .to_bytes();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n{}: 1\r\nconnection: close\r\n\
         {}: {correlation_id}\r\n\r\n",
        body.len(),
        klarna_customer_token::headers::RETRY_AFTER,
        klarna_customer_token::headers::CORRELATION_ID,
    );
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    let _ = stream.try_write(&answer);
}

/// The connection's I/O, with hyper's own answers to heads it cannot parse
/// (400, 414 and 431, sent with an empty body) given a JSON error body like
/// every other answer. The sandbox's own answers always carry a
/// `klarna-correlation-id` header; hyper's never do.
struct JsonErrors {
    inner: TokioIo<TcpStream>,
    /// A replacement being written, and the length of hyper's answer to
    /// report once it is.
    pending: Option<(Bytes, usize)>,
}

impl JsonErrors {
    fn new(stream: TcpStream) -> Self {
        Self {
            inner: TokioIo::new(stream),
            pending: None,
        }
    }
}

/// The JSON answer that replaces hyper's answer in `buf`, if `buf` is one.
fn replace_hyper_answer(buf: &[u8]) -> Option<Bytes> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let status_line = std::str::from_utf8(&buf[..line_end]).ok()?;
    let mut words = status_line.splitn(3, ' ');
    let version = words.next()?;
    let status = words.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let (code, message) = match status {
        "400" => (
            ErrorCode::BadRequest,
            "The request line or a header could not be parsed".to_owned(),
        ),
        "414" => (
            ErrorCode::from(codes::URI_TOO_LONG),
            "The request target is too long".to_owned(),
        ),
        "431" => (
            ErrorCode::from(codes::REQUEST_HEADER_FIELDS_TOO_LARGE),
            format!("The request head is larger than {MAX_HEAD_BYTES} bytes"),
        ),
        _ => return None,
    };
    let marker = format!("{}:", klarna_customer_token::headers::CORRELATION_ID);
    if buf
        .windows(marker.len())
        .any(|w| w.eq_ignore_ascii_case(marker.as_bytes()))
    {
        return None;
    }
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let body = ErrorBody {
        correlation_id: &correlation_id,
        error_code: &code,
        error_messages: vec![message],
    }
    .to_bytes();
    let head = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n{}: {correlation_id}\r\n\r\n",
        body.len(),
        klarna_customer_token::headers::CORRELATION_ID,
    );
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    Some(Bytes::from(answer))
}

impl hyper::rt::Read for JsonErrors {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for JsonErrors {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.pending.is_none()
            && let Some(replacement) = replace_hyper_answer(buf)
        {
            self.pending = Some((replacement, buf.len()));
        }
        let this = &mut *self;
        let Some((rest, reported)) = this.pending.as_mut() else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        while !rest.is_empty() {
            match Pin::new(&mut this.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    let _ = rest.split_to(n.min(rest.len()));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let reported = *reported;
        this.pending = None;
        Poll::Ready(Ok(reported))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An acceptor whose every accept fails as when descriptors run out.
    struct Exhausted {
        calls: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Acceptor for Exhausted {
        async fn accept(&mut self) -> std::io::Result<TcpStream> {
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(std::io::Error::from_raw_os_error(24))
        }
    }

    #[tokio::test]
    async fn failed_accepts_back_off_instead_of_spinning() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let shared = Arc::new(Shared::new(
            super::super::state::Config {
                rate_limit: None,
                rate_window: Duration::from_secs(1),
                retention: super::super::state::Retention {
                    keys: 1,
                    requests: 1,
                    orders: 1,
                },
                body_read_timeout: Duration::from_secs(1),
                admin: None,
                loopback: true,
                notify_allow: Vec::new(),
                max_notifications: 1,
            },
            super::super::SandboxClock::new(None),
            Vec::new(),
        ));
        let limits = Limits {
            max_connections: 1,
            header_read_timeout: Duration::from_secs(1),
        };
        let acceptor = Exhausted {
            calls: Arc::clone(&calls),
        };
        // Real time, no sockets: 400 ms hold the waits 10, 20, 40, 80 and
        // 160 ms, so at most 6 accepts; spinning would make millions.
        let _ =
            tokio::time::timeout(Duration::from_millis(400), serve(acceptor, shared, limits)).await;
        let calls = calls.load(std::sync::atomic::Ordering::Relaxed);
        assert!((1..=8).contains(&calls), "{calls} accepts");
    }

    #[test]
    fn the_backoff_doubles_to_a_ceiling_and_resets() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..10).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        for _ in 0..100 {
            backoff.next();
        }
        assert_eq!(backoff.next(), Backoff::MAX);
        backoff.reset();
        assert_eq!(backoff.next(), Backoff::FIRST);
    }

    #[test]
    fn at_the_cap_the_longest_idle_connection_makes_room() {
        let mut table = Table::default();
        let ids: Vec<u64> = (0..3)
            .map(|_| match table.admit(3) {
                Admission::Admitted(id) => id,
                Admission::Refused => panic!("under the cap"),
            })
            .collect();
        // The first is busy with a request; the second has waited longest
        // of the idle ones.
        table.set_idle(ids[0], false);
        table.set_idle(ids[2], true);
        let Admission::Admitted(fourth) = table.admit(3) else {
            panic!("an idle connection makes room");
        };
        let open: std::collections::BTreeSet<u64> = table.slots.keys().copied().collect();
        assert_eq!(open, [ids[0], ids[2], fourth].into_iter().collect());
        // Every connection busy: refused.
        for id in [ids[2], fourth] {
            table.set_idle(id, false);
        }
        assert!(matches!(table.admit(3), Admission::Refused));
        assert_eq!(table.slots.len(), 3);
    }

    #[test]
    fn the_connection_cap_stays_below_the_open_file_limit() {
        assert_eq!(connection_cap(0), 1.min(connection_cap(1)));
        assert!(connection_cap(8) <= 8);
        if let Some(limit) = open_file_limit() {
            let cap = connection_cap(usize::MAX) as u64;
            assert!(cap < limit, "{cap} of {limit}");
            assert!(cap <= limit - 32 || cap == 1);
        }
    }

    #[test]
    fn only_hyper_s_own_error_answers_are_replaced() {
        let hyper_431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let replaced = replace_hyper_answer(hyper_431).expect("replaced");
        let text = std::str::from_utf8(&replaced).expect("text");
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["error_code"], codes::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert!(replace_hyper_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_some());
        assert!(replace_hyper_answer(b"HTTP/1.1 414 URI Too Long\r\n\r\n").is_some());
        // The sandbox's own answers, and other statuses, are left alone.
        assert!(
            replace_hyper_answer(b"HTTP/1.1 400 Bad Request\r\nklarna-correlation-id: x\r\n\r\n")
                .is_none()
        );
        assert!(replace_hyper_answer(b"HTTP/1.1 200 OK\r\n\r\n").is_none());
        assert!(replace_hyper_answer(b"{\"a\":1}").is_none());
    }
}
