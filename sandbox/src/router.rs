//! Routing a request: the admin API, the rate limit, injected faults, then
//! the operation its method and path name in the route table
//! ([`Operation`]'s method and path template, the one route list).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use super::answer::{Answer, set_correlation};
use super::fault::{FaultKind, Phase};
use super::state::Shared;
use super::wire::{CancelRequest, CancelStatus};
use super::{admin, auth, body, canonical, create, guard, record};
use klarna_customer_token::ErrorCode;
use klarna_customer_token::Operation;
use klarna_customer_token::headers::IDEMPOTENCY_KEY;

/// Returned by the handler to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

pub(crate) type Reply = Result<Response<Full<Bytes>>, DropConnection>;

/// The route of a request.
enum Route {
    /// An operation, for this (percent-decoded) token.
    Found(Operation, String),
    /// A known path with the wrong method: the method it takes.
    WrongMethod(&'static str),
    Unknown,
}

impl Route {
    /// Matches a request against the route table: a path matches an
    /// operation's template when its token segment decodes to a non-empty
    /// string. No two operations share a template, so a path that matches
    /// with another method takes that operation's method only.
    fn parse(method: &http::Method, path: &str) -> Self {
        for operation in Operation::ALL {
            let token = super::path::token_segment(operation, path)
                .and_then(super::path::percent_decode)
                .filter(|token| !token.is_empty());
            let Some(token) = token else {
                continue;
            };
            if method.as_str() == operation.http_method() {
                return Self::Found(operation, token);
            }
            return Self::WrongMethod(operation.http_method());
        }
        Self::Unknown
    }

    fn token(&self) -> Option<&str> {
        match self {
            Self::Found(_, token) => Some(token),
            _ => None,
        }
    }

    fn operation(&self) -> Option<Operation> {
        match self {
            Self::Found(operation, _) => Some(*operation),
            _ => None,
        }
    }
}

/// Answers one request.
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Reply {
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    // On loopback, a request to any other host name is a web page's, through
    // DNS rebinding: refused before anything else, and not recorded.
    if shared.loopback
        && let Err(answer) = guard::check_host(&parts, &correlation_id)
    {
        return Ok(answer.into_response(&correlation_id));
    }
    // The admin API is not part of the API under test: no faults, no rate
    // limit, not recorded.
    if let Some(access) = &shared.admin
        && admin::is_admin_path(parts.uri.path())
    {
        let answer = admin::handle(&shared, access, &parts, body, &correlation_id).await;
        return Ok(answer.into_response(&correlation_id));
    }
    shared.record(record::record(&parts));

    let rate = shared.check_rate();
    let mut reply = match &rate {
        Some(info) if !info.allowed => Ok(Answer::error_one(
            429,
            ErrorCode::TooManyRequests,
            format!("Rate limit of {} requests per second exceeded", info.limit),
            &correlation_id,
        )
        .into_response(&correlation_id)),
        _ => process(&shared, parts, body, &correlation_id).await,
    };
    if let (Some(info), Ok(response)) = (&rate, reply.as_mut()) {
        let headers = response.headers_mut();
        headers.insert(
            klarna_customer_token::headers::RATELIMIT_LIMIT,
            HeaderValue::from(info.limit),
        );
        headers.insert(
            klarna_customer_token::headers::RATELIMIT_REMAINING,
            HeaderValue::from(info.remaining),
        );
        headers.insert(
            klarna_customer_token::headers::RATELIMIT_RESET,
            HeaderValue::from(info.reset_secs),
        );
    }
    reply
}

/// When an injected fault that lets the request through acts.
#[derive(Default)]
struct Steering {
    delay_before: Option<Duration>,
    delay_after: Option<Duration>,
    drop_after: bool,
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
    let key = parts
        .headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok());
    let mut steering = Steering::default();
    match shared.take_fault(route.operation(), route.token(), key) {
        Some(FaultKind::Status {
            status,
            body,
            content_type,
            headers,
        }) => {
            return Ok(fault_response(
                status,
                body,
                &content_type,
                headers,
                correlation_id,
            ));
        }
        Some(FaultKind::Drop {
            phase: Phase::BeforeProcessing,
        }) => return Err(DropConnection),
        Some(FaultKind::Drop {
            phase: Phase::AfterProcessing,
        }) => steering.drop_after = true,
        Some(FaultKind::Delay {
            delay,
            phase: Phase::BeforeProcessing,
        }) => steering.delay_before = Some(delay),
        Some(FaultKind::Delay {
            delay,
            phase: Phase::AfterProcessing,
        }) => steering.delay_after = Some(delay),
        None => {}
    }

    let answer = answer(
        shared,
        &parts,
        body,
        route,
        steering.delay_before,
        correlation_id,
    )
    .await;
    if steering.drop_after {
        return Err(DropConnection);
    }
    if let Some(delay) = steering.delay_after {
        tokio::time::sleep(delay).await;
    }
    Ok(answer.into_response(correlation_id))
}

/// The answer of a status fault: its status, content type, body and extra
/// headers, as given.
fn fault_response(
    status: u16,
    body: String,
    content_type: &str,
    headers: Vec<(String, String)>,
    correlation_id: &str,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = HeaderValue::from_str(content_type) {
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
    response
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
    let keyed_create = matches!(route, Route::Found(Operation::CreateOrder, _))
        && parts.headers.contains_key(IDEMPOTENCY_KEY);
    let delay_before = match delay_before {
        Some(delay) if !keyed_create => {
            tokio::time::sleep(delay).await;
            None
        }
        delay => delay,
    };
    let authorization = match auth::authenticate(&parts.headers, correlation_id) {
        Ok(authorization) => authorization,
        Err(answer) => return answer,
    };
    match route {
        Route::Unknown => {
            Answer::error_one(404, ErrorCode::NotFound, "No such resource", correlation_id)
        }
        Route::WrongMethod(allowed) => Answer::wrong_method(allowed, correlation_id),
        // Klarna answers an unknown token with NOT_FOUND on read and
        // cancel, TOKEN_NOT_FOUND on create-order.
        Route::Found(Operation::ReadToken, token) => match shared.read_token(&token) {
            Some(details) => Answer::json(200, &details),
            None => unknown_token(correlation_id),
        },
        Route::Found(Operation::CancelToken, token) => {
            cancel(shared, parts, body, &token, correlation_id).await
        }
        Route::Found(Operation::CreateOrder, token) => {
            let request = create::Request {
                parts,
                authorization: &authorization,
                token: &token,
                delay_before,
                correlation_id,
            };
            create::create(shared, request, body).await
        }
        // An operation the client learns later, which the sandbox does
        // not serve yet.
        Route::Found(operation, _) => Answer::error_one(
            404,
            ErrorCode::NotFound,
            format!("The sandbox does not serve {operation}"),
            correlation_id,
        ),
    }
}

/// Cancels a token: the body must be `{"status":"CANCELLED"}`.
async fn cancel(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Incoming,
    token: &str,
    correlation_id: &str,
) -> Answer {
    let body = match body::read_json(shared, parts, body, correlation_id).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    // The one body the API takes.
    let expected = serde_json::to_vec(&CancelRequest {
        status: CancelStatus::Cancelled,
    })
    .ok()
    .and_then(|expected| canonical::digest(&expected).ok());
    if expected != Some(body) {
        return Answer::error_one(
            400,
            ErrorCode::BadValue,
            r#"status: the body must be {"status":"CANCELLED"}"#,
            correlation_id,
        );
    }
    if shared.cancel_token(token) {
        Answer::empty(202)
    } else {
        unknown_token(correlation_id)
    }
}

/// The answer to reading or cancelling a token the sandbox does not know.
fn unknown_token(correlation_id: &str) -> Answer {
    Answer::error_one(
        404,
        ErrorCode::NotFound,
        "Invalid customer-token ID",
        correlation_id,
    )
}
