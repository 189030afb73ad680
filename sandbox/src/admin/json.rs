//! The admin API's JSON: tokens, faults, orders and requests as it takes
//! and shows them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fault::{FaultKind, Phase};
use crate::review::{
    AttemptOutcome, DeliveryState, FraudDecision, FraudReview, NotificationDelivery,
};
use crate::{Fault, RecordedRequest, SandboxToken, StoredOrder};
use klarna_customer_token::Operation;
use klarna_customer_token::notification::hide_signatures;
use klarna_customer_token::{CustomerToken, IdempotencyKey};
use klarna_customer_token::{PaymentMethodType, TokenStatus};

/// A token as the admin API and the `--tokens` file spell it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenJson {
    id: String,
    #[serde(default = "active")]
    status: TokenStatus,
    payment_method_type: PaymentMethodType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card: Option<CardJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direct_debit: Option<DirectDebitJson>,
    /// `"off"` (the default: orders accepted at once) or `"pending"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fraud_review: Option<String>,
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
pub(super) fn known_status(status: &TokenStatus) -> Result<(), String> {
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
            return Err(("id".to_owned(), e.message().to_owned()));
        }
        known_status(&json.status).map_err(|e| ("status".to_owned(), e))?;
        if matches!(json.payment_method_type, PaymentMethodType::Unknown(_)) {
            return Err((
                "payment_method_type".to_owned(),
                format!("must be one of {}", PaymentMethodType::KNOWN.join(", ")),
            ));
        }
        let review = match json.fraud_review.as_deref() {
            None | Some("off") => FraudReview::Off,
            Some("pending") => FraudReview::Pending,
            Some(other) => {
                return Err((
                    "fraud_review".to_owned(),
                    format!("{other:?} is neither \"off\" nor \"pending\""),
                ));
            }
        };
        let mut token = SandboxToken::new(json.id, json.payment_method_type)
            .with_status(json.status)
            .with_fraud_review(review);
        if let Some(card) = json.card {
            token = token.with_card(card.brand, card.expiry_date, card.masked_number);
        }
        if let Some(direct_debit) = json.direct_debit {
            token = token.with_direct_debit(direct_debit.masked_number);
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
            card: token.card().map(|card| CardJson {
                brand: card.brand().to_owned(),
                expiry_date: card.expiry_date().to_owned(),
                masked_number: card.masked_number().to_owned(),
            }),
            direct_debit: token.direct_debit().map(|direct_debit| DirectDebitJson {
                masked_number: direct_debit.masked_number().to_owned(),
            }),
            fraud_review: (token.fraud_review() != FraudReview::Off)
                .then(|| token.fraud_review().as_str().to_owned()),
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
            let path = json_path(e.path());
            let dot = if path.is_empty() { "" } else { "." };
            (format!("[{index}]{dot}{path}"), e.inner().to_string())
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
pub(super) struct FaultSpec {
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

impl FaultSpec {
    /// Refuses a field the kind does not use.
    fn unused(&self, field: &str, given: bool) -> Result<(), String> {
        if given {
            Err(format!("{field}: not used by kind {:?}", self.kind))
        } else {
            Ok(())
        }
    }

    fn has_status_fields(&self) -> bool {
        self.status.is_some()
            || self.body.is_some()
            || self.content_type.is_some()
            || !self.headers.is_empty()
    }

    fn delay(&self) -> Result<Duration, String> {
        let ms = self
            .delay_ms
            .ok_or_else(|| format!("delay_ms: required by kind {:?}", self.kind))?;
        let delay = Duration::from_millis(ms);
        if delay > MAX_DELAY {
            return Err(format!("delay_ms: at most {}", MAX_DELAY.as_millis()));
        }
        Ok(delay)
    }

    /// A `status` fault: status, content type, body and headers.
    fn status_fault(&self) -> Result<Fault, String> {
        self.unused("delay_ms", self.delay_ms.is_some())?;
        let status = self.status.ok_or("status: required by kind \"status\"")?;
        if http::StatusCode::from_u16(status).is_err() {
            return Err("status: must be 100 to 999".to_owned());
        }
        let mut fault = Fault::raw(
            status,
            self.content_type
                .clone()
                .unwrap_or_else(|| "application/json".to_owned()),
            self.body.clone().unwrap_or_default(),
        );
        for (index, (name, value)) in self.headers.iter().enumerate() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("headers[{index}][0]: not a header name"));
            }
            if http::HeaderValue::from_str(value).is_err() {
                return Err(format!("headers[{index}][1]: not a header value"));
            }
            fault = fault.with_header(name.clone(), value.clone());
        }
        Ok(fault)
    }

    /// What the fault does, by its kind.
    fn kind_fault(&self) -> Result<Fault, String> {
        let no_status = || {
            self.unused(
                "status, body, content_type or headers",
                self.has_status_fields(),
            )
        };
        match self.kind.as_str() {
            "status" => self.status_fault(),
            "gateway_502" | "drop_before_processing" | "drop_after_processing" => {
                no_status()?;
                self.unused("delay_ms", self.delay_ms.is_some())?;
                Ok(match self.kind.as_str() {
                    "gateway_502" => Fault::gateway_502(),
                    "drop_before_processing" => Fault::drop_before_processing(),
                    _ => Fault::drop_after_processing(),
                })
            }
            "delay_before_processing" => {
                no_status()?;
                Ok(Fault::delay_before_processing(self.delay()?))
            }
            "delay_after_processing" => {
                no_status()?;
                Ok(Fault::delay_after_processing(self.delay()?))
            }
            other => Err(format!(
                "kind: {other:?} is none of status, gateway_502, drop_before_processing, \
                 drop_after_processing, delay_before_processing, delay_after_processing"
            )),
        }
    }
}

impl TryFrom<FaultSpec> for Fault {
    type Error = String;
    fn try_from(spec: FaultSpec) -> Result<Self, String> {
        let mut fault = spec.kind_fault()?;
        if spec.times == 0 {
            return Err("times: must be at least 1".to_owned());
        }
        fault = fault.with_times(spec.times);
        if let Some(operation) = &spec.operation {
            let operation = Operation::ALL
                .into_iter()
                .find(|o| o.as_str() == operation)
                .ok_or_else(|| {
                    let names: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
                    format!("operation: {operation:?} is none of {}", names.join(", "))
                })?;
            fault = fault.with_operation(operation);
        }
        if let Some(token) = &spec.token {
            let token = CustomerToken::new(token.as_str()).map_err(|e| format!("token: {e}"))?;
            fault = fault.with_token(&token);
        }
        if let Some(key) = &spec.idempotency_key {
            let key =
                IdempotencyKey::new(key.as_str()).map_err(|e| format!("idempotency_key: {e}"))?;
            fault = fault.with_key(&key);
        }
        Ok(fault)
    }
}

/// A queued fault as the admin API shows it.
#[derive(Serialize)]
pub(super) struct FaultView {
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<(String, String)>>,
    idempotency_key: Option<String>,
    kind: &'static str,
    operation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    times_left: u32,
    token: Option<String>,
}

impl From<&Fault> for FaultView {
    fn from(fault: &Fault) -> Self {
        let phased = |phase: &Phase, before: &'static str, after: &'static str| match phase {
            Phase::BeforeProcessing => before,
            Phase::AfterProcessing => after,
        };
        let mut view = Self {
            body: None,
            content_type: None,
            delay_ms: None,
            description: format!("{fault:?}"),
            headers: None,
            idempotency_key: fault.key().map(|k| k.as_str().to_owned()),
            kind: "status",
            operation: fault.operation().map(Operation::as_str),
            status: None,
            times_left: fault.times_left(),
            token: fault.token().map(|t| t.as_str().to_owned()),
        };
        match &fault.kind {
            FaultKind::Status {
                status,
                body,
                content_type,
                headers,
            } => {
                view.status = Some(*status);
                view.body = Some(body.clone());
                view.content_type = Some(content_type.clone());
                view.headers = Some(headers.clone());
            }
            FaultKind::Drop { phase } => {
                view.kind = phased(phase, "drop_before_processing", "drop_after_processing");
            }
            FaultKind::Delay { delay, phase } => {
                view.kind = phased(phase, "delay_before_processing", "delay_after_processing");
                view.delay_ms = Some(millis(*delay));
            }
        }
        view
    }
}

/// A duration in whole milliseconds, saturating.
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A stored order as the admin API shows it.
#[derive(Serialize)]
pub(super) struct OrderView<'a> {
    created_at_ms: u64,
    fraud_status: &'static str,
    idempotency_key: Option<&'a str>,
    /// The order as received, with the signature of any signed
    /// notification URL (`klarna_sig`) shown as `[REDACTED]`.
    order: Value,
    order_id: &'a str,
    token: &'a str,
}

impl<'a> From<&'a StoredOrder> for OrderView<'a> {
    fn from(order: &'a StoredOrder) -> Self {
        Self {
            created_at_ms: millis(order.created_at),
            fraud_status: order.fraud_status.as_str(),
            idempotency_key: order.idempotency_key.as_ref().map(IdempotencyKey::as_str),
            order: without_signatures(serde_json::to_value(&order.order).unwrap_or_default()),
            order_id: &order.order_id,
            token: order.token.as_str(),
        }
    }
}

/// A recorded request as the admin API shows it: credentials and tokens
/// redacted.
/// Every string in `value` with its `klarna_sig` values hidden: a signed
/// notification URL is a secret, and the admin API never shows it whole.
fn without_signatures(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(hide_signatures(&text).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(without_signatures).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| (name, without_signatures(value)))
                .collect(),
        ),
        other => other,
    }
}

#[derive(Serialize)]
pub(super) struct RequestView {
    headers: Vec<(String, String)>,
    method: String,
    path: String,
    truncated: bool,
}

impl From<&RecordedRequest> for RequestView {
    fn from(request: &RecordedRequest) -> Self {
        Self {
            headers: request
                .redacted_headers()
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            method: request.method.clone(),
            path: request.redacted_path(),
            truncated: request.truncated,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusSpec {
    pub(super) status: TokenStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionSpec {
    decision: String,
}

impl DecisionSpec {
    /// The decision, or what is wrong with it.
    pub(super) fn decision(&self) -> Result<FraudDecision, String> {
        match self.decision.as_str() {
            "ACCEPTED" => Ok(FraudDecision::Accepted),
            "REJECTED" => Ok(FraudDecision::Rejected),
            "STOPPED" => Ok(FraudDecision::Stopped),
            other => Err(format!(
                "decision: {other:?} is none of ACCEPTED, REJECTED, STOPPED"
            )),
        }
    }
}

/// A notification delivery as `GET /__sandbox/notifications` shows it.
#[derive(Serialize)]
pub(super) struct NotificationView {
    attempts: Vec<AttemptView>,
    decided_at: String,
    decided_at_ms: u64,
    event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_ms: Option<u64>,
    order_id: String,
    state: &'static str,
    url: String,
}

#[derive(Serialize)]
struct AttemptView {
    at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
}

impl From<&NotificationDelivery> for NotificationView {
    fn from(delivery: &NotificationDelivery) -> Self {
        Self {
            attempts: delivery
                .attempts
                .iter()
                .map(|attempt| {
                    let (status, error) = match &attempt.outcome {
                        AttemptOutcome::Status(status) => (Some(*status), None),
                        AttemptOutcome::Failed(error) => (None, Some(error.clone())),
                    };
                    AttemptView {
                        at_ms: millis(attempt.at),
                        error,
                        status,
                    }
                })
                .collect(),
            decided_at: delivery.decided_at_rfc3339.clone(),
            decided_at_ms: millis(delivery.decided_at),
            event_type: delivery.event_type.as_str().to_owned(),
            next_attempt_ms: match delivery.state {
                DeliveryState::Pending { next_at } => Some(millis(next_at)),
                _ => None,
            },
            order_id: delivery.order_id.clone(),
            state: delivery.state.as_str(),
            url: delivery.url_path.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdvanceSpec {
    #[serde(default)]
    pub(super) seconds: u64,
    #[serde(default)]
    pub(super) millis: u64,
}

/// A decoder's path as the client writes paths: `[1].card.brand`, and the
/// empty string for the document itself (`serde_path_to_error` writes `.`).
fn json_path(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." { String::new() } else { path }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
        let shown = serde_json::to_value(FaultView::from(&fault)).expect("json");
        assert_eq!(shown["kind"], "status");
        assert_eq!(shown["times_left"], 2);
        assert_eq!(shown["token"], "some-token-1234");
        let delay =
            spec(json!({"kind": "delay_after_processing", "delay_ms": 250})).expect("delay");
        assert_eq!(
            serde_json::to_value(FaultView::from(&delay)).expect("json")["delay_ms"],
            250
        );
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
