//! Coordinator failover: timings on tokio's paused clock, counts, order,
//! every error path, cancellation, panics, and many tasks at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::events::{Scope, Subscription};
use resilience_runtime::{
    Failover, FailoverConfig, FailoverConfigError, FailoverError, FailoverReason, OwnedEventKind,
    Unhealthy,
};
use tokio::time::{Instant, sleep};

/// What a scripted coordinator does when probed or called.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    /// Answers yes (probe) or `Ok` (call) after this long.
    Ok(Duration),
    /// Answers no (probe) or `Err` (call) after this long.
    No(Duration),
    /// Never answers.
    Hang,
    Panic,
}

const NOW: Act = Act::Ok(Duration::ZERO);
const NO: Act = Act::No(Duration::ZERO);

#[derive(Debug)]
struct Coordinator {
    probe: std::sync::Mutex<Act>,
    call: std::sync::Mutex<Act>,
    probes: AtomicU32,
    calls: AtomicU32,
}

impl Coordinator {
    fn new(probe: Act, call: Act) -> Self {
        Self {
            probe: std::sync::Mutex::new(probe),
            call: std::sync::Mutex::new(call),
            probes: AtomicU32::new(0),
            calls: AtomicU32::new(0),
        }
    }

    fn set(&self, probe: Act, call: Act) {
        *self.probe.lock().unwrap() = probe;
        *self.call.lock().unwrap() = call;
    }

    async fn health_check(&self) -> bool {
        self.probes.fetch_add(1, Ordering::SeqCst);
        let act = *self.probe.lock().unwrap();
        match act {
            Act::Ok(d) => {
                sleep(d).await;
                true
            }
            Act::No(d) => {
                sleep(d).await;
                false
            }
            Act::Hang => core::future::pending().await,
            Act::Panic => panic!("probe exploded"),
        }
    }

    async fn coordinate_task(&self, task: &str) -> Result<String, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let act = *self.call.lock().unwrap();
        match act {
            Act::Ok(d) => {
                sleep(d).await;
                Ok(format!("{task}: planned"))
            }
            Act::No(d) => {
                sleep(d).await;
                Err("overloaded".to_owned())
            }
            Act::Hang => core::future::pending().await,
            Act::Panic => panic!("coordinator exploded"),
        }
    }

    fn probes(&self) -> u32 {
        self.probes.load(Ordering::SeqCst)
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

fn failover(config: FailoverConfig, acts: &[(Act, Act)]) -> Failover<Coordinator> {
    let names = ["primary", "backup-1", "backup-2", "backup-3"];
    Failover::from_coordinators(
        config,
        acts.iter()
            .zip(names)
            .map(|(&(probe, call), name)| (name, Coordinator::new(probe, call))),
    )
    .unwrap()
}

async fn coordinate(f: &Failover<Coordinator>) -> Result<String, FailoverError<String>> {
    f.run(|c| c.health_check(), |c| c.coordinate_task("summarise"))
        .await
}

fn drain(sub: &mut Subscription) -> Vec<String> {
    core::iter::from_fn(|| sub.try_recv())
        .map(|e| e.to_string())
        .collect()
}

fn c<'a>(f: &'a Failover<Coordinator>, name: &str) -> &'a Coordinator {
    f.coordinators().iter().find(|c| c.name() == name).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_fails_over_and_the_failed_one_goes_to_the_back() {
    let f = failover(
        FailoverConfig::new(),
        &[
            (NOW, Act::No(Duration::from_secs(1))),
            (NOW, Act::Ok(Duration::from_secs(2))),
            (NOW, NOW),
        ],
    );
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let start = Instant::now();
    let plan = scope.run(coordinate(&f)).await;
    assert_eq!(plan.unwrap(), "summarise: planned");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(f.order(), ["backup-1", "backup-2", "primary"]);
    assert_eq!(f.switches(), 1);
    assert_eq!(
        drain(&mut sub),
        ["`coordinate` failed over from `primary` to `backup-1` (failed: overloaded)"]
    );
    // The next call goes straight to backup-1.
    assert_eq!(coordinate(&f).await.unwrap(), "summarise: planned");
    assert_eq!(
        (c(&f, "primary").calls(), c(&f, "backup-1").calls()),
        (1, 2)
    );
    assert_eq!(c(&f, "backup-2").calls(), 0);
}

/// Guide bug: a health check that returns `false` counted as healthy.
#[tokio::test(start_paused = true)]
async fn a_probe_that_returns_false_is_unhealthy() {
    let f = failover(FailoverConfig::new(), &[(NO, NOW), (NOW, NOW)]);
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    assert_eq!(
        scope.run(coordinate(&f)).await.unwrap(),
        "summarise: planned"
    );
    assert_eq!(
        c(&f, "primary").calls(),
        0,
        "an unhealthy coordinator is not called"
    );
    assert_eq!(f.current().name(), "backup-1");
    let kinds: Vec<_> = core::iter::from_fn(|| sub.try_recv())
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [OwnedEventKind::FailedOver {
            from: "primary".into(),
            to: "backup-1".into(),
            reason: "unhealthy: probe returned false".into()
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn a_probe_is_limited_to_its_time_limit() {
    let config = FailoverConfig::new().with_probe_timeout(Duration::from_secs(5));
    let f = failover(
        config,
        &[(Act::Hang, NOW), (Act::Ok(Duration::from_secs(1)), NOW)],
    );
    let start = Instant::now();
    assert!(coordinate(&f).await.is_ok());
    assert_eq!(start.elapsed(), Duration::from_secs(6));
    assert_eq!(c(&f, "primary").calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_probe_result_is_reused_for_the_interval() {
    let config = FailoverConfig::new().with_probe_interval(Duration::from_secs(30));
    let f = failover(config, &[(NOW, NOW), (NOW, NOW)]);
    let primary = c(&f, "primary");
    coordinate(&f).await.unwrap();
    sleep(Duration::from_secs(29)).await;
    coordinate(&f).await.unwrap();
    assert_eq!((primary.probes(), primary.calls()), (1, 2));
    sleep(Duration::from_secs(1)).await; // 30 s after the probe
    coordinate(&f).await.unwrap();
    assert_eq!((primary.probes(), primary.calls()), (2, 3));

    // A zero interval probes before every call.
    let f = failover(
        FailoverConfig::new().with_probe_interval(Duration::ZERO),
        &[(NOW, NOW)],
    );
    for _ in 0..3 {
        coordinate(&f).await.unwrap();
    }
    assert_eq!(c(&f, "primary").probes(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_forgets_the_probe_so_the_coordinator_is_probed_again() {
    let f = failover(FailoverConfig::new(), &[(NOW, NO), (NOW, NOW)]);
    coordinate(&f).await.unwrap(); // primary probed, called, failed
    sleep(Duration::from_secs(1)).await;
    // Both fail: backup-1 reuses its probe, the primary is probed again.
    c(&f, "backup-1").set(NOW, NO);
    let err = coordinate(&f).await.unwrap_err();
    assert_eq!(err.failures().len(), 2);
    assert_eq!(c(&f, "primary").probes(), 2);
    assert_eq!(c(&f, "backup-1").probes(), 1);
}

#[tokio::test(start_paused = true)]
async fn all_failed_carries_every_coordinators_failure() {
    let config = FailoverConfig::new().with_name("plan");
    let f = failover(
        config,
        &[(NO, NOW), (Act::Hang, NOW), (NOW, NO), (NOW, Act::Panic)],
    );
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let start = Instant::now();
    let err = scope
        .run(f.run(|c| c.health_check(), |c| c.coordinate_task("t")))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(
        err.to_string(),
        "`plan`: all 4 coordinators failed: primary (unhealthy: probe returned false), \
         backup-1 (unhealthy: probe timed out after 5s), backup-2 (failed: overloaded), \
         backup-3 (panicked: coordinator exploded)"
    );
    let FailoverError::AllFailed {
        operation,
        failures,
    } = &err
    else {
        unreachable!()
    };
    assert_eq!(*operation, "plan");
    let reasons: Vec<_> = failures.iter().map(|f| f.reason().clone()).collect();
    assert_eq!(
        reasons,
        [
            FailoverReason::Unhealthy(Unhealthy::ProbeFalse),
            FailoverReason::Unhealthy(Unhealthy::ProbeTimedOut(Duration::from_secs(5))),
            FailoverReason::Failed("overloaded".to_owned()),
            FailoverReason::Panicked("coordinator exploded".to_owned()),
        ]
    );
    assert_eq!(
        drain(&mut sub),
        [
            "`plan` failed over from `primary` to `backup-1` (unhealthy: probe returned false)",
            "`plan` failed over from `backup-1` to `backup-2` (unhealthy: probe timed out after 5s)",
            "`plan` failed over from `backup-2` to `backup-3` (failed: overloaded)",
            "`plan` failed over from `backup-3` to `primary` (panicked: coordinator exploded)",
            "`plan` gave up after 4 attempts (attempts exhausted): primary (unhealthy: probe returned false), \
             backup-1 (unhealthy: probe timed out after 5s), backup-2 (failed: overloaded), \
             backup-3 (panicked: coordinator exploded)",
        ]
    );
    // Each coordinator was tried once: 1 + backups attempts.
    let calls: Vec<_> = f.coordinators().iter().map(|c| c.calls()).collect();
    assert_eq!(calls, [0, 0, 1, 1]);
}

/// Guide bug: a bare `except:` turned a cancellation into a failover.
#[tokio::test(start_paused = true)]
async fn cancelling_the_caller_cancels_the_call_and_fails_nothing_over() {
    struct Guard(Arc<AtomicBool>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let f = failover(FailoverConfig::new(), &[(NOW, NOW), (NOW, NOW)]);
    let dropped = Arc::new(AtomicBool::new(false));
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let start = Instant::now();
    let call = f.run(
        |c| c.health_check(),
        |_| {
            let guard = Guard(Arc::clone(&dropped));
            async move {
                let _guard = guard;
                core::future::pending::<Result<(), String>>().await
            }
        },
    );
    let cancelled = scope
        .run(tokio::time::timeout(Duration::from_secs(2), call))
        .await;
    assert!(cancelled.is_err());
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the call in flight is dropped"
    );
    assert_eq!(f.switches(), 0);
    assert_eq!(f.current().name(), "primary");
    assert!(drain(&mut sub).is_empty());

    // Cancelled during a probe: no failover either, and the next call can probe.
    let f = failover(
        FailoverConfig::new(),
        &[(Act::Ok(Duration::from_secs(3)), NOW), (NOW, NOW)],
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), coordinate(&f))
            .await
            .is_err()
    );
    assert_eq!(f.switches(), 0);
    assert_eq!(coordinate(&f).await.unwrap(), "summarise: planned");
    assert_eq!(c(&f, "primary").probes(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_probe_or_call_is_that_coordinators_failure() {
    let f = failover(
        FailoverConfig::new(),
        &[(Act::Panic, NOW), (NOW, Act::Panic), (NOW, NOW)],
    );
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    assert_eq!(
        scope.run(coordinate(&f)).await.unwrap(),
        "summarise: planned"
    );
    assert_eq!(
        drain(&mut sub),
        [
            "`coordinate` failed over from `primary` to `backup-1` (unhealthy: probe panicked: probe exploded)",
            "`coordinate` failed over from `backup-1` to `backup-2` (panicked: coordinator exploded)",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn tasks_probing_one_coordinator_share_one_probe() {
    let f = failover(
        FailoverConfig::new(),
        &[(Act::Ok(Duration::from_secs(1)), NOW)],
    );
    let start = Instant::now();
    let (a, b, c3, d) = tokio::join!(
        coordinate(&f),
        coordinate(&f),
        coordinate(&f),
        coordinate(&f)
    );
    assert!(a.is_ok() && b.is_ok() && c3.is_ok() && d.is_ok());
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(
        (c(&f, "primary").probes(), c(&f, "primary").calls()),
        (1, 4)
    );
}

/// Guide bug (shared state): concurrent failures of one coordinator must
/// fail over once, not once per task.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_of_one_coordinator_fail_over_once() {
    const TASKS: usize = 16;
    let f = Arc::new(failover(
        FailoverConfig::new(),
        &[(NOW, NOW), (NOW, NOW), (NOW, NOW)],
    ));
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (f, barrier, scope) = (Arc::clone(&f), Arc::clone(&barrier), scope.clone());
            tokio::spawn(async move {
                scope
                    .run(f.run(
                        |c| c.health_check(),
                        |c| {
                            let barrier = Arc::clone(&barrier);
                            async move {
                                if c.name() == "primary" {
                                    // Every task fails on the primary together.
                                    barrier.wait().await;
                                    return Err("overloaded".to_owned());
                                }
                                c.coordinate_task("t").await
                            }
                        },
                    ))
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "t: planned");
    }
    assert_eq!(f.switches(), 1);
    assert_eq!(f.order(), ["backup-1", "backup-2", "primary"]);
    assert_eq!(
        drain(&mut sub),
        ["`coordinate` failed over from `primary` to `backup-1` (failed: overloaded)"]
    );
    assert_eq!(c(&f, "primary").probes(), 1);
    assert_eq!(c(&f, "backup-1").calls(), TASKS as u32);
    assert_eq!(c(&f, "backup-2").calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_late_failure_of_a_coordinator_that_came_round_again_does_not_rotate_it() {
    // A's call on the primary is slow. Meanwhile B's call on the primary
    // fails (primary to the back), then B's call on backup-1 fails (the
    // primary is current again). When A's old call on the primary fails,
    // the primary is at the front once more, but a newer generation: it was
    // already failed over for, so it must not rotate a third time.
    let f = failover(FailoverConfig::new(), &[(NOW, NOW), (NOW, NOW)]);
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let task = |slow_primary: u64, fail_backup: bool| {
        f.run(
            |c| c.health_check(),
            move |c| async move {
                if c.name() == "primary" {
                    sleep(Duration::from_millis(slow_primary)).await;
                    return Err("overloaded".to_owned());
                }
                sleep(Duration::from_millis(10)).await;
                if fail_backup {
                    Err("busy".to_owned())
                } else {
                    Ok(c.name().to_owned())
                }
            },
        )
    };
    let (a, b) = scope
        .run(async { tokio::join!(task(50, false), task(10, true)) })
        .await;
    assert_eq!(a.unwrap(), "backup-1");
    assert!(b.is_err());
    assert_eq!(f.switches(), 2);
    assert_eq!(f.order(), ["primary", "backup-1"]);
    let failovers: Vec<_> = drain(&mut sub)
        .into_iter()
        .filter(|e| e.contains("failed over"))
        .collect();
    assert_eq!(
        failovers,
        [
            "`coordinate` failed over from `primary` to `backup-1` (failed: overloaded)",
            "`coordinate` failed over from `backup-1` to `primary` (failed: busy)",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_started_before_a_failed_call_does_not_record_healthy_over_it() {
    let ms = Duration::from_millis;
    let config = FailoverConfig::new().with_probe_interval(ms(20));
    let f = failover(config, &[(Act::Ok(ms(10)), Act::No(ms(30)))]);
    let after = |delay: Duration| {
        let f = &f;
        async move {
            sleep(delay).await;
            let _ = coordinate(f).await;
        }
    };
    // A: probes 0..10ms, calls 10..40ms and fails. C: its probe (35..45ms)
    // started before A's failure and ends after it: stale. D (50ms) must
    // probe again rather than trust C's "healthy".
    tokio::join!(after(ms(0)), after(ms(35)), after(ms(50)));
    assert_eq!(c(&f, "primary").probes(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_probe_interval_of_duration_max_means_never_and_never_panics() {
    let config = FailoverConfig::new()
        .with_probe_interval(Duration::MAX)
        .with_fail_back(true);
    let f = failover(config, &[(NOW, NO), (NOW, NOW)]);
    assert!(coordinate(&f).await.is_ok());
    assert_eq!(f.order(), ["backup-1", "primary"]);
    c(&f, "primary").set(NOW, NOW);
    sleep(Duration::from_secs(24 * 3600)).await;
    assert!(coordinate(&f).await.is_ok());
    // Never due again: no fail-back.
    assert_eq!(f.order(), ["backup-1", "primary"]);
}

#[tokio::test(start_paused = true)]
async fn a_probe_held_by_a_task_that_is_not_polled_stalls_the_others_no_longer_than_the_limit() {
    let config = FailoverConfig::new().with_probe_timeout(Duration::from_secs(5));
    let f = failover(config, &[(Act::Hang, NOW)]);
    let mut stalled = std::pin::pin!(coordinate(&f));
    // Poll it once: it takes the probe gate and starts a probe that hangs;
    // then it is kept but never polled again.
    tokio::select! {
        biased;
        _ = &mut stalled => panic!("the hanging probe cannot finish"),
        () = async {} => {}
    }
    assert_eq!(c(&f, "primary").probes(), 1);
    c(&f, "primary").set(NOW, NOW);
    let start = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), coordinate(&f)).await;
    assert_eq!(
        answer
            .expect("waited no longer than the probe limit")
            .unwrap(),
        "summarise: planned"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(c(&f, "primary").probes(), 2);
}

#[tokio::test(start_paused = true)]
async fn fail_back_returns_to_the_primary_once_it_is_healthy() {
    let config = FailoverConfig::new()
        .with_probe_interval(Duration::from_secs(30))
        .with_fail_back(true);
    let f = failover(config, &[(NO, NOW), (NOW, NOW)]);
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    scope.run(coordinate(&f)).await.unwrap();
    assert_eq!(f.current().name(), "backup-1");
    c(&f, "primary").set(NOW, NOW); // it recovers
    sleep(Duration::from_secs(29)).await;
    scope.run(coordinate(&f)).await.unwrap();
    assert_eq!(
        f.current().name(),
        "backup-1",
        "not probed again within the interval"
    );
    assert_eq!(c(&f, "primary").probes(), 1);
    sleep(Duration::from_secs(1)).await;
    scope.run(coordinate(&f)).await.unwrap();
    assert_eq!(f.current().name(), "primary");
    assert_eq!(
        (c(&f, "primary").probes(), c(&f, "primary").calls()),
        (2, 1)
    );
    assert_eq!(f.order(), ["primary", "backup-1"]);
    assert_eq!(
        drain(&mut sub),
        [
            "`coordinate` failed over from `primary` to `backup-1` (unhealthy: probe returned false)",
            "`coordinate` failed back from `backup-1` to `primary`, which is healthy again",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn without_fail_back_a_backup_stays_current() {
    let f = failover(FailoverConfig::new(), &[(NO, NOW), (NOW, NOW)]);
    coordinate(&f).await.unwrap();
    c(&f, "primary").set(NOW, NOW);
    sleep(Duration::from_secs(60)).await;
    coordinate(&f).await.unwrap();
    assert_eq!(f.current().name(), "backup-1");
    assert_eq!(c(&f, "primary").probes(), 1);
}

#[test]
fn invalid_configuration_is_a_typed_error() {
    let zero = FailoverConfig::new().with_probe_timeout(Duration::ZERO);
    assert_eq!(
        Failover::new(zero, ("p", ()), [("b", ())]).err(),
        Some(FailoverConfigError::ZeroProbeTimeout)
    );
    let none: Vec<(&str, ())> = Vec::new();
    let err = Failover::from_coordinators(FailoverConfig::new(), none).unwrap_err();
    assert_eq!(err, FailoverConfigError::NoCoordinators);
    assert_eq!(
        err.to_string(),
        "a failover needs at least one coordinator, got none"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lone_coordinator_that_fails_reports_it_and_stays() {
    let f = failover(FailoverConfig::new(), &[(NOW, NO)]);
    let err = coordinate(&f).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "`coordinate`: all 1 coordinator failed: primary (failed: overloaded)"
    );
    assert_eq!(f.switches(), 0);
}

#[test]
fn a_failover_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Failover<Coordinator>>();
}
