//! The race group: pairs of different operations run at once on one key, many rounds, with
//! an invariant checked after each round. A store that is atomic per operation passes
//! whatever the interleaving; one that checks and then writes in two steps is caught when
//! the other operation lands between them.

#[allow(unused_imports)]
use super::*;

use std::future::Future;

/// Rounds per case: enough for a two-step store to lose a few times on two workers.
const ROUNDS: usize = 40;

/// Runs `a` and `b` on two tasks released together; both results.
async fn together<A, B>(a: A, b: B) -> Result<(A::Output, B::Output), Fail>
where
    A: Future + Send + 'static,
    B: Future + Send + 'static,
    A::Output: Send + 'static,
    B::Output: Send + 'static,
{
    let gate = Arc::new(Barrier::new(2));
    let (ga, gb) = (gate.clone(), gate);
    let ta = tokio::spawn(async move {
        ga.wait().await;
        a.await
    });
    let tb = tokio::spawn(async move {
        gb.wait().await;
        b.await
    });
    let (ra, rb) = tokio::join!(ta, tb);
    match (ra, rb) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(Fail::Failed("an operation panicked".into())),
    }
}

/// `Ok` for success and for the error kinds the contract allows here.
fn allowed(res: &Result<(), Error>, kinds: &[ErrorKind], what: &str) -> CaseResult {
    match res {
        Ok(()) => Ok(()),
        Err(e) if kinds.contains(&e.kind()) => Ok(()),
        Err(e) => Err(Fail::Failed(format!(
            "{what}: unexpected {:?} ({e})",
            e.kind()
        ))),
    }
}

/// After a round: `owner` lists `key` exactly when it is live (and, when `ok` is given,
/// it is live exactly when that operation succeeded); then the owner's sessions are ended
/// for the next round. `live` is returned.
async fn listed_iff_live(
    ctx: &Ctx,
    round: usize,
    key: StoreKey,
    owner: &str,
    ok: Option<bool>,
) -> Result<bool, Fail> {
    let live = ctx.store.load(&key).await?.is_some();
    if let Some(ok) = ok {
        ensure!(
            live == ok,
            "round {round}: the operation returned Ok={ok} but the session is live={live}"
        );
    }
    let listed = keys_of(&ctx.store.list_owner(owner).await?);
    let expected = if live {
        BTreeSet::from([key])
    } else {
        BTreeSet::new()
    };
    ensure!(
        listed == expected,
        "round {round}: {owner}'s listing does not match the live session (live={live})"
    );
    ctx.store.delete_owner(owner, None).await?;
    Ok(live)
}

/// A reader never sees a rotation half done: reading the new key and then the old, it
/// never finds both; reading the old and then the new, never neither.
pub async fn race_rotate_vs_load(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let r = record(&ctx, &[("n", b"1")]);
        let old = created(&ctx, &r).await?;
        let new = new_key()?;
        let mut next = r.clone();
        next.version += 1;
        let (store, reader) = (ctx.store.clone(), ctx.store.clone());
        let rotate = async move { store.rotate(&old, &new, &next, r.version).await };
        let read = async move {
            let mut seen = Vec::new();
            for i in 0..6 {
                let (first, second) = if i % 2 == 0 { (new, old) } else { (old, new) };
                let a = reader.load(&first).await?.is_some();
                let b = reader.load(&second).await?.is_some();
                seen.push((i % 2 == 0, a, b));
            }
            Ok::<_, Error>(seen)
        };
        let (rotated, seen) = together(rotate, read).await?;
        rotated?;
        for (new_first, a, b) in seen? {
            if new_first {
                ensure!(
                    !(a && b),
                    "round {round}: a reader saw both keys live mid-rotation"
                );
            } else {
                ensure!(
                    a || b,
                    "round {round}: a reader saw neither key mid-rotation"
                );
            }
        }
    }
    Ok(())
}

/// A save racing a delete never outlives it: afterwards the key loads nothing.
pub async fn race_save_vs_delete(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let r = owned(&ctx, "lee", HOUR);
        let k = created(&ctx, &r).await?;
        let mut next = r.clone();
        next.version += 1;
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let (saved, deleted) = together(
            async move { s1.save(&k, &next, r.version).await },
            async move { s2.delete(&k).await },
        )
        .await?;
        allowed(&saved, &[ErrorKind::Gone], "save racing delete")?;
        deleted?;
        ensure!(
            ctx.store.load(&k).await?.is_none(),
            "round {round}: a save racing a delete brought the session back"
        );
        ensure!(
            ctx.store.list_owner("lee").await?.is_empty(),
            "round {round}: the owner lists a session deleted during a save"
        );
    }
    Ok(())
}

/// A touch racing a delete never outlives it.
pub async fn race_touch_vs_delete(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let r = record(&ctx, &[("n", b"1")]);
        let k = created(&ctx, &r).await?;
        let now = session_core::Clock::now(&ctx.clock);
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let (touched, deleted) = together(
            async move { s1.touch(&k, now.plus(2 * HOUR), now).await },
            async move { s2.delete(&k).await },
        )
        .await?;
        allowed(&touched, &[ErrorKind::Gone], "touch racing delete")?;
        deleted?;
        ensure!(
            ctx.store.load(&k).await?.is_none(),
            "round {round}: a touch racing a delete brought the session back"
        );
    }
    Ok(())
}

/// A save and a rotation from the same version: exactly one wins, and the keys show
/// that one's result only.
pub async fn race_rotate_vs_save(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let r = record(&ctx, &[("n", b"0")]);
        let old = created(&ctx, &r).await?;
        let new = new_key()?;
        let mut saved = r.clone();
        saved.version += 1;
        saved.data.insert("n".into(), Bytes::from_static(b"saved"));
        let mut moved = r.clone();
        moved.version += 1;
        moved.data.insert("n".into(), Bytes::from_static(b"moved"));
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let (m, rv) = (moved.clone(), r.version);
        let (sv, rot) = together(async move { s1.save(&old, &saved, rv).await }, async move {
            s2.rotate(&old, &new, &m, rv).await
        })
        .await?;
        allowed(
            &sv,
            &[ErrorKind::Conflict, ErrorKind::Gone],
            "save racing rotate",
        )?;
        allowed(&rot, &[ErrorKind::Conflict], "rotate racing save")?;
        let (at_old, at_new) = (ctx.store.load(&old).await?, ctx.store.load(&new).await?);
        match (sv.is_ok(), rot.is_ok()) {
            (true, false) => ensure!(
                at_new.is_none() && at_old.as_ref().and_then(|r| data_of(r, "n")) == Some(b"saved"),
                "round {round}: the save won, but the keys do not show it alone"
            ),
            (false, true) => ensure!(
                at_old.is_none() && at_new.as_ref() == Some(&moved),
                "round {round}: the rotation won, but the keys do not show it alone"
            ),
            (a, b) => ensure!(
                false,
                "round {round}: save Ok={a} and rotate Ok={b}: exactly one must win"
            ),
        }
    }
    Ok(())
}

/// A rotation racing a delete of the old key: the old key is dead either way, and the new
/// key is live exactly when the rotation succeeded.
pub async fn race_rotate_vs_delete(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let r = owned(&ctx, "max", HOUR);
        let old = created(&ctx, &r).await?;
        let new = new_key()?;
        let mut next = r.clone();
        next.version += 1;
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let (rot, del) = together(
            async move { s1.rotate(&old, &new, &next, r.version).await },
            async move { s2.delete(&old).await },
        )
        .await?;
        allowed(&rot, &[ErrorKind::Gone], "rotate racing delete")?;
        del?;
        must_be_none(&ctx, &old, "the old key after rotate and delete").await?;
        listed_iff_live(&ctx, round, new, "max", Some(rot.is_ok())).await?;
    }
    Ok(())
}

/// Two creates of one key: exactly one succeeds, the other is Collision, and the key
/// holds the winner's record.
pub async fn race_create_vs_create(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let k = new_key()?;
        let a = record(&ctx, &[("by", b"a")]);
        let b = record(&ctx, &[("by", b"b")]);
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let (ra, rb) = (a.clone(), b.clone());
        let (x, y) = together(async move { s1.create(&k, &ra).await }, async move {
            s2.create(&k, &rb).await
        })
        .await?;
        allowed(&x, &[ErrorKind::Collision], "first create")?;
        allowed(&y, &[ErrorKind::Collision], "second create")?;
        let back = must_load(&ctx, &k, "after two creates").await?;
        match (x.is_ok(), y.is_ok()) {
            (true, false) => ensure!(back == a, "round {round}: the winner's record was replaced"),
            (false, true) => ensure!(back == b, "round {round}: the winner's record was replaced"),
            (p, q) => ensure!(
                false,
                "round {round}: creates Ok={p} and Ok={q}: exactly one must win"
            ),
        }
    }
    Ok(())
}

/// Records saved, touched or created while a sweep runs survive it.
pub async fn race_writes_vs_sweep(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS / 4 {
        for _ in 0..10 {
            created(&ctx, &owned(&ctx, "ned", MINUTE)).await?;
        }
        let r = owned(&ctx, "ned", 4 * HOUR);
        let saved_key = created(&ctx, &r).await?;
        let touched_key = created(&ctx, &r).await?;
        ctx.clock.advance(2 * MINUTE);
        let now = session_core::Clock::now(&ctx.clock);
        let fresh = new_key()?;
        let mut next = r.clone();
        next.version += 1;
        next.data
            .insert("round".into(), Bytes::copy_from_slice(&[round as u8]));
        let (store, sweeper) = (ctx.store.clone(), ctx.store.clone());
        let (n2, fresh_rec) = (next.clone(), owned(&ctx, "ned", HOUR));
        // The writes start at a different point of the sweep each round: at once, after a
        // yield, or 0.5, 1 or 3 ms in, so that a sweep with a window (between reading and
        // writing back, say) meets a write inside it whichever task the scheduler runs
        // first.
        let offset = round % 5;
        let writes = async move {
            match offset {
                0 => {}
                1 => tokio::task::yield_now().await,
                n => tokio::time::sleep(Duration::from_micros([500, 1000, 3000][n - 2])).await,
            }
            store.save(&saved_key, &n2, r.version).await?;
            store.touch(&touched_key, now.plus(3 * HOUR), now).await?;
            store.create(&fresh, &fresh_rec).await
        };
        let (w, swept) = together(writes, async move { sweeper.delete_expired().await }).await?;
        w?;
        let n = swept?;
        ensure!(
            n <= 10,
            "round {round}: a sweep removed {n} records; 10 had expired"
        );
        let back = must_load(&ctx, &saved_key, "a record saved during a sweep").await?;
        ensure!(
            back == next,
            "round {round}: a save during a sweep was lost"
        );
        must_load(&ctx, &touched_key, "a record touched during a sweep").await?;
        must_load(&ctx, &fresh, "a record created during a sweep").await?;
        let listed = keys_of(&ctx.store.list_owner("ned").await?);
        ensure!(
            listed == BTreeSet::from([saved_key, touched_key, fresh]),
            "round {round}: after the sweep the owner lists {} sessions, expected the 3 live",
            listed.len()
        );
        ctx.store.delete_owner("ned", None).await?;
    }
    Ok(())
}

/// A login (rotation that sets the owner) racing "log out everywhere": afterwards the
/// owner's listing is exactly the owner's live sessions, whichever came first.
pub async fn race_login_vs_logout_everywhere(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let other = created(&ctx, &owned(&ctx, "oli", HOUR)).await?;
        let r = record(&ctx, &[("cart", b"[1]")]);
        let old = created(&ctx, &r).await?;
        let new = new_key()?;
        let mut next = r.clone();
        next.version += 1;
        next.owner = Some("oli".into());
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let (rot, del) = together(
            async move { s1.rotate(&old, &new, &next, r.version).await },
            async move { s2.delete_owner("oli", None).await },
        )
        .await?;
        rot?;
        let n = del?;
        ensure!(
            n <= 2,
            "round {round}: log out everywhere counted {n} sessions; there were at most 2"
        );
        must_be_none(&ctx, &other, "the owner's other session").await?;
        listed_iff_live(&ctx, round, new, "oli", None).await?;
    }
    Ok(())
}

/// A save moving a session to another owner, racing the old owner's listing and "log out
/// everywhere": the old owner never lists the moved version, and a move that succeeded is
/// never ended by the old owner's logout.
pub async fn race_owner_change_vs_owner_ops(ctx: Ctx) -> CaseResult {
    for round in 0..ROUNDS {
        let r = owned(&ctx, "pam", HOUR);
        let k = created(&ctx, &r).await?;
        let mut moved = r.clone();
        moved.version += 1;
        moved.owner = Some("quin".into());
        moved.expires_at = r.created_at.plus(3 * HOUR);
        let (s1, s2) = (ctx.store.clone(), ctx.store.clone());
        let m = moved.clone();
        let (saved, (listing, ended)) = together(
            async move { s1.save(&k, &m, r.version).await },
            async move {
                let l = s2.list_owner("pam").await;
                let d = s2.delete_owner("pam", None).await;
                (l, d)
            },
        )
        .await?;
        allowed(
            &saved,
            &[ErrorKind::Gone],
            "save racing the old owner's logout",
        )?;
        ended?;
        ensure!(
            !listing?.iter().any(|s| s.expires_at == moved.expires_at),
            "round {round}: the old owner listed the session as moved to another owner"
        );
        listed_iff_live(&ctx, round, k, "quin", Some(saved.is_ok())).await?;
    }
    Ok(())
}
