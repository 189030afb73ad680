//! Redaction: nothing shown leaks the token or the credentials.

use crate::support::errors::*;

#[tokio::test]
async fn html_404_echoing_the_token_is_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    let page = format!(
        "<html><body><h1>404 Not Found</h1><p>The requested URL {READ_PATH} was not found. Token {TOKEN} is unknown.</p></body></html>"
    );
    server
        .mock_async(|when, then| {
            when.path_includes(TOKEN);
            then.status(404)
                .header("content-type", "text/html")
                .body(page.clone());
        })
        .await;
    let client = client(server.base_url());
    let token = token();
    let order = order()?;
    for e in [
        client.read_token(&token).await.expect_err("404"),
        client.create_order(&token, &order).await.expect_err("404"),
        client.cancel_token(&token).await.expect_err("404"),
    ] {
        let a = api(&e);
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.error_code(), None);
        // The raw body is kept verbatim, token and all.
        assert_eq!(a.raw_body(), page.as_bytes());
        assert!(String::from_utf8_lossy(a.raw_body()).contains(TOKEN));
        let shown = e.to_string();
        assert!(shown.contains("404 Not Found"), "{shown}");
        assert!(shown.contains("Token …9e00 is unknown"), "{shown}");
        assert_redacted(&e);
    }
    Ok(())
}

#[tokio::test]
async fn json_messages_echoing_the_token_are_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    let body = json!({
        "error_code": "TOKEN_NOT_FOUND",
        "error_messages": [format!("Customer token {TOKEN} was not found")],
        "error_message": format!("token={TOKEN}"),
        "correlation_id": "corr-echo"
    });
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(404)
                .header("content-type", "application/json")
                .json_body(body.clone());
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("404");
    let a = api(&e);
    assert_eq!(e.error_code(), Some(&ErrorCode::TokenNotFound));
    assert_eq!(
        a.error_messages(),
        [
            "Customer token …9e00 was not found".to_owned(),
            "token=…9e00".to_owned()
        ]
    );
    assert_eq!(a.raw_body(), body.to_string().as_bytes());
    assert!(String::from_utf8_lossy(a.raw_body()).contains(TOKEN));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn long_bodies_are_cut_short_in_messages() -> TestResult {
    let server = MockServer::start_async().await;
    let page = format!("<html>{}{TOKEN}</html>", "x ".repeat(500));
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(500)
                .header("content-type", "text/html")
                .body(page.clone());
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("500");
    assert_eq!(api(&e).raw_body(), page.as_bytes());
    let shown = e.to_string();
    assert!(shown.len() < page.len(), "{shown}");
    assert!(shown.contains('…'), "{shown}");
    assert_redacted(&e);
    Ok(())
}

/// A create-order success body whose integer field holds a string: serde
/// echoes the string in its error, which the Display and Debug of
/// `UndecodableResponse` include.
#[tokio::test]
async fn undecodable_body_echoing_the_token_is_redacted() -> TestResult {
    let server = MockServer::start_async().await;
    let body = format!(
        r#"{{"order_id":"o-1","fraud_status":"ACCEPTED","authorized_payment_method":{{"type":"card","number_of_installments":"{TOKEN}"}}}}"#
    );
    server
        .mock_async(|when, then| {
            when.method(POST).path(ORDER_PATH);
            then.status(200)
                .header("content-type", "application/json")
                .body(body.clone());
        })
        .await;
    let order = order()?;
    let e = client(server.base_url())
        .create_order(&token(), &order)
        .await
        .expect_err("undecodable");
    let Error::UndecodableResponse(u) = &e else {
        panic!("expected UndecodableResponse, got {e:?}");
    };
    assert_eq!(u.raw_body(), body.as_bytes());
    assert_eq!(u.path(), "authorized_payment_method.number_of_installments");
    assert_eq!(e.order_outcome(), Some(OrderOutcome::Created));
    assert_redacted(&e);
    Ok(())
}

#[tokio::test]
async fn credentials_never_appear_even_when_echoed() -> TestResult {
    // A gateway that echoes the Authorization header it received.
    let server = MockServer::start_async().await;
    let page = format!(
        "<html><body>401: bad credentials Basic {BASIC_B64} for user {USERNAME}</body></html>"
    );
    server
        .mock_async(|when, then| {
            when.method(GET).path(READ_PATH);
            then.status(401)
                .header("content-type", "text/html")
                .body(page.clone());
        })
        .await;
    let e = client(server.base_url())
        .read_token(&token())
        .await
        .expect_err("401");
    assert_eq!(e.status(), Some(401));
    assert_eq!(api(&e).raw_body(), page.as_bytes());
    assert_redacted(&e);
    Ok(())
}
