//! Change detection on 100,000 employees × 10 periods (previous vs current record, employment
//! history): one full pass of the changes stage's pure work, on one core.
//!
//! `cargo bench --bench change_detection` (the `bench/run.sh` runner reads criterion's estimates
//! and `target/bench-results/change_detection_memory.json`).

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, Criterion};
use testkit::{
    alloc::{Counting, peak_of, write_results},
    synthetic as data,
};

/// Counts live heap bytes and their peak, to show memory grows linearly with employees.
#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak extra heap of one pass (beyond its input) at several sizes.
fn memory_scaling() -> Vec<(usize, usize, usize)> {
    [10_000, 50_000, 100_000]
        .into_iter()
        .map(|n| {
            let inputs = data::generate(n);
            let (changes, peak) = peak_of(|| data::detect_all(&inputs).len());
            eprintln!("memory: {n} employees -> {changes} changes, peak {} KiB over the input", peak / 1024);
            (n, changes, peak)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let inputs = data::generate(100_000);
    let changes = data::detect_all(&inputs).len();
    eprintln!("100,000 employees × 10 periods -> {changes} changes per pass");
    let mut g = c.benchmark_group("change_detection");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(12));
    g.bench_function("full_pass_100k", |b| {
        b.iter_batched(|| (), |()| black_box(data::detect_all(black_box(&inputs))), BatchSize::PerIteration)
    });
    g.finish();
}

fn main() {
    let scaling = memory_scaling();
    let rows: Vec<serde_json::Value> = scaling
        .iter()
        .map(|(n, changes, peak)| serde_json::json!({"employees": n, "changes": changes, "peak_bytes": peak}))
        .collect();
    write_results("change_detection_memory.json", &rows);
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
