// A `mut` argument of an `#[async_trait]` method under `#[retry]`: each attempt
// gets a fresh clone, and no `unused_mut` warning is emitted.
#![deny(unused_mut)]

use resilience::retry;

#[async_trait::async_trait]
trait Agent {
    async fn ask(&self, items: Vec<u32>) -> Result<usize, String>;
}

struct Echo;

#[async_trait::async_trait]
impl Agent for Echo {
    #[retry(attempts = 2, delay = "1ms")]
    async fn ask(&self, mut items: Vec<u32>) -> Result<usize, String> {
        items.push(1);
        if items.len() < 2 {
            return Err("too short".into());
        }
        Ok(items.len())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(Echo.ask(Vec::new()).await.is_err());
    assert_eq!(Echo.ask(vec![7]).await.unwrap(), 2);
}
