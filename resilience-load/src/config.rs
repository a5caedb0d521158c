//! The builder.

/// A load test: how many tasks, how many at a time, the injected failure
/// rate, and optionally a fixed arrival rate. Run it with
/// [`run`](LoadTest::run).
///
/// # Default
///
/// | setting | default |
/// |---|---|
/// | tasks | 1000 (the guide's) |
/// | concurrency | 50 (the guide's) |
/// | failure rate | 0.05 (the guide's) |
/// | arrival rate | none: a closed model, a new task as soon as one finishes |
/// | seed | drawn from `resilience_runtime::random` |
/// | progress bar | on, when standard error is a terminal |
///
/// # Examples
///
/// ```
/// use resilience_load::LoadTest;
///
/// let test = LoadTest::new().with_tasks(1_000_000).with_concurrency(50).with_failure_rate(0.05);
/// assert!(test.validate().is_ok());
/// assert!(LoadTest::new().with_failure_rate(1.5).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadTest {
    pub(crate) tasks: u64,
    pub(crate) concurrency: usize,
    pub(crate) failure_rate: f64,
    pub(crate) rate: Option<f64>,
    pub(crate) seed: Option<u64>,
    pub(crate) progress: bool,
}

impl Default for LoadTest {
    fn default() -> Self {
        Self::new()
    }
}

impl LoadTest {
    /// The guide's settings: 1000 tasks, 50 at a time, 5% injected failures.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(resilience_load::LoadTest::new(), Default::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            tasks: 1000,
            concurrency: 50,
            failure_rate: 0.05,
            rate: None,
            seed: None,
            progress: true,
        }
    }

    /// How many tasks to run (at least 1). Task ids are `0..tasks`.
    ///
    /// # Examples
    ///
    /// ```
    /// let test = resilience_load::LoadTest::new().with_tasks(10);
    /// ```
    pub const fn with_tasks(mut self, tasks: u64) -> Self {
        self.tasks = tasks;
        self
    }

    /// How many tasks may be in flight at once (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let test = resilience_load::LoadTest::new().with_concurrency(8);
    /// ```
    pub const fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// The share of tasks failed on purpose, in `0..=1`: such a task is not
    /// called and counts as an [`INJECTED`](crate::INJECTED) failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let test = resilience_load::LoadTest::new().with_failure_rate(0.0);
    /// ```
    pub const fn with_failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// An open model: `per_second` tasks are due each second (task `i` at
    /// `start + i / per_second`), and each latency counts from the task's due
    /// time. The concurrency limit still holds: a task that finds it full
    /// waits, and the wait shows in its latency.
    ///
    /// # Examples
    ///
    /// ```
    /// let test = resilience_load::LoadTest::new().with_rate(10_000.0);
    /// ```
    pub const fn with_rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// A closed model (the default): a new task starts as soon as one
    /// finishes, and latency counts from its start.
    ///
    /// # Examples
    ///
    /// ```
    /// let test = resilience_load::LoadTest::new().with_rate(10.0).without_rate();
    /// ```
    pub const fn without_rate(mut self) -> Self {
        self.rate = None;
        self
    }

    /// The seed of the injected failures: the same seed fails the same tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let test = resilience_load::LoadTest::new().with_seed(7);
    /// ```
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether to draw a progress bar on standard error (only ever drawn
    /// when it is a terminal).
    ///
    /// # Examples
    ///
    /// ```
    /// let quiet = resilience_load::LoadTest::new().with_progress(false);
    /// ```
    pub const fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Checks the settings; [`run`](LoadTest::run) does too.
    ///
    /// # Errors
    ///
    /// A [`LoadConfigError`] naming the first bad setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use resilience_load::{LoadConfigError, LoadTest};
    ///
    /// assert_eq!(LoadTest::new().with_tasks(0).validate(), Err(LoadConfigError::NoTasks));
    /// ```
    pub fn validate(&self) -> Result<(), LoadConfigError> {
        if self.tasks == 0 {
            return Err(LoadConfigError::NoTasks);
        }
        if self.concurrency == 0 {
            return Err(LoadConfigError::NoConcurrency);
        }
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(LoadConfigError::FailureRate(self.failure_rate));
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(LoadConfigError::Rate(rate));
        }
        Ok(())
    }
}

/// A setting of a [`LoadTest`] that cannot run.
///
/// # Examples
///
/// ```
/// use resilience_load::{LoadConfigError, LoadTest};
///
/// let err = LoadTest::new().with_failure_rate(-0.1).validate().unwrap_err();
/// assert_eq!(err.to_string(), "the failure rate must be between 0 and 1, got -0.1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadConfigError {
    /// Zero tasks.
    #[error("the number of tasks must be at least 1")]
    NoTasks,
    /// A concurrency limit of zero.
    #[error("the concurrency limit must be at least 1")]
    NoConcurrency,
    /// A failure rate outside `0..=1` (or NaN).
    #[error("the failure rate must be between 0 and 1, got {0}")]
    FailureRate(f64),
    /// An arrival rate that is not a positive finite number.
    #[error("the arrival rate must be a positive number of tasks per second, got {0}")]
    Rate(f64),
}
