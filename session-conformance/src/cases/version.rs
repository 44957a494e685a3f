//! The version group: after each operation the stored version is what the contract says,
//! and every write addressed with any other version than the current one is a Conflict
//! that changes nothing.

#[allow(unused_imports)]
use super::*;

/// Versions wrong by one either way, far off, zero and the largest: none is current.
fn wrong_versions(current: u64) -> [u64; 6] {
    [
        current.wrapping_sub(1),
        current.wrapping_add(1),
        current.wrapping_add(2),
        current.wrapping_add(1 << 32),
        0,
        u64::MAX,
    ]
}

/// Create stores the record's version; save stores the new record's; touch keeps it;
/// rotate carries the given record's version to the new key.
pub async fn version_follows_each_operation(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"1")]);
    r.version = 7;
    let k = created(&ctx, &r).await?;
    let v = must_load(&ctx, &k, "after create").await?.version;
    ensure!(v == 7, "create stored version {v}, the record had 7");
    // A save may jump: the store keeps the version it is given, not expected + 1.
    let mut next = r.clone();
    next.version = 19;
    ctx.store.save(&k, &next, 7).await?;
    let v = must_load(&ctx, &k, "after save").await?.version;
    ensure!(v == 19, "save stored version {v}, the record had 19");
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(2 * HOUR), now).await?;
    let v = must_load(&ctx, &k, "after touch").await?.version;
    ensure!(v == 19, "touch changed the version to {v}");
    let mut shared = next.clone();
    shared.version = 20;
    ctx.store.save_shared(&k, &Arc::new(shared), 19).await?;
    let v = must_load(&ctx, &k, "after save_shared").await?.version;
    ensure!(v == 20, "save_shared stored version {v}, the record had 20");
    let new = new_key()?;
    let mut moved = next.clone();
    moved.version = 21;
    ctx.store.rotate(&k, &new, &moved, 20).await?;
    let v = must_load(&ctx, &new, "after rotate").await?.version;
    ensure!(v == 21, "rotate stored version {v}, the record had 21");
    // The old key's history is over: its version is no key to the new one.
    expect_kind(
        ctx.store.save(&new, &moved, 20).await,
        ErrorKind::Conflict,
        "save to the new key with the old key's version",
    )?;
    Ok(())
}

/// Every wrong version is a Conflict for save and save_shared, and changes nothing.
pub async fn every_wrong_version_conflicts(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"kept")]);
    r.version = 1000;
    let k = created(&ctx, &r).await?;
    for wrong in wrong_versions(1000) {
        let mut next = r.clone();
        next.data
            .insert("a".into(), Bytes::from_static(b"overwritten"));
        next.version = wrong.wrapping_add(1);
        expect_kind(
            ctx.store.save(&k, &next, wrong).await,
            ErrorKind::Conflict,
            &format!("save expecting version {wrong} (stored 1000)"),
        )?;
        expect_kind(
            ctx.store.save_shared(&k, &Arc::new(next), wrong).await,
            ErrorKind::Conflict,
            &format!("save_shared expecting version {wrong} (stored 1000)"),
        )?;
        let back = must_load(&ctx, &k, "after a conflicting save").await?;
        ensure!(
            back.version == 1000 && data_of(&back, "a") == Some(&b"kept"[..]),
            "a save expecting version {wrong} changed the record (version now {})",
            back.version
        );
    }
    Ok(())
}

/// Every wrong version is a Conflict for rotate: neither key changes.
pub async fn every_wrong_version_conflicts_on_rotate(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"kept")]);
    r.version = 1000;
    let k = created(&ctx, &r).await?;
    for wrong in wrong_versions(1000) {
        let new = new_key()?;
        let mut next = r.clone();
        next.version = wrong.wrapping_add(1);
        expect_kind(
            ctx.store.rotate(&k, &new, &next, wrong).await,
            ErrorKind::Conflict,
            &format!("rotate expecting version {wrong} (stored 1000)"),
        )?;
        must_be_none(&ctx, &new, "new key after a conflicting rotation").await?;
        let back = must_load(&ctx, &k, "old key after a conflicting rotation").await?;
        ensure!(back.version == 1000, "the old key's version moved");
    }
    Ok(())
}

/// A save that lost to another one conflicts again when retried with the same version,
/// and succeeds with the winner's.
pub async fn conflict_then_current_version_succeeds(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("n", b"0")]);
    let k = created(&ctx, &r).await?;
    let mut winner = r.clone();
    winner.version = r.version + 1;
    winner.data.insert("n".into(), Bytes::from_static(b"1"));
    ctx.store.save(&k, &winner, r.version).await?;
    let mut loser = r.clone();
    loser.version = r.version + 1;
    loser.data.insert("n".into(), Bytes::from_static(b"lost"));
    for _ in 0..2 {
        expect_kind(
            ctx.store.save(&k, &loser, r.version).await,
            ErrorKind::Conflict,
            "retried stale save",
        )?;
    }
    let mut merged = winner.clone();
    merged.version = winner.version + 1;
    merged.data.insert("n".into(), Bytes::from_static(b"2"));
    ctx.store.save(&k, &merged, winner.version).await?;
    let back = must_load(&ctx, &k, "after the merged save").await?;
    ensure!(
        back.version == merged.version && data_of(&back, "n") == Some(&b"2"[..]),
        "the save with the current version did not land"
    );
    Ok(())
}
