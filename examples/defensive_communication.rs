//! Defensive communication between agents: never trust a peer's answer.
//!
//! One agent consults a peer agent. The call is defended three ways:
//!
//! - `#[timeout]`: a peer that does not answer in time is an error;
//! - validation: an answer that is not well-formed (not a JSON-like object,
//!   an empty `answer`, a `confidence` outside 0..=1) is an error too, just
//!   like a timeout, so the same policies handle it;
//! - `#[retry]` tries once more, and `#[fallback]` replaces what is left with
//!   a safe answer, but only for those transient errors (`when = ...`). An
//!   error that means a bug on our side (the peer rejects our credentials)
//!   is neither retried nor hidden: it reaches the caller.
//!
//! The peers are simulated with scripted replies, so every run tells the
//! same story (only the millisecond timestamps wobble a little), and no
//! network is used.
//!
//! Run it with `cargo run --example defensive_communication`.

use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resilience::{Elapsed, events, fallback, retry, timeout};
use tokio::time::{Instant, sleep};

#[derive(Debug, thiserror::Error)]
enum PeerError {
    /// The peer did not answer in time (`#[timeout]` produces this).
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    /// The peer answered, but not something we can use.
    #[error("invalid answer from {peer}: {reason}")]
    Invalid { peer: &'static str, reason: String },
    /// Our request was refused: a configuration bug, not bad luck.
    #[error("{peer} rejected our credentials (HTTP 401)")]
    Unauthorized { peer: &'static str },
}

impl PeerError {
    /// Worth another try, and safe to cover with the fallback: the peer may
    /// be quicker or better-behaved next time. Anything else is a bug that
    /// the caller must see.
    fn is_transient(&self) -> bool {
        matches!(self, PeerError::Timeout(_) | PeerError::Invalid { .. })
    }
}

/// A validated answer, and who gave it.
#[derive(Debug)]
struct Verdict {
    answer: String,
    confidence: f64,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Peer(&'static str),
    Fallback { because: String },
}

/// Asks `peer` and validates what it says. Each attempt may take 80ms; a
/// transient failure is retried once after 10ms; if that fails too,
/// `play_safe` answers instead. `Unauthorized` passes straight through.
#[fallback(with = play_safe, when = PeerError::is_transient)]
#[retry(attempts = 2, backoff = constant, delay = "10ms", when = PeerError::is_transient)]
#[timeout("80ms")]
async fn consult(peer: &Peer, question: &str) -> Result<Verdict, PeerError> {
    let raw = peer.send(question).await?;
    validate(peer.name, &raw)
}

/// The fallback agent: a conservative answer that is always valid.
async fn play_safe(error: PeerError) -> Result<Verdict, PeerError> {
    Ok(Verdict {
        answer: "hold the refund and escalate to a human".to_owned(),
        confidence: 0.0,
        source: Source::Fallback {
            because: error.to_string(),
        },
    })
}

/// Checks that `raw` is a flat JSON-like object with a non-empty string
/// `answer` and a number `confidence` in 0..=1; unknown fields are ignored.
/// (A real agent would use `serde_json`; this keeps the example free of
/// dependencies. It does not handle commas inside strings.)
fn validate(peer: &'static str, raw: &str) -> Result<Verdict, PeerError> {
    let invalid = |reason: String| PeerError::Invalid { peer, reason };
    let body = raw
        .trim()
        .strip_prefix('{')
        .and_then(|body| body.strip_suffix('}'))
        .ok_or_else(|| invalid("not a JSON object".to_owned()))?;
    let (mut answer, mut confidence) = (None, None);
    for field in body.split(',') {
        let (key, value) = field
            .split_once(':')
            .ok_or_else(|| invalid(format!("`{}` is not a \"key\": value pair", field.trim())))?;
        let value = value.trim();
        match key.trim() {
            "\"answer\"" => {
                let text = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| invalid("`answer` is not a string".to_owned()))?;
                answer = Some(text.trim());
            }
            "\"confidence\"" => {
                let number = value
                    .parse::<f64>()
                    .map_err(|_| invalid(format!("`confidence` {value} is not a number")))?;
                confidence = Some(number);
            }
            _ => {}
        }
    }
    let answer = answer.ok_or_else(|| invalid("no `answer` field".to_owned()))?;
    if answer.is_empty() {
        return Err(invalid("`answer` is empty".to_owned()));
    }
    let confidence = confidence.ok_or_else(|| invalid("no `confidence` field".to_owned()))?;
    if !(0.0..=1.0).contains(&confidence) {
        return Err(invalid(format!(
            "`confidence` {confidence} is outside 0..=1"
        )));
    }
    Ok(Verdict {
        answer: answer.to_owned(),
        confidence,
        source: Source::Peer(peer),
    })
}

/// What a simulated peer does when asked.
#[derive(Clone, Copy)]
enum Reply {
    /// Replies with this text after this many milliseconds.
    After(u64, &'static str),
    /// Refuses the request after this many milliseconds.
    Unauthorized(u64),
}

/// A simulated peer agent: it plays its replies in order, then repeats the
/// last one.
struct Peer {
    name: &'static str,
    replies: &'static [Reply],
    calls: AtomicUsize,
    start: Instant,
}

impl Peer {
    fn new(name: &'static str, start: Instant, replies: &'static [Reply]) -> Self {
        Self {
            name,
            replies,
            calls: AtomicUsize::new(0),
            start,
        }
    }

    async fn send(&self, question: &str) -> Result<String, PeerError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let reply = self.replies[n.min(self.replies.len() - 1)];
        log(
            self.start,
            format!("-> asking {} (attempt {}): {question}", self.name, n + 1),
        );
        match reply {
            Reply::After(ms, text) => {
                sleep(Duration::from_millis(ms)).await;
                log(self.start, format!("<- {} replied: {text}", self.name));
                Ok(text.to_owned())
            }
            Reply::Unauthorized(ms) => {
                sleep(Duration::from_millis(ms)).await;
                log(
                    self.start,
                    format!("<- {} replied: 401 Unauthorized", self.name),
                );
                Err(PeerError::Unauthorized { peer: self.name })
            }
        }
    }
}

fn log(start: Instant, what: impl Display) {
    println!("[{:>4}ms]   {what}", ms(start.elapsed()));
}

/// Whole milliseconds, rounded.
fn ms(duration: Duration) -> u128 {
    (duration.as_micros() + 500) / 1000
}

const GOOD: &str = r#"{"answer": "approve the refund", "confidence": 0.92}"#;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!(
        "Defensive communication: consult a peer agent, validate its answer, fall back safely."
    );
    println!(
        "consult = #[fallback(with = play_safe, when = transient)] #[retry(attempts = 2, when = transient)] #[timeout(\"80ms\")]"
    );
    println!("transient = a timeout or an invalid answer; anything else reaches the caller.");

    let start = Instant::now();
    // Print every retry, give-up, timeout and fallback as it happens.
    let _observer = events::observe(move |event| log(start, format!("event: {event}")));

    let cases: [(&str, &'static [Reply]); 5] = [
        ("a good answer", &[Reply::After(20, GOOD)]),
        (
            "an empty answer, then a good one (the retry recovers)",
            &[
                Reply::After(15, r#"{"answer": "", "confidence": 0.9}"#),
                Reply::After(20, GOOD),
            ],
        ),
        (
            "a slow peer (timeout, then fallback)",
            &[Reply::After(200, GOOD)],
        ),
        (
            "malformed answers (validation fails, then fallback)",
            &[
                Reply::After(20, "Sure! I think you should approve the refund."),
                Reply::After(20, r#"{"answer": "approve", "confidence": 1.7}"#),
            ],
        ),
        (
            "an error the fallback does not cover (it propagates)",
            &[Reply::Unauthorized(5)],
        ),
    ];

    let (mut from_peer, mut from_fallback, mut propagated) = (0, 0, 0);
    for (i, (title, replies)) in cases.into_iter().enumerate() {
        println!("\ncase {}: {title}", i + 1);
        let peer = Peer::new("reviewer", start, replies);
        let began = Instant::now();
        let result = consult(&peer, "refund order #4411?").await;
        let took = ms(began.elapsed());
        match result {
            Ok(Verdict {
                answer,
                confidence,
                source: Source::Peer(name),
            }) => {
                from_peer += 1;
                println!(
                    "  => answer from {name}: \"{answer}\" (confidence {confidence:.2}); {took}ms"
                );
            }
            Ok(Verdict {
                answer,
                confidence,
                source: Source::Fallback { because },
            }) => {
                from_fallback += 1;
                println!(
                    "  => fallback answer: \"{answer}\" (confidence {confidence:.2}), because {because}; {took}ms"
                );
            }
            Err(error) => {
                propagated += 1;
                println!("  => error returned to the caller: {error}; {took}ms");
            }
        }
    }

    println!(
        "\nsummary: {} calls: {from_peer} answered by the peer, {from_fallback} by the fallback, {propagated} error passed on to the caller",
        cases.len()
    );
}
