//! The bad_bytes group: unreadable stored bytes are an error, never a panic or another record.

#[allow(unused_imports)]
use super::*;

async fn bad_bytes_case(ctx: &Ctx, bytes: &[u8], what: &str) -> CaseResult {
    let raw = raw(ctx)?;
    let k = new_key()?;
    raw.write_raw(&k, bytes, envelope(ctx)).await?;
    expect_kind(ctx.store.load(&k).await, ErrorKind::BadData, what)
}

/// Live for an hour, seen now.
fn envelope(ctx: &Ctx) -> Envelope {
    let now = session_core::Clock::now(&ctx.clock);
    Envelope {
        expires_at: now.plus(HOUR),
        last_seen: now,
    }
}

/// The encoder's bytes with an envelope, written past the store's encoder, load as exactly
/// that record: every backend reads the one body format and takes the envelope from its
/// own fields.
pub async fn raw_body_decodes_the_same(ctx: Ctx) -> CaseResult {
    let raw = raw(&ctx)?;
    let mut r = record(&ctx, &[("cart", b"[1,2,3]"), ("bin", &[0, 255, 7])]);
    r.owner = Some("olga".into());
    r.user_agent = Some("curl/8".into());
    r.version = 7;
    r.remember = true;
    r.authenticated_at = Some(r.created_at);
    r.absolute_deadline = Some(r.created_at.plus(2 * HOUR));
    r.lease = Some(session_core::Lease {
        token: 3,
        until: r.created_at,
    });
    ctx.clock.advance(MINUTE);
    let env = envelope(&ctx);
    let k = new_key()?;
    raw.write_raw(&k, &r.encode()?, env).await?;
    let back = must_load(&ctx, &k, "a raw body").await?;
    r.expires_at = env.expires_at;
    r.last_seen = env.last_seen;
    ensure!(back == r, "decoded as {back:?}, not {r:?}");
    Ok(())
}

/// A truncated record is an error.
pub async fn truncated_bytes_are_an_error(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1,2,3]")]);
    let full = r.encode()?;
    for cut in [1, full.len() / 2, full.len() - 1] {
        bad_bytes_case(&ctx, &full[..cut], "truncated record").await?;
    }
    Ok(())
}

/// An unknown format version is an error.
pub async fn unknown_version_is_an_error(ctx: Ctx) -> CaseResult {
    let mut b = record(&ctx, &[("a", b"1")]).encode()?;
    b[0] = 0xEE;
    bad_bytes_case(&ctx, &b, "unknown format version").await
}

/// Foreign bytes are an error.
pub async fn foreign_bytes_are_an_error(ctx: Ctx) -> CaseResult {
    bad_bytes_case(
        &ctx,
        br#"{"cookie":{"originalMaxAge":null},"user":"x"}"#,
        "JSON from another library",
    )
    .await?;
    bad_bytes_case(
        &ctx,
        b"\x82\xa4user\xa1x",
        "MessagePack from another library",
    )
    .await
}

/// Zero bytes are an error.
pub async fn empty_bytes_are_an_error(ctx: Ctx) -> CaseResult {
    bad_bytes_case(&ctx, b"", "empty value").await
}

/// An unreadable record spares its neighbours.
pub async fn bad_record_spares_others(ctx: Ctx) -> CaseResult {
    let raw = raw(&ctx)?;
    let good = created(&ctx, &record(&ctx, &[("mine", b"yes")])).await?;
    let bad = new_key()?;
    raw.write_raw(&bad, &[2, 0xff, 0xff], envelope(&ctx))
        .await?;
    expect_kind(ctx.store.load(&bad).await, ErrorKind::BadData, "bad record")?;
    let back = must_load(&ctx, &good, "good record next to a bad one").await?;
    ensure!(
        data_of(&back, "mine") == Some(&b"yes"[..]),
        "good record altered"
    );
    ctx.store.delete(&bad).await?;
    must_be_none(&ctx, &bad, "a bad record can be deleted").await
}
