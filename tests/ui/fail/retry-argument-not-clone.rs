use resilience::retry;

struct Connection;

#[retry(attempts = 3)]
async fn ask(prompt: &str, conn: Connection) -> Result<usize, String> {
    let _ = conn;
    Ok(prompt.len())
}

fn main() {}
