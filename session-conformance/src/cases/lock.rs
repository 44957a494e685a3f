//! The lock group: the per-session lock of [`Session::lock`], over this store's
//! compare-and-swap.

#[allow(unused_imports)]
use super::*;

use std::sync::atomic::{AtomicUsize, Ordering};

use session_core::Fence;

/// A configuration whose lock waits long (the holders queue) with a one-minute lease.
fn lock_config(ctx: &Ctx, wait: Duration) -> Arc<SessionConfig> {
    Arc::new(
        SessionConfig::clone(&config(ctx))
            .with_lock_lease(MINUTE)
            .with_lock_wait(wait),
    )
}

fn locking(ctx: &Ctx, id: &SessionId, wait: Duration) -> Session {
    Session::new(ctx.store.clone(), lock_config(ctx, wait), Some(id.clone()))
}

/// 16 concurrent holders, 4 rounds each: never two at once, and every write lands.
pub async fn lock_excludes_16_holders(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("done", 0)]).await?;
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (ctx, id) = (ctx.clone(), id.clone());
        let (inside, most, barrier) = (inside.clone(), most.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..4 {
                let s = locking(&ctx, &id, Duration::from_secs(10));
                s.lock().await?;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // A plain read-then-insert: safe only because the lock excludes the others.
                let done: i64 = s.get("done").await?.unwrap_or(0);
                tokio::task::yield_now().await;
                s.insert("done", &(done + 1))?;
                inside.fetch_sub(1, Ordering::SeqCst);
                s.save().await?;
            }
            Ok::<(), Error>(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| Fail::Failed(format!("task failed: {e}")))??;
    }
    let most = most.load(Ordering::SeqCst);
    ensure!(most == 1, "{most} holders were inside the lock at once");
    let done: Option<i64> = handle(&ctx, Some(id)).get("done").await?;
    ensure!(done == Some(64), "64 locked increments stored {done:?}");
    Ok(())
}

/// A holder that dies keeps others out until its lease ends, and no longer.
pub async fn lock_dead_holder_frees_after_lease(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("x", 1)]).await?;
    let dead = locking(&ctx, &id, Duration::ZERO);
    dead.lock().await?;
    drop(dead); // never saves, never unlocks
    ctx.clock.advance(MINUTE - Duration::from_millis(1));
    let early = locking(&ctx, &id, Duration::from_millis(30));
    expect_kind(
        early.lock().await,
        ErrorKind::Locked,
        "lock before the lease ended",
    )?;
    ctx.clock.advance(Duration::from_millis(1));
    let late = locking(&ctx, &id, Duration::ZERO);
    late.lock().await?;
    late.insert("x", &2)?;
    late.save().await?;
    ensure!(
        handle(&ctx, Some(id)).get::<i64>("x").await? == Some(2),
        "the next holder's write was lost"
    );
    Ok(())
}

/// A holder past its lease cannot write: alone, or after another took the lock.
pub async fn lock_expired_holder_cannot_write(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("x", 1)]).await?;
    let slow = locking(&ctx, &id, Duration::ZERO);
    slow.lock().await?;
    ctx.clock.advance(MINUTE);
    slow.insert("x", &100)?;
    expect_kind(
        slow.save().await,
        ErrorKind::Locked,
        "write after the lease ran out",
    )?;
    let after = must_load(&ctx, &id.store_key(), "after the refused write").await?;
    ensure!(
        data_of(&after, "x") == Some(&b"1"[..]),
        "the refused write was stored"
    );

    let stale = locking(&ctx, &id, Duration::ZERO);
    stale.lock().await?;
    ctx.clock.advance(MINUTE);
    let next = locking(&ctx, &id, Duration::ZERO);
    next.lock().await?;
    stale.insert("x", &200)?;
    expect_kind(
        stale.save().await,
        ErrorKind::Locked,
        "write by a holder that was replaced",
    )?;
    next.insert("x", &3)?;
    next.save().await?;
    let back = must_load(&ctx, &id.store_key(), "after both").await?;
    ensure!(
        data_of(&back, "x") == Some(&b"3"[..]),
        "x is {:?}, not the current holder's 3",
        data_of(&back, "x")
    );
    Ok(())
}

/// Fencing tokens grow with every acquisition, and a released lock is free at once.
pub async fn lock_fence_grows(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("x", 1)]).await?;
    let mut last = Fence(0);
    for round in 0..3 {
        let s = locking(&ctx, &id, Duration::ZERO);
        let fence = s.lock().await?;
        ensure!(
            fence > last,
            "round {round}: token {fence:?} after {last:?}"
        );
        ensure!(
            s.fence().await == Some(fence),
            "fence() disagrees with lock()"
        );
        ensure!(s.lock().await? == fence, "locking twice changed the token");
        s.unlock().await?;
        last = fence;
    }
    let missing = locking(&ctx, &SessionId::generate()?, Duration::ZERO);
    expect_kind(
        missing.lock().await,
        ErrorKind::Gone,
        "lock of a missing session",
    )?;
    Ok(())
}

/// Requests that do not take the lock still write while it is held, and their writes
/// neither free the lock nor get lost: the holder's save merges over them, and releases.
pub async fn lock_others_write_meanwhile(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1), ("b", 1)]).await?;
    let holder = locking(&ctx, &id, Duration::ZERO);
    let fence = holder.lock().await?;
    let _: Option<i64> = holder.get("a").await?;

    let other = handle(&ctx, Some(id.clone()));
    other.insert("b", &2)?;
    other.save().await?;
    let rival = locking(&ctx, &id, Duration::from_millis(20));
    expect_kind(
        rival.lock().await,
        ErrorKind::Locked,
        "lock after an unlocked write while held",
    )?;

    holder.insert("a", &2)?;
    holder.save().await?;
    ensure!(
        holder.fence().await.is_none(),
        "the holder's save did not release"
    );
    let back = must_load(&ctx, &id.store_key(), "after both writes").await?;
    ensure!(
        data_of(&back, "a") == Some(&b"2"[..]) && data_of(&back, "b") == Some(&b"2"[..]),
        "a = {:?}, b = {:?}: one of the two writes was lost",
        data_of(&back, "a"),
        data_of(&back, "b")
    );
    let next = locking(&ctx, &id, Duration::ZERO);
    let later = next.lock().await?;
    ensure!(later > fence, "token {later:?} after {fence:?}");
    next.unlock().await?;
    Ok(())
}

/// A holder whose session was deleted (a logout elsewhere) gets `Gone`, and nothing
/// comes back.
pub async fn lock_holder_of_deleted_session_is_gone(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("x", 1)]).await?;
    let holder = locking(&ctx, &id, Duration::ZERO);
    holder.lock().await?;
    let _: Option<i64> = holder.get("x").await?;
    ctx.store.delete(&id.store_key()).await?;
    holder.insert("x", &2)?;
    expect_kind(
        holder.save().await,
        ErrorKind::Gone,
        "holder's save after a delete",
    )?;
    ensure!(
        ctx.store.load(&id.store_key()).await?.is_none(),
        "the holder's write brought the deleted session back"
    );
    let idle = locking(&ctx, &id, Duration::ZERO);
    expect_kind(
        idle.lock().await,
        ErrorKind::Gone,
        "lock of a deleted session",
    )?;
    // A holder that only releases (it changed nothing) learns the same, not LockLost.
    let id = new_session(&ctx, &[("y", 1)]).await?;
    let holder = locking(&ctx, &id, Duration::ZERO);
    holder.lock().await?;
    ctx.store.delete(&id.store_key()).await?;
    expect_kind(
        holder.unlock().await,
        ErrorKind::Gone,
        "release of a deleted session's lock",
    )?;
    must_be_none(&ctx, &id.store_key(), "after the release").await?;
    Ok(())
}

/// A rotation (a login) while another request holds the lock: the new id starts unlocked,
/// and the holder's write, addressed to the old id, is refused and stores nothing.
pub async fn lock_rotation_starts_unlocked(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("x", 1)]).await?;
    let holder = locking(&ctx, &id, Duration::ZERO);
    holder.lock().await?;
    let _: Option<i64> = holder.get("x").await?;
    let other = handle(&ctx, Some(id.clone()));
    other.rotate().await?;
    let new = other
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after the rotation".into()))?;
    let next = locking(&ctx, &new, Duration::ZERO);
    next.lock().await?;
    next.unlock().await?;
    holder.insert("x", &2)?;
    match holder.save().await {
        Err(e) if matches!(e.kind(), ErrorKind::Locked | ErrorKind::Gone) => {}
        other => {
            return Err(Fail::Failed(format!(
                "the holder's write to the rotated-away id: {other:?}"
            )));
        }
    }
    let back = must_load(&ctx, &new.store_key(), "the new id").await?;
    ensure!(
        data_of(&back, "x") == Some(&b"1"[..]),
        "the holder's refused write reached the new id"
    );
    Ok(())
}
