//! Change detection on 100,000 employees × 10 periods (previous vs current record, employment
//! history): one full pass of the changes stage's pure work, on one core.
//!
//! `cargo bench --bench change_detection` (the `bench/run.sh` runner reads criterion's estimates
//! and `target/bench-results/change_detection_memory.json`).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
    time::Duration,
};

use criterion::{BatchSize, Criterion};
use testkit::synthetic as data;

/// Counts live heap bytes and their peak, to show memory grows linearly with employees.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(live, Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak extra heap of one pass (beyond its input) at several sizes.
fn memory_scaling() -> Vec<(usize, usize, usize)> {
    [10_000, 50_000, 100_000]
        .into_iter()
        .map(|n| {
            let inputs = data::generate(n);
            let before = LIVE.load(Relaxed);
            PEAK.store(before, Relaxed);
            let found = data::detect_all(&inputs);
            let changes = found.len();
            drop(found);
            let peak = PEAK.load(Relaxed) - before;
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
    let dir = testkit::repo_root().join("target/bench-results");
    std::fs::create_dir_all(&dir).expect("target/bench-results");
    let rows: Vec<serde_json::Value> = scaling
        .iter()
        .map(|(n, changes, peak)| serde_json::json!({"employees": n, "changes": changes, "peak_bytes": peak}))
        .collect();
    std::fs::write(dir.join("change_detection_memory.json"), serde_json::to_vec_pretty(&rows).unwrap())
        .expect("writing memory results");
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
