//! The stored form of a session: the record, its envelope, and the one binary encoding
//! every backend stores.
//!
//! # The rule every backend follows
//!
//! | part of a [`Record`] | fields | where a backend keeps it |
//! |---|---|---|
//! | the [`Envelope`] | `expires_at`, `last_seen` | in its own native fields, and only there: Redis in the first 40 bytes of the header of the session's string, SQL in the `expires_at` and `last_seen` columns, the memory store in the record itself. A touch moves them without rewriting anything else. |
//! | the body | every other field: `data`, `created_at`, `absolute_deadline`, `owner`, `version`, `user_agent`, `lease`, `remember`, `authenticated_at` | the bytes of [`Record::encode`], identical in every backend |
//! | copies for queries | `version`, `owner` | SQL columns, and in Redis the version and owner in the session string's header, written from the record at every write so that a compare-and-swap or an owner index can use them; never read back into a record |
//!
//! [`Record::decode`] takes the bytes and the envelope together, so a backend cannot forget
//! one or the other, and a body written by one backend decodes the same through every other
//! given the same envelope (tested across all of them).
//!
//! The body is one format-version byte, then a postcard body. postcard is serde-based,
//! compact and has a documented, stable wire format; bincode, the usual choice, is
//! unmaintained. The version byte lets a later release read old records, and lets every
//! release reject bytes it does not understand with a clear error rather than misread them
//! (a positional format without one is how a peer broke its users on a field reorder).
//!
//! Values inside a record are kept as their serialized bytes ([`Bytes`]): a load decodes
//! only the keys a handler reads, and copying a record never deep-clones a value tree.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{DecodeProblem, Error};

/// First byte of every record body this release writes: version 2's body, then the
/// `remember` flag and `authenticated_at`.
pub const FORMAT_V3: u8 = 3;

/// First byte of a record body without the `remember` flag and `authenticated_at`, as the
/// release before wrote it; still read (as not remembered, never authenticated), never
/// written. (Version 1, which also carried the envelope's two times, was retired before
/// the first release.)
pub const FORMAT_V2: u8 = 2;

/// The part of a record that every backend keeps in its own native fields rather than in
/// the encoded body: what a touch moves. See the module docs for the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// When the session stops existing.
    pub expires_at: Timestamp,
    /// When it was last used.
    pub last_seen: Timestamp,
}

/// The encoded body, borrowed from a record for writing.
#[derive(Serialize)]
struct BodyRef<'a> {
    data: &'a BTreeMap<String, Bytes>,
    created_at: Timestamp,
    absolute_deadline: Option<Timestamp>,
    owner: &'a Option<String>,
    version: u64,
    user_agent: &'a Option<String>,
    lease: Option<Lease>,
    remember: bool,
    authenticated_at: Option<Timestamp>,
}

/// The encoded body, owned, as read: version 2's fields. Version 3 appends [`Tail`].
#[derive(Deserialize)]
struct Body {
    data: BTreeMap<String, Bytes>,
    created_at: Timestamp,
    absolute_deadline: Option<Timestamp>,
    owner: Option<String>,
    version: u64,
    user_agent: Option<String>,
    lease: Option<Lease>,
}

/// A session as stores keep it.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Application data: key to the value's serialized bytes (JSON, see [`crate::Session`]).
    pub data: BTreeMap<String, Bytes>,
    /// When the session was created.
    pub created_at: Timestamp,
    /// When the session was last used (updated by saves and touches).
    pub last_seen: Timestamp,
    /// When the session stops existing: the earlier of its idle and absolute deadlines.
    pub expires_at: Timestamp,
    /// The absolute deadline, beyond which no touch can extend the session.
    pub absolute_deadline: Option<Timestamp>,
    /// The authenticated user this session belongs to, for per-user listing and revocation.
    pub owner: Option<String>,
    /// Incremented by every save; the compare-and-swap token.
    pub version: u64,
    /// The user agent that created the session, for a "your devices" page.
    pub user_agent: Option<String>,
    /// The per-session lock's lease, for stores that use the trait's provided lock methods
    /// (a lease kept in the record, see [`crate::SessionStore::acquire_lock`]); kept after
    /// release so that fencing tokens only grow. `None` on stores with a native lock.
    pub lease: Option<Lease>,
    /// "Remember me": the client keeps the session's cookie across browser restarts (a
    /// web layer gives it a `Max-Age` up to `expires_at`). False for a browser-session
    /// cookie, the default.
    pub remember: bool,
    /// When the session's owner last proved who they are (a [`crate::Session::login`],
    /// including a login again as the same owner); `None` for an anonymous session. What
    /// a "recent authentication" check (sudo mode) compares with.
    pub authenticated_at: Option<Timestamp>,
}

/// The fields version 3 appends to version 2's body; their defaults are what a version-2
/// record means (not remembered, never authenticated).
#[derive(Deserialize, Default)]
struct Tail {
    remember: bool,
    authenticated_at: Option<Timestamp>,
}

/// The lease of a session's lock: who holds it (a fencing token) and until when.
///
/// A lease whose `until` has passed is free, whoever took it. Tokens grow by one with each
/// acquisition, so a holder whose lease ran out and was taken over can tell that it lost
/// the lock, and so can anything it handed the token to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The fencing token of the latest acquisition.
    pub token: u64,
    /// When the lease ends (released leases end at their release time).
    pub until: Timestamp,
}

impl Lease {
    /// True while the lease is held at `now`.
    pub fn is_held(&self, now: Timestamp) -> bool {
        now < self.until
    }

    /// True while the lease is held at `now` by the acquisition with fencing token `token`.
    pub fn is_held_by(&self, token: u64, now: Timestamp) -> bool {
        self.token == token && self.is_held(now)
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may hold secrets (CSRF secrets, tokens): show their names and sizes only.
        let data: BTreeMap<&str, usize> = self
            .data
            .iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect();
        f.debug_struct("Record")
            .field("data_sizes", &data)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("expires_at", &self.expires_at)
            .field("absolute_deadline", &self.absolute_deadline)
            .field("owner", &self.owner.as_ref().map(|_| "…"))
            .field("version", &self.version)
            .field("lease", &self.lease)
            .field("remember", &self.remember)
            .field("authenticated_at", &self.authenticated_at)
            .finish()
    }
}

impl Record {
    /// The data key of a moved-id mark (see [`Record::moved_mark`]). Reserved: the `__`
    /// prefix is the library's.
    pub const MOVED_KEY: &'static str = "__moved";

    /// The mark a rotation leaves under the id it moved away from, until `until`: a record
    /// with no owner and one reserved key, which the session handle treats as a session
    /// ended elsewhere (never as a live one, and never as an unknown id).
    pub fn moved_mark(now: Timestamp, until: Timestamp) -> Self {
        let mut r = Self::new(now, until);
        r.data.insert(Self::MOVED_KEY.to_owned(), Bytes::new());
        r
    }

    /// True for a [`Record::moved_mark`].
    pub fn is_moved_mark(&self) -> bool {
        self.data.contains_key(Self::MOVED_KEY)
    }

    /// An empty record created at `now`, living until `expires_at`.
    pub fn new(now: Timestamp, expires_at: Timestamp) -> Self {
        Self {
            data: BTreeMap::new(),
            created_at: now,
            last_seen: now,
            expires_at,
            absolute_deadline: None,
            owner: None,
            version: 1,
            user_agent: None,
            lease: None,
            remember: false,
            authenticated_at: None,
        }
    }

    /// True once `now` has reached the record's expiry.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// The record's envelope: what backends keep natively.
    pub fn envelope(&self) -> Envelope {
        Envelope {
            expires_at: self.expires_at,
            last_seen: self.last_seen,
        }
    }

    /// Encodes the record's body (everything but the [`Envelope`]): the version byte, then
    /// the postcard body.
    ///
    /// # Errors
    /// [`Error::Encode`] if postcard fails (it does not for well-formed records).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(64 + self.approximate_size());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// [`Record::encode`], appended to `out`: for a backend that stores the body behind a
    /// header of its own, without a second buffer and copy. The caller sizes `out`
    /// (`64 + approximate_size()` beyond its header holds a typical body).
    ///
    /// # Errors
    /// As [`Record::encode`].
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(FORMAT_V3);
        let body = BodyRef {
            data: &self.data,
            created_at: self.created_at,
            absolute_deadline: self.absolute_deadline,
            owner: &self.owner,
            version: self.version,
            user_agent: &self.user_agent,
            lease: self.lease,
            remember: self.remember,
            authenticated_at: self.authenticated_at,
        };
        postcard::to_io(&body, out).map_err(|source| Error::Encode { source })?;
        Ok(())
    }

    /// The record whose body `bytes` (from [`Record::encode`], in any backend) and whose
    /// `envelope` (from the backend's native fields) are given.
    ///
    /// # Errors
    /// [`Error::Decode`] for empty, truncated, foreign or unknown-version bytes, and for an
    /// envelope that contradicts the body (last seen before created). Never panics.
    ///
    /// # Example
    /// ```
    /// use session_core::{Record, Timestamp};
    /// let r = Record::new(Timestamp::from_millis(0), Timestamp::from_millis(1000));
    /// let bytes = r.encode().unwrap();
    /// assert_eq!(Record::decode(&bytes, r.envelope()).unwrap(), r);
    /// assert!(Record::decode(&bytes[..bytes.len() - 1], r.envelope()).is_err());
    /// assert!(Record::decode(b"{\"json\":true}", r.envelope()).is_err());
    /// ```
    pub fn decode(bytes: &[u8], envelope: Envelope) -> Result<Self, Error> {
        let (&version, body) = bytes.split_first().ok_or(Error::Decode {
            reason: DecodeProblem::Empty,
        })?;
        if version != FORMAT_V2 && version != FORMAT_V3 {
            return Err(Error::Decode {
                reason: DecodeProblem::UnknownVersion(version),
            });
        }
        let malformed = |_| Error::Decode {
            reason: DecodeProblem::Malformed,
        };
        let (body, rest): (Body, &[u8]) = postcard::take_from_bytes(body).map_err(malformed)?;
        // Version 3 appends the tail; version 2 ends before it (not remembered, never
        // authenticated).
        let (tail, rest) = if version == FORMAT_V3 {
            postcard::take_from_bytes::<Tail>(rest).map_err(malformed)?
        } else {
            (Tail::default(), rest)
        };
        if !rest.is_empty() {
            return Err(Error::Decode {
                reason: DecodeProblem::TrailingBytes,
            });
        }
        if envelope.last_seen < body.created_at {
            return Err(Error::Decode {
                reason: DecodeProblem::Inconsistent("last_seen before created_at"),
            });
        }
        Ok(Record {
            data: body.data,
            created_at: body.created_at,
            last_seen: envelope.last_seen,
            expires_at: envelope.expires_at,
            absolute_deadline: body.absolute_deadline,
            owner: body.owner,
            version: body.version,
            user_agent: body.user_agent,
            lease: body.lease,
            remember: tail.remember,
            authenticated_at: tail.authenticated_at,
        })
    }

    /// Bytes taken by keys and values; what a memory store weighs an entry by.
    pub fn approximate_size(&self) -> usize {
        self.data
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>()
            + self.owner.as_ref().map_or(0, String::len)
            + self.user_agent.as_ref().map_or(0, String::len)
            + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(Timestamp::from_millis(10), Timestamp::from_millis(99));
        r.data.insert("cart".into(), Bytes::from_static(b"[1,2,3]"));
        r.data
            .insert("ключ".into(), Bytes::from(vec![0u8, 255, 0, 7]));
        r.owner = Some("alice".into());
        r.user_agent = Some("curl/8".into());
        r.version = 42;
        r.remember = true;
        r.authenticated_at = Some(Timestamp::from_millis(10));
        r
    }

    /// A record round-trips through its encoding.
    #[test]
    fn round_trip() {
        let r = sample();
        let b = r.encode().unwrap();
        assert_eq!(b[0], FORMAT_V3);
        assert_eq!(Record::decode(&b, r.envelope()).unwrap(), r);
        let mut plain = r.clone();
        plain.remember = false;
        assert_ne!(plain.encode().unwrap(), b, "the flag is in the body");
        plain.authenticated_at = None;
        assert_eq!(
            Record::decode(&plain.encode().unwrap(), r.envelope()).unwrap(),
            plain
        );
    }

    /// A version-2 body (the release before, without the tail) still reads, as a record
    /// that is not remembered and was never authenticated; the same bytes labelled
    /// version 3 are truncated.
    #[test]
    fn version_2_bodies_still_read() {
        let mut r = sample();
        r.remember = false;
        r.authenticated_at = None;
        let v3 = r.encode().unwrap();
        // Version 2 is version 3 without its tail: the flag (0) and `None` (0).
        assert_eq!(&v3[v3.len() - 2..], &[0, 0]);
        let mut v2 = v3[..v3.len() - 2].to_vec();
        v2[0] = FORMAT_V2;
        assert_eq!(Record::decode(&v2, r.envelope()).unwrap(), r);
        let mut mislabelled = v2.clone();
        mislabelled[0] = FORMAT_V3;
        assert!(matches!(
            Record::decode(&mislabelled, r.envelope()),
            Err(Error::Decode {
                reason: DecodeProblem::Malformed
            })
        ));
        let mut longer = v3.clone();
        longer[0] = FORMAT_V2;
        assert!(matches!(
            Record::decode(&longer, r.envelope()),
            Err(Error::Decode {
                reason: DecodeProblem::TrailingBytes
            })
        ));
    }

    /// Every truncation of a valid record is an error, never a panic.
    #[test]
    fn every_truncation_is_an_error() {
        let b = sample().encode().unwrap();
        for n in 0..b.len() {
            assert!(
                Record::decode(&b[..n], sample().envelope()).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }

    /// Unknown versions and trailing garbage are named in the error.
    #[test]
    fn version_and_trailing_bytes() {
        let mut b = sample().encode().unwrap();
        b[0] = 9;
        assert!(matches!(
            Record::decode(&b, sample().envelope()),
            Err(Error::Decode {
                reason: DecodeProblem::UnknownVersion(9)
            })
        ));
        let mut b = sample().encode().unwrap();
        b.push(0);
        assert!(matches!(
            Record::decode(&b, sample().envelope()),
            Err(Error::Decode {
                reason: DecodeProblem::TrailingBytes
            })
        ));
    }

    /// The body carries no envelope: a touch (a new envelope) leaves the bytes as they are,
    /// and the same bytes decode with whatever envelope the backend holds.
    #[test]
    fn envelope_is_outside_the_body() {
        let r = sample();
        let mut touched = r.clone();
        touched.expires_at = Timestamp::from_millis(5_000);
        touched.last_seen = Timestamp::from_millis(4_000);
        assert_eq!(r.encode().unwrap(), touched.encode().unwrap());
        let back = Record::decode(&r.encode().unwrap(), touched.envelope()).unwrap();
        assert_eq!(back, touched);
        // An envelope that contradicts the body is refused, not misread.
        let early = Envelope {
            expires_at: Timestamp::from_millis(99),
            last_seen: Timestamp::from_millis(1),
        };
        assert!(Record::decode(&r.encode().unwrap(), early).is_err());
    }

    /// Debug shows neither values nor the owner.
    #[test]
    fn debug_hides_values() {
        let d = format!("{:?}", sample());
        assert!(!d.contains("[1,2,3]"));
        assert!(!d.contains("alice"));
    }
}
