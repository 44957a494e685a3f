//! Log correlation (R68): how a session appears in log lines and spans.
//!
//! A log reader needs to follow one session across lines, and must learn nothing that
//! helps to find or forge it. A session's store key is printed (its `Debug`) as the first
//! four bytes of an HMAC-SHA256 of the key under a log key: the same session gives the
//! same tag in every line, while without the log key the tag cannot be matched to an id,
//! a cookie or a store key, not even by someone who also reads the database.
//!
//! The log key is process-wide, because `Debug` has no context to carry it. The HTTP
//! layer installs one derived from its signing keys (HKDF info `session-log-v1`), so
//! every instance of an app that shares its keys prints the same tag for a session; until
//! one is installed a random key is made on first use (tags then change at each restart).

use std::sync::RwLock;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The installed log key, or `None` until the first install or use.
static LOG_KEY: RwLock<Option<Zeroizing<[u8; 32]>>> = RwLock::new(None);

/// Length of a correlation tag, in hex digits.
pub const TAG_HEX_LEN: usize = 8;

/// Installs the process-wide log key (the last install wins). The HTTP layer calls this
/// with a subkey of its signing keys; an app without it may call it with a secret of its
/// own so that tags stay stable across restarts and instances.
pub fn set_log_key(key: [u8; 32]) {
    let key = Zeroizing::new(key);
    match LOG_KEY.write() {
        Ok(mut k) => *k = Some(key),
        Err(poisoned) => *poisoned.into_inner() = Some(key),
    }
}

/// The correlation tag of a store key's hash under `key`: eight hex digits. A plain
/// function, so tests and tools can compute what a log line will show.
pub fn correlation(key: &[u8; 32], store_hash: &[u8; 32]) -> String {
    let mut out = String::with_capacity(TAG_HEX_LEN);
    // A 32-byte key is always a valid HMAC key; the fallback is never taken.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return out;
    };
    mac.update(b"session-log-v1\0");
    mac.update(store_hash);
    let tag = mac.finalize().into_bytes();
    for b in &tag[..TAG_HEX_LEN / 2] {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// The tag of `store_hash` under the installed key, making a random key first if none is
/// installed; `None` only if the random source or the lock fails (the caller then prints
/// nothing about the key).
pub(crate) fn current(store_hash: &[u8; 32]) -> Option<String> {
    if let Some(k) = LOG_KEY.read().ok()?.as_ref() {
        return Some(correlation(k, store_hash));
    }
    let mut slot = LOG_KEY.write().ok()?;
    if slot.is_none() {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *k).ok()?;
        *slot = Some(k);
    }
    slot.as_ref().map(|k| correlation(k, store_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tag is eight hex digits, the same for the same key and hash, and different under
    /// another key or for another hash.
    #[test]
    fn keyed_and_stable() {
        let (k1, k2) = ([1u8; 32], [2u8; 32]);
        let (h1, h2) = ([7u8; 32], [8u8; 32]);
        let t = correlation(&k1, &h1);
        assert_eq!(t.len(), TAG_HEX_LEN);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(t, correlation(&k1, &h1));
        assert_ne!(t, correlation(&k2, &h1));
        assert_ne!(t, correlation(&k1, &h2));
    }

    /// The tag is HMAC-SHA256 under the key, not a hash anyone can compute: the value
    /// Python's `hmac` module gives for the same key, label and hash.
    #[test]
    fn known_value() {
        assert_eq!(correlation(&[1u8; 32], &[7u8; 32]), "39911cc4");
    }
}
