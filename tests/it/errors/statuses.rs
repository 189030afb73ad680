//! Statuses with unusual bodies: HTML, plain text, 409, 422, 429, 5xx, redirects.

use crate::support::errors::*;

const HTML_401: &str = "<html><body>401 Authorization Required</body></html>";

#[tokio::test]
async fn html_401_keeps_status_and_body() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(HTML_401);
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("401");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(e.correlation_id(), None);
    assert_eq!(a.raw_body(), HTML_401.as_bytes());
    assert_eq!(a.content_type(), Some("text/html"));
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("401"), "{shown}");
    assert!(shown.contains("text/html"), "{shown}");
    assert!(shown.contains("401 Authorization Required"), "{shown}");
    assert_redacted(&e);

    Ok(())
}

#[tokio::test]
async fn html_401_on_read_and_cancel() -> TestResult {
    let server = MockServer::start_async().await;
    let read = server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(HTML_401);
        })
        .await;
    let cancel = server
        .mock_async(|when, then| {
            when.method(PATCH).path(STATUS_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(HTML_401);
        })
        .await;
    let client = client(server.base_url());
    let token = token();
    for e in [
        client.read_token(&token).await.expect_err("401"),
        client.cancel_token(&token).await.expect_err("401"),
    ] {
        assert_eq!(e.status(), Some(401));
        assert_eq!(api(&e).raw_body(), HTML_401.as_bytes());
        assert_eq!(e.order_outcome(), None);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("401"));
        assert_redacted(&e);
    }
    read.assert_calls_async(1).await;
    cancel.assert_calls_async(1).await;
    Ok(())
}

#[tokio::test]
async fn conflict_409_is_final() -> TestResult {
    let server = MockServer::start_async().await;
    let body = error_json(
        "BAD_REQUEST",
        "Idempotency key does not match the session",
        "corr-409",
    );
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(409)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    // Even with retries on, a 409 is not retried.
    let client = retrying_client(server.base_url(), 2);
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("409");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.error_code(), Some(&ErrorCode::BadRequest));
    assert_eq!(
        a.error_messages(),
        ["Idempotency key does not match the session"]
    );
    assert_eq!(e.correlation_id(), Some("corr-409"));
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn unprocessable_422() -> TestResult {
    let server = MockServer::start_async().await;
    let body = json!({
        "error_code": "VALIDATION_ERROR",
        "error_messages": ["order_amount does not match the lines"],
        "correlation_id": "corr-422"
    });
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(422)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("422");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(422));
    assert_eq!(
        e.error_code(),
        Some(&ErrorCode::Unknown("VALIDATION_ERROR".into()))
    );
    assert_eq!(
        a.error_messages(),
        ["order_amount does not match the lines"]
    );
    assert_eq!(e.correlation_id(), Some("corr-422"));
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert_eq!(e.idempotency_key(), Some(&key));
    let shown = e.to_string();
    assert!(shown.contains("422 VALIDATION_ERROR"), "{shown}");
    assert_redacted(&e);

    // A 422 with an empty body (the one that crashed an older SDK).
    server.reset_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(422);
        })
        .await;
    let e = client.create_order(&token, &order).await.expect_err("422");
    assert_eq!(e.status(), Some(422));
    assert_eq!(e.error_code(), None);
    assert!(api(&e).raw_body().is_empty());
    assert!(api(&e).error_messages().is_empty());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert!(e.to_string().contains("422"));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn rate_limited_429_carries_retry_after() -> TestResult {
    let server = MockServer::start_async().await;
    let body = error_json("RATE_LIMITED", "Too many requests", "corr-429");
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(429)
                .header("content-type", "application/json")
                .header("Retry-After", "7")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("429");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(429));
    assert_eq!(
        e.error_code(),
        Some(&ErrorCode::Unknown("RATE_LIMITED".into()))
    );
    assert_eq!(a.error_messages(), ["Too many requests"]);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(a.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.is_retryable());
    // A final 429 is the gateway's refusal before processing: definitive.
    assert_eq!(e.order_outcome(), Some(OrderOutcome::NotCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("429"), "{shown}");
    assert!(shown.contains("7s"), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn rate_limit_reset_header_is_read_for_read_token() -> TestResult {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(429)
                .header("X-Ratelimit-Limit", "50")
                .header("X-Ratelimit-Remaining", "0")
                .header("X-Ratelimit-Reset", "3");
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("429");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), None);
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn plain_text_503() -> TestResult {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(503)
                .header("content-type", "text/plain")
                .body("Service Unavailable");
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("503");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(e.correlation_id(), None);
    assert_eq!(a.raw_body(), b"Service Unavailable");
    assert_eq!(a.content_type(), Some("text/plain"));
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    assert_eq!(e.attempts(), Some(1));
    let shown = e.to_string();
    assert!(shown.contains("503"), "{shown}");
    assert!(shown.contains("Service Unavailable"), "{shown}");
    assert!(shown.contains("may have been created"), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn html_502_from_a_gateway() -> TestResult {
    let server = MockServer::start_async().await;
    let page = "<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center></body></html>";
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(502)
                .header("content-type", "text/html")
                .body(page);
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("502");
    mock.assert_calls_async(1).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(502));
    assert_eq!(e.error_code(), None);
    assert!(a.error_messages().is_empty());
    assert_eq!(a.raw_body(), page.as_bytes());
    assert!(e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated));
    assert_eq!(e.idempotency_key(), Some(&key));
    let shown = e.to_string();
    assert!(shown.contains("502 Bad Gateway"), "{shown}");
    // The preview is a single line.
    assert!(!shown.contains('\n'), "{shown}");
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn redirect_is_not_followed() -> TestResult {
    let server = MockServer::start_async().await;
    let elsewhere = server
        .mock_async(|when, then| {
            when.path("/elsewhere");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(json!({"order_id": "stolen", "fraud_status": "ACCEPTED"}));
        })
        .await;
    let redirect = server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(302)
                .header("Location", server.url("/elsewhere"));
        })
        .await;
    let order = order()?;
    let client = client(server.base_url());
    let token = token();
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().unwrap().clone();
    let e = call.await.expect_err("302");
    redirect.assert_calls_async(1).await;
    elsewhere.assert_calls_async(0).await;
    let a = api(&e);
    assert_eq!(e.status(), Some(302));
    assert_eq!(e.error_code(), None);
    assert!(!e.is_retryable());
    assert_eq!(e.order_outcome(), Some(OrderOutcome::MayHaveBeenCreated)); // only 400, 401, 403, 404 and 429 prove a refusal
    assert_eq!(e.idempotency_key(), Some(&key));
    assert!(a.raw_body().is_empty());
    assert!(e.to_string().contains("302"));
    assert_redacted(&e);

    // The same for read-token.
    let read_redirect = server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(301)
                .header("Location", server.url("/elsewhere"));
        })
        .await;
    let e = client.read_token(&token).await.expect_err("301");
    read_redirect.assert_calls_async(1).await;
    elsewhere.assert_calls_async(0).await;
    assert_eq!(e.status(), Some(301));
    assert_redacted(&e);
    Ok(())
}
