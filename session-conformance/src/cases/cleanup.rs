//! The cleanup group: the sweeper removes only what has expired.

#[allow(unused_imports)]
use super::*;

/// Cleanup removes only expired records.
pub async fn cleanup_removes_only_expired(ctx: Ctx) -> CaseResult {
    let mut short = Vec::new();
    let mut long = Vec::new();
    for i in 0..5u8 {
        let mut r = record(&ctx, &[("n", &[i])]);
        r.expires_at = r.created_at.plus(10 * MINUTE);
        short.push(created(&ctx, &r).await?);
        let mut r = record(&ctx, &[("n", &[i + 100])]);
        r.expires_at = r.created_at.plus(2 * HOUR);
        long.push((created(&ctx, &r).await?, i + 100));
    }
    ctx.clock.advance(20 * MINUTE);
    let n = ctx.store.delete_expired().await?;
    ensure!(
        n <= 5,
        "cleanup reported {n} removals; only 5 records had expired"
    );
    for k in &short {
        must_be_none(&ctx, k, "expired record after cleanup").await?;
    }
    for (k, i) in &long {
        let back = must_load(&ctx, k, "live record after cleanup").await?;
        ensure!(
            data_of(&back, "n") == Some(&[*i][..]),
            "live record altered by cleanup"
        );
    }
    let again = ctx.store.delete_expired().await?;
    ensure!(again == 0, "a second cleanup removed {again} more records");
    Ok(())
}

/// Two cleanups at once.
pub async fn cleanups_run_concurrently(ctx: Ctx) -> CaseResult {
    let mut live = Vec::new();
    for i in 0..40u8 {
        let mut r = record(&ctx, &[("n", &[i])]);
        r.expires_at = r
            .created_at
            .plus(if i % 2 == 0 { 5 * MINUTE } else { 2 * HOUR });
        let k = created(&ctx, &r).await?;
        if i % 2 == 1 {
            live.push(k);
        }
    }
    ctx.clock.advance(10 * MINUTE);
    let (a, b) = tokio::join!(ctx.store.delete_expired(), ctx.store.delete_expired());
    let (a, b) = (a?, b?);
    ensure!(
        a + b <= 20,
        "two cleanups removed {} records; only 20 had expired",
        a + b
    );
    for k in &live {
        must_load(&ctx, k, "live record after concurrent cleanups").await?;
    }
    Ok(())
}

/// A sweep at the very instant records expire removes them then, not a millisecond later.
pub async fn cleanup_at_the_expiry_instant(ctx: Ctx) -> CaseResult {
    for i in 0..3u8 {
        let mut r = record(&ctx, &[("n", &[i])]);
        r.expires_at = r.created_at.plus(10 * MINUTE);
        created(&ctx, &r).await?;
    }
    let live = created(&ctx, &record(&ctx, &[("n", b"live")])).await?;
    ctx.clock.advance(10 * MINUTE);
    let at = ctx.store.delete_expired().await?;
    ensure!(
        at <= 3,
        "a sweep at the expiry instant removed {at} records; 3 had expired"
    );
    ctx.clock.advance(Duration::from_millis(1));
    let later = ctx.store.delete_expired().await?;
    ensure!(
        later == 0,
        "a sweep 1 ms after the expiry instant removed {later} more: the first one left them"
    );
    must_load(&ctx, &live, "the live record").await?;
    Ok(())
}
