// What the hint for `with = Self::backup` says to write: a closure over
// `self`, on `&self` and on `&mut self`; `when` and `retry_after` take
// closures too.
use std::time::Duration;

use resilience::{fallback, retry};

#[derive(Debug, thiserror::Error)]
#[error("down {0}")]
struct Down(u32);

struct Agent {
    backups: u32,
}

impl Agent {
    async fn backup(&self, error: Down) -> Result<u32, Down> {
        Ok(100 + error.0)
    }

    async fn backup_mut(&mut self, error: Down) -> Result<u32, Down> {
        self.backups += 1;
        Ok(200 + error.0)
    }

    #[fallback(with = |e| self.backup(e))]
    async fn ask(&self) -> Result<u32, Down> {
        Err(Down(1))
    }

    #[fallback(with = |e| self.backup_mut(e), when = |e: &Down| e.0 < 10)]
    #[retry(attempts = 2, delay = "1ms", when = |e: &Down| e.0 != 7, retry_after = |_: &Down| Some(Duration::from_millis(1)))]
    async fn think(&mut self, code: u32) -> Result<u32, Down> {
        Err(Down(code))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut agent = Agent { backups: 0 };
    assert_eq!(agent.ask().await.unwrap(), 101);
    assert_eq!(agent.think(2).await.unwrap(), 202);
    assert_eq!(agent.backups, 1);
    assert!(agent.think(20).await.is_err());
}
