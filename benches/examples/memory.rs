//! Memory stays flat: 100,000 `create_order` calls against a minimal local
//! server, printing the resident and peak memory after 1k, 10k and 100k
//! calls (Linux: read from /proc/self/status).
//!
//! Run: `cargo run --release -p klarna-customer-token-benches --example memory`

use klarna_customer_token::CustomerToken;
use klarna_customer_token_benches::proc_memory::memory_kib;
use klarna_customer_token_benches::{raw, server};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = server::start().await;
    let client = raw::facade(&base);
    let token = CustomerToken::new(raw::TOKEN)?;
    let order = raw::order();
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
