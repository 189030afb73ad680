//! Heap allocations per call: the facade's `create_order` and `read_token`
//! against the raw side of the end-to-end bench, sequentially over loopback
//! against the bench's minimal server (whose own allocations are the same
//! for both sides). A counting global allocator wraps the system one.
//!
//! Run: `cargo run --release -p klarna-customer-token-benches --example call_allocs`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use klarna_customer_token_benches::raw;
use klarna_customer_token_benches::server;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`realloc` above, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CALLS: u64 = 2_000;

/// Runs `call` `CALLS` times after a warm-up; allocations and bytes per
/// call, and the connections the server accepted meanwhile.
async fn per_call<F: Future<Output = ()>>(mut call: impl FnMut() -> F) -> (f64, f64, u64) {
    for _ in 0..100 {
        call().await;
    }
    let (a, b) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let connections = server::accepted();
    for _ in 0..CALLS {
        call().await;
    }
    let a = ALLOCATIONS.load(Ordering::Relaxed) - a;
    let b = BYTES.load(Ordering::Relaxed) - b;
    let connections = server::accepted() - connections;
    (
        a as f64 / CALLS as f64,
        b as f64 / CALLS as f64,
        connections,
    )
}

fn main() {
    let (runtime, sides) = raw::setup();
    let (client, raw, token, order) = (&sides.client, &sides.raw, &sides.token, &sides.order);
    runtime.block_on(async {
        let rows = [
            (
                "create_order",
                per_call(|| async {
                    client.create_order(token, order).await.expect("created");
                })
                .await,
                per_call(|| async {
                    raw.create_order(sides.body.clone()).await;
                })
                .await,
            ),
            (
                "read_token",
                per_call(|| async {
                    client.read_token(token).await.expect("read");
                })
                .await,
                per_call(|| async {
                    raw.read_token().await;
                })
                .await,
            ),
        ];
        println!(
            "| call | facade allocations | raw allocations | more | facade bytes | raw bytes | new connections (facade, raw) |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (name, (fa, fb, fc), (ra, rb, rc)) in rows {
            println!(
                "| {name} | {fa:.1} | {ra:.1} | {:.1} | {fb:.0} | {rb:.0} | {fc}, {rc} |",
                fa - ra
            );
        }
    });
}
