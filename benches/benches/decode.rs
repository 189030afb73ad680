//! Response decoding: the token and order bodies into the facade's typed
//! (open) types, against `serde_json::Value`.
//!
//! Run: `cargo bench --bench decode --features schemars` is not needed; the
//! types are decoded through `serde_json` exactly as the client does.

use criterion::{Criterion, criterion_group, criterion_main};
use klarna_customer_token::{AuthorizedPaymentMethod, FraudStatus};
use std::hint::black_box;

/// The order body as the client decodes it (the crate's own `order` type is
/// private): the same derived decoder over the same public field types.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct OrderBody {
    #[serde(default)]
    authorized_payment_method: Option<AuthorizedPaymentMethod>,
    fraud_status: FraudStatus,
    order_id: String,
    #[serde(default)]
    redirect_url: Option<String>,
}

const TOKEN: &[u8] = br#"{"card":{"brand":"VISA","expiry_date":"12/2030","masked_number":"************1234"},"direct_debit":{"masked_number":"**********124"},"payment_method_type":"CARD","status":"ACTIVE"}"#;
const ORDER: &[u8] = br#"{"authorized_payment_method":{"number_of_days":14,"number_of_installments":0,"type":"invoice"},"fraud_status":"ACCEPTED","order_id":"f3392f8b-6116-4073-ab96-e330819e2c07","redirect_url":"https://credit.klarna.com/v1/sessions/0b1d9815-165e-42e2-8867-35bc03789e00/redirect"}"#;

fn decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.bench_function("token_typed", |b| {
        b.iter(|| {
            serde_json::from_slice::<klarna_customer_token::TokenDetails>(black_box(TOKEN))
                .expect("decodes")
        })
    });
    group.bench_function("token_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(TOKEN)).expect("decodes"))
    });
    group.bench_function("order_typed", |b| {
        b.iter(|| serde_json::from_slice::<OrderBody>(black_box(ORDER)).expect("decodes"))
    });
    group.bench_function("order_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(ORDER)).expect("decodes"))
    });
    group.finish();
}

criterion_group!(benches, decoding);
criterion_main!(benches);
