use resilience::{ParallelError, workflow};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("unreadable")]
    Unreadable,
    #[error(transparent)]
    Parallel(#[from] ParallelError),
}

pub async fn summarize(doc: &str) -> Result<String, AppError> {
    if doc.is_empty() { Err(AppError::Unreadable) } else { Ok(doc.to_owned()) }
}

pub struct Critic;

impl Critic {
    pub async fn review(&self, draft: &str) -> Result<String, AppError> {
        Ok(draft.to_owned())
    }
}

workflow! {
    pub workflow Review(critics: Vec<resilience::coordination::Named<Critic>>, draft: String) -> Result<String, AppError> {
        step verdict: String = consensus critic in critics, majority = 2 => critic.review(draft).await;
        verdict
    }
}

fn main() {}
