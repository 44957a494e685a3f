//! Key naming. Every key of a session carries its shard tag in braces, so that on Redis
//! Cluster a session, and an owner's index with the sessions of that owner, share a hash
//! slot:
//!
//! | key | holds |
//! |---|---|
//! | `<prefix>:{<tag>}:r:<hash>` | one session (a string: header, owner, index name, record; see `layout`) |
//! | `<prefix>:{<tag>}:k:<hash>` | the session's lock, while held (`token:until`, with a TTL) |
//! | `<prefix>:{<tag>}:m:<hash>` | during a cross-slot rotation on Cluster, the new key's text |
//! | `<prefix>:{<tag>}:s:<hash>` | version 0.1's hash per session, converted when a load finds nothing under `r` |
//! | `<prefix>:{<tag of owner>}:o:<owner>` | the owner's index (a sorted set scored by expiry) |
//!
//! And one pub/sub channel, `<prefix>:ended`, on which deletes and rotations publish the
//! store key they ended (a hash: no usable cookie), for live connections (`notices`).
//!
//! The tag in braces is the 16-bit shard tag written as four characters of `@ABCDEFGHIJKLMNO`
//! (one per nibble, [`hash_tag`]), not as hex: Redis hashes the text with CRC16, which is
//! affine over the bits of characters that differ only in their low four bits, so the
//! 65,536 tags land exactly four to each of the 16,384 slots. Hex digits are not such a
//! set: four of them reach only 13,152 slots, one to twelve tags each, and a million
//! sessions spread with a coefficient of variation of 0.87 (measured by `cluster-slots`).

use std::sync::Arc;
use zeroize::Zeroizing;

use session_core::{ShardTag, StoreKey};

/// The text in braces for `tag`: four characters of `@ABCDEFGHIJKLMNO`, the high nibble
/// first. Every key of the sessions with this tag carries it (see the module's table).
///
/// # Example
/// ```
/// let tag = session_core::SessionId::generate().unwrap().store_key().tag();
/// let text = session_redis::hash_tag(tag);
/// assert_eq!(text.len(), 4);
/// assert!(text.bytes().all(|b| (b'@'..=b'O').contains(&b)));
/// ```
pub fn hash_tag(tag: ShardTag) -> String {
    let mut s = String::with_capacity(4);
    push_tag(&mut s, tag);
    s
}

fn push_tag(out: &mut String, tag: ShardTag) {
    let t = tag.get();
    for shift in [12u16, 8, 4, 0] {
        // 0x40 | nibble: the low four bits are the nibble, the rest the same for all.
        out.push(char::from(0x40 | ((t >> shift) & 0xF) as u8));
    }
}

/// The names of one store's keys.
#[derive(Clone)]
pub(crate) struct KeyNames {
    pub(crate) prefix: Arc<str>,
    /// Scripts may touch only keys of one hash slot.
    pub(crate) cluster: bool,
    /// The secret behind owners' shard tags, when set (see [`Self::owner_tag`]).
    pub(crate) tag_key: Option<Zeroizing<[u8; 32]>>,
    /// `<prefix>:ended`, built once: every delete publishes on it.
    channel: Arc<str>,
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
    /// The names under `prefix`, for a Cluster when `cluster` is set.
    pub(crate) fn new(prefix: &str, cluster: bool, tag_key: Option<Zeroizing<[u8; 32]>>) -> Self {
        Self {
            prefix: prefix.into(),
            cluster,
            tag_key,
            channel: format!("{prefix}:ended").into(),
        }
    }

    /// The key of a session.
    pub(crate) fn record(&self, key: &StoreKey) -> String {
        self.session_key(key, "}:r:")
    }

    /// The key under which version 0.1 kept a session (a hash), read once to convert it.
    pub(crate) fn hash_record(&self, key: &StoreKey) -> String {
        self.session_key(key, "}:s:")
    }

    /// The key naming where a session marked moving goes (Cluster, across slots).
    pub(crate) fn moving(&self, key: &StoreKey) -> String {
        self.session_key(key, "}:m:")
    }

    /// The channel of end notices (classic pub/sub: on Cluster every node relays it).
    pub(crate) fn channel(&self) -> &str {
        &self.channel
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
        push_tag(&mut k, key.tag());
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
        let mut k = String::with_capacity(self.prefix.len() + owner.len() + 12);
        k.push_str(&self.prefix);
        k.push_str(":{");
        push_tag(&mut k, self.index_tag(owner));
        k.push_str("}:o:");
        k.push_str(owner);
        k
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis Cluster's key hash: CRC16/XMODEM of the text in braces, modulo 16,384.
    fn slot(text: &str) -> usize {
        let mut crc: u16 = 0;
        for b in text.bytes() {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        usize::from(crc) % 16_384
    }

    /// Every slot gets exactly four of the 65,536 tags; hex text would leave 3,232 slots
    /// empty.
    #[test]
    fn tags_cover_every_slot_evenly() {
        let mut per_slot = vec![0u32; 16_384];
        let mut per_slot_hex = vec![0u32; 16_384];
        for t in 0..=u16::MAX {
            let tag = StoreKey::from_bytes(&[&t.to_be_bytes()[..], &[0u8; 32]].concat())
                .unwrap()
                .tag();
            per_slot[slot(&hash_tag(tag))] += 1;
            per_slot_hex[slot(&tag.to_hex())] += 1;
        }
        assert!(per_slot.iter().all(|&n| n == 4));
        assert_eq!(per_slot_hex.iter().filter(|&&n| n == 0).count(), 3_232);
    }

    #[test]
    fn key_shapes() {
        let names = KeyNames::new("p", true, None);
        let key = StoreKey::from_bytes(&[&[0x1a, 0x0f][..], &[0xab; 32]].concat()).unwrap();
        assert_eq!(
            names.record(&key),
            format!("p:{{AJ@O}}:r:{}", "ab".repeat(32))
        );
        assert_eq!(
            names.hash_record(&key),
            format!("p:{{AJ@O}}:s:{}", "ab".repeat(32))
        );
        assert_eq!(
            names.moving(&key),
            format!("p:{{AJ@O}}:m:{}", "ab".repeat(32))
        );
        assert_eq!(
            names.lock(&key),
            format!("p:{{AJ@O}}:k:{}", "ab".repeat(32))
        );
        assert!(names.index("ada").starts_with("p:{"));
        assert!(names.index("ada").ends_with("}:o:ada"));
        assert_eq!(names.channel(), "p:ended");
    }
}
