//! Display.

use crate::support::errors::*;

#[tokio::test]
async fn display_is_one_lowercase_sentence_with_code_and_messages() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .json_body(error_json(
                    "TOKEN_CANCELLED",
                    "The token has been cancelled",
                    "corr-display",
                ));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("403");
    assert_eq!(
        e.to_string(),
        format!(
            "create_order for token …9e00 failed: klarna answered 403 TOKEN_CANCELLED: \
             The token has been cancelled [correlation id corr-display] (after 1 attempt); \
             the order was not created; idempotency key {key}"
        )
    );
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn error_code_and_correlation_id_echoing_the_token_are_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(403)
                .header("content-type", "application/json")
                .header("Klarna-Correlation-Id", TOKEN)
                .json_body(json!({
                    "error_code": format!("TOKEN_{TOKEN}_FORBIDDEN"),
                    "error_messages": ["forbidden"]
                }));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let e = client.create_order(&token, &order).await.expect_err("403");
    assert_eq!(e.status(), Some(403));
    assert_redacted(&e);
    Ok(())
}

/// A 5xx outside the fixed list whose content type and body disagree (a
/// body labelled JSON that is not JSON, or the reverse): whatever the rule,
/// `Error::is_retryable` must say what the retry loop did.
#[tokio::test]
async fn is_retryable_agrees_with_the_retry_loop_for_mislabelled_5xx() -> TestResult {
    let server = MockServer::start_async().await;
    let order = order()?;
    let client = retrying_client(server.base_url(), 1);
    let token = token();
    for (content_type, body) in [
        ("application/json", "<html>507</html>"),
        ("text/html", "{}"),
    ] {
        let mock = server
            .mock_async(|when, then| {
                when.method(POST).path(ORDER_PATH);
                then.status(507)
                    .header("content-type", content_type)
                    .body(body);
            })
            .await;
        let e = client.create_order(&token, &order).await.expect_err("507");
        let retried = mock.calls_async().await > 1;
        mock.delete_async().await;
        assert_eq!(e.attempts(), Some(if retried { 2 } else { 1 }));
        assert_eq!(
            e.is_retryable(),
            retried,
            "{content_type} body {body:?}: retried={retried} but is_retryable()={}",
            e.is_retryable()
        );
    }
    Ok(())
}
