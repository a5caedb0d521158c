use resilience::{fallback, retry, timeout};

#[derive(Debug, thiserror::Error, PartialEq)]
enum E {
    #[error("boom {0}")]
    Boom(u32),
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[fallback(default = 7)]
#[retry(attempts = 3)]
#[timeout("1s")]
async fn f(n: &std::sync::atomic::AtomicU32, s: String) -> Result<u32, E> {
    let k = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if s.is_empty() {
        return Err(E::Boom(k));
    }
    Ok(k)
}

#[tokio::test(start_paused = true)]
async fn smoke() {
    let n = std::sync::atomic::AtomicU32::new(0);
    assert_eq!(f(&n, String::new()).await, Ok(7));
    assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 3);
}
