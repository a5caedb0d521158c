// An `impl Trait` argument taken by value is cloned per attempt when it is
// `Clone`; a borrowed `&impl Trait` is reused.
use std::fmt::Display;

use resilience::retry;

#[retry(attempts = 2, delay = "1ms")]
async fn ask(prompt: impl AsRef<str> + Clone, tag: &impl Display) -> Result<String, String> {
    Ok(format!("[{tag}] {}", prompt.as_ref()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(ask("hi", &7).await.unwrap(), "[7] hi");
    assert_eq!(ask(String::from("yo"), &"t").await.unwrap(), "[t] yo");
}
