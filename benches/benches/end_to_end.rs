//! End to end over loopback: `create_order` and `read_token` through the
//! facade against a hand-written raw `reqwest` call that sends the same
//! bytes with the same headers, with a per-request timeout (as the facade
//! has per attempt), and decodes the same fields, both
//! against one minimal local HTTP server that answers a fixed 200 JSON body.
//! Sequential, and 64 calls at a time.
//!
//! Run: `cargo bench -p klarna-customer-token-benches --bench end_to_end`

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klarna_customer_token::{Client, CustomerToken, OrderLine, OrderRequest, RetryPolicy};

use klarna_customer_token_benches::server;

const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

/// The raw side's decoded types: the same fields as the facade decodes.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct RawOrder {
    order_id: String,
    fraud_status: String,
    redirect_url: Option<String>,
    authorized_payment_method: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct RawToken {
    payment_method_type: String,
    status: String,
}

/// The facade's default per-attempt timeout, which the raw side sets on
/// every request.
const TIMEOUT: Duration = Duration::from_secs(30);

struct Raw {
    http: reqwest::Client,
    base: String,
    authorization: String,
    user_agent: String,
}

impl Raw {
    async fn create_order(&self, body: bytes::Bytes) -> RawOrder {
        let key = uuid_like();
        let response = self
            .http
            .post(format!(
                "{}/customer-token/v1/tokens/{TOKEN}/order",
                self.base
            ))
            .header("authorization", &self.authorization)
            .header("user-agent", &self.user_agent)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .header("klarna-idempotency-key", key)
            .body(body)
            .timeout(TIMEOUT)
            .send()
            .await
            .expect("sent");
        let bytes = response.bytes().await.expect("read");
        serde_json::from_slice(&bytes).expect("decoded")
    }

    async fn read_token(&self) -> RawToken {
        let response = self
            .http
            .get(format!("{}/customer-token/v1/tokens/{TOKEN}", self.base))
            .header("authorization", &self.authorization)
            .header("user-agent", &self.user_agent)
            .header("accept", "application/json")
            .timeout(TIMEOUT)
            .send()
            .await
            .expect("sent");
        let bytes = response.bytes().await.expect("read");
        serde_json::from_slice(&bytes).expect("decoded")
    }
}

/// A fresh key per call, as the facade makes one (UUID v4 text).
fn uuid_like() -> String {
    let a = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 96) as u32,
        (a >> 80) as u16,
        (a >> 68) as u16 & 0xfff,
        ((a >> 52) as u16 & 0x3fff) | 0x8000,
        a as u64 & 0xffff_ffff_ffff
    )
}

fn order() -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("GBP")
        .line(
            OrderLine::builder("Running shoe")
                .quantity(1)
                .unit_price(2500)
                .tax_rate(1900)
                .build()
                .expect("line"),
        )
        .merchant_reference1("ON4711")
        .build()
        .expect("order")
}

fn end_to_end(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let base = runtime.block_on(server::start());
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(&base)
        .retry_policy(RetryPolicy::default())
        .build()
        .expect("client");
    let raw = Arc::new(Raw {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest"),
        base: base.clone(),
        authorization: "Basic SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA==".to_owned(),
        user_agent: "Library/klarna-customer-token_0.1.0 Language/Rust_1.95.0 OS/linux".to_owned(),
    });
    let token = Arc::new(CustomerToken::new(TOKEN).expect("token"));
    let order = Arc::new(order());
    let body = bytes::Bytes::from(order.to_json());

    let mut group = c.benchmark_group("end_to_end");
    for concurrency in [1usize, 64] {
        group.throughput(Throughput::Elements(concurrency as u64));
        group.bench_function(BenchmarkId::new("facade_create_order", concurrency), |b| {
            b.to_async(&runtime).iter(|| {
                let client = client.clone();
                let token = Arc::clone(&token);
                let order = Arc::clone(&order);
                async move {
                    let calls = (0..concurrency).map(|_| {
                        let client = client.clone();
                        let token = Arc::clone(&token);
                        let order = Arc::clone(&order);
                        tokio::spawn(async move {
                            client.create_order(&token, &order).await.expect("created")
                        })
                    });
                    for call in calls.collect::<Vec<_>>() {
                        call.await.expect("joined");
                    }
                }
            })
        });
        group.bench_function(BenchmarkId::new("raw_create_order", concurrency), |b| {
            b.to_async(&runtime).iter(|| {
                let raw = Arc::clone(&raw);
                let body = body.clone();
                async move {
                    let calls = (0..concurrency).map(|_| {
                        let raw = Arc::clone(&raw);
                        let body = body.clone();
                        tokio::spawn(async move { raw.create_order(body).await })
                    });
                    for call in calls.collect::<Vec<_>>() {
                        call.await.expect("joined");
                    }
                }
            })
        });
        group.bench_function(BenchmarkId::new("facade_read_token", concurrency), |b| {
            b.to_async(&runtime).iter(|| {
                let client = client.clone();
                let token = Arc::clone(&token);
                async move {
                    let calls = (0..concurrency).map(|_| {
                        let client = client.clone();
                        let token = Arc::clone(&token);
                        tokio::spawn(async move { client.read_token(&token).await.expect("read") })
                    });
                    for call in calls.collect::<Vec<_>>() {
                        call.await.expect("joined");
                    }
                }
            })
        });
        group.bench_function(BenchmarkId::new("raw_read_token", concurrency), |b| {
            b.to_async(&runtime).iter(|| {
                let raw = Arc::clone(&raw);
                async move {
                    let calls = (0..concurrency).map(|_| {
                        let raw = Arc::clone(&raw);
                        tokio::spawn(async move { raw.read_token().await })
                    });
                    for call in calls.collect::<Vec<_>>() {
                        call.await.expect("joined");
                    }
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
