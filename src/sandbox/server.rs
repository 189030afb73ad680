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
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::canonical;
use super::state::{Answer, FaultKind, KeyStart, Phase, Shared};
use super::{MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_RECORDED_BYTES, RecordedRequest, credentials};
use crate::error::Operation;
use crate::token::redact_token;

const PREFIX: &str = "/customer-token/v1/tokens/";
use crate::headers::IDEMPOTENCY_KEY as KEY_HEADER;

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
    let body = serde_json::json!({
        "error_code": "SERVICE_UNAVAILABLE",
        "error_messages": ["The sandbox is at its connection limit; every connection is busy"],
        "correlation_id": correlation_id,
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\
         klarna-correlation-id: {correlation_id}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
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
            "BAD_REQUEST",
            "The request line or a header could not be parsed".to_owned(),
        ),
        "414" => ("URI_TOO_LONG", "The request target is too long".to_owned()),
        "431" => (
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            format!("The request head is larger than {MAX_HEAD_BYTES} bytes"),
        ),
        _ => return None,
    };
    let marker = b"klarna-correlation-id:";
    if buf
        .windows(marker.len())
        .any(|w| w.eq_ignore_ascii_case(marker))
    {
        return None;
    }
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::json!({
        "error_code": code,
        "error_messages": [message],
        "correlation_id": correlation_id,
    })
    .to_string();
    Some(Bytes::from(format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\nklarna-correlation-id: {correlation_id}\r\n\r\n{body}",
        body.len()
    )))
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

/// Returned by the handler to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

type Reply = Result<Response<Full<Bytes>>, DropConnection>;

/// The route of a request.
enum Route {
    Read(String),
    Create(String),
    Cancel(String),
    /// A known path with the wrong method.
    WrongMethod(&'static str),
    Unknown,
}

impl Route {
    fn parse(method: &http::Method, path: &str) -> Self {
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return Self::Unknown;
        };
        let (token, tail) = match rest.split_once('/') {
            Some((token, tail)) => (token, Some(tail)),
            None => (rest, None),
        };
        let token = match percent_decode(token) {
            Some(token) if !token.is_empty() => token,
            _ => return Self::Unknown,
        };
        match (tail, method.as_str()) {
            (None, "GET") => Self::Read(token),
            (None, _) => Self::WrongMethod("GET"),
            (Some("order"), "POST") => Self::Create(token),
            (Some("order"), _) => Self::WrongMethod("POST"),
            (Some("status"), "PATCH") => Self::Cancel(token),
            (Some("status"), _) => Self::WrongMethod("PATCH"),
            _ => Self::Unknown,
        }
    }

    fn token(&self) -> Option<&str> {
        match self {
            Self::Read(token) | Self::Create(token) | Self::Cancel(token) => Some(token),
            _ => None,
        }
    }

    fn operation(&self) -> Option<Operation> {
        match self {
            Self::Read(_) => Some(Operation::ReadToken),
            Self::Create(_) => Some(Operation::CreateOrder),
            Self::Cancel(_) => Some(Operation::CancelToken),
            _ => None,
        }
    }
}

pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A path with the token shown by its last four characters: everything
/// between the tokens prefix and a known suffix is the token.
pub(crate) fn redact_path(path: &str) -> String {
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return path.to_owned();
    };
    let (token, tail) = ["/order", "/status"]
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix).map(|token| (token, *suffix)))
        .unwrap_or((rest, ""));
    format!("{PREFIX}{}{tail}", redact_token(token))
}

/// Takes up to `budget` bytes of `text`, cut at a character boundary.
fn take(text: &str, budget: &mut usize, truncated: &mut bool) -> String {
    if text.len() <= *budget {
        *budget -= text.len();
        return text.to_owned();
    }
    *truncated = true;
    let mut end = *budget;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *budget = 0;
    text[..end].to_owned()
}

/// The record of a request: at most [`MAX_RECORDED_BYTES`] of method, path
/// and headers.
fn record(parts: &http::request::Parts) -> RecordedRequest {
    let mut budget = MAX_RECORDED_BYTES;
    let mut truncated = false;
    let method = take(parts.method.as_str(), &mut budget, &mut truncated);
    let path = take(parts.uri.path(), &mut budget, &mut truncated);
    let mut headers = Vec::new();
    for (name, value) in &parts.headers {
        if budget == 0 {
            truncated = true;
            break;
        }
        let name = take(name.as_str(), &mut budget, &mut truncated);
        let value = take(
            &String::from_utf8_lossy(value.as_bytes()),
            &mut budget,
            &mut truncated,
        );
        headers.push((name, value));
    }
    RecordedRequest {
        method,
        path,
        headers,
        truncated,
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Reply {
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    // The admin API is not part of the API under test: no faults, no rate
    // limit, not recorded.
    if let Some(access) = &shared.admin
        && super::admin::is_admin_path(parts.uri.path())
    {
        let answer = super::admin::handle(&shared, access, &parts, body, &correlation_id).await;
        return Ok(finish(answer, &correlation_id));
    }
    shared.record(record(&parts));

    let rate = shared.check_rate();
    let mut reply = match &rate {
        Some(info) if !info.allowed => Ok(finish(
            Answer::error(
                429,
                "TOO_MANY_REQUESTS",
                vec![format!(
                    "Rate limit of {} requests per second exceeded",
                    info.limit
                )],
                &correlation_id,
            ),
            &correlation_id,
        )),
        _ => process(&shared, parts, body, &correlation_id).await,
    };
    if let (Some(info), Ok(response)) = (&rate, reply.as_mut()) {
        let headers = response.headers_mut();
        headers.insert(
            crate::headers::RATELIMIT_LIMIT,
            HeaderValue::from(info.limit),
        );
        headers.insert(
            crate::headers::RATELIMIT_REMAINING,
            HeaderValue::from(info.remaining),
        );
        headers.insert(
            crate::headers::RATELIMIT_RESET,
            HeaderValue::from(info.reset_secs),
        );
    }
    reply
}

async fn process(
    shared: &Arc<Shared>,
    parts: http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Reply {
    let route = Route::parse(&parts.method, parts.uri.path());

    // Faults stand for the network and gateways in front of Klarna: they
    // act before anything else.
    let key = parts.headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
    let fault = shared.take_fault(route.operation(), route.token(), key);
    let mut delay_before = None;
    let mut delay_after = None;
    let mut drop_after = false;
    match fault {
        Some(FaultKind::Status {
            status,
            body,
            content_type,
            headers,
        }) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_TYPE, value);
            }
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            set_correlation(&mut response, correlation_id);
            return Ok(response);
        }
        Some(FaultKind::Drop {
            phase: Phase::BeforeProcessing,
        }) => return Err(DropConnection),
        Some(FaultKind::Drop {
            phase: Phase::AfterProcessing,
        }) => drop_after = true,
        Some(FaultKind::Delay {
            delay,
            phase: Phase::BeforeProcessing,
        }) => delay_before = Some(delay),
        Some(FaultKind::Delay {
            delay,
            phase: Phase::AfterProcessing,
        }) => delay_after = Some(delay),
        None => {}
    }

    let answer = answer(shared, &parts, body, route, delay_before, correlation_id).await;
    if drop_after {
        return Err(DropConnection);
    }
    if let Some(delay) = delay_after {
        tokio::time::sleep(delay).await;
    }
    Ok(finish(answer, correlation_id))
}

/// Works out the answer to an authenticated or unauthenticated request.
async fn answer(
    shared: &Arc<Shared>,
    parts: &http::request::Parts,
    body: Incoming,
    route: Route,
    delay_before: Option<Duration>,
    correlation_id: &str,
) -> Answer {
    // A create-order request with a key waits after claiming its key, so
    // that it is in flight while it waits; everything else waits here.
    let delay_before = match (&route, delay_before) {
        (Route::Create(_), Some(delay)) if parts.headers.contains_key(KEY_HEADER) => Some(delay),
        (_, Some(delay)) => {
            tokio::time::sleep(delay).await;
            None
        }
        (_, None) => None,
    };
    let authorization = match parts.headers.get(http::header::AUTHORIZATION) {
        None => return unauthorized_html(),
        Some(value) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
    };
    if !credentials_valid(&authorization) {
        return Answer::error(
            401,
            "UNAUTHORIZED",
            vec!["The credentials are not valid".to_owned()],
            correlation_id,
        );
    }
    match route {
        Route::Unknown => Answer::error(
            404,
            "NOT_FOUND",
            vec!["No such resource".to_owned()],
            correlation_id,
        ),
        Route::WrongMethod(allowed) => Answer {
            allow: Some(allowed),
            ..Answer::error(
                405,
                "METHOD_NOT_ALLOWED",
                vec![format!("Use {allowed} on this path")],
                correlation_id,
            )
        },
        // Klarna answers an unknown token with NOT_FOUND on read and
        // cancel, TOKEN_NOT_FOUND on create-order.
        Route::Read(token) => match shared.read_token(&token) {
            Some(body) => Answer::json(200, &body),
            None => unknown_token(correlation_id),
        },
        Route::Cancel(token) => {
            let body = match read_json(shared, parts, body, correlation_id).await {
                Ok(body) => body,
                Err(answer) => return answer,
            };
            if canonical::digest(br#"{"status":"CANCELLED"}"#).ok() != Some(body) {
                return Answer::error(
                    400,
                    "BAD_VALUE",
                    vec![r#"status: the body must be {"status":"CANCELLED"}"#.to_owned()],
                    correlation_id,
                );
            }
            if shared.cancel_token(&token) {
                Answer::empty(202)
            } else {
                unknown_token(correlation_id)
            }
        }
        Route::Create(token) => {
            create(
                shared,
                parts,
                body,
                &authorization,
                &token,
                delay_before,
                correlation_id,
            )
            .await
        }
    }
}

async fn create(
    shared: &Arc<Shared>,
    parts: &http::request::Parts,
    body: Incoming,
    authorization: &str,
    token: &str,
    delay_before: Option<Duration>,
    correlation_id: &str,
) -> Answer {
    let raw = match read_body(shared, parts, body, correlation_id).await {
        Ok(raw) => raw,
        Err(answer) => return answer,
    };
    // All an idempotency key keeps of the body: the digest of its canonical
    // form, every field counted, unknown ones too.
    let digest = match canonical::digest(&raw) {
        Ok(digest) => digest,
        Err(e) => return malformed(&e, correlation_id),
    };
    let order = crate::OrderRequest::from_json(&raw).map_err(|e| match e.validation() {
        Some(violations) => violations.to_string(),
        None => e.to_string(),
    });
    let Some(raw_key) = parts.headers.get(KEY_HEADER) else {
        return shared.create_order(token, order, digest, None, correlation_id);
    };
    // The key as the crate's type: 1 to 255 visible ASCII characters, as
    // the client sends it. Anything else is refused, not stored as
    // something else.
    let key = match std::str::from_utf8(raw_key.as_bytes())
        .ok()
        .and_then(|k| crate::IdempotencyKey::new(k).ok())
    {
        Some(key) => key,
        None => {
            return Answer::error(
                400,
                "BAD_REQUEST",
                vec![
                    "Klarna-Idempotency-Key: must be 1 to 255 visible ASCII characters".to_owned(),
                ],
                correlation_id,
            );
        }
    };
    // Scoped by the credentials (whatever the scheme's case), the token and
    // the key.
    let credentials = basic_credentials(authorization).unwrap_or(authorization);
    let id = canonical::digest_parts(&[
        credentials.as_bytes(),
        token.as_bytes(),
        key.as_str().as_bytes(),
    ]);
    loop {
        match shared.begin_key(id, digest) {
            KeyStart::Replay(answer) => return answer,
            KeyStart::Mismatch => {
                return Answer::error(
                    409,
                    super::IDEMPOTENCY_KEY_MISMATCH,
                    vec!["This idempotency key was used with a different request body".to_owned()],
                    correlation_id,
                );
            }
            KeyStart::Wait(mut done) => {
                // Wakes when the first request finishes or is abandoned;
                // then look again.
                let _ = done.wait_for(|finished| *finished).await;
            }
            KeyStart::Fresh(guard) => {
                // Delayed while holding the key: a repeat now waits for it.
                if let Some(delay) = delay_before {
                    tokio::time::sleep(delay).await;
                }
                return shared.create_order(
                    token,
                    order,
                    digest,
                    Some((guard, key)),
                    correlation_id,
                );
            }
        }
    }
}

/// The credentials of a Basic `Authorization` value; the scheme name is
/// matched case-insensitively (RFC 9110, section 11.1).
fn basic_credentials(authorization: &str) -> Option<&str> {
    let (scheme, credentials) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("basic")
        .then(|| credentials.trim_start_matches(' '))
}

fn credentials_valid(authorization: &str) -> bool {
    use base64::Engine as _;
    let Some(value) = basic_credentials(authorization) else {
        return false;
    };
    if value == credentials::API_KEY {
        return true;
    }
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::USERNAME,
        credentials::PASSWORD
    ));
    value == expected
}

fn unauthorized_html() -> Answer {
    Answer {
        status: 401,
        content_type: Some("text/html"),
        allow: None,
        close: false,
        body: Bytes::from_static(
            b"<html><head><title>401 Authorization Required</title></head>\
              <body><h1>401 Authorization Required</h1></body></html>",
        ),
    }
}

/// The answer to reading or cancelling a token the sandbox does not know.
fn unknown_token(correlation_id: &str) -> Answer {
    Answer::error(
        404,
        "NOT_FOUND",
        vec!["Invalid customer-token ID".to_owned()],
        correlation_id,
    )
}

fn malformed(e: &serde_json::Error, correlation_id: &str) -> Answer {
    Answer::error(
        400,
        "BAD_REQUEST",
        vec![format!("The body is not valid JSON: {e}")],
        correlation_id,
    )
}

/// Reads a JSON request body, within the size limit, to the digest of its
/// canonical form.
async fn read_json(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Result<canonical::Digest, Answer> {
    let raw = read_body(shared, parts, body, correlation_id).await?;
    canonical::digest(&raw).map_err(|e| malformed(&e, correlation_id))
}

/// Reads a request body that must be JSON, within the size limit and the
/// body-read timeout.
async fn read_body(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Result<Bytes, Answer> {
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(Answer::error(
            400,
            "BAD_REQUEST",
            vec![format!(
                "The content type must be application/json, got {:?}",
                content_type
            )],
            correlation_id,
        ));
    }
    let too_large = || {
        Answer::error(
            413,
            "PAYLOAD_TOO_LARGE",
            vec![format!("The body is larger than {MAX_BODY_BYTES} bytes")],
            correlation_id,
        )
    };
    // The whole body is read even when it is too large (up to a cap), so
    // that the client, still sending, receives the 413 rather than a reset
    // connection.
    // A client that stops sending gets the 413 after a short pause.
    const DRAIN_CAP: usize = 8 * MAX_BODY_BYTES;
    const DRAIN_PAUSE: Duration = Duration::from_secs(1);
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64);
    // Real time: the sandbox clock does not move it.
    let deadline = tokio::time::Instant::now() + shared.body_read_timeout;
    let mut body = body;
    let mut collected: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    loop {
        let draining = declared_too_large || seen > MAX_BODY_BYTES;
        let wait_until = if draining {
            deadline.min(tokio::time::Instant::now() + DRAIN_PAUSE)
        } else {
            deadline
        };
        let frame = match tokio::time::timeout_at(wait_until, body.frame()).await {
            Ok(frame) => frame,
            Err(_) if draining => break,
            Err(_) => {
                return Err(Answer {
                    close: true,
                    ..Answer::error(
                        408,
                        "REQUEST_TIMEOUT",
                        vec![format!(
                            "The body did not arrive within {} ms",
                            shared.body_read_timeout.as_millis()
                        )],
                        correlation_id,
                    )
                });
            }
        };
        let Some(frame) = frame else { break };
        let Ok(frame) = frame else {
            return Err(Answer::error(
                400,
                "BAD_REQUEST",
                vec!["The body could not be read".to_owned()],
                correlation_id,
            ));
        };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= MAX_BODY_BYTES {
                collected.extend_from_slice(&data);
            } else {
                collected = Vec::new();
                if seen > DRAIN_CAP {
                    break;
                }
            }
        }
    }
    if declared_too_large || seen > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(Bytes::from(collected))
}

fn set_correlation<B>(response: &mut Response<B>, correlation_id: &str) {
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        response
            .headers_mut()
            .insert(crate::headers::CORRELATION_ID, value);
    }
}

fn finish(answer: Answer, correlation_id: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(content_type) = answer.content_type {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
    }
    if let Some(allow) = answer.allow {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    if answer.close {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    set_correlation(&mut response, correlation_id);
    response
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
        assert_eq!(body["error_code"], "REQUEST_HEADER_FIELDS_TOO_LARGE");
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

    #[test]
    fn a_record_keeps_at_most_the_budget_cut_at_a_character() {
        let mut request = http::Request::get("/é".repeat(3000));
        for i in 0..20 {
            request = request.header(format!("x-{i}"), "ü".repeat(400));
        }
        let (parts, ()) = request.body(()).expect("request").into_parts();
        let record = record(&parts);
        let size = record.method.len()
            + record.path.len()
            + record
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        assert!(size <= MAX_RECORDED_BYTES);
        assert!(record.truncated);
        assert!(record.headers.is_empty(), "the path took the budget");
    }
}
