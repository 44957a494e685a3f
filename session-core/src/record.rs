//! The stored form of a session, and its one binary encoding.
//!
//! Every backend stores the same bytes: one format-version byte, then a postcard body.
//! postcard is serde-based, compact and has a documented, stable wire format; bincode, the
//! usual choice, is unmaintained. The version byte lets a later release read old records,
//! and lets every release reject bytes it does not understand with a clear error rather
//! than misread them (a positional format without one is how a peer broke its users on a
//! field reorder).
//!
//! Values inside a record are kept as their serialized bytes ([`Bytes`]): a load decodes
//! only the keys a handler reads, and copying a record never deep-clones a value tree.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{DecodeProblem, Error};

/// First byte of every record this release writes.
pub const FORMAT_V1: u8 = 1;

/// A session as stores keep it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The per-session lock's lease, kept after release so that fencing tokens only grow
    /// (see [`crate::Session::lock`]). Stores keep it as part of the record; they never
    /// read it.
    pub lease: Option<Lease>,
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
            .finish()
    }
}

impl Record {
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
        }
    }

    /// True once `now` has reached the record's expiry.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Encodes the record: the version byte, then the postcard body.
    ///
    /// # Errors
    /// [`Error::Encode`] if postcard fails (it does not for well-formed records).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(64 + self.approximate_size());
        out.push(FORMAT_V1);
        postcard::to_io(self, &mut out).map_err(|source| Error::Encode { source })?;
        Ok(out)
    }

    /// Decodes bytes written by [`Record::encode`] in any backend.
    ///
    /// # Errors
    /// [`Error::Decode`] for empty, truncated, foreign or unknown-version bytes. Never panics.
    ///
    /// # Example
    /// ```
    /// use session_core::{Record, Timestamp};
    /// let r = Record::new(Timestamp::from_millis(0), Timestamp::from_millis(1000));
    /// let bytes = r.encode().unwrap();
    /// assert_eq!(Record::decode(&bytes).unwrap(), r);
    /// assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
    /// assert!(Record::decode(b"{\"json\":true}").is_err());
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let (&version, body) = bytes.split_first().ok_or(Error::Decode {
            reason: DecodeProblem::Empty,
        })?;
        if version != FORMAT_V1 {
            return Err(Error::Decode {
                reason: DecodeProblem::UnknownVersion(version),
            });
        }
        let (record, rest): (Record, &[u8]) =
            postcard::take_from_bytes(body).map_err(|_| Error::Decode {
                reason: DecodeProblem::Malformed,
            })?;
        if !rest.is_empty() {
            return Err(Error::Decode {
                reason: DecodeProblem::TrailingBytes,
            });
        }
        if record.last_seen < record.created_at {
            return Err(Error::Decode {
                reason: DecodeProblem::Inconsistent("last_seen before created_at"),
            });
        }
        Ok(record)
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
        r
    }

    /// A record round-trips through its encoding.
    #[test]
    fn round_trip() {
        let r = sample();
        let b = r.encode().unwrap();
        assert_eq!(b[0], FORMAT_V1);
        assert_eq!(Record::decode(&b).unwrap(), r);
    }

    /// Every truncation of a valid record is an error, never a panic.
    #[test]
    fn every_truncation_is_an_error() {
        let b = sample().encode().unwrap();
        for n in 0..b.len() {
            assert!(
                Record::decode(&b[..n]).is_err(),
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
            Record::decode(&b),
            Err(Error::Decode {
                reason: DecodeProblem::UnknownVersion(9)
            })
        ));
        let mut b = sample().encode().unwrap();
        b.push(0);
        assert!(matches!(
            Record::decode(&b),
            Err(Error::Decode {
                reason: DecodeProblem::TrailingBytes
            })
        ));
    }

    /// Debug shows neither values nor the owner.
    #[test]
    fn debug_hides_values() {
        let d = format!("{:?}", sample());
        assert!(!d.contains("[1,2,3]"));
        assert!(!d.contains("alice"));
    }
}
