//! Session ids, and the store keys derived from them.
//!
//! (Over 400 lines with its unit tests; the code is about 330: ids, shard tags and store
//! keys share one encoding and are kept together.)
//!
//! A [`SessionId`] is the secret the browser holds: 256 bits from the operating system's
//! CSPRNG plus a 16-bit public [`ShardTag`]. It travels base64url-encoded in the cookie and
//! nowhere else. Stores never see it: they are keyed by a [`StoreKey`], a SHA-256 hash of
//! the id, so a dump of a store (or its replication stream, or a backup) holds no token that
//! could be replayed as a cookie.
//!
//! The shard tag exists for Redis Cluster, where several keys can be changed atomically only
//! inside one hash slot. Sessions of one owner carry the owner's tag, so the record, the
//! owner's index and any later rotation share a slot. The tag is not secret and adds no
//! entropy; the 256 random bits are untouched by it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Number of random bytes in a session id (256 bits).
pub const SECRET_LEN: usize = 32;
/// Number of bytes of an id on the wire: the 2-byte shard tag, then the secret.
const WIRE_LEN: usize = 2 + SECRET_LEN;
/// Length of an id in its cookie form (base64url without padding of 34 bytes).
pub const ENCODED_LEN: usize = 46;

/// A 16-bit public tag that groups keys which must live together (one hash slot on Redis
/// Cluster). Sessions get a random tag, unless their store co-locates an owner's keys
/// ([`crate::SessionStore::owner_tag`]): then an owner's sessions get the owner's tag,
/// keyed by a server secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardTag(u16);

impl ShardTag {
    /// A random tag, for a session that has no owner yet.
    ///
    /// # Errors
    /// [`Error::Rng`] if the operating system's random source fails.
    pub fn random() -> Result<Self, Error> {
        let mut b = [0u8; 2];
        crate::random::fill(&mut b).map_err(|source| Error::Rng { source })?;
        Ok(Self(u16::from_be_bytes(b)))
    }

    /// The tag of `owner` under the secret `key`: what a store that co-locates an owner's
    /// keys (Redis Cluster) gives the owner's sessions. Without the key a cookie's tag says
    /// nothing about its user (an unkeyed hash of the name could be tested offline against
    /// candidate names).
    pub fn keyed(key: &[u8; 32], owner: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"session-owner-tag-v2\0");
        h.update(key);
        h.update(owner.as_bytes());
        let d = h.finalize();
        Self(u16::from_be_bytes([d[0], d[1]]))
    }

    /// An unkeyed tag of `owner`, for server-side key names only (never a session id's
    /// tag: anyone could compute it from a user name).
    pub fn for_owner(owner: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"session-owner-tag-v1\0");
        h.update(owner.as_bytes());
        let d = h.finalize();
        Self(u16::from_be_bytes([d[0], d[1]]))
    }

    /// The tag as a number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The tag as four lowercase hex digits (for logs and tests; Redis keys carry it as
    /// `session_redis::hash_tag`, which spreads evenly over Cluster's slots).
    pub fn to_hex(self) -> String {
        format!("{:04x}", self.0)
    }
}

impl fmt::Debug for ShardTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShardTag({:04x})", self.0)
    }
}

/// The secret a client presents to find its session.
///
/// It has no public field, and its `Debug` prints only `SessionId(REDACTED)`: an id that
/// leaks into a log is a stolen session. Equality is constant-time.
#[derive(Clone)]
pub struct SessionId {
    tag: ShardTag,
    secret: [u8; SECRET_LEN],
    /// The store key, hashed once when the id is made or parsed: a request asks for it
    /// several times (load, save, rotate), and SHA-256 is the costliest step of a load
    /// from memory.
    key: StoreKey,
}

impl SessionId {
    /// A fresh id with a random tag.
    ///
    /// # Errors
    /// [`Error::Rng`] if the operating system's random source fails.
    pub fn generate() -> Result<Self, Error> {
        // Tag and secret in one draw (`random`: the OS's bytes, fetched in batches).
        let mut b = zeroize::Zeroizing::new([0u8; 2 + SECRET_LEN]);
        crate::random::fill(&mut b[..]).map_err(|source| Error::Rng { source })?;
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&b[2..]);
        Ok(Self::from_parts(
            ShardTag(u16::from_be_bytes([b[0], b[1]])),
            secret,
        ))
    }

    /// A fresh id carrying `tag` (use [`ShardTag::for_owner`] for an authenticated session).
    ///
    /// # Errors
    /// [`Error::Rng`] if the operating system's random source fails.
    pub fn generate_with_tag(tag: ShardTag) -> Result<Self, Error> {
        let mut secret = [0u8; SECRET_LEN];
        crate::random::fill(&mut secret).map_err(|source| Error::Rng { source })?;
        Ok(Self::from_parts(tag, secret))
    }

    /// Parses the cookie form. Anything but exactly 46 base64url characters is rejected
    /// without allocating more than the input.
    ///
    /// # Errors
    /// [`Error::MalformedId`] when the text is not an id.
    ///
    /// # Example
    /// ```
    /// use session_core::SessionId;
    /// let id = SessionId::generate().unwrap();
    /// let back = SessionId::parse(&id.encode()).unwrap();
    /// assert!(id == back);
    /// assert!(SessionId::parse("not-an-id").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() != ENCODED_LEN
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::MalformedId);
        }
        let mut wire = [0u8; WIRE_LEN + 2];
        let n = URL_SAFE_NO_PAD
            .decode_slice(text.as_bytes(), &mut wire)
            .map_err(|_| Error::MalformedId)?;
        if n != WIRE_LEN {
            return Err(Error::MalformedId);
        }
        // Reject non-canonical encodings (trailing bits set), so one id has one spelling.
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&wire[2..WIRE_LEN]);
        let id = Self::from_parts(ShardTag(u16::from_be_bytes([wire[0], wire[1]])), secret);
        if id.encode() != text {
            return Err(Error::MalformedId);
        }
        Ok(id)
    }

    /// The cookie form: 46 base64url characters.
    pub fn encode(&self) -> String {
        let mut wire = [0u8; WIRE_LEN];
        wire[..2].copy_from_slice(&self.tag.0.to_be_bytes());
        wire[2..].copy_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(wire)
    }

    /// The shard tag this id carries.
    pub fn tag(&self) -> ShardTag {
        self.tag
    }

    fn from_parts(tag: ShardTag, secret: [u8; SECRET_LEN]) -> Self {
        let mut h = Sha256::new();
        h.update(b"session-store-key-v1\0");
        h.update(tag.0.to_be_bytes());
        h.update(secret);
        let key = StoreKey {
            tag,
            hash: h.finalize().into(),
        };
        Self { tag, secret, key }
    }

    /// The key stores use for this id: a SHA-256 hash, never the id itself.
    pub fn store_key(&self) -> StoreKey {
        self.key
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag && constant_time_eq(&self.secret, &other.secret)
    }
}
impl Eq for SessionId {}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(REDACTED)")
    }
}

/// Compares two byte strings in time that depends only on their length, through the
/// `subtle` crate (whose comparison the optimiser cannot turn into an early exit).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// What a store is keyed by: the shard tag and a SHA-256 hash of the session id.
///
/// Knowing a store key does not let anyone present the session, so store keys may appear in
/// listings ("your devices") and in logs in shortened form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    tag: ShardTag,
    hash: [u8; 32],
}

/// Length of [`StoreKey::to_bytes`].
pub const STORE_KEY_BYTES: usize = 34;
/// Length of [`StoreKey::to_text`].
pub const STORE_KEY_TEXT_LEN: usize = 68;

impl StoreKey {
    /// The shard tag.
    pub fn tag(&self) -> ShardTag {
        self.tag
    }

    /// The 32-byte hash.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// The hash as 64 lowercase hex digits.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }

    /// Appends the tag (4 hex digits) and the hash (64) to `out` without allocating more
    /// than `out` needs: backends that build a key string per call use this on the hot path.
    pub fn push_hex(&self, out: &mut String, tag: bool, hash: bool) {
        if tag {
            push_hex(out, &self.tag.0.to_be_bytes());
        }
        if hash {
            push_hex(out, &self.hash);
        }
    }

    /// 34 bytes: tag (big-endian) then hash; the form SQL stores use as a primary key.
    pub fn to_bytes(&self) -> [u8; STORE_KEY_BYTES] {
        let mut b = [0u8; STORE_KEY_BYTES];
        b[..2].copy_from_slice(&self.tag.0.to_be_bytes());
        b[2..].copy_from_slice(&self.hash);
        b
    }

    /// Inverse of [`StoreKey::to_bytes`].
    ///
    /// # Errors
    /// [`Error::MalformedKey`] unless `b` is exactly 34 bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, Error> {
        if b.len() != STORE_KEY_BYTES {
            return Err(Error::MalformedKey);
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[2..]);
        Ok(Self {
            tag: ShardTag(u16::from_be_bytes([b[0], b[1]])),
            hash,
        })
    }

    /// 68 lowercase hex digits (tag then hash): a stable text form for listings and forms.
    pub fn to_text(&self) -> String {
        hex(&self.to_bytes())
    }

    /// Inverse of [`StoreKey::to_text`].
    ///
    /// # Errors
    /// [`Error::MalformedKey`] unless `s` is 68 hex digits.
    pub fn parse_text(s: &str) -> Result<Self, Error> {
        if s.len() != STORE_KEY_TEXT_LEN {
            return Err(Error::MalformedKey);
        }
        let mut b = [0u8; STORE_KEY_BYTES];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or(Error::MalformedKey)?;
            let lo = hex_val(pair[1]).ok_or(Error::MalformedKey)?;
            b[i] = (hi << 4) | lo;
        }
        Self::from_bytes(&b)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A keyed tag (R68): lines about one session share it, and it says nothing about
        // the id, the cookie or the key a backend stores (see `log_tag`).
        match crate::log_tag::current(&self.hash) {
            Some(t) => write!(f, "StoreKey(~{t})"),
            None => f.write_str("StoreKey(REDACTED)"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Each byte's two lowercase hex digits, built at compile time.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 0xf]];
        i += 1;
    }
    t
};

fn push_hex(s: &mut String, bytes: &[u8]) {
    // Digits go to a stack buffer and into the string in one append: pushing them one
    // `char` at a time cost the Redis store about 900 instructions per key.
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
        }
        // Always ASCII, so never the empty fallback.
        s.push_str(std::str::from_utf8(&buf[..chunk.len() * 2]).unwrap_or_default());
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex is lowercase, two digits a byte, high nibble first, across the 32-byte chunk
    /// boundary too.
    #[test]
    fn hex_digits() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let long: Vec<u8> = (0..=40).collect();
        let h = hex(&long);
        assert_eq!(h.len(), 82);
        assert_eq!(&h[62..68], "1f2021");
        assert_eq!(hex(&[]), "");
    }

    /// Ids round-trip through their cookie form, which is 46 url-safe characters.
    #[test]
    fn id_round_trip_and_length() {
        let id = SessionId::generate().unwrap();
        let s = id.encode();
        assert_eq!(s.len(), ENCODED_LEN);
        assert!(SessionId::parse(&s).unwrap() == id);
    }

    /// Two generated ids differ, and so do their store keys.
    #[test]
    fn ids_are_random() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert!(a != b);
        assert_ne!(a.store_key(), b.store_key());
    }

    /// Parsing rejects wrong lengths, wrong alphabets and non-canonical spellings.
    #[test]
    fn parse_rejects_bad_input() {
        let good = SessionId::generate().unwrap().encode();
        let cases = [
            String::new(),
            "a".repeat(45),
            "a".repeat(47),
            format!("{}=", &good[..45]),
            format!("{}+", &good[..45]),
            format!("{}/", &good[..45]),
            "é".repeat(23),
            // last character with trailing bits set: 34 bytes leave 2 spare bits
            format!("{}_", &good[..45]),
        ];
        for c in &cases {
            if c == &good {
                continue;
            }
            assert!(SessionId::parse(c).is_err(), "accepted {c:?}");
        }
    }

    /// No id leaks through Debug.
    #[test]
    fn debug_is_redacted() {
        let id = SessionId::generate().unwrap();
        let d = format!("{id:?}");
        assert_eq!(d, "SessionId(REDACTED)");
        assert!(!d.contains(&id.encode()));
    }

    /// The store key is a hash: it does not contain the id's secret.
    #[test]
    fn store_key_hides_secret() {
        let id = SessionId::generate().unwrap();
        let key = id.store_key();
        assert!(!key.to_text().contains(&hex(&id.secret)));
        assert_eq!(StoreKey::parse_text(&key.to_text()).unwrap(), key);
        assert_eq!(StoreKey::from_bytes(&key.to_bytes()).unwrap(), key);
        assert!(StoreKey::parse_text("zz").is_err());
        assert!(StoreKey::parse_text(&"g".repeat(68)).is_err());
    }

    /// An owner's sessions all carry the owner's tag.
    #[test]
    fn keyed_tags_need_the_key() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(ShardTag::keyed(&a, "alice"), ShardTag::keyed(&a, "alice"));
        let names = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
        ];
        // Another key, or no key, gives other tags for most names.
        let same_b = names
            .iter()
            .filter(|n| ShardTag::keyed(&a, n) == ShardTag::keyed(&b, n));
        let same_unkeyed = names
            .iter()
            .filter(|n| ShardTag::keyed(&a, n) == ShardTag::for_owner(n));
        assert!(same_b.count() <= 1);
        assert!(same_unkeyed.count() <= 1);
    }

    #[test]
    fn owner_tag_is_stable() {
        let t = ShardTag::for_owner("alice");
        assert_eq!(t, ShardTag::for_owner("alice"));
        let id = SessionId::generate_with_tag(t).unwrap();
        assert_eq!(id.tag(), t);
        assert_eq!(id.store_key().tag(), t);
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
