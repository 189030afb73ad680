//! The quickstart walkthrough.
//!
//! ```text
//! cargo run -p klarna-customer-token-sandbox --example quickstart
//! ```
//!
//! By default it runs against the in-process sandbox: no account and no
//! network. With `KLARNA_USERNAME`, `KLARNA_PASSWORD` and
//! `KLARNA_CUSTOMER_TOKEN` set (and optionally `KLARNA_ENDPOINT` or
//! `KLARNA_BASE_URL`), it reads that token and creates one order on that
//! server instead; it cancels the token only when given `--cancel`.

use klarna_customer_token::{
    Client, CustomerToken, Endpoint, Error, ErrorCode, OrderLine, OrderRequest, Region,
};
use klarna_customer_token_sandbox::{Sandbox, tokens};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let cancel = std::env::args().skip(1).any(|a| a == "--cancel");
    match std::env::var("KLARNA_CUSTOMER_TOKEN") {
        Ok(token) => real_server(&token, cancel).await,
        Err(_) => sandbox().await,
    }
}

fn order() -> Result<OrderRequest> {
    Ok(OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()?,
        )
        .merchant_reference1("ON4711")
        .build()?)
}

async fn sandbox() -> Result<()> {
    let sandbox = Sandbox::start().await?;
    println!("sandbox Customer Token API at {}", sandbox.base_url());
    let client = sandbox.client();
    let token = CustomerToken::new(tokens::ACTIVE_INVOICE)?;

    // 1. Read the token.
    let details = client.read_token(&token).await?;
    println!(
        "1. read token {token}: {}, paid by {}",
        details.status(),
        details.payment_method_type()
    );

    // 2. Create an order. The idempotency key exists before it is sent.
    let order = order()?;
    let call = client.create_order(&token, &order);
    let key = call.idempotency_key()?.clone();
    println!(
        "2. creating an order of {} {} (tax {}) with idempotency key {key}",
        order.order_amount(),
        order.purchase_currency(),
        order.order_tax_amount()
    );
    let created = call.await?;
    println!(
        "   created order {} ({})",
        created.order_id(),
        created.fraud_status()
    );

    // 3. The same key again: the same order, not a second charge.
    let again = client
        .create_order(&token, &order)
        .with_idempotency_key(key)
        .await?;
    println!(
        "3. repeated with the same key: order {} ({}), orders stored: {}",
        again.order_id(),
        if again.order_id() == created.order_id() {
            "the same order"
        } else {
            "A DIFFERENT ORDER"
        },
        sandbox.orders().len()
    );

    // 4. Cancel the token.
    client.cancel_token(&token).await?;
    println!(
        "4. cancelled token {token}: now {}",
        client.read_token(&token).await?.status()
    );

    // 5. Another order on the cancelled token fails with a typed error.
    match client.create_order(&token, &order).await {
        Err(e) if e.error_code() == Some(&ErrorCode::TokenCancelled) => {
            println!("5. another order is refused, as it should be:\n   {e}");
        }
        Err(other) => return Err(other.into()),
        Ok(order) => return Err(format!("unexpected order {}", order.order_id()).into()),
    }
    Ok(())
}

fn endpoint(name: &str) -> Result<Endpoint> {
    Ok(match name {
        "klarna-eu" => Endpoint::Klarna(Region::Europe),
        "klarna-na" => Endpoint::Klarna(Region::NorthAmerica),
        "klarna-oc" => Endpoint::Klarna(Region::Oceania),
        "klarna-playground-eu" => Endpoint::KlarnaPlayground(Region::Europe),
        "klarna-playground-na" => Endpoint::KlarnaPlayground(Region::NorthAmerica),
        "klarna-playground-oc" => Endpoint::KlarnaPlayground(Region::Oceania),
        "kustom" => Endpoint::Kustom,
        "kustom-playground" => Endpoint::KustomPlayground,
        other => {
            return Err(format!(
                "unknown KLARNA_ENDPOINT {other:?}: use klarna-eu, klarna-na, klarna-oc, \
                 klarna-playground-eu, klarna-playground-na, klarna-playground-oc, \
                 kustom or kustom-playground"
            )
            .into());
        }
    })
}

async fn real_server(token: &str, cancel: bool) -> Result<()> {
    let username = std::env::var("KLARNA_USERNAME").map_err(|_| "KLARNA_USERNAME is not set")?;
    let password = std::env::var("KLARNA_PASSWORD").map_err(|_| "KLARNA_PASSWORD is not set")?;
    let mut builder = Client::builder().basic_auth(username, password);
    builder = match std::env::var("KLARNA_BASE_URL") {
        Ok(url) => builder.base_url(url),
        Err(_) => {
            let name = std::env::var("KLARNA_ENDPOINT")
                .unwrap_or_else(|_| "klarna-playground-eu".to_owned());
            builder.endpoint(endpoint(&name)?)
        }
    };
    let client = builder.build()?;
    println!("server: {}", client.base_url());
    let token = CustomerToken::new(token)?;

    let details = client.read_token(&token).await?;
    println!(
        "1. read token {token}: {}, paid by {}",
        details.status(),
        details.payment_method_type()
    );
    let order = order()?;
    let call = client.create_order(&token, &order);
    println!(
        "2. creating one order with idempotency key {}",
        call.idempotency_key()?
    );
    match call.await {
        Ok(created) => println!(
            "   created order {} ({})",
            created.order_id(),
            created.fraud_status()
        ),
        Err(e @ Error::Api(_)) => println!("   refused: {e}"),
        Err(e) => return Err(e.into()),
    }
    if cancel {
        client.cancel_token(&token).await?;
        println!("3. cancelled token {token}");
    } else {
        println!("3. token left as it is (pass --cancel to cancel it)");
    }
    Ok(())
}
