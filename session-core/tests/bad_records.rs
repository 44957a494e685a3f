//! The bad-input catalogue, record side: every kind of unreadable stored bytes is an error
//! value naming the problem, never a panic, never a huge allocation, never a record.

use session_core::{Bytes, DecodeProblem, Envelope, Error, ErrorKind, Record, Timestamp};

/// The envelope every case decodes with, as a backend's native fields would hold it.
const ENVELOPE: Envelope = Envelope {
    expires_at: Timestamp::from_millis(9_000),
    last_seen: Timestamp::from_millis(5_000),
};

fn good() -> Vec<u8> {
    let mut r = Record::new(Timestamp::from_millis(1_000), Timestamp::from_millis(9_000));
    r.data.insert("cart".into(), Bytes::from_static(b"[1,2]"));
    r.owner = Some("alice".into());
    r.encode().unwrap()
}

fn expect_problem(bytes: &[u8], want: Option<DecodeProblem>, name: &str) {
    match Record::decode(bytes, ENVELOPE) {
        Err(Error::Decode { reason }) => {
            if let Some(w) = want {
                assert_eq!(reason, w, "{name}");
            }
        }
        Err(e) => panic!("{name}: expected a decode error, got {e:?}"),
        Ok(r) => panic!("{name}: decoded into {r:?}"),
    }
    assert_eq!(
        Record::decode(bytes, ENVELOPE).unwrap_err().kind(),
        ErrorKind::BadData,
        "{name}"
    );
}

/// Table of stored-bytes cases and the problem each must report.
#[test]
fn catalogue_of_bad_records() {
    let g = good();
    let mut trailing = g.clone();
    trailing.extend_from_slice(b"x");
    let mut v0 = g.clone();
    v0[0] = 0;
    let mut v1 = g.clone();
    v1[0] = 1;
    let mut v4 = g.clone();
    v4[0] = 4;
    // Version 2 (no flag) labels a body that has one: a byte left over.
    let mut v2_with_flag = g.clone();
    v2_with_flag[0] = 2;
    // The flag is a postcard bool: 0 or 1, nothing else.
    let mut bad_flag = g.clone();
    *bad_flag.last_mut().unwrap() = 2;
    let mut v255 = g.clone();
    v255[0] = 255;
    // A map length prefix claiming 2^62 entries: the decoder must fail, not allocate.
    let huge_map = [2u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f];
    // One entry whose value claims 2^40 bytes.
    let huge_value = [2u8, 1, 1, b'k', 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    // Created after the envelope's last-seen time.
    let inconsistent = Record::new(Timestamp::from_millis(6_000), Timestamp::from_millis(9_000))
        .encode()
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, Option<DecodeProblem>)> = vec![
        ("empty", vec![], Some(DecodeProblem::Empty)),
        ("version byte only", vec![3], Some(DecodeProblem::Malformed)),
        (
            "version 2 byte only",
            vec![2],
            Some(DecodeProblem::Malformed),
        ),
        (
            "version 2 with a flag",
            v2_with_flag,
            Some(DecodeProblem::TrailingBytes),
        ),
        (
            "remember flag of 2",
            bad_flag,
            Some(DecodeProblem::Malformed),
        ),
        ("version 0", v0, Some(DecodeProblem::UnknownVersion(0))),
        (
            "version 4 (from a future release)",
            v4,
            Some(DecodeProblem::UnknownVersion(4)),
        ),
        (
            "version 1 (retired: it carried the envelope)",
            v1,
            Some(DecodeProblem::UnknownVersion(1)),
        ),
        (
            "version 255",
            v255,
            Some(DecodeProblem::UnknownVersion(255)),
        ),
        (
            "trailing byte",
            trailing,
            Some(DecodeProblem::TrailingBytes),
        ),
        (
            "truncated by one",
            g[..g.len() - 1].to_vec(),
            Some(DecodeProblem::Malformed),
        ),
        (
            "half a record",
            g[..g.len() / 2].to_vec(),
            Some(DecodeProblem::Malformed),
        ),
        (
            "JSON from another library",
            br#"{"user":"x","cookie":{}}"#.to_vec(),
            Some(DecodeProblem::UnknownVersion(b'{')),
        ),
        (
            "MessagePack from another library",
            b"\x82\xa4user\xa1x".to_vec(),
            Some(DecodeProblem::UnknownVersion(0x82)),
        ),
        (
            "PHP session encoding",
            b"user|s:1:\"x\";".to_vec(),
            Some(DecodeProblem::UnknownVersion(b'u')),
        ),
        (
            "map length of 2^62",
            huge_map.to_vec(),
            Some(DecodeProblem::Malformed),
        ),
        (
            "value length of 2^40",
            huge_value.to_vec(),
            Some(DecodeProblem::Malformed),
        ),
        (
            "non-UTF-8 data key",
            vec![2, 1, 2, 0xff, 0xfe, 0],
            Some(DecodeProblem::Malformed),
        ),
        (
            "last seen before creation",
            inconsistent,
            Some(DecodeProblem::Inconsistent("last_seen before created_at")),
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, bytes, want) in &cases {
        expect_problem(bytes, *want, name);
    }
}

/// Random bytes behind a valid version byte never panic (a small, deterministic sweep; the
/// fuzz target goes further).
#[test]
fn random_bodies_never_panic() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for len in 0..400 {
        let mut b = vec![2 + (len % 2) as u8];
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        let _ = Record::decode(&b, ENVELOPE);
    }
}
