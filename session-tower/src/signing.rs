//! Signed session cookies: the id plus an HMAC-SHA256 tag under a key ring.
//!
//! A cookie value is `<id>.<tag>`: the 46-character id and a 43-character base64url tag.
//! The tag is checked before anything else happens, so a forged or tampered cookie costs one
//! HMAC and no store call. The first key of the ring signs; every key verifies, so keys can
//! be rotated without logging anyone out: add the new key first, keep the old one until the
//! longest session has expired, then drop it.
//!
//! Keys are never used directly: each is expanded with HKDF-SHA256 (RFC 5869) into one
//! subkey per purpose (info `session-cookie-v2`, `session-csrf-v2`, and `session-log-v1`
//! for the newest key: the log-correlation key, see `session_core::log_tag`), so the same
//! configured key serves several purposes without the tags of one being valid for another.
//! Key bytes and keyed HMAC states are wiped when dropped (`zeroize`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use session_core::SessionId;
use session_core::id::ENCODED_LEN;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::ConfigError;

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 32;
const TAG_LEN: usize = 43;
/// Length of a signed cookie value.
pub const SIGNED_LEN: usize = ENCODED_LEN + 1 + TAG_LEN;

/// A subkey: its bytes and the HMAC keyed with it, prepared once so that signing on the
/// request path has no fallible step. Both are wiped when dropped (R65): the bytes by
/// `Zeroizing`, the HMAC's keyed inner and outer SHA-256 states by sha2's and digest's
/// `zeroize` features, which every copy made for one tag also gets.
struct SubKey {
    raw: Zeroizing<[u8; 32]>,
    mac: HmacSha256,
}

/// The keys that sign and verify session cookies. `Debug` prints only how many there are.
pub struct SigningKeys {
    keys: Vec<SubKey>,
    /// Subkeys for CSRF secrets (HKDF info `session-csrf-v2`), in the same order.
    csrf: Vec<SubKey>,
    /// The log-correlation subkey of the newest key (HKDF info `session-log-v1`, R68).
    log: SubKey,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKeys({} keys, REDACTED)", self.keys.len())
    }
}

impl Clone for SubKey {
    fn clone(&self) -> Self {
        SubKey {
            raw: self.raw.clone(),
            mac: self.mac.clone(),
        }
    }
}

impl Clone for SigningKeys {
    fn clone(&self) -> Self {
        Self {
            keys: self.keys.clone(),
            csrf: self.csrf.clone(),
            log: self.log.clone(),
        }
    }
}

const COOKIE_PURPOSE: &[u8] = b"session-cookie-v2";
const CSRF_PURPOSE: &[u8] = b"session-csrf-v2";
const LOG_PURPOSE: &[u8] = b"session-log-v1";
/// HKDF's salt: fixed and public, as RFC 5869 allows; it separates our derivations from
/// any other use of the same configured key.
const HKDF_SALT: &[u8] = b"session-tower hkdf salt v1";

/// HKDF-SHA256 (RFC 5869) with a 32-byte output: extract, then the one expand block. The
/// pseudorandom key in between is wiped as soon as the expand HMAC is keyed with it.
fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let mut extract = HmacSha256::new_from_slice(salt).ok()?;
    extract.update(ikm);
    let prk = Zeroizing::new(<[u8; 32]>::from(extract.finalize().into_bytes()));
    let mut expand = HmacSha256::new_from_slice(&*prk).ok()?;
    drop(prk);
    expand.update(info);
    expand.update(&[1]);
    Some(Zeroizing::new(expand.finalize().into_bytes().into()))
}

fn derive(master: &[u8], purpose: &[u8]) -> Result<SubKey, ConfigError> {
    let too_short = || ConfigError::KeyTooShort {
        index: 0,
        len: master.len(),
    };
    let raw = hkdf_sha256(HKDF_SALT, master, purpose).ok_or_else(too_short)?;
    let mac = HmacSha256::new_from_slice(&*raw).map_err(|_| too_short())?;
    Ok(SubKey { raw, mac })
}

impl SigningKeys {
    /// A ring from raw keys, newest first; each at least 32 bytes.
    ///
    /// # Errors
    /// [`ConfigError::NoKeys`] for an empty list; [`ConfigError::KeyTooShort`] for a short key.
    pub fn new<K: AsRef<[u8]>>(keys: &[K]) -> Result<Self, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        let mut out = Vec::with_capacity(keys.len());
        let mut csrf = Vec::with_capacity(keys.len());
        for (index, k) in keys.iter().enumerate() {
            let k = k.as_ref();
            if k.len() < MIN_KEY_LEN {
                return Err(ConfigError::KeyTooShort {
                    index,
                    len: k.len(),
                });
            }
            out.push(derive(k, COOKIE_PURPOSE)?);
            csrf.push(derive(k, CSRF_PURPOSE)?);
        }
        let log = derive(keys[0].as_ref(), LOG_PURPOSE)?;
        Ok(Self {
            keys: out,
            csrf,
            log,
        })
    }

    /// Reads keys from the environment variable `var`: comma-separated, each base64 (standard
    /// or url-safe, padded or not) of at least 32 bytes, newest first.
    ///
    /// # Errors
    /// [`ConfigError::MissingKeyVariable`] when unset; [`ConfigError::KeyEncoding`] or
    /// [`ConfigError::KeyTooShort`] for a bad key.
    pub fn from_env(var: &str) -> Result<Self, ConfigError> {
        let text = std::env::var(var).map_err(|_| ConfigError::MissingKeyVariable {
            variable: var.to_owned(),
        })?;
        Self::from_base64_list(&text)
    }

    /// Parses a comma-separated list of base64 keys, newest first.
    ///
    /// # Errors
    /// As [`SigningKeys::from_env`].
    pub fn from_base64_list(text: &str) -> Result<Self, ConfigError> {
        // The decoded keys are wiped once the subkeys are derived.
        let mut keys: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for (index, part) in text.split(',').map(str::trim).enumerate() {
            let decoded = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
                .iter()
                .find_map(|e| e.decode(part).ok())
                .ok_or(ConfigError::KeyEncoding { index })?;
            keys.push(Zeroizing::new(decoded));
        }
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        Self::new(&keys)
    }

    /// A ring with one fresh random key: for tests and development only (sessions do not
    /// survive a restart).
    ///
    /// # Errors
    /// [`ConfigError::Rng`] when the OS random source fails.
    pub fn generate() -> Result<Self, ConfigError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *k).map_err(|_| ConfigError::Rng)?;
        Self::new(&[k.as_slice()])
    }

    /// A new random 32-byte key as `SESSION_KEYS` takes it (url-safe base64): how to make
    /// a production key. `cargo run -p session-tower --example keygen` prints one.
    ///
    /// To rotate keys, put the new key first and keep the old one after it
    /// (`SESSION_KEYS=new,old`): cookies are signed with the first and accepted under any, so
    /// nobody is logged out, and a live session's cookie signed by the old key is re-signed
    /// with the new one on its next response; drop the old key once every session has been
    /// by or expired (the idle timeout, 30 minutes by default; at most the absolute one).
    ///
    /// # Errors
    /// [`ConfigError::Rng`] when the OS random source fails.
    ///
    /// # Example
    /// ```
    /// use session_tower::SigningKeys;
    /// let key = SigningKeys::new_key_base64().unwrap();
    /// let rotated = format!("{key},{}", SigningKeys::new_key_base64().unwrap());
    /// assert!(SigningKeys::from_base64_list(&rotated).is_ok());
    /// ```
    pub fn new_key_base64() -> Result<String, ConfigError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *k).map_err(|_| ConfigError::Rng)?;
        Ok(URL_SAFE_NO_PAD.encode(k.as_slice()))
    }

    /// The tag that log lines and spans show for the session stored under `key` (its
    /// `Debug`, R68), for an app that wants to name a session the same way in its own
    /// logs: a keyed HMAC under this ring's log subkey, which says nothing about the id.
    pub fn log_correlation(&self, key: &session_core::StoreKey) -> String {
        session_core::log_tag::correlation(&self.log.raw, key.hash())
    }

    /// Makes this ring's log subkey the process-wide log key (`session_core::log_tag`),
    /// so that every instance sharing the keys prints the same tag for a session.
    pub(crate) fn install_log_key(&self) {
        session_core::log_tag::set_log_key(*self.log.raw);
    }

    fn tag(key: &SubKey, id: &str) -> HmacSha256 {
        let mut mac = key.mac.clone();
        mac.update(id.as_bytes());
        mac
    }

    /// The CSRF secrets of the session `id`, one per key of the ring, newest first: a keyed
    /// hash of the id, so no secret is stored, every request on one session derives the
    /// same one (no race between tabs), and a new id (login, rotation) means a new secret.
    pub(crate) fn csrf_secrets(&self, id: &SessionId) -> impl Iterator<Item = [u8; 32]> + '_ {
        let encoded = id.encode();
        self.csrf.iter().map(move |k| {
            let mut mac = k.mac.clone();
            mac.update(encoded.as_bytes());
            mac.finalize().into_bytes().into()
        })
    }

    /// The signed cookie value for `id`.
    pub fn sign(&self, id: &SessionId) -> String {
        let encoded = id.encode();
        let mut out = String::with_capacity(SIGNED_LEN);
        out.push_str(&encoded);
        out.push('.');
        // The ring is never empty (checked in `new`).
        if let Some(key) = self.keys.first() {
            let tag = Self::tag(key, &encoded).finalize().into_bytes();
            out.push_str(&URL_SAFE_NO_PAD.encode(tag));
        }
        out
    }

    /// The id in a signed cookie value, if its tag verifies under any key of the ring.
    /// Length and alphabet are checked first, so junk costs no cryptography.
    pub fn verify(&self, value: &str) -> Option<SessionId> {
        self.verify_and_age(value).map(|(id, _)| id)
    }

    /// [`verify`](Self::verify), and whether the newest key signed it: a cookie signed by
    /// an older key of the ring is re-signed with the newest on the next response, so
    /// that the older key can be retired without logging anyone out.
    pub(crate) fn verify_and_age(&self, value: &str) -> Option<(SessionId, bool)> {
        self.check(value).ok()
    }

    /// [`verify_and_age`](Self::verify_and_age), saying why a value is refused.
    pub(crate) fn check(&self, value: &str) -> Result<(SessionId, bool), CookieRejection> {
        use CookieRejection::{BadSignature, Malformed};
        let bytes = value.as_bytes();
        if bytes.len() != SIGNED_LEN || bytes[ENCODED_LEN] != b'.' {
            return Err(Malformed);
        }
        let (id_part, tag_part) = (&value[..ENCODED_LEN], &value[ENCODED_LEN + 1..]);
        let ok_alphabet = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok_alphabet(id_part) || !ok_alphabet(tag_part) {
            return Err(Malformed);
        }
        let mut tag = [0u8; 34];
        let n = URL_SAFE_NO_PAD
            .decode_slice(tag_part.as_bytes(), &mut tag)
            .map_err(|_| Malformed)?;
        if n != 32 {
            return Err(Malformed);
        }
        let by = self
            .keys
            .iter()
            .position(|k| Self::tag(k, id_part).verify_slice(&tag[..32]).is_ok())
            .ok_or(BadSignature)?;
        // Signed by one of our keys, so written by us: an id that does not parse is a
        // cookie of a newer or older format, not a forgery.
        let id = SessionId::parse(id_part).map_err(|_| Malformed)?;
        Ok((id, by == 0))
    }
}

/// Why a session cookie's value was refused (logged with this reason, never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieRejection {
    /// Not a signed id's shape: wrong length, alphabet or separator.
    Malformed,
    /// The shape of one, but no key of the ring signed it (forged, or signed by a key
    /// since retired).
    BadSignature,
}

impl CookieRejection {
    /// A stable, machine-readable name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CookieRejection::Malformed => "malformed",
            CookieRejection::BadSignature => "bad_signature",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SigningKeys {
        SigningKeys::new(&[[7u8; 32]]).unwrap()
    }

    /// A refused value says why: not a signed id's shape, or no key of the ring signed it.
    #[test]
    fn refusal_reasons() {
        let ring = keys();
        let id = SessionId::generate().unwrap();
        assert!(ring.check(&ring.sign(&id)).is_ok());
        let other = SigningKeys::new(&[[8u8; 32]]).unwrap();
        assert_eq!(
            ring.check(&other.sign(&id)),
            Err(CookieRejection::BadSignature)
        );
        for junk in [
            "",
            "x",
            &ring.sign(&id)[1..],
            &ring.sign(&id).replace('.', "!"),
        ] {
            assert_eq!(
                ring.check(junk),
                Err(CookieRejection::Malformed),
                "{junk:?}"
            );
        }
        assert_eq!(CookieRejection::BadSignature.as_str(), "bad_signature");
        assert_eq!(CookieRejection::Malformed.as_str(), "malformed");
    }

    /// The subkeys come from HKDF-SHA256 as RFC 5869 defines it: its test case 1.
    #[test]
    fn hkdf_matches_rfc_5869() {
        let ikm = [0x0b_u8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256(&salt, &ikm, &info).unwrap();
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
        // One key, two purposes, two unrelated subkeys.
        let a = derive(&[9u8; 32], COOKIE_PURPOSE).unwrap();
        let b = derive(&[9u8; 32], CSRF_PURPOSE).unwrap();
        assert_ne!(a.raw, b.raw);
    }

    /// A signed id verifies and round-trips.
    /// Key material is wiped when dropped (R65): a subkey's bytes are `Zeroizing`, and the
    /// HMAC keyed with it keeps its inner and outer states as SHA-256 block cores
    /// (`EagerHash::Core`, with the block buffer) that zeroize on drop. Wiping cannot be
    /// observed without unsafe code, so the proof is the type system: a build without
    /// the `zeroize` features of sha2 and hmac does not compile this test.
    #[test]
    fn key_material_is_wiped_on_drop() {
        use hmac::digest::block_api::{Buffer, EagerHash};
        fn wiped<T: zeroize::ZeroizeOnDrop>() {}
        wiped::<Zeroizing<[u8; 32]>>();
        wiped::<<Sha256 as EagerHash>::Core>();
        wiped::<Buffer<<Sha256 as EagerHash>::Core>>();
        wiped::<Sha256>();
    }

    #[test]
    fn sign_and_verify() {
        let id = SessionId::generate().unwrap();
        let v = keys().sign(&id);
        assert_eq!(v.len(), SIGNED_LEN);
        assert!(keys().verify(&v).unwrap() == id);
    }

    /// Flipped, appended, truncated or re-signed values do not verify.
    #[test]
    fn tampering_is_rejected() {
        let id = SessionId::generate().unwrap();
        let v = keys().sign(&id);
        let mut flipped = v.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let other = SigningKeys::new(&[[8u8; 32]]).unwrap();
        let cases = [
            String::from_utf8(flipped).unwrap(),
            format!("{v}A"),
            v[..v.len() - 1].to_owned(),
            other.sign(&id),
            String::new(),
            "x".repeat(100_000),
            format!("{}*{}", &v[..46], &v[47..]),
        ];
        for c in &cases {
            assert!(keys().verify(c).is_none(), "accepted {c:?}");
        }
    }

    /// Older keys verify, the newest signs.
    #[test]
    fn rotation() {
        let old = SigningKeys::new(&[[1u8; 32]]).unwrap();
        let ring = SigningKeys::new(&[[2u8; 32], [1u8; 32]]).unwrap();
        let id = SessionId::generate().unwrap();
        assert!(ring.verify(&old.sign(&id)).is_some());
        assert!(old.verify(&ring.sign(&id)).is_none());
        // The ring tells which: the newest key's signature is current, an older one's not.
        assert_eq!(
            ring.verify_and_age(&ring.sign(&id)),
            Some((id.clone(), true))
        );
        assert_eq!(ring.verify_and_age(&old.sign(&id)), Some((id, false)));
    }

    /// Short keys and empty rings fail at startup; Debug hides keys.
    #[test]
    fn key_validation() {
        assert!(matches!(
            SigningKeys::new(&[[0u8; 16]]),
            Err(ConfigError::KeyTooShort { .. })
        ));
        assert!(matches!(
            SigningKeys::new::<[u8; 32]>(&[]),
            Err(ConfigError::NoKeys)
        ));
        assert!(SigningKeys::from_base64_list("not base64!").is_err());
        let k = URL_SAFE_NO_PAD.encode([9u8; 32]);
        assert!(SigningKeys::from_base64_list(&format!("{k},{k}")).is_ok());
        assert_eq!(format!("{:?}", keys()), "SigningKeys(1 keys, REDACTED)");
    }
}
