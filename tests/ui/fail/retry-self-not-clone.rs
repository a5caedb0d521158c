use resilience::retry;

struct Agent;

impl Agent {
    #[retry(attempts = 2)]
    async fn ask(self) -> Result<u32, String> {
        Ok(1)
    }
}

fn main() {}
