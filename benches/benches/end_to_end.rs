//! End to end over loopback: `create_order` and `read_token` through the
//! facade against a hand-written raw `reqwest` call that sends the same
//! bytes with the same headers, with a per-request timeout (as the facade
//! has per attempt), over a client with the same settings, and decodes the
//! same fields (see `klarna_customer_token_benches::raw`), both against one
//! minimal local HTTP server that answers a fixed 200 JSON body.
//! Sequential, and 64 calls at a time. Before measuring, both sides send one
//! request of each kind to a capturing server, and the bench stops unless
//! the bytes are the same (the idempotency key's value aside).
//!
//! Run: `cargo bench -p klarna-customer-token-benches --bench end_to_end`

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klarna_customer_token_benches::raw;

fn end_to_end(c: &mut Criterion) {
    let (runtime, sides) = raw::setup();
    let raw::Sides {
        client,
        raw,
        token,
        order,
        body,
    } = sides;

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
