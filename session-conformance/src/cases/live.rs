//! The live group: a live connection (a WebSocket) learns that its session ended
//! elsewhere. A store that pushes notices ([`SessionStore::watch_end`] returns a watch)
//! must wake the watch for every delete, "log out everywhere" and rotation of the key; a
//! store that does not is polled, and [`Session::ended`] must return on it instead: each
//! case checks one or the other, never nothing.
//!
//! The only cases that wait on real time, and only up to [`PATIENCE`]: a notice is
//! delivered by the backend in milliseconds, and the handles poll every 10 ms.

#[allow(unused_imports)]
use super::*;

use session_core::{EndWatch, Ended};

/// How long a case waits for a notice or an end before failing.
const PATIENCE: Duration = Duration::from_secs(5);

/// A handle like [`handle`]'s, polling every 10 ms where the store pushes nothing (and
/// looking once a minute where it does, so that only a notice ends it in time).
fn live_handle(ctx: &Ctx, id: Option<SessionId>) -> Session {
    let config = SessionConfig::clone(&config(ctx)).with_live_poll(Duration::from_millis(10));
    Session::new(ctx.store.clone(), Arc::new(config), id)
}

/// Fails unless `watch` wakes within [`PATIENCE`].
async fn woken(watch: &mut EndWatch, after: &str) -> CaseResult {
    ensure!(
        tokio::time::timeout(PATIENCE, watch.changed())
            .await
            .is_ok(),
        "the store's watch was not woken within {PATIENCE:?} after {after}"
    );
    Ok(())
}

/// `handle`'s wait for its end, started now, as a task.
fn waiting(handle: &Session) -> tokio::task::JoinHandle<Ended> {
    let h = handle.clone();
    tokio::spawn(async move { h.ended().await })
}

/// The end `task` reports within [`PATIENCE`].
async fn end_of(task: tokio::task::JoinHandle<Ended>, after: &str) -> Result<Ended, Fail> {
    match tokio::time::timeout(PATIENCE, task).await {
        Ok(Ok(why)) => Ok(why),
        Ok(Err(e)) => Err(Fail::Failed(format!("the waiting task failed: {e}"))),
        Err(_) => Err(Fail::Failed(format!(
            "a live handle did not learn within {PATIENCE:?} of {after}"
        ))),
    }
}

/// A loaded live handle on a new session, with its id.
async fn live_session(ctx: &Ctx) -> Result<(Session, SessionId), Fail> {
    let id = new_session(ctx, &[("n", 1)]).await?;
    let live = live_handle(ctx, Some(id.clone()));
    ensure!(live.exists().await?, "the new session does not load");
    Ok((live, id))
}

/// After `op` ends the live session `live` (whose key is `key`), the store's watch on the
/// key wakes; a store without a watch must instead end the polling handle's wait. Either
/// way, something is checked on every store.
async fn told_of<F: std::future::Future<Output = CaseResult>>(
    ctx: &Ctx,
    live: &Session,
    key: &StoreKey,
    what: &str,
    op: F,
) -> CaseResult {
    match ctx.store.watch_end(key).await? {
        Some(mut watch) => {
            op.await?;
            woken(&mut watch, what).await
        }
        None => {
            let task = waiting(live);
            op.await?;
            let why = end_of(task, what).await?;
            ensure!(why == Ended::Removed, "{what} ended it as {why:?}");
            Ok(())
        }
    }
}

/// A live connection is told when its key is deleted.
pub async fn live_watch_wakes_on_delete(ctx: Ctx) -> CaseResult {
    let (live, id) = live_session(&ctx).await?;
    let key = id.store_key();
    told_of(&ctx, &live, &key, "a delete", async {
        Ok(ctx.store.delete(&key).await?)
    })
    .await
}

/// A live connection is told when its owner logs out everywhere.
pub async fn live_watch_wakes_on_owner_logout(ctx: Ctx) -> CaseResult {
    let (live, _) = live_session(&ctx).await?;
    live.login("live-owner").await?;
    let id = live
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after login".into()))?;
    told_of(&ctx, &live, &id.store_key(), "log out everywhere", async {
        let n = ctx.store.delete_owner("live-owner", None).await?;
        ensure!(n == 1, "log out everywhere ended {n} sessions, not 1");
        Ok(())
    })
    .await
}

/// A live connection is told when its key is rotated away.
pub async fn live_watch_wakes_on_rotate(ctx: Ctx) -> CaseResult {
    let (live, id) = live_session(&ctx).await?;
    let key = id.store_key();
    let r = must_load(&ctx, &key, "the new session").await?;
    told_of(&ctx, &live, &key, "a rotation", async {
        let mut next = r.clone();
        next.version = r.version.wrapping_add(1);
        Ok(ctx
            .store
            .rotate(&key, &new_key()?, &next, r.version)
            .await?)
    })
    .await
}

/// A live handle learns of a logout in another request, and then cannot write.
pub async fn live_ended_on_logout_elsewhere(ctx: Ctx) -> CaseResult {
    let (live, id) = live_session(&ctx).await?;
    let task = waiting(&live);
    handle(&ctx, Some(id)).destroy().await?;
    let why = end_of(task, "a logout").await?;
    ensure!(why == Ended::Removed, "a logout ended it as {why:?}");
    live.insert("n", &2)?;
    expect_kind(live.save().await, ErrorKind::Gone, "a save after the end")?;
    Ok(())
}

/// A live handle learns of "log out everywhere" by its owner.
pub async fn live_ended_on_logout_everywhere(ctx: Ctx) -> CaseResult {
    let (live, _) = live_session(&ctx).await?;
    live.login("live-everywhere").await?;
    let task = waiting(&live);
    ctx.store.delete_owner("live-everywhere", None).await?;
    let why = end_of(task, "log out everywhere").await?;
    ensure!(
        why == Ended::Removed,
        "log out everywhere ended it as {why:?}"
    );
    Ok(())
}

/// A live handle learns that its session ran out. (No notice announces an expiry: the
/// handle waits for its deadline, which is on the case's manual clock here, so it looks
/// every 10 ms whatever the store.)
pub async fn live_ended_on_expiry(ctx: Ctx) -> CaseResult {
    let (_, id) = live_session(&ctx).await?;
    let config = SessionConfig::clone(&config(&ctx))
        .with_live_poll(Duration::from_millis(10))
        .with_live_recheck(Duration::from_millis(10));
    let live = Session::new(ctx.store.clone(), Arc::new(config), Some(id));
    ensure!(live.exists().await?, "the new session does not load");
    let task = waiting(&live);
    ctx.clock.advance(31 * MINUTE);
    let why = end_of(task, "the idle timeout passing").await?;
    ensure!(why == Ended::Expired, "running out ended it as {why:?}");
    Ok(())
}

/// A live handle keeps waiting while its session lives, whatever other requests write.
pub async fn live_stays_while_live(ctx: Ctx) -> CaseResult {
    let (live, id) = live_session(&ctx).await?;
    let task = waiting(&live);
    let other = handle(&ctx, Some(id.clone()));
    other.insert("n", &2)?;
    other.save().await?;
    ctx.clock.advance(20 * MINUTE);
    let toucher = handle(&ctx, Some(id));
    ensure!(
        toucher.exists().await?,
        "the session ended after 20 minutes"
    );
    let rep = toucher.save().await?;
    ensure!(
        rep.write == Write::Touched,
        "a stale session's save did {:?}",
        rep.write
    );
    ctx.clock.advance(20 * MINUTE); // 40 minutes after creation, 20 after the touch
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(
        !task.is_finished(),
        "a live handle ended while its session lives: {:?}",
        task.await
    );
    task.abort();
    Ok(())
}

/// A handle without a session returns at once, and creates none.
pub async fn live_without_session(ctx: Ctx) -> CaseResult {
    let live = live_handle(&ctx, None);
    let why = end_of(waiting(&live), "having no session").await?;
    ensure!(why == Ended::Removed, "no session ended as {why:?}");
    ensure!(live.id().await.is_none(), "waiting created a session");
    let id = SessionId::generate()?;
    let unknown = live_handle(&ctx, Some(id.clone()));
    let why = end_of(waiting(&unknown), "an unknown id").await?;
    ensure!(why == Ended::Removed, "an unknown id ended as {why:?}");
    must_be_none(&ctx, &id.store_key(), "after waiting on an unknown id").await
}
