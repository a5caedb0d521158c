//! Chaos (the `chaos` feature) on tokio's paused clock with fixed seeds:
//! injected rates and latencies within statistical bounds over 100k calls,
//! the same faults for the same seed, run-time switches, every bad
//! configuration a typed error, and `#[chaos]` alone, stacked under
//! `#[retry]` and on a method, with its counts and events.
//!
//! Run with `cargo test --features chaos --test chaos`.

use std::time::Duration;

use resilience::events::Scope;
use resilience::{
    Chaos, ChaosConfig, ChaosConfigError, ChaosError, ChaosKind, Latency, OwnedEventKind, chaos,
    retry,
};

#[derive(Debug, PartialEq, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Chaos(#[from] ChaosError),
    #[error("the model refused task {0}")]
    Real(u32),
}

/// The outcome of each of `n` calls through `chaos`: the injected kind, or
/// `None` for a call that passed through.
async fn faults(chaos: &Chaos, n: usize) -> Vec<Option<ChaosKind>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let result: Result<(), AgentError> = chaos.call(|| async { Ok(()) }).await;
        out.push(match result {
            Ok(()) => None,
            Err(AgentError::Chaos(error)) => Some(error.kind().expect("an injected fault")),
            Err(other) => panic!("unexpected {other}"),
        });
    }
    out
}

fn count(faults: &[Option<ChaosKind>], kind: ChaosKind) -> u64 {
    faults.iter().filter(|f| **f == Some(kind)).count() as u64
}

// Statistical bounds. Each count below is binomial, n = 100_000 calls.
// A correct implementation lands outside mean ± 6.5 standard deviations
// with probability below 8.1e-11 (normal tail, two-sided; at these means,
// >= 7_500, the normal approximation is sound). The rate test checks 5
// counts and the latency test 1 mean: a union bound puts a false failure
// below 6 * 8.1e-11 < 1e-9. (The seeds are fixed, so each test is in fact
// deterministic; the bounds say the figures are right for any seed.)
const CALLS: usize = 100_000;

/// `|observed - n p| <= 6.5 sqrt(n p (1 - p))`.
fn within_bounds(observed: u64, p: f64) -> bool {
    let n = CALLS as f64;
    let (mean, sd) = (n * p, (n * p * (1.0 - p)).sqrt());
    (observed as f64 - mean).abs() <= 6.5 * sd
}

#[tokio::test(start_paused = true)]
async fn injected_rates_are_within_bounds_over_100k_calls() {
    // Rate 0.3, weights 3:1:1:0 → timeout 0.18, connection and processing
    // 0.06 each, resource exhaustion never.
    let chaos = Chaos::try_new(
        ChaosConfig::new()
            .with_failure_rate(0.3)
            .with_weight(ChaosKind::Timeout, 3)
            .with_weight(ChaosKind::ResourceExhausted, 0)
            .with_seed(20_261_202),
    )
    .unwrap();
    let faults = faults(&chaos, CALLS).await;
    let injected = faults.iter().filter(|f| f.is_some()).count() as u64;
    assert!(within_bounds(injected, 0.3), "{injected} injected");
    assert!(within_bounds(count(&faults, ChaosKind::Timeout), 0.18));
    assert!(within_bounds(count(&faults, ChaosKind::Connection), 0.06));
    assert!(within_bounds(count(&faults, ChaosKind::Processing), 0.06));
    assert_eq!(count(&faults, ChaosKind::ResourceExhausted), 0);

    let stats = chaos.stats();
    assert_eq!(stats.calls, CALLS as u64);
    assert_eq!(stats.injected(), injected);
    assert_eq!(
        stats.injected_of(ChaosKind::Timeout),
        count(&faults, ChaosKind::Timeout)
    );
    assert_eq!(stats.succeeded, CALLS as u64 - injected);
    assert_eq!(stats.failed, 0);
}

#[tokio::test(start_paused = true)]
async fn rates_of_0_and_1_are_exact() {
    let never = Chaos::new(ChaosConfig::new().with_failure_rate(0.0));
    assert!(faults(&never, 1000).await.iter().all(Option::is_none));
    let always = Chaos::new(ChaosConfig::new().with_failure_rate(1.0));
    assert!(faults(&always, 1000).await.iter().all(Option::is_some));
}

#[tokio::test(start_paused = true)]
async fn latency_is_drawn_from_its_range_and_counted() {
    let (min, max) = (Duration::from_millis(10), Duration::from_millis(50));
    let chaos = Chaos::new(
        ChaosConfig::new()
            .with_failure_rate(0.0)
            .with_latency(Latency::between(min, max))
            .with_seed(5),
    );
    let started = tokio::time::Instant::now();
    for _ in 0..CALLS {
        let before = tokio::time::Instant::now();
        let _: Result<(), ChaosError> = chaos.call(|| async { Ok(()) }).await;
        // tokio's timer rounds a sleep up to the next millisecond.
        let waited = before.elapsed();
        assert!(waited >= min && waited <= max, "{waited:?}");
    }
    let total = chaos.stats().latency_added;
    let elapsed = started.elapsed();
    assert!(elapsed >= total && elapsed - total <= Duration::from_millis(CALLS as u64));
    // The mean of n uniform draws on [10ms, 50ms): 30ms, standard deviation
    // 40ms / sqrt(12) / sqrt(n) = 36.5µs; 6.5 of them is 237µs.
    let mean = total.as_secs_f64() / CALLS as f64;
    assert!((mean - 0.030).abs() <= 0.000_237, "mean {mean}");

    // Each latency is an event too.
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let one = Chaos::new(
        ChaosConfig::new()
            .with_failure_rate(0.0)
            .with_latency(Latency::fixed(min)),
    );
    let _: Result<(), ChaosError> = scope.run(one.call(|| async { Ok(()) })).await;
    let event = events.try_recv().expect("a ChaosDelayed event");
    assert_eq!(event.to_string(), "`chaos` chaos delayed call 0 by 10ms");

    let fixed = Chaos::new(
        ChaosConfig::new()
            .with_latency(Latency::fixed(min))
            .with_failure_rate(0.0),
    );
    let before = tokio::time::Instant::now();
    let _: Result<(), ChaosError> = fixed.call(|| async { Ok(()) }).await;
    assert_eq!(before.elapsed(), min);
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_faults_in_the_same_order() {
    let config = ChaosConfig::new()
        .with_failure_rate(0.3)
        .with_latency(Latency::between(
            Duration::from_millis(1),
            Duration::from_millis(9),
        ))
        .with_seed(42);
    let first = faults(&Chaos::new(config), 2000).await;
    let second = faults(&Chaos::new(config), 2000).await;
    assert_eq!(first, second);
    let other = faults(&Chaos::new(config.with_seed(43)), 2000).await;
    assert_ne!(first, other);

    // Reseeding replays from the first call.
    let chaos = Chaos::new(config);
    let _ = faults(&chaos, 500).await;
    chaos.reseed(42);
    assert_eq!(faults(&chaos, 2000).await, first);

    // The latencies replay too.
    let timed = |chaos: Chaos| async move {
        let mut waits = Vec::new();
        for _ in 0..200 {
            let before = tokio::time::Instant::now();
            let _: Result<(), ChaosError> = chaos.call(|| async { Ok(()) }).await;
            waits.push(before.elapsed());
        }
        waits
    };
    assert_eq!(
        timed(Chaos::new(config)).await,
        timed(Chaos::new(config)).await
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_get_the_faults_of_their_numbers() {
    // Call n's fault depends on the seed and n alone: whatever order
    // concurrent calls start in, the multiset of faults is the sequence's.
    let config = ChaosConfig::new().with_failure_rate(0.5).with_seed(9);
    let sequential = faults(&Chaos::new(config), 100).await;
    let chaos = Chaos::new(config);
    let calls = (0..100).map(|i| {
        let chaos = &chaos;
        async move {
            tokio::time::sleep(Duration::from_millis(100 - i)).await;
            let result: Result<(), ChaosError> = chaos.call(|| async { Ok(()) }).await;
            result.err().map(|e| match e {
                ChaosError::Injected { kind, call } => (call, kind),
                other => panic!("{other}"),
            })
        }
    });
    let mut concurrent: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .flatten()
        .collect();
    concurrent.sort_by_key(|(call, _)| *call);
    let expected: Vec<_> = sequential
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.map(|kind| (i as u64, kind)))
        .collect();
    assert_eq!(concurrent, expected);
}

#[tokio::test(start_paused = true)]
async fn it_switches_off_and_on_and_reconfigures_at_run_time() {
    let chaos = Chaos::new(ChaosConfig::new().with_failure_rate(1.0).with_seed(1));
    chaos.disable();
    assert!(faults(&chaos, 10).await.iter().all(Option::is_none));
    chaos.enable();
    // Off, the sequence did not advance: the first fault is call 0.
    let result: Result<(), ChaosError> = chaos.call(|| async { Ok(()) }).await;
    assert!(matches!(result, Err(ChaosError::Injected { call: 0, .. })));
    assert!(
        chaos
            .set_config(chaos.config().with_failure_rate(0.0))
            .is_ok()
    );
    assert!(faults(&chaos, 10).await.iter().all(Option::is_none));
    let stats = chaos.stats();
    assert_eq!(
        (stats.calls, stats.injected(), stats.succeeded),
        (21, 1, 20)
    );
    chaos.reset_stats();
    assert_eq!(chaos.stats().calls, 0);
}

#[test]
fn every_bad_configuration_is_a_typed_error() {
    let ms = Duration::from_millis;
    for rate in [-0.1, 1.000_001, f64::NAN, f64::INFINITY] {
        let error = ChaosConfig::new()
            .with_failure_rate(rate)
            .validate()
            .unwrap_err();
        assert!(
            matches!(error, ChaosConfigError::FailureRate { .. }),
            "{rate}"
        );
    }
    let no_weights = ChaosKind::ALL
        .iter()
        .fold(ChaosConfig::new(), |config, &kind| {
            config.with_weight(kind, 0)
        });
    assert_eq!(no_weights.validate(), Err(ChaosConfigError::NoWeights));
    assert_eq!(
        ChaosConfig::new()
            .with_latency(Latency::between(ms(5), ms(5)))
            .validate(),
        Err(ChaosConfigError::EmptyLatency {
            min: ms(5),
            max: ms(5)
        })
    );
    let inverted = ChaosConfig::new().with_latency(Latency::between(ms(50), ms(10)));
    assert_eq!(
        inverted.validate().unwrap_err().to_string(),
        "the latency range 50ms to 10ms is inverted; its start must come before its end"
    );
    assert!(Chaos::try_new(inverted).is_err());
    let chaos = Chaos::default();
    assert!(chaos.set_config(no_weights).is_err());
    assert_eq!(
        chaos.config(),
        ChaosConfig::new(),
        "a refused configuration is not applied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_chaos_built_with_a_bad_configuration_fails_each_call_with_it() {
    static BAD: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(2.0));
    let result: Result<(), AgentError> = BAD.call(|| async { Ok(()) }).await;
    let Err(AgentError::Chaos(error)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(
        error,
        ChaosError::Config(ChaosConfigError::FailureRate { rate: 2.0 })
    );
    assert_eq!(
        error.to_string(),
        "chaos is misconfigured: the failure rate 2 is not between 0 and 1"
    );
}

// The attribute.

static ASK_CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.3).with_seed(11));

/// Fails by itself on every seventh task, so real and injected failures mix.
#[chaos(state = ASK_CHAOS)]
async fn ask(task: u32) -> Result<String, AgentError> {
    if task.is_multiple_of(7) {
        return Err(AgentError::Real(task));
    }
    Ok(format!("task {task} done"))
}

#[tokio::test(start_paused = true)]
async fn every_failure_was_injected_or_real_and_the_counts_add_up() {
    let scope = Scope::new();
    let mut events = resilience::events::Filter::new()
        .in_scope(&scope)
        .subscribe_with_capacity(10_000);
    let tasks = 1000;
    let (mut succeeded, mut injected, mut real) = (0, 0, 0);
    for task in 0..tasks {
        match scope.run(ask(task)).await {
            Ok(answer) => {
                assert_eq!(answer, format!("task {task} done"));
                succeeded += 1;
            }
            Err(AgentError::Chaos(_)) => injected += 1,
            Err(AgentError::Real(t)) => {
                assert!(t.is_multiple_of(7));
                real += 1;
            }
        }
    }
    let stats = ASK_CHAOS.stats();
    assert_eq!(succeeded + injected + real, u64::from(tasks));
    assert_eq!(stats.calls, u64::from(tasks));
    assert_eq!(
        (stats.succeeded, stats.injected(), stats.failed),
        (succeeded, injected, real)
    );
    assert!(injected > 0 && real > 0);
    let mut seen = 0;
    while let Some(event) = events.try_recv() {
        assert_eq!(event.operation, "ask");
        assert!(matches!(event.kind, OwnedEventKind::ChaosInjected { .. }));
        let text = event.to_string();
        assert!(text.starts_with("`ask` chaos injected a "), "{text}");
        seen += 1;
    }
    assert_eq!(seen, injected);
}

static FLAKY_CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.5).with_seed(3));

#[retry(attempts = 10, delay = "1s")]
#[chaos(state = FLAKY_CHAOS)]
async fn flaky(prompt: String) -> Result<String, AgentError> {
    Ok(prompt)
}

#[tokio::test(start_paused = true)]
async fn under_retry_each_attempt_goes_through_chaos_and_retry_absorbs_it() {
    for i in 0..50 {
        assert_eq!(flaky(format!("p{i}")).await, Ok(format!("p{i}")));
    }
    let stats = FLAKY_CHAOS.stats();
    assert_eq!(stats.succeeded, 50);
    assert_eq!(stats.calls, 50 + stats.injected());
    assert!(stats.injected() > 10, "{stats:?}");
}

struct Agent {
    chaos: Chaos,
    name: &'static str,
}

impl Agent {
    #[chaos(state = self.chaos)]
    async fn process(&self, task: &str) -> Result<String, AgentError> {
        Ok(format!("{task} by {}", self.name))
    }
}

#[tokio::test(start_paused = true)]
async fn a_field_holds_each_agents_own_chaos() {
    let calm = Agent {
        chaos: Chaos::new(ChaosConfig::new().with_failure_rate(0.0)),
        name: "calm",
    };
    let wild = Agent {
        chaos: Chaos::new(ChaosConfig::new().with_failure_rate(1.0)),
        name: "wild",
    };
    assert_eq!(calm.process("t").await, Ok("t by calm".to_string()));
    let error = wild.process("t").await.unwrap_err();
    assert!(matches!(
        error,
        AgentError::Chaos(ChaosError::Injected { call: 0, .. })
    ));
    assert!(
        error.to_string().starts_with("chaos injected a "),
        "{error}"
    );
    assert_eq!(
        (calm.chaos.stats().injected(), wild.chaos.stats().injected()),
        (0, 1)
    );
}
