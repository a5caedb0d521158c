//! `workflow!`: ordered steps in a state machine, outputs flowing between
//! steps, compensation in reverse order, panics, policies on steps,
//! introspection and resuming from a state.

// `pub workflow`s here need `pub` step and error types; a test crate
// exports nothing, so these lints of the workspace table do not apply.
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::{Elapsed, Failure, workflow};
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("quota exceeded")]
    Quota,
    #[error("resource {0} is busy")]
    Busy(u32),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
}

/// A fake cloud API that logs every call and fails where it is told to.
#[derive(Default)]
pub struct Api {
    log: Mutex<Vec<String>>,
    create_failures: Mutex<u32>,
    fail_configure: bool,
    slow_configure: bool,
    fail_finish: bool,
    panic_finish: bool,
    fail_unannounce: bool,
    start: Option<Instant>,
}

impl Api {
    fn record(&self, line: String) {
        let at = self
            .start
            .map(|s| s.elapsed().as_millis())
            .unwrap_or_default();
        self.log.lock().unwrap().push(if self.start.is_some() {
            format!("{at}ms {line}")
        } else {
            line
        });
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn create(&self, name: &str) -> Result<u32, ApiError> {
        self.record(format!("create {name}"));
        let mut failures = self.create_failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(ApiError::Quota);
        }
        Ok(7)
    }

    async fn delete(&self, id: u32) -> Result<(), ApiError> {
        self.record(format!("delete {id}"));
        Ok(())
    }

    async fn configure(&self, id: &u32) -> Result<String, ApiError> {
        self.record(format!("configure {id}"));
        if self.slow_configure {
            sleep(Duration::from_secs(5)).await;
        }
        if self.fail_configure {
            Err(ApiError::Busy(*id))
        } else {
            Ok(format!("cfg-{id}"))
        }
    }

    async fn announce(&self, config: &str) -> Result<usize, ApiError> {
        self.record(format!("announce {config}"));
        Ok(config.len())
    }

    async fn unannounce(&self, n: usize) -> Result<(), ApiError> {
        self.record(format!("unannounce {n}"));
        if self.fail_unannounce {
            Err(ApiError::Busy(0))
        } else {
            Ok(())
        }
    }

    async fn finish(&self) -> Result<(), ApiError> {
        self.record("finish".into());
        if self.panic_finish {
            panic!("finish exploded");
        }
        if self.fail_finish {
            Err(ApiError::Quota)
        } else {
            Ok(())
        }
    }
}

workflow! {
    /// Create a resource, configure it, announce it, finish.
    pub workflow Provision(api: Arc<Api>, name: String) -> Result<String, ApiError> {
        /// Creating may hit the quota: retried.
        #[retry(attempts = 3, backoff = constant, delay = "10ms")]
        #[compensate(with = { let api = api.clone(); move |id| async move { api.delete(id).await } })]
        step create: u32 = api.create(name).await;

        #[timeout("1s")]
        step configure: String = api.configure(create).await;

        #[compensate(with = { let api = api.clone(); move |n| async move { api.unannounce(n).await } })]
        step announce: usize = api.announce(configure).await;

        step finish: () = api.finish().await;

        format!("{configure} as {create} ({announce} bytes announced{finish:?})")
    }
}

fn api(setup: impl FnOnce(&mut Api)) -> Arc<Api> {
    let mut api = Api::default();
    setup(&mut api);
    Arc::new(api)
}

#[tokio::test(start_paused = true)]
async fn outputs_flow_between_steps() {
    let done = Provision::new(api(|_| {}), "db".into())
        .run()
        .await
        .unwrap();
    assert_eq!(done, "cfg-7 as 7 (5 bytes announced())");
}

#[tokio::test(start_paused = true)]
async fn a_failing_step_undoes_the_completed_ones() {
    let api_ = api(|a| a.fail_configure = true);
    let workflow = Provision::new(api_, "db".into());
    let err = workflow.run().await.unwrap_err();
    assert_eq!(err.failed_step(), Some("configure"));
    assert_eq!(err.error(), Some(&ApiError::Busy(7)));
    assert_eq!(err.completed(), ["create"]);
    assert_eq!(err.compensations().len(), 1);
    assert_eq!(err.compensations()[0].step, "create");
    assert!(err.is_fully_compensated());
}

/// The API is moved into the workflow; a second handle to its log is needed
/// to look at what happened, so these tests run the workflow on a shared
/// `Api` through a small wrapper.
mod shared {
    use super::*;

    workflow! {
        pub workflow Shared(api: Arc<Api>, name: String) -> Result<String, ApiError> {
            #[retry(attempts = 3, backoff = constant, delay = "10ms")]
            #[compensate(with = { let api = api.clone(); move |id| async move { api.delete(id).await } })]
            step create: u32 = api.create(name).await;

            #[timeout("1s")]
            step configure: String = api.configure(create).await;

            #[compensate(with = { let api = api.clone(); move |n| async move { api.unannounce(n).await } })]
            step announce: usize = api.announce(configure).await;

            step finish: () = api.finish().await;

            format!("{configure} as {create}")
        }
    }

    fn run(setup: impl FnOnce(&mut Api)) -> (Arc<Api>, Shared) {
        let mut api = Api {
            start: Some(Instant::now()),
            ..Api::default()
        };
        setup(&mut api);
        let api = Arc::new(api);
        (Arc::clone(&api), Shared::new(api, "db".into()))
    }

    #[tokio::test(start_paused = true)]
    async fn compensations_run_in_reverse_order() {
        let (api, workflow) = run(|a| a.fail_finish = true);
        let err = workflow.run().await.unwrap_err();
        assert_eq!(
            api.log(),
            [
                "0ms create db",
                "0ms configure 7",
                "0ms announce cfg-7",
                "0ms finish",
                "0ms unannounce 5",
                "0ms delete 7"
            ]
        );
        assert_eq!(err.failed_step(), Some("finish"));
        assert_eq!(err.completed(), ["create", "configure", "announce"]);
        let undone: Vec<_> = err.compensations().iter().map(|c| c.step).collect();
        assert_eq!(undone, ["announce", "create"]);
        assert_eq!(
            err.to_string(),
            "step `finish` failed: quota exceeded; undone: `announce` (ok), `create` (ok)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_compensation_is_recorded_and_the_rest_still_run() {
        let (api, workflow) = run(|a| {
            a.fail_finish = true;
            a.fail_unannounce = true;
        });
        let err = workflow.run().await.unwrap_err();
        assert!(
            api.log()
                .ends_with(&["0ms unannounce 5".to_string(), "0ms delete 7".to_string()])
        );
        assert!(!err.is_fully_compensated());
        let outcomes: Vec<_> = err.compensations().iter().map(|c| c.to_string()).collect();
        assert_eq!(
            outcomes,
            ["`announce` (failed: resource 0 is busy)", "`create` (ok)"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_step_is_a_failure_and_is_compensated() {
        let (api, workflow) = run(|a| a.panic_finish = true);
        let err = workflow.run().await.unwrap_err();
        assert!(
            matches!(err.failure(), Failure::Panic(message) if message.contains("finish exploded"))
        );
        assert_eq!(err.failed_step(), Some("finish"));
        assert!(
            api.log()
                .ends_with(&["0ms unannounce 5".to_string(), "0ms delete 7".to_string()])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn step_policies_apply() {
        // `create` is retried every 10ms.
        let (api, workflow) = run(|a| *a.create_failures.get_mut().unwrap() = 2);
        assert_eq!(workflow.run().await.unwrap(), "cfg-7 as 7");
        assert_eq!(
            &api.log()[..3],
            ["0ms create db", "10ms create db", "20ms create db"]
        );

        // `configure` times out after 1s, and `create` is undone.
        let (api, workflow) = run(|a| a.slow_configure = true);
        let err = workflow.run().await.unwrap_err();
        assert!(
            matches!(err.error(), Some(ApiError::Timeout(e)) if e.limit() == Duration::from_secs(1))
        );
        assert_eq!(
            api.log(),
            ["0ms create db", "0ms configure 7", "1000ms delete 7"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_workflow_resumes_from_its_state() {
        let (api, _) = run(|_| {});
        let state = SharedState::AfterCreate { create: 9 };
        assert_eq!(state.completed(), ["create"]);
        assert_eq!(state.next_step(), Some("configure"));
        let workflow = Shared::resume(Arc::clone(&api), "db".into(), state);
        assert_eq!(workflow.state().position(), 1);
        assert_eq!(workflow.run().await.unwrap(), "cfg-9 as 9");
        // `create` did not run again.
        assert_eq!(
            api.log(),
            ["0ms configure 9", "0ms announce cfg-9", "0ms finish"]
        );
    }
}

#[test]
fn steps_and_diagram() {
    assert_eq!(Provision::NAME, "Provision");
    assert_eq!(
        Provision::STEPS,
        ["create", "configure", "announce", "finish"]
    );
    let diagram = Provision::diagram();
    println!("{diagram}");
    assert!(diagram.starts_with("flowchart TD\n"));
    assert!(
        diagram.contains(r#"create["create: u32<br/>retry ×3 · compensate"]"#),
        "{diagram}"
    );
    assert!(
        diagram.contains(r#"configure["configure: String<br/>timeout 1s"]"#),
        "{diagram}"
    );
    assert!(diagram.contains("start --> create --> configure --> announce --> finish --> done"));
    assert!(diagram.contains("configure -. fails .-> undo_create"));
    assert!(diagram.contains("finish -. fails .-> undo_announce"));
    assert!(diagram.contains("undo_announce --> undo_create"));
    assert!(diagram.contains("undo_create --> failed"));
}

#[test]
fn the_state_machine_is_small() {
    // No boxing: the state holds the outputs so far, nothing more.
    assert!(std::mem::size_of::<ProvisionState>() <= 2 * std::mem::size_of::<String>() + 32);
}

/// A workflow with nothing to undo runs its steps in a row (no state
/// machine on a fresh run); failures are reported the same way, and a panic
/// is not caught: it unwinds out of `run`, as out of hand-written awaits.
mod nothing_to_undo {
    use std::panic::AssertUnwindSafe;

    use futures::FutureExt;

    use super::*;

    async fn double(x: &u32, fail: bool) -> Result<u32, ApiError> {
        if fail {
            Err(ApiError::Busy(*x))
        } else {
            Ok(x * 2)
        }
    }

    workflow! {
        pub workflow Plain(start: u32, fail_at: u32) -> Result<u32, ApiError> {
            step one: u32 = double(start, *fail_at == 1).await;
            #[retry(attempts = 2, backoff = constant, delay = "1ms")]
            step two: u32 = double(one, *fail_at == 2).await;
            step three: u32 = {
                if *fail_at == 3 {
                    panic!("step three exploded");
                }
                double(two, false).await
            };
            three + 1
        }
    }

    #[tokio::test(start_paused = true)]
    async fn success_failure_and_an_uncaught_panic() {
        assert_eq!(Plain::new(1, 0).run().await.unwrap(), 9);

        let err = Plain::new(1, 2).run().await.unwrap_err();
        assert_eq!(err.failed_step(), Some("two"));
        assert_eq!(err.completed(), ["one"]);
        assert_eq!(err.error(), Some(&ApiError::Busy(2)));
        assert_eq!(
            err.to_string(),
            "step `two` failed: resource 2 is busy; nothing to undo"
        );

        // The panic unwinds out of `run` with its own payload, fresh or
        // resumed (through the state machine).
        let panicked = AssertUnwindSafe(Plain::new(1, 3).run())
            .catch_unwind()
            .await
            .expect_err("nothing to undo: the panic is not caught");
        assert_eq!(
            panicked.downcast_ref::<&str>(),
            Some(&"step three exploded")
        );
        let resumed = Plain::resume(1, 3, PlainState::AfterTwo { one: 2, two: 4 });
        let panicked = AssertUnwindSafe(resumed.run())
            .catch_unwind()
            .await
            .expect_err("nothing to undo: the panic is not caught");
        assert_eq!(
            panicked.downcast_ref::<&str>(),
            Some(&"step three exploded")
        );

        // Resuming uses the state machine.
        let resumed = Plain::resume(5, 0, PlainState::AfterOne { one: 10 });
        assert_eq!(resumed.run().await.unwrap(), 41);
        let err = Plain::resume(5, 2, PlainState::AfterOne { one: 10 })
            .run()
            .await
            .unwrap_err();
        assert_eq!(err.failed_step(), Some("two"));
        assert_eq!(err.completed(), ["one"]);
        assert_eq!(err.error(), Some(&ApiError::Busy(10)));
    }
}

/// Events of a failing workflow, on a workflow no other test runs.
mod events {
    use super::*;

    workflow! {
        pub workflow Evented(api: Arc<Api>) -> Result<usize, ApiError> {
            #[compensate(with = { let api = api.clone(); move |id| async move { api.delete(id).await } })]
            step create: u32 = api.create("ev").await;
            step finish: () = api.finish().await;
            create as usize
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_step_and_each_compensation_are_events() {
        let scope = resilience::events::Scope::new();
        let mut events = scope.subscribe();
        let api = Api {
            fail_finish: true,
            ..Api::default()
        };
        scope
            .run(Evented::new(Arc::new(api)).run())
            .await
            .unwrap_err();
        let seen: Vec<String> = std::iter::from_fn(|| events.try_recv())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            seen,
            [
                "`Evented` step `finish` failed (quota exceeded); undoing the completed steps",
                // The undo runs as the workflow: its events carry its name.
                "Evented: `create` undone by its compensation",
            ]
        );
    }
}

/// The diagram prints a step's limit as the runtime's events and errors do.
mod diagram_durations {
    use std::time::Duration;

    use resilience::{fmt_duration, workflow};

    use super::ApiError;

    async fn ok() -> Result<u32, ApiError> {
        Ok(1)
    }

    workflow! {
        pub workflow Limits() -> Result<u32, ApiError> {
            #[timeout("1500ms")]
            step short: u32 = ok().await;
            #[timeout("90m")]
            step long: u32 = ok().await;
            #[timeout(ms = 60_500)]
            step odd: u32 = ok().await;
            short + long + odd
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_diagram_and_fmt_duration_agree() {
        assert_eq!(Limits::new().run().await.unwrap(), 3);
        let diagram = Limits::diagram();
        for (step, limit, shown) in [
            ("short", Duration::from_millis(1500), "1.5s"),
            ("long", Duration::from_secs(90 * 60), "1h30m"),
            ("odd", Duration::from_millis(60_500), "1m0.5s"),
        ] {
            assert_eq!(fmt_duration(limit).to_string(), shown);
            let label = format!(r#"{step}["{step}: u32<br/>timeout {shown}"]"#);
            assert!(diagram.contains(&label), "{label} in\n{diagram}");
        }
    }
}

/// A run whose future is dropped (an outer timeout) still undoes its
/// completed `#[compensate]` steps, last first, on a task of its own, with
/// the usual events.
mod cancellation {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use resilience::workflow;
    use tokio::time::{Instant, sleep, timeout};

    use super::ApiError;

    /// What happened, with the (paused) time since the test started.
    #[derive(Clone)]
    struct Journal {
        lines: Arc<Mutex<Vec<String>>>,
        start: Instant,
        undo_takes: Duration,
        fail_c: bool,
    }

    impl Journal {
        fn new(undo_takes: Duration, fail_c: bool) -> Self {
            Journal {
                lines: Arc::default(),
                start: Instant::now(),
                undo_takes,
                fail_c,
            }
        }

        fn note(&self, what: String) {
            let at = self.start.elapsed().as_millis();
            self.lines.lock().unwrap().push(format!("{at}ms {what}"));
        }

        fn lines(&self) -> Vec<String> {
            self.lines.lock().unwrap().clone()
        }

        async fn step(&self, name: &str, takes: Duration) -> Result<u32, ApiError> {
            sleep(takes).await;
            self.note(format!("{name} done"));
            if name == "c" && self.fail_c {
                return Err(ApiError::Quota);
            }
            Ok(name.len() as u32)
        }

        async fn undo(self, name: &'static str) -> Result<(), ApiError> {
            sleep(self.undo_takes).await;
            self.note(format!("undo {name}"));
            Ok(())
        }
    }

    workflow! {
        workflow Three(journal: Journal) -> Result<u32, ApiError> {
            #[compensate(with = { let journal = journal.clone(); move |_| journal.undo("a") })]
            step a: u32 = journal.step("a", Duration::from_millis(10)).await;
            #[compensate(with = { let journal = journal.clone(); move |_| journal.undo("b") })]
            step b: u32 = journal.step("b", Duration::from_millis(10)).await;
            step c: u32 = journal.step("c", Duration::from_secs(10)).await;
            a + b + c
        }
    }

    async fn events_after(
        scope: &resilience::events::Scope,
        run: impl Future<Output = ()>,
    ) -> Vec<String> {
        let mut events = scope.subscribe();
        scope.run(run).await;
        // The compensations run on a task of their own: let it finish.
        sleep(Duration::from_secs(60)).await;
        std::iter::from_fn(|| events.try_recv())
            .map(|e| e.to_string())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_run_undoes_its_completed_steps_last_first() {
        let journal = Journal::new(Duration::from_millis(5), false);
        let scope = resilience::events::Scope::new();
        let events = events_after(&scope, async {
            let run = Three::new(journal.clone()).run();
            assert!(timeout(Duration::from_secs(1), run).await.is_err());
        })
        .await;
        assert_eq!(
            journal.lines(),
            [
                "10ms a done",
                "20ms b done",
                "1005ms undo b",
                "1010ms undo a"
            ]
        );
        assert_eq!(
            events,
            [
                // The undo runs as the workflow, on its own task too.
                "Three: `b` undone by its compensation",
                "Three: `a` undone by its compensation",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_dropped_before_any_step_completed_undoes_nothing() {
        let journal = Journal::new(Duration::from_millis(5), false);
        let run = Three::new(journal.clone()).run();
        assert!(timeout(Duration::from_millis(5), run).await.is_err());
        sleep(Duration::from_secs(60)).await;
        assert!(journal.lines().is_empty());
    }

    /// Dropped while undoing after a failure: the compensation in flight
    /// goes on, then the rest, on a task of their own.
    #[tokio::test(start_paused = true)]
    async fn a_run_dropped_while_undoing_finishes_the_undo() {
        let journal = Journal::new(Duration::from_secs(5), true);
        let scope = resilience::events::Scope::new();
        let events = events_after(&scope, async {
            let run = Three::new(journal.clone()).run();
            assert!(timeout(Duration::from_secs(12), run).await.is_err());
        })
        .await;
        assert_eq!(
            journal.lines(),
            [
                "10ms a done",
                "20ms b done",
                "10020ms c done",
                "15020ms undo b",
                "20020ms undo a",
            ]
        );
        assert_eq!(
            events,
            [
                "`Three` step `c` failed (quota exceeded); undoing the completed steps",
                // The undo runs as the workflow, on its own task too.
                "Three: `b` undone by its compensation",
                "Three: `a` undone by its compensation",
            ]
        );
    }

    /// A run that finishes, or fails and undoes in full, leaves nothing to
    /// a task of its own.
    #[tokio::test(start_paused = true)]
    async fn a_finished_run_hands_nothing_over() {
        let journal = Journal::new(Duration::from_millis(5), true);
        let error = Three::new(journal.clone()).run().await.unwrap_err();
        assert_eq!(error.completed(), ["a", "b"]);
        assert!(error.is_fully_compensated());
        sleep(Duration::from_secs(60)).await;
        assert_eq!(
            journal.lines(),
            [
                "10ms a done",
                "20ms b done",
                "10020ms c done",
                "10025ms undo b",
                "10030ms undo a",
            ]
        );
    }
}

/// A workflow run inside a step of another: each undoes its own steps and
/// reports only those, whether the inner one fails, the outer run is
/// dropped around it, or a panic beside it unwinds through both.
mod nested {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use resilience::{Failure, workflow};
    use tokio::time::{Instant, sleep, timeout};

    use super::ApiError;

    /// What happened, with the (paused) time since the log was made.
    #[derive(Clone)]
    struct Log {
        lines: Arc<Mutex<Vec<String>>>,
        start: Instant,
    }

    impl Log {
        fn new() -> Self {
            Log {
                lines: Arc::default(),
                start: Instant::now(),
            }
        }

        fn note(&self, what: String) {
            let at = self.start.elapsed().as_millis();
            self.lines.lock().unwrap().push(format!("{at}ms {what}"));
        }

        /// The lines, sorted: compensations on tasks of their own finish
        /// at the same instant in no set order.
        fn sorted(&self) -> Vec<String> {
            let mut lines = self.lines.lock().unwrap().clone();
            lines.sort();
            lines
        }

        async fn undo(self, what: &'static str) -> Result<(), ApiError> {
            sleep(Duration::from_millis(5)).await;
            self.note(format!("undo {what}"));
            Ok(())
        }
    }

    async fn work(log: &Log, what: &str, millis: u64, fail: bool) -> Result<u32, ApiError> {
        sleep(Duration::from_millis(millis)).await;
        log.note(format!("{what} done"));
        if fail { Err(ApiError::Busy(7)) } else { Ok(1) }
    }

    workflow! {
        workflow Inner(log: Log, fails: bool) -> Result<u32, ApiError> {
            #[compensate(with = { let log = log.clone(); move |_| log.undo("inner x") })]
            step x: u32 = work(log, "inner x", 10, false).await;
            step y: u32 = work(log, "inner y", 10_000, *fails).await;
            x + y
        }
    }

    workflow! {
        workflow Outer(log: Log, inner_fails: bool, panics: bool) -> Result<u32, ApiError> {
            #[compensate(with = { let log = log.clone(); move |_| log.undo("outer p") })]
            step p: u32 = work(log, "outer p", 10, false).await;
            // The inner run, beside a future that panics 25 ms in if told.
            step q: u32 = {
                let inner = Inner::new(log.clone(), *inner_fails).run();
                let beside = async {
                    sleep(Duration::from_millis(25)).await;
                    assert!(!*panics, "boom beside the inner run");
                };
                let (inner, ()) = tokio::join!(inner, beside);
                inner.map_err(|inner| inner.error().cloned().unwrap_or(ApiError::Quota))
            };
            p + q
        }
    }

    fn undone(error: &resilience::SagaError<ApiError>) -> Vec<&'static str> {
        error.compensations().iter().map(|c| c.step).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn an_inner_failure_is_undone_by_each_workflow_for_its_own_steps() {
        let log = Log::new();
        let error = Outer::new(log.clone(), true, false)
            .run()
            .await
            .unwrap_err();
        assert_eq!(error.failed_step(), Some("q"));
        assert_eq!(error.error(), Some(&ApiError::Busy(7)));
        assert_eq!(undone(&error), ["p"]);
        sleep(Duration::from_secs(60)).await;
        assert_eq!(
            log.sorted(),
            [
                "10020ms inner y done",
                "10025ms undo inner x",
                "10030ms undo outer p",
                "10ms outer p done",
                "20ms inner x done",
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_outer_run_undoes_the_inner_run_too() {
        let log = Log::new();
        let run = Outer::new(log.clone(), false, false).run();
        assert!(timeout(Duration::from_millis(100), run).await.is_err());
        sleep(Duration::from_secs(60)).await;
        assert_eq!(
            log.sorted(),
            [
                "105ms undo inner x",
                "105ms undo outer p",
                "10ms outer p done",
                "20ms inner x done",
            ]
        );
    }

    /// The panic unwinds through the inner run (dropped: its compensation
    /// runs on a task of its own) and is the outer run's failure, which
    /// undoes and reports the outer step alone.
    #[tokio::test(start_paused = true)]
    async fn a_panic_beside_an_inner_run_leaves_each_its_own_undo() {
        let log = Log::new();
        let error = Outer::new(log.clone(), false, true)
            .run()
            .await
            .unwrap_err();
        assert_eq!(error.failed_step(), Some("q"));
        assert_eq!(error.completed(), ["p"]);
        assert!(
            matches!(error.failure(), Failure::Panic(m) if m == "boom beside the inner run"),
            "{error}"
        );
        assert_eq!(undone(&error), ["p"]);
        sleep(Duration::from_secs(60)).await;
        assert_eq!(
            log.sorted(),
            [
                "10ms outer p done",
                "20ms inner x done",
                "40ms undo inner x",
                "40ms undo outer p",
            ]
        );
    }
}

/// A step may name an earlier output (a compensated one too) only inside
/// a format string.
mod format_strings {
    use resilience::workflow;

    use super::ApiError;

    async fn echo(text: String) -> Result<String, ApiError> {
        Ok(text)
    }

    async fn forget(_id: u32) -> Result<(), ApiError> {
        Ok(())
    }

    workflow! {
        workflow Formats(n: u32) -> Result<String, ApiError> {
            #[compensate(with = forget)]
            step id: u32 = async { Ok(*n + 1) }.await;
            step shown: String = echo(format!("id {id}, n {n}")).await;
            shown
        }
    }

    #[tokio::test]
    async fn a_format_string_names_an_earlier_output() {
        assert_eq!(Formats::new(41).run().await.unwrap(), "id 42, n 41");
    }
}

/// Inputs by reference, with the workflow's lifetimes: shared (`&'a T`),
/// and `&'a mut T`, which each step may use mutably (they run one after
/// the other), on a fresh run and on a resumed one.
mod borrowed_inputs {
    use resilience::workflow;

    use super::ApiError;

    struct Agent {
        name: String,
    }

    impl Agent {
        async fn draft(&self, topic: &str) -> Result<String, ApiError> {
            Ok(format!("{} on {topic}", self.name))
        }
    }

    #[derive(Default)]
    struct Notes(Vec<String>);

    impl Notes {
        async fn add(&mut self, line: &str) -> Result<usize, ApiError> {
            self.0.push(line.to_owned());
            Ok(self.0.len())
        }
    }

    workflow! {
        workflow Essay<'a, 'n>(agent: &'a Agent, notes: &'n mut Notes, topic: String) -> Result<String, ApiError> {
            step draft: String = agent.draft(topic).await;
            step noted: usize = notes.add(draft).await;
            step again: usize = notes.add("again").await;
            format!("{draft} ({noted}, {again})")
        }
    }

    #[tokio::test]
    async fn a_workflow_borrows_its_inputs_and_uses_a_mut_one_step_by_step() {
        let agent = Agent { name: "ada".into() };
        let mut notes = Notes::default();
        let essay = Essay::new(&agent, &mut notes, "rust".into())
            .run()
            .await
            .unwrap();
        assert_eq!(essay, "ada on rust (1, 2)");
        assert_eq!(notes.0, ["ada on rust", "again"]);

        let resumed = Essay::resume(
            &agent,
            &mut notes,
            "go".into(),
            EssayState::AfterDraft {
                draft: "old".into(),
            },
        );
        assert_eq!(resumed.run().await.unwrap(), "old (3, 4)");
        assert_eq!(notes.0.len(), 4);
    }
}
