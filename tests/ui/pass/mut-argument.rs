// A `mut` argument: each attempt starts from a fresh clone of the original.
use resilience::retry;

#[retry(attempts = 3, backoff = constant, delay = "1ms")]
async fn grow(mut items: Vec<u32>, mut n: u32) -> Result<usize, String> {
    items.push(n);
    n += 1;
    if items.len() < 2 {
        return Err(format!("too short after {n}"));
    }
    Ok(items.len())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The clone is fresh each time, so the pushes do not accumulate.
    assert!(grow(Vec::new(), 0).await.is_err());
    assert_eq!(grow(vec![7], 0).await.unwrap(), 2);
}
