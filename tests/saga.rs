//! `#[compensate]` fns inside `resilience::saga`: reverse order, failures
//! recorded, compensations with their own policies, cancellation, panics, and
//! nothing at all outside a saga.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resilience::{Failure, compensate, retry, saga};
use tokio::time::sleep;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum CloudError {
    #[error("quota exceeded")]
    Quota,
    #[error("{0} is busy")]
    Busy(&'static str),
}

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The tests share `LOG`; they take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn log(line: impl Into<String>) {
    LOG.lock().unwrap().push(line.into());
}

fn take_log() -> Vec<String> {
    std::mem::take(&mut *LOG.lock().unwrap())
}

/// An id whose clones are counted: `#[compensate]` must not clone outside a saga.
#[derive(Debug, PartialEq)]
struct Id(u32);

static CLONES: AtomicU32 = AtomicU32::new(0);

impl Clone for Id {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::SeqCst);
        Id(self.0)
    }
}

async fn delete_vm(id: Id) -> Result<(), CloudError> {
    log(format!("delete vm {}", id.0));
    Ok(())
}

async fn release_ip(ip: String) -> Result<(), CloudError> {
    log(format!("release ip {ip}"));
    if ip == "sticky" {
        Err(CloudError::Busy("ip"))
    } else {
        Ok(())
    }
}

#[compensate(with = delete_vm)]
async fn create_vm(n: u32) -> Result<Id, CloudError> {
    log(format!("create vm {n}"));
    Ok(Id(n))
}

#[compensate(with = release_ip)]
async fn reserve_ip(ip: &str) -> Result<String, CloudError> {
    log(format!("reserve ip {ip}"));
    Ok(ip.to_string())
}

#[compensate(with = |_: ()| async { Ok::<(), CloudError>(()) })]
async fn configure(fail: bool) -> Result<(), CloudError> {
    log("configure");
    if fail { Err(CloudError::Quota) } else { Ok(()) }
}

#[tokio::test(start_paused = true)]
async fn a_failing_step_undoes_the_others_in_reverse_order() {
    let _turn = SERIAL.lock().await;
    take_log();
    let err = saga(async {
        create_vm(1).await?;
        reserve_ip("10.0.0.1").await?;
        configure(true).await?;
        Ok::<_, CloudError>(())
    })
    .await
    .unwrap_err();
    assert_eq!(
        take_log(),
        [
            "create vm 1",
            "reserve ip 10.0.0.1",
            "configure",
            "release ip 10.0.0.1",
            "delete vm 1"
        ]
    );
    assert_eq!(err.error(), Some(&CloudError::Quota));
    assert_eq!(err.failed_step(), Some("configure"));
    assert_eq!(err.completed(), ["create_vm", "reserve_ip"]);
    assert!(err.is_fully_compensated());
    assert_eq!(
        err.to_string(),
        "step `configure` failed: quota exceeded; undone: `reserve_ip` (ok), `create_vm` (ok)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_compensation_is_recorded_and_the_others_still_run() {
    let _turn = SERIAL.lock().await;
    take_log();
    let err = saga(async {
        create_vm(2).await?;
        reserve_ip("sticky").await?;
        configure(true).await
    })
    .await
    .unwrap_err();
    assert_eq!(take_log()[3..], ["release ip sticky", "delete vm 2"]);
    let outcomes: Vec<String> = err
        .compensations()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        outcomes,
        ["`reserve_ip` (failed: ip is busy)", "`create_vm` (ok)"]
    );
    assert!(!err.is_fully_compensated());
}

#[tokio::test(start_paused = true)]
async fn success_keeps_everything() {
    let _turn = SERIAL.lock().await;
    take_log();
    let id = saga(async {
        let id = create_vm(3).await?;
        configure(false).await?;
        Ok::<_, CloudError>(id)
    })
    .await
    .unwrap();
    assert_eq!(id, Id(3));
    assert_eq!(take_log(), ["create vm 3", "configure"]);
}

#[tokio::test(start_paused = true)]
async fn outside_a_saga_compensate_does_nothing_and_clones_nothing() {
    let _turn = SERIAL.lock().await;
    take_log();
    CLONES.store(0, Ordering::SeqCst);
    assert_eq!(create_vm(4).await, Ok(Id(4)));
    assert_eq!(CLONES.load(Ordering::SeqCst), 0);
    // Inside a saga, the output is cloned once for its compensation.
    saga(async { create_vm(5).await }).await.unwrap();
    assert_eq!(CLONES.load(Ordering::SeqCst), 1);
    assert_eq!(take_log(), ["create vm 4", "create vm 5"]);
}

static FLAKY_UNDO: AtomicU32 = AtomicU32::new(0);

/// A compensation with its own retry policy.
#[retry(attempts = 3, backoff = constant, delay = "50ms")]
async fn flaky_delete(id: Id) -> Result<(), CloudError> {
    let n = FLAKY_UNDO.fetch_add(1, Ordering::SeqCst) + 1;
    log(format!("delete vm {} (try {n})", id.0));
    if n < 3 {
        Err(CloudError::Busy("vm"))
    } else {
        Ok(())
    }
}

#[compensate(with = flaky_delete)]
async fn create_vm_flaky_undo(n: u32) -> Result<Id, CloudError> {
    log(format!("create vm {n}"));
    Ok(Id(n))
}

#[tokio::test(start_paused = true)]
async fn a_compensation_can_retry() {
    let _turn = SERIAL.lock().await;
    take_log();
    let start = tokio::time::Instant::now();
    let err = saga(async {
        create_vm_flaky_undo(6).await?;
        configure(true).await
    })
    .await
    .unwrap_err();
    assert!(err.is_fully_compensated());
    assert_eq!(
        take_log(),
        [
            "create vm 6",
            "configure",
            "delete vm 6 (try 1)",
            "delete vm 6 (try 2)",
            "delete vm 6 (try 3)"
        ]
    );
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_saga_still_compensates_its_completed_steps() {
    let _turn = SERIAL.lock().await;
    take_log();
    let outcome = tokio::time::timeout(
        Duration::from_millis(100),
        saga(async {
            create_vm(7).await?;
            sleep(Duration::from_secs(10)).await; // cancelled here
            configure(false).await
        }),
    )
    .await;
    assert!(outcome.is_err(), "the outer timeout fired");
    // The compensation runs on the runtime, after the drop.
    sleep(Duration::from_millis(1)).await;
    assert_eq!(take_log(), ["create vm 7", "delete vm 7"]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_step_is_compensated_then_reported() {
    let _turn = SERIAL.lock().await;
    take_log();
    let err = saga(async {
        create_vm(8).await?;
        if LOG.lock().unwrap().len() == 1 {
            panic!("model returned garbage");
        }
        Ok::<_, CloudError>(())
    })
    .await
    .unwrap_err();
    assert!(matches!(err.failure(), Failure::Panic(m) if m == "model returned garbage"));
    assert_eq!(take_log(), ["create vm 8", "delete vm 8"]);
}

#[tokio::test(start_paused = true)]
async fn compensations_are_events() {
    let _turn = SERIAL.lock().await;
    take_log();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let scope = resilience::events::Scope::new();
    let _observer = scope.observe(move |event| sink.lock().unwrap().push(event.to_string()));
    scope
        .run(saga(async {
            create_vm(9).await?;
            reserve_ip("sticky").await?;
            configure(true).await
        }))
        .await
        .unwrap_err();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "`reserve_ip` could not be undone: ip is busy",
            "`create_vm` undone by its compensation"
        ]
    );
}
