//! The admin API under `/__sandbox/`: steering a sandbox over HTTP, for
//! billing code written in any language. JSON in and out; every request
//! body is bounded ([`MAX_ADMIN_BODY_BYTES`]) and read within the body-read
//! timeout. Described in `openapi/sandbox-admin.yaml` of this crate.
//!
//! No web page may use it (see `guard`): a request from a foreign
//! `Origin` is refused (403), as is, on loopback, one to a foreign `Host`;
//! every request but `GET` and `DELETE`, and any with a body, must be
//! `Content-Type: application/json` (415).

mod json;

use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde::Serialize;

use super::answer::Answer;
use super::auth::Access;
use super::review::DecisionError;
use super::state::Shared;
use super::{Fault, SandboxToken};
use json::{
    AdvanceSpec, DecisionSpec, FaultSpec, FaultView, NotificationView, OrderView, RequestView,
    StatusSpec, TokenJson,
};
use klarna_customer_token::ErrorCode;
use klarna_customer_token::IdempotencyKey;

pub(crate) use json::parse_tokens;

/// The prefix of every admin path.
pub(crate) const ADMIN_PREFIX: &str = "/__sandbox/";

/// The largest admin request body (64 KiB).
pub(crate) const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024;

/// Whether a path belongs to the admin API.
pub(crate) fn is_admin_path(path: &str) -> bool {
    path == "/__sandbox" || path.starts_with(ADMIN_PREFIX)
}

fn bad_request(message: String, correlation_id: &str) -> Answer {
    Answer::error_one(400, ErrorCode::BadRequest, message, correlation_id)
}

/// Reads an admin request body: at most [`MAX_ADMIN_BODY_BYTES`], within
/// the body-read timeout (real time), parsed as `T` with the JSON path of
/// what is wrong.
async fn read_json<T: serde::de::DeserializeOwned>(
    shared: &Shared,
    body: Incoming,
    correlation_id: &str,
) -> Result<T, Answer> {
    let limited = http_body_util::Limited::new(body, MAX_ADMIN_BODY_BYTES);
    let collected = tokio::time::timeout(shared.body_read_timeout, limited.collect()).await;
    let raw = match collected {
        Err(_) => {
            return Err(super::body::timed_out(
                shared.body_read_timeout,
                correlation_id,
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Answer::error_one(
                413,
                ErrorCode::PayloadTooLarge,
                format!("An admin request body is at most {MAX_ADMIN_BODY_BYTES} bytes"),
                correlation_id,
            )
            .closing());
        }
        Ok(Err(_)) => {
            return Err(bad_request(
                "The body could not be read".to_owned(),
                correlation_id,
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let mut de = serde_json::Deserializer::from_slice(&raw);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        bad_request(format!("{path}: {}", e.inner()), correlation_id)
    })?;
    de.end()
        .map_err(|e| bad_request(format!("trailing data: {e}"), correlation_id))?;
    Ok(value)
}

/// The query's pairs, refusing any name not in `allowed`.
fn query(
    uri: &http::Uri,
    allowed: &[&str],
    correlation_id: &str,
) -> Result<Vec<(String, String)>, Answer> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
    if let Some((name, _)) = pairs.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
        return Err(bad_request(
            format!(
                "query: unknown parameter {name:?} (known: {})",
                allowed.join(", ")
            ),
            correlation_id,
        ));
    }
    Ok(pairs)
}

fn ok<T: Serialize + ?Sized>(body: &T) -> Answer {
    Answer::json(200, body)
}

/// An admin request: what each resource's handler reads.
struct Call<'a> {
    shared: &'a Shared,
    parts: &'a http::request::Parts,
    method: &'a str,
    correlation_id: &'a str,
}

impl Call<'_> {
    fn wrong_method(&self, allow: &'static str) -> Answer {
        Answer::wrong_method(allow, self.correlation_id)
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, body: Incoming) -> Result<T, Answer> {
        read_json(self.shared, body, self.correlation_id).await
    }
}

/// Answers one admin request.
pub(crate) async fn handle(
    shared: &Shared,
    access: &Access,
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Answer {
    // A web page's request: refused before anything is read or done.
    if let Err(answer) = super::guard::check_origin(&parts.headers, correlation_id) {
        return answer;
    }
    if !access.allows(&parts.headers) {
        return Answer::error_one(
            401,
            ErrorCode::Unauthorized,
            "The admin API needs Authorization: Bearer <the admin token>",
            correlation_id,
        );
    }
    if let Err(answer) = super::guard::check_admin_content_type(parts, correlation_id) {
        return answer;
    }
    let path = parts.uri.path();
    let rest = path.strip_prefix(ADMIN_PREFIX).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').collect();
    let call = Call {
        shared,
        parts,
        method: parts.method.as_str(),
        correlation_id,
    };
    match segments.as_slice() {
        ["tokens"] => tokens(&call, body).await,
        ["tokens", id, "status"] => token_status(&call, id, body).await,
        ["faults"] => faults(&call, body).await,
        ["orders"] => orders(&call),
        ["orders", id, "fraud-decision"] => fraud_decision(&call, id, body).await,
        ["notifications"] => notifications(&call),
        ["requests"] => requests(&call),
        ["clock"] => clock(&call),
        ["clock", "advance"] => advance(&call, body).await,
        ["reset"] => reset(&call),
        _ => Answer::error_one(
            404,
            ErrorCode::NotFound,
            format!(
                "No admin resource at {path}: see tokens, tokens/{{id}}/status, faults, orders, \
                 orders/{{order_id}}/fraud-decision, notifications, requests, clock, \
                 clock/advance, reset"
            ),
            correlation_id,
        ),
    }
}

/// `GET` and `POST /__sandbox/tokens`.
async fn tokens(call: &Call<'_>, body: Incoming) -> Answer {
    #[derive(Serialize)]
    struct Tokens {
        tokens: Vec<TokenJson>,
    }
    match call.method {
        "GET" => ok(&Tokens {
            tokens: call.shared.tokens().iter().map(TokenJson::from).collect(),
        }),
        "POST" => {
            let json: TokenJson = match call.read(body).await {
                Ok(json) => json,
                Err(answer) => return answer,
            };
            match SandboxToken::try_from(json) {
                Ok(token) => {
                    let shown = TokenJson::from(&token);
                    call.shared.add_token(token);
                    Answer::json(201, &shown)
                }
                Err((path, message)) => {
                    bad_request(format!("{path}: {message}"), call.correlation_id)
                }
            }
        }
        _ => call.wrong_method("GET, POST"),
    }
}

/// `PUT /__sandbox/tokens/{id}/status`.
async fn token_status(call: &Call<'_>, id: &str, body: Incoming) -> Answer {
    if call.method != "PUT" {
        return call.wrong_method("PUT");
    }
    let Some(id) = super::path::percent_decode(id) else {
        return bad_request(
            "path: the token is not UTF-8".to_owned(),
            call.correlation_id,
        );
    };
    let spec: StatusSpec = match call.read(body).await {
        Ok(spec) => spec,
        Err(answer) => return answer,
    };
    if let Err(e) = json::known_status(&spec.status) {
        return bad_request(format!("status: {e}"), call.correlation_id);
    }
    if !call.shared.set_token_status(&id, spec.status) {
        return Answer::error_one(
            404,
            ErrorCode::NotFound,
            "The sandbox has no such token",
            call.correlation_id,
        );
    }
    let token = call.shared.tokens().into_iter().find(|t| t.id == id);
    ok(&token.as_ref().map(TokenJson::from))
}

/// `GET`, `POST` and `DELETE /__sandbox/faults`.
async fn faults(call: &Call<'_>, body: Incoming) -> Answer {
    #[derive(Serialize)]
    struct Faults {
        faults: Vec<FaultView>,
    }
    #[derive(Serialize)]
    struct Cleared {
        cleared: usize,
    }
    match call.method {
        "GET" => ok(&Faults {
            faults: call
                .shared
                .pending_faults()
                .iter()
                .map(FaultView::from)
                .collect(),
        }),
        "POST" => {
            let spec: FaultSpec = match call.read(body).await {
                Ok(spec) => spec,
                Err(answer) => return answer,
            };
            match Fault::try_from(spec) {
                Ok(fault) => {
                    let shown = FaultView::from(&fault);
                    call.shared.inject(fault);
                    Answer::json(201, &shown)
                }
                Err(message) => bad_request(message, call.correlation_id),
            }
        }
        "DELETE" => {
            let cleared = call.shared.pending_faults().len();
            call.shared.clear_faults();
            ok(&Cleared { cleared })
        }
        _ => call.wrong_method("GET, POST, DELETE"),
    }
}

/// `GET /__sandbox/orders?token=…&idempotency_key=…`.
fn orders(call: &Call<'_>) -> Answer {
    #[derive(Serialize)]
    struct Orders<'a> {
        orders: Vec<OrderView<'a>>,
    }
    if call.method != "GET" {
        return call.wrong_method("GET");
    }
    let pairs = match query(
        &call.parts.uri,
        &["token", "idempotency_key"],
        call.correlation_id,
    ) {
        Ok(pairs) => pairs,
        Err(answer) => return answer,
    };
    let wanted = |name: &str| {
        pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let tokens = wanted("token");
    let keys = wanted("idempotency_key");
    let stored = call.shared.orders(|o| {
        tokens.iter().all(|t| o.token.as_str() == *t)
            && keys
                .iter()
                .all(|k| o.idempotency_key.as_ref().map(IdempotencyKey::as_str) == Some(*k))
    });
    ok(&Orders {
        orders: stored.iter().map(OrderView::from).collect(),
    })
}

/// `POST /__sandbox/orders/{order_id}/fraud-decision`.
async fn fraud_decision(call: &Call<'_>, id: &str, body: Incoming) -> Answer {
    if call.method != "POST" {
        return call.wrong_method("POST");
    }
    let Some(id) = super::path::percent_decode(id) else {
        return bad_request(
            "path: the order id is not UTF-8".to_owned(),
            call.correlation_id,
        );
    };
    let spec: DecisionSpec = match call.read(body).await {
        Ok(spec) => spec,
        Err(answer) => return answer,
    };
    let decision = match spec.decision() {
        Ok(decision) => decision,
        Err(message) => return bad_request(message, call.correlation_id),
    };
    match call.shared.decide_fraud(&id, decision) {
        Ok(order) => ok(&OrderView::from(&order)),
        Err(e @ DecisionError::UnknownOrder(_)) => {
            Answer::error_one(404, ErrorCode::NotFound, e.to_string(), call.correlation_id)
        }
        Err(e @ DecisionError::NotPending { .. }) => Answer::error_one(
            409,
            ErrorCode::Unknown("ORDER_NOT_PENDING".to_owned()),
            e.to_string(),
            call.correlation_id,
        ),
        Err(e) => Answer::error_one(
            503,
            ErrorCode::ServiceUnavailable,
            e.to_string(),
            call.correlation_id,
        ),
    }
}

/// `GET /__sandbox/notifications`.
fn notifications(call: &Call<'_>) -> Answer {
    #[derive(Serialize)]
    struct Notifications {
        notifications: Vec<NotificationView>,
    }
    if call.method != "GET" {
        return call.wrong_method("GET");
    }
    ok(&Notifications {
        notifications: call
            .shared
            .notifications()
            .iter()
            .map(NotificationView::from)
            .collect(),
    })
}

/// `GET` and `DELETE /__sandbox/requests`.
fn requests(call: &Call<'_>) -> Answer {
    #[derive(Serialize)]
    struct Requests {
        requests: Vec<RequestView>,
    }
    #[derive(Serialize)]
    struct Empty {}
    match call.method {
        "GET" => ok(&Requests {
            requests: call
                .shared
                .requests()
                .iter()
                .map(RequestView::from)
                .collect(),
        }),
        "DELETE" => {
            call.shared.clear_requests();
            ok(&Empty {})
        }
        _ => call.wrong_method("GET, DELETE"),
    }
}

/// Sandbox time, as the clock resources answer it.
#[derive(Serialize)]
struct Now {
    now_ms: u64,
}

impl Now {
    fn of(shared: &Shared) -> Self {
        Self {
            now_ms: json::millis(shared.clock.now()),
        }
    }
}

/// `GET /__sandbox/clock`.
fn clock(call: &Call<'_>) -> Answer {
    if call.method != "GET" {
        return call.wrong_method("GET");
    }
    ok(&Now::of(call.shared))
}

/// `POST /__sandbox/clock/advance`.
async fn advance(call: &Call<'_>, body: Incoming) -> Answer {
    if call.method != "POST" {
        return call.wrong_method("POST");
    }
    let spec: AdvanceSpec = match call.read(body).await {
        Ok(spec) => spec,
        Err(answer) => return answer,
    };
    let by = Duration::from_secs(spec.seconds).saturating_add(Duration::from_millis(spec.millis));
    call.shared.clock.advance(by);
    ok(&Now::of(call.shared))
}

/// `POST /__sandbox/reset`.
fn reset(call: &Call<'_>) -> Answer {
    #[derive(Serialize)]
    struct Tokens {
        tokens: Vec<TokenJson>,
    }
    if call.method != "POST" {
        return call.wrong_method("POST");
    }
    call.shared.reset();
    ok(&Tokens {
        tokens: call.shared.tokens().iter().map(TokenJson::from).collect(),
    })
}
