//! The isolation group: two stores on one backend (two prefixes, tables or tenants: the
//! fixture's store and its sibling) never see each other. Nothing done through one,
//! including owner listing, log out everywhere and sweeping, is visible through the other.

#[allow(unused_imports)]
use super::*;

/// The same key in both stores holds two independent sessions.
pub async fn sibling_keys_are_separate(ctx: Ctx) -> CaseResult {
    let other = sibling(&ctx)?;
    let r = record(&ctx, &[("who", b"here")]);
    let k = created(&ctx, &r).await?;
    ensure!(
        other.load(&k).await?.is_none(),
        "the sibling loads a record created in the store"
    );
    let only_theirs = created_in(&*other, &record(&ctx, &[("who", b"there")])).await?;
    must_be_none(&ctx, &only_theirs, "a key only the sibling holds").await?;
    let theirs = record(&ctx, &[("who", b"there")]);
    other.create(&k, &theirs).await?;
    let mine = must_load(&ctx, &k, "the store's record").await?;
    ensure!(
        data_of(&mine, "who") == Some(&b"here"[..]),
        "the sibling's create changed the store's record"
    );
    let mut next = r.clone();
    next.version += 1;
    next.data.insert("who".into(), Bytes::from_static(b"saved"));
    ctx.store.save(&k, &next, r.version).await?;
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(3 * HOUR), now).await?;
    ctx.store.delete(&k).await?;
    must_be_none(
        &ctx,
        &k,
        "the store's deleted record, which the sibling also holds",
    )
    .await?;
    let back = other
        .load(&k)
        .await?
        .ok_or_else(|| Fail::Failed("deleting in the store removed the sibling's record".into()))?;
    ensure!(
        back == theirs,
        "the store's save, touch or delete changed the sibling's record"
    );
    Ok(())
}

/// Rotation and locks in one store neither collide with nor hold the other's keys.
pub async fn sibling_rotation_and_locks_are_separate(ctx: Ctx) -> CaseResult {
    let other = sibling(&ctx)?;
    let r = record(&ctx, &[("n", b"1")]);
    let taken = new_key()?;
    other.create(&taken, &r).await?;
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    ctx.store.rotate(&k, &taken, &next, r.version).await?;
    ensure!(
        other.load(&taken).await?.as_ref() == Some(&r),
        "a rotation in the store changed the sibling's record under the target key"
    );
    let now = session_core::Clock::now(&ctx.clock);
    let mine = ctx
        .store
        .acquire_lock(&taken, now, now.plus(MINUTE))
        .await?;
    ensure!(
        matches!(mine, session_core::LockAttempt::Taken(_)),
        "the store could not lock its own session: {mine:?}"
    );
    let theirs = other.acquire_lock(&taken, now, now.plus(MINUTE)).await?;
    ensure!(
        matches!(theirs, session_core::LockAttempt::Taken(_)),
        "the store's lock holds the sibling's session of the same key: {theirs:?}"
    );
    Ok(())
}

/// Owner listing and log out everywhere see only their own store's sessions.
pub async fn sibling_owners_are_separate(ctx: Ctx) -> CaseResult {
    let other = sibling(&ctx)?;
    let r = owned(&ctx, "joy", HOUR);
    let mine = created(&ctx, &r).await?;
    let theirs = created_in(&*other, &r).await?;
    let also_theirs = created_in(&*other, &r).await?;
    ensure!(
        keys_of(&ctx.store.list_owner("joy").await?) == BTreeSet::from([mine]),
        "the store's listing holds the sibling's sessions"
    );
    let n = ctx.store.delete_owner("joy", None).await?;
    ensure!(
        n == 1,
        "log out everywhere in the store deleted {n} sessions, expected 1"
    );
    ensure!(
        keys_of(&other.list_owner("joy").await?) == BTreeSet::from([theirs, also_theirs]),
        "log out everywhere in the store ended sessions of the sibling"
    );
    let n = other.delete_owner("joy", Some(&theirs)).await?;
    ensure!(
        n == 1,
        "log out other devices in the sibling deleted {n}, expected 1"
    );
    must_be_none(&ctx, &mine, "the store's session").await?;
    ensure!(
        other.load(&theirs).await?.is_some(),
        "the sibling's kept session is gone"
    );
    Ok(())
}

/// A sweep of one store neither removes nor counts the other's records.
pub async fn sibling_sweeps_are_separate(ctx: Ctx) -> CaseResult {
    let other = sibling(&ctx)?;
    let mut theirs_short = Vec::new();
    for _ in 0..3 {
        theirs_short.push(created_in(&*other, &owned(&ctx, "kim", 10 * MINUTE)).await?);
    }
    let theirs_long = created_in(&*other, &owned(&ctx, "kim", 2 * HOUR)).await?;
    let mine = created(&ctx, &owned(&ctx, "kim", 2 * HOUR)).await?;
    ctx.clock.advance(20 * MINUTE);
    let n = ctx.store.delete_expired().await?;
    ensure!(
        n == 0,
        "a sweep of the store, which had nothing expired, removed {n} records"
    );
    must_load(&ctx, &mine, "the store's live session").await?;
    ensure!(
        other.load(&theirs_long).await?.is_some(),
        "a sweep of the store removed the sibling's live session"
    );
    let n = other.delete_expired().await?;
    ensure!(
        n <= 3,
        "the sibling's sweep removed {n} records; it had 3 expired"
    );
    ensure!(
        keys_of(&other.list_owner("kim").await?) == BTreeSet::from([theirs_long]),
        "the sibling's listing after its sweep is not its live session alone"
    );
    ensure!(
        keys_of(&ctx.store.list_owner("kim").await?) == BTreeSet::from([mine]),
        "the store's listing after both sweeps is not its live session alone"
    );
    Ok(())
}
