//! The save group: compare-and-swap on the version, never a resurrection.

#[allow(unused_imports)]
use super::*;

/// A save with the current version replaces the record.
pub async fn save_bumps_version(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1"), ("b", b"2")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.data.remove("a");
    next.data.insert("c".into(), Bytes::from_static(b"3"));
    next.version = r.version + 1;
    ctx.store.save(&k, &next, r.version).await?;
    let back = must_load(&ctx, &k, "after save").await?;
    ensure!(back == next, "saved record differs on load: {back:?}");
    let mut third = next.clone();
    third.version += 1;
    ctx.store.save(&k, &third, next.version).await?;
    ensure!(
        must_load(&ctx, &k, "second save").await?.version == third.version,
        "second save lost"
    );
    Ok(())
}

/// A stale version is Conflict.
pub async fn save_stale_version_conflicts(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let mut winner = r.clone();
    winner
        .data
        .insert("a".into(), Bytes::from_static(b"winner"));
    winner.version = r.version + 1;
    ctx.store.save(&k, &winner, r.version).await?;
    let mut loser = r.clone();
    loser.data.insert("a".into(), Bytes::from_static(b"loser"));
    loser.version = r.version + 1;
    expect_kind(
        ctx.store.save(&k, &loser, r.version).await,
        ErrorKind::Conflict,
        "stale save",
    )?;
    let back = must_load(&ctx, &k, "after conflict").await?;
    ensure!(
        data_of(&back, "a") == Some(&b"winner"[..]),
        "the losing save changed the record"
    );
    Ok(())
}

/// A version never stored is Conflict.
pub async fn save_future_version_conflicts(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version = r.version + 6;
    expect_kind(
        ctx.store.save(&k, &next, r.version + 5).await,
        ErrorKind::Conflict,
        "future version",
    )?;
    ensure!(
        must_load(&ctx, &k, "after").await?.version == r.version,
        "record changed"
    );
    Ok(())
}

/// Save never creates.
pub async fn save_missing_is_gone(ctx: Ctx) -> CaseResult {
    let k = new_key()?;
    let r = record(&ctx, &[("a", b"1")]);
    expect_kind(
        ctx.store.save(&k, &r, 0).await,
        ErrorKind::Gone,
        "save of a missing key",
    )?;
    expect_kind(
        ctx.store.save(&k, &r, 1).await,
        ErrorKind::Gone,
        "save of a missing key",
    )?;
    must_be_none(&ctx, &k, "after save of a missing key").await
}

/// `save_shared` (what the session handle calls) keeps `save`'s contract.
pub async fn shared_save_is_compare_and_swap(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.data.insert("a".into(), Bytes::from_static(b"2"));
    next.version = r.version + 1;
    let next = Arc::new(next);
    ctx.store.save_shared(&k, &next, r.version).await?;
    let back = must_load(&ctx, &k, "after save_shared").await?;
    ensure!(back == *next, "save_shared stored {back:?}");
    expect_kind(
        ctx.store.save_shared(&k, &next, r.version).await,
        ErrorKind::Conflict,
        "stale save_shared",
    )?;
    ensure!(
        must_load(&ctx, &k, "after stale save_shared").await? == *next,
        "a stale save_shared changed the record"
    );
    ctx.store.delete(&k).await?;
    expect_kind(
        ctx.store.save_shared(&k, &next, next.version).await,
        ErrorKind::Gone,
        "save_shared after delete",
    )?;
    must_be_none(&ctx, &k, "after save_shared of a deleted key").await
}

/// Save never resurrects a deleted session.
pub async fn save_never_resurrects_deleted(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    let mut next = r.clone();
    next.version += 1;
    expect_kind(
        ctx.store.save(&k, &next, r.version).await,
        ErrorKind::Gone,
        "save after delete",
    )?;
    must_be_none(&ctx, &k, "after save of a deleted session").await
}

/// Save never resurrects an expired session.
pub async fn save_never_resurrects_expired(ctx: Ctx) -> CaseResult {
    save_after_expiry(ctx, MINUTE, 2 * MINUTE, "save after expiry").await
}

/// A session with `lifetime` left, saved `later` (at or past its expiry) with a fresh
/// expiry: `Gone`, and it stays dead. The expiry group's case at the instant shares it.
pub(super) async fn save_after_expiry(
    ctx: Ctx,
    lifetime: Duration,
    later: Duration,
    what: &str,
) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"1")]);
    r.expires_at = r.created_at.plus(lifetime);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(later);
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Clock::now(&ctx.clock).plus(HOUR);
    expect_kind(
        ctx.store.save(&k, &next, r.version).await,
        ErrorKind::Gone,
        what,
    )?;
    must_be_none(&ctx, &k, &format!("after {what}")).await
}
