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

workflow! {
    pub workflow Digest(docs: Vec<String>) -> Result<usize, AppError> {
        step summaries: resilience::Branches<String, AppError> = for doc in docs, concurrency => summarize(doc).await;
        summaries.len()
    }
}

fn main() {}
