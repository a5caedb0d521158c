// `with = Self::finish` names a method that takes `self` by value: it is
// refused at the path, with the closure form.
use resilience::fallback;

#[derive(Debug, thiserror::Error)]
#[error("down")]
struct Down;

#[derive(Clone)]
struct Agent;

impl Agent {
    async fn finish(self, _error: Down) -> Result<u32, Down> {
        Ok(0)
    }

    #[fallback(with = Self::finish)]
    async fn ask(self) -> Result<u32, Down> {
        Err(Down)
    }
}

fn main() {}
