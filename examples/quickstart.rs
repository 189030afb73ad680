//! The quickstart walkthrough, against a mock server started in-process on
//! 127.0.0.1: no account and no network.
//!
//! Run it with `cargo run --example quickstart`.

use httpmock::prelude::*;
use klarna_customer_token::{
    Client, CustomerToken, Error, ErrorCode, OrderLine, OrderRequest, TokenStatus,
};

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let klarna = MockServer::start_async().await;
    let path = format!("/customer-token/v1/tokens/{TOKEN}");
    println!("mock Customer Token API at {}", klarna.base_url());

    klarna
        .mock_async(|when, then| {
            when.method(GET).path(path.clone());
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"payment_method_type":"INVOICE","status":"ACTIVE"}"#);
        })
        .await;

    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(klarna.base_url())
        .build()?;

    // 1. Read the token.
    let token = CustomerToken::new(TOKEN)?;
    let details = client.read_token(&token).await?;
    println!(
        "1. token {token}: status {}, payment method {}",
        details.status(),
        details.payment_method_type()
    );
    assert_eq!(details.status(), &TokenStatus::Active);

    // 2. Create an order. The idempotency key exists before the call is sent.
    let order = OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()?,
        )
        .merchant_reference1("ON4711")
        .build()?;
    println!(
        "   order: {} {} (tax {}), computed by the builder",
        order.order_amount(),
        order.purchase_currency(),
        order.order_tax_amount()
    );
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key().clone();
    // The mock answers this key with one order, as Klarna would.
    let order_mock = klarna
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("{path}/order"))
                .header("klarna-idempotency-key", key.as_str());
            then.status(200)
                .header("content-type", "application/json")
                .header("klarna-correlation-id", "quickstart-1")
                .body(r#"{"order_id":"f3392f8b-6116-4073-ab96-e330819e2c07","fraud_status":"ACCEPTED"}"#);
        })
        .await;
    let created = call.await?;
    println!(
        "2. created order {} ({}) with idempotency key {}",
        created.order_id(),
        created.fraud_status(),
        created.idempotency_key()
    );

    // 3. The same key again: the same order, not a second charge.
    let again = client
        .create_order(&token, &order)
        .with_idempotency_key(key.clone())
        .await?;
    println!(
        "3. repeated with the same key: order {} (same: {})",
        again.order_id(),
        again.order_id() == created.order_id()
    );

    // 4. Cancel the token.
    klarna
        .mock_async(|when, then| {
            when.method(PATCH).path(format!("{path}/status"));
            then.status(202);
        })
        .await;
    client.cancel_token(&token).await?;
    println!("4. cancelled token {token}");

    // 5. Another order on the cancelled token fails with a typed error.
    order_mock.delete_async().await;
    klarna
        .mock_async(|when, then| {
            when.method(POST).path(format!("{path}/order"));
            then.status(403)
                .header("content-type", "application/json")
                .body(r#"{"error_code":"TOKEN_CANCELLED","error_messages":["The token has been cancelled"],"correlation_id":"quickstart-2"}"#);
        })
        .await;
    match client.create_order(&token, &order).await {
        Err(e @ Error::Api(_)) if e.error_code() == Some(&ErrorCode::TokenCancelled) => {
            println!("5. as expected: {e}");
            println!("   outcome: {:?}", e.order_outcome());
        }
        Err(other) => return Err(other.into()),
        Ok(order) => return Err(format!("unexpected order {}", order.order_id()).into()),
    }
    Ok(())
}
