//! One agent over many calls: the health attributes' success path against
//! the same logic by hand and against tower-resilience, in one run.
//!
//! - [`contention`]: `#[bulkhead]` and `#[hedge]`.
//! - [`breaker`]: `#[circuit_breaker]`, closed, in both modes.
//!
//! The criterion groups run first, then each module's pairs again,
//! interleaved (medians; `bulkhead: ...` and `hedge: ...` lines), then, if
//! `valgrind` is installed, each variant once under callgrind for its
//! instructions per call (a figure machine load does not move; set
//! `HEALTH_NO_CALLGRIND=1` to skip it), and last the line
//! `breaker: ours/hand R1, ours/tower-resilience R2` (interleaved medians
//! of time, consecutive mode).
//!
//! Run: `cargo bench --bench health`.

mod breaker;
mod common;
mod contention;

use std::process::Command;
use std::time::Duration;

use criterion::Criterion;

/// The variants [`callgrind`] counts: (label, variant, the baseline
/// variant to subtract, calls made).
const COUNTED: [(&str, &str, &str, u64); 14] = [
    ("breaker: bare call", "bare", "none", breaker::BATCH),
    ("breaker: ours", "ours", "none", breaker::BATCH),
    (
        "breaker: ours, a field",
        "ours_field",
        "none",
        breaker::BATCH,
    ),
    (
        "breaker: by hand with a guard",
        "hand",
        "none",
        breaker::BATCH,
    ),
    (
        "breaker: by hand without",
        "hand_bare",
        "none",
        breaker::BATCH,
    ),
    (
        "breaker: the permit API by hand",
        "hand_runtime",
        "none",
        breaker::BATCH,
    ),
    ("breaker: tower-resilience", "tower", "none", breaker::BATCH),
    (
        "breaker: ours, failure ratio",
        "ours_ratio",
        "none",
        breaker::BATCH,
    ),
    (
        "bulkhead: ours",
        "bulkhead_ours",
        "contention_none",
        contention::BATCH,
    ),
    (
        "bulkhead: by hand",
        "bulkhead_hand",
        "contention_none",
        contention::BATCH,
    ),
    (
        "bulkhead: tower-resilience",
        "bulkhead_tower",
        "contention_none",
        contention::BATCH,
    ),
    (
        "hedge: ours",
        "hedge_ours",
        "contention_none",
        contention::BATCH,
    ),
    (
        "hedge: by hand",
        "hedge_hand",
        "contention_none",
        contention::BATCH,
    ),
    (
        "hedge: tower-resilience",
        "hedge_tower",
        "contention_none",
        contention::BATCH,
    ),
];

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    // `HEALTH_CALLGRIND=<variant>` (see `COUNTED`, and the baselines `none`
    // and `contention_none`, which build the same services and make no
    // call): one batch of one variant, nothing else, for an instruction
    // count: `HEALTH_CALLGRIND=ours valgrind --tool=callgrind
    // target/release/deps/health-*`, minus the count for `none`, over 10,000
    // (1,000 for the bulkhead and hedge variants). The run does it itself
    // at its end.
    if let Ok(variant) = std::env::var("HEALTH_CALLGRIND") {
        assert!(
            breaker::callgrind(&rt, &variant) || contention::callgrind(&rt, &variant),
            "unknown variant {variant}: none, contention_none, or one of {:?}",
            COUNTED.map(|(_, variant, ..)| variant)
        );
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    contention::bench(&mut c, &rt);
    breaker::bench(&mut c, &rt);
    c.final_summary();

    contention::summary(&rt);
    let (r1, r2) = breaker::summary(&rt);
    if std::env::var_os("HEALTH_NO_CALLGRIND").is_none() {
        callgrind();
    }
    println!("breaker: ours/hand {r1:.2}, ours/tower-resilience {r2:.2}");
}

/// Runs this bench's binary under callgrind once per variant of
/// [`COUNTED`] and its baselines, and prints the instructions per call and
/// the ratios ours/hand and ours/tower-resilience; says so and returns if
/// `valgrind` cannot be run.
fn callgrind() {
    let count = |variant: &str| -> Option<u64> {
        let exe = std::env::current_exe().ok()?;
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(exe)
            .env("HEALTH_CALLGRIND", variant)
            .output()
            .ok()?;
        // `==123== I   refs:      786,988` (or `Collected : 786988`).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|line| line.contains("refs:") || line.contains("Collected :"))?;
        let digits: String = line
            .rsplit(':')
            .next()?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        out.status.success().then(|| digits.parse().ok()).flatten()
    };
    let (Some(none), Some(contention_none)) = (count("none"), count("contention_none")) else {
        println!();
        println!("Instructions per call: skipped (`valgrind --tool=callgrind` could not be run)");
        return;
    };
    let mut per_call = Vec::new();
    for (label, variant, baseline, calls) in COUNTED {
        let base = if baseline == "none" {
            none
        } else {
            contention_none
        };
        let Some(total) = count(variant) else {
            println!("{label}: callgrind failed");
            return;
        };
        per_call.push((label, total.saturating_sub(base) as f64 / calls as f64));
    }
    let of = |label: &str| {
        per_call
            .iter()
            .find(|(l, _)| *l == label)
            .map_or(f64::NAN, |(_, n)| *n)
    };
    println!();
    println!(
        "Instructions per call under callgrind (the run's total minus that of the same setup making no call, over the calls):"
    );
    for (label, n) in &per_call {
        println!("{label} {n:.1}");
    }
    println!(
        "bulkhead (instructions): ours/hand {:.2}, ours/tower-resilience {:.3}",
        of("bulkhead: ours") / of("bulkhead: by hand"),
        of("bulkhead: ours") / of("bulkhead: tower-resilience")
    );
    println!(
        "hedge (instructions): ours/hand {:.2}, ours/tower-resilience {:.3}",
        of("hedge: ours") / of("hedge: by hand"),
        of("hedge: ours") / of("hedge: tower-resilience")
    );
    println!(
        "breaker (instructions): ours/hand {:.2}, ours/tower-resilience {:.3}",
        of("breaker: ours") / of("breaker: by hand with a guard"),
        of("breaker: ours") / of("breaker: tower-resilience")
    );
}
