// Generic parameters, where-clauses and lifetimes pass through unchanged.
use std::fmt::Debug;

use resilience::{retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("not found")]
    NotFound,
}

#[retry(attempts = 2, delay = "1ms")]
#[timeout("1s")]
async fn find<'a, 'b, T, K>(items: &'a [T], key: K, _label: &'b str) -> Result<&'a T, AgentError>
where
    T: PartialEq<K> + Sync,
    K: Clone + Send,
{
    items.iter().find(|item| **item == key).ok_or(AgentError::NotFound)
}

struct Store<T> {
    items: Vec<T>,
}

impl<T> Store<T>
where
    T: Clone + Debug + Send + Sync,
{
    #[retry(attempts = 2, delay = "1ms")]
    async fn first<E>(&self, fallback: T) -> Result<T, E>
    where
        E: From<resilience::Elapsed>,
    {
        Ok(self.items.first().cloned().unwrap_or(fallback))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let items = [1, 2, 3];
    assert_eq!(*find(&items, 2, "ints").await.unwrap(), 2);
    let store = Store { items: vec!["a"] };
    let first: Result<&str, AgentError> = store.first("z").await;
    assert_eq!(first.unwrap(), "a");
}
