use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("unreadable")]
pub struct AppError;

pub async fn summarize(doc: &str) -> Result<String, AppError> {
    Ok(doc.to_owned())
}

workflow! {
    pub workflow Digest(docs: Vec<String>) -> Result<usize, AppError> {
        step summaries: resilience::Branches<String, AppError> = for doc in docs, min_success = 0.5 => summarize(doc).await;
        summaries.len()
    }
}

fn main() {}
