//! Key naming. Every key of a session carries its shard tag in braces, so that on Redis
//! Cluster a session, and an owner's index with the sessions of that owner, share a hash
//! slot:
//!
//! | key | holds |
//! |---|---|
//! | `<prefix>:{<tag>}:s:<hash>` | one session (a hash: `r`, `e`, `l`, `v`, `o`) |
//! | `<prefix>:{<tag>}:k:<hash>` | the session's lock, while held (`token:until`, with a TTL) |
//! | `<prefix>:{<tag of owner>}:o:<owner>` | the owner's index (a sorted set scored by expiry) |

use std::sync::Arc;

use session_core::{ShardTag, StoreKey};

/// The names of one store's keys.
#[derive(Debug, Clone)]
pub(crate) struct KeyNames {
    pub(crate) prefix: Arc<str>,
    /// Scripts may touch only keys of one hash slot.
    pub(crate) cluster: bool,
}

impl KeyNames {
    /// The key of a session.
    pub(crate) fn record(&self, key: &StoreKey) -> String {
        self.session_key(key, "}:s:")
    }

    /// The key of a session's lock, in the record's hash slot.
    pub(crate) fn lock(&self, key: &StoreKey) -> String {
        self.session_key(key, "}:k:")
    }

    fn session_key(&self, key: &StoreKey, kind: &str) -> String {
        // Built by hand, not with `format!`: this runs on every operation.
        let mut k = String::with_capacity(self.prefix.len() + 76);
        k.push_str(&self.prefix);
        k.push_str(":{");
        key.push_hex(&mut k, true, false);
        k.push_str(kind);
        key.push_hex(&mut k, false, true);
        k
    }

    /// The key of an owner's index.
    pub(crate) fn index(&self, owner: &str) -> String {
        format!(
            "{}:{{{}}}:o:{}",
            self.prefix,
            ShardTag::for_owner(owner).to_hex(),
            owner
        )
    }

    /// `keys` plus `owner`'s index key when a script on `key` may write it (see
    /// [`Self::colocated`]); the scripts take the index as their last, optional key.
    pub(crate) fn script_keys(
        &self,
        mut keys: Vec<String>,
        key: &StoreKey,
        owner: &str,
    ) -> Vec<String> {
        if !owner.is_empty() && self.colocated(key, owner) {
            keys.push(self.index(owner));
        }
        keys
    }

    /// Whether a script on `key` may also touch `owner`'s index: always on a single server;
    /// on Cluster only when both carry the same tag (and so share a hash slot).
    pub(crate) fn colocated(&self, key: &StoreKey, owner: &str) -> bool {
        !self.cluster || key.tag() == ShardTag::for_owner(owner)
    }
}
