use resilience::retry;

#[retry(attempts = 2)]
async fn ask(prompt: impl AsRef<str>) -> Result<usize, String> {
    Ok(prompt.as_ref().len())
}

fn main() {}
