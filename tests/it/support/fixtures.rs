//! The credentials, token and order most client tests use, and the clients
//! built from them.

use std::time::Duration;

use klarna_customer_token::{Client, CustomerToken, Error, OrderLine, OrderRequest, RetryPolicy};

/// The result of a test that may fail with any error.
pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A customer token in Klarna's format.
pub const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";
/// How [`TOKEN`] is shown in messages: its last four characters.
pub const REDACTED: &str = "…9e00";
/// The API username of the test credentials.
pub const USERNAME: &str = "K123456_abcd12345";
/// The API password of the test credentials.
pub const PASSWORD: &str = "shared-secret";
/// base64("K123456_abcd12345:shared-secret")
pub const BASIC_B64: &str = "SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA==";

/// The read-token path of [`TOKEN`].
pub const READ_PATH: &str = "/customer-token/v1/tokens/0b1d9815-165e-42e2-8867-35bc03789e00";
/// The create-order path of [`TOKEN`].
pub const ORDER_PATH: &str = "/customer-token/v1/tokens/0b1d9815-165e-42e2-8867-35bc03789e00/order";
/// The cancel (status) path of [`TOKEN`].
pub const STATUS_PATH: &str =
    "/customer-token/v1/tokens/0b1d9815-165e-42e2-8867-35bc03789e00/status";

/// A client with the test credentials on `base_url` that never retries.
pub fn client(base_url: impl Into<String>) -> Client {
    Client::builder()
        .basic_auth(USERNAME, PASSWORD)
        .base_url(base_url)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("the client builds")
}

/// A client that retries quickly, for the tests that exercise retries.
pub fn retrying_client(base_url: impl Into<String>, retries: u32) -> Client {
    Client::builder()
        .basic_auth(USERNAME, PASSWORD)
        .base_url(base_url)
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(retries)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .build()
        .expect("the client builds")
}

/// [`TOKEN`] as a `CustomerToken`.
pub fn token() -> CustomerToken {
    CustomerToken::new(TOKEN).expect("a valid token")
}

/// One running shoe, GBP 25.00 with 19 % tax, merchant reference
/// `ON4711`: the order most client tests send ([`SHOE_ORDER_JSON`] is its
/// body).
pub fn shoe_order() -> Result<OrderRequest, Error> {
    OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()?,
        )
        .merchant_reference1("ON4711")
        .build()
}

/// [`shoe_order`], written out by hand: the exact bytes on the wire.
pub const SHOE_ORDER_JSON: &str = concat!(
    r#"{"merchant_reference1":"ON4711","order_amount":2500,"#,
    r#""order_lines":[{"name":"Running shoe","quantity":1,"tax_rate":1900,"#,
    r#""total_amount":2500,"total_tax_amount":399,"unit_price":2500}],"#,
    r#""order_tax_amount":399,"purchase_currency":"GBP"}"#
);

/// One "Gold plan" line at `unit_price` EUR cents with 19 % tax.
pub fn plan_order(unit_price: i64) -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("EUR")
        .line(
            OrderLine::builder("Gold plan")
                .quantity(1)
                .unit_price(unit_price)
                .tax_rate(1900)
                .build()
                .expect("line"),
        )
        .build()
        .expect("order")
}

/// A local port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}
