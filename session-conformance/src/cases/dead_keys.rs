//! The dead_keys group: a key that was rotated away, deleted or logged out everywhere
//! stays dead. No write addressed to it brings it back, whatever version it carries, and
//! none of them touches the session that moved on.

#[allow(unused_imports)]
use super::*;

/// Every write a late request could still send to `dead`, with every version it could
/// know of: each must be Gone, and `dead` (and the rotation target `spare`) still load
/// nothing afterwards.
async fn every_write_is_gone(
    ctx: &Ctx,
    dead: &StoreKey,
    versions: &[u64],
    r: &Record,
) -> CaseResult {
    let now = session_core::Clock::now(&ctx.clock);
    for &v in versions {
        let mut late = r.clone();
        late.version = v.wrapping_add(1);
        // Live until well after now, so that a write that wrongly lands would show.
        late.expires_at = now.plus(HOUR);
        late.last_seen = now;
        late.data
            .insert("late".into(), Bytes::from_static(b"write"));
        expect_kind(
            ctx.store.save(dead, &late, v).await,
            ErrorKind::Gone,
            &format!("save to a dead key expecting version {v}"),
        )?;
        expect_kind(
            ctx.store
                .save_shared(dead, &Arc::new(late.clone()), v)
                .await,
            ErrorKind::Gone,
            &format!("save_shared to a dead key expecting version {v}"),
        )?;
        let spare = new_key()?;
        expect_kind(
            ctx.store.rotate(dead, &spare, &late, v).await,
            ErrorKind::Gone,
            &format!("rotation of a dead key expecting version {v}"),
        )?;
        must_be_none(ctx, &spare, "rotation target of a dead key").await?;
    }
    expect_kind(
        ctx.store.touch(dead, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch of a dead key",
    )?;
    expect_kind(
        ctx.store.acquire_lock(dead, now, now.plus(MINUTE)).await,
        ErrorKind::Gone,
        "lock of a dead key",
    )?;
    must_be_none(ctx, dead, "the dead key after late writes").await
}

/// A key rotated away stays dead, and the session at its new key is untouched.
pub async fn rotated_key_stays_dead(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "ann", HOUR);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut moved = r.clone();
    moved.version = r.version + 1;
    ctx.store.rotate(&old, &new, &moved, r.version).await?;
    let versions = [r.version, moved.version, moved.version + 1, 0, u64::MAX];
    every_write_is_gone(&ctx, &old, &versions, &r).await?;
    let back = must_load(&ctx, &new, "the rotated session").await?;
    ensure!(
        back == moved,
        "late writes to the old key changed the new one"
    );
    let listed = keys_of(&ctx.store.list_owner("ann").await?);
    ensure!(
        listed == BTreeSet::from([new]),
        "after late writes the owner lists {} keys, expected the new key only",
        listed.len()
    );
    Ok(())
}

/// A deleted key stays dead, whatever version a late write carries.
pub async fn deleted_key_stays_dead(ctx: Ctx) -> CaseResult {
    let mut r = owned(&ctx, "bo", HOUR);
    r.version = 5;
    let k = created(&ctx, &r).await?;
    let mut saved = r.clone();
    saved.version = 6;
    ctx.store.save(&k, &saved, 5).await?;
    ctx.store.delete(&k).await?;
    every_write_is_gone(&ctx, &k, &[5, 6, 7, 0, u64::MAX], &r).await?;
    ensure!(
        ctx.store.list_owner("bo").await?.is_empty(),
        "a late write put the deleted session back in the owner's listing"
    );
    Ok(())
}

/// Sessions ended by "log out everywhere" stay dead, and the kept one stays live.
pub async fn logged_out_keys_stay_dead(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "cy", HOUR);
    let a = created(&ctx, &r).await?;
    let b = created(&ctx, &r).await?;
    let keep = created(&ctx, &r).await?;
    let n = ctx.store.delete_owner("cy", Some(&keep)).await?;
    ensure!(
        n == 2,
        "log out other devices deleted {n} sessions, expected 2"
    );
    for k in [a, b] {
        every_write_is_gone(&ctx, &k, &[r.version, r.version + 1], &r).await?;
    }
    let listed = keys_of(&ctx.store.list_owner("cy").await?);
    ensure!(
        listed == BTreeSet::from([keep]),
        "after late writes the owner lists {} sessions, expected the kept one",
        listed.len()
    );
    must_load(&ctx, &keep, "the kept session").await?;
    Ok(())
}

/// An expired key stays dead, whatever version a late write carries, before and after a
/// sweep.
pub async fn expired_key_stays_dead(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "di", 10 * MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(11 * MINUTE);
    every_write_is_gone(&ctx, &k, &[r.version, r.version + 1, 0], &r).await?;
    ctx.store.delete_expired().await?;
    every_write_is_gone(&ctx, &k, &[r.version, r.version + 1], &r).await?;
    ensure!(
        ctx.store.list_owner("di").await?.is_empty(),
        "an expired session is listed after late writes"
    );
    Ok(())
}
