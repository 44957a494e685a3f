//! Key naming. Every key of a session carries its shard tag in braces, so that on Redis
//! Cluster a session, and an owner's index with the sessions of that owner, share a hash
//! slot:
//!
//! | key | holds |
//! |---|---|
//! | `<prefix>:{<tag>}:s:<hash>` | one session (a hash: `r`, `e`, `l`, `v`, `o`) |
//! | `<prefix>:{<tag>}:k:<hash>` | the session's lock, while held (`token:until`, with a TTL) |
//! | `<prefix>:{<tag of owner>}:o:<owner>` | the owner's index (a sorted set scored by expiry) |
//!
//! And one pub/sub channel, `<prefix>:ended`, on which deletes and rotations publish the
//! store key they ended (a hash: no usable cookie), for live connections (`notices`).

use std::sync::Arc;
use zeroize::Zeroizing;

use session_core::{ShardTag, StoreKey};

/// The names of one store's keys.
#[derive(Clone)]
pub(crate) struct KeyNames {
    pub(crate) prefix: Arc<str>,
    /// Scripts may touch only keys of one hash slot.
    pub(crate) cluster: bool,
    /// The secret behind owners' shard tags, when set (see [`Self::owner_tag`]).
    pub(crate) tag_key: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for KeyNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyNames")
            .field("prefix", &self.prefix)
            .field("cluster", &self.cluster)
            .field("tag_key", &self.tag_key.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

impl KeyNames {
    /// The key of a session.
    pub(crate) fn record(&self, key: &StoreKey) -> String {
        self.session_key(key, "}:s:")
    }

    /// The channel of end notices (classic pub/sub: on Cluster every node relays it).
    pub(crate) fn channel(&self) -> String {
        format!("{}:ended", self.prefix)
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

    /// The tag of `owner`'s index: keyed when the store has a tag key, so that it equals
    /// the tag the owner's sessions get on Cluster; otherwise an unkeyed hash, which only
    /// names a server-side key.
    fn index_tag(&self, owner: &str) -> ShardTag {
        match &self.tag_key {
            Some(k) => ShardTag::keyed(k, owner),
            None => ShardTag::for_owner(owner),
        }
    }

    /// The tag new sessions of `owner` get: on Cluster with a tag key, the index's tag, so
    /// that sessions and index share a slot; otherwise none (a random tag).
    pub(crate) fn owner_tag(&self, owner: &str) -> Option<ShardTag> {
        let key = self.tag_key.as_ref().filter(|_| self.cluster)?;
        Some(ShardTag::keyed(key, owner))
    }

    /// The key of an owner's index.
    pub(crate) fn index(&self, owner: &str) -> String {
        format!(
            "{}:{{{}}}:o:{}",
            self.prefix,
            self.index_tag(owner).to_hex(),
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
        !self.cluster || key.tag() == self.index_tag(owner)
    }
}
