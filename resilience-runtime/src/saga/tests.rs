use core::time::Duration;
use std::rc::Rc;

use tokio::time::sleep;

use core::future::Future;
use core::task::Context;
use std::sync::{Arc, Mutex};

use super::runner::NO_RUNTIME;
use super::*;
use crate::events::{OwnedEventKind, Scope, Subscription};
use crate::support::error_ref::ErrorRef;

/// What the compensations did, in order.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// What `#[compensate(with = ..)]` generates around a step, by hand: the
/// step returns `result`; its compensation logs `undo <step> <output>`
/// and returns `undo`.
async fn step(
    journal: &Journal,
    name: &'static str,
    result: Result<u32, String>,
    undo: Result<(), String>,
) -> Result<u32, String> {
    match &result {
        Ok(output) if in_saga() => {
            let (output, journal) = (clone_output(output), journal.clone());
            register_compensation(name, move || async move {
                journal.push(format!("undo {name} {output}"));
                undo
            });
        }
        Ok(_) => {}
        Err(_) => step_failed(name),
    }
    result
}

async fn ok(journal: &Journal, name: &'static str, output: u32) -> Result<u32, String> {
    step(journal, name, Ok(output), Ok(())).await
}

async fn fails(journal: &Journal, name: &'static str, error: &str) -> Result<u32, String> {
    step(journal, name, Err(error.to_owned()), Ok(())).await
}

/// The saga events whose step starts with `prefix`, as text.
fn saga_events(sub: &mut Subscription, prefix: &str) -> Vec<String> {
    core::iter::from_fn(|| sub.try_recv())
        .filter(|e| e.operation.starts_with(prefix))
        .map(|e| {
            match &e.kind {
                OwnedEventKind::Compensated { step }
                | OwnedEventKind::CompensationFailed { step, .. } => {
                    assert_eq!(*step, e.operation);
                }
                other => panic!("unexpected {other:?}"),
            }
            e.to_string()
        })
        .collect()
}

#[tokio::test]
async fn success_returns_the_value_and_undoes_nothing() {
    let journal = Journal::default();
    let result = saga(async {
        let a = ok(&journal, "success::a", 1).await?;
        let b = ok(&journal, "success::b", 2).await?;
        Ok::<_, String>(a + b)
    })
    .await;
    assert_eq!(result.unwrap(), 3);
    assert!(journal.lines().is_empty());
}

#[tokio::test]
async fn compensations_run_in_reverse_order() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let journal = Journal::default();
    let error = scope
        .run(saga(async {
            ok(&journal, "rev::a", 1).await?;
            ok(&journal, "rev::b", 2).await?;
            ok(&journal, "rev::c", 3).await?;
            fails(&journal, "rev::d", "disk full").await?;
            ok(&journal, "rev::e", 5).await
        }))
        .await
        .unwrap_err();

    assert_eq!(
        journal.lines(),
        ["undo rev::c 3", "undo rev::b 2", "undo rev::a 1"]
    );
    assert_eq!(error.failure(), &Failure::Error("disk full".to_owned()));
    assert_eq!(error.failed_step(), Some("rev::d"));
    assert_eq!(error.completed(), ["rev::a", "rev::b", "rev::c"]);
    let order: Vec<_> = error.compensations().iter().map(|r| r.step).collect();
    assert_eq!(order, ["rev::c", "rev::b", "rev::a"]);
    assert!(error.is_fully_compensated());
    assert_eq!(
        saga_events(&mut sub, "rev::"),
        [
            "`rev::c` undone by its compensation",
            "`rev::b` undone by its compensation",
            "`rev::a` undone by its compensation",
        ]
    );
}

#[tokio::test]
async fn a_failing_compensation_is_recorded_and_the_others_still_run() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let journal = Journal::default();
    let error = scope
        .run(saga(async {
            ok(&journal, "undo_fails::a", 1).await?;
            step(&journal, "undo_fails::b", Ok(2), Err("503".into())).await?;
            register_compensation("undo_fails::c", || async { panic!("undo bug {}", 7) });
            ok(&journal, "undo_fails::d", 4).await?;
            fails(&journal, "undo_fails::e", "quota").await
        }))
        .await
        .unwrap_err();

    assert_eq!(
        journal.lines(),
        [
            "undo undo_fails::d 4",
            "undo undo_fails::b 2",
            "undo undo_fails::a 1"
        ]
    );
    let outcomes: Vec<_> = error
        .compensations()
        .iter()
        .map(|r| (r.step, r.outcome.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("undo_fails::d", Ok(())),
            ("undo_fails::c", Err("panicked: undo bug 7".to_owned())),
            ("undo_fails::b", Err("503".to_owned())),
            ("undo_fails::a", Ok(())),
        ]
    );
    assert!(!error.is_fully_compensated());
    assert_eq!(
        saga_events(&mut sub, "undo_fails::"),
        [
            "`undo_fails::d` undone by its compensation",
            "`undo_fails::c` could not be undone: panicked: undo bug 7",
            "`undo_fails::b` could not be undone: 503",
            "`undo_fails::a` undone by its compensation",
        ]
    );
}

#[tokio::test]
async fn a_panic_in_a_step_compensates_and_reports_the_message() {
    let journal = Journal::default();
    let error = saga(async {
        ok(&journal, "panic::a", 1).await?;
        ok(&journal, "panic::b", 2).await?;
        let n: u32 = ok(&journal, "panic::c", 3).await.map(|_| 0)?;
        if n == 0 {
            panic!("index {n} out of bounds");
        }
        Ok::<_, String>(())
    })
    .await
    .unwrap_err();

    assert_eq!(
        journal.lines(),
        ["undo panic::c 3", "undo panic::b 2", "undo panic::a 1"]
    );
    assert_eq!(
        error.failure(),
        &Failure::Panic("index 0 out of bounds".to_owned())
    );
    assert_eq!(
        error.failure().panic_message(),
        Some("index 0 out of bounds")
    );
    assert_eq!(error.failed_step(), None);
    assert!(error.is_fully_compensated());
    assert_eq!(
        error.to_string(),
        "saga panicked: index 0 out of bounds; undone: `panic::c` (ok), `panic::b` (ok), `panic::a` (ok)"
    );
}

#[tokio::test]
async fn a_literal_panic_and_a_non_string_payload() {
    let error = saga(async {
        panic!("plain");
        #[allow(unreachable_code)]
        Ok::<(), String>(())
    })
    .await
    .unwrap_err();
    assert_eq!(error.failure().panic_message(), Some("plain"));

    let error = saga(async {
        std::panic::panic_any(42_u8);
        #[allow(unreachable_code)]
        Ok::<(), String>(())
    })
    .await
    .unwrap_err();
    assert_eq!(
        error.failure().panic_message(),
        Some("a panic whose payload is not a string")
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_saga_compensates_its_completed_steps_in_the_background() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let journal = Journal::default();
    let started = tokio::time::Instant::now();
    let result = scope
        .run(tokio::time::timeout(
            Duration::from_secs(1),
            saga(async {
                ok(&journal, "cancel::a", 1).await?;
                ok(&journal, "cancel::b", 2).await?;
                sleep(Duration::from_secs(10)).await;
                ok(&journal, "cancel::c", 3).await
            }),
        ))
        .await;

    assert!(result.is_err(), "the timeout fired");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    // The compensations run on a task of their own: let it run.
    sleep(Duration::from_millis(1)).await;
    assert_eq!(journal.lines(), ["undo cancel::b 2", "undo cancel::a 1"]);
    assert_eq!(
        saga_events(&mut sub, "cancel::"),
        [
            "`cancel::b` undone by its compensation",
            "`cancel::a` undone by its compensation",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_saga_cancelled_while_compensating_finishes_in_the_background() {
    let journal = Journal::default();
    let result = tokio::time::timeout(
        Duration::from_secs(1),
        saga(async {
            ok(&journal, "cancel_mid::a", 1).await?;
            let slow = journal.clone();
            register_compensation("cancel_mid::b", move || async move {
                sleep(Duration::from_secs(5)).await;
                slow.push("undo cancel_mid::b after 5s".to_owned());
                Ok(())
            });
            ok(&journal, "cancel_mid::c", 3).await?;
            fails(&journal, "cancel_mid::d", "boom").await
        }),
    )
    .await;

    assert!(result.is_err(), "the timeout fired while `b` was undone");
    assert_eq!(journal.lines(), ["undo cancel_mid::c 3"]);
    sleep(Duration::from_secs(5)).await;
    assert_eq!(
        journal.lines(),
        [
            "undo cancel_mid::c 3",
            "undo cancel_mid::b after 5s",
            "undo cancel_mid::a 1"
        ]
    );
}

#[test]
fn a_saga_dropped_outside_a_runtime_reports_what_it_could_not_undo() {
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let journal = Journal::default();
    scope.run_sync(|| {
        let mut future = core::pin::pin!(saga(async {
            ok(&journal, "no_rt::a", 1).await?;
            ok(&journal, "no_rt::b", 2).await?;
            core::future::pending::<Result<(), String>>().await
        }));
        let mut cx = Context::from_waker(core::task::Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
    });
    assert!(journal.lines().is_empty());
    let why = format!("could not be undone: {NO_RUNTIME}");
    assert_eq!(
        saga_events(&mut sub, "no_rt::"),
        [format!("`no_rt::b` {why}"), format!("`no_rt::a` {why}")]
    );
}

#[tokio::test]
async fn a_nested_saga_that_succeeds_hands_its_compensations_over() {
    let journal = Journal::default();
    let error = saga(async {
        ok(&journal, "nested_ok::a", 1).await?;
        let inner = saga(async {
            ok(&journal, "nested_ok::b", 2).await?;
            ok(&journal, "nested_ok::c", 3).await
        })
        .await
        .map_err(|e| e.to_string())?;
        assert!(journal.lines().is_empty(), "nothing undone yet");
        ok(&journal, "nested_ok::d", inner + 1).await?;
        fails(&journal, "nested_ok::e", "late failure").await
    })
    .await
    .unwrap_err();

    assert_eq!(
        error.completed(),
        [
            "nested_ok::a",
            "nested_ok::b",
            "nested_ok::c",
            "nested_ok::d"
        ]
    );
    assert_eq!(
        journal.lines(),
        [
            "undo nested_ok::d 4",
            "undo nested_ok::c 3",
            "undo nested_ok::b 2",
            "undo nested_ok::a 1"
        ]
    );
    assert_eq!(error.failed_step(), Some("nested_ok::e"));
}

#[tokio::test]
async fn a_nested_saga_that_fails_undoes_only_its_own_steps() {
    let journal = Journal::default();
    let outer = saga(async {
        ok(&journal, "nested_err::a", 1).await?;
        let inner = saga(async {
            ok(&journal, "nested_err::b", 2).await?;
            fails(&journal, "nested_err::c", "refused").await
        })
        .await
        .unwrap_err();
        assert_eq!(inner.completed(), ["nested_err::b"]);
        assert_eq!(journal.lines(), ["undo nested_err::b 2"]);
        // The outer saga recovers: its own step stays done.
        Ok::<_, String>(inner.to_string())
    })
    .await;
    assert_eq!(
        outer.unwrap(),
        "step `nested_err::c` failed: refused; undone: `nested_err::b` (ok)"
    );
    assert_eq!(journal.lines(), ["undo nested_err::b 2"]);

    // When the outer saga propagates the failure, it undoes its own step
    // and knows which step failed.
    let journal = Journal::default();
    let outer = saga(async {
        ok(&journal, "nested_err2::a", 1).await?;
        saga(async { fails(&journal, "nested_err2::b", "refused").await })
            .await
            .map_err(|e| e.into_failure().to_string())
    })
    .await
    .unwrap_err();
    assert_eq!(journal.lines(), ["undo nested_err2::a 1"]);
    assert_eq!(
        outer.to_string(),
        "step `nested_err2::b` failed: refused; undone: `nested_err2::a` (ok)"
    );
}

#[tokio::test]
async fn a_spawned_task_is_in_the_saga_only_through_scope() {
    let journal = Journal::default();
    let error = saga(async {
        let plain = {
            let journal = journal.clone();
            tokio::spawn(async move {
                let registered = in_saga();
                ok(&journal, "spawn::plain", 1).await.map(|_| registered)
            })
        };
        assert_eq!(plain.await.unwrap(), Ok(false));

        let handle = current().expect("inside a saga");
        let scoped = {
            let journal = journal.clone();
            tokio::spawn(handle.scope(async move {
                let registered = in_saga();
                ok(&journal, "spawn::scoped", 2).await.map(|_| registered)
            }))
        };
        assert_eq!(scoped.await.unwrap(), Ok(true));
        Err::<(), _>("stop")
    })
    .await
    .unwrap_err();

    assert_eq!(error.completed(), ["spawn::scoped"]);
    assert_eq!(journal.lines(), ["undo spawn::scoped 2"]);
}

#[tokio::test(start_paused = true)]
async fn a_step_that_completes_after_its_saga_failed_is_undone_at_once() {
    let journal = Journal::default();
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let late = Arc::new(Mutex::new(None));
    let error = saga(async {
        let handle = current().unwrap();
        let journal = journal.clone();
        *late.lock().unwrap() = Some(tokio::spawn(handle.scope(async move {
            wait.await.unwrap();
            ok(&journal, "late::a", 1).await
        })));
        Err::<(), _>("early failure")
    })
    .await
    .unwrap_err();
    assert!(error.completed().is_empty());

    go.send(()).unwrap();
    let task = late.lock().unwrap().take().unwrap();
    assert_eq!(task.await.unwrap(), Ok(1));
    sleep(Duration::from_millis(1)).await;
    assert_eq!(journal.lines(), ["undo late::a 1"]);
}

#[tokio::test]
async fn outside_a_saga_nothing_is_registered() {
    assert!(!in_saga());
    assert!(current().is_none());
    let journal = Journal::default();
    let dropped = Arc::new(());
    let witness = Arc::clone(&dropped);
    register_compensation("outside::a", move || async move {
        drop(witness);
        unreachable!("never called outside a saga")
    });
    // The compensation was dropped at once, not kept anywhere.
    assert_eq!(Arc::strong_count(&dropped), 1);
    step_failed("outside::b");
    assert_eq!(ok(&journal, "outside::c", 1).await, Ok(1));
    assert!(journal.lines().is_empty());
}

#[tokio::test]
async fn the_body_need_not_be_send_and_the_saga_is_send_when_it_is() {
    fn assert_send<T: Send>(_: &T) {}
    let send = saga(async { Ok::<_, String>(1) });
    assert_send(&send);
    assert_eq!(send.await.unwrap(), 1);

    let not_send = Rc::new(5);
    let result = saga(async {
        let value = Rc::clone(&not_send);
        tokio::task::yield_now().await;
        Ok::<_, String>(*value)
    })
    .await;
    assert_eq!(result.unwrap(), 5);
}

#[test]
fn display_says_what_failed_and_what_was_undone() {
    let report = |step, outcome: Result<(), &str>| CompensationReport {
        step,
        outcome: outcome.map_err(str::to_owned),
    };
    let error = SagaError::new(
        Failure::Error("disk full"),
        Some("configure"),
        vec!["reserve", "create"],
        vec![report("create", Ok(())), report("reserve", Err("503"))],
    );
    assert_eq!(
        error.to_string(),
        "step `configure` failed: disk full; undone: `create` (ok), `reserve` (failed: 503)"
    );
    let cases = [
        (
            Some("pay"),
            Failure::Panic("overflow".to_owned()),
            "step `pay` panicked: overflow; nothing to undo",
        ),
        (
            None,
            Failure::Error("refused"),
            "saga failed: refused; nothing to undo",
        ),
        (
            None,
            Failure::Panic("oops".to_owned()),
            "saga panicked: oops; nothing to undo",
        ),
    ];
    for (failed_step, failure, want) in cases {
        let error = SagaError::new(failure, failed_step, Vec::new(), Vec::new());
        assert_eq!(error.to_string(), want);
        assert!(error.is_fully_compensated());
    }
}

#[tokio::test]
async fn source_is_the_bodys_error() {
    use std::error::Error as _;
    let error = saga(async { Err::<(), _>(std::io::Error::other("disk full")) })
        .await
        .unwrap_err();
    assert_eq!(error.source().unwrap().to_string(), "disk full");
    assert_eq!(error.error().unwrap().kind(), std::io::ErrorKind::Other);
    assert!(format!("{error:?}").starts_with("SagaError { failure: Error("));

    let panicked = saga(async {
        panic!("boom");
        #[allow(unreachable_code)]
        Err::<(), std::io::Error>(std::io::Error::other("never"))
    })
    .await
    .unwrap_err();
    assert!(panicked.source().is_none());
    assert!(panicked.error().is_none());
}

#[test]
fn clone_output_clones() {
    let rid = String::from("rid-7");
    assert_eq!(clone_output(&rid), rid);
}

#[tokio::test]
async fn handle_debug_lists_the_steps() {
    saga(async {
        register_compensation("debug::a", || async { Ok(()) });
        let shown = format!("{:?}", current().unwrap());
        assert_eq!(
            shown,
            "SagaHandle { state: Open, steps: [\"debug::a\"], .. }"
        );
        Ok::<_, ()>(())
    })
    .await
    .unwrap();
}

/// An observer of `scope` that panics on every event.
fn panicking_observer(scope: &Scope) -> crate::events::Observer {
    scope.observe(|event| panic!("observer bug on {event}"))
}

#[tokio::test]
async fn a_panicking_observer_does_not_fail_a_step_or_the_undo_loop() {
    let scope = Scope::new();
    let _observer = panicking_observer(&scope);
    let journal = Journal::default();
    let error = scope
        .run(saga(async {
            ok(&journal, "observed::a", 1).await?;
            ok(&journal, "observed::b", 2).await?;
            // A step whose retry emits an event while the observer panics:
            // the step goes on and returns its own result.
            let policy = crate::RetryPolicy::new("observed::flaky").with_attempts(2);
            let delay = crate::RetryState::new().next_delay(
                &policy,
                true,
                None,
                None,
                ErrorRef::Display(&"busy"),
            );
            assert!(delay.is_some(), "the retry decision is unaffected");
            fails(&journal, "observed::c", "quota").await
        }))
        .await
        .unwrap_err();
    // The failure is the step's own error, not the observer's panic, and
    // every compensation ran and was reported.
    assert_eq!(error.failure(), &Failure::Error("quota".to_owned()));
    assert_eq!(error.failed_step(), Some("observed::c"));
    assert_eq!(
        journal.lines(),
        ["undo observed::b 2", "undo observed::a 1"]
    );
    assert!(error.is_fully_compensated());
    assert_eq!(error.compensations().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_observer_does_not_stop_background_compensations() {
    let scope = Scope::new();
    let _observer = panicking_observer(&scope);
    let journal = Journal::default();
    let result = scope
        .run(tokio::time::timeout(
            Duration::from_secs(1),
            saga(async {
                ok(&journal, "observed_bg::a", 1).await?;
                ok(&journal, "observed_bg::b", 2).await?;
                ok(&journal, "observed_bg::c", 3).await?;
                sleep(Duration::from_secs(10)).await;
                Ok::<_, String>(0)
            }),
        ))
        .await;
    assert!(result.is_err(), "the timeout fired");
    sleep(Duration::from_millis(1)).await;
    assert_eq!(
        journal.lines(),
        [
            "undo observed_bg::c 3",
            "undo observed_bg::b 2",
            "undo observed_bg::a 1"
        ]
    );
}
