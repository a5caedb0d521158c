//! `#[bulkhead]`: every transition on tokio's paused clock (a free slot,
//! full, queued and served in order, queue full, waited too long, a
//! cancelled wait), the forms of `state`, the stacking orders that matter,
//! and a many-task run on the multi-thread runtime for the counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resilience::events::Scope;
use resilience::{
    Bulkhead, Elapsed, OwnedEventKind, RejectReason, Rejected, bulkhead, fallback, retry, timeout,
};
use tokio::time::{Instant, sleep};

#[derive(Debug, PartialEq, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error("model failed")]
    Failed,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[bulkhead(max = 2)]
async fn own_limit(work: u64) -> Result<u64, AgentError> {
    sleep(ms(work)).await;
    Ok(work)
}

#[tokio::test(start_paused = true)]
async fn own_limit_turns_the_third_call_away_at_once() {
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let start = Instant::now();
    let (a, b, c) = scope
        .run(async { tokio::join!(own_limit(100), own_limit(100), own_limit(100)) })
        .await;
    assert_eq!((a, b), (Ok(100), Ok(100)));
    let rejected = c.unwrap_err();
    assert_eq!(
        rejected,
        AgentError::Rejected(Rejected::new(
            "own_limit",
            "own_limit",
            RejectReason::Full { max: 2 }
        ))
    );
    assert_eq!(
        rejected.to_string(),
        "`own_limit` rejected by bulkhead `own_limit`: all 2 slots are taken and there is no queue"
    );
    assert_eq!(start.elapsed(), ms(100));
    let event = events.try_recv().unwrap();
    assert_eq!(event.operation, "own_limit");
    assert_eq!(
        event.kind,
        OwnedEventKind::BulkheadRejected {
            bulkhead: "own_limit".into(),
            reason: RejectReason::Full { max: 2 }
        }
    );
    assert!(events.try_recv().is_none());
    // The slots are free again.
    assert_eq!(own_limit(1).await, Ok(1));
}

#[bulkhead(max = 1, queue = 1, wait = "100ms")]
async fn queued(work: u64) -> Result<Instant, AgentError> {
    let entered = Instant::now();
    sleep(ms(work)).await;
    Ok(entered)
}

#[tokio::test(start_paused = true)]
async fn queue_full_and_waited_too_long() {
    let start = Instant::now();
    let late = async {
        sleep(ms(1)).await;
        queued(10).await
    };
    let later = async {
        sleep(ms(2)).await;
        queued(10).await
    };
    let (a, b, c) = tokio::join!(queued(1000), late, later);
    assert_eq!(a, Ok(start));
    // `late` waited in the queue for 100ms, from 1ms.
    assert_eq!(
        b.unwrap_err(),
        AgentError::Rejected(Rejected::new(
            "queued",
            "queued",
            RejectReason::WaitedTooLong { wait: ms(100) }
        ))
    );
    // `later` found the queue full at 2ms.
    assert_eq!(
        c.unwrap_err(),
        AgentError::Rejected(Rejected::new(
            "queued",
            "queued",
            RejectReason::QueueFull { max: 1, queue: 1 }
        ))
    );
}

#[tokio::test(start_paused = true)]
async fn a_queued_call_gets_the_slot_the_moment_it_is_free() {
    let start = Instant::now();
    let second = async {
        sleep(ms(1)).await;
        queued(10).await
    };
    let (a, b) = tokio::join!(queued(60), second);
    assert_eq!(a, Ok(start));
    assert_eq!(b.unwrap() - start, ms(60));
}

static SHARED: Bulkhead = Bulkhead::new(1).with_name("llm");

#[bulkhead(state = SHARED)]
async fn summarise(work: u64) -> Result<&'static str, AgentError> {
    sleep(ms(work)).await;
    Ok("summary")
}

#[bulkhead(state = SHARED)]
async fn translate(work: u64) -> Result<&'static str, AgentError> {
    sleep(ms(work)).await;
    Ok("translation")
}

#[tokio::test(start_paused = true)]
async fn a_static_is_shared_by_every_fn_that_names_it() {
    let (a, b) = tokio::join!(summarise(50), translate(50));
    assert_eq!(a, Ok("summary"));
    assert_eq!(
        b.unwrap_err().to_string(),
        "`translate` rejected by bulkhead `llm`: all 1 slot is taken and there is no queue"
    );
    assert_eq!(SHARED.running(), 0);
}

struct Agent {
    slots: Bulkhead,
    shared: Arc<Bulkhead>,
}

impl Agent {
    #[bulkhead(state = self.slots)]
    async fn ask(&self, work: u64) -> Result<usize, AgentError> {
        let running = self.slots.running();
        sleep(ms(work)).await;
        Ok(running)
    }

    #[bulkhead(state = self.shared)]
    async fn search(&self, work: u64) -> Result<(), AgentError> {
        sleep(ms(work)).await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_field_gives_each_agent_its_own_limit() {
    let shared = Arc::new(Bulkhead::new(1));
    let one = Agent {
        slots: Bulkhead::new(1),
        shared: shared.clone(),
    };
    let two = Agent {
        slots: Bulkhead::new(1),
        shared,
    };
    // One slot each: both agents run at once.
    let (a, b) = tokio::join!(one.ask(10), two.ask(10));
    assert_eq!((a, b), (Ok(1), Ok(1)));
    // One agent, two calls: the second is turned away.
    let (a, b) = tokio::join!(one.ask(10), one.ask(10));
    assert_eq!(a, Ok(1));
    assert!(matches!(b, Err(AgentError::Rejected(_))));
    // An `Arc` shared by both: one search at a time in all.
    let (a, b) = tokio::join!(one.search(10), two.search(10));
    assert_eq!(a, Ok(()));
    assert!(matches!(b, Err(AgentError::Rejected(_))));
}

// --- Stacking ------------------------------------------------------------

static RETRY_OUTSIDE: Bulkhead = Bulkhead::new(1);
static RETRY_INSIDE: Bulkhead = Bulkhead::new(1);

/// Each attempt takes its own slot: free during the backoff.
#[retry(attempts = 3, backoff = constant, delay = "100ms")]
#[bulkhead(state = RETRY_OUTSIDE)]
async fn slot_per_attempt(calls: &AtomicUsize) -> Result<(), AgentError> {
    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(AgentError::Failed);
    }
    Ok(())
}

/// One slot for every attempt: held during the backoff.
#[bulkhead(state = RETRY_INSIDE)]
#[retry(attempts = 3, backoff = constant, delay = "100ms")]
async fn slot_for_all_attempts(calls: &AtomicUsize) -> Result<(), AgentError> {
    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(AgentError::Failed);
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn retry_over_bulkhead_frees_the_slot_between_attempts() {
    let calls = AtomicUsize::new(0);
    let watch = async {
        sleep(ms(50)).await;
        RETRY_OUTSIDE.running()
    };
    let (result, during_backoff) = tokio::join!(slot_per_attempt(&calls), watch);
    assert_eq!(result, Ok(()));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(during_backoff, 0);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_over_retry_holds_the_slot_through_the_backoff() {
    let calls = AtomicUsize::new(0);
    let watch = async {
        sleep(ms(50)).await;
        RETRY_INSIDE.running()
    };
    let (result, during_backoff) = tokio::join!(slot_for_all_attempts(&calls), watch);
    assert_eq!(result, Ok(()));
    assert_eq!(during_backoff, 1);
    assert_eq!(RETRY_INSIDE.running(), 0);
}

static TIMED: Bulkhead = Bulkhead::new(1).with_queue(4);

/// The limit covers the wait in the queue.
#[timeout("50ms")]
#[bulkhead(state = TIMED)]
async fn time_includes_the_queue(work: u64) -> Result<(), AgentError> {
    sleep(ms(work)).await;
    Ok(())
}

/// The limit starts once a slot is held.
#[bulkhead(state = TIMED)]
#[timeout("50ms")]
async fn time_after_the_queue(work: u64) -> Result<(), AgentError> {
    sleep(ms(work)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn timeout_over_bulkhead_counts_the_wait() {
    let start = Instant::now();
    let second = async {
        sleep(ms(1)).await;
        let result = time_includes_the_queue(10).await;
        (result, start.elapsed(), TIMED.waiting())
    };
    let (first, (second, at, waiting)) = tokio::join!(time_after_the_queue(40), second);
    assert_eq!(first, Ok(()));
    // Queued at 1ms behind a 40ms call, it ran 10ms: done at 50ms, inside
    // its limit of 50ms from 1ms.
    assert_eq!((second, at, waiting), (Ok(()), ms(50), 0));

    let start = Instant::now();
    let second = async {
        sleep(ms(1)).await;
        let result = time_includes_the_queue(10).await;
        (result, start.elapsed(), TIMED.waiting())
    };
    let (first, (second, at, waiting)) = tokio::join!(time_after_the_queue(45), second);
    assert_eq!(first, Ok(()));
    // Its slot came at 45ms; 10ms more would end at 55ms, past 51ms.
    assert!(matches!(second, Err(AgentError::Timeout(_))));
    assert_eq!((at, waiting), (ms(51), 0));
}

#[tokio::test(start_paused = true)]
async fn bulkhead_over_timeout_starts_the_limit_with_the_slot() {
    let start = Instant::now();
    let second = async {
        sleep(ms(1)).await;
        let result = time_after_the_queue(45).await;
        (result, start.elapsed())
    };
    let (first, (second, at)) = tokio::join!(time_after_the_queue(45), second);
    // Queued 44ms, then 45ms under its own limit of 50ms.
    assert_eq!((first, second, at), (Ok(()), Ok(()), ms(90)));
}

#[fallback(default = "busy, try later")]
#[bulkhead(max = 1)]
async fn with_fallback(work: u64) -> Result<&'static str, AgentError> {
    sleep(ms(work)).await;
    Ok("answer")
}

#[tokio::test(start_paused = true)]
async fn fallback_over_bulkhead_replaces_a_rejection() {
    let (a, b) = tokio::join!(with_fallback(10), with_fallback(10));
    assert_eq!((a, b), (Ok("answer"), Ok("busy, try later")));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_queued_call_leaves_the_queue() {
    static POOL: Bulkhead = Bulkhead::new(1).with_queue(1);
    #[bulkhead(state = POOL)]
    async fn work(n: u64) -> Result<(), AgentError> {
        sleep(ms(n)).await;
        Ok(())
    }
    let waiter = async {
        sleep(ms(1)).await;
        tokio::time::timeout(ms(10), work(1)).await
    };
    let after = async {
        sleep(ms(20)).await;
        (POOL.waiting(), work(1).await)
    };
    let (first, cancelled, (waiting, queued_again)) = tokio::join!(work(100), waiter, after);
    assert_eq!(first, Ok(()));
    assert!(cancelled.is_err());
    // The cancelled call left the queue: the next one found a place.
    assert_eq!((waiting, queued_again), (0, Ok(())));
}

// --- Many tasks, many threads -------------------------------------------

static CROWD: Bulkhead = Bulkhead::new(4).with_name("crowd").with_queue(8);
static INSIDE: AtomicUsize = AtomicUsize::new(0);
static MOST_INSIDE: AtomicUsize = AtomicUsize::new(0);
static MOST_WAITING: AtomicUsize = AtomicUsize::new(0);

#[bulkhead(state = CROWD)]
async fn crowded(spin: u32) -> Result<(), AgentError> {
    let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_INSIDE.fetch_max(now, Ordering::SeqCst);
    MOST_WAITING.fetch_max(CROWD.waiting(), Ordering::SeqCst);
    assert!(CROWD.running() <= 4);
    for _ in 0..spin {
        tokio::task::yield_now().await;
    }
    INSIDE.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn never_more_than_max_inside_nor_queue_waiting() {
    let sampler_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = sampler_stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                MOST_WAITING.fetch_max(CROWD.waiting(), Ordering::SeqCst);
                assert!(CROWD.running() <= 4);
                tokio::task::yield_now().await;
            }
        })
    };
    let tasks: Vec<_> = (0..400).map(|i| tokio::spawn(crowded(1 + i % 7))).collect();
    let (mut ok, mut queue_full) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(AgentError::Rejected(rejected)) => {
                assert_eq!(
                    rejected.reason(),
                    RejectReason::QueueFull { max: 4, queue: 8 }
                );
                queue_full += 1;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    sampler_stop.store(true, Ordering::SeqCst);
    sampler.await.unwrap();
    assert_eq!(ok + queue_full, 400);
    assert!(ok >= 4, "{ok} calls ran");
    let most_inside = MOST_INSIDE.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&most_inside),
        "{most_inside} inside at once"
    );
    assert!(MOST_WAITING.load(Ordering::SeqCst) <= 8);
    assert_eq!(
        (
            CROWD.running(),
            CROWD.waiting(),
            INSIDE.load(Ordering::SeqCst)
        ),
        (0, 0, 0)
    );
}

// --- Size ----------------------------------------------------------------

static HAND_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);
static HAND_WAITING: AtomicUsize = AtomicUsize::new(0);

/// `#[bulkhead(max = 8, queue = 16, wait = "100ms")]` by hand: a free slot
/// at once, else a place in a bounded queue and a bounded wait.
async fn hand_bulkhead(work: u64) -> Result<u64, AgentError> {
    let _slot = match HAND_SLOTS.try_acquire() {
        Ok(slot) => slot,
        Err(_) => {
            if HAND_WAITING.fetch_add(1, Ordering::AcqRel) >= 16 {
                HAND_WAITING.fetch_sub(1, Ordering::AcqRel);
                return Err(AgentError::Failed);
            }
            let waited = tokio::time::timeout(ms(100), HAND_SLOTS.acquire()).await;
            HAND_WAITING.fetch_sub(1, Ordering::AcqRel);
            match waited {
                Ok(Ok(slot)) => slot,
                _ => return Err(AgentError::Failed),
            }
        }
    };
    sleep(ms(work)).await;
    Ok(work)
}

#[bulkhead(max = 8, queue = 16, wait = "100ms")]
async fn decorated_bulkhead(work: u64) -> Result<u64, AgentError> {
    sleep(ms(work)).await;
    Ok(work)
}

#[test]
fn a_bulkhead_future_is_no_larger_than_by_hand() {
    let ours = std::mem::size_of_val(&decorated_bulkhead(1));
    let hand = std::mem::size_of_val(&hand_bulkhead(1));
    assert!(ours <= hand, "ours {ours} bytes, by hand {hand}");
}
