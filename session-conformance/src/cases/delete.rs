//! The delete group: idempotent, and only its own key.

#[allow(unused_imports)]
use super::*;

/// Delete removes.
pub async fn delete_removes(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    must_be_none(&ctx, &k, "after delete").await
}

/// Delete is idempotent.
pub async fn delete_is_idempotent(ctx: Ctx) -> CaseResult {
    ctx.store.delete(&new_key()?).await?;
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    ctx.store.delete(&k).await?;
    must_be_none(&ctx, &k, "after two deletes").await
}

/// Delete touches only its key.
pub async fn delete_touches_only_its_key(ctx: Ctx) -> CaseResult {
    let a = created(&ctx, &record(&ctx, &[("n", b"a")])).await?;
    let b = created(&ctx, &record(&ctx, &[("n", b"b")])).await?;
    ctx.store.delete(&a).await?;
    let back = must_load(&ctx, &b, "the other record").await?;
    ensure!(
        data_of(&back, "n") == Some(&b"b"[..]),
        "the other record changed"
    );
    Ok(())
}
