// A bare `#[fallback(default = ..)]` on a step, a step type named `H`, a
// step named like the fn it calls, and `let`/closure names shared with later
// steps all compile.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
pub struct ApiError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct H(u32);

async fn create_vm(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError) } else { Ok(7) }
}

async fn handle(vm: &u32) -> Result<H, ApiError> {
    Ok(H(*vm))
}

workflow! {
    workflow Names(fail: bool) -> Result<(u32, H, u32), ApiError> {
        #[fallback(default = 0)]
        step create_vm: u32 = create_vm(*fail).await;
        step h: H = {
            let config = *create_vm + 1;
            handle(&config).await
        };
        step config: u32 = Ok::<_, ApiError>([1, 2].iter().map(|h| h * 2).sum());
        (create_vm, h, config)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Names::new(false).run().await.unwrap(), (7, H(8), 6));
    assert_eq!(Names::new(true).run().await.unwrap(), (0, H(1), 6));
}
