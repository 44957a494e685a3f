//! Fuzz targets, and a small mutation fuzzer that runs them on the stable toolchain.
//!
//! cargo-fuzz needs a nightly compiler, which our machines cannot fetch; this crate keeps
//! the same shape (one function per target, a corpus folder per target) so the targets can
//! move to cargo-fuzz unchanged where nightly exists. The fuzzer here is not
//! coverage-guided: it mutates corpus entries (bit flips, byte edits, insertions of the
//! parsers' delimiters, deletions, duplications, splices, truncations) and checks, beyond
//! "no panic", a property per target:
//!
//! | target | property |
//! |---|---|
//! | `cookie` | returned values are trimmed slices of the input with no `;`; at most one per pair |
//! | `signed_id` | a value that verifies is exactly the canonical signature of its id |
//! | `record` | a record that decodes re-encodes to bytes that decode to the same record |

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

/// The record decoder, with an envelope taken from the input's first 16 bytes (as a
/// backend's native fields would give it) and the body from the rest.
pub fn record(data: &[u8]) {
    let Some((head, body)) = data.split_at_checked(16) else {
        return;
    };
    let at = |b: &[u8]| {
        let mut n = [0u8; 8];
        n.copy_from_slice(b);
        session_core::Timestamp::from_millis(i64::from_le_bytes(n))
    };
    let envelope = session_core::Envelope {
        expires_at: at(&head[..8]),
        last_seen: at(&head[8..]),
    };
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

/// Seeds made at run time: a correctly signed id, encoded records.
pub fn generated_seeds(name: &str) -> Vec<Vec<u8>> {
    match name {
        "signed_id" => session_core::SessionId::generate()
            .map(|id| vec![keys().sign(&id).into_bytes()])
            .unwrap_or_default(),
        "record" => {
            let now = session_core::Timestamp::from_millis(1_700_000_000_000);
            let mut r = Record::new(now, now.plus(std::time::Duration::from_secs(60)));
            r.data
                .insert("cart".into(), session_core::Bytes::from_static(b"[1,2,3]"));
            r.owner = Some("alice".into());
            r.user_agent = Some("Mozilla/5.0".into());
            let mut seed = Vec::new();
            seed.extend_from_slice(&r.expires_at.as_millis().to_le_bytes());
            seed.extend_from_slice(&r.last_seen.as_millis().to_le_bytes());
            r.encode()
                .map(|b| {
                    seed.extend_from_slice(&b);
                    vec![seed]
                })
                .unwrap_or_default()
        }
        "cookie" => session_core::SessionId::generate()
            .map(|id| vec![format!("x=1; __Host-id={}", keys().sign(&id)).into_bytes()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Looks up a target by name.
pub fn target(name: &str) -> Option<Target> {
    match name {
        "cookie" => Some(cookie),
        "signed_id" => Some(signed_id),
        "record" => Some(record),
        _ => None,
    }
}

/// All target names.
pub const TARGETS: &[&str] = &["cookie", "signed_id", "record"];

/// A xorshift generator: the fuzzer needs speed and reproducibility, not security.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[u8] = b";= \t\"\\.-_+/%\x00\xff\x01\x7fA";

/// One mutation of `input`, possibly splicing in `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next_u64() as u8;
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if !v.is_empty() => {
                let a = rng.below(v.len());
                let b = (a + 1 + rng.below(16)).min(v.len());
                v.drain(a..b);
            }
            4 if !v.is_empty() && v.len() < 20_000 => {
                let a = rng.below(v.len());
                let b = (a + 1 + rng.below(32)).min(v.len());
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            6 => {
                let n = rng.below(v.len() + 1);
                v.truncate(n);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let b = rng.next_u64() as u8;
                v.insert(i, b);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each target accepts its own corpus, and a few thousand mutations, without a panic.
    #[test]
    fn short_deterministic_run() {
        for name in TARGETS {
            let t = target(name).unwrap();
            let seeds = [
                b"__Host-id=abc; x=1".to_vec(),
                vec![1, 0, 0, 0],
                b"".to_vec(),
            ];
            let mut rng = Rng(0x1234_5678_9abc_def1);
            for i in 0..3000 {
                let a = &seeds[i % seeds.len()];
                let b = &seeds[(i + 1) % seeds.len()];
                t(&mutate(&mut rng, a, b));
            }
        }
    }
}
