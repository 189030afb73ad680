//! End to end, paired: the same four measurements as the `end_to_end`
//! bench (create_order and read_token, sequential and 64 in flight, the
//! facade against the raw side of `klarna_customer_token_benches::raw`), but
//! each round times one short block of calls per side back to back,
//! alternating which side goes first, and takes the ratio of the two. On a
//! machine shared with other work the load changes between criterion's
//! seconds-long measurements; within a round of a few milliseconds it
//! mostly does not, so the median of the round ratios is the steadier
//! figure. Prints, per measurement, each side's median time per call and the
//! median (min–max of the middle half) of the round ratios facade / raw.
//!
//! Run: `cargo run --release -p klarna-customer-token-benches --example paired [ROUNDS]`
//!
//! For a profile of one side alone (say under `perf record`), 64 in flight
//! for a number of blocks: `... --example paired -- only facade|raw create|read BLOCKS [IN_FLIGHT]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use klarna_customer_token_benches::raw::{self, Sides};

/// Calls per block when sequential; batches per block at 64 in flight.
const SEQUENTIAL: usize = 100;
const BATCHES: usize = 3;

#[derive(Clone, Copy)]
enum Op {
    Create,
    Read,
}

/// One call of one side.
async fn one(sides: &Sides, facade: bool, op: Op) {
    match (facade, op) {
        (true, Op::Create) => {
            sides
                .client
                .create_order(&sides.token, &sides.order)
                .await
                .expect("created");
        }
        (true, Op::Read) => {
            sides.client.read_token(&sides.token).await.expect("read");
        }
        (false, Op::Create) => {
            sides.raw.create_order(sides.body.clone()).await;
        }
        (false, Op::Read) => {
            sides.raw.read_token().await;
        }
    }
}

/// One block of one side; the time per call.
async fn block(sides: &Arc<Sides>, facade: bool, op: Op, in_flight: usize) -> Duration {
    let started = Instant::now();
    let calls = if in_flight == 1 {
        for _ in 0..SEQUENTIAL {
            one(sides, facade, op).await;
        }
        SEQUENTIAL
    } else {
        for _ in 0..BATCHES {
            let tasks: Vec<_> = (0..in_flight)
                .map(|_| {
                    let sides = Arc::clone(sides);
                    tokio::spawn(async move { one(&sides, facade, op).await })
                })
                .collect();
            for task in tasks {
                task.await.expect("joined");
            }
        }
        BATCHES * in_flight
    };
    started.elapsed() / calls as u32
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(60);
    let (runtime, sides) = raw::setup();
    let sides = Arc::new(sides);
    if args.first().map(String::as_str) == Some("only") {
        let facade = args.get(1).map(String::as_str) == Some("facade");
        let op = match args.get(2).map(String::as_str) {
            Some("create") => Op::Create,
            _ => Op::Read,
        };
        let blocks: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(100);
        let in_flight: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(64);
        let mut per_call = Vec::new();
        runtime.block_on(async {
            for _ in 0..blocks {
                per_call.push(block(&sides, facade, op, in_flight).await.as_secs_f64() * 1e6);
            }
        });
        println!(
            "{:.1} µs per call (median of {blocks} blocks)",
            median(&mut per_call)
        );
        return;
    }
    println!(
        "| measurement | facade per call | raw per call | time ratio facade/raw (median, middle half) | throughput facade/raw |"
    );
    println!("|---|---|---|---|---|");
    runtime.block_on(async {
        for (name, op, in_flight) in [
            ("create_order x1", Op::Create, 1),
            ("read_token x1", Op::Read, 1),
            ("create_order x64", Op::Create, 64),
            ("read_token x64", Op::Read, 64),
        ] {
            // Warm-up: connections opened, code and allocator warm.
            for facade in [true, false] {
                block(&sides, facade, op, in_flight).await;
            }
            let (mut f, mut r, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds {
                let first = round % 2 == 0;
                let a = block(&sides, first, op, in_flight).await;
                let b = block(&sides, !first, op, in_flight).await;
                let (facade, raw) = if first { (a, b) } else { (b, a) };
                f.push(facade.as_secs_f64() * 1e6);
                r.push(raw.as_secs_f64() * 1e6);
                ratios.push(facade.as_secs_f64() / raw.as_secs_f64());
            }
            let ratio = median(&mut ratios);
            let (low, high) = (ratios[rounds / 4], ratios[rounds * 3 / 4]);
            println!(
                "| {name} | {:.1} µs | {:.1} µs | {ratio:.3} ({low:.3}–{high:.3}) | {:.3} |",
                median(&mut f),
                median(&mut r),
                1.0 / ratio
            );
        }
    });
}
