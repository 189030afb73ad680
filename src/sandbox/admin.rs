//! The admin API under `/__sandbox/`: steering a sandbox over HTTP, for
//! billing code written in any language. JSON in and out; every request
//! body is bounded ([`MAX_ADMIN_BODY_BYTES`]) and read within the body-read
//! timeout. Described in `openapi/sandbox-admin.yaml`.

use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::state::{Answer, FaultKind, Phase, Shared};
use super::{Fault, RecordedRequest, SandboxToken, StoredOrder};
use crate::enums::{PaymentMethodType, TokenStatus};
use crate::error::Operation;
use crate::{CustomerToken, IdempotencyKey};

/// The prefix of every admin path.
pub(crate) const ADMIN_PREFIX: &str = "/__sandbox/";

/// The largest admin request body (64 KiB).
pub(crate) const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024;

/// Who may use the admin API.
#[derive(Debug)]
pub(crate) struct Access {
    /// The SHA-256 of the bearer token, when one is required.
    bearer: Option<[u8; 32]>,
}

impl Access {
    pub(crate) fn open() -> Self {
        Self { bearer: None }
    }

    pub(crate) fn bearer(token: &str) -> Self {
        Self {
            bearer: Some(Sha256::digest(token.as_bytes()).into()),
        }
    }

    /// Whether the request may use the admin API. The given token is
    /// compared by its SHA-256 digest, every byte looked at, so the time
    /// taken does not tell how much of it matched.
    fn allows(&self, headers: &http::HeaderMap) -> bool {
        let Some(expected) = &self.bearer else {
            return true;
        };
        let Some(given) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .and_then(|(scheme, token)| {
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim_start_matches(' '))
            })
        else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// Whether a path belongs to the admin API.
pub(crate) fn is_admin_path(path: &str) -> bool {
    path == "/__sandbox" || path.starts_with(ADMIN_PREFIX)
}

/// A token as the admin API and the `--tokens` file spell it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenJson {
    id: String,
    #[serde(default = "active")]
    status: TokenStatus,
    payment_method_type: PaymentMethodType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card: Option<CardJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direct_debit: Option<DirectDebitJson>,
}

fn active() -> TokenStatus {
    TokenStatus::Active
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardJson {
    brand: String,
    expiry_date: String,
    masked_number: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectDebitJson {
    masked_number: String,
}

/// A status the sandbox can give a token: one Klarna documents.
fn known_status(status: &TokenStatus) -> Result<(), String> {
    if matches!(status, TokenStatus::Unknown(_)) {
        return Err(format!("must be one of {}", TokenStatus::KNOWN.join(", ")));
    }
    Ok(())
}

/// What is wrong with a token, and where: a JSON path and a message.
type Wrong = (String, String);

impl TryFrom<TokenJson> for SandboxToken {
    type Error = Wrong;
    fn try_from(json: TokenJson) -> Result<Self, Wrong> {
        if let Err(e) = CustomerToken::new(json.id.as_str()) {
            let message = e
                .validation()
                .and_then(|v| v.iter().next())
                .map_or_else(|| e.to_string(), |v| v.message().to_owned());
            return Err(("id".to_owned(), message));
        }
        known_status(&json.status).map_err(|e| ("status".to_owned(), e))?;
        if matches!(json.payment_method_type, PaymentMethodType::Unknown(_)) {
            return Err((
                "payment_method_type".to_owned(),
                format!("must be one of {}", PaymentMethodType::KNOWN.join(", ")),
            ));
        }
        let mut token = SandboxToken::new(json.id, json.payment_method_type).status(json.status);
        if let Some(card) = json.card {
            token = token.card(card.brand, card.expiry_date, card.masked_number);
        }
        if let Some(direct_debit) = json.direct_debit {
            token = token.direct_debit(direct_debit.masked_number);
        }
        Ok(token)
    }
}

impl From<&SandboxToken> for TokenJson {
    fn from(token: &SandboxToken) -> Self {
        Self {
            id: token.id.clone(),
            status: token.status.clone(),
            payment_method_type: token.payment_method_type.clone(),
            card: token
                .card
                .as_ref()
                .map(|(brand, expiry_date, masked_number)| CardJson {
                    brand: brand.clone(),
                    expiry_date: expiry_date.clone(),
                    masked_number: masked_number.clone(),
                }),
            direct_debit: token
                .direct_debit
                .as_ref()
                .map(|masked_number| DirectDebitJson {
                    masked_number: masked_number.clone(),
                }),
        }
    }
}

/// Parses one token or a list of tokens, naming the JSON path of what is
/// wrong (`[1].card.brand`).
pub(crate) fn parse_tokens(raw: &[u8]) -> Result<Vec<SandboxToken>, Wrong> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Value>),
        One(Value),
    }
    let values = match serde_json::from_slice::<OneOrMany>(raw) {
        Ok(OneOrMany::Many(values)) => values,
        Ok(OneOrMany::One(value)) => vec![value],
        Err(e) => return Err(("$".to_owned(), format!("not JSON: {e}"))),
    };
    let mut tokens = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let json: TokenJson = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                String::new()
            } else {
                format!(".{path}")
            };
            (format!("[{index}]{path}"), e.inner().to_string())
        })?;
        let token = SandboxToken::try_from(json)
            .map_err(|(path, message)| (format!("[{index}].{path}"), message))?;
        tokens.push(token);
    }
    Ok(tokens)
}

/// A fault as the admin API takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    kind: String,
    status: Option<u16>,
    body: Option<String>,
    content_type: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    delay_ms: Option<u64>,
    #[serde(default = "one")]
    times: u32,
    operation: Option<String>,
    token: Option<String>,
    idempotency_key: Option<String>,
}

fn one() -> u32 {
    1
}

/// The longest injected delay the admin API takes (10 minutes).
const MAX_DELAY: Duration = Duration::from_secs(600);

impl TryFrom<FaultSpec> for Fault {
    type Error = String;
    fn try_from(spec: FaultSpec) -> Result<Self, String> {
        let no = |field: &str, value: bool| {
            if value {
                Err(format!("{field}: not used by kind {:?}", spec.kind))
            } else {
                Ok(())
            }
        };
        let status_fields = spec.status.is_some()
            || spec.body.is_some()
            || spec.content_type.is_some()
            || !spec.headers.is_empty();
        let delay = || -> Result<Duration, String> {
            let ms = spec
                .delay_ms
                .ok_or_else(|| format!("delay_ms: required by kind {:?}", spec.kind))?;
            let delay = Duration::from_millis(ms);
            if delay > MAX_DELAY {
                return Err(format!("delay_ms: at most {}", MAX_DELAY.as_millis()));
            }
            Ok(delay)
        };
        let mut fault = match spec.kind.as_str() {
            "status" => {
                no("delay_ms", spec.delay_ms.is_some())?;
                let status = spec.status.ok_or("status: required by kind \"status\"")?;
                if http::StatusCode::from_u16(status).is_err() {
                    return Err("status: must be 100 to 999".to_owned());
                }
                let mut fault = Fault::raw(
                    status,
                    spec.content_type
                        .clone()
                        .unwrap_or_else(|| "application/json".to_owned()),
                    spec.body.clone().unwrap_or_default(),
                );
                for (index, (name, value)) in spec.headers.iter().enumerate() {
                    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(format!("headers[{index}][0]: not a header name"));
                    }
                    if http::HeaderValue::from_str(value).is_err() {
                        return Err(format!("headers[{index}][1]: not a header value"));
                    }
                    fault = fault.header(name.clone(), value.clone());
                }
                fault
            }
            "gateway_502" | "drop_before_processing" | "drop_after_processing" => {
                no("status, body, content_type or headers", status_fields)?;
                no("delay_ms", spec.delay_ms.is_some())?;
                match spec.kind.as_str() {
                    "gateway_502" => Fault::gateway_502(),
                    "drop_before_processing" => Fault::drop_before_processing(),
                    _ => Fault::drop_after_processing(),
                }
            }
            "delay_before_processing" => {
                no("status, body, content_type or headers", status_fields)?;
                Fault::delay_before_processing(delay()?)
            }
            "delay_after_processing" => {
                no("status, body, content_type or headers", status_fields)?;
                Fault::delay_after_processing(delay()?)
            }
            other => {
                return Err(format!(
                    "kind: {other:?} is none of status, gateway_502, drop_before_processing, \
                     drop_after_processing, delay_before_processing, delay_after_processing"
                ));
            }
        };
        if spec.times == 0 {
            return Err("times: must be at least 1".to_owned());
        }
        fault = fault.times(spec.times);
        if let Some(operation) = &spec.operation {
            let operation = [
                Operation::ReadToken,
                Operation::CreateOrder,
                Operation::CancelToken,
            ]
            .into_iter()
            .find(|o| o.as_str() == operation)
            .ok_or_else(|| {
                format!(
                    "operation: {operation:?} is none of read_token, create_order, cancel_token"
                )
            })?;
            fault = fault.only(operation);
        }
        if let Some(token) = &spec.token {
            let token = CustomerToken::new(token.as_str()).map_err(|e| format!("token: {e}"))?;
            fault = fault.for_token(&token);
        }
        if let Some(key) = &spec.idempotency_key {
            let key =
                IdempotencyKey::new(key.as_str()).map_err(|e| format!("idempotency_key: {e}"))?;
            fault = fault.for_key(&key);
        }
        Ok(fault)
    }
}

fn fault_json(fault: &Fault) -> Value {
    let mut value = match fault.kind() {
        FaultKind::Status {
            status,
            body,
            content_type,
            headers,
        } => json!({
            "kind": "status",
            "status": status,
            "content_type": content_type,
            "body": body,
            "headers": headers,
        }),
        FaultKind::Drop { phase } => json!({
            "kind": match phase {
                Phase::BeforeProcessing => "drop_before_processing",
                Phase::AfterProcessing => "drop_after_processing",
            },
        }),
        FaultKind::Delay { delay, phase } => json!({
            "kind": match phase {
                Phase::BeforeProcessing => "delay_before_processing",
                Phase::AfterProcessing => "delay_after_processing",
            },
            "delay_ms": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        }),
    };
    value["times_left"] = json!(fault.times_left());
    value["operation"] = json!(fault.operation().map(Operation::as_str));
    value["token"] = json!(fault.token().map(CustomerToken::as_str));
    value["idempotency_key"] = json!(fault.key().map(IdempotencyKey::as_str));
    value["description"] = json!(format!("{fault:?}"));
    value
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn order_json(order: &StoredOrder) -> Value {
    json!({
        "order_id": order.order_id,
        "token": order.token.as_str(),
        "idempotency_key": order.idempotency_key.as_ref().map(IdempotencyKey::as_str),
        "created_at_ms": millis(order.created_at),
        "order": order.order,
    })
}

fn request_json(request: &RecordedRequest) -> Value {
    json!({
        "method": request.method,
        "path": request.redacted_path(),
        "headers": request.redacted_headers(),
        "truncated": request.truncated,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusSpec {
    status: TokenStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceSpec {
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    millis: u64,
}

fn error(status: u16, code: &str, message: String, correlation_id: &str) -> Answer {
    Answer::error(status, code, vec![message], correlation_id)
}

fn bad_request(message: String, correlation_id: &str) -> Answer {
    error(400, "BAD_REQUEST", message, correlation_id)
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
            return Err(Answer {
                close: true,
                ..error(
                    408,
                    "REQUEST_TIMEOUT",
                    format!(
                        "The body did not arrive within {} ms",
                        shared.body_read_timeout.as_millis()
                    ),
                    correlation_id,
                )
            });
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Answer {
                close: true,
                ..error(
                    413,
                    "PAYLOAD_TOO_LARGE",
                    format!("An admin request body is at most {MAX_ADMIN_BODY_BYTES} bytes"),
                    correlation_id,
                )
            });
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

fn ok(body: &Value) -> Answer {
    Answer::json(200, body)
}

/// Answers one admin request.
pub(crate) async fn handle(
    shared: &Shared,
    access: &Access,
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Answer {
    if !access.allows(&parts.headers) {
        return error(
            401,
            "UNAUTHORIZED",
            "The admin API needs Authorization: Bearer <the --admin-token>".to_owned(),
            correlation_id,
        );
    }
    let path = parts.uri.path();
    let rest = path.strip_prefix(ADMIN_PREFIX).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').collect();
    let method = parts.method.as_str();
    let wrong_method = |allow: &'static str| Answer {
        allow: Some(allow),
        ..error(
            405,
            "METHOD_NOT_ALLOWED",
            format!("Use {allow} on this path"),
            correlation_id,
        )
    };
    match (segments.as_slice(), method) {
        (["tokens"], "GET") => {
            let tokens: Vec<TokenJson> = shared.tokens().iter().map(TokenJson::from).collect();
            ok(&json!({ "tokens": tokens }))
        }
        (["tokens"], "POST") => {
            let json: TokenJson = match read_json(shared, body, correlation_id).await {
                Ok(json) => json,
                Err(answer) => return answer,
            };
            match SandboxToken::try_from(json) {
                Ok(token) => {
                    let shown = TokenJson::from(&token);
                    shared.add_token(token);
                    Answer::json(201, &json!(shown))
                }
                Err((path, message)) => bad_request(format!("{path}: {message}"), correlation_id),
            }
        }
        (["tokens"], _) => wrong_method("GET, POST"),
        (["tokens", id, "status"], "PUT") => {
            let Some(id) = super::server::percent_decode(id) else {
                return bad_request("path: the token is not UTF-8".to_owned(), correlation_id);
            };
            let spec: StatusSpec = match read_json(shared, body, correlation_id).await {
                Ok(spec) => spec,
                Err(answer) => return answer,
            };
            if let Err(e) = known_status(&spec.status) {
                return bad_request(format!("status: {e}"), correlation_id);
            }
            if !shared.set_token_status(&id, spec.status) {
                return error(
                    404,
                    "NOT_FOUND",
                    "The sandbox has no such token".to_owned(),
                    correlation_id,
                );
            }
            let token = shared.tokens().into_iter().find(|t| t.id == id);
            ok(&json!(token.as_ref().map(TokenJson::from)))
        }
        (["tokens", _, "status"], _) => wrong_method("PUT"),
        (["faults"], "GET") => {
            let faults: Vec<Value> = shared.pending_faults().iter().map(fault_json).collect();
            ok(&json!({ "faults": faults }))
        }
        (["faults"], "POST") => {
            let spec: FaultSpec = match read_json(shared, body, correlation_id).await {
                Ok(spec) => spec,
                Err(answer) => return answer,
            };
            match Fault::try_from(spec) {
                Ok(fault) => {
                    let shown = fault_json(&fault);
                    shared.inject(fault);
                    Answer::json(201, &shown)
                }
                Err(message) => bad_request(message, correlation_id),
            }
        }
        (["faults"], "DELETE") => {
            let cleared = shared.pending_faults().len();
            shared.clear_faults();
            ok(&json!({ "cleared": cleared }))
        }
        (["faults"], _) => wrong_method("GET, POST, DELETE"),
        (["orders"], "GET") => {
            let pairs = match query(&parts.uri, &["token", "idempotency_key"], correlation_id) {
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
            let orders: Vec<Value> = shared
                .orders(|o| {
                    tokens.iter().all(|t| o.token.as_str() == *t)
                        && keys.iter().all(|k| {
                            o.idempotency_key.as_ref().map(IdempotencyKey::as_str) == Some(*k)
                        })
                })
                .iter()
                .map(order_json)
                .collect();
            ok(&json!({ "orders": orders }))
        }
        (["orders"], _) => wrong_method("GET"),
        (["requests"], "GET") => {
            let requests: Vec<Value> = shared.requests().iter().map(request_json).collect();
            ok(&json!({ "requests": requests }))
        }
        (["requests"], "DELETE") => {
            shared.clear_requests();
            ok(&json!({}))
        }
        (["requests"], _) => wrong_method("GET, DELETE"),
        (["clock"], "GET") => ok(&json!({ "now_ms": millis(shared.clock.now()) })),
        (["clock"], _) => wrong_method("GET"),
        (["clock", "advance"], "POST") => {
            let spec: AdvanceSpec = match read_json(shared, body, correlation_id).await {
                Ok(spec) => spec,
                Err(answer) => return answer,
            };
            let by = Duration::from_secs(spec.seconds)
                .saturating_add(Duration::from_millis(spec.millis));
            shared.clock.advance(by);
            ok(&json!({ "now_ms": millis(shared.clock.now()) }))
        }
        (["clock", "advance"], _) => wrong_method("POST"),
        (["reset"], "POST") => {
            shared.reset();
            let tokens: Vec<TokenJson> = shared.tokens().iter().map(TokenJson::from).collect();
            ok(&json!({ "tokens": tokens }))
        }
        (["reset"], _) => wrong_method("POST"),
        _ => error(
            404,
            "NOT_FOUND",
            format!(
                "No admin resource at {path}: see tokens, tokens/{{id}}/status, faults, orders, \
                 requests, clock, clock/advance, reset"
            ),
            correlation_id,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_bearer_token_is_let_in() {
        let access = Access::bearer("s3cret");
        let with = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(value).expect("header"),
            );
            headers
        };
        assert!(access.allows(&with("Bearer s3cret")));
        assert!(access.allows(&with("bearer s3cret")));
        assert!(!access.allows(&with("Bearer s3cre")));
        assert!(!access.allows(&with("Bearer s3cret2")));
        assert!(!access.allows(&with("Basic s3cret")));
        assert!(!access.allows(&http::HeaderMap::new()));
        assert!(Access::open().allows(&http::HeaderMap::new()));
    }

    #[test]
    fn a_tokens_file_names_the_path_of_what_is_wrong() {
        let tokens = parse_tokens(
            br#"[{"id":"file-token-0001","payment_method_type":"CARD",
                  "card":{"brand":"VISA","expiry_date":"01/2030","masked_number":"****1111"}},
                 {"id":"file-token-0002","payment_method_type":"INVOICE","status":"SUSPENDED"}]"#,
        )
        .expect("valid");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[1].status, TokenStatus::Suspended);
        let one = parse_tokens(br#"{"id":"file-token-0003","payment_method_type":"INVOICE"}"#)
            .expect("one token");
        assert_eq!(one[0].status, TokenStatus::Active);
        let e = parse_tokens(br#"[{"id":"ok-token-0001","payment_method_type":"INVOICE"},{"id":"x y","payment_method_type":"INVOICE"}]"#)
            .expect_err("bad id");
        assert_eq!(e.0, "[1].id");
        let e = parse_tokens(
            br#"[{"id":"ok-token-0001","payment_method_type":"INVOICE","status":"FROZEN"}]"#,
        )
        .expect_err("bad status");
        assert_eq!(e.0, "[0].status");
        assert!(e.1.starts_with("must be one of"), "{e:?}");
        let e = parse_tokens(
            br#"[{"id":"ok-token-0001","payment_method_type":"INVOICE","card":{"brand":1}}]"#,
        )
        .expect_err("bad card");
        assert_eq!(e.0, "[0].card.brand");
        let e = parse_tokens(
            br#"[{"id":"ok-token-0001","payment_method_type":"INVOICE","colour":"red"}]"#,
        )
        .expect_err("unknown field");
        assert!(e.1.contains("colour"), "{e:?}");
    }

    fn spec(json: Value) -> Result<Fault, String> {
        let spec: FaultSpec = serde_json::from_value(json).map_err(|e| e.to_string())?;
        Fault::try_from(spec)
    }

    #[test]
    fn fault_specs_are_checked_field_by_field() {
        let fault = spec(json!({
            "kind": "status", "status": 429, "body": "{}", "headers": [["Retry-After", "3"]],
            "times": 2, "operation": "create_order", "token": "some-token-1234",
            "idempotency_key": "k-1",
        }))
        .expect("valid");
        assert_eq!(fault.times_left(), 2);
        assert_eq!(fault.operation(), Some(Operation::CreateOrder));
        assert_eq!(fault.key().map(IdempotencyKey::as_str), Some("k-1"));
        let shown = fault_json(&fault);
        assert_eq!(shown["kind"], "status");
        assert_eq!(shown["times_left"], 2);
        assert_eq!(shown["token"], "some-token-1234");
        let delay =
            spec(json!({"kind": "delay_after_processing", "delay_ms": 250})).expect("delay");
        assert_eq!(fault_json(&delay)["delay_ms"], 250);
        for (json, start) in [
            (json!({"kind": "status"}), "status: required"),
            (
                json!({"kind": "drop_after_processing", "status": 500}),
                "status, body",
            ),
            (
                json!({"kind": "delay_before_processing"}),
                "delay_ms: required",
            ),
            (
                json!({"kind": "delay_before_processing", "delay_ms": 600_001}),
                "delay_ms: at most",
            ),
            (json!({"kind": "explode"}), "kind: "),
            (json!({"kind": "gateway_502", "times": 0}), "times: "),
            (
                json!({"kind": "gateway_502", "operation": "charge"}),
                "operation: ",
            ),
            (json!({"kind": "gateway_502", "token": "a b"}), "token: "),
            (
                json!({"kind": "gateway_502", "idempotency_key": ""}),
                "idempotency_key: ",
            ),
            (json!({"kind": "status", "status": 42}), "status: must be"),
            (
                json!({"kind": "status", "status": 500, "headers": [["bad name", "x"]]}),
                "headers[0][0]",
            ),
        ] {
            let e = spec(json.clone()).expect_err("refused");
            assert!(e.starts_with(start), "{json}: {e}");
        }
    }
}
