//! R68 in its own process (the log key is process-wide): a store key's `Debug` is a keyed
//! tag, never a prefix of the key's hash or anything else a log reader could match.

use session_core::SessionId;
use session_core::log_tag::{correlation, set_log_key};

#[test]
fn debug_is_the_keyed_tag_of_the_installed_key() {
    let id = SessionId::generate().unwrap();
    let key = id.store_key();
    // Before any install: the tag under a random key, in the same shape. Its exact
    // value is checked below, once the key is known: the whole `Debug` is the keyed tag,
    // so neither the shard tag nor any part of the store key's hash is in it.
    let before = format!("{key:?}");
    assert!(before.starts_with("StoreKey(~"), "{before}");
    assert_eq!(before.len(), "StoreKey(~)".len() + 8, "{before}");
    assert_eq!(before, format!("{key:?}"), "not stable for one session");

    set_log_key([3u8; 32]);
    let after = format!("{key:?}");
    assert_eq!(
        after,
        format!("StoreKey(~{})", correlation(&[3u8; 32], key.hash()))
    );
    assert_ne!(after, before, "the installed key is not used");
    set_log_key([4u8; 32]);
    assert_ne!(format!("{key:?}"), after, "the last install does not win");
}
