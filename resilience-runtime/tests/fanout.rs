//! Fan-out with fallbacks: assignment, concurrency, fallbacks, the report,
//! every error path, cancellation and panics, on tokio's paused clock. The
//! guide's bugs each have a test named after the fixed behaviour.

use std::cell::Cell;
use std::time::Duration;

use resilience_runtime::PolicyError;
use resilience_runtime::coordination::{
    AgentFailure, FanOut, FanOutError, Named, TaskOutcome, TaskReport,
};
use resilience_runtime::events::{OwnedEvent, Scope, Subscription};
use tokio::time::{Instant, sleep};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// An agent that fails the tasks listed, after `delay`.
struct Agent {
    fails: &'static [usize],
    delay: Duration,
}

impl Agent {
    const fn failing(fails: &'static [usize]) -> Self {
        Self {
            fails,
            delay: Duration::ZERO,
        }
    }

    async fn process(&self, task: &usize) -> Result<String, String> {
        sleep(self.delay).await;
        if self.fails.contains(task) {
            Err(format!("task {task} refused"))
        } else {
            Ok(format!("result {task}"))
        }
    }
}

fn agents(names: &[&'static str], fails: &'static [usize]) -> Vec<Named<Agent>> {
    names
        .iter()
        .map(|name| Named::new(*name, Agent::failing(fails)))
        .collect()
}

fn drain(events: &mut Subscription) -> Vec<String> {
    std::iter::from_fn(|| events.try_recv())
        .map(|e: OwnedEvent| e.to_string())
        .collect()
}

fn served(tasks: &[TaskReport<String, String>]) -> Vec<Option<&str>> {
    tasks.iter().map(TaskReport::served_by).collect()
}

#[tokio::test(start_paused = true)]
async fn every_task_runs_when_there_are_fewer_agents_than_tasks() {
    // The guide's own chaos test: 5 agents, 10 tasks, minimum 0.7. Its `zip`
    // ran 5 tasks at most (50%), so it could never pass.
    let primaries = agents(&["a0", "a1", "a2", "a3", "a4"], &[3, 7]);
    let tasks: Vec<usize> = (0..10).collect();
    let report = FanOut::new()
        .run(&tasks, &primaries, &[], |agent, task| agent.process(task))
        .await
        .unwrap();
    assert_eq!(report.tasks.len(), 10);
    let by: Vec<_> = report
        .tasks
        .iter()
        .map(|t| {
            t.errors.first().map_or_else(
                || t.served_by().unwrap().to_owned(),
                |e| e.agent.to_string(),
            )
        })
        .collect();
    assert_eq!(
        by,
        ["a0", "a1", "a2", "a3", "a4", "a0", "a1", "a2", "a3", "a4"]
    );
    assert_eq!(report.success_rate(), 0.8);
    assert_eq!(
        report.to_string(),
        "8 of 10 tasks succeeded (80%): 2 failed"
    );
}

#[tokio::test(start_paused = true)]
async fn success_is_ok_not_the_absence_of_the_word_error() {
    // The guide counted a result as failed if its text contained "error".
    let primaries = [Named::new("analyst", ())];
    let tasks = ["error budget report", "fine", "boom"];
    let report = FanOut::new()
        .with_min_success(0.0)
        .run(&tasks, &primaries, &[], |_, task| async move {
            if *task == "boom" {
                Err("failed without saying so")
            } else {
                Ok(format!("the {task} has no error"))
            }
        })
        .await
        .unwrap();
    let ok: Vec<bool> = report.tasks.iter().map(TaskReport::succeeded).collect();
    assert_eq!(ok, [true, true, false]);
    assert_eq!(report.succeeded(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_empty_task_list_succeeds_with_rate_one() {
    // The guide divided by zero. Here: nothing asked, nothing failed.
    let primaries = agents(&["a"], &[]);
    let report = FanOut::new()
        .with_min_success(1.0)
        .run(&[], &primaries, &[], |agent, task| agent.process(task))
        .await
        .unwrap();
    assert!(report.tasks.is_empty());
    assert_eq!(report.success_rate(), 1.0);
    assert_eq!(report.elapsed, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn tasks_run_concurrently_up_to_the_limit() {
    let in_flight = Cell::new(0);
    let peak = Cell::new(0);
    let primaries = [Named::new("a", ()), Named::new("b", ())];
    let tasks: Vec<usize> = (0..10).collect();
    let start = Instant::now();
    let report = FanOut::new()
        .with_concurrency(3)
        .run(&tasks, &primaries, &[], |_, task| {
            let (in_flight, peak) = (&in_flight, &peak);
            async move {
                in_flight.set(in_flight.get() + 1);
                peak.set(peak.get().max(in_flight.get()));
                sleep(MS(100)).await;
                in_flight.set(in_flight.get() - 1);
                Ok::<_, String>(*task)
            }
        })
        .await
        .unwrap();
    // 10 tasks, 3 at a time: four waves of 100ms.
    assert_eq!(start.elapsed(), MS(400));
    assert_eq!(report.elapsed, MS(400));
    assert_eq!(peak.get(), 3);
    assert!(report.tasks.iter().all(|t| t.duration == MS(100)));
}

#[tokio::test(start_paused = true)]
async fn the_report_is_in_task_order_whatever_the_completion_order() {
    let primaries = [Named::new("a", ())];
    let tasks: Vec<u64> = (0..5).collect();
    let report = FanOut::new()
        .with_concurrency(5)
        .run(&tasks, &primaries, &[], |_, task| async move {
            sleep(MS(100 * (5 - task))).await; // task 4 finishes first
            Ok::<_, String>(*task)
        })
        .await
        .unwrap();
    let indices: Vec<usize> = report.tasks.iter().map(|t| t.index).collect();
    assert_eq!(indices, [0, 1, 2, 3, 4]);
    assert_eq!(
        report.into_outputs(),
        [Some(0), Some(1), Some(2), Some(3), Some(4)]
    );
}

#[tokio::test(start_paused = true)]
async fn failed_tasks_go_to_the_fallbacks_in_turn() {
    let primaries = agents(&["p"], &[0, 1, 2]);
    let fallbacks = [
        Named::new(
            "f0",
            Agent {
                fails: &[1],
                delay: MS(10),
            },
        ),
        Named::new(
            "f1",
            Agent {
                fails: &[2],
                delay: MS(20),
            },
        ),
    ];
    let tasks = [0, 1, 2, 3];
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let report = scope
        .run(FanOut::new().with_operation("research").run(
            &tasks,
            &primaries,
            &fallbacks,
            |agent, task| agent.process(task),
        ))
        .await
        .unwrap();
    // Task 0 starts at f0 (0 mod 2); task 1 at f1, which serves it; task 2
    // at f0, which serves it; task 3 needs no fallback.
    assert_eq!(
        served(&report.tasks),
        [Some("f0"), Some("f1"), Some("f0"), Some("p")]
    );
    assert!(matches!(
        report.tasks[1].outcome,
        TaskOutcome::Served { fallback: true, .. }
    ));
    assert_eq!(report.tasks[0].duration, MS(10));
    assert_eq!(report.tasks[1].duration, MS(20));
    assert_eq!(report.fell_back().count(), 3);
    assert_eq!(
        report.to_string(),
        "4 of 4 tasks succeeded (100%): 3 by fallbacks"
    );
    assert_eq!(
        drain(&mut sub),
        [
            "`research` task 0 failed on `p` (task 0 refused)",
            "`research` task 0 goes to fallback `f0`",
            "`research` task 1 failed on `p` (task 1 refused)",
            "`research` task 1 goes to fallback `f1`",
            "`research` task 2 failed on `p` (task 2 refused)",
            "`research` task 2 goes to fallback `f0`",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_that_every_agent_fails_reports_every_error() {
    let primaries = agents(&["p"], &[0]);
    let fallbacks = [
        Named::new(
            "f0",
            Agent {
                fails: &[0],
                delay: MS(5),
            },
        ),
        Named::new(
            "f1",
            Agent {
                fails: &[0],
                delay: MS(7),
            },
        ),
    ];
    let report = FanOut::new()
        .with_min_success(0.0)
        .run(&[0], &primaries, &fallbacks, |agent, task| {
            agent.process(task)
        })
        .await
        .unwrap();
    let task = &report.tasks[0];
    assert_eq!(task.outcome, TaskOutcome::Failed);
    let errors: Vec<String> = task.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "`p`: task 0 refused",
            "`f0`: task 0 refused",
            "`f1`: task 0 refused"
        ]
    );
    assert_eq!(task.duration, MS(12));
}

#[tokio::test(start_paused = true)]
async fn max_fallbacks_one_is_the_guides_behaviour() {
    let primaries = agents(&["p"], &[0]);
    let fallbacks = [
        Named::new("f0", Agent::failing(&[0])),
        Named::new("f1", Agent::failing(&[])),
    ];
    let report = FanOut::new()
        .with_min_success(0.0)
        .with_max_fallbacks(1)
        .run(&[0], &primaries, &fallbacks, |agent, task| {
            agent.process(task)
        })
        .await
        .unwrap();
    assert_eq!(report.tasks[0].outcome, TaskOutcome::Failed);
    assert_eq!(report.tasks[0].errors.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn max_fallbacks_zero_never_calls_a_fallback() {
    let primaries = agents(&["p"], &[0]);
    let fallbacks = agents(&["f"], &[]);
    let report = FanOut::new()
        .with_min_success(0.0)
        .with_max_fallbacks(0)
        .run(&[0, 1], &primaries, &fallbacks, |agent, task| {
            agent.process(task)
        })
        .await
        .unwrap();
    assert_eq!(report.tasks[0].outcome, TaskOutcome::Failed);
    assert_eq!(report.tasks[0].errors.len(), 1);
    assert_eq!(served(&report.tasks), [None, Some("p")]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_fallback_is_that_fallbacks_failure() {
    let primaries = [Named::new("p", 0_u8)];
    let fallbacks = [Named::new("buggy", 1_u8), Named::new("sound", 2_u8)];
    let report = FanOut::new()
        .run(&[0], &primaries, &fallbacks, |agent, task| {
            let (agent, task) = (*agent, *task);
            async move {
                match agent {
                    0 => Err(format!("task {task} refused")),
                    1 => panic!("fallback bug"),
                    _ => Ok(task),
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(report.tasks[0].served_by(), Some("sound"));
    let failures: Vec<_> = report.tasks[0]
        .errors
        .iter()
        .map(|e| e.failure.clone())
        .collect();
    assert_eq!(
        failures,
        [
            AgentFailure::Error("task 0 refused".to_owned()),
            AgentFailure::Panicked("fallback bug".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rate_exactly_at_the_minimum_succeeds() {
    // 7 of 10 with a minimum of 0.7: success, not an error.
    let primaries = agents(&["p"], &[0, 1, 2]);
    let tasks: Vec<usize> = (0..10).collect();
    let report = FanOut::new()
        .with_min_success(0.7)
        .run(&tasks, &primaries, &[], |agent, task| agent.process(task))
        .await
        .unwrap();
    assert_eq!((report.succeeded(), report.failed()), (7, 3));
    // One more failure is below it.
    let primaries = agents(&["p"], &[0, 1, 2, 3]);
    let err = FanOut::new()
        .with_min_success(0.7)
        .run(&tasks, &primaries, &[], |agent, task| agent.process(task))
        .await
        .unwrap_err();
    assert!(matches!(err, FanOutError::BelowMinimum { .. }), "{err}");
}

#[tokio::test(start_paused = true)]
async fn below_the_minimum_the_error_carries_the_whole_report() {
    let primaries = agents(&["a", "b"], &[0, 1, 2, 3, 4, 5, 6]);
    let tasks: Vec<usize> = (0..10).collect();
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let err = scope
        .run(FanOut::new().run(&tasks, &primaries, &[], |agent, task| agent.process(task)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "3 of 10 tasks succeeded (30%), below the minimum 70%"
    );
    let FanOutError::BelowMinimum {
        report,
        min_success,
    } = err
    else {
        panic!("wrong error");
    };
    assert_eq!(min_success, 0.7);
    assert_eq!(report.tasks.len(), 10);
    assert_eq!(report.tasks[9].output().unwrap(), "result 9");
    assert_eq!(
        drain(&mut sub).last().unwrap(),
        "`fan_out` only 3 of 10 tasks succeeded, below the minimum success rate"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_when_hopeless_starts_no_more_tasks() {
    let calls = Cell::new(0);
    let primaries = [Named::new("down", ())];
    let tasks: Vec<usize> = (0..10).collect();
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let run = FanOut::new()
        .with_concurrency(2)
        .with_stop_when_hopeless()
        .run(&tasks, &primaries, &[], |_, _| {
            let calls = &calls;
            async move {
                calls.set(calls.get() + 1);
                sleep(MS(10)).await;
                Err::<(), _>("down")
            }
        });
    let err = scope.run(run).await.unwrap_err();
    // Two at a time, 10ms each. At 10ms tasks 0 and 1 fail (8 of 10 still
    // reachable) and tasks 2 and 3 start; at 20ms both fail at the same
    // instant: the 4th failure puts 7 of 10 out of reach, so no further
    // call starts, not even one between the two failures.
    let report = err.into_report().unwrap();
    assert_eq!(
        (calls.get(), report.failed(), report.not_started()),
        (4, 4, 6)
    );
    assert_eq!(report.tasks[3].outcome, TaskOutcome::Failed);
    assert_eq!(report.tasks[4].outcome, TaskOutcome::NotStarted);
    assert_eq!(report.elapsed, MS(20));
    assert_eq!(
        drain(&mut sub)[4],
        "`fan_out` cannot reach its minimum success rate after 4 failed tasks; 6 tasks not started"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_when_hopeless_gives_up_at_the_exact_failure() {
    // One at a time: the 4th failure (6 of 10 reachable, below 0.7) stops it.
    let calls = Cell::new(0);
    let primaries = [Named::new("down", ())];
    let tasks: Vec<usize> = (0..10).collect();
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let run = FanOut::new()
        .with_concurrency(1)
        .with_stop_when_hopeless()
        .run(&tasks, &primaries, &[], |_, _| {
            let calls = &calls;
            async move {
                calls.set(calls.get() + 1);
                Err::<(), _>("down")
            }
        });
    let report = scope.run(run).await.unwrap_err().into_report().unwrap();
    assert_eq!((calls.get(), report.not_started()), (4, 6));
    assert!(drain(&mut sub).contains(
        &"`fan_out` cannot reach its minimum success rate after 4 failed tasks; 6 tasks not started".to_owned()
    ));
}

async fn run(fan: FanOut, primaries: &[Named<Agent>]) -> PolicyError {
    match fan
        .run(&[1], primaries, &[], |agent, task| agent.process(task))
        .await
    {
        Err(FanOutError::Policy(e)) => e,
        other => panic!("{:?}", other.map(|r| r.tasks.len())),
    }
}

#[tokio::test(start_paused = true)]
async fn an_invalid_configuration_is_a_typed_error() {
    let primaries = agents(&["a"], &[]);
    assert_eq!(
        run(FanOut::new().with_min_success(1.5), &primaries).await,
        PolicyError::Rate {
            name: "min_success",
            value: 1.5
        }
    );
    assert_eq!(
        run(FanOut::new().with_concurrency(0), &primaries).await,
        PolicyError::ZeroConcurrency
    );
    let none = run(FanOut::new(), &[]).await;
    assert_eq!(
        none.to_string(),
        "no primary agents: at least one is needed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_agent_fails_its_task_not_the_caller() {
    let primaries = [Named::new("buggy", true), Named::new("sound", false)];
    let fallbacks = [Named::new("backup", false)];
    let report = FanOut::new()
        .run(&[0, 1], &primaries, &fallbacks, |panics, task| {
            let (panics, task) = (*panics, *task);
            async move {
                assert!(!panics, "index out of bounds");
                Ok::<_, String>(task)
            }
        })
        .await
        .unwrap();
    assert_eq!(report.tasks[0].served_by(), Some("backup"));
    assert_eq!(
        report.tasks[0].errors[0].failure,
        AgentFailure::Panicked("index out of bounds".to_owned())
    );
    assert_eq!(report.tasks[1].served_by(), Some("sound"));
}

/// Counts the calls that were dropped before they finished.
struct Guard<'c>(&'c Cell<u32>);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_the_calls_in_flight() {
    let (started, dropped, finished) = (Cell::new(0), Cell::new(0), Cell::new(0));
    let primaries = [Named::new("slow", ())];
    let tasks: Vec<usize> = (0..10).collect();
    let run = FanOut::new()
        .with_concurrency(4)
        .run(&tasks, &primaries, &[], |_, _| {
            let (started, dropped, finished) = (&started, &dropped, &finished);
            async move {
                started.set(started.get() + 1);
                let guard = Guard(dropped);
                sleep(Duration::from_secs(1)).await;
                core::mem::forget(guard);
                finished.set(finished.get() + 1);
                Ok::<_, String>(())
            }
        });
    assert!(tokio::time::timeout(MS(500), run).await.is_err());
    assert_eq!((started.get(), dropped.get(), finished.get()), (4, 4, 0));
    // Nothing runs on after the drop.
    sleep(Duration::from_secs(5)).await;
    assert_eq!((started.get(), finished.get()), (4, 0));
}

#[tokio::test(start_paused = true)]
async fn the_future_is_send_for_spawned_use_with_owned_agents() {
    let handle = tokio::spawn(async {
        let primaries = agents(&["a", "b"], &[]);
        let tasks: Vec<usize> = (0..4).collect();
        FanOut::new()
            .run(&tasks, &primaries, &[], |agent, task| agent.process(task))
            .await
            .map(|r| r.succeeded())
            .map_err(|e| e.to_string())
    });
    assert_eq!(handle.await.unwrap(), Ok(4));
}
