//! Serving the sandbox over HTTP/1.1 with hyper.
//!
//! Connections are served with hyper directly (not through a framework) so
//! that a handler can close its connection without answering, which is how
//! the drop faults work: a service error makes hyper close the connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::state::{Answer, FaultKind, KeyStart, Phase, Shared};
use super::{MAX_BODY_BYTES, RecordedRequest, credentials};
use crate::error::Operation;
use crate::token::redact_token;

const PREFIX: &str = "/customer-token/v1/tokens/";
const KEY_HEADER: &str = "klarna-idempotency-key";

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    // Connections live in this set, so that aborting this task (when the
    // sandbox is dropped) aborts every open connection too.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // A failed accept (for example too many open files) affects one
            // connection; keep serving.
            Err(_) => {
                tokio::task::yield_now().await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { handle(shared, request).await }
            });
            // Errors here are closed or dropped connections, some of them
            // injected on purpose.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
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

    fn operation(&self) -> Option<Operation> {
        match self {
            Self::Read(_) => Some(Operation::ReadToken),
            Self::Create(_) => Some(Operation::CreateOrder),
            Self::Cancel(_) => Some(Operation::CancelToken),
            _ => None,
        }
    }
}

fn percent_decode(segment: &str) -> Option<String> {
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

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Reply {
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    shared.record(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    });

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
        headers.insert("x-ratelimit-limit", HeaderValue::from(info.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(info.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(info.reset_secs));
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
    let fault = shared.take_fault(route.operation());
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
        Route::WrongMethod(allowed) => Answer::error(
            405,
            "METHOD_NOT_ALLOWED",
            vec![format!("Use {allowed} on this path")],
            correlation_id,
        ),
        Route::Read(token) => match shared.read_token(&token) {
            Some(body) => Answer::json(200, &body),
            None => token_not_found(correlation_id),
        },
        Route::Cancel(token) => {
            let body = match read_json(parts, body, correlation_id).await {
                Ok(body) => body,
                Err(answer) => return answer,
            };
            if body != serde_json::json!({ "status": "CANCELLED" }) {
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
                token_not_found(correlation_id)
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
    let raw = match read_body(parts, body, correlation_id).await {
        Ok(raw) => raw,
        Err(answer) => return answer,
    };
    let value: Value = match serde_json::from_slice(&raw) {
        Ok(value) => value,
        Err(e) => return malformed(&e, correlation_id),
    };
    let order = crate::OrderRequest::from_json(&raw).map_err(|e| match e.validation() {
        Some(violations) => violations.to_string(),
        None => e.to_string(),
    });
    let key = parts
        .headers
        .get(KEY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(key) = key else {
        return shared.create_order(token, order, value, None, correlation_id);
    };
    let id = (authorization.to_owned(), token.to_owned(), key.clone());
    loop {
        match shared.begin_key(id.clone(), &value) {
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
                    value,
                    Some((guard, key)),
                    correlation_id,
                );
            }
        }
    }
}

fn credentials_valid(authorization: &str) -> bool {
    use base64::Engine as _;
    let Some(value) = authorization.strip_prefix("Basic ") else {
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
        body: Bytes::from_static(
            b"<html><head><title>401 Authorization Required</title></head>\
              <body><h1>401 Authorization Required</h1></body></html>",
        ),
    }
}

fn token_not_found(correlation_id: &str) -> Answer {
    Answer::error(
        404,
        "TOKEN_NOT_FOUND",
        vec!["The customer token does not exist".to_owned()],
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

/// Reads a JSON request body, within the size limit.
async fn read_json(
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Result<Value, Answer> {
    let raw = read_body(parts, body, correlation_id).await?;
    serde_json::from_slice(&raw).map_err(|e| malformed(&e, correlation_id))
}

/// Reads a request body that must be JSON, within the size limit.
async fn read_body(
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
    let mut body = body;
    let mut collected: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = if declared_too_large || seen > MAX_BODY_BYTES {
            match tokio::time::timeout(DRAIN_PAUSE, body.frame()).await {
                Ok(frame) => frame,
                Err(_) => break,
            }
        } else {
            body.frame().await
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
            .insert("klarna-correlation-id", value);
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
    set_correlation(&mut response, correlation_id);
    response
}
