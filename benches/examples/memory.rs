//! Memory stays flat: 100,000 `create_order` calls against a minimal local
//! server, printing the resident and peak memory after 1k, 10k and 100k
//! calls (Linux: read from /proc/self/status).
//!
//! Run: `cargo run --release -p klarna-customer-token-benches --example memory`

use klarna_customer_token::{Client, CustomerToken, OrderLine, OrderRequest};
use klarna_customer_token_benches::proc_memory::memory_kib;
use klarna_customer_token_benches::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = server::start().await;
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(&base)
        .build()?;
    let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00")?;
    let order = OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()?,
        )
        .build()?;
    let checkpoints = [1_000usize, 10_000, 100_000];
    println!("calls      rss_kib   peak_kib");
    if let Some((rss, peak)) = memory_kib() {
        println!("{:>7} {:>10} {:>10}", 0, rss, peak);
    }
    let mut done = 0;
    for checkpoint in checkpoints {
        while done < checkpoint {
            client.create_order(&token, &order).await?;
            done += 1;
        }
        match memory_kib() {
            Some((rss, peak)) => println!("{done:>7} {rss:>10} {peak:>10}"),
            None => println!("{done:>7} (memory not reported on this platform)"),
        }
    }
    Ok(())
}
