//! The sandbox's resident memory under hostile input: 20 keyed bodies of
//! 10 MiB, 2,000 requests with 40 KiB of headers each, and enough keyed
//! requests to fill the idempotency store to its cap (100,000 keys). It
//! prints the resident and peak memory after each phase (Linux: read from
//! /proc/self/status). The client runs in the same process, so the figures
//! include it.
//!
//! Run: `cargo run --release -p klarna-customer-token-benches --example sandbox_memory [KEYS]`

use klarna_customer_token_benches::proc_memory;

use base64::Engine as _;
use klarna_customer_token_sandbox::{MAX_BODY_BYTES, Sandbox, credentials, defaults};

fn report(phase: &str, sandbox: &Sandbox) {
    let (rss, peak) =
        proc_memory::memory_kib().map_or((0, 0), |(rss, peak)| (rss / 1024, peak / 1024));
    println!(
        "{phase:<44} rss {rss:>5} MiB  peak {peak:>5} MiB  keys {:>6}  log {:>5}",
        sandbox.idempotency_keys(),
        sandbox.requests().len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => defaults::MAX_IDEMPOTENCY_KEYS,
    };
    let sandbox = Sandbox::start().await?;
    let http = reqwest::Client::new();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            credentials::USERNAME,
            credentials::PASSWORD
        ))
    );
    let unknown = format!(
        "{}/customer-token/v1/tokens/no-such-token-0000/order",
        sandbox.base_url()
    );
    report("started", &sandbox);

    // 1. Twenty `[0,0,…]` bodies of 10 MiB under fresh keys.
    let mut zeros = Vec::with_capacity(MAX_BODY_BYTES);
    zeros.push(b'[');
    while zeros.len() + 4 <= MAX_BODY_BYTES {
        zeros.extend_from_slice(b"0,");
    }
    zeros.extend_from_slice(b"0]");
    for i in 0..20 {
        http.post(&unknown)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .header("klarna-idempotency-key", format!("hostile-{i}"))
            .body(zeros.clone())
            .send()
            .await?;
    }
    drop(zeros);
    report("20 keyed bodies of 10 MiB", &sandbox);

    // 2. 2,000 unauthenticated requests with 40 KiB of headers each.
    let padding = "p".repeat(1024);
    for _ in 0..2_000 {
        let mut request = http.get(format!("{}/x", sandbox.base_url()));
        for h in 0..40 {
            request = request.header(format!("x-pad-{h}"), &padding);
        }
        request.send().await?;
    }
    report("2,000 requests with 40 KiB of headers", &sandbox);

    // 3. Fill the idempotency store: small keyed requests, 16 at a time.
    let mut sent = 0;
    while sent < keys {
        let batch: Vec<_> = (sent..(sent + 16).min(keys))
            .map(|i| {
                http.post(&unknown)
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .header("klarna-idempotency-key", format!("fill-{i}"))
                    .body(r#"{"purchase_currency":"EUR"}"#)
                    .send()
            })
            .collect();
        sent += batch.len();
        for result in futures_join(batch).await {
            result?;
        }
    }
    report(&format!("{keys} more keyed requests"), &sandbox);
    Ok(())
}

/// Awaits every future (a few lines instead of a dependency).
async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        if let Ok(output) = handle.await {
            out.push(output);
        }
    }
    out
}
