// A destructured argument is bound again from a clone in each attempt.
use resilience::retry;

#[retry(attempts = 3, delay = "1ms")]
async fn join((left, right): (String, String), [a, b]: [u8; 2]) -> Result<String, String> {
    Ok(format!("{left}{right}{a}{b}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let joined = join(("a".to_owned(), "b".to_owned()), [1, 2]).await.unwrap();
    assert_eq!(joined, "ab12");
}
