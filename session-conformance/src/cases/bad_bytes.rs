//! The bad_bytes group: unreadable stored bytes are an error, never a panic or another record.

#[allow(unused_imports)]
use super::*;

async fn bad_bytes_case(ctx: &Ctx, bytes: &[u8], what: &str) -> CaseResult {
    let raw = raw(ctx)?;
    let k = new_key()?;
    let now = session_core::Clock::now(&ctx.clock);
    raw.write_raw(&k, bytes, now.plus(HOUR)).await?;
    expect_kind(ctx.store.load(&k).await, ErrorKind::BadData, what)
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
    let now = session_core::Clock::now(&ctx.clock);
    raw.write_raw(&bad, &[1, 0xff, 0xff], now.plus(HOUR))
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
