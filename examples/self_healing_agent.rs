//! A self-healing agent and the supervisor that heals it.
//!
//! The agent answers tasks by asking a model. Each call is
//! `#[retry] #[timeout]`: every attempt gets its own time limit and a failed
//! attempt is retried with exponential backoff. The agent also counts the
//! calls that failed in a row (even after their retries). When that count
//! reaches a threshold it sends "needs help" to its supervisor over a tokio
//! channel and waits for a cure.
//!
//! The supervisor watches two things: the agent's help requests, and every
//! retry, timeout and give-up, which it receives from
//! `resilience::events::subscribe()`. When asked for help it heals the agent
//! by handing it a backup model, and the agent carries on with it.
//!
//! The primary model is simulated: it follows a fixed script of answers,
//! errors and stalls, so every run tells the same story (only the
//! millisecond timestamps wobble a little), and no network is used.
//!
//! Run it with `cargo run --example self_healing_agent`.

use std::fmt::Display;
use std::time::Duration;

use resilience::events::{self, Subscription};
use resilience::{OwnedEventKind, fmt_duration, retry, timeout};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep};

/// Failed calls in a row after which the agent asks for help.
const HELP_THRESHOLD: u32 = 2;

#[derive(Debug, thiserror::Error)]
enum AgentError {
    /// An attempt ran out of time (`#[timeout]` produces this).
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("{0} is overloaded (HTTP 503)")]
    Overloaded(&'static str),
}

/// What the model does on one request.
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
/// repeats the script's last step forever.
struct Model {
    name: &'static str,
    script: &'static [Step],
    requests: usize,
}

impl Model {
    /// Healthy at first, then degrading: stalls and overload errors.
    fn primary() -> Self {
        use Step::*;
        Self {
            name: "primary-model",
            script: &[
                Answer(15),     // task 1: answers
                Stall,          // task 2: times out,
                Overloaded(10), //   is overloaded,
                Stall,          //   times out again: the call fails
                Overloaded(10), // task 3: overloaded,
                Answer(20),     //   then the retry gets an answer
                Stall,          // task 4: fails like task 2
                Overloaded(10), //
                Stall,          // and from here on it always stalls
            ],
            requests: 0,
        }
    }

    /// Slower, but it always answers.
    fn backup() -> Self {
        Self {
            name: "backup-model",
            script: &[Step::Answer(30)],
            requests: 0,
        }
    }

    async fn complete(&mut self, prompt: &str) -> Result<String, AgentError> {
        let last = self.script.len() - 1;
        let step = self.script[self.requests.min(last)];
        self.requests += 1;
        match step {
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

/// What the agent sends to its supervisor.
enum Message {
    /// The agent failed `failures` calls in a row and waits for a cure: a
    /// model to use instead of its own.
    NeedsHelp {
        agent: &'static str,
        model: &'static str,
        failures: u32,
        last_error: String,
        cure: oneshot::Sender<Model>,
    },
    /// "Answer once you have reported every event so far." Only there so the
    /// demo's output comes out in order.
    Sync(oneshot::Sender<()>),
}

struct Agent {
    name: &'static str,
    model: Model,
    /// Attempts made by the current call; `ask` counts them (`&mut self`).
    attempts: u32,
    /// Calls that failed in a row; reset by a success.
    failures_in_a_row: u32,
    supervisor: mpsc::Sender<Message>,
    start: Instant,
}

impl Agent {
    /// One request to the model. Each attempt may take 60ms; a failed attempt
    /// is retried after 20ms, then 40ms (no jitter, to keep the demo's
    /// output the same every run; real code would add `jitter`).
    #[retry(attempts = 3, backoff = exponential, delay = "20ms")]
    #[timeout("60ms")]
    async fn ask(&mut self, prompt: &str) -> Result<String, AgentError> {
        self.attempts += 1;
        log(
            self.start,
            self.name,
            format!("  attempt {}: asking {}", self.attempts, self.model.name),
        );
        self.model.complete(prompt).await
    }

    /// Does one task: asks, keeps count of failures in a row, and asks the
    /// supervisor for help when there are too many. A healed agent tries the
    /// task once more.
    async fn handle(&mut self, task: usize, prompt: &str) -> Result<String, AgentError> {
        let mut healed = false;
        loop {
            log(self.start, self.name, format!("task {task}: '{prompt}'"));
            self.attempts = 0;
            let result = self.ask(prompt).await;
            self.sync().await;
            let attempts = plural(self.attempts, "attempt");
            match result {
                Ok(answer) => {
                    let reset = if self.failures_in_a_row > 0 {
                        " (failure streak reset to 0)"
                    } else {
                        ""
                    };
                    self.failures_in_a_row = 0;
                    log(
                        self.start,
                        self.name,
                        format!("task {task} done after {attempts}: {answer}{reset}"),
                    );
                    return Ok(answer);
                }
                Err(error) => {
                    self.failures_in_a_row += 1;
                    log(
                        self.start,
                        self.name,
                        format!(
                            "task {task} FAILED after {attempts}: {error} ({} of {HELP_THRESHOLD} failures in a row)",
                            self.failures_in_a_row
                        ),
                    );
                    if self.failures_in_a_row < HELP_THRESHOLD || healed {
                        return Err(error);
                    }
                    if !self.ask_for_help(&error).await {
                        return Err(error);
                    }
                    healed = true;
                }
            }
        }
    }

    /// Sends "needs help" and applies the cure; false if none came.
    async fn ask_for_help(&mut self, error: &AgentError) -> bool {
        log(
            self.start,
            self.name,
            "that is too many: asking the supervisor for help",
        );
        let (cure, cured) = oneshot::channel();
        let message = Message::NeedsHelp {
            agent: self.name,
            model: self.model.name,
            failures: self.failures_in_a_row,
            last_error: error.to_string(),
            cure,
        };
        if self.supervisor.send(message).await.is_err() {
            return false;
        }
        let Ok(model) = cured.await else {
            log(self.start, self.name, "no help came");
            return false;
        };
        log(
            self.start,
            self.name,
            format!(
                "healed: now using {} instead of {}; retrying the task",
                model.name, self.model.name
            ),
        );
        self.model = model;
        self.failures_in_a_row = 0;
        true
    }

    /// Waits until the supervisor has printed every event so far.
    async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.supervisor.send(Message::Sync(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// What the supervisor saw.
#[derive(Default)]
struct Seen {
    retries: u32,
    timeouts: u32,
    give_ups: u32,
    heals: u32,
}

/// Reports each resilience event in words and heals agents that ask for
/// help, until every agent is gone.
async fn supervise(
    start: Instant,
    mut events: Subscription,
    mut inbox: mpsc::Receiver<Message>,
    mut spare: Option<Model>,
) -> Seen {
    const ME: &str = "supervisor";
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            // Events first: report what happened before reacting to it.
            biased;
            Some(event) = events.recv() => {
                let op = &event.operation;
                let text = match &event.kind {
                    OwnedEventKind::Timeout { limit } => {
                        seen.timeouts += 1;
                        format!("sees `{op}` run out of time: no answer within {}, attempt cancelled", fmt_duration(*limit))
                    }
                    OwnedEventKind::Retry { attempt, delay, error } => {
                        seen.retries += 1;
                        format!("sees `{op}` attempt {attempt} fail ({error}); it will retry in {}", fmt_duration(*delay))
                    }
                    OwnedEventKind::GaveUp { attempts, reason, error } => {
                        seen.give_ups += 1;
                        format!("sees `{op}` give up after {} ({reason}); the caller gets: {error}", plural(*attempts, "attempt"))
                    }
                    _ => format!("sees {event}"),
                };
                log(start, ME, text);
            }
            message = inbox.recv() => match message {
                Some(Message::Sync(done)) => {
                    let _ = done.send(());
                }
                Some(Message::NeedsHelp { agent, model, failures, last_error, cure }) => {
                    log(start, ME, format!("HELP from {agent}: {failures} calls in a row failed on {model}; last error: {last_error}"));
                    match spare.take() {
                        Some(backup) => {
                            log(start, ME, format!("healing {agent}: switching it from {model} to {}", backup.name));
                            seen.heals += 1;
                            let _ = cure.send(backup);
                        }
                        None => log(start, ME, format!("no spare model left for {agent}")),
                    }
                }
                None => return seen,
            },
        }
    }
}

fn log(start: Instant, who: &str, what: impl Display) {
    println!("[{:>5}ms] {who:<10} | {what}", ms(start.elapsed()));
}

/// Whole milliseconds, rounded.
fn ms(duration: Duration) -> u128 {
    (duration.as_micros() + 500) / 1000
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("Self-healing agent: one agent, one supervisor, a scripted flaky model (no network).");
    println!(
        "Each call: #[retry(attempts = 3, backoff = exponential, delay = \"20ms\")] #[timeout(\"60ms\")];"
    );
    println!(
        "after {HELP_THRESHOLD} failed calls in a row the agent asks its supervisor for help.\n"
    );

    let start = Instant::now();
    // Subscribe before the agent starts, so that no event is missed.
    let events = events::subscribe();
    let (to_supervisor, inbox) = mpsc::channel(8);
    let supervisor = tokio::spawn(supervise(start, events, inbox, Some(Model::backup())));

    let mut agent = Agent {
        name: "agent",
        model: Model::primary(),
        attempts: 0,
        failures_in_a_row: 0,
        supervisor: to_supervisor,
        start,
    };
    let tasks = [
        "summarise ticket #101",
        "draft a reply to ticket #102",
        "classify ticket #103",
        "summarise ticket #104",
        "translate ticket #105",
        "close ticket #106",
    ];
    let mut answered = 0;
    for (i, prompt) in tasks.iter().enumerate() {
        if agent.handle(i + 1, prompt).await.is_ok() {
            answered += 1;
        }
    }
    drop(agent); // closes the channel: the supervisor stops
    let seen = supervisor.await.expect("the supervisor does not panic");

    println!(
        "\nsummary: {answered} of {} tasks answered; the supervisor saw {} retries, {} timeouts and {} give-ups, and healed the agent {}; {}ms in all",
        tasks.len(),
        seen.retries,
        seen.timeouts,
        seen.give_ups,
        plural(seen.heals, "time"),
        ms(start.elapsed())
    );
}
