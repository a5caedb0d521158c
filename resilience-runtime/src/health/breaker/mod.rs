//! The circuit breaker: an agent that keeps failing is not called for a
//! while, so its callers fail fast instead of waiting on it, and it gets
//! time to recover.
//!
//! A [`CircuitBreaker`] is **closed** (calls go through, their outcomes are
//! counted), **open** (calls are not made: they fail at once with
//! [`CircuitOpen`]) or **half-open** (the break is over: a bounded number of
//! trial calls go through; if they all succeed it closes, the first that
//! fails opens it again). By hand it can also be **isolated** (open until
//! [`reset`](CircuitBreaker::reset)).
//!
//! It opens in one of two modes ([`BreakerMode`]): after some failures in a
//! row, or when the share of failed calls over a sliding window reaches a
//! ratio with a minimum number of calls (Polly's defaults: see
//! [`BreakerPolicy`]). Every change of state is an event
//! ([`EventKind::CircuitOpened`], `CircuitHalfOpen`, `CircuitClosed`,
//! `CircuitIsolated`, `CircuitReset`);
//! refused calls are counted ([`BreakerStats::rejected`]), not reported one
//! by one.
//!
//! The breaker lives where you put it: a field of an agent (each agent
//! its own) or a `static` shared by many. `CircuitBreaker::new` is `const`
//! and checks the policy at compile time. `#[circuit_breaker(state = ..)]`
//! (in `resilience`) runs an `async fn` through one; [`call`](CircuitBreaker::call)
//! runs any call, and [`admit`](CircuitBreaker::admit) is the step-by-step form.
//!
//! # Cost
//!
//! The state is atomics, no lock. A successful call through a closed
//! breaker in the consecutive mode costs two loads of the state word (one
//! before, one after) and a compare, and reads no clock; the state word
//! holds the count of failures in a row, so a success after failures is
//! one compare-and-swap. The failure-ratio mode reads the clock once per
//! call and adds to its bucket. The open path reads the clock once.
//!
//! # What it writes, by hand
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::ErrorRef;
//! use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitOpen};
//!
//! #[derive(Debug)]
//! enum AgentError { Open(CircuitOpen), Model(String) }
//! impl From<CircuitOpen> for AgentError {
//!     fn from(e: CircuitOpen) -> Self { AgentError::Open(e) }
//! }
//!
//! static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
//!
//! async fn ask(prompt: &str) -> Result<String, AgentError> {
//!     let permit = BREAKER.admit("ask")?;
//!     let result: Result<String, AgentError> = Err(AgentError::Model(format!("{prompt}: overloaded")));
//!     match &result {
//!         Ok(_) => permit.succeeded(),
//!         Err(AgentError::Model(e)) => permit.failed(ErrorRef::Display(e)),
//!         Err(_) => permit.succeeded(), // not the agent's fault: `when` would refuse it
//!     }
//!     result
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert!(matches!(ask("a").await, Err(AgentError::Model(_))));
//! assert!(matches!(ask("b").await, Err(AgentError::Model(_))));
//! // Two failures in a row: the breaker is open, the agent is not called.
//! let Err(AgentError::Open(open)) = ask("c").await else { panic!() };
//! assert_eq!(open.remaining(), Some(Duration::from_secs(5)));
//! # }
//! ```
//!
//! # What differs from Polly
//!
//! - A call cancelled while it runs (its future dropped, e.g. by a
//!   `#[timeout]` above the breaker) counts as nothing; a trial call
//!   cancelled so gives its place to the next call, so the breaker never
//!   stays half-open for want of an outcome. A call that panics counts as a
//!   failure.
//! - An error that `when` refuses counts as a success (the agent answered),
//!   as in Polly; it also closes a half-open breaker.
//! - [`state`](CircuitBreaker::state) reports `HalfOpen` once the break is
//!   over, before the next call makes it so (as Polly's does).

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use core::time::Duration;
use policy::MAX_FAILURES;
use std::sync::{Mutex, PoisonError};

use crate::error_ref::ErrorRef;
use crate::events::{Event, EventKind, TripReason, emit};

mod error;
mod policy;
mod window;

pub use error::{BreakerPolicyError, CircuitOpen};
pub use policy::{BreakerMode, BreakerPolicy};

use window::Window;

/// The state of a circuit breaker.
///
/// # Examples
///
/// ```
/// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitState};
///
/// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(3));
/// assert_eq!(breaker.state(), CircuitState::Closed);
/// assert_eq!(CircuitState::HalfOpen.to_string(), "half-open");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CircuitState {
    /// Calls go through and their outcomes are counted.
    Closed,
    /// Calls fail fast with [`CircuitOpen`] until the break is over.
    Open,
    /// The break is over: trial calls go through, the others fail fast.
    HalfOpen,
    /// Opened by hand ([`CircuitBreaker::isolate`]): calls fail fast until
    /// [`CircuitBreaker::reset`].
    Isolated,
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
            Self::Isolated => "isolated",
        })
    }
}

/// What a breaker has counted, from [`CircuitBreaker::stats`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitState};
///
/// let stats = CircuitBreaker::new(BreakerPolicy::new()).stats();
/// assert_eq!((stats.state, stats.opened, stats.rejected), (CircuitState::Closed, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BreakerStats {
    /// The state, as [`CircuitBreaker::state`] reports it.
    pub state: CircuitState,
    /// The failures in a row so far (consecutive mode; 0 in the other).
    pub consecutive_failures: u32,
    /// The calls counted in the sliding window (failure-ratio mode; 0 in
    /// the other).
    pub window_calls: u32,
    /// The failed calls among them.
    pub window_failures: u32,
    /// The calls refused since the breaker was made.
    pub rejected: u64,
    /// The times it opened (from closed or half-open) since it was made.
    pub opened: u64,
}

// The state word: the generation in bits 2-31 (bits 0-1 are 0), which
// every change of phase increments, so that an outcome of a call let
// through in another generation is recognised and ignored, and the phase
// in bits 32-33. Closed, bit 34 is set in the failure-ratio mode
// ([`RATIO`]) and bits 35-63 count the failures in a row (consecutive
// mode); half-open, bits 34-48 count the trial calls let through and bits
// 49-63 those that succeeded. So a closed consecutive-mode breaker with no
// failure to forget has a state word of its generation alone, below
// 2^32: one load and one compare with a 32-bit ticket tell a call's
// success path that it has nothing to do.
const PHASE: u64 = 0b11 << 32;
const CLOSED: u64 = 0;
const OPEN: u64 = 1 << 32;
const HALF_OPEN: u64 = 2 << 32;
const ISOLATED: u64 = 3 << 32;
const ISSUED: u32 = 34;
const SUCCEEDED: u32 = 49;
const TRIALS: u64 = 0x7fff;
/// The generation's shift, and its 30 bits.
const GENERATION: u32 = 2;
const GENERATIONS: u32 = 0x3fff_ffff;
/// Closed: the failure-ratio mode.
const RATIO: u64 = 1 << 34;
/// Closed: the failures in a row, in bits 35-63.
const FAILURE: u32 = 35;
const FAILURES: u64 = (MAX_FAILURES as u64) << FAILURE;

// A ticket (what a permit knows of its call, [`Ticket::call`]; always
// below 2^32) is the state word that let the call through if that word was
// the generation alone (closed, consecutive mode, no failure in a row):
// the call's success has nothing to do while the state is still that
// word. Any other ticket is the generation with [`SLOW`] (bit 0, which no
// state word has), and [`TRIAL`] (bit 1) for a half-open trial call.
const SLOW: u64 = 1;
/// A half-open trial call's ticket.
const TRIAL: u64 = 1 << 1;

const fn word(phase: u64, generation: u32) -> u64 {
    (((generation & GENERATIONS) as u64) << GENERATION) | phase
}

const fn generation(word: u64) -> u32 {
    (word >> GENERATION) as u32 & GENERATIONS
}

/// The generation after that of `word` (30 bits, wrapping).
const fn next_generation(word: u64) -> u32 {
    generation(word).wrapping_add(1) & GENERATIONS
}

const fn issued(word: u64) -> u32 {
    ((word >> ISSUED) & TRIALS) as u32
}

const fn succeeded(word: u64) -> u32 {
    ((word >> SUCCEEDED) & TRIALS) as u32
}

/// The failures in a row of a closed state word.
const fn failures(word: u64) -> u32 {
    ((word & FAILURES) >> FAILURE) as u32
}

/// The closed state word of a breaker with `policy` in `generation`, no
/// failure counted.
const fn closed(policy: &BreakerPolicy, generation: u32) -> u64 {
    match policy.mode() {
        BreakerMode::Consecutive { .. } => word(CLOSED, generation),
        BreakerMode::FailureRatio { .. } => word(CLOSED, generation) | RATIO,
    }
}

/// The events' operation for what is done by hand.
const BY_HAND: &str = "circuit_breaker";

/// A circuit breaker: lock-free state shared by every call through it.
///
/// `new` is `const`, so a breaker can be a `static` (shared by many agents)
/// or a field (each agent its own); it is `Sync`. See the
/// [module docs](self) for the states and [`BreakerPolicy`] for the
/// defaults.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitState};
///
/// static SEARCH: CircuitBreaker = CircuitBreaker::new(
///     BreakerPolicy::consecutive(5).with_break(Duration::from_secs(30)),
/// )
/// .with_name("search");
///
/// struct Agent { breaker: CircuitBreaker }
/// let agent = Agent { breaker: CircuitBreaker::new(BreakerPolicy::new()) };
///
/// assert_eq!(SEARCH.state(), CircuitState::Closed);
/// assert_eq!(agent.breaker.state(), CircuitState::Closed);
/// ```
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    name: &'static str,
    state: AtomicU64,
    /// The end of the current break (nanoseconds on [`window::now`]'s
    /// clock), valid for the generation in `until_generation`.
    until: AtomicI64,
    until_generation: AtomicU32,
    /// Taken by whoever writes `until` and `until_generation`: an opening
    /// that stalled between its change of state and its write (while a
    /// reset and a newer opening came) must not publish its break over
    /// the newer one's, which would leave the breaker open for good.
    publishing: Mutex<()>,
    rejected: AtomicU64,
    opened: AtomicU64,
    /// The failure-ratio mode's sliding window.
    window: Window,
}

impl CircuitBreaker {
    /// A closed breaker with `policy`.
    ///
    /// # Panics
    ///
    /// If the policy cannot work (see [`BreakerPolicy::validate`]). In a
    /// `static` or `const` that is a compile error, which says what to fix;
    /// for a policy made at run time use [`try_new`](Self::try_new).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(3));
    /// assert_eq!(BREAKER.policy(), BreakerPolicy::consecutive(3));
    /// ```
    ///
    /// ```compile_fail
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// // error: evaluation panicked: circuit breaker: the failure ratio must be above 0 and at most 1
    /// static BREAKER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::failure_ratio(1.5));
    /// ```
    pub const fn new(policy: BreakerPolicy) -> Self {
        if let Err(error) = policy.validate() {
            error.fail();
        }
        Self {
            policy,
            name: "",
            state: AtomicU64::new(closed(&policy, 0)),
            until: AtomicI64::new(0),
            until_generation: AtomicU32::new(u32::MAX),
            publishing: Mutex::new(()),
            rejected: AtomicU64::new(0),
            opened: AtomicU64::new(0),
            window: Window::new(),
        }
    }

    /// A closed breaker with `policy`, checked first.
    ///
    /// # Errors
    ///
    /// The [`BreakerPolicyError`] of [`BreakerPolicy::validate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, BreakerPolicyError, CircuitBreaker};
    ///
    /// let threshold = 0; // read from a configuration file
    /// let result = CircuitBreaker::try_new(BreakerPolicy::consecutive(threshold));
    /// assert_eq!(result.unwrap_err(), BreakerPolicyError::NoFailures);
    /// ```
    pub fn try_new(policy: BreakerPolicy) -> Result<Self, BreakerPolicyError> {
        policy.validate()?;
        Ok(Self::new(policy))
    }

    /// Names the breaker, for its events and [`CircuitOpen`] errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// static SEARCH: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::new()).with_name("search");
    /// assert_eq!(SEARCH.name(), "search");
    /// ```
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The breaker's name (empty if it has none).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// assert_eq!(CircuitBreaker::new(BreakerPolicy::new()).name(), "");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The breaker's policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// assert_eq!(CircuitBreaker::new(BreakerPolicy::new()).policy().trials(), 1);
    /// ```
    pub const fn policy(&self) -> BreakerPolicy {
        self.policy
    }

    /// The state: `Open` while the break lasts, then `HalfOpen` (the next
    /// call is a trial) even before a call comes, as Polly reports it.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::new());
    /// breaker.isolate();
    /// assert_eq!(breaker.state(), CircuitState::Isolated);
    /// ```
    pub fn state(&self) -> CircuitState {
        let current = self.state.load(Ordering::Acquire);
        match current & PHASE {
            CLOSED => CircuitState::Closed,
            HALF_OPEN => CircuitState::HalfOpen,
            ISOLATED => CircuitState::Isolated,
            _ => match self.break_end(current) {
                Some(until) if window::now() >= until => CircuitState::HalfOpen,
                _ => CircuitState::Open,
            },
        }
    }

    /// What it has counted (see [`BreakerStats`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(3));
    /// assert_eq!(breaker.stats().consecutive_failures, 0);
    /// ```
    pub fn stats(&self) -> BreakerStats {
        let (window_calls, window_failures) = match self.policy.mode() {
            BreakerMode::FailureRatio { sampling, .. } => self
                .window
                .totals(window::now(), window::bucket_width(sampling)),
            BreakerMode::Consecutive { .. } => (0, 0),
        };
        let current = self.state.load(Ordering::Acquire);
        BreakerStats {
            state: self.state(),
            consecutive_failures: if current & PHASE == CLOSED {
                failures(current)
            } else {
                0
            },
            window_calls,
            window_failures,
            rejected: self.rejected.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
        }
    }

    /// Opens the breaker by hand until [`reset`](Self::reset): every call
    /// fails fast with a [`CircuitOpen`] in state `Isolated` (Polly's
    /// manual control). Emits [`EventKind::CircuitIsolated`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::new());
    /// breaker.isolate();
    /// let refused = breaker.admit("ask").unwrap_err();
    /// assert_eq!(refused.state(), CircuitState::Isolated);
    /// assert_eq!(refused.remaining(), None);
    /// ```
    pub fn isolate(&self) {
        self.transition_by_hand(ISOLATED);
        emit(&Event::new(
            self.event_name(),
            EventKind::CircuitIsolated { breaker: self.name },
        ));
    }

    /// Closes the breaker by hand and clears its counts, whatever its
    /// state (an isolated breaker included). Emits
    /// [`EventKind::CircuitReset`].
    ///
    /// Every change of state, this one included, starts a new generation,
    /// and the outcome of a call let through in an earlier one is ignored.
    /// Generations are counted in 30 bits: a call that is still running
    /// after 2^30 (about a billion) changes of its breaker's state, say
    /// under a loop calling `reset`, may count in the current one.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::new());
    /// breaker.isolate();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// assert!(breaker.admit("ask").is_ok());
    /// ```
    pub fn reset(&self) {
        self.clear_counts();
        self.transition_by_hand(CLOSED);
        emit(&Event::new(
            self.event_name(),
            EventKind::CircuitReset { breaker: self.name },
        ));
    }

    /// Runs `call()` through the breaker: if it is open the call is not
    /// made and the result is `Err(CircuitOpen.into())`; else the call's
    /// own result, counted (every error as a failure). Events are named
    /// after the breaker (`circuit_breaker` if it has none).
    ///
    /// # Errors
    ///
    /// [`CircuitOpen`], converted with `From`, or the call's own error.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker, CircuitOpen};
    ///
    /// #[derive(Debug, PartialEq, thiserror::Error)]
    /// enum AgentError {
    ///     #[error("not called")]
    ///     Open,
    ///     #[error("the model is down")]
    ///     Down,
    /// }
    /// impl From<CircuitOpen> for AgentError {
    ///     fn from(_: CircuitOpen) -> Self { AgentError::Open }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1)).with_name("model");
    /// let first: Result<(), AgentError> = breaker.call(|| async { Err(AgentError::Down) }).await;
    /// assert_eq!(first, Err(AgentError::Down));
    /// let second: Result<(), AgentError> = breaker.call(|| async { Ok(()) }).await;
    /// assert_eq!(second, Err(AgentError::Open)); // not called
    /// # }
    /// ```
    pub async fn call<T, E, F, Fut>(&self, call: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<CircuitOpen> + fmt::Display,
    {
        let permit = self.admit(self.event_name())?;
        let result = call().await;
        match &result {
            Ok(_) => permit.succeeded(),
            Err(error) => permit.failed(ErrorRef::Display(error)),
        }
        result
    }

    /// Asks to make one call of `operation` (the name its events and
    /// [`CircuitOpen`] give it): a permit, on which the call's outcome is
    /// then reported, or the error to return instead of calling. What
    /// `#[circuit_breaker]` and [`call`](Self::call) do.
    ///
    /// Closed, it costs one atomic load.
    ///
    /// # Errors
    ///
    /// [`CircuitOpen`] when the breaker is open, isolated, or half-open
    /// with all its trial calls let through already.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::ErrorRef;
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    /// let permit = breaker.admit("ask").unwrap();
    /// permit.failed(ErrorRef::Display(&"model overloaded"));
    /// assert!(breaker.admit("ask").is_err());
    /// ```
    #[inline]
    pub fn admit(&self, operation: &'static str) -> Result<BreakerPermit<'_>, CircuitOpen> {
        let current = self.state.load(Ordering::Acquire);
        if current >> 32 == 0 {
            // Closed, consecutive mode, no failure in a row: the state
            // word is the call's ticket as it is.
            return Ok(BreakerPermit {
                breaker: self,
                ticket: Ticket {
                    operation,
                    call: current,
                },
            });
        }
        if current & PHASE == CLOSED {
            // Closed with failures in a row or in the failure-ratio mode:
            // the outcome is always reported.
            return Ok(BreakerPermit {
                breaker: self,
                ticket: Ticket::new(operation, generation(current), false),
            });
        }
        self.admit_slow(current, operation)
    }

    #[cold]
    fn admit_slow(
        &self,
        mut current: u64,
        operation: &'static str,
    ) -> Result<BreakerPermit<'_>, CircuitOpen> {
        loop {
            let (next, trial) = match current & PHASE {
                CLOSED => (current, false),
                ISOLATED => return Err(self.refuse(operation, CircuitState::Isolated, None)),
                OPEN => {
                    let now = window::now();
                    match self.break_end(current) {
                        Some(until) if now >= until => {}
                        Some(until) => {
                            let left = Duration::from_nanos(until.abs_diff(now));
                            return Err(self.refuse(operation, CircuitState::Open, Some(left)));
                        }
                        // Opened a moment ago by another thread, which has
                        // not yet written when the break ends.
                        None => {
                            let left = self.policy.break_duration();
                            return Err(self.refuse(operation, CircuitState::Open, Some(left)));
                        }
                    }
                    // The break is over: half-open, with this call as the
                    // first trial.
                    let next = word(HALF_OPEN, next_generation(current)) | 1 << ISSUED;
                    (next, true)
                }
                _ => {
                    if issued(current) >= self.policy.trials() {
                        let zero = Some(Duration::ZERO);
                        return Err(self.refuse(operation, CircuitState::HalfOpen, zero));
                    }
                    (current + (1 << ISSUED), true)
                }
            };
            if next != current {
                if let Err(actual) = self.state.compare_exchange_weak(
                    current,
                    next,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    current = actual;
                    continue;
                }
                if current & PHASE == OPEN {
                    emit(&Event::new(
                        operation,
                        EventKind::CircuitHalfOpen {
                            breaker: self.name,
                            trials: self.policy.trials(),
                        },
                    ));
                }
            }
            return Ok(BreakerPermit {
                breaker: self,
                ticket: Ticket::new(operation, generation(next), trial),
            });
        }
    }

    fn refuse(
        &self,
        operation: &'static str,
        state: CircuitState,
        remaining: Option<Duration>,
    ) -> CircuitOpen {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        CircuitOpen::new(operation, self.name, state, remaining)
    }

    /// When the break of the open generation of `current` ends, if it is
    /// written yet.
    fn break_end(&self, current: u64) -> Option<i64> {
        let written = self.until_generation.load(Ordering::Acquire);
        (written == generation(current)).then(|| self.until.load(Ordering::Relaxed))
    }

    fn event_name(&self) -> &'static str {
        if self.name.is_empty() {
            BY_HAND
        } else {
            self.name
        }
    }

    /// Clears the sliding window (the failures in a row are in the
    /// closed state word: a new closed word has none).
    fn clear_counts(&self) {
        self.window.clear();
    }

    fn transition_by_hand(&self, phase: u64) {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let generation = next_generation(current);
            let next = if phase == CLOSED {
                closed(&self.policy, generation)
            } else {
                word(phase, generation)
            };
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Opens the breaker from `current` (closed or half-open), if it is
    /// still the state: the break starts now.
    fn open(&self, current: u64, operation: &str, reason: TripReason, error: ErrorRef<'_>) -> bool {
        let Some(generation) = self.open_state(current) else {
            return false;
        };
        self.publish_break(generation);
        let break_for = self.policy.break_duration();
        self.opened.fetch_add(1, Ordering::Relaxed);
        emit(&Event::new(
            operation,
            EventKind::CircuitOpened {
                breaker: self.name,
                reason,
                break_for,
                error,
            },
        ));
        true
    }

    /// The change of state of an opening from `current`: its generation,
    /// or `None` if `current` is no longer the state.
    fn open_state(&self, current: u64) -> Option<u32> {
        let generation = next_generation(current);
        self.state
            .compare_exchange(
                current,
                word(OPEN, generation),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .ok()
            .map(|_| generation)
    }

    /// Writes when the break of the opening of `generation` ends (a whole
    /// break from now), unless the state has moved on since: a newer
    /// opening publishes its own break, and an older one's must not
    /// overwrite it (the writers take turns, so the check holds).
    fn publish_break(&self, generation: u32) {
        let _turn = self
            .publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self::generation(self.state.load(Ordering::Acquire)) != generation {
            return;
        }
        let until = window::now().saturating_add(window::nanos(self.policy.break_duration()));
        self.until.store(until, Ordering::Relaxed);
        self.until_generation.store(generation, Ordering::Release);
    }

    /// Takes the ticket's words as scalars (in registers): a `Ticket`
    /// argument would be copied to the stack on the inlined path too.
    #[inline(never)]
    fn succeeded(&self, operation: &'static str, call: u64) {
        let ticket = Ticket { operation, call };
        if !ticket.trial() {
            match self.policy.mode() {
                BreakerMode::Consecutive { .. } => {
                    // Forget the failures in a row, if the closed
                    // generation that let the call through is the state.
                    let mut current = self.state.load(Ordering::Acquire);
                    while current & PHASE == CLOSED
                        && generation(current) == ticket.generation()
                        && current & FAILURES != 0
                    {
                        match self.state.compare_exchange_weak(
                            current,
                            current & !FAILURES,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        ) {
                            Ok(_) => return,
                            Err(actual) => current = actual,
                        }
                    }
                }
                BreakerMode::FailureRatio { sampling, .. } => {
                    if self.is_current(ticket) {
                        let width = window::bucket_width(sampling);
                        self.window.record(false, window::now(), width);
                    }
                }
            }
            return;
        }
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current & PHASE != HALF_OPEN || generation(current) != ticket.generation() {
                return;
            }
            let trials = self.policy.trials();
            let closes = succeeded(current) + 1 >= trials;
            let next = if closes {
                // Nothing counts while half-open: clearing first is safe.
                self.clear_counts();
                closed(&self.policy, next_generation(current))
            } else {
                current + (1 << SUCCEEDED)
            };
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if closes {
                        emit(&Event::new(
                            ticket.operation,
                            EventKind::CircuitClosed {
                                breaker: self.name,
                                trials,
                            },
                        ));
                    }
                    return;
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn failed(&self, ticket: Ticket, error: ErrorRef<'_>) {
        let operation = ticket.operation;
        if ticket.trial() {
            let mut current = self.state.load(Ordering::Acquire);
            while current & PHASE == HALF_OPEN && generation(current) == ticket.generation() {
                if self.open(current, operation, TripReason::TrialFailed, error) {
                    return;
                }
                current = self.state.load(Ordering::Acquire);
            }
            return;
        }
        let mut current = self.state.load(Ordering::Acquire);
        if current & PHASE != CLOSED || generation(current) != ticket.generation() {
            return;
        }
        let reason = match self.policy.mode() {
            BreakerMode::Consecutive {
                failures: threshold,
            } => loop {
                // One more failure in a row in the state word, or open.
                let count = failures(current) + 1;
                if count >= threshold {
                    if self.open(
                        current,
                        operation,
                        TripReason::ConsecutiveFailures { failures: count },
                        error,
                    ) {
                        return;
                    }
                    current = self.state.load(Ordering::Acquire);
                } else if let Err(actual) = self.state.compare_exchange_weak(
                    current,
                    current + (1 << FAILURE),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    current = actual;
                } else {
                    return;
                }
                if current & PHASE != CLOSED || generation(current) != ticket.generation() {
                    return;
                }
            },
            BreakerMode::FailureRatio {
                ratio,
                min_throughput,
                sampling,
            } => {
                let (now, width) = (window::now(), window::bucket_width(sampling));
                self.window.record(true, now, width);
                let (calls, failures) = self.window.totals(now, width);
                let tripped =
                    calls >= min_throughput && f64::from(failures) >= ratio * f64::from(calls);
                tripped.then_some(TripReason::FailureRatio {
                    failures,
                    calls,
                    sampling,
                })
            }
        };
        if let Some(reason) = reason {
            self.open(current, operation, reason, error);
        }
    }

    /// A trial call ended with no outcome (cancelled): its place goes to
    /// the next call.
    fn cancelled(&self, ticket: Ticket) {
        if !ticket.trial() {
            return;
        }
        let mut current = self.state.load(Ordering::Acquire);
        while current & PHASE == HALF_OPEN
            && generation(current) == ticket.generation()
            && issued(current) > succeeded(current)
        {
            match self.state.compare_exchange_weak(
                current,
                current - (1 << ISSUED),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether the closed generation that let `permit` through is still
    /// the state.
    fn is_current(&self, ticket: Ticket) -> bool {
        let current = self.state.load(Ordering::Acquire);
        current & PHASE == CLOSED && generation(current) == ticket.generation()
    }
}

/// Leave to make one call through a [`CircuitBreaker`], from
/// [`CircuitBreaker::admit`]; report the call's outcome on it with
/// [`succeeded`](Self::succeeded) or [`failed`](Self::failed).
///
/// Dropped without an outcome, the call counts as cancelled (nothing is
/// counted, and a trial call's place goes to the next call), or, if the
/// thread is panicking, as failed.
///
/// # Examples
///
/// ```
/// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
///
/// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
/// let permit = breaker.admit("ask").unwrap();
/// assert!(!permit.is_trial());
/// permit.succeeded();
/// ```
#[derive(Debug)]
#[must_use = "report the call's outcome with `succeeded` or `failed`"]
pub struct BreakerPermit<'a> {
    breaker: &'a CircuitBreaker,
    ticket: Ticket,
}

/// What a permit knows of its call: passed by value to the breaker's
/// outcome paths, so that the permit itself never has to be in memory on
/// the inlined success path.
///
/// Every field is a whole word: a permit is copied into and out of the
/// caller's future, and copies of mixed-size fields defeat store
/// forwarding (a measured 10 ns a call).
#[derive(Clone, Copy, Debug)]
struct Ticket {
    operation: &'static str,
    /// The generation that let the call through in bits 2-31, as in the
    /// state word, and in bits 0-1 nothing (the state word as it was: a
    /// success has nothing to do while it still is) or [`SLOW`], with
    /// [`TRIAL`] for a half-open trial call; never 2^32 or above.
    call: u64,
}

impl Ticket {
    /// A ticket of the slow kind: the call's outcome is always reported
    /// to the breaker.
    #[inline]
    const fn new(operation: &'static str, generation: u32, trial: bool) -> Self {
        let trial = if trial { TRIAL } else { 0 };
        Self {
            operation,
            call: word(CLOSED, generation) | SLOW | trial,
        }
    }

    /// The generation that let the call through.
    #[inline]
    const fn generation(self) -> u32 {
        generation(self.call)
    }

    /// Whether it is a half-open trial call.
    #[inline]
    const fn trial(self) -> bool {
        self.call & TRIAL != 0
    }
}

impl BreakerPermit<'_> {
    /// Whether the call is a trial call of a half-open breaker.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::new());
    /// assert!(!breaker.admit("ask").unwrap().is_trial());
    /// ```
    pub fn is_trial(&self) -> bool {
        self.ticket.trial()
    }

    /// The call succeeded (or failed with an error that does not count).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    /// breaker.admit("ask").unwrap().succeeded();
    /// assert_eq!(breaker.stats().consecutive_failures, 0);
    /// ```
    #[inline]
    pub fn succeeded(self) {
        // Consumed: no `Drop`, which would count a cancelled call.
        let permit = ManuallyDrop::new(self);
        let (breaker, ticket) = (permit.breaker, permit.ticket);
        // The closed success path, inlined: a state word that is still the
        // ticket (closed, the same generation, consecutive mode, no
        // failure in a row) has nothing to forget. A stale load only
        // orders this success before the change it misses.
        if breaker.state.load(Ordering::Relaxed) == ticket.call {
            return;
        }
        breaker.succeeded(ticket.operation, ticket.call);
    }

    /// The call failed with `error` (shown in the event if it opens the
    /// breaker).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::ErrorRef;
    /// use resilience_runtime::breaker::{BreakerPolicy, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    /// breaker.admit("ask").unwrap().failed(ErrorRef::Display(&"overloaded"));
    /// assert_eq!(breaker.stats().consecutive_failures, 1);
    /// ```
    pub fn failed(self, error: ErrorRef<'_>) {
        let permit = ManuallyDrop::new(self);
        permit.breaker.failed(permit.ticket, error);
    }
}

/// The name of the operation a [`BreakerGuard`] reports, as a type, so
/// that the guard does not store it.
#[doc(hidden)]
pub trait BreakerOperation {
    /// The operation's name.
    const NAME: &'static str;
}

/// A `static` breaker, as a type: what `#[circuit_breaker(state = PATH)]`
/// implements (on its [`BreakerOperation`] type) for a `PATH` in
/// `SCREAMING_CASE`, so that its guard need not store the breaker's
/// address.
#[doc(hidden)]
pub trait StaticBreaker {
    /// The breaker.
    fn breaker() -> &'static CircuitBreaker;
}

/// Where a [`BreakerGuard`] finds its breaker: a reference it stores, or,
/// for a `static` breaker, the type [`Static`], which stores nothing.
#[doc(hidden)]
pub trait BreakerPlace<'a>: Copy {
    /// The breaker.
    fn breaker(self) -> &'a CircuitBreaker;
}

impl<'a> BreakerPlace<'a> for &'a CircuitBreaker {
    #[inline]
    fn breaker(self) -> &'a CircuitBreaker {
        self
    }
}

/// The [`BreakerPlace`] of the `static` breaker `S` names.
#[doc(hidden)]
#[derive(Debug)]
pub struct Static<S>(PhantomData<S>);

impl<S> Static<S> {
    /// The place.
    #[inline]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<S> Default for Static<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Clone for Static<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Static<S> {}

impl<S: StaticBreaker> BreakerPlace<'static> for Static<S> {
    #[inline]
    fn breaker(self) -> &'static CircuitBreaker {
        S::breaker()
    }
}

/// What `#[circuit_breaker]` holds across its call: a [`BreakerPermit`]
/// as the breaker's address and a four-byte ticket (the operation's name
/// is the type `O`), or as the ticket alone for a `static` breaker (its
/// address is the type `P`), from which the permit is taken once the call
/// has returned, and given the call's outcome.
/// Dropped before that it counts as the permit does: cancelled, or failed
/// if the thread is panicking.
///
/// It is taken by `&mut`, not moved: a guard moved after the call needs a
/// drop flag in the caller's future (three stores a call); taken, its
/// `Drop` right after sees the mark just written, and is compiled out.
#[doc(hidden)]
#[derive(Debug)]
pub struct BreakerGuard<'a, O: BreakerOperation, P: BreakerPlace<'a> = &'a CircuitBreaker> {
    place: P,
    /// The ticket's `call` (below 2^32: four bytes in the caller's
    /// future, not eight), or [`TAKEN`].
    call: u32,
    operation: PhantomData<(&'a CircuitBreaker, O)>,
}

/// A guard's `call` once its permit is taken: no ticket ([`TRIAL`]
/// without [`SLOW`]).
const TAKEN: u32 = TRIAL as u32;

impl<'a, O: BreakerOperation, P: BreakerPlace<'a>> BreakerGuard<'a, O, P> {
    /// [`CircuitBreaker::admit`] on the breaker at `place`, as a guard.
    #[inline]
    pub(crate) fn admit(place: P) -> Result<Self, CircuitOpen> {
        let permit = ManuallyDrop::new(place.breaker().admit(O::NAME)?);
        Ok(Self {
            place,
            // Below 2^32: see `Ticket::call`.
            call: permit.ticket.call as u32,
            operation: PhantomData,
        })
    }

    /// The permit, to report the call's outcome on; the guard is then
    /// inert.
    #[inline]
    pub fn take(&mut self) -> BreakerPermit<'a> {
        BreakerPermit {
            breaker: self.place.breaker(),
            ticket: Ticket {
                operation: O::NAME,
                call: u64::from(core::mem::replace(&mut self.call, TAKEN)),
            },
        }
    }
}

impl<'a, O: BreakerOperation, P: BreakerPlace<'a>> Drop for BreakerGuard<'a, O, P> {
    #[inline]
    fn drop(&mut self) {
        if self.call != TAKEN {
            // The permit's `Drop`: cancelled, or failed if panicking.
            drop(self.take());
        }
    }
}

/// Runs only for a permit whose outcome was not reported.
impl Drop for BreakerPermit<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.breaker
                .failed(self.ticket, ErrorRef::Display(&"the call panicked"));
        } else {
            self.breaker.cancelled(self.ticket);
        }
    }
}

#[cfg(test)]
mod tests;
