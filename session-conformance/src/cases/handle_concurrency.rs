//! The handle group, concurrent requests: 64 tasks on one session, by key, by one key
//! with last-writer-wins, and by one key with read-modify-write.

#[allow(unused_imports)]
use super::*;

use std::future::Future;

use session_core::SaveReport;

/// Runs `op` then a save in 64 tasks on one session, all loaded before any saves (so the
/// saves really race), and returns the 64 reports.
async fn race_64<F, Fut>(ctx: &Ctx, id: &SessionId, op: F) -> Result<Vec<SaveReport>, Fail>
where
    F: Fn(Session, i64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64i64 {
        let s = handle(ctx, Some(id.clone()));
        let (barrier, op) = (barrier.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            s.exists().await?;
            barrier.wait().await;
            op(s.clone(), i).await?;
            s.save().await
        }));
    }
    let mut reports = Vec::with_capacity(64);
    for t in tasks {
        reports.push(
            t.await
                .map_err(|e| Fail::Failed(format!("task failed: {e}")))??,
        );
    }
    Ok(reports)
}

/// 64 concurrent requests adding distinct keys lose nothing.
pub async fn handle_64_tasks_distinct_keys(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("init", 0)]).await?;
    let reports = race_64(&ctx, &id, |s, i| async move {
        s.insert(&format!("item-{i}"), &i)
    })
    .await?;
    let mut conflicts = 0;
    for rep in reports {
        ensure!(
            rep.overwritten.is_empty(),
            "distinct keys reported as overwritten: {:?}",
            rep.overwritten
        );
        conflicts += rep.attempts - 1;
    }
    let back = must_load(&ctx, &id.store_key(), "after 64 writers").await?;
    for i in 0..64 {
        ensure!(
            data_of(&back, &format!("item-{i}")) == Some(i.to_string().as_bytes()),
            "item-{i} was lost ({} keys present, {conflicts} conflicts replayed)",
            back.data.len()
        );
    }
    ensure!(
        back.data.len() == 65,
        "unexpected keys: {}",
        back.data.len()
    );
    ensure!(
        conflicts >= 63,
        "the saves did not race ({conflicts} conflicts)"
    );
    Ok(())
}

/// 64 concurrent writers of one key leave one value, and the overwrites are reported.
pub async fn handle_64_tasks_same_key(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("same", -1)]).await?;
    let reports = race_64(&ctx, &id, |s, i| async move { s.insert("same", &i) }).await?;
    let mut reported = 0;
    for rep in reports {
        if rep.overwritten.iter().any(|k| k == "same") {
            reported += 1;
        }
    }
    let s = handle(&ctx, Some(id));
    let v: Option<i64> = s.get("same").await?;
    ensure!(
        matches!(v, Some(0..=63)),
        "final value {v:?} is none of the writers'"
    );
    ensure!(
        reported == 63,
        "{reported} saves reported an overwrite; every one of the 63 losers should"
    );
    Ok(())
}

/// 64 concurrent read-modify-writes of one key all take effect.
pub async fn handle_64_updates_of_one_key(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("counter", 0)]).await?;
    let reports = race_64(&ctx, &id, |s, i| async move {
        s.update("counter", |n: &mut u64| *n += 1).await?;
        s.update("cart", move |c: &mut Vec<i64>| c.push(i)).await?;
        Ok(())
    })
    .await?;
    let mut conflicts = 0;
    for rep in reports {
        ensure!(
            rep.overwritten.is_empty(),
            "updates reported as overwrites: {:?}",
            rep.overwritten
        );
        conflicts += rep.attempts - 1;
    }
    let s = handle(&ctx, Some(id));
    let counter: Option<u64> = s.get("counter").await?;
    ensure!(
        counter == Some(64),
        "counter is {counter:?} after 64 increments ({conflicts} conflicts replayed)"
    );
    let mut cart: Vec<i64> = s.get("cart").await?.unwrap_or_default();
    cart.sort_unstable();
    ensure!(
        cart == (0..64).collect::<Vec<_>>(),
        "cart holds {} of 64 appends",
        cart.len()
    );
    ensure!(
        conflicts >= 63,
        "the saves did not race ({conflicts} conflicts)"
    );
    Ok(())
}

/// An update that lost runs again on the winner's value; an insert of the same key would not.
pub async fn handle_update_replays_on_fresh_value(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("n", 10)]).await?;
    let slow = handle(&ctx, Some(id.clone()));
    let preview: i64 = slow.update("n", |n: &mut i64| *n *= 2).await?;
    ensure!(preview == 20, "the update's preview is {preview}, not 20");
    let fast = handle(&ctx, Some(id.clone()));
    fast.update("n", |n: &mut i64| *n += 1).await?;
    fast.save().await?;
    let rep = slow.save().await?;
    ensure!(
        rep.attempts == 2,
        "the slow save made {} attempts",
        rep.attempts
    );
    let back: Option<i64> = handle(&ctx, Some(id)).get("n").await?;
    ensure!(back == Some(22), "(10 + 1) * 2 stored as {back:?}");
    Ok(())
}
