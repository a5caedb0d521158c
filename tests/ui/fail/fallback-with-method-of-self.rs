// `with = Self::backup` names a method of `self`: `with` calls its path with
// the error alone, so the hint is the closure form.
use resilience::fallback;

#[derive(Debug, thiserror::Error)]
#[error("down")]
struct Down;

struct Agent;

impl Agent {
    async fn backup(&self, _error: Down) -> Result<u32, Down> {
        Ok(0)
    }

    #[fallback(with = Self::backup)]
    async fn ask(&self) -> Result<u32, Down> {
        Err(Down)
    }
}

fn main() {}
