//! Shared test doubles: a scripted agent that records when it was called,
//! on tokio's paused clock.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum AgentError {
    #[error("transient failure on call {0}")]
    Transient(u32),
    #[error("fatal failure on call {0}")]
    Fatal(u32),
    #[error("rate limited on call {0}, retry after {1:?}")]
    RateLimited(u32, Duration),
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

impl AgentError {
    pub(crate) fn is_transient(&self) -> bool {
        !matches!(self, AgentError::Fatal(_))
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            AgentError::RateLimited(_, after) => Some(*after),
            _ => None,
        }
    }
}

/// What the n-th call (from 1) does.
pub(crate) type Script = fn(u32) -> Result<u32, AgentError>;

/// Records the instant of every call, relative to its creation.
pub(crate) struct Agent {
    start: Instant,
    calls: Mutex<Vec<Duration>>,
    script: Script,
}

impl Agent {
    pub(crate) fn new(script: Script) -> Self {
        Self {
            start: Instant::now(),
            calls: Mutex::new(Vec::new()),
            script,
        }
    }

    pub(crate) fn always_failing() -> Self {
        Self::new(|n| Err(AgentError::Transient(n)))
    }

    /// Records the call and returns what the script says.
    pub(crate) fn call(&self) -> Result<u32, AgentError> {
        let mut calls = self.calls.lock().unwrap();
        calls.push(self.start.elapsed());
        let n = calls.len() as u32;
        (self.script)(n)
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    /// The call instants in whole milliseconds.
    pub(crate) fn at_ms(&self) -> Vec<u128> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.as_millis())
            .collect()
    }

    /// The call instants, exactly.
    pub(crate) fn at(&self) -> Vec<Duration> {
        self.calls.lock().unwrap().clone()
    }

    /// The gaps between consecutive calls.
    pub(crate) fn gaps(&self) -> Vec<Duration> {
        let calls = self.at();
        calls.windows(2).map(|w| w[1] - w[0]).collect()
    }
}
