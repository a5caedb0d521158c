// Inside a saga the output is cloned for the compensation, so it must be `Clone`.
use resilience::{compensate, saga};

struct Handle(u32);

async fn release(_handle: Handle) -> Result<(), String> {
    Ok(())
}

#[compensate(with = release)]
async fn acquire() -> Result<Handle, String> {
    Ok(Handle(1))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _ = saga(async {
        let handle = acquire().await?;
        Ok::<u32, String>(handle.0)
    })
    .await;
}
