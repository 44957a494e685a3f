//! The handle group: the session handle over this store, as requests use it.

#[allow(unused_imports)]
use super::*;

/// A handle creates a session that another handle reads.
pub async fn handle_round_trip(ctx: Ctx) -> CaseResult {
    let s = handle(&ctx, None);
    s.insert("cart", &vec!["apple", "pear"])?;
    s.insert_raw("bin", Bytes::from_static(&[0, 159, 146, 150]))?;
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::Created,
        "expected a create, got {:?}",
        rep.write
    );
    let id = s
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after create".into()))?;
    let again = handle(&ctx, Some(id.clone()));
    let cart: Option<Vec<String>> = again.get("cart").await?;
    ensure!(
        cart == Some(vec!["apple".into(), "pear".into()]),
        "cart read back as {cart:?}"
    );
    ensure!(
        again.get_raw("bin").await?.as_deref() == Some(&[0, 159, 146, 150][..]),
        "raw value altered"
    );
    again.remove("cart");
    let rep = again.save().await?;
    ensure!(
        rep.write == Write::Saved,
        "expected a save, got {:?}",
        rep.write
    );
    let third = handle(&ctx, Some(id));
    ensure!(
        third.get::<Vec<String>>("cart").await?.is_none(),
        "removed key still there"
    );
    Ok(())
}

/// A request that loaded before a logout cannot bring the session back.
pub async fn handle_logout_wins_over_late_save(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("user", 1)]).await?;
    let slow = handle(&ctx, Some(id.clone()));
    ensure!(slow.exists().await?, "session missing before logout");
    let logout = handle(&ctx, Some(id.clone()));
    logout.destroy().await?;
    slow.insert("cart", &[1, 2, 3])?;
    expect_kind(slow.save().await, ErrorKind::Gone, "late save after logout")?;
    must_be_none(&ctx, &id.store_key(), "after the late save").await?;
    ensure!(
        slow.id().await.is_none(),
        "the late handle still offers an id"
    );
    ensure!(
        !slow.cookie_events().await.ended,
        "the late handle asks to expire a cookie it did not end (a newer one may be in the browser)"
    );
    Ok(())
}

/// Login rotates the id.
pub async fn handle_login_rotates_id(ctx: Ctx) -> CaseResult {
    let anon = new_session(&ctx, &[("cart", 3)]).await?;
    // Another tab loaded the session just before the login.
    let early = handle(&ctx, Some(anon.clone()));
    let _: Option<i64> = early.get("cart").await?;
    let s = handle(&ctx, Some(anon.clone()));
    let rep = s.login("oscar").await?;
    ensure!(rep.write == Write::Rotated, "login did {:?}", rep.write);
    let new = s
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after login".into()))?;
    ensure!(new != anon, "login kept the pre-login id");
    ensure!(
        s.cookie_events().await.id_changed,
        "cookie not flagged for the new id"
    );
    // The pre-login id holds only the moved mark: none of the session's data, no owner.
    let left = must_load(&ctx, &anon.store_key(), "pre-login id after login").await?;
    ensure!(
        left.is_moved_mark() && left.owner.is_none() && data_of(&left, "cart").is_none(),
        "the pre-login id still holds session data: {left:?}"
    );
    // A request still carrying it reads nothing and cannot write, or start a session.
    let stale = handle(&ctx, Some(anon.clone()));
    ensure!(
        stale.get::<i64>("cart").await?.is_none(),
        "the pre-login id reads the cart"
    );
    stale.insert("cart", &4)?;
    expect_kind(
        stale.save().await,
        ErrorKind::Gone,
        "write with the pre-login id",
    )?;
    ensure!(
        stale.id().await.is_none(),
        "the pre-login id started a session"
    );
    early.insert("cart", &5)?;
    expect_kind(
        early.save().await,
        ErrorKind::Gone,
        "write loaded before the login",
    )?;
    let left = must_load(&ctx, &anon.store_key(), "pre-login id after the late write").await?;
    ensure!(
        left.is_moved_mark() && data_of(&left, "cart").is_none(),
        "a write loaded before the login was stored under the pre-login id"
    );
    let back = must_load(&ctx, &new.store_key(), "post-login id").await?;
    ensure!(
        data_of(&back, "cart") == Some(&b"3"[..]),
        "cart lost at login"
    );
    ensure!(back.owner.as_deref() == Some("oscar"), "owner not set");
    let list = ctx.store.list_owner("oscar").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([new.store_key()]),
        "owner index after login: {list:?}"
    );
    // Login straight from nothing also creates an owned session.
    let fresh = handle(&ctx, None);
    fresh.login("oscar").await?;
    ensure!(
        ctx.store.list_owner("oscar").await?.len() == 2,
        "login without data created no session"
    );
    Ok(())
}

/// The touch throttle.
pub async fn handle_touch_is_throttled(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1)]).await?;
    let before = must_load(&ctx, &id.store_key(), "created").await?;
    ctx.clock.advance(MINUTE);
    let s = handle(&ctx, Some(id.clone()));
    ensure!(s.exists().await?, "session missing");
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::None,
        "a fresh, unchanged session was written: {:?}",
        rep.write
    );
    let same = must_load(&ctx, &id.store_key(), "after a fresh request").await?;
    ensure!(
        same == before,
        "the store record changed on a fresh request"
    );
    ctx.clock.advance(10 * MINUTE);
    let s = handle(&ctx, Some(id.clone()));
    ensure!(s.exists().await?, "session missing");
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::Touched,
        "a stale session was not touched: {:?}",
        rep.write
    );
    let now = session_core::Clock::now(&ctx.clock);
    let after = must_load(&ctx, &id.store_key(), "after touch").await?;
    ensure!(
        after.expires_at == now.plus(30 * MINUTE),
        "touch set expiry {:?}",
        after.expires_at
    );
    ensure!(
        after.version == before.version && after.data == before.data,
        "touch rewrote data"
    );
    Ok(())
}

/// The idle timeout.
pub async fn handle_idle_timeout(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1)]).await?;
    ctx.clock.advance(29 * MINUTE);
    ensure!(
        handle(&ctx, Some(id.clone())).exists().await?,
        "ended before the idle timeout"
    );
    ctx.clock.advance(2 * MINUTE);
    let s = handle(&ctx, Some(id.clone()));
    ensure!(!s.exists().await?, "alive after 31 idle minutes");
    ensure!(
        s.get::<i64>("a").await?.is_none(),
        "data readable after idle timeout"
    );
    Ok(())
}

/// The absolute timeout.
pub async fn handle_absolute_timeout(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1)]).await?;
    // Active every 20 minutes: the idle timeout never strikes.
    for step in 1..=5 {
        ctx.clock.advance(20 * MINUTE);
        let s = handle(&ctx, Some(id.clone()));
        ensure!(
            s.exists().await?,
            "ended early, after {} minutes",
            step * 20
        );
        s.insert("step", &step)?;
        let _ = s.save().await?;
    }
    ctx.clock.advance(20 * MINUTE); // 120 minutes: the absolute deadline
    let s = handle(&ctx, Some(id.clone()));
    ensure!(!s.exists().await?, "alive at the absolute deadline");
    Ok(())
}

/// Revoking other devices.
pub async fn handle_revoke_other_sessions(ctx: Ctx) -> CaseResult {
    let mut ids = Vec::new();
    for device in 0..3 {
        let s = handle(&ctx, None);
        s.set_user_agent(&format!("device-{device}"));
        s.insert("d", &device)?;
        s.login("peggy").await?;
        ids.push(s.id().await.ok_or_else(|| Fail::Failed("no id".into()))?);
    }
    let other_user = handle(&ctx, None);
    other_user.login("trent").await?;
    let trent = other_user
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id".into()))?;

    let here = handle(&ctx, Some(ids[0].clone()));
    let devices = here.owner_sessions().await?;
    ensure!(devices.len() == 3, "listed {} devices", devices.len());
    ensure!(
        devices.iter().filter(|(_, cur)| *cur).count() == 1,
        "current device not marked once"
    );
    let n = here.revoke_other_sessions().await?;
    ensure!(n == 2, "revoked {n}, expected 2");
    must_load(&ctx, &ids[0].store_key(), "this device").await?;
    must_be_none(&ctx, &ids[1].store_key(), "other device").await?;
    must_be_none(&ctx, &ids[2].store_key(), "other device").await?;
    must_load(&ctx, &trent.store_key(), "another user's session").await?;
    Ok(())
}

/// Login restarts the absolute lifetime.
pub async fn handle_login_restarts_lifetime(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("cart", 1)]).await?;
    // 100 minutes into a 2-hour lifetime, active every 20 minutes.
    for _ in 0..5 {
        ctx.clock.advance(20 * MINUTE);
        let h = handle(&ctx, Some(id.clone()));
        ensure!(h.exists().await?, "ended early");
        let _ = h.save().await?;
    }
    let s = handle(&ctx, Some(id));
    s.login("victor").await?;
    let new = s
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after login".into()))?;
    ctx.clock.advance(25 * MINUTE);
    // 125 minutes after creation, 25 after login: alive, because login restarted the clock.
    let again = handle(&ctx, Some(new.clone()));
    ensure!(
        again.exists().await?,
        "login did not restart the absolute lifetime"
    );
    let _ = again.save().await?;
    for _ in 0..5 {
        ctx.clock.advance(20 * MINUTE);
        let h = handle(&ctx, Some(new.clone()));
        if !h.exists().await? {
            return Ok(());
        }
        let _ = h.save().await?;
    }
    Err(Fail::Failed(
        "the session outlived its restarted absolute lifetime".into(),
    ))
}

/// The login rule: anonymous to owner keeps the data; owner to another owner starts empty.
pub async fn handle_login_as_other_user_starts_empty(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("cart", 3)]).await?;
    let s = handle(&ctx, Some(id));
    s.login("alice").await?;
    ensure!(
        s.get::<i64>("cart").await? == Some(3),
        "anonymous to alice lost the cart"
    );
    let alice = s.id().await.ok_or_else(|| Fail::Failed("no id".into()))?;
    let s = handle(&ctx, Some(alice.clone()));
    s.login("alice").await?;
    ensure!(
        s.get::<i64>("cart").await? == Some(3),
        "alice signing in again lost her cart"
    );
    let again = s.id().await.ok_or_else(|| Fail::Failed("no id".into()))?;
    let s = handle(&ctx, Some(again));
    s.login("bob").await?;
    let bob = s.id().await.ok_or_else(|| Fail::Failed("no id".into()))?;
    let back = must_load(&ctx, &bob.store_key(), "bob's session").await?;
    ensure!(
        back.data.is_empty(),
        "bob inherited {} keys of alice's session",
        back.data.len()
    );
    ensure!(back.owner.as_deref() == Some("bob"), "owner is not bob");
    ensure!(
        ctx.store.list_owner("alice").await?.is_empty(),
        "alice still lists the session bob took over"
    );
    Ok(())
}

/// Only the request that ends a session asks for its cookie to be expired.
pub async fn handle_unknown_id_keeps_cookie(ctx: Ctx) -> CaseResult {
    let unknown = handle(&ctx, Some(SessionId::generate()?));
    ensure!(!unknown.exists().await?, "an unknown id loaded a session");
    unknown.save().await?;
    ensure!(
        !unknown.cookie_events().await.ended,
        "an unknown id asked to expire the cookie"
    );
    // Rotated away by a login in another tab: the old id is dead, the new cookie lives.
    let anon = new_session(&ctx, &[("cart", 1)]).await?;
    let tab = handle(&ctx, Some(anon.clone()));
    ensure!(tab.exists().await?, "session missing");
    handle(&ctx, Some(anon.clone())).login("carol").await?;
    let late = handle(&ctx, Some(anon));
    ensure!(
        late.get::<i64>("cart").await?.is_none(),
        "old id still reads"
    );
    ensure!(
        !late.cookie_events().await.ended,
        "a request with the pre-login id asked to expire the cookie"
    );
    // The handle that logs out does ask.
    let id = new_session(&ctx, &[("x", 1)]).await?;
    let out = handle(&ctx, Some(id));
    out.destroy().await?;
    ensure!(
        out.cookie_events().await.ended,
        "logout did not expire the cookie"
    );
    Ok(())
}
