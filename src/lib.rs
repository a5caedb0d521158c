//! Declarative, compile-time checked fault tolerance for async Rust, above all
//! for multi-agent (LLM agent) systems.
//!
//! Annotate an `async fn` that returns `Result<T, E>`:
//!
//! ```
//! use resilience::{fallback, retry, timeout};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error(transparent)]
//!     Timeout(#[from] resilience::Elapsed),
//!     #[error("model refused: {0}")]
//!     Refused(String),
//! }
//!
//! #[fallback(default = String::from("I don't know"))]
//! #[retry(attempts = 3, backoff = exponential, delay = "100ms", max_delay = "10s", jitter)]
//! #[timeout(seconds = 30)]
//! async fn ask(prompt: &str) -> Result<String, AgentError> {
//!     if prompt.is_empty() {
//!         return Err(AgentError::Refused("empty prompt".into()));
//!     }
//!     Ok(format!("answer to {prompt}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(ask("2 + 2").await.unwrap(), "answer to 2 + 2");
//! assert_eq!(ask("").await.unwrap(), "I don't know");
//! # }
//! ```
//!
//! At compile time the attributes expand into plain Rust: a loop for
//! `#[retry]`, a `tokio::time::timeout` for `#[timeout]`, a `match` for
//! `#[fallback]`. Nothing is interpreted at run time, and misuse (an unknown
//! key, `attempts = 0`, a malformed duration, a fn that is not `async` or
//! does not return `Result`) is a compile error at your own token.
//!
//! # The attributes
//!
//! ## `#[retry(...)]`
//!
//! All keys are optional:
//!
//! | key | value | default |
//! |---|---|---|
//! | `attempts` | integer ≥ 1: total calls, the first included | 3 |
//! | `backoff` | `constant`, `linear`, `exponential` (an ident or a string) | `exponential` |
//! | `delay` | the first delay (a duration) | `"100ms"` |
//! | `factor` | exponential growth factor (a number > 1) | 2.0 |
//! | `max_delay` | cap on any single delay | none |
//! | `jitter` | bare `jitter` (= full), or `full`, `equal`, `decorrelated`, `none` | none |
//! | `max_elapsed` | give up once this long has passed since the first call | none |
//! | `when` | path to `fn(&E) -> bool`, or a closure: only errors it accepts are retried | all errors |
//! | `retry_after` | path to `fn(&E) -> Option<Duration>`, or a closure: a delay the error asks for overrides the backoff | none |
//! | `retry_after_jitter` | `"10%"` (up to 10% more, at most `"100%"`) or a duration (`"250ms"`: up to that much more) added at random to a `retry_after` delay, never taken from it | none |
//!
//! The delay before retry n (n = 1, 2, …) without jitter is `delay` (constant),
//! `delay × n` (linear) or `delay × factor^(n-1)` (exponential), capped by
//! `max_delay`. When every attempt fails the fn returns the last error
//! unchanged. `max_elapsed` is checked after each failed attempt (it costs
//! one clock read per call); a `retry_after` delay is used as given (not
//! capped by `max_delay`), unless it would end past `max_elapsed`: then the
//! call gives up at once. `retry_after_jitter` spreads clients that a server
//! told the same delay (200 concurrent calls told "1 s" otherwise return
//! within the same few milliseconds): each waits the delay plus a random
//! extra, drawn from [`random`] (seedable). `jitter` applies to the
//! backoff's own delays only.
//!
//! Each attempt gets its own clone of every argument taken by value
//! (`self: Arc<Self>` included); references are reused, so `&self` and
//! `&mut self` methods work: the attempts run in a loop inside the fn, not in
//! a closure. An argument that is not `Clone` is a compile error: borrow it.
//! A destructured argument (`(a, b): (u32, u32)`) is bound inside each
//! attempt only, so a `#[fallback]` or `when` above the `#[retry]` cannot name
//! `a` or `b`.
//!
//! ## `#[timeout(...)]`
//!
//! `#[timeout("30s")]`, `#[timeout(30)]`, `#[timeout(seconds = 30)]` or
//! `#[timeout(ms = 500)]`. When time runs out the fn returns
//! `Err(Elapsed.into())`, so its error type implements `From<Elapsed>`.
//!
//! ## `#[fallback(...)]`
//!
//! `default = EXPR` turns a final `Err` into `Ok(EXPR)`, evaluating `EXPR` only
//! then. `with = PATH` calls `PATH(err).await`, an async fn with the decorated
//! fn's own return type (a fallback agent). `when = PATH` limits either form to
//! the errors it accepts; others are returned unchanged.
//!
//! ## `#[escalate(...)]`
//!
//! Progressive retry: the fn runs once per tier of a list, in order, each
//! run under that tier's own time limit ([`Tier::time_limit`]), until one
//! succeeds. One parameter, marked `#[tier]`, receives the tier (a
//! reference); it is taken out of the signature, so callers do not pass it.
//!
//! | key | value | default |
//! |---|---|---|
//! | `tiers` | the list: a path to a `const` or `static` array, slice or `Vec` of your tier type (or any expression of such a type, e.g. another argument) | required |
//! | `when` | path to `fn(&E) -> bool`, or a closure: only errors it accepts escalate to the next tier; others stop at once | all errors |
//!
//! A tier that runs out of time or panics is that tier's failure and always
//! escalates. When no tier succeeds (or `when` refuses an error) the fn
//! returns `Err(EscalationError<E>.into())`, so its error type implements
//! `From<EscalationError<E>>`; the [`EscalationError`] carries every tier's
//! failure in order. An empty list, or a tier whose limit is zero, is
//! [`EscalationError::Config`] and nothing runs. Each escalation and the
//! give-up emit the events of the runtime's [`escalate()`] fn, named after
//! the decorated fn.
//!
//! ```
//! use std::time::Duration;
//! use resilience::{EscalationError, Tier, escalate};
//!
//! struct Strategy { agents: usize, limit: Duration, model: &'static str }
//!
//! impl Tier for Strategy {
//!     fn time_limit(&self) -> Duration { self.limit }
//! }
//!
//! const STRATEGIES: [Strategy; 3] = [
//!     Strategy { agents: 1, limit: Duration::from_secs(30), model: "small" },
//!     Strategy { agents: 3, limit: Duration::from_secs(60), model: "medium" },
//!     Strategy { agents: 5, limit: Duration::from_secs(120), model: "large" },
//! ];
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error("too hard for the {0} model")]
//!     TooHard(&'static str),
//!     #[error("refused by the content policy")]
//!     Refused,
//!     #[error(transparent)]
//!     Escalation(#[from] EscalationError<AgentError>),
//! }
//!
//! fn is_transient(error: &AgentError) -> bool {
//!     !matches!(error, AgentError::Refused) // a refusal does not buy a bigger model
//! }
//!
//! struct Team;
//!
//! impl Team {
//!     #[escalate(tiers = STRATEGIES, when = is_transient)]
//!     async fn solve(&self, task: &str, #[tier] strategy: &Strategy) -> Result<String, AgentError> {
//!         if strategy.agents < 3 {
//!             return Err(AgentError::TooHard(strategy.model));
//!         }
//!         Ok(format!("{task}: solved by {} {} agents", strategy.agents, strategy.model))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let answer = Team.solve("prove the lemma").await.unwrap(); // no tier argument
//! assert_eq!(answer, "prove the lemma: solved by 3 medium agents");
//! # }
//! ```
//!
//! The tiers run in a loop inside the fn, so `&mut self` methods work, and
//! owned arguments are cloned for each tier as for `#[retry]`. Stacked,
//! `#[escalate] #[retry]` retries within each tier (under the tier's
//! limit); `#[retry] #[escalate]` retries the whole escalation;
//! `#[escalate] #[timeout]` bounds each tier's call inside its limit (that
//! time-out is the tier's error, which `when` sees); `#[timeout]
//! #[escalate]` bounds all the tiers together. `use resilience::escalate`
//! brings both the attribute and the [`escalate()`] fn (for a cleanup after
//! each failed tier, use [`Escalation::run_with`]). Not on a workflow step,
//! nor on a method already rewritten by `#[async_trait]` (native `async fn`
//! in traits work).
//!
//! ## `#[rate_limit(...)]`
//!
//! A client-side rate limit: the call waits for a permit before it runs.
//!
//! | key | value | default |
//! |---|---|---|
//! | `per_second`, `per_minute`, `per_hour` | integer ≥ 1: calls per period, evenly spaced (one of them) | required, unless `state` |
//! | `burst` | integer ≥ 1: calls allowed at once after a quiet spell | the count per period |
//! | `state` | a [`RateLimiter`] shared with other fns: a `static`, or a field such as `self.limiter` (also `Arc<RateLimiter>`); its [`RateLimit`] sets the rate | a hidden limiter per fn |
//! | `wait` | `false`: refuse at once when no permit is free | `true` |
//! | `max_wait` | refuse when the next permit is further away than this duration | wait as long as it takes |
//!
//! A refused call does not run: the fn returns `Err(RateLimited.into())`, so
//! with `wait = false` or `max_wait` its error type implements
//! `From<`[`RateLimited`]`>` (a compile error at the error type otherwise);
//! a fn that waits needs nothing of its error type. The limiter is GCRA on
//! tokio's clock, lock-free: each call reserves the next slot and sleeps
//! until it, so waiting calls run in the order they came, and a waiting call
//! that is cancelled (a `#[timeout]` above) gives its slot back. Waits and
//! refusals emit [`EventKind::RateLimitWait`] and
//! [`EventKind::RateLimitRejected`]. See [`rate_limit`](mod@rate_limit) for
//! why it is not `governor` (whose waiting does not follow tokio's clock).
//!
//! ```
//! use std::time::Duration;
//! use resilience::{RateLimit, RateLimited, RateLimiter, rate_limit, retry};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum ApiError {
//!     #[error("model overloaded")]
//!     Overloaded,
//!     #[error(transparent)]
//!     RateLimited(#[from] RateLimited),
//! }
//!
//! // Every fn that names it shares the provider's 500 requests a minute.
//! static OPENAI: RateLimiter = RateLimiter::new(RateLimit::per_minute(500).with_burst(10));
//!
//! #[rate_limit(state = OPENAI)]
//! async fn embed(text: &str) -> Result<Vec<f32>, ApiError> {
//!     Ok(vec![text.len() as f32])
//! }
//!
//! // Each attempt takes a permit; one that would wait more than 2s is refused,
//! // and the retry waits as long as the refusal says.
//! #[retry(attempts = 3, retry_after = |e: &ApiError| match e {
//!     ApiError::RateLimited(refused) => Some(refused.retry_in()),
//!     _ => None,
//! })]
//! #[rate_limit(state = OPENAI, max_wait = "2s")]
//! async fn complete(prompt: &str) -> Result<String, ApiError> {
//!     if prompt.is_empty() { return Err(ApiError::Overloaded); }
//!     Ok(format!("answer to {prompt}"))
//! }
//!
//! // A limit of this fn's own: 10 a second, 20 at once.
//! #[rate_limit(per_second = 10, burst = 20)]
//! async fn search(query: &str) -> Result<String, ApiError> {
//!     Ok(query.to_uppercase())
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = tokio::time::Instant::now();
//! for _ in 0..11 {
//!     embed("hi").await.unwrap(); // the burst of 10, then one every 120ms
//! }
//! assert_eq!(start.elapsed(), Duration::from_millis(120));
//! assert_eq!(complete("2 + 2").await.unwrap(), "answer to 2 + 2");
//! assert_eq!(search("rust").await.unwrap(), "RUST");
//! # }
//! ```
//!
//! Stacked, it follows the written order like the others: `#[retry]
//! #[rate_limit]` takes a permit for every attempt (what an API's limit
//! counts); `#[rate_limit] #[retry]` one for the whole call; `#[timeout]
//! #[rate_limit]` counts the wait against the time limit; `#[fallback]`
//! above catches a refusal. A limiter's state follows one clock: in tests
//! on tokio's paused clock, give each test its own limiter (its own fn, or
//! a field) rather than a `static` that several tests' runtimes share.
//!
//! ## Server delays: `server_delay` (the `http` feature)
//!
//! A 429 or 503 from an LLM API carries the delay to wait in
//! `retry-after-ms` or `Retry-After` (seconds or an HTTP date).
//! `server_delay::from_headers(response.headers())` reads it from an
//! `http::HeaderMap` (reqwest's is `http`'s): milliseconds first, junk
//! ignored, capped at one day, never a panic. Read it *before*
//! `error_for_status()`, which consumes the response, and keep it in your
//! error for `retry_after`:
//!
//! ```ignore
//! let response = client.post(url).json(&body).send().await?;
//! let retry_after = resilience::server_delay::from_headers(response.headers());
//! let response = response
//!     .error_for_status()
//!     .map_err(|source| ApiError::Status { source, retry_after })?;
//! ```
//!
//! with `#[retry(retry_after = ApiError::retry_after, retry_after_jitter =
//! "10%")]` on the fn. `tests/server_delay.rs` runs this against a stand-in
//! with reqwest's shape (`cargo test --features http --test server_delay`).
//!
//! ## Closures: `with`, `when`, `retry_after`
//!
//! Where a key takes a path, it also takes a closure, called in the fn's body
//! with the same argument: it can use the fn's arguments and `self`.
//! `with = |e| self.backup(e)` is how a method of `self` becomes the fallback
//! (`with = Self::backup` is refused: `with` calls its path with the error
//! alone, and a method also takes `self`). It works on `&self` and
//! `&mut self` alike, since the fallback runs after the call, not beside it.
//!
//! ```
//! use std::time::Duration;
//! use resilience::{fallback, retry};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("busy, retry in {retry_in_ms}ms")]
//! struct Busy {
//!     retry_in_ms: u64,
//! }
//!
//! struct Agent {
//!     limit_ms: u64,
//! }
//!
//! impl Agent {
//!     async fn cached(&self, _error: Busy) -> Result<String, Busy> {
//!         Ok("from the cache".into())
//!     }
//!
//!     #[fallback(with = |e| self.cached(e))]
//!     #[retry(
//!         attempts = 2,
//!         when = |e: &Busy| e.retry_in_ms <= self.limit_ms,
//!         retry_after = |e: &Busy| Some(Duration::from_millis(e.retry_in_ms)),
//!     )]
//!     async fn ask(&self) -> Result<String, Busy> {
//!         Err(Busy { retry_in_ms: 1 })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let agent = Agent { limit_ms: 10 };
//! assert_eq!(agent.ask().await.unwrap(), "from the cache");
//! # }
//! ```
//!
//! ## Durations
//!
//! A string with units (`"250ms"`, `"1.5s"`, `"30s"`, `"2m"`, `"1h"`, `"1h30m"`,
//! also `ns` and `us`) or a bare number of seconds (`30`, `1.5`). A malformed
//! or zero duration is a compile error at the literal.
//!
//! ## Stacking
//!
//! The topmost attribute is the outermost layer. `#[retry] #[timeout]` gives
//! each attempt its own time limit; `#[timeout] #[retry]` bounds all attempts
//! together; `#[fallback]` above both catches what is left. `#[escalate]`
//! stacks the same way: what is below it runs once per tier.
//! `#[self_healing]` above `#[retry]` counts calls, below it attempts; a
//! `#[fallback]` above it still counts the failure, below it hides it.
//! `#[agent]` and `#[compensate]` apply to the whole call wherever they are
//! written.
//!
//! # Sagas: `#[compensate]` and [`saga()`]
//!
//! `#[compensate(with = PATH)]` marks an `async fn` whose success must be
//! undone if a later step fails. Inside a [`saga()`] scope, a successful call
//! registers `PATH(output)`, where `output` is a clone of the `Ok` value (so
//! the output type is `Clone`; return an id or a handle). If the scope fails,
//! the registered compensations run in reverse order; each failure is
//! recorded and the others still run. Outside a saga `#[compensate]` does
//! nothing (not even the clone). A compensation may carry its own `#[retry]`
//! and `#[timeout]`. It runs later, possibly on another task after a
//! cancellation, so it is `Send + 'static`: a path to an async fn, or a
//! closure that captures nothing borrowed.
//!
//! ```
//! use resilience::{compensate, saga};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("cloud error: {0}")]
//! struct CloudError(&'static str);
//!
//! async fn delete_vm(id: u32) -> Result<(), CloudError> {
//!     println!("deleting vm {id}");
//!     Ok(())
//! }
//!
//! #[compensate(with = delete_vm)]
//! async fn create_vm() -> Result<u32, CloudError> {
//!     Ok(42)
//! }
//!
//! async fn attach_disk(_vm: u32) -> Result<(), CloudError> {
//!     Err(CloudError("no disk left"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let err = saga(async {
//!     let vm = create_vm().await?;
//!     attach_disk(vm).await
//! })
//! .await
//! .unwrap_err();
//! assert_eq!(err.to_string(), "saga failed: cloud error: no disk left; undone: `create_vm` (ok)");
//! # }
//! ```
//!
//! If the saga future is dropped half-way (an outer timeout, a `select!`),
//! the completed steps are still compensated, on a task of the current tokio
//! runtime. A panic in a step counts as that step's failure: the saga
//! compensates, then reports [`Failure::Panic`]. See the [`saga`](mod@saga)
//! module for nested sagas and steps in spawned tasks.
//!
//! # Workflows: `workflow!`
//!
//! `workflow!` declares a named workflow with typed inputs and output, made of
//! ordered, named steps. Each step has a typed output and an async expression
//! that evaluates to `Result<StepType, E2>` (with `E: From<E2>`; when nothing
//! names `E2`, as in `async { let v = call().await?; Ok(v) }.await`, it is
//! `E`, so `?` converts into the workflow's error); it can use
//! the inputs and the outputs of the steps before it by name, as shared
//! references. A step can carry `#[retry]`, `#[timeout]`, `#[fallback]` and
//! `#[compensate]`, with the same keys and checks as on a fn. The block ends
//! with the workflow's output expression, which sees every input and output
//! by value.
//!
//! ```
//! use resilience::workflow;
//!
//! #[derive(Debug, thiserror::Error)]
//! enum ApiError {
//!     #[error("the API is busy")]
//!     Busy,
//!     #[error(transparent)]
//!     Timeout(#[from] resilience::Elapsed),
//! }
//!
//! #[derive(Clone)]
//! struct Api;
//!
//! impl Api {
//!     async fn create_resource(&self, name: &str) -> Result<u32, ApiError> { Ok(name.len() as u32) }
//!     async fn delete_resource(&self, id: u32) -> Result<(), ApiError> { Ok(()) }
//!     async fn configure_resource(&self, id: &u32) -> Result<String, ApiError> { Err(ApiError::Busy) }
//! }
//!
//! workflow! {
//!     /// Create a resource, then configure it; delete it again if configuring fails.
//!     pub workflow Provision(api: Api, name: String) -> Result<String, ApiError> {
//!         #[retry(attempts = 3)]
//!         #[timeout("30s")]
//!         #[compensate(with = { let api = api.clone(); move |id| async move { api.delete_resource(id).await } })]
//!         step create: u32 = api.create_resource(name).await;
//!
//!         #[timeout("10s")]
//!         step configure: String = api.configure_resource(create).await;
//!
//!         configure
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! assert_eq!(Provision::STEPS, ["create", "configure"]);
//! let err = Provision::new(Api, "db".into()).run().await.unwrap_err();
//! assert_eq!(err.failed_step(), Some("configure"));
//! assert_eq!(err.to_string(), "step `configure` failed: the API is busy; undone: `create` (ok)");
//! println!("{}", Provision::diagram()); // Mermaid
//! # }
//! ```
//!
//! The progress is an explicit state: an enum `ProvisionState` (`Start`,
//! `AfterCreate { create }`, `AfterConfigure { create, configure }`) whose
//! variants hold the outputs so far, and `Provision::resume(inputs.., state)`
//! continues from a state without running the completed steps again.
//! `STEPS`, `state().completed()`, `state().next_step()` and `diagram()`
//! (Mermaid text: the steps, the policies on each, the compensation edges)
//! make it inspectable. A fresh `run` (from `Start`, in memory; except a
//! workflow with a compensated parallel step, see below) does not
//! build the state at all: it expands to the steps as a line of awaits,
//! what one writes by hand, with the error path out of line; the run's
//! future is no larger than the hand-written one for a workflow without
//! `#[compensate]` (see the `workflow` bench). A resumed run goes through
//! the state machine.
//!
//! If a step fails or panics, the completed steps that carry `#[compensate]`
//! are undone in reverse order and `run` returns a [`SagaError`] naming the
//! failed step, the completed ones and each compensation's outcome. The
//! compensation gets the step's output by value.
//!
//! **A panic with nothing to undo.** In an in-memory workflow where no step
//! carries `#[compensate]`, a panic in a step is not caught: it unwinds out
//! of `run` (fresh or resumed) as it would out of the same awaits written by
//! hand, with its own payload and location, and no `StepFailed` event is
//! emitted for it. Catching it would only turn a bug into an error value,
//! at the price of a store per step. A step's error is still reported as a
//! [`SagaError`]; a `durable workflow` still records a panic as the step's
//! failure in its checkpoint.
//!
//! **The output expression** runs after every step has succeeded, once
//! their outputs are handed over to it by value (so the compensations are
//! released): a panic there undoes nothing. Keep it to assembling the
//! outputs; work that can fail, or that should be undone, is a step.
//!
//! **Cancellation.** Dropping a `run` future half-way (an outer timeout, the
//! losing branch of a `select!`) still undoes the completed steps, as
//! [`saga()`] does: the compensations that are due run on a task of their
//! own, last step first, with the usual events (a compensation that was
//! running goes on there first). Hence, in an in-memory workflow, a
//! compensation is **`Send + 'static`**: it cannot borrow the inputs or the
//! outputs; it captures clones, which `with` takes as a block that ends in a
//! `move` closure:
//!
//! ```text
//! #[compensate(with = { let api = api.clone(); move |id| async move { api.delete(id).await } })]
//! ```
//!
//! A closure in `with` that uses an input or an output is one compile error
//! at that name, with this fix. A `durable workflow` is not compensated when
//! dropped, because a durable run is not over: it resumes from its
//! checkpoint (and its compensations may borrow the inputs). A run resumed
//! in memory from a state (`resume`, then `run`) is
//! compensated when it fails but not when dropped; so is, for now, any run
//! of a workflow with a `#[compensate]` parallel step (its per-branch undo
//! lives in the state machine, which such a workflow always runs).
//!
//! **Borrowed inputs.** A workflow may borrow its inputs: it names their
//! lifetimes, `workflow Essay<'a>(agent: &'a Agent, topic: &'a str)` (an
//! input written `&Agent` is a compile error at the `&` that says so). A
//! `&'a mut T` input is handed to each step as `&mut T`, one step after the
//! other, so a step may call `&mut self` methods on it. A durable workflow
//! cannot borrow (its inputs are saved in its checkpoint).
//!
//! Compile errors, at your token: duplicate step names, a step used before it
//! runs, an unknown step attribute or key, `#[compensate]` on the last step
//! (nothing after it can fail, so there is nothing to undo), a compensation
//! that borrows an input or an output (in memory) or is not `Send`, a
//! missing output expression, a return type that is not `Result<T, E>`.
//!
//! A step's type must be at least as visible as the workflow: the state enum
//! has the workflow's visibility and its variants hold the step outputs.
//! Inside a step, an error type that `?` cannot infer needs a hint
//! (`Ok::<_, MyError>(v)`), as in any `async` block.
//!
//! # Parallel steps: fan-out and consensus
//!
//! A step can run one call per item of a collection, concurrently, or ask
//! several agents at once and take the majority's answer:
//!
//! ```text
//! step NAME: Branches<T, E> = for PAT in COLLECTION [, concurrency = N] [, min_success = R] => EXPR;
//! step NAME: T = consensus PAT in AGENTS [, response_rate = R] [, majority = R]
//!                          [, time_limit = "30s"] [, key = FN] => EXPR;
//! ```
//!
//! - **Fan-out** (`for doc in docs => summarize(doc).await`): `EXPR` runs
//!   once per item (`PAT` binds it), up to `concurrency` at a time
//!   (default 10), and evaluates to `Result<T, E2>` with `E: From<E2>`. The
//!   step's output is a [`Branches<T, E>`](Branches): the outputs in item
//!   order (it derefs to `[T]`), [`indices`](Branches::indices) of their
//!   items, and the [`failures`](Branches::failures) with their index. A
//!   panic in a branch is that branch's failure. When the share of
//!   branches that succeeded is below `min_success` (default 1: every
//!   branch must succeed), the step fails with [`ParallelError`]; it stops
//!   starting branches as soon as the minimum is out of reach (the calls in
//!   flight finish). An empty collection succeeds.
//! - **Consensus** (`consensus critic in critics => critic.review(draft).await`):
//!   every agent of `AGENTS` (a `Vec`, array or slice of
//!   [`coordination::Named`] agents) is asked at once, each under
//!   `time_limit` (default 30 s); an agent that fails, panics or runs out
//!   of time has no vote. Below `response_rate` answers (default 0.6), or
//!   without a single largest group of equal answers (grouped by `key`, a
//!   fn `&T -> K`, or by the answer itself) holding `majority` of them
//!   (default 0.5), the step fails with [`ParallelError`]. Its output is the
//!   winning answer (see [`Consensus`] for the rules).
//! - The step's attributes apply to each branch (each agent's call):
//!   `#[retry]` retries a failed branch, `#[timeout]` limits each one.
//!   `#[compensate(with = ..)]` on a fan-out undoes each successful branch,
//!   with its output, latest completed first: when a later step fails, and
//!   when the step itself ends below its minimum (those undos are in the
//!   `ParallelError`).
//! - The workflow's error type takes [`ParallelError`] through `From`
//!   (`#[error(transparent)] Parallel(#[from] resilience::ParallelError)`).
//! - In a `durable workflow`, each branch that succeeds is checkpointed
//!   (with its output, which is then serde) before the step goes on, so a
//!   run resumed after a crash runs only the branches that had not
//!   succeeded (a branch that failed gets another try); the failures are
//!   saved by their text once the step completes. A fan-out below its
//!   minimum forgets its branches before undoing them: a crash then runs
//!   it whole. A consensus step is checkpointed when it has decided, like
//!   any step.
//! - The diagram shows each parallel step as a subgraph of its branches.
//!
//! Compile errors, at your token: a fan-out whose type is not `Branches<T,
//! E>`, `min_success`, `response_rate` or `majority` outside 0..=1 or not a
//! literal, `concurrency = 0`, a missing item, `in`, collection, agents or
//! `=>`, an unknown or repeated setting, agents that are not `Named`, a
//! workflow error without `From<ParallelError>`.
//!
//! ```
//! use resilience::coordination::Named;
//! use resilience::{Branches, ParallelError, workflow};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AppError {
//!     #[error("cannot read {0}")]
//!     Unreadable(String),
//!     #[error(transparent)]
//!     Parallel(#[from] ParallelError),
//! }
//!
//! async fn summarize(doc: &str) -> Result<String, AppError> {
//!     if doc.is_empty() { Err(AppError::Unreadable(doc.into())) } else { Ok(doc.to_uppercase()) }
//! }
//!
//! struct Critic { likes: bool }
//!
//! impl Critic {
//!     async fn review(&self, summary: &str) -> Result<bool, AppError> {
//!         Ok(self.likes && !summary.is_empty())
//!     }
//! }
//!
//! workflow! {
//!     pub workflow Digest(docs: Vec<String>, critics: Vec<Named<Critic>>) -> Result<String, AppError> {
//!         #[retry(attempts = 2)]
//!         step summaries: Branches<String, AppError> =
//!             for doc in docs, concurrency = 8, min_success = 0.5 => summarize(doc).await;
//!
//!         step approved: bool =
//!             consensus critic in critics, time_limit = "20s" => critic.review(&summaries.join(" ")).await;
//!
//!         format!("{} of {} summarized, approved: {approved}", summaries.len(), summaries.items())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let docs = vec!["a".to_owned(), String::new(), "c".to_owned()];
//! let critics = vec![Named::new("kind", Critic { likes: true }), Named::new("fair", Critic { likes: true }), Named::new("harsh", Critic { likes: false })];
//! let out = Digest::new(docs, critics).run().await.unwrap();
//! assert_eq!(out, "2 of 3 summarized, approved: true");
//! # }
//! ```
//!
//! # Durable workflows
//!
//! `durable workflow` persists the state after every step, before the next
//! one starts, and resumes from it after a crash, without a server:
//!
//! ```
//! use resilience::checkpoint::MemoryStore;
//! use resilience::workflow;
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("search failed")]
//! pub struct SearchError;
//!
//! async fn search(query: &str) -> Result<Vec<String>, SearchError> {
//!     Ok(vec![format!("a page about {query}")])
//! }
//!
//! async fn summarise(pages: &[String]) -> Result<String, SearchError> {
//!     Ok(format!("{} page(s) read", pages.len()))
//! }
//!
//! workflow! {
//!     pub durable workflow Research(topic: String) -> Result<String, SearchError> {
//!         step pages: Vec<String> = search(topic).await;
//!         step summary: String = summarise(pages).await;
//!         summary
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A `DirectoryStore::open("checkpoints")` persists to disk; this one is for tests.
//! let store = MemoryStore::new();
//! let summary = Research::new("sagas".into()).run_durable(&store, "research-42").await.unwrap();
//! assert_eq!(summary, "1 page(s) read");
//!
//! // A worker that finds an abandoned run knows only its id: the inputs are
//! // in the checkpoint. (No checkpoint here any more: the run succeeded.)
//! let err = Research::resume_durable(&store, "research-42").await.unwrap_err();
//! assert!(matches!(err, resilience::durable::DurableError::NotFound { .. }));
//! # }
//! ```
//!
//! Every step type and every input type is then `serde` `Serialize +
//! Deserialize`, and owned (a compile error at the type otherwise);
//! non-durable workflows have no serde bound. A `pub durable workflow`
//! needs `pub` output and error types (above, `pub struct SearchError`):
//! it implements the public `DurableWorkflow` trait, which names them for a
//! [`Worker`](durable::Worker), and rustc refuses a private type there
//! (E0446, "private type in public interface"; a `pub(crate)` workflow may
//! use private ones). The inputs are saved in the
//! checkpoint (as a JSON object keyed by input name) with every step, so
//! `Research::resume_durable(&store, id)` resumes a run by its id alone,
//! with the inputs it was started with. `run_durable` with inputs that differ
//! from the stored ones is `DurableError::InputsDiffer`, and nothing runs. An
//! input that is a handle (a client, a connection) rather than data derives
//! serde with its connection `#[serde(skip)]`: a resume by id rebuilds it with
//! `Default`. A checkpoint written before inputs were stored (format
//! version 1) resumes with its inputs given, not by id alone
//! (`DurableError::InputsNotStored`).
//! `run_durable(&store, id)` claims the id (a second process gets
//! `CheckpointError::Locked`), starts it or resumes it from its checkpoint,
//! deletes the checkpoint on success (or keeps it, with
//! `DurableOptions::with_checkpoint_kept`) and keeps it on failure. A process that
//! died while compensating continues the compensation. A truncated, corrupt,
//! foreign or outdated checkpoint is a typed [`checkpoint::CheckpointError`]
//! naming the file, never a silent restart; `CheckpointStore::discard`
//! throws one away. Steps run at least once: see [`durable`] for the
//! idempotency advice.
//!
//! Many processes share the runs through [`durable::Worker`]: registered
//! with the workflow types (`Worker::new(store).register::<Research>()`),
//! it finds the runs nobody holds, by workflow name, and runs them under a
//! concurrency limit until a shutdown signal. `Research::new(..).submit_durable(&store, id)`
//! hands a run to the workers; a run whose worker died is resumed by
//! another once its lease lapses (at once with a `DirectoryStore`, after
//! the lease's length with the `postgres` feature's `PostgresStore`, which
//! shares the runs across machines); a run that keeps crashing its workers
//! is set aside after 100 claims.
//!
//! # Observing
//!
//! Every retry, give-up, timeout, fallback, compensation, checkpoint and circuit-breaker change of state emits a `tracing` event (target
//! `resilience`) and reaches the callbacks of [`events::observe`] and the
//! channels of [`events::subscribe`], so a supervisor can react when an agent
//! needs help.
//!
//! The bus is process-wide; to watch only your own agents, run their calls in
//! an [`events::Scope`] and subscribe to that scope. A subscription holds a
//! bounded number of unread events and says how many it
//! [`missed`](events::Subscription::missed); an observer that panics is
//! caught and reported, and the operation goes on.
//!
//! ```
//! use resilience::events::Scope;
//! use resilience::retry;
//!
//! #[retry(attempts = 2, delay = "10ms")]
//! async fn ask(n: u32) -> Result<u32, String> {
//!     if n == 0 { Err("empty prompt".into()) } else { Ok(n) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let agents = Scope::new();
//! let mut events = agents.subscribe();
//! ask(0).await.unwrap_err(); // outside the scope: not seen
//! agents.run(ask(0)).await.unwrap_err();
//! let seen: Vec<String> = std::iter::from_fn(|| events.try_recv()).map(|e| e.to_string()).collect();
//! assert_eq!(seen, [
//!     "`ask` attempt 1 failed (empty prompt); retrying in 10ms",
//!     "`ask` gave up after 2 attempts (attempts exhausted): empty prompt",
//! ]);
//! # }
//! ```
//!
//! # Contention: `#[bulkhead(...)]` and `#[hedge(...)]`
//!
//! ## `#[bulkhead(...)]`
//!
//! At most `max` calls at once; a call that finds every slot taken waits in
//! a bounded queue, or is turned away: the fn returns
//! `Err(Rejected.into())`, so its error type implements `From<Rejected>`.
//! A [`Rejected`] names the operation, the bulkhead and why
//! ([`RejectReason`]: full, queue full, waited too long), and emits an event.
//!
//! | key | value | default |
//! |---|---|---|
//! | `max` | integer ≥ 1: calls at once, a limit of this fn's own (a hidden `static`) | `max` or `state` is required |
//! | `queue` | integer: calls that may wait for a slot, first come first served; 0 turns a call away at once | 0 |
//! | `wait` | the longest wait in the queue (a duration; needs `queue`) | until a slot is free |
//! | `state` | a path or field naming a [`Bulkhead`] (a `static`, `self.slots`, an `Arc<Bulkhead>`): a limit shared by every fn that names it, its queue and wait set on it | |
//!
//! ```
//! use std::time::Duration;
//! use resilience::{Bulkhead, RejectReason, Rejected, bulkhead};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error(transparent)]
//!     Rejected(#[from] Rejected),
//! }
//!
//! /// Every fn that names it shares these 2 slots and this queue.
//! static LLM: Bulkhead = Bulkhead::new(2).with_name("llm").with_queue(8).with_wait(Duration::from_secs(5));
//!
//! #[bulkhead(state = LLM)]
//! async fn summarise(text: &str) -> Result<String, AgentError> {
//!     tokio::time::sleep(Duration::from_secs(1)).await;
//!     Ok(format!("summary of {text}"))
//! }
//!
//! /// Its own limit: one search at a time, none waiting.
//! #[bulkhead(max = 1)]
//! async fn search(query: &str) -> Result<Vec<String>, AgentError> {
//!     tokio::time::sleep(Duration::from_secs(1)).await;
//!     Ok(vec![query.to_owned()])
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let (a, b) = tokio::join!(search("rust"), search("tokio"));
//! assert!(a.is_ok());
//! let AgentError::Rejected(rejected) = b.unwrap_err();
//! assert_eq!(rejected.reason(), RejectReason::Full { max: 1 });
//!
//! // Three summaries on two slots: the third waits its turn.
//! let start = tokio::time::Instant::now();
//! let (x, y, z) = tokio::join!(summarise("a"), summarise("b"), summarise("c"));
//! assert!(x.is_ok() && y.is_ok() && z.is_ok());
//! assert_eq!(start.elapsed(), Duration::from_secs(2));
//! # }
//! ```
//!
//! An uncontended call costs a compare-and-swap to enter and the release
//! of a `tokio::sync::Semaphore` to leave, and allocates nothing (see the
//! README's figures). On a method, `state = self.slots` gives each agent its
//! own limit (with `&self`; a `&mut self` body cannot borrow `self` while the
//! slot does: use `max`, a `static` or an `Arc` outside).
//!
//! ## `#[hedge(...)]`
//!
//! When the first attempt has not answered after `after`, another starts
//! beside it, up to `attempts` in all; an attempt that fails starts the
//! next at once. The first `Ok` wins and the other attempts are dropped
//! (cancelled); if every attempt fails, the error of the last one to fail
//! is returned. The attempts run inside the caller's task (no spawn), so
//! they may borrow; owned arguments are cloned per attempt, as for
//! `#[retry]`, and `&mut` ones are a compile error (the attempts run at
//! once). Each hedge emits an event.
//!
//! | key | value | default (Polly's) |
//! |---|---|---|
//! | `after` | the delay before each hedge, from the last start (a duration); `0` races every attempt at once | `"2s"` |
//! | `attempts` | integer ≥ 2: every attempt, the first included | 2 |
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use resilience::hedge;
//!
//! static CALLS: AtomicU32 = AtomicU32::new(0);
//!
//! /// The first replica asked hangs; the second answers in 100ms.
//! #[hedge(after = "300ms")]
//! async fn ask(prompt: String) -> Result<String, String> {
//!     let replica = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
//!     let delay = if replica == 1 { 60_000 } else { 100 };
//!     tokio::time::sleep(Duration::from_millis(delay)).await;
//!     Ok(format!("replica {replica}: {prompt}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = tokio::time::Instant::now();
//! assert_eq!(ask("hello".into()).await.unwrap(), "replica 2: hello");
//! assert_eq!(start.elapsed(), Duration::from_millis(400));
//! # }
//! ```
//!
//! Hedge only what is safe to run twice at once (a read, an idempotent
//! call): a cancelled attempt may already have done its work.
//!
//! ## Stacking them
//!
//! In written order, as the others: `#[retry] #[bulkhead]` takes a slot per
//! attempt and frees it during the backoff, `#[bulkhead] #[retry]` holds one
//! slot through every attempt; `#[timeout] #[bulkhead]` counts the wait in
//! the queue, `#[bulkhead] #[timeout]` starts the limit with the slot;
//! `#[hedge] #[timeout]` gives each attempt its own limit (a timed-out
//! attempt is a failed one, so the next starts at once), `#[timeout]
//! #[hedge]` bounds them all; `#[hedge] #[bulkhead]` makes each attempt
//! take a slot (a hedge finding the bulkhead full is a failed attempt),
//! `#[bulkhead] #[hedge]` takes one slot for the whole hedged call;
//! `#[fallback]` above either catches a rejection or the last error.
//! `tests/bulkhead.rs` and `tests/hedge.rs` check each of these on tokio's
//! paused clock. Neither attribute is a `workflow!` step attribute: put it
//! on an `async fn` that the step calls.
//!
//! # Agent health: `#[self_healing]` and `#[agent]`
//!
//! `#[self_healing(state = PATH, max_failures = N)]` counts an agent's failed
//! calls in a row in the [`Health`] that `state` names (a field such as
//! `self.health`, an `Arc<Health<_>>` shared with a supervisor, or a
//! `static`), and resets the count on success. At `N` (default 3, as in the
//! guide) it emits a [`NeedsHelp`](EventKind::NeedsHelp) event with the
//! operation, the last error and the count: once per streak, until a success
//! or the supervisor's answer starts a new one. A time-out below it counts
//! as a failure. Written above `#[retry]` it counts calls (each after its
//! retries); below it, attempts.
//!
//! A supervisor answers in code through the same `Health`:
//! [`heal(cure)`](Health::heal) hands the agent a cure (a backup model, a
//! smaller prompt...) that its calls read with [`cure()`](Health::cure);
//! [`reset()`](Health::reset) lets it try again as it is;
//! [`give_up()`](Health::give_up) makes its calls return [`Abandoned`]
//! (through the error type's `From<Abandoned>`) without running.
//!
//! `#[agent(name = EXPR)]` names the agent a call runs for: every event the
//! call emits, whatever layer emits it (retry, time-out, self-healing, a
//! nested call's), carries the name in [`Event::agent`], and
//! [`events::Filter::agent`] watches one agent. `EXPR` is a `&'static str`,
//! a `String`, an `Arc<str>` or an [`AgentName`] (keep one in the agent: it
//! is cloned per call without allocating). It wraps the whole call wherever
//! it is written; a fn without it pays nothing. A compensation registered
//! by an agent's `#[compensate]` call runs as that agent in a [`saga()`];
//! inside a `workflow!`, the undo runs as the workflow, so compensation
//! events carry its name.
//!
//! ```
//! use std::sync::Arc;
//! use resilience::events::Filter;
//! use resilience::{Abandoned, AgentName, Elapsed, Health, OwnedEventKind};
//! use resilience::{agent, retry, self_healing, timeout};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error("{0} is overloaded")]
//!     Overloaded(&'static str),
//!     #[error(transparent)]
//!     Timeout(#[from] Elapsed),
//!     #[error(transparent)]
//!     Abandoned(#[from] Abandoned),
//! }
//!
//! struct Agent {
//!     name: AgentName,
//!     health: Arc<Health<&'static str>>, // the cure: a backup model's name
//! }
//!
//! impl Agent {
//!     #[agent(name = self.name)]
//!     #[self_healing(state = self.health, max_failures = 2)]
//!     #[retry(attempts = 3, delay = "10ms")]
//!     #[timeout("30s")]
//!     async fn ask(&self, prompt: &str) -> Result<String, AgentError> {
//!         match self.health.cure() {
//!             Some(backup) => Ok(format!("{backup} answers {prompt}")),
//!             None => Err(AgentError::Overloaded("primary")),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let agent = Agent { name: AgentName::new("planner"), health: Arc::new(Health::new()) };
//!
//! // The supervisor watches the planner and heals it when it asks.
//! let mut help = Filter::new().agent("planner").subscribe();
//! let health = Arc::clone(&agent.health);
//! let supervisor = tokio::spawn(async move {
//!     while let Some(event) = help.recv().await {
//!         if let OwnedEventKind::NeedsHelp { .. } = event.kind {
//!             health.heal("backup-model");
//!             return event.to_string();
//!         }
//!     }
//!     String::new()
//! });
//!
//! agent.ask("plan").await.unwrap_err(); // three attempts, one failed call
//! agent.ask("plan").await.unwrap_err(); // the second in a row: help
//! assert_eq!(
//!     supervisor.await.unwrap(),
//!     "planner: `ask` needs help: 2 calls in a row failed, the last with: primary is overloaded"
//! );
//! assert_eq!(agent.ask("plan").await.unwrap(), "backup-model answers plan");
//!
//! agent.health.give_up();
//! assert!(matches!(agent.ask("plan").await, Err(AgentError::Abandoned(_))));
//! # }
//! ```
//!
//! # Circuit breaker: `#[circuit_breaker(state = PATH)]`
//!
//! An agent that keeps failing is not called for a while: its callers fail
//! fast instead of waiting on it, and it gets time to recover. `state`
//! names a [`CircuitBreaker`]: a `static` shared by many fns or agents, or
//! a field (`state = self.breaker`, with `&self`) so that each agent has
//! its own. It is **closed** (calls go through and are counted), **open**
//! (the body does not run: the fn returns `Err(CircuitOpen.into())`, so
//! its error type implements `From<CircuitOpen>`), or **half-open** (the
//! break is over: a bounded number of trial calls go through; if they
//! succeed it closes, if one fails it opens again). [`CircuitOpen`] names
//! the fn and the breaker and says how long the break still lasts.
//!
//! | key | value | default |
//! |---|---|---|
//! | `state` | a path or a field of type `CircuitBreaker` (or `&`/`Arc` of one); a path in `SCREAMING_CASE` that is not a parameter must name a `static` (not a `const`, which would be a new breaker at each call), whose address the generated code then bakes in | required |
//! | `when` | path to `fn(&E) -> bool`, or a closure: only errors it accepts count as failures; the others count as successes (as in Polly) | all errors |
//!
//! The thresholds are on the breaker, a `const` [`BreakerPolicy`]: after
//! `consecutive(n)` failures in a row, or when `failure_ratio(r)` of the
//! calls over a sliding window failed (Polly v8's defaults: ratio 0.1,
//! minimum throughput 100 calls, sampling 30 s, break 5 s, one trial call;
//! the table is at [`BreakerPolicy`]). A policy that cannot work (zero
//! failures, a ratio outside (0, 1], a zero break, ...) is a compile error
//! at the `static`; [`CircuitBreaker::try_new`] checks one made at run
//! time. The breaker is lock-free; closed, in the consecutive mode, a call
//! costs two atomic loads and no clock read. Each change of state is an
//! event; [`CircuitBreaker::stats`], [`state`](CircuitBreaker::state),
//! [`isolate`](CircuitBreaker::isolate) and [`reset`](CircuitBreaker::reset)
//! are for supervisors.
//!
//! ```
//! use std::time::Duration;
//! use resilience::{BreakerPolicy, CircuitBreaker, CircuitOpen, CircuitState, circuit_breaker, retry};
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error(transparent)]
//!     Open(#[from] CircuitOpen),
//!     #[error("the model is overloaded")]
//!     Overloaded,
//! }
//!
//! static SEARCH: CircuitBreaker =
//!     CircuitBreaker::new(BreakerPolicy::consecutive(2).with_break(Duration::from_secs(30)))
//!         .with_name("search");
//!
//! #[circuit_breaker(state = SEARCH)]
//! #[retry(attempts = 3, delay = "100ms")]
//! async fn search(query: &str) -> Result<String, AgentError> {
//!     Err(AgentError::Overloaded) // the search API is down
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! // Two calls of three attempts each fail: two failures for the breaker.
//! assert!(matches!(search("rust").await, Err(AgentError::Overloaded)));
//! assert!(matches!(search("rust").await, Err(AgentError::Overloaded)));
//! assert_eq!(SEARCH.state(), CircuitState::Open);
//! // Open: not a single attempt.
//! let Err(AgentError::Open(open)) = search("rust").await else { panic!() };
//! assert_eq!(open.to_string(), "`search` not called: circuit `search` is open for another 30s");
//! # }
//! ```
//!
//! Stacking decides what the breaker sees: above `#[retry]` one outcome
//! per call, below it each attempt (a `#[retry(when = ..)]` that does not
//! retry a `CircuitOpen`, or a `retry_after` from
//! [`CircuitOpen::remaining`], then waits out the break); a `#[timeout]`
//! below the breaker counts as a failure, one above it cancels the call,
//! which counts as nothing (a cancelled trial call gives its place to the
//! next). A `#[fallback]` above it can answer while it is open. With
//! `&mut self`, keep the breaker in a `static` or behind an `Arc` outside
//! `self` (the call borrows it). `examples/circuit_breaker.rs` shows a
//! flaky agent tripping its breaker and recovering.
//!
//! # Multi-agent coordination
//!
//! The guide's patterns for many agents, as building blocks that take your
//! own agents ([`coordination::Named`]) and your own async calls (which may
//! carry the attributes above):
//!
//! - [`FanOut`]: tasks over primary agents, failed tasks to fallbacks, a
//!   minimum success rate, a report in task order
//!   ([`coordination::fanout`]).
//! - [`Consensus`]: every agent at once under a time limit, a majority over
//!   the answers or a key, an arbiter otherwise
//!   ([`coordination::consensus`]).
//! - [`Failover`]: a primary coordinator and backups shared by many tasks,
//!   health probes, rotation ([`coordination::failover`]).
//! - [`Escalation`]: progressive retry over tiers of your own type
//!   ([`coordination::escalate`](mod@coordination::escalate)).
//!
//! Every one emits events (a task that failed or fell back, a vote, a
//! failover, an escalation) and fixes the guide's bugs listed in each
//! module's docs.
//!
//! # Features
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | `durable` | on | `durable workflow`, [`checkpoint`] stores, [`durable`] runs (serde, serde_json, crc32fast) |
//! | `load` | off | `resilience::load`: load tests with an HDR latency report, a progress bar and an SVG plot (hdrhistogram, indicatif, plotters with its SVG backend only) |
//! | `chaos` | off | fault injection: `Chaos`, and `#[chaos]` expands (without it `#[chaos]` leaves the fn as written) |
//! | `http` | off | `server_delay`: the delay a server asks for, read from an `http::HeaderMap` (http, httpdate) |
//! | `postgres` | off | `PostgresStore`: checkpoints in PostgreSQL shared by many workers, with expiring leases and fencing epochs (tokio-postgres, deadpool-postgres; the `resilience-postgres` crate) |
//!
//! With `default-features = false`, the attributes, sagas and in-memory
//! workflows build with fewer dependencies (see the README's figures).
//!
//! # Chaos: `#[chaos(state = PATH)]` (the `chaos` feature)
//!
//! Calls that fail on purpose, to test the layers above them (the guide's
//! `ChaosAgent`). `state` names a `Chaos` (a `static`, or a field such as
//! `self.chaos`) that holds the failure rate, the weights of the four error
//! kinds (timeout, connection, processing, resource exhaustion), the added
//! latency and the seed: the same seed gives the same faults in the same
//! order. The fn's error type receives a `ChaosError` through `From`; the
//! `Chaos` counts what it injected (`Chaos::stats`), and can be switched
//! off, reconfigured and reseeded at run time. Stacked under `#[retry]`,
//! each attempt goes through chaos.
//!
//! Without the `chaos` feature the attribute's arguments are checked and
//! the fn is emitted exactly as written, so a production build carries none
//! of it: declare the `Chaos` under the same feature, e.g.
//! `#[cfg(feature = "chaos")] static CHAOS: Chaos = ...;` with a feature of
//! your crate that turns on `resilience/chaos`.
//!
//! ```ignore
//! use resilience::{Chaos, ChaosConfig, ChaosError, chaos, retry};
//!
//! static CHAOS: Chaos = Chaos::new(ChaosConfig::new().with_failure_rate(0.3).with_seed(42));
//!
//! #[derive(Debug, thiserror::Error)]
//! enum AgentError {
//!     #[error(transparent)]
//!     Chaos(#[from] ChaosError),
//! }
//!
//! #[retry(attempts = 3)]
//! #[chaos(state = CHAOS)]
//! async fn ask(prompt: &str) -> Result<String, AgentError> {
//!     Ok(format!("answer to {prompt}"))
//! }
//! ```
//!
//! On a method, `state = self.chaos` gives each agent its own `Chaos`
//! (with `&self`; a `&mut self` body cannot borrow `self` while chaos
//! does: keep that `Chaos` in a `static` or an `Arc` outside).
//!
//! `tests/chaos.rs` runs this (`cargo test --features chaos --test chaos`),
//! and `examples/chaos_test.rs` is the guide's `test_workflow_resilience`.
//!
//! # Randomness
//!
//! Jitter (and, as they come, chaos) draw from one source that
//! [`random::with_seed`] makes repeatable for a task, so a run can be
//! replayed.

// `escalate` names both the attribute (macro namespace) and the runtime fn
// (value namespace): `use resilience::escalate;` brings both.
// `chaos` names both the attribute and, with the `chaos` feature, the
// runtime's module.
pub use resilience_macros::{
    chaos, circuit_breaker, compensate, escalate, fallback, rate_limit, retry, timeout, workflow,
};
/// [`RateLimiter`] and its parts; `#[rate_limit]` is the attribute.
pub use resilience_runtime::rate_limit;
/// The delay a server asks for, read from an `http::HeaderMap`
/// (`retry-after-ms`, `Retry-After`): the `http` feature.
#[cfg(feature = "http")]
pub use resilience_runtime::server_delay;
pub use resilience_runtime::{RateLimit, RateLimited, RateLimiter};
// `bulkhead` and `hedge` name both an attribute and a runtime module.
pub use resilience_macros::{bulkhead, hedge};
pub use resilience_runtime::{
    Bulkhead, BulkheadPermit, HedgePolicy, RejectReason, Rejected, bulkhead, hedge,
};
// `agent` is the attribute only; the name type is `AgentName`.
pub use resilience_macros::{agent, self_healing};
pub use resilience_runtime::{Abandoned, AgentName, HealingPolicy, Health};

#[cfg(feature = "chaos")]
pub use resilience_runtime::{
    Chaos, ChaosConfig, ChaosConfigError, ChaosError, ChaosKind, ChaosStats, Latency, chaos,
};

/// [`PostgresStore`] and its lease: checkpoints in PostgreSQL (the
/// `postgres` feature).
#[cfg(feature = "postgres")]
pub use resilience_postgres as postgres;
#[cfg(feature = "postgres")]
pub use resilience_postgres::{PostgresLease, PostgresStore};
pub use resilience_runtime::{
    Backoff, Delays, ErrorRef, Event, EventKind, GiveUpReason, Jitter, OwnedEvent, OwnedEventKind,
    PolicyError, RetryPolicy, TimeoutPolicy,
};
pub use resilience_runtime::{
    Branches, CompensationReport, Failure, ParallelError, SagaError, SagaHandle, saga,
};
pub use resilience_runtime::{
    BreakerMode, BreakerPermit, BreakerPolicy, BreakerPolicyError, BreakerStats, CircuitBreaker,
    CircuitOpen, CircuitState, TripReason, breaker,
};
#[cfg(feature = "durable")]
pub use resilience_runtime::{
    Checkpoint, CheckpointError, CheckpointInfo, CheckpointLease, CheckpointStore,
    CompensationRecord, DirectoryStore, MemoryStore, Phase, checkpoint, durable,
};
pub use resilience_runtime::{
    Consensus, ConsensusError, CoordinatorFailure, Decision, Escalation, EscalationConfigError,
    EscalationError, Failover, FailoverConfig, FailoverConfigError, FailoverError, FailoverReason,
    FanOut, FanOutError, FanOutReport, Tier, TierError, TierFailure, Unhealthy, escalate,
};
pub use resilience_runtime::{Elapsed, fmt_duration};
pub use resilience_runtime::{FallbackPolicy, backoff, coordination, duration, events, random};

/// Load tests (the guide's `stress_test`): [`load::LoadTest`] runs many
/// tasks at a concurrency limit or a fixed arrival rate, with injected
/// failures, and reports latency percentiles from an HDR histogram, as a
/// table, JSON or an SVG plot. Needs the `load` feature.
#[cfg(feature = "load")]
pub use resilience_load as load;

#[doc(hidden)]
pub mod __private {
    pub use resilience_runtime::__private::*;
}
