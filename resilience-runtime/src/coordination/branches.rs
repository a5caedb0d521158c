//! [`Branches`]: the output of a parallel workflow step (`step x: Branches<T,
//! E> = for item in items => ..;`), one call per item run concurrently; and
//! the engine that runs them, up to a concurrency limit, until every item
//! has run or the minimum success rate is out of reach.
//!
//! The engine is the fan-out's ([`FanOut`](super::FanOut)) without agents:
//! the same events ([`EventKind::TaskFailed`] for each failed branch,
//! [`EventKind::FanOutAbandoned`] when it stops starting branches,
//! [`EventKind::BelowMinimum`]), a panic in a branch is that branch's
//! failure, and everything runs inside the caller's task (dropping the step
//! cancels every branch in flight). It also records the order in which the
//! branches completed, so that a compensation undoes the latest first.

use core::fmt;
use core::future::Future;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::failure::{AgentFailure, Percent, rate};
use crate::error_ref::ErrorRef;
use crate::events::{Event, EventKind, emit};
use crate::support::panic::CatchPanic;

/// One item whose branch failed: its index in the collection and why.
///
/// A branch never started (the step stopped starting branches once its
/// minimum success rate was out of reach) is
/// [`AgentFailure::Cancelled`].
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{AgentFailure, BranchFailure};
///
/// let failure = BranchFailure::new(3, AgentFailure::Error("rate limited"));
/// assert_eq!(failure.to_string(), "item 3: rate limited");
/// assert_eq!(failure.failure.error(), Some(&"rate limited"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BranchFailure<E> {
    /// The item's index in the collection, from 0.
    pub index: usize,
    /// What went wrong.
    pub failure: AgentFailure<E>,
}

impl<E> BranchFailure<E> {
    /// Item `index` failed with `failure`.
    ///
    /// # Examples
    ///
    /// See [`BranchFailure`].
    pub const fn new(index: usize, failure: AgentFailure<E>) -> Self {
        Self { index, failure }
    }
}

impl<E: fmt::Display> fmt::Display for BranchFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {}: {}", self.index, self.failure)
    }
}

/// The output of a parallel step: the outputs of the branches that
/// succeeded, in item order, and the failures of the others.
///
/// It derefs to the slice of outputs (`summaries.len()`,
/// `summaries.iter()`, `&summaries[0]`); [`indices`](Branches::indices)
/// says which item each output came from, [`failures`](Branches::failures)
/// why the others have none.
///
/// # Examples
///
/// ```
/// use resilience_runtime::coordination::{AgentFailure, Branches};
///
/// // As a step `for n in [1, 2, 3, 4], min_success = 0.5 => ..` leaves it when
/// // items 1 and 3 fail:
/// let branches: Branches<i32, &str> = Branches::from_outcomes([
///     Ok(10),
///     Err(AgentFailure::Error("odd")),
///     Ok(30),
///     Err(AgentFailure::Error("odd")),
/// ]);
/// assert_eq!(&*branches, [10, 30]);
/// assert_eq!(branches.indices(), [0, 2]);
/// assert_eq!(branches.failures()[0].to_string(), "item 1: odd");
/// assert_eq!(branches.success_rate(), 0.5);
/// assert_eq!(branches.to_string(), "2 of 4 branches succeeded (50%)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branches<T, E> {
    items: usize,
    outputs: Vec<T>,
    /// The item index of each output.
    indices: Vec<usize>,
    failures: Vec<BranchFailure<E>>,
    /// Positions in `outputs`, in the order the branches completed.
    completion: Vec<usize>,
}

impl<T, E> Branches<T, E> {
    /// Branches from each item's outcome, in item order, as if they had
    /// completed in that order: for tests and hand-built values.
    ///
    /// # Examples
    ///
    /// See [`Branches`].
    pub fn from_outcomes(outcomes: impl IntoIterator<Item = Result<T, AgentFailure<E>>>) -> Self {
        let mut branches = Self::empty(0);
        for (index, outcome) in outcomes.into_iter().enumerate() {
            branches.items += 1;
            match outcome {
                Ok(output) => branches.push_output(index, output),
                Err(failure) => branches.failures.push(BranchFailure::new(index, failure)),
            }
        }
        branches.completion = (0..branches.outputs.len()).collect();
        branches
    }

    fn empty(items: usize) -> Self {
        Self {
            items,
            outputs: Vec::new(),
            indices: Vec::new(),
            failures: Vec::new(),
            completion: Vec::new(),
        }
    }

    fn push_output(&mut self, index: usize, output: T) {
        self.outputs.push(output);
        self.indices.push(index);
    }

    /// How many items the collection had: successes and failures.
    ///
    /// # Examples
    ///
    /// See [`Branches`].
    pub const fn items(&self) -> usize {
        self.items
    }

    /// The outputs of the branches that succeeded, in item order (also
    /// what `Branches` derefs to).
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Branches;
    ///
    /// let branches = Branches::<_, ()>::from_outcomes([Ok("a"), Ok("b")]);
    /// assert_eq!(branches.outputs(), ["a", "b"]);
    /// ```
    pub fn outputs(&self) -> &[T] {
        &self.outputs
    }

    /// The item index of each output, in the same order.
    ///
    /// # Examples
    ///
    /// See [`Branches`].
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Each output with its item's index, in item order.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::{AgentFailure, Branches};
    ///
    /// let branches = Branches::from_outcomes([Err(AgentFailure::Error(())), Ok('b')]);
    /// assert_eq!(branches.indexed().collect::<Vec<_>>(), [(1, &'b')]);
    /// ```
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &T)> {
        self.indices.iter().copied().zip(&self.outputs)
    }

    /// The failed items, in item order.
    ///
    /// # Examples
    ///
    /// See [`Branches`].
    pub fn failures(&self) -> &[BranchFailure<E>] {
        &self.failures
    }

    /// Succeeded items / all items; 1 for an empty collection (nothing was
    /// asked, so nothing failed).
    ///
    /// # Examples
    ///
    /// See [`Branches`].
    pub fn success_rate(&self) -> f64 {
        rate(self.outputs.len(), self.items)
    }

    /// The item indices of the successes, in the order they completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Branches;
    ///
    /// let branches = Branches::<_, ()>::from_outcomes([Ok(1), Ok(2)]);
    /// assert_eq!(branches.completion_order().collect::<Vec<_>>(), [0, 1]);
    /// ```
    pub fn completion_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.completion
            .iter()
            .map(|&position| self.indices[position])
    }

    /// The outputs, owned, in item order.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Branches;
    ///
    /// let branches = Branches::<_, ()>::from_outcomes([Ok(String::from("x"))]);
    /// assert_eq!(branches.into_outputs(), ["x"]);
    /// ```
    pub fn into_outputs(self) -> Vec<T> {
        self.outputs
    }

    /// The outputs with their item index, owned, latest completed first:
    /// the order a compensation undoes them in.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_runtime::coordination::Branches;
    ///
    /// let branches = Branches::<_, ()>::from_outcomes([Ok('a'), Ok('b')]);
    /// assert_eq!(branches.into_undo_order(), [(1, 'b'), (0, 'a')]);
    /// ```
    pub fn into_undo_order(self) -> Vec<(usize, T)> {
        let mut slots: Vec<Option<(usize, T)>> = self
            .indices
            .into_iter()
            .zip(self.outputs)
            .map(Some)
            .collect();
        self.completion
            .iter()
            .rev()
            .filter_map(|&position| slots.get_mut(position).and_then(Option::take))
            .collect()
    }
}

impl<T, E> core::ops::Deref for Branches<T, E> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.outputs
    }
}

impl<T, E> IntoIterator for Branches<T, E> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.outputs.into_iter()
    }
}

impl<'a, T, E> IntoIterator for &'a Branches<T, E> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.outputs.iter()
    }
}

impl<T, E> fmt::Display for Branches<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} branches succeeded ({})",
            self.outputs.len(),
            self.items,
            Percent(self.success_rate())
        )
    }
}

/// Where each branch's output goes as it completes, before the step goes
/// on: nowhere ([`NoSink`]), or a durable run's checkpoint.
pub(crate) trait Sink<T> {
    /// Why it could not take the output: the step stops there.
    type Error;
    /// Branch `index` completed with `output`.
    fn done(&mut self, index: usize, output: &T) -> impl Future<Output = Result<(), Self::Error>>;
}

/// Keeps nothing.
pub(crate) struct NoSink;

impl<T> Sink<T> for NoSink {
    type Error = core::convert::Infallible;

    async fn done(&mut self, _: usize, _: &T) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A durable workflow saves a parallel step's output in its checkpoint:
/// the outputs, their items, the order they completed in, and the failures
/// by their text (read back as [`AgentFailure::Recorded`]), so that the
/// error type need not be serde.
#[cfg(feature = "durable")]
mod serde_form {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{AgentFailure, BranchFailure, Branches, fmt};

    #[derive(Serialize)]
    struct Out<'a, T> {
        items: usize,
        outputs: &'a [T],
        indices: &'a [usize],
        completion: &'a [usize],
        failures: Vec<(usize, String)>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct In<T> {
        items: usize,
        outputs: Vec<T>,
        indices: Vec<usize>,
        completion: Vec<usize>,
        failures: Vec<(usize, String)>,
    }

    impl<T: Serialize, E: fmt::Display> Serialize for Branches<T, E> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            Out {
                items: self.items,
                outputs: &self.outputs,
                indices: &self.indices,
                completion: &self.completion,
                failures: self
                    .failures
                    .iter()
                    .map(|f| (f.index, f.failure.to_string()))
                    .collect(),
            }
            .serialize(serializer)
        }
    }

    impl<'de, T: Deserialize<'de>, E> Deserialize<'de> for Branches<T, E> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let form = In::<T>::deserialize(deserializer)?;
            let n = form.outputs.len();
            let mut seen = vec![false; n];
            let consistent = form.indices.len() == n
                && form.completion.len() == n
                && form
                    .completion
                    .iter()
                    .all(|&p| p < n && !std::mem::replace(&mut seen[p], true))
                && form
                    .indices
                    .iter()
                    .chain(form.failures.iter().map(|f| &f.0))
                    .all(|&i| i < form.items)
                && n + form.failures.len() == form.items;
            if !consistent {
                return Err(D::Error::custom(
                    "the branches of a parallel step do not add up (outputs, items, completion order)",
                ));
            }
            Ok(Branches {
                items: form.items,
                outputs: form.outputs,
                indices: form.indices,
                completion: form.completion,
                failures: form
                    .failures
                    .into_iter()
                    .map(|(index, text)| BranchFailure::new(index, AgentFailure::Recorded(text)))
                    .collect(),
            })
        }
    }
}

/// Runs `branch(item)` for every item, up to `concurrency` at a time, and
/// stops starting branches once `min_success` is out of reach. `Ok` when
/// the success rate reaches `min_success`, else `Err` with what ran (to
/// compensate). `operation` and `step` name the events.
pub(crate) async fn run<I, T, E, F, Fut>(
    operation: &'static str,
    step: &'static str,
    concurrency: usize,
    min_success: f64,
    items: Vec<I>,
    branch: F,
) -> Result<Branches<T, E>, Branches<T, E>>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display,
{
    let outcome = run_with(
        operation,
        step,
        (concurrency, min_success),
        items,
        Vec::new(),
        branch,
        &mut NoSink,
    )
    .await;
    match outcome {
        Ok(outcome) => outcome,
        Err(never) => match never {},
    }
}

/// [`run`], with the branches in `done` (item index and output, in the
/// order they completed) already finished: they do not run again. Each
/// branch that completes goes to `sink` before the step goes on; a sink's
/// error stops the step (the branches in flight are dropped).
pub(crate) async fn run_with<I, T, E, F, Fut, S>(
    operation: &'static str,
    step: &'static str,
    (concurrency, min_success): (usize, f64),
    items: Vec<I>,
    done: Vec<(usize, T)>,
    branch: F,
    sink: &mut S,
) -> Result<Result<Branches<T, E>, Branches<T, E>>, S::Error>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: fmt::Display,
    S: Sink<T>,
{
    let total = items.len();
    let concurrency = concurrency.max(1);
    let mut slots: Vec<Option<Result<T, AgentFailure<E>>>> = Vec::with_capacity(total);
    slots.resize_with(total, || None);
    // Completion order of the successes, by item index.
    let mut completed: Vec<usize> = Vec::with_capacity(done.len());
    for (index, output) in done {
        if let Some(slot) = slots.get_mut(index)
            && slot.is_none()
        {
            *slot = Some(Ok(output));
            completed.push(index);
        }
    }
    let branch = &branch;
    let mut items = items
        .into_iter()
        .enumerate()
        .filter(|(index, _)| slots[*index].is_none())
        .collect::<Vec<_>>()
        .into_iter();
    let mut running = FuturesUnordered::new();
    let (mut started, mut failed, mut hopeless) = (completed.len(), 0, false);
    loop {
        while running.len() < concurrency && !hopeless {
            let Some((index, item)) = items.next() else {
                break;
            };
            started += 1;
            running.push(async move {
                // The call itself (not only its future) runs inside the catch.
                (
                    index,
                    CatchPanic::new(async move { branch(item).await }).await,
                )
            });
        }
        let Some(first) = running.next().await else {
            break;
        };
        // Every branch done by now, before starting more: two failures at
        // the same instant may put the minimum out of reach.
        let mut finished = Some(first);
        while let Some((index, outcome)) = finished.take() {
            finished = running.next().now_or_never().flatten();
            let outcome = match outcome {
                Ok(Ok(output)) => {
                    sink.done(index, &output).await?;
                    completed.push(index);
                    Ok(output)
                }
                Ok(Err(error)) => Err(AgentFailure::Error(error)),
                Err(panic) => Err(AgentFailure::Panicked(panic)),
            };
            if let Err(failure) = &outcome {
                failed += 1;
                emit(&Event::new(
                    operation,
                    EventKind::TaskFailed {
                        task: index,
                        agent: step,
                        error: ErrorRef::Display(failure),
                    },
                ));
                if !hopeless && rate(total - failed, total) < min_success {
                    hopeless = true;
                    if started < total {
                        emit(&Event::new(
                            operation,
                            EventKind::FanOutAbandoned {
                                failed,
                                skipped: total - started,
                            },
                        ));
                    }
                }
            }
            slots[index] = Some(outcome);
        }
    }
    let mut branches = Branches::empty(total);
    let mut position_of = vec![usize::MAX; total];
    for (index, slot) in slots.into_iter().enumerate() {
        match slot.unwrap_or(Err(AgentFailure::Cancelled)) {
            Ok(output) => {
                position_of[index] = branches.outputs.len();
                branches.push_output(index, output);
            }
            Err(failure) => branches.failures.push(BranchFailure::new(index, failure)),
        }
    }
    branches.completion = completed.into_iter().map(|i| position_of[i]).collect();
    let succeeded = branches.outputs.len();
    if rate(succeeded, total) < min_success {
        emit(&Event::new(
            operation,
            EventKind::BelowMinimum {
                succeeded,
                tasks: total,
            },
        ));
        return Ok(Err(branches));
    }
    Ok(Ok(branches))
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn runs_at_most_concurrency_at_once_and_records_completion_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let start = tokio::time::Instant::now();
        // Items take 50, 40, 25 and 30ms: with 2 at a time, 0 and 1 start,
        // 1 ends at 40ms (2 starts), 0 at 50 (3 starts), 2 at 65, 3 at 80.
        let branches: Branches<usize, String> = run("w", "s", 2, 1.0, vec![0, 1, 2, 3], |i| {
            let (now, peak) = (&now, &peak);
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis([50, 40, 25, 30][i])).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(i * 100)
            }
        })
        .await
        .unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(&*branches, [0, 100, 200, 300]);
        assert_eq!(
            branches.completion_order().collect::<Vec<_>>(),
            [1, 0, 2, 3]
        );
        assert_eq!(start.elapsed(), Duration::from_millis(80));
        let undo: Vec<usize> = branches
            .into_undo_order()
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(undo, [3, 2, 0, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_starting_once_the_minimum_is_out_of_reach() {
        let calls = std::sync::Mutex::new(Vec::new());
        let err = run("w", "s", 1, 0.75, (0..8).collect(), |i: usize| {
            calls.lock().unwrap().push(i);
            async move {
                if i == 0 || i == 2 {
                    Err(format!("no {i}"))
                } else if i == 1 {
                    panic!("boom")
                } else {
                    Ok(i)
                }
            }
        })
        .await
        .unwrap_err();
        // 0 fails (7/8 still possible), 1 panics (6/8 = 0.75 possible),
        // 2 fails (5/8 < 0.75): nothing more starts.
        assert_eq!(*calls.lock().unwrap(), [0, 1, 2]);
        let failures: Vec<String> = err.failures().iter().map(ToString::to_string).collect();
        assert_eq!(
            failures[..4],
            [
                "item 0: no 0",
                "item 1: panicked: boom",
                "item 2: no 2",
                "item 3: cancelled: no longer needed"
            ]
        );
        assert_eq!(err.items(), 8);
        assert!(err.is_empty());
    }

    #[tokio::test]
    async fn an_empty_collection_succeeds() {
        let branches: Branches<u8, String> =
            run("w", "s", 4, 1.0, Vec::<u8>::new(), |i| async move { Ok(i) })
                .await
                .unwrap();
        assert_eq!(branches.success_rate(), 1.0);
        assert_eq!(branches.to_string(), "0 of 0 branches succeeded (100%)");
    }
}
