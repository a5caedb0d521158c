use resilience::retry;

struct Connection;

#[async_trait::async_trait]
trait Agent {
    async fn ask(&self, conn: Connection) -> Result<u32, String>;
}

struct Echo;

#[async_trait::async_trait]
impl Agent for Echo {
    #[retry(attempts = 2)]
    async fn ask(&self, conn: Connection) -> Result<u32, String> {
        let _ = conn;
        Ok(1)
    }
}

fn main() {}
