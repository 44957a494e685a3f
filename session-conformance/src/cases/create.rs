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

/// A key held only by an expired record (no sweep yet) is free: create succeeds and the
/// new record is what loads.
pub async fn create_over_an_expired_record(ctx: Ctx) -> CaseResult {
    let mut old = record(&ctx, &[("owner", b"old")]);
    old.expires_at = old.created_at.plus(MINUTE);
    let k = created(&ctx, &old).await?;
    ctx.clock.advance(2 * MINUTE);
    let new = record(&ctx, &[("owner", b"new")]);
    ctx.store
        .create(&k, &new)
        .await
        .map_err(|e| Fail::Failed(format!("create over an expired record: {e:?}")))?;
    let back = must_load(&ctx, &k, "after the second create").await?;
    ensure!(
        data_of(&back, "owner") == Some(&b"new"[..]),
        "the expired record came back instead of the new one"
    );
    Ok(())
}
