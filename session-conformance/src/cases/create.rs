//! The create group: create never overwrites.

#[allow(unused_imports)]
use super::*;

/// Create never overwrites.
pub async fn create_never_overwrites(ctx: Ctx) -> CaseResult {
    let first = record(&ctx, &[("owner", b"first")]);
    let k = created(&ctx, &first).await?;
    let second = record(&ctx, &[("owner", b"second")]);
    expect_kind(
        ctx.store.create(&k, &second).await,
        ErrorKind::Collision,
        "create on a live key",
    )?;
    let back = must_load(&ctx, &k, "after collision").await?;
    ensure!(
        data_of(&back, "owner") == Some(&b"first"[..]),
        "create overwrote the existing record"
    );
    Ok(())
}
