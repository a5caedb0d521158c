//! Consensus among agents: the guide's "Consensus Mechanisms"
//! (`execute_with_consensus`).
//!
//! Five reviewers are asked at once whether a change is safe to ship, each
//! with 30 seconds to answer. One fails and one hangs: they have no vote
//! (the guide counted them as "no_response" answers). Round one reaches a
//! majority; in round two the reviewers split evenly, a tie, and the
//! arbiter decides with every opinion in hand.
//!
//! The agents are scripted and tokio's clock is paused, so every run tells
//! the same story at once.
//!
//! Run it with `cargo run --example consensus`.

use std::time::Duration;

use resilience::coordination::{Decided, Named, Opinion};
use resilience::{Consensus, ConsensusError, fmt_duration};
use tokio::time::sleep;

/// A reviewer's scripted reply: a verdict after some seconds, or an error.
struct Reviewer {
    reply: Result<&'static str, &'static str>,
    secs: u64,
}

impl Reviewer {
    async fn analyze(&self, change: &&str) -> Result<String, String> {
        sleep(Duration::from_secs(self.secs)).await;
        self.reply
            .map(|verdict| verdict.to_owned())
            .map_err(|e| format!("{e} while reading {change}"))
    }
}

/// The guide's `resolve_conflict`: an arbitrator given the task and every
/// opinion.
async fn arbitrate(change: &&str, opinions: &[Opinion<String, String>]) -> Result<String, String> {
    let answers: Vec<&str> = opinions
        .iter()
        .filter_map(|o| o.answer().map(String::as_str))
        .collect();
    println!(
        "  arbiter reads {} answers about {change}: {answers:?}",
        answers.len()
    );
    Ok("ship behind a feature flag".to_owned())
}

fn reviewers(replies: [(Result<&'static str, &'static str>, u64); 5]) -> Vec<Named<Reviewer>> {
    replies
        .into_iter()
        .enumerate()
        .map(|(i, (reply, secs))| Named::new(format!("reviewer_{i}"), Reviewer { reply, secs }))
        .collect()
}

async fn round(title: &str, change: &str, agents: &[Named<Reviewer>]) {
    println!("{title}");
    let result = Consensus::new() // 30s each, response rate 60%, majority 50%
        .with_operation("review")
        .ask(&change, agents, |agent, change| agent.analyze(change))
        .with_arbiter(arbitrate)
        .decide()
        .await;
    match result {
        Ok(decision) => {
            for opinion in &decision.opinions {
                match &opinion.response {
                    Ok(answer) => println!(
                        "  {} voted {answer:?} after {}",
                        opinion.agent,
                        fmt_duration(opinion.duration)
                    ),
                    Err(why) => println!("  {} has no vote: {why}", opinion.agent),
                }
            }
            let how = match &decision.decided {
                Decided::Majority { votes, answers, .. } => {
                    format!("by majority ({votes} of {answers} answers)")
                }
                Decided::Arbiter { .. } => "by the arbiter (no majority)".to_owned(),
                _ => "somehow".to_owned(),
            };
            println!(
                "  Consensus: {:?}, decided {how}; {:.0}% of the reviewers answered.",
                decision.answer(),
                decision.response_rate * 100.0
            );
        }
        Err(ConsensusError::TooFewResponses { answers, .. }) => {
            println!("  No decision: only {answers} reviewers answered.")
        }
        Err(other) => println!("  No decision: {other}"),
    }
    println!();
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let first = reviewers([
        (Ok("ship"), 2),
        (Ok("ship"), 3),
        (Err("rate limited"), 1),
        (Ok("ship"), 300), // hangs past the 30s limit
        (Ok("hold"), 5),
    ]);
    round("Round 1: is change #41 safe to ship?", "change #41", &first).await;

    let second = reviewers([
        (Ok("ship"), 2),
        (Ok("hold"), 3),
        (Ok("ship"), 4),
        (Ok("hold"), 5),
        (Err("context window exceeded"), 1),
    ]);
    round(
        "Round 2: is change #42 safe to ship?",
        "change #42",
        &second,
    )
    .await;
}
