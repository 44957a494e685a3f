//! The rotate group: one atomic move to a new key, the owner index following.

#[allow(unused_imports)]
use super::*;

/// Rotation moves the data atomically.
pub async fn rotate_moves_data(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1]"), ("user", b"5")]);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    must_be_none(&ctx, &old, "old key after rotation").await?;
    let back = must_load(&ctx, &new, "new key after rotation").await?;
    ensure!(back.data == r.data, "data changed in rotation");
    // The moved record continues its version history: the next save uses it.
    let mut third = back.clone();
    third.version += 1;
    ctx.store.save(&new, &third, back.version).await?;
    Ok(())
}

/// Rotation checks the version.
pub async fn rotate_stale_conflicts(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let old = created(&ctx, &r).await?;
    let mut saved = r.clone();
    saved.version += 1;
    ctx.store.save(&old, &saved, r.version).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    expect_kind(
        ctx.store.rotate(&old, &new, &next, r.version).await,
        ErrorKind::Conflict,
        "stale rotation",
    )?;
    must_load(&ctx, &old, "old key after failed rotation").await?;
    must_be_none(&ctx, &new, "new key after failed rotation").await
}

/// Rotation of a deleted session is Gone.
pub async fn rotate_never_resurrects_deleted(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let old = created(&ctx, &r).await?;
    ctx.store.delete(&old).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    expect_kind(
        ctx.store.rotate(&old, &new, &next, r.version).await,
        ErrorKind::Gone,
        "rotation after delete",
    )?;
    must_be_none(&ctx, &old, "old key").await?;
    must_be_none(&ctx, &new, "new key").await
}

/// Rotation of an expired session is Gone.
pub async fn rotate_expired_is_gone(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"1")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let old = created(&ctx, &r).await?;
    ctx.clock.advance(2 * MINUTE);
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Clock::now(&ctx.clock).plus(HOUR);
    expect_kind(
        ctx.store.rotate(&old, &new, &next, r.version).await,
        ErrorKind::Gone,
        "rotation after expiry",
    )?;
    must_be_none(&ctx, &new, "new key").await
}

/// Rotation onto a taken key is Collision.
pub async fn rotate_collision_keeps_old(ctx: Ctx) -> CaseResult {
    let a = record(&ctx, &[("n", b"a")]);
    let b = record(&ctx, &[("n", b"b")]);
    let ka = created(&ctx, &a).await?;
    let kb = created(&ctx, &b).await?;
    let mut next = a.clone();
    next.version += 1;
    expect_kind(
        ctx.store.rotate(&ka, &kb, &next, a.version).await,
        ErrorKind::Collision,
        "rotation onto a taken key",
    )?;
    let back_a = must_load(&ctx, &ka, "old key").await?;
    let back_b = must_load(&ctx, &kb, "taken key").await?;
    ensure!(
        data_of(&back_a, "n") == Some(&b"a"[..]),
        "old record changed"
    );
    ensure!(
        data_of(&back_b, "n") == Some(&b"b"[..]),
        "taken record overwritten"
    );
    Ok(())
}

/// A key held only by an expired record is free for a rotation too: the session moves
/// onto it, and the old key loads nothing.
pub async fn rotate_onto_an_expired_record(ctx: Ctx) -> CaseResult {
    let a = record(&ctx, &[("n", b"a")]);
    let mut b = record(&ctx, &[("n", b"b")]);
    b.expires_at = b.created_at.plus(MINUTE);
    let ka = created(&ctx, &a).await?;
    let kb = created(&ctx, &b).await?;
    ctx.clock.advance(2 * MINUTE);
    let mut next = a.clone();
    next.version += 1;
    ctx.store
        .rotate(&ka, &kb, &next, a.version)
        .await
        .map_err(|e| Fail::Failed(format!("rotation onto an expired record: {e:?}")))?;
    let back = must_load(&ctx, &kb, "the new key").await?;
    ensure!(
        data_of(&back, "n") == Some(&b"a"[..]),
        "the expired record came back instead of the rotated one"
    );
    must_be_none(&ctx, &ka, "the old key").await
}

/// The owner index follows a rotation.
pub async fn rotate_index_follows(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "alice", HOUR);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    let list = ctx.store.list_owner("alice").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([new]),
        "index after rotation: {list:?}"
    );
    Ok(())
}

/// A rotation can set the owner (login).
pub async fn rotate_can_set_owner(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[7]")]);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("bob".into());
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    let list = ctx.store.list_owner("bob").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([new]),
        "owner not indexed at login: {list:?}"
    );
    let back = must_load(&ctx, &new, "after login rotation").await?;
    ensure!(back.owner.as_deref() == Some("bob"), "owner not stored");
    must_be_none(&ctx, &old, "anonymous key after login").await
}
