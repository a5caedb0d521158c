//! Coordinator failover: the guide's `ResilientCoordination`, shared by
//! many tasks.
//!
//! Three coordinators plan tasks for a team of agents: a primary and two
//! backups. Each is probed before use (a health check under a 5 s limit,
//! whose result is reused for 30 s). The primary's health check hangs, so
//! the first call fails over to `backup-1`; later `backup-1` starts
//! refusing work, and eight tasks that see it fail at the same moment fail
//! over once, to `backup-2`. With fail-back on, the recovered primary takes
//! over again once it is healthy.
//!
//! The coordinators are simulated on tokio's paused clock, so the run takes
//! no real time and always tells the same story.
//!
//! Run it with `cargo run --example coordinator_failover`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use resilience::events::Scope;
use resilience::{Failover, FailoverConfig, OwnedEventKind};
use tokio::time::{Instant, sleep};

/// A simulated coordinator.
struct Coordinator {
    /// Whether its health check answers (or hangs).
    answers_probes: AtomicBool,
    /// Whether it accepts work.
    accepts_work: AtomicBool,
}

impl Coordinator {
    fn new(answers_probes: bool, accepts_work: bool) -> Self {
        Self {
            answers_probes: AtomicBool::new(answers_probes),
            accepts_work: AtomicBool::new(accepts_work),
        }
    }

    async fn health_check(&self) -> bool {
        if !self.answers_probes.load(Ordering::SeqCst) {
            core::future::pending::<()>().await; // hangs: the 5 s limit ends it
        }
        sleep(Duration::from_millis(50)).await;
        true
    }

    async fn coordinate_task(&self, task: &str, agents: &[&str]) -> Result<String, String> {
        sleep(Duration::from_millis(200)).await;
        if self.accepts_work.load(Ordering::SeqCst) {
            Ok(format!("`{task}` split across {}", agents.join(", ")))
        } else {
            Err("queue full".to_owned())
        }
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = FailoverConfig::new() // the guide's 5 s probe, reused for 30 s
        .with_name("coordinate")
        .with_fail_back(true);
    let coordination = Arc::new(Failover::new(
        config,
        ("primary", Coordinator::new(false, true)),
        [
            ("backup-1", Coordinator::new(true, true)),
            ("backup-2", Coordinator::new(true, true)),
        ],
    )?);
    let agents = ["researcher", "writer", "reviewer"];

    // Print every failover and fail-back as it happens.
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let start = Instant::now();
    let watcher = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if matches!(
                event.kind,
                OwnedEventKind::FailedOver { .. } | OwnedEventKind::FailedBack { .. }
            ) {
                println!("  [{:>5.1}s] event: {event}", start.elapsed().as_secs_f64());
            }
        }
    });

    println!("1. One task; the primary's health check hangs.");
    let plan = scope
        .run(coordination.run(
            |c| c.health_check(),
            |c| c.coordinate_task("summarise", &agents),
        ))
        .await?;
    println!(
        "   -> {plan}, by `{}` after {:.1}s",
        coordination.current().name(),
        start.elapsed().as_secs_f64()
    );

    println!("2. `backup-1` starts refusing work; eight tasks call at once.");
    coordination.coordinators()[1]
        .accepts_work
        .store(false, Ordering::SeqCst);
    let tasks: Vec<_> = (1..=8)
        .map(|i| {
            let (coordination, scope) = (Arc::clone(&coordination), scope.clone());
            tokio::spawn(async move {
                let task = format!("task-{i}");
                scope
                    .run(
                        coordination
                            .run(|c| c.health_check(), |c| c.coordinate_task(&task, &agents)),
                    )
                    .await
            })
        })
        .collect();
    let mut served = 0;
    for task in tasks {
        served += usize::from(task.await?.is_ok());
    }
    println!(
        "   -> {served} of 8 tasks planned by `{}`; the order is now {:?}; {} switches so far (one failover for eight failures)",
        coordination.current().name(),
        coordination.order(),
        coordination.switches(),
    );

    println!("3. The primary recovers; 30 s later a call fails back to it.");
    coordination.coordinators()[0]
        .answers_probes
        .store(true, Ordering::SeqCst);
    sleep(Duration::from_secs(30)).await;
    let plan = scope
        .run(coordination.run(
            |c| c.health_check(),
            |c| c.coordinate_task("translate", &agents),
        ))
        .await?;
    println!("   -> {plan}, by `{}`", coordination.current().name());

    println!("4. Every coordinator refuses work.");
    for c in coordination.coordinators() {
        c.accepts_work.store(false, Ordering::SeqCst);
    }
    let err = scope
        .run(coordination.run(
            |c| c.health_check(),
            |c| c.coordinate_task("review", &agents),
        ))
        .await
        .unwrap_err();
    tokio::task::yield_now().await; // let the watcher print the last failover first
    println!("   -> error: {err}");

    tokio::task::yield_now().await;
    watcher.abort();
    println!(
        "Outcome: {} switches of coordinator in all.",
        coordination.switches()
    );
    Ok(())
}
