//! The owner group: listings of live sessions only, and revocation.

#[allow(unused_imports)]
use super::*;

/// Listing holds exactly the live sessions.
pub async fn owner_lists_live_sessions(ctx: Ctx) -> CaseResult {
    let mut keys = BTreeSet::new();
    for _ in 0..5 {
        keys.insert(created(&ctx, &owned(&ctx, "carol", HOUR)).await?);
    }
    created(&ctx, &record(&ctx, &[("anon", b"1")])).await?;
    let list = ctx.store.list_owner("carol").await?;
    ensure!(
        list.len() == 5,
        "listed {} sessions, expected 5 (duplicates?)",
        list.len()
    );
    ensure!(keys_of(&list) == keys, "listed keys differ");
    ensure!(
        ctx.store.list_owner("nobody").await?.is_empty(),
        "unknown owner has sessions"
    );
    Ok(())
}

/// Expired sessions are not listed.
pub async fn owner_list_drops_expired(ctx: Ctx) -> CaseResult {
    let _short = created(&ctx, &owned(&ctx, "dave", 10 * MINUTE)).await?;
    let long = created(&ctx, &owned(&ctx, "dave", 2 * HOUR)).await?;
    ctx.clock.advance(20 * MINUTE);
    let list = ctx.store.list_owner("dave").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([long]),
        "expired session listed: {list:?}"
    );
    Ok(())
}

/// Deleted sessions are not listed.
pub async fn owner_list_drops_deleted(ctx: Ctx) -> CaseResult {
    let a = created(&ctx, &owned(&ctx, "erin", HOUR)).await?;
    let b = created(&ctx, &owned(&ctx, "erin", HOUR)).await?;
    ctx.store.delete(&a).await?;
    let list = ctx.store.list_owner("erin").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([b]),
        "deleted session listed: {list:?}"
    );
    ctx.store.delete(&b).await?;
    ensure!(
        ctx.store.list_owner("erin").await?.is_empty(),
        "deleted sessions listed"
    );
    Ok(())
}

/// Owners are isolated.
pub async fn owners_are_isolated(ctx: Ctx) -> CaseResult {
    let f = created(&ctx, &owned(&ctx, "frank", HOUR)).await?;
    let g = created(&ctx, &owned(&ctx, "grace", HOUR)).await?;
    // A prefix of another owner's name is another owner.
    let fr = created(&ctx, &owned(&ctx, "fran", HOUR)).await?;
    ensure!(
        keys_of(&ctx.store.list_owner("frank").await?) == BTreeSet::from([f]),
        "frank's listing wrong"
    );
    let n = ctx.store.delete_owner("frank", None).await?;
    ensure!(n == 1, "deleted {n} sessions for frank, expected 1");
    must_load(
        &ctx,
        &g,
        "grace's session after frank logged out everywhere",
    )
    .await?;
    must_load(
        &ctx,
        &fr,
        "fran's session after frank logged out everywhere",
    )
    .await?;
    Ok(())
}

/// Listings carry metadata.
pub async fn owner_listing_has_metadata(ctx: Ctx) -> CaseResult {
    let mut r = owned(&ctx, "heidi", HOUR);
    r.user_agent = Some("TestBrowser/1.0".into());
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(HOUR), now).await?;
    let list = ctx.store.list_owner("heidi").await?;
    let [s] = list.as_slice() else {
        return Err(Fail::Failed(format!(
            "expected one session, got {}",
            list.len()
        )));
    };
    ensure!(s.key == k, "wrong key listed");
    ensure!(s.created_at == r.created_at, "created_at wrong in listing");
    ensure!(
        s.last_seen == now,
        "last_seen not updated by touch in listing"
    );
    ensure!(
        s.expires_at == now.plus(HOUR),
        "expires_at wrong in listing"
    );
    ensure!(
        s.user_agent.as_deref() == Some("TestBrowser/1.0"),
        "user agent missing"
    );
    Ok(())
}

/// Log out everywhere.
pub async fn delete_owner_removes_all(ctx: Ctx) -> CaseResult {
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(created(&ctx, &owned(&ctx, "ivan", HOUR)).await?);
    }
    let n = ctx.store.delete_owner("ivan", None).await?;
    ensure!(n == 4, "deleted {n}, expected 4");
    for k in &keys {
        must_be_none(&ctx, k, "after log out everywhere").await?;
    }
    ensure!(
        ctx.store.list_owner("ivan").await?.is_empty(),
        "listing not empty"
    );
    Ok(())
}

/// Log out other devices.
pub async fn delete_owner_keeps_one(ctx: Ctx) -> CaseResult {
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(created(&ctx, &owned(&ctx, "judy", HOUR)).await?);
    }
    let n = ctx.store.delete_owner("judy", Some(&keys[2])).await?;
    ensure!(n == 3, "deleted {n}, expected 3");
    for (i, k) in keys.iter().enumerate() {
        if i == 2 {
            must_load(&ctx, k, "the kept session").await?;
        } else {
            must_be_none(&ctx, k, "another device").await?;
        }
    }
    let list = ctx.store.list_owner("judy").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([keys[2]]),
        "listing after revocation: {list:?}"
    );
    Ok(())
}

/// A save that changes the owner moves the index entry.
pub async fn save_owner_change_moves_index(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "mallory", HOUR);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("niaj".into());
    ctx.store.save(&k, &next, r.version).await?;
    ensure!(
        ctx.store.list_owner("mallory").await?.is_empty(),
        "old owner still lists it"
    );
    ensure!(
        keys_of(&ctx.store.list_owner("niaj").await?) == BTreeSet::from([k]),
        "new owner does not list it"
    );
    let mut anon = next.clone();
    anon.version += 1;
    anon.owner = None;
    ctx.store.save(&k, &anon, next.version).await?;
    ensure!(
        ctx.store.list_owner("niaj").await?.is_empty(),
        "owner removed but still listed"
    );
    Ok(())
}
