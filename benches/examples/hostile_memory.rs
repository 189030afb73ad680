//! Peak memory of one call against a hostile server: an endless chunked
//! success body, and a 100 MB error page answered to each of three
//! attempts. The body cap (1 MiB by default) bounds both.
//!
//! Run: `cargo run --release -p klarna-customer-token-benches --example hostile_memory` (Linux: the figures
//! are read from /proc/self/status).

use klarna_customer_token_benches::proc_memory;
use klarna_customer_token_testkit::hostile;

use std::time::Duration;

use hostile::{Hostile, Reply};
use klarna_customer_token::clock::VirtualClock;
use klarna_customer_token::{Client, CustomerToken, OrderLine, OrderRequest, RetryPolicy};
use proc_memory::memory_kib;

fn report(what: &str, before: Option<(u64, u64)>) {
    match (before, memory_kib()) {
        (Some((_, peak_before)), Some((rss, peak))) => println!(
            "{what:<44} peak {peak:>7} KiB (+{:>6} KiB over the peak before), resident after {rss:>7} KiB",
            peak.saturating_sub(peak_before)
        ),
        _ => println!("{what:<44} (memory not reported on this platform)"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00")?;
    let order = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(
            OrderLine::builder("Gold plan")
                .quantity(1)
                .unit_price(1190)
                .build()?,
        )
        .build()?;

    let endless = Hostile::start(|_| {
        Reply::endless(
            200,
            &[("content-type", "application/json")],
            r#"{"order_id":"o-1","x":""#,
            b'a',
        )
    })
    .await;
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(&endless.base_url)
        .build()?;
    let before = memory_kib();
    let e = client
        .create_order(&token, &order)
        .await
        .expect_err("past the cap");
    report("one call, endless chunked 200 body", before);
    println!("  -> {e}");

    let page = Hostile::start(|_| {
        Reply::sized(
            502,
            &[("content-type", "text/html")],
            "<html>",
            b'x',
            100_000_000,
            true,
        )
    })
    .await;
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(&page.base_url)
        .clock(VirtualClock::new())
        .retry_policy(RetryPolicy::default().with_max_retries(2))
        .attempt_timeout(Duration::from_secs(30))
        .build()?;
    let before = memory_kib();
    let e = client.create_order(&token, &order).await.expect_err("502");
    report("one call, 3 attempts, 100 MB 502 page each", before);
    println!(
        "  -> {}",
        e.to_string().chars().take(160).collect::<String>()
    );
    Ok(())
}
