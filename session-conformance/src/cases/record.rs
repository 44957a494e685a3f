//! The record group: what goes in comes out, byte for byte, key by key.

#[allow(unused_imports)]
use super::*;

/// A created record loads back equal.
pub async fn round_trip(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("user", b"42"), ("csrf", b"secret")]);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(
        back == r,
        "loaded record differs from the created one: {back:?} vs {r:?}"
    );
    Ok(())
}

/// Loading a key never written is `None`.
pub async fn load_missing_is_none(ctx: Ctx) -> CaseResult {
    must_be_none(&ctx, &new_key()?, "never written").await
}

/// Every field survives storage.
pub async fn fields_round_trip(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.owner = Some("user-7".into());
    r.user_agent = Some("Mozilla/5.0 (X11; Linux) Firefox/140".into());
    r.absolute_deadline = Some(r.created_at.plus(2 * HOUR));
    r.version = 17;
    r.remember = true;
    r.authenticated_at = Some(r.created_at);
    r.last_seen = r.created_at.plus(Duration::from_millis(5));
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(back.owner == r.owner, "owner changed: {:?}", back.owner);
    ensure!(back.user_agent == r.user_agent, "user agent changed");
    ensure!(back.created_at == r.created_at, "created_at changed");
    ensure!(back.last_seen == r.last_seen, "last_seen changed");
    ensure!(back.expires_at == r.expires_at, "expires_at changed");
    ensure!(
        back.absolute_deadline == r.absolute_deadline,
        "absolute deadline changed"
    );
    ensure!(back.version == 17, "version changed to {}", back.version);
    ensure!(back.remember, "the remember-me flag was lost");
    ensure!(
        back.authenticated_at == r.authenticated_at,
        "authenticated_at changed: {:?}",
        back.authenticated_at
    );
    Ok(())
}

async fn big_value(ctx: &Ctx, size: usize) -> CaseResult {
    let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let r = record(ctx, &[("big", &value)]);
    let k = created(ctx, &r).await?;
    let back = must_load(ctx, &k, "after create").await?;
    let got = data_of(&back, "big").unwrap_or_default();
    ensure!(
        got.len() == size,
        "stored {} bytes, got {} back",
        size,
        got.len()
    );
    ensure!(
        got == value.as_slice(),
        "the {size}-byte value came back altered"
    );
    Ok(())
}

/// A 1 MiB value is stored whole.
pub async fn value_of_1_mib(ctx: Ctx) -> CaseResult {
    big_value(&ctx, 1024 * 1024).await
}

/// A 5 MiB value is stored whole.
pub async fn value_of_5_mib(ctx: Ctx) -> CaseResult {
    big_value(&ctx, 5 * 1024 * 1024).await
}

/// Values are binary-safe.
pub async fn binary_safe_values(ctx: Ctx) -> CaseResult {
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let r = record(&ctx, &[("bin", &all), ("nul", b"\0\0\0"), ("empty", b"")]);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(
        data_of(&back, "bin") == Some(&all[..]),
        "byte values altered"
    );
    ensure!(
        data_of(&back, "nul") == Some(&b"\0\0\0"[..]),
        "NUL bytes altered"
    );
    ensure!(
        data_of(&back, "empty") == Some(&b""[..]),
        "empty value lost"
    );
    Ok(())
}

/// Data keys in any script round-trip.
pub async fn unicode_keys(ctx: Ctx) -> CaseResult {
    let keys = ["ключ", "键", "🔑", "clé", "a b\tc", "", "\u{0}"];
    let pairs: Vec<(&str, &[u8])> = keys.iter().map(|k| (*k, k.as_bytes())).collect();
    let r = record(&ctx, &pairs);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    for key in keys {
        ensure!(
            data_of(&back, key) == Some(key.as_bytes()),
            "key {key:?} did not round-trip"
        );
    }
    Ok(())
}

/// A record with many keys round-trips.
pub async fn many_keys(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[]);
    for i in 0..1000 {
        r.data
            .insert(format!("item-{i}"), Bytes::from(i.to_string().into_bytes()));
    }
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(
        back.data.len() == 1000,
        "{} of 1000 keys came back",
        back.data.len()
    );
    ensure!(back == r, "record with 1000 keys changed");
    Ok(())
}

/// A record without data is a session.
pub async fn empty_data(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[]);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "empty record").await?;
    ensure!(back.data.is_empty(), "data appeared from nowhere");
    Ok(())
}

/// A key loads its own record.
pub async fn keys_are_isolated(ctx: Ctx) -> CaseResult {
    let mut keys = Vec::new();
    for i in 0..8u8 {
        let r = record(&ctx, &[("n", &[i])]);
        keys.push((created(&ctx, &r).await?, i));
    }
    for (k, i) in keys {
        let back = must_load(&ctx, &k, "isolation").await?;
        ensure!(
            data_of(&back, "n") == Some(&[i][..]),
            "key {i} loaded another session's data"
        );
    }
    Ok(())
}
