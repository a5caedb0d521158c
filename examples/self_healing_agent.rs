//! Self-healing agents and the supervisor that heals them.
//!
//! Two agents, `alpha` and `beta`, answer tasks by asking a model. Each call
//! is declared, nothing is counted by hand:
//!
//! ```text
//! #[agent(name = self.name)]                             every event names the agent
//! #[self_healing(state = self.health, max_failures = 2)] failed calls in a row ask for help
//! #[retry(attempts = 3, backoff = exponential, delay = "20ms")]
//! #[timeout("60ms")]                                     per attempt; a time-out is a failure
//! ```
//!
//! `#[self_healing]` sits above `#[retry]`, so it counts calls (each after
//! its retries), not attempts. At the second failed call in a row it emits a
//! "needs help" event, once per streak. The supervisor receives it from an
//! event subscription, with every retry, time-out and give-up, and it
//! answers in code through the agent's `Health`: it hands `alpha` the one
//! spare model (`health.heal(backup)`, which the next call reads with
//! `health.cure()`); when `beta` asks, no spare is left, so it gives up on it
//! (`health.give_up()`), and `beta`'s next calls return `Abandoned` without
//! running.
//!
//! The models are simulated: they follow a fixed script of answers, errors
//! and stalls, on tokio's paused clock, so every run prints the same story,
//! to the millisecond, and no network is used.
//!
//! Run it with `cargo run --example self_healing_agent`.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resilience::events::{self, Subscription};
use resilience::{
    Abandoned, AgentName, Elapsed, Health, OwnedEventKind, agent, fmt_duration, retry,
    self_healing, timeout,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    /// An attempt ran out of time (`#[timeout]` produces this).
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    /// The supervisor gave up on the agent (`#[self_healing]` produces this).
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
    #[error("{0} is overloaded (HTTP 503)")]
    Overloaded(&'static str),
}

/// What a model does on one request.
#[derive(Clone, Copy)]
enum Step {
    /// Answers after this many milliseconds.
    Answer(u64),
    /// Fails with "overloaded" after this many milliseconds.
    Overloaded(u64),
    /// Hangs for far longer than any time limit.
    Stall,
}

/// A simulated model that plays its script, one step per request, then
/// repeats the script's last step forever. Shared: the supervisor hands a
/// model to an agent.
struct Model {
    name: &'static str,
    script: &'static [Step],
    requests: AtomicUsize,
}

impl Model {
    fn new(name: &'static str, script: &'static [Step]) -> Arc<Self> {
        Arc::new(Self {
            name,
            script,
            requests: AtomicUsize::new(0),
        })
    }

    async fn complete(&self, prompt: &str) -> Result<String, AgentError> {
        let request = self.requests.fetch_add(1, Ordering::Relaxed);
        match self.script[request.min(self.script.len() - 1)] {
            Step::Answer(ms) => {
                sleep(Duration::from_millis(ms)).await;
                Ok(format!("{}'s answer to '{prompt}'", self.name))
            }
            Step::Overloaded(ms) => {
                sleep(Duration::from_millis(ms)).await;
                Err(AgentError::Overloaded(self.name))
            }
            Step::Stall => {
                sleep(Duration::from_secs(10)).await;
                Ok("too late to matter".to_owned())
            }
        }
    }
}

struct Agent {
    name: AgentName,
    model: Arc<Model>,
    /// Shared with the supervisor, which answers through it.
    health: Arc<Health<Model>>,
    start: Instant,
}

impl Agent {
    /// One request to the model: the supervisor's cure if it gave one, else
    /// the agent's own. Each attempt may take 60ms; a failed attempt is
    /// retried after 20ms, then 40ms (no jitter, so that the story is the
    /// same every run; real code would add `jitter`).
    #[agent(name = self.name)]
    #[self_healing(state = self.health, max_failures = 2)]
    #[retry(attempts = 3, backoff = exponential, delay = "20ms")]
    #[timeout("60ms")]
    async fn ask(&self, prompt: &str) -> Result<String, AgentError> {
        let model = self
            .health
            .cure()
            .unwrap_or_else(|| Arc::clone(&self.model));
        log(self.start, &self.name, format!("  asking {}", model.name));
        model.complete(prompt).await
    }
}

/// What the supervisor saw and did.
#[derive(Default)]
struct Seen {
    retries: u32,
    timeouts: u32,
    give_ups: u32,
    help_requests: u32,
    heals: u32,
}

/// Reports each resilience event in words and answers every "needs help":
/// with a spare model while one is left, else by giving up on the agent.
/// Stops when `syncs` closes.
async fn supervise(
    start: Instant,
    mut events: Subscription,
    mut syncs: mpsc::Receiver<oneshot::Sender<()>>,
    agents: HashMap<String, Arc<Health<Model>>>,
    mut spares: Vec<Arc<Model>>,
) -> Seen {
    const ME: &str = "supervisor";
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            // Events first: report everything before answering a sync.
            biased;
            Some(event) = events.recv() => {
                let who = event.agent.as_deref().unwrap_or("?");
                let op = &event.operation;
                match &event.kind {
                    OwnedEventKind::Timeout { limit } => {
                        seen.timeouts += 1;
                        log(start, ME, format!("sees {who}'s `{op}` get no answer within {}", fmt_duration(*limit)));
                    }
                    OwnedEventKind::Retry { attempt, delay, .. } => {
                        seen.retries += 1;
                        log(start, ME, format!("sees {who}'s attempt {attempt} fail; retry in {}", fmt_duration(*delay)));
                    }
                    OwnedEventKind::GaveUp { attempts, error, .. } => {
                        seen.give_ups += 1;
                        log(start, ME, format!("sees {who}'s `{op}` fail after {}: {error}", plural(*attempts, "attempt")));
                    }
                    OwnedEventKind::NeedsHelp { failures, error } => {
                        seen.help_requests += 1;
                        log(start, ME, format!("HELP from {who}: {} in a row failed; last error: {error}", plural(*failures, "call")));
                        let health = &agents[who];
                        match spares.pop() {
                            Some(backup) => {
                                log(start, ME, format!("heals {who}: its next calls use {}", backup.name));
                                seen.heals += 1;
                                health.heal(backup);
                            }
                            None => {
                                log(start, ME, format!("has no spare model left: gives up on {who}"));
                                health.give_up();
                            }
                        }
                    }
                    OwnedEventKind::Abandoned {} => {
                        log(start, ME, format!("sees {who}'s `{op}` refused: it was given up"));
                    }
                    _ => log(start, ME, format!("sees {event}")),
                }
            }
            sync = syncs.recv() => match sync {
                Some(done) => {
                    let _ = done.send(());
                }
                None => return seen,
            },
        }
    }
}

fn log(start: Instant, who: &str, what: impl Display) {
    println!("[{:>5}ms] {who:<10} | {what}", start.elapsed().as_millis());
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    use Step::*;
    println!(
        "Self-healing agents: two agents, one supervisor, scripted flaky models (no network)."
    );
    println!(
        "Each call: #[agent] #[self_healing(max_failures = 2)] #[retry(attempts = 3)] #[timeout(\"60ms\")]\n"
    );

    let start = Instant::now();
    // Healthy at first, then degrading: stalls and overload errors.
    let alpha_model = Model::new(
        "alpha-model",
        &[
            Answer(15),     // task 1: answers
            Stall,          // task 2: times out,
            Overloaded(10), //   is overloaded,
            Stall,          //   times out again: the call fails
            Overloaded(10), // task 3: fails three times: 2 calls in a row
        ],
    );
    // Answers once, then is down for good.
    let beta_model = Model::new("beta-model", &[Answer(5), Overloaded(5)]);
    // The supervisor's one spare: slower, but it always answers.
    let backup = Model::new("backup-model", &[Answer(30)]);

    let agents: Vec<Agent> = [("alpha", alpha_model), ("beta", beta_model)]
        .into_iter()
        .map(|(name, model)| Agent {
            name: AgentName::new(name),
            model,
            health: Arc::new(Health::new()),
            start,
        })
        .collect();
    let healths = agents
        .iter()
        .map(|agent| (agent.name.to_string(), Arc::clone(&agent.health)))
        .collect();

    // Subscribe before the agents start, so that no event is missed.
    let events = events::subscribe();
    let (to_supervisor, syncs) = mpsc::channel(1);
    let supervisor = tokio::spawn(supervise(start, events, syncs, healths, vec![backup]));

    let tasks = ["summarise", "draft a reply", "classify", "translate"];
    let mut answered = 0;
    let mut refused = 0;
    for (round, task) in tasks.iter().enumerate() {
        for agent in &agents {
            let prompt = format!("{task} ticket #{}", 101 + round);
            log(
                start,
                &agent.name,
                format!("task {}: '{prompt}'", round + 1),
            );
            let result = agent.ask(&prompt).await;
            // Let the supervisor report (and answer) before going on.
            let (done, wait) = oneshot::channel();
            to_supervisor.send(done).await.expect("the supervisor runs");
            wait.await.expect("the supervisor answers");
            match result {
                Ok(answer) => {
                    answered += 1;
                    log(start, &agent.name, format!("done: {answer}"));
                }
                Err(AgentError::Abandoned(error)) => {
                    refused += 1;
                    log(start, &agent.name, format!("refused: {error}"));
                }
                Err(error) => {
                    let streak = match agent.health.failures() {
                        0 => "the supervisor's answer reset the streak".to_owned(),
                        n => format!("{} in a row", plural(n, "failure")),
                    };
                    log(start, &agent.name, format!("FAILED: {error} ({streak})"));
                }
            }
        }
    }
    drop(to_supervisor); // the supervisor stops
    let seen = supervisor.await.expect("the supervisor does not panic");

    println!(
        "\nsummary: {answered} of {} calls answered, {refused} refused after giving up; the supervisor saw {} retries, {} time-outs, {} give-ups and {}, and healed {}; {}ms in all",
        tasks.len() * agents.len(),
        seen.retries,
        seen.timeouts,
        seen.give_ups,
        plural(seen.help_requests, "help request"),
        plural(seen.heals, "agent"),
        start.elapsed().as_millis()
    );
}
