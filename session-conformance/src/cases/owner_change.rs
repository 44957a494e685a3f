//! The owner_change group: every operation that can change a session's owner (save and
//! rotate: to another owner, from none, to none), and what listing and "log out
//! everywhere" show afterwards for the old owner and the new one.

#[allow(unused_imports)]
use super::*;

/// What the owner's listing holds, as keys.
async fn listed(ctx: &Ctx, owner: &str) -> Result<BTreeSet<StoreKey>, Fail> {
    Ok(keys_of(&ctx.store.list_owner(owner).await?))
}

/// `from` no longer lists `k` and cannot end it; `to` lists it and can.
async fn moved_between(ctx: &Ctx, k: &StoreKey, from: &str, to: Option<&str>) -> CaseResult {
    ensure!(
        !listed(ctx, from).await?.contains(k),
        "the old owner still lists the session"
    );
    let n = ctx.store.delete_owner(from, None).await?;
    ensure!(
        n == 0,
        "log out everywhere of the old owner deleted {n} sessions"
    );
    must_load(
        ctx,
        k,
        "the session after the old owner logged out everywhere",
    )
    .await?;
    if let Some(to) = to {
        ensure!(
            listed(ctx, to).await? == BTreeSet::from([*k]),
            "the new owner does not list exactly the session"
        );
        let n = ctx.store.delete_owner(to, None).await?;
        ensure!(
            n == 1,
            "log out everywhere of the new owner deleted {n} sessions"
        );
        must_be_none(
            ctx,
            k,
            "the session after the new owner logged out everywhere",
        )
        .await?;
    }
    Ok(())
}

/// A rotation that changes the owner (logging in as someone else) moves the listing.
pub async fn rotate_to_another_owner(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "amy", HOUR);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("ben".into());
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    ensure!(
        listed(&ctx, "amy").await?.is_empty(),
        "the old owner lists a session after rotating to another owner"
    );
    moved_between(&ctx, &new, "amy", Some("ben")).await
}

/// A rotation that drops the owner (logging out but keeping the cart) leaves no listing.
pub async fn rotate_drops_owner(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "cat", HOUR);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = None;
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    moved_between(&ctx, &new, "cat", None).await?;
    let back = must_load(&ctx, &new, "the anonymous session").await?;
    ensure!(back.owner.is_none(), "the rotated session kept its owner");
    Ok(())
}

/// A save that drops the owner leaves no listing and survives the old owner's logout.
pub async fn save_drops_owner(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "dan", HOUR);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = None;
    ctx.store.save(&k, &next, r.version).await?;
    moved_between(&ctx, &k, "dan", None).await
}

/// A save from anonymous to an owner (login without rotation) is listed and revocable.
pub async fn save_adds_owner(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1]")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("eve".into());
    ctx.store.save(&k, &next, r.version).await?;
    ensure!(
        listed(&ctx, "eve").await? == BTreeSet::from([k]),
        "the new owner does not list the session"
    );
    let n = ctx.store.delete_owner("eve", None).await?;
    ensure!(
        n == 1,
        "log out everywhere deleted {n} sessions, expected 1"
    );
    must_be_none(&ctx, &k, "the session after log out everywhere").await
}

/// An owner changed twice (A to B, B back to A) is listed once, under A only.
pub async fn owner_changes_back_and_forth(ctx: Ctx) -> CaseResult {
    let mut r = owned(&ctx, "fay", HOUR);
    let k = created(&ctx, &r).await?;
    for owner in ["gus", "fay", "gus", "fay"] {
        let mut next = r.clone();
        next.version += 1;
        next.owner = Some(owner.into());
        ctx.store.save(&k, &next, r.version).await?;
        r = next;
    }
    let list = ctx.store.list_owner("fay").await?;
    ensure!(
        list.len() == 1 && keys_of(&list) == BTreeSet::from([k]),
        "after four owner changes fay lists {} entries, expected the session once",
        list.len()
    );
    let other = new_key()?;
    let mut rotated = r.clone();
    rotated.version += 1;
    ctx.store.rotate(&k, &other, &rotated, r.version).await?;
    let list = ctx.store.list_owner("fay").await?;
    ensure!(
        list.len() == 1 && keys_of(&list) == BTreeSet::from([other]),
        "after four owner changes and a rotation, fay lists {} entries, expected the session once",
        list.len()
    );
    ensure!(listed(&ctx, "gus").await?.is_empty(), "gus still lists it");
    let n = ctx.store.delete_owner("gus", None).await?;
    ensure!(n == 0, "gus's logout deleted {n} sessions");
    let n = ctx.store.delete_owner("fay", None).await?;
    ensure!(n == 1, "fay's logout deleted {n} sessions, expected 1");
    Ok(())
}

/// Owner changes keep other sessions of both owners where they were.
pub async fn owner_change_spares_other_sessions(ctx: Ctx) -> CaseResult {
    let a1 = created(&ctx, &owned(&ctx, "hal", HOUR)).await?;
    let b1 = created(&ctx, &owned(&ctx, "ida", HOUR)).await?;
    let r = owned(&ctx, "hal", HOUR);
    let moving = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("ida".into());
    ctx.store.rotate(&moving, &new, &next, r.version).await?;
    ensure!(
        listed(&ctx, "hal").await? == BTreeSet::from([a1]),
        "hal's other session is not listed alone"
    );
    ensure!(
        listed(&ctx, "ida").await? == BTreeSet::from([b1, new]),
        "ida does not list her session and the moved one"
    );
    let n = ctx.store.delete_owner("ida", Some(&b1)).await?;
    ensure!(
        n == 1,
        "ida's log out other devices deleted {n}, expected 1"
    );
    must_load(&ctx, &a1, "hal's session").await?;
    must_load(&ctx, &b1, "ida's kept session").await?;
    must_be_none(&ctx, &new, "the moved session").await
}

/// "Log out everywhere" counts the live sessions it ended, not expired ones it swept up.
pub async fn delete_owner_counts_only_live(ctx: Ctx) -> CaseResult {
    for _ in 0..2 {
        created(&ctx, &owned(&ctx, "jon", 10 * MINUTE)).await?;
    }
    let live = created(&ctx, &owned(&ctx, "jon", 2 * HOUR)).await?;
    let kept = created(&ctx, &owned(&ctx, "jon", 2 * HOUR)).await?;
    ctx.clock.advance(20 * MINUTE);
    let n = ctx.store.delete_owner("jon", Some(&kept)).await?;
    ensure!(
        n == 1,
        "log out other devices reported {n} sessions; 1 other was live"
    );
    must_be_none(&ctx, &live, "the ended session").await?;
    must_load(&ctx, &kept, "the kept session").await?;
    let n = ctx.store.delete_owner("jon", None).await?;
    ensure!(
        n == 1,
        "log out everywhere reported {n} sessions; 1 was live"
    );
    Ok(())
}

/// An owner's session leaves the listing and "log out everywhere" at the very instant it
/// expires, not a millisecond later.
pub async fn owner_expiry_boundary_is_exact(ctx: Ctx) -> CaseResult {
    let k = created(&ctx, &owned(&ctx, "kai", 10 * MINUTE)).await?;
    ctx.clock.advance(10 * MINUTE - Duration::from_millis(1));
    ensure!(
        listed(&ctx, "kai").await? == BTreeSet::from([k]),
        "a session 1 ms before its expiry is not listed"
    );
    ctx.clock.advance(Duration::from_millis(1));
    ensure!(
        listed(&ctx, "kai").await?.is_empty(),
        "a session at the instant of its expiry is still listed"
    );
    let n = ctx.store.delete_owner("kai", None).await?;
    ensure!(
        n == 0,
        "log out everywhere at the instant of expiry counted {n} sessions"
    );
    Ok(())
}
