//! The expiry group: expired is gone before any cleanup, and touch never revives.

#[allow(unused_imports)]
use super::*;

/// Expired is None even before cleanup.
pub async fn expired_is_none_before_cleanup(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(10 * MINUTE);
    let k = created(&ctx, &r).await?;
    must_load(&ctx, &k, "before expiry").await?;
    ctx.clock.advance(11 * MINUTE);
    must_be_none(&ctx, &k, "after expiry, before cleanup").await
}

/// Expiry is exact to the millisecond.
pub async fn expiry_boundary_is_exact(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE - Duration::from_millis(1));
    must_load(&ctx, &k, "1 ms before expiry").await?;
    ctx.clock.advance(Duration::from_millis(1));
    must_be_none(&ctx, &k, "at expires_at").await
}

/// A save with a past expiry ends the session.
pub async fn save_with_past_expiry_deletes(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("k", b"v")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Timestamp::from_millis(r.created_at.as_millis() - 1);
    ctx.store.save(&k, &next, r.version).await?;
    must_be_none(&ctx, &k, "after saving an already-expired record").await
}

/// A save whose new expiry is the present instant ends the session: live means before
/// `expires_at`, never at it.
pub async fn save_expiring_now_deletes(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("k", b"v")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Clock::now(&ctx.clock);
    ctx.store.save(&k, &next, r.version).await?;
    must_be_none(&ctx, &k, "after saving a record that expires now").await?;
    ctx.clock.advance(Duration::from_millis(1));
    must_be_none(&ctx, &k, "a millisecond later").await
}

/// Touch extends expiry.
pub async fn touch_extends_expiry(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(10 * MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(5 * MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(30 * MINUTE), now).await?;
    ctx.clock.advance(20 * MINUTE);
    let back = must_load(&ctx, &k, "after the old deadline, within the new one").await?;
    ensure!(
        back.expires_at == now.plus(30 * MINUTE),
        "expiry not moved: {:?}",
        back.expires_at
    );
    ensure!(back.last_seen == now, "last_seen not moved");
    ctx.clock.advance(11 * MINUTE);
    must_be_none(&ctx, &k, "after the new deadline").await
}

/// Touch changes neither data nor version.
pub async fn touch_keeps_data_and_version(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1,2,3]"), ("user", b"9")]);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(HOUR), now).await?;
    let back = must_load(&ctx, &k, "after touch").await?;
    ensure!(back.data == r.data, "touch changed the data");
    ensure!(back.version == r.version, "touch changed the version");
    ensure!(
        back.owner == r.owner && back.created_at == r.created_at,
        "touch changed metadata"
    );
    // A save with the pre-touch version still succeeds: touch is not a data write.
    let mut next = back.clone();
    next.version += 1;
    ctx.store.save(&k, &next, r.version).await?;
    Ok(())
}

/// Touch of a missing key is Gone.
pub async fn touch_missing_is_gone(ctx: Ctx) -> CaseResult {
    let k = new_key()?;
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch of missing",
    )?;
    must_be_none(&ctx, &k, "after touch of a missing key").await
}

/// Touch never revives an expired record.
pub async fn touch_never_revives_expired(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(2 * MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch of expired",
    )?;
    must_be_none(&ctx, &k, "after touch of an expired record").await
}

/// Touch never revives a deleted record.
pub async fn touch_never_revives_deleted(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("k", b"v")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch after delete",
    )?;
    must_be_none(&ctx, &k, "after touch of a deleted record").await
}

/// `load_shared` (what the session handle calls) agrees with `load` in every state.
pub async fn shared_load_agrees(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let shared = ctx.store.load_shared(&k).await?;
    ensure!(
        shared.as_deref() == Some(&r),
        "load_shared after create: {shared:?}"
    );
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(2 * HOUR), now).await?;
    let (plain, shared) = (ctx.store.load(&k).await?, ctx.store.load_shared(&k).await?);
    ensure!(
        plain.is_some() && shared.as_deref() == plain.as_ref(),
        "after touch, load_shared {shared:?} differs from load {plain:?}"
    );
    ctx.clock.advance(3 * HOUR);
    ensure!(
        ctx.store.load_shared(&k).await?.is_none(),
        "load_shared returned an expired record"
    );
    ensure!(
        ctx.store.load_shared(&new_key()?).await?.is_none(),
        "load_shared of a missing key is not None"
    );
    Ok(())
}

/// A touch at the very instant of expiry is too late: Gone, and nothing comes back.
pub async fn touch_at_expiry_is_gone(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch at the instant of expiry",
    )?;
    must_be_none(&ctx, &k, "after a touch at the instant of expiry").await?;
    ctx.clock.advance(Duration::from_millis(1));
    must_be_none(&ctx, &k, "a millisecond later").await
}

/// A save at the very instant of expiry is too late: Gone, and nothing comes back.
pub async fn save_at_expiry_is_gone(ctx: Ctx) -> CaseResult {
    super::save::save_after_expiry(ctx, MINUTE, MINUTE, "a save at the instant of expiry").await
}
