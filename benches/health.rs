//! One agent over many calls: the health attributes' success path against
//! the same logic by hand and against tower-resilience, in one run.
//!
//! - [`breaker`]: `#[circuit_breaker]`, closed, in both modes.
//!
//! Run: `cargo bench --bench health`.

mod breaker;
mod common;

use std::time::Duration;

use criterion::Criterion;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    // `HEALTH_CALLGRIND=ours` (or `none`, `bare`, `hand`, `hand_bare`,
    // `hand_runtime`, `tower`, `ours_ratio`): one batch of 10,000 calls of one variant, for
    // an instruction count that machine load does not move:
    // `HEALTH_CALLGRIND=ours valgrind --tool=callgrind target/release/deps/health-*`,
    // minus the count for `none`, over 10,000.
    if let Ok(variant) = std::env::var("HEALTH_CALLGRIND") {
        breaker::callgrind(&rt, &variant);
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    breaker::run(&mut c, &rt);
}
