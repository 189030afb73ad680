//! What every topic of these tests shares: the imports, the error body
//! builder and the checks every error must pass.

pub(crate) use std::time::Duration;

pub(crate) use httpmock::Method::{GET, PATCH, POST};
pub(crate) use httpmock::MockServer;
pub(crate) use klarna_customer_token::{
    AuthorizedPaymentMethodType, Client, Error, ErrorCode, FraudStatus, Operation, OrderOutcome,
    PaymentMethodType, RetryPolicy, TokenStatus,
};
pub(crate) use serde_json::json;

pub(crate) use crate::support::fixtures::{
    BASIC_B64, ORDER_PATH, PASSWORD, READ_PATH, REDACTED, STATUS_PATH, TOKEN, TestResult, USERNAME,
    client, closed_port, retrying_client, shoe_order as order, token,
};

pub(crate) fn error_json(code: &str, message: &str, correlation_id: &str) -> serde_json::Value {
    json!({
        "error_code": code,
        "error_messages": [message],
        "correlation_id": correlation_id,
    })
}

/// The checks every error must pass: `Display` starts lowercase and shows
/// the token only redacted; neither `Display`, `Debug` nor any error in the
/// `source()` chain holds the token, the username, the password or the
/// encoded credentials.
pub(crate) fn assert_redacted(e: &Error) {
    let shown = format!("{e}");
    let debug = format!("{e:?}");
    assert!(
        shown.chars().next().is_some_and(char::is_lowercase),
        "Display must start lowercase: {shown}"
    );
    let mut texts = vec![shown.clone(), debug.clone()];
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    for text in &texts {
        for secret in [TOKEN, USERNAME, PASSWORD, BASIC_B64] {
            assert!(!text.contains(secret), "{secret:?} leaked into {text}");
        }
    }
    assert!(shown.contains(REDACTED), "no redacted token in {shown}");
    assert!(debug.contains(REDACTED), "no redacted token in {debug}");
}

/// The `ApiError` inside an `Error::Api`, or a panic naming what came
/// instead.
pub(crate) fn api(e: &Error) -> &klarna_customer_token::ApiError {
    match e {
        Error::Api(api) => api,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}
