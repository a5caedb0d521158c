// A worker resumes runs from their checkpoints, by name: it runs durable
// workflows only. Registering a workflow declared without `durable` is one
// error, at the type, that says how to declare it.
use resilience::durable::Worker;
use resilience::{MemoryStore, workflow};

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

workflow! {
    workflow Fetch(topic: String) -> Result<usize, ApiError> {
        step size: usize = async { Ok::<_, ApiError>(topic.len()) }.await;
        size
    }
}

fn main() {
    let _worker = Worker::new(MemoryStore::new()).register::<Fetch>();
}
