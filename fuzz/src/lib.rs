//! Fuzz targets: one function per target, each running one input and panicking when a
//! property fails. libFuzzer drives them, coverage-guided, on the stable toolchain: the
//! binaries in `fuzz_targets/` (feature `libfuzzer`) are built by `scripts/fuzz.sh` with
//! the sanitizer-coverage passes that cargo-fuzz would add (`-Cpasses=sancov-module`,
//! 8-bit counters, PC table, comparison tracing), which need no nightly flag. Seeds live in
//! `corpus/<target>/`; this crate's tests run every seed through its target.
//!
//! | target | what it reads | property, beyond "no panic" |
//! |---|---|---|
//! | `cookie` | `Cookie` header fields | returned values are trimmed slices of the input with no `;`; at most one per pair |
//! | `signed_id` | a cookie value | a value that verifies is exactly the canonical signature of its id |
//! | `record` | an envelope and a record body | a record that decodes re-encodes to bytes that decode to the same record |
//! | `csrf_token` | a token, `Origin`, `Sec-Fetch-Site`, `Host` | a matching token matches one secret only; cross-site and null origins are refused unless trusted |
//! | `form` | a urlencoded body | the CSRF field is found exactly when it occurs once; twice is `duplicate_token` |
//! | `redis_reply` | RESP bytes from a server | a reply is a known status or an outage; a stored session (header, names, record) round-trips |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use http::HeaderValue;
use session_core::Record;
use session_tower::SigningKeys;

/// A fuzz target: runs one input, panics on a violated property.
pub type Target = fn(&[u8]);

/// The cookie parser.
pub fn cookie(data: &[u8]) {
    // Split the input into header fields at NUL, as several Cookie fields arrive.
    let fields: Vec<HeaderValue> = data
        .split(|&b| b == 0)
        .filter_map(|f| HeaderValue::from_bytes(f).ok())
        .collect();
    let Ok(values) = session_tower::cookie::values(&fields, "__Host-id", 8192) else {
        return;
    };
    let pairs: usize = fields
        .iter()
        .map(|f| f.as_bytes().split(|&b| b == b';').count())
        .sum();
    assert!(values.len() <= pairs, "more values than pairs");
    for v in values {
        assert!(!v.contains(&b';'), "a value spans a ';'");
        assert!(
            v.first().is_none_or(|b| *b != b' ' && *b != b'\t')
                && v.last().is_none_or(|b| *b != b' ' && *b != b'\t'),
            "a value kept surrounding whitespace"
        );
        let found = fields
            .iter()
            .any(|f| v.is_empty() || f.as_bytes().windows(v.len()).any(|w| w == v));
        assert!(found, "returned bytes that were not in the input");
    }
}

fn keys() -> &'static SigningKeys {
    use std::sync::OnceLock;
    static KEYS: OnceLock<SigningKeys> = OnceLock::new();
    KEYS.get_or_init(|| match SigningKeys::new(&[[42u8; 32], [7u8; 32]]) {
        Ok(k) => k,
        Err(e) => panic!("fixed keys are valid: {e}"),
    })
}

/// The signed-id decoder.
pub fn signed_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = keys().verify(text) {
        assert_eq!(keys().sign(&id), text, "a non-canonical value verified");
    }
}

/// An envelope from 16 bytes: expires-at and last-seen, little-endian milliseconds.
fn envelope_of(head: &[u8]) -> session_core::Envelope {
    let at = |b: &[u8]| {
        let mut n = [0u8; 8];
        n.copy_from_slice(&b[..8]);
        session_core::Timestamp::from_millis(i64::from_le_bytes(n))
    };
    session_core::Envelope {
        expires_at: at(&head[..8]),
        last_seen: at(&head[8..16]),
    }
}

/// The record decoder, with an envelope taken from the input's first 16 bytes (as a
/// backend's native fields would give it) and the body from the rest.
pub fn record(data: &[u8]) {
    let Some((head, body)) = data.split_at_checked(16) else {
        return;
    };
    let envelope = envelope_of(head);
    if let Ok(r) = Record::decode(body, envelope) {
        assert_eq!(
            r.envelope(),
            envelope,
            "the envelope was not taken as given"
        );
        let again = match r.encode() {
            Ok(b) => b,
            Err(e) => panic!("a decoded record does not encode: {e}"),
        };
        match Record::decode(&again, envelope) {
            Ok(r2) => assert!(r2 == r, "re-encoding changed the record"),
            Err(e) => panic!("re-encoded record does not decode: {e}"),
        }
    }
}

/// Looks up a target by name.
pub fn target(name: &str) -> Option<Target> {
    match name {
        "cookie" => Some(cookie),
        "signed_id" => Some(signed_id),
        "record" => Some(record),
        "csrf_token" => Some(session_tower::fuzzing::csrf_token),
        "form" => Some(session_tower::fuzzing::form),
        "redis_reply" => Some(session_redis::fuzzing::reply),
        _ => None,
    }
}

/// All target names.
pub const TARGETS: &[&str] = &[
    "cookie",
    "signed_id",
    "record",
    "csrf_token",
    "form",
    "redis_reply",
];

/// The seeds of `name`: the files in `corpus/<name>/`.
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target has seeds, and runs each of them without a failed property: the
    /// corpora are regression inputs as well as starting points.
    #[test]
    fn every_seed_passes_its_target() {
        for name in TARGETS {
            let t = target(name).unwrap();
            let seeds = seeds(name);
            assert!(!seeds.is_empty(), "{name} has no seeds");
            for s in &seeds {
                t(s);
            }
        }
    }

    /// Each corpus holds an input that reaches the accepting path, where the properties
    /// have something to check: a cookie value, an id that verifies, a record, a token of
    /// the secret and a form field that are found, a reply that is a status and a stored
    /// record that decodes.
    #[test]
    fn each_corpus_reaches_the_accepting_path() {
        let accepted = |name: &str, ok: &dyn Fn(&[u8]) -> bool| {
            assert!(
                seeds(name).iter().any(|s| ok(s)),
                "no {name} seed is accepted"
            );
        };
        accepted("cookie", &|s| {
            let f = [HeaderValue::from_bytes(s).unwrap()];
            session_tower::cookie::values(&f, "__Host-id", 8192).is_ok_and(|v| !v.is_empty())
        });
        accepted("signed_id", &|s| {
            std::str::from_utf8(s).is_ok_and(|t| keys().verify(t).is_some())
        });
        accepted("record", &|s| {
            s.len() > 16 && Record::decode(&s[16..], envelope_of(&s[..16])).is_ok()
        });
        // Both formats the decoder reads: version 2, and version 3 with its tail set.
        accepted("record", &|s| {
            s.get(16) == Some(&2) && Record::decode(&s[16..], envelope_of(&s[..16])).is_ok()
        });
        accepted("record", &|s| {
            s.len() > 16
                && Record::decode(&s[16..], envelope_of(&s[..16]))
                    .is_ok_and(|r| r.remember && r.authenticated_at.is_some())
        });
        accepted("csrf_token", &|s| {
            let token = s.split(|&b| b == 0).next().unwrap_or_default();
            session_tower::fuzzing::is_token_of_fixed_secret(token)
        });
        accepted("form", &|s| s.windows(11).any(|w| w == b"csrf_token="));
        accepted(
            "redis_reply",
            &session_redis::fuzzing::is_stored_record_reply,
        );
    }
}
