//! Consensus: votes, the response rate, majorities, ties, the arbiter,
//! early decision, cancellation and panics, on tokio's paused clock. The
//! guide's bugs each have a test named after the fixed behaviour.

use std::cell::Cell;
use std::time::Duration;

use resilience_runtime::PolicyError;
use resilience_runtime::coordination::{
    AgentFailure, Consensus, ConsensusError, Decided, Named, Opinion,
};
use resilience_runtime::events::{Scope, Subscription};
use tokio::time::{Instant, sleep};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// What an agent does: answer or fail after a delay, or panic.
#[derive(Clone, Copy)]
enum Script {
    Answer(u64, &'static str),
    Fail(u64, &'static str),
    Panic,
}

impl Script {
    async fn analyze(&self, _task: &&str) -> Result<String, String> {
        match *self {
            Self::Answer(secs, answer) => {
                sleep(SECS(secs)).await;
                Ok(answer.to_owned())
            }
            Self::Fail(secs, error) => {
                sleep(SECS(secs)).await;
                Err(error.to_owned())
            }
            Self::Panic => panic!("the model returned garbage"),
        }
    }
}

fn agents(scripts: &[Script]) -> Vec<Named<Script>> {
    scripts
        .iter()
        .enumerate()
        .map(|(i, s)| Named::new(format!("agent{i}"), *s))
        .collect()
}

fn drain(events: &mut Subscription) -> Vec<String> {
    std::iter::from_fn(|| events.try_recv())
        .map(|e| e.to_string())
        .collect()
}

use Script::{Answer, Fail, Panic};

async fn judge(task: &&str, opinions: &[Opinion<String, String>]) -> Result<String, String> {
    let answers: Vec<&str> = opinions
        .iter()
        .filter_map(|o| o.answer().map(String::as_str))
        .collect();
    Ok(format!("{task}: judged {}", answers.join("+")))
}

#[tokio::test(start_paused = true)]
async fn every_agent_is_asked_at_once_under_its_time_limit() {
    let agents = agents(&[
        Answer(1, "A"),
        Answer(2, "A"),
        Fail(3, "quota"),
        Answer(60, "B"),
        Answer(4, "B"),
    ]);
    let start = Instant::now();
    let decision = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    // All at once: the round takes the longest (capped at 30s), not the sum.
    assert_eq!(start.elapsed(), SECS(30));
    let durations: Vec<Duration> = decision.opinions.iter().map(|o| o.duration).collect();
    assert_eq!(durations, [SECS(1), SECS(2), SECS(3), SECS(30), SECS(4)]);
    assert_eq!(
        decision.opinions[3].response,
        Err(AgentFailure::TimedOut(SECS(30)))
    );
    // agent2 failed and agent3 timed out: 3 answers of 5, "A" has 2 of them.
    assert_eq!(decision.response_rate, 0.6);
    assert_eq!(decision.answer(), "A");
    assert_eq!(
        decision.decided,
        Decided::Majority {
            first: 0,
            votes: 2,
            answers: 3
        }
    );
}

#[tokio::test(start_paused = true)]
async fn failures_and_timeouts_are_not_votes() {
    // The guide turned failures into "no_response" opinions that counted as
    // answers: here three failures would have outvoted two real answers.
    let agents = agents(&[
        Fail(1, "down"),
        Fail(1, "down"),
        Answer(40, "late"),
        Answer(1, "A"),
        Answer(1, "A"),
    ]);
    let err = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 of 5 agents answered (40%), below the required 60%"
    );
    let ConsensusError::TooFewResponses {
        opinions, answers, ..
    } = err
    else {
        panic!("wrong error")
    };
    assert_eq!(answers, 2);
    let shown: Vec<String> = opinions
        .iter()
        .map(|o| match &o.response {
            Ok(a) => format!("{}={a}", o.agent),
            Err(f) => format!("{}: {f}", o.agent),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "agent0: down",
            "agent1: down",
            "agent2: timed out after 30s",
            "agent3=A",
            "agent4=A"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_falsy_agreed_answer_is_a_consensus() {
    // The guide sent "" or 0 to the arbiter as if there were no consensus.
    let agents = agents(&[Answer(1, ""), Answer(1, ""), Answer(1, "x")]);
    let arbiter_called = Cell::new(false);
    let decision = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .with_arbiter(async |_: &&str, _: &[Opinion<String, String>]| {
            arbiter_called.set(true);
            Ok("arbiter".to_owned())
        })
        .decide()
        .await
        .unwrap();
    assert_eq!(decision.answer(), "");
    assert!(!arbiter_called.get());

    let zeros = [Named::new("a", 0), Named::new("b", 0), Named::new("c", 1)];
    let decision = Consensus::new()
        .ask(&(), &zeros, |n, _| {
            let n = *n;
            async move { Ok::<i32, String>(n) }
        })
        .decide()
        .await
        .unwrap();
    assert_eq!(decision.into_answer(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_tie_is_no_consensus_whatever_the_order() {
    // The guide picked the first of the tied answers by insertion order.
    for scripts in [
        [
            Answer(1, "A"),
            Answer(2, "B"),
            Answer(3, "A"),
            Answer(4, "B"),
        ],
        [
            Answer(4, "B"),
            Answer(3, "A"),
            Answer(2, "B"),
            Answer(1, "A"),
        ],
    ] {
        let agents = agents(&scripts);
        let err = Consensus::new()
            .ask(&"task", &agents, |agent, task| agent.analyze(task))
            .decide()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no consensus and no arbiter: the largest group has 2 of 4 answers, tied"
        );
        assert_eq!(err.opinions().unwrap().len(), 4);
    }
}

#[tokio::test(start_paused = true)]
async fn without_a_majority_the_arbiter_decides_with_every_opinion() {
    let agents = agents(&[
        Answer(1, "A"),
        Answer(1, "B"),
        Fail(1, "down"),
        Answer(1, "A"),
        Answer(1, "B"),
    ]);
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let ballot = Consensus::new()
        .with_operation("review")
        .ask(&"deploy?", &agents, |agent, task| agent.analyze(task))
        .with_arbiter(judge);
    let decision = scope.run(ballot.decide()).await.unwrap();
    assert!(decision.by_arbiter());
    assert_eq!(decision.answer(), "deploy?: judged A+B+A+B");
    assert_eq!(
        decision.to_string(),
        "\"deploy?: judged A+B+A+B\" by the arbiter (80% of the agents answered)"
    );
    assert_eq!(
        drain(&mut sub),
        [
            "`review` `agent0` voted",
            "`review` `agent1` voted",
            "`review` `agent2` has no vote (down)",
            "`review` `agent3` voted",
            "`review` `agent4` voted",
            "`review` has no consensus: the largest group has 2 of 4 answers",
            "`review` decided by the arbiter over 4 answers",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_largest_group_needs_the_majority_share() {
    // A A B C D: 2 of 5 answers (40%) is below 50%, though alone in front.
    let agents = agents(&[
        Answer(1, "A"),
        Answer(1, "A"),
        Answer(1, "B"),
        Answer(1, "C"),
        Answer(1, "D"),
    ]);
    let err = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConsensusError::NoConsensus {
            largest: 2,
            answers: 5,
            tied: false,
            ..
        }
    ));
    // With a majority of 0.4 it wins.
    let decision = Consensus::new()
        .with_majority(0.4)
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    assert_eq!(decision.answer(), "A");
}

#[tokio::test(start_paused = true)]
async fn answers_can_be_grouped_by_a_key() {
    let agents = agents(&[Answer(1, "yes, ship"), Answer(1, "no"), Answer(1, "yes!")]);
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let decision = scope
        .run(
            Consensus::new()
                .ask(&"task", &agents, |agent, task| agent.analyze(task))
                .by_key(|answer| answer.starts_with("yes"))
                .decide(),
        )
        .await
        .unwrap();
    assert_eq!(decision.answer(), "yes, ship");
    assert_eq!(
        drain(&mut sub).last().unwrap(),
        "`consensus` agreed: 2 of 3 answers"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_or_panicking_arbiter_is_a_typed_error() {
    let agents = agents(&[Answer(1, "A"), Answer(1, "B")]);
    let err = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .with_arbiter(async |_: &&str, _: &[Opinion<String, String>]| {
            Err("arbiter offline".to_owned())
        })
        .decide()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no consensus, and the arbiter failed: arbiter offline"
    );
    let err = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .with_arbiter(
            async |_: &&str, _: &[Opinion<String, String>]| -> Result<String, String> {
                panic!("arbiter bug")
            },
        )
        .decide()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConsensusError::ArbiterFailed { failure: AgentFailure::Panicked(ref m), .. } if m == "arbiter bug"
    ));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_agent_has_no_vote_and_the_caller_goes_on() {
    let agents = agents(&[Panic, Answer(1, "A"), Answer(2, "A")]);
    let decision = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    assert_eq!(
        decision.opinions[0].response,
        Err(AgentFailure::Panicked(
            "the model returned garbage".to_owned()
        ))
    );
    assert_eq!(
        decision.decided,
        Decided::Majority {
            first: 1,
            votes: 2,
            answers: 2
        }
    );
}

/// Counts the calls dropped before they finished.
struct Guard<'c>(&'c Cell<u32>);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn early_decision_cancels_the_agents_still_running() {
    let dropped = Cell::new(0);
    let scripts = [
        Answer(1, "A"),
        Answer(2, "A"),
        Answer(3, "A"),
        Answer(20, "B"),
        Answer(25, "B"),
    ];
    let agents = agents(&scripts);
    let start = Instant::now();
    let decision = Consensus::new()
        .with_early_decision()
        .ask(&"task", &agents, |agent, task| {
            let dropped = &dropped;
            async move {
                let guard = Guard(dropped);
                let answer = agent.analyze(task).await;
                core::mem::forget(guard);
                answer
            }
        })
        .decide()
        .await
        .unwrap();
    // At 3s, "A" has 3 votes, 2 agents are still running: "B" cannot catch up.
    assert_eq!(start.elapsed(), SECS(3));
    assert_eq!(dropped.get(), 2);
    assert_eq!(decision.opinions[4].response, Err(AgentFailure::Cancelled));
    assert_eq!(
        decision.decided,
        Decided::Majority {
            first: 0,
            votes: 3,
            answers: 3
        }
    );
    assert_eq!(decision.response_rate, 0.6);

    // Without it, the round waits for everyone.
    let start = Instant::now();
    let decision = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    assert_eq!(start.elapsed(), SECS(25));
    assert_eq!(
        decision.decided,
        Decided::Majority {
            first: 0,
            votes: 3,
            answers: 5
        }
    );
}

#[tokio::test(start_paused = true)]
async fn early_decision_waits_while_the_winner_could_change() {
    // At 2s: A=2, B=0, 3 running: B could still reach 3. It must wait.
    let agents = agents(&[
        Answer(1, "A"),
        Answer(2, "A"),
        Answer(5, "B"),
        Answer(6, "B"),
        Answer(7, "B"),
    ]);
    let start = Instant::now();
    let decision = Consensus::new()
        .with_early_decision()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    assert_eq!(start.elapsed(), SECS(7));
    assert_eq!(decision.answer(), "B");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_every_agent() {
    let (dropped, finished) = (Cell::new(0), Cell::new(0));
    let agents = agents(&[Answer(10, "A"), Answer(10, "A"), Answer(10, "B")]);
    let round = Consensus::new()
        .ask(&"task", &agents, |agent, task| {
            let (dropped, finished) = (&dropped, &finished);
            async move {
                let guard = Guard(dropped);
                let answer = agent.analyze(task).await;
                core::mem::forget(guard);
                finished.set(finished.get() + 1);
                answer
            }
        })
        .decide();
    assert!(tokio::time::timeout(SECS(5), round).await.is_err());
    assert_eq!((dropped.get(), finished.get()), (3, 0));
}

#[tokio::test(start_paused = true)]
async fn an_invalid_configuration_is_a_typed_error() {
    let agents = agents(&[Answer(1, "A")]);
    let err = Consensus::new()
        .with_response_rate(1.5)
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConsensusError::Policy(PolicyError::Rate {
            name: "response_rate",
            ..
        })
    ));
    let none: [Named<Script>; 0] = [];
    let err = Consensus::new()
        .ask(&"task", &none, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no voting agents: at least one is needed");
}

#[tokio::test(start_paused = true)]
async fn the_future_is_send_for_spawned_use() {
    let handle = tokio::spawn(async {
        let agents = agents(&[Answer(1, "A"), Answer(1, "B")]);
        Consensus::new()
            .ask(&"task", &agents, |agent, task| agent.analyze(task))
            .with_arbiter(judge)
            .decide()
            .await
            .map(|d| d.into_answer())
            .map_err(|e| e.to_string())
    });
    assert_eq!(handle.await.unwrap(), Ok("task: judged A+B".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_call_that_panics_before_returning_its_future_is_its_own_failure() {
    let agents = agents(&[Answer(1, "A"), Answer(1, "A"), Panic]);
    let decision = Consensus::new()
        .ask(&"task", &agents, |agent, task| {
            if let Panic = agent {
                panic!("no model configured");
            }
            agent.analyze(task)
        })
        .decide()
        .await
        .unwrap();
    assert_eq!(
        decision.opinions[2].response,
        Err(AgentFailure::Panicked("no model configured".to_owned()))
    );
    assert_eq!(decision.answer(), "A");
}

#[tokio::test(start_paused = true)]
async fn agents_that_finish_together_have_the_same_duration() {
    let agents = agents(&[
        Answer(2, "A"),
        Fail(5, "quota"),
        Answer(2, "A"),
        Answer(5, "B"),
    ]);
    let decision = Consensus::new()
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    let durations: Vec<Duration> = decision.opinions.iter().map(|o| o.duration).collect();
    assert_eq!(durations, [SECS(2), SECS(5), SECS(2), SECS(5)]);
}

#[tokio::test(start_paused = true)]
async fn a_time_limit_past_any_instant_is_no_limit() {
    let agents = agents(&[Answer(1, "A"), Answer(100_000, "A"), Answer(2, "B")]);
    let start = Instant::now();
    let decision = Consensus::new()
        .with_time_limit(Duration::MAX)
        .ask(&"task", &agents, |agent, task| agent.analyze(task))
        .decide()
        .await
        .unwrap();
    assert_eq!(start.elapsed(), SECS(100_000));
    assert_eq!(decision.response_rate, 1.0);
}
