//! The bad-input catalogue, HTTP side: table-driven requests with hostile cookies, ids,
//! signatures, tokens, origins and values. Each case names its expected outcome; none may
//! panic, none may show one session's data to another, and a forged value never reaches the
//! store.

mod common;

use std::sync::Arc;

use common::{Probe, bare, browser, start};
use http::{HeaderName, HeaderValue, StatusCode};
use session_core::SessionId;
use session_memory::MemoryStore;

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// 200 and the victim's session is NOT visible (`note` is null).
    NoSession,
    /// 200 and the victim's session IS visible (a well-formed request).
    Session,
    /// This status.
    Status(u16),
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    want: Want,
}

fn case(name: &'static str, cookie: Vec<u8>, want: Want) -> Case {
    Case {
        name,
        method: "GET",
        path: "/note",
        headers: vec![("cookie".into(), cookie)],
        body: None,
        want,
    }
}

/// Over 40 hostile inputs through real HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_over_http() {
    let store = Probe::new(MemoryStore::new());
    let h = start(store.clone(), |l| {
        l.with_header_id(HeaderName::from_static("x-session-id"))
            .with_max_data_bytes(1024 * 1024)
    })
    .await;
    // The victim: a session holding a note.
    let (victim, jar) = browser(&h.base);
    victim
        .post(h.url("/note"))
        .body("victim's secret")
        .send()
        .await
        .unwrap();
    let token = victim
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let good = jar.get("__Host-id").unwrap();
    let (id_part, sig_part) = good.split_at(46);
    let sig_part = &sig_part[1..];
    let other_keys = session_tower::SigningKeys::generate().unwrap();
    let id = SessionId::parse(id_part).unwrap();
    let another = h.keys.sign(&SessionId::generate().unwrap());
    let mut flipped = good.clone().into_bytes();
    flipped[60] = if flipped[60] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let c = |v: &str| format!("__Host-id={v}").into_bytes();
    let origin = h.base.clone();

    let mut cases = vec![
        // Cookie header shapes (R8, R9).
        case("empty Cookie header", vec![], Want::NoSession),
        case("only separators", b"=;=;;; ;".to_vec(), Want::NoSession),
        case(
            "nameless pair",
            format!("={good}").into_bytes(),
            Want::NoSession,
        ),
        case(
            "lower-case name",
            format!("__host-id={good}").into_bytes(),
            Want::NoSession,
        ),
        case(
            "percent-encoded name",
            format!("%5F%5FHost-id={good}").into_bytes(),
            Want::NoSession,
        ),
        case(
            "space inside the name",
            format!("__Host- id={good}").into_bytes(),
            Want::NoSession,
        ),
        case("name only", b"__Host-id".to_vec(), Want::NoSession),
        case(
            "quoted value",
            format!("__Host-id=\"{good}\"").into_bytes(),
            Want::NoSession,
        ),
        // Over 8 KiB: refused, not read as "no session" (a write would replace the cookie).
        case(
            "oversized header (9 KB)",
            format!("pad={}; __Host-id={good}", "x".repeat(9000)).into_bytes(),
            Want::Status(431),
        ),
        case(
            "200 pairs before the cookie",
            format!("{}__Host-id={good}", "a=1; ".repeat(200)).into_bytes(),
            Want::Session,
        ),
        case(
            "a second valid cookie after 200 pairs (R10)",
            format!(
                "__Host-id={good}; {}__Host-id={another}",
                "a=1; ".repeat(200)
            )
            .into_bytes(),
            Want::NoSession,
        ),
        case(
            "quotes and backslashes",
            "\"\\".repeat(3000).into_bytes(),
            Want::NoSession,
        ),
        case(
            "non-UTF-8 bytes",
            b"__Host-id=\xff\xfe\xfd".to_vec(),
            Want::NoSession,
        ),
        case(
            "valid cookie among junk",
            format!("a=1; ;=; __Host-id={good}; b").into_bytes(),
            Want::Session,
        ),
        case(
            "valid cookie twice",
            format!("__Host-id={good}; __Host-id={good}").into_bytes(),
            Want::Session,
        ),
        case(
            "valid and another valid cookie (R10)",
            format!("__Host-id={good}; __Host-id={another}").into_bytes(),
            Want::NoSession,
        ),
        case(
            "valid and a forged cookie",
            format!("__Host-id={flipped}; __Host-id={good}").into_bytes(),
            Want::Session,
        ),
        // Ids of the wrong shape (R2, R11).
        case(
            "id of 45 characters",
            c(&format!("{}.{sig_part}", &id_part[..45])),
            Want::NoSession,
        ),
        case(
            "id of 47 characters",
            c(&format!("{id_part}A.{sig_part}")),
            Want::NoSession,
        ),
        case(
            "standard base64 alphabet",
            // '+' and '/' belong to standard base64, not to the url-safe alphabet. (Replacing
            // '-' and '_' in the real cookie would leave it unchanged when it has neither.)
            c(&format!("+/{}", &good[2..])),
            Want::NoSession,
        ),
        case(
            "padded id",
            c(&format!("{id_part}==.{sig_part}")),
            Want::NoSession,
        ),
        case(
            "unicode id",
            c(&format!("{}é.{sig_part}", &id_part[..44])),
            Want::NoSession,
        ),
        case("id without signature", c(id_part), Want::NoSession),
        case("signature without id", c(sig_part), Want::NoSession),
        case(
            "missing dot",
            c(&format!("{id_part}{sig_part}")),
            Want::NoSession,
        ),
        case(
            "two dots",
            c(&format!("{id_part}..{sig_part}")),
            Want::NoSession,
        ),
        case("50 KB value", c(&"x".repeat(50_000)), Want::Status(431)),
        // Signatures (R12).
        case("flipped signature bit", c(&flipped), Want::NoSession),
        case(
            "signed with another key",
            c(&other_keys.sign(&id)),
            Want::NoSession,
        ),
        case(
            "signature of another id",
            c(&format!("{}.{sig_part}", &another[..46])),
            Want::NoSession,
        ),
        case(
            "truncated signature",
            c(&good[..good.len() - 1]),
            Want::NoSession,
        ),
        case(
            "signature with an extra character",
            c(&format!("{good}A")),
            Want::NoSession,
        ),
    ];
    // Header transport.
    cases.push(Case {
        name: "x-session-id garbage",
        method: "GET",
        path: "/note",
        headers: vec![("x-session-id".into(), b"garbage".to_vec())],
        body: None,
        want: Want::NoSession,
    });
    cases.push(Case {
        name: "x-session-id with the victim's signed id",
        method: "GET",
        path: "/note",
        headers: vec![("x-session-id".into(), good.clone().into_bytes())],
        body: None,
        want: Want::Session,
    });
    // CSRF inputs (R77, R83).
    let post = |name: &'static str,
                headers: Vec<(&str, Vec<u8>)>,
                body: Option<Vec<u8>>,
                want: Want| Case {
        name,
        method: "POST",
        path: "/note",
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain([("cookie".to_owned(), c(&good))])
            .collect(),
        body,
        want,
    };
    cases.push(post(
        "token with non-ASCII bytes",
        vec![
            ("origin", origin.clone().into_bytes()),
            ("x-csrf-token", b"\xff\xfe".to_vec()),
        ],
        Some(b"x".to_vec()),
        Want::Status(403),
    ));
    cases.push(post(
        "token of the right length, wrong alphabet",
        vec![
            ("origin", origin.clone().into_bytes()),
            ("x-csrf-token", "*".repeat(86).into_bytes()),
        ],
        Some(b"x".to_vec()),
        Want::Status(403),
    ));
    cases.push(post(
        "origin with a trailing slash",
        vec![
            ("origin", format!("{origin}/").into_bytes()),
            ("x-csrf-token", token.clone().into_bytes()),
        ],
        Some(b"x".to_vec()),
        Want::Status(403),
    ));
    cases.push(post(
        "origin in upper case",
        vec![
            ("origin", origin.to_uppercase().into_bytes()),
            ("x-csrf-token", token.clone().into_bytes()),
        ],
        Some(b"x".to_vec()),
        Want::Status(403),
    ));
    cases.push(post(
        "form body over the size limit",
        vec![
            ("origin", origin.clone().into_bytes()),
            (
                "content-type",
                b"application/x-www-form-urlencoded".to_vec(),
            ),
        ],
        Some(format!("csrf_token={token}&pad={}", "x".repeat(2 * 1024 * 1024)).into_bytes()),
        Want::Status(403),
    ));
    // A token given twice counts as neither (R83), in the form or in the header.
    let form = (
        "content-type",
        b"application/x-www-form-urlencoded".to_vec(),
    );
    cases.push(post(
        "csrf_token twice in the form",
        vec![("origin", origin.clone().into_bytes()), form.clone()],
        Some(format!("csrf_token={token}&csrf_token={token}").into_bytes()),
        Want::Status(403),
    ));
    cases.push(post(
        "csrf_token twice in the form, the first one junk",
        vec![("origin", origin.clone().into_bytes()), form.clone()],
        Some(format!("csrf_token=x&note=1&csrf_token={token}").into_bytes()),
        Want::Status(403),
    ));
    cases.push(post(
        "the CSRF header twice",
        vec![
            ("origin", origin.clone().into_bytes()),
            ("x-csrf-token", token.clone().into_bytes()),
            ("x-csrf-token", token.clone().into_bytes()),
        ],
        Some(b"x".to_vec()),
        Want::Status(403),
    ));
    cases.push(Case {
        name: "a write under an oversized Cookie header",
        method: "POST",
        path: "/note",
        headers: vec![
            ("origin".into(), origin.clone().into_bytes()),
            ("x-csrf-token".into(), token.clone().into_bytes()),
            (
                "cookie".into(),
                format!("pad={}; __Host-id={good}", "x".repeat(9000)).into_bytes(),
            ),
        ],
        body: Some(b"overwritten".to_vec()),
        want: Want::Status(431),
    });
    // Values (R22, R95).
    cases.push(post(
        "value over the data limit",
        vec![
            ("origin", origin.clone().into_bytes()),
            ("x-csrf-token", token.clone().into_bytes()),
        ],
        Some(vec![b'x'; 2 * 1024 * 1024]),
        Want::Status(400),
    ));
    cases.push(Case {
        name: "user agent with obs-text bytes",
        method: "GET",
        path: "/note",
        headers: vec![
            ("cookie".into(), c(&good)),
            ("user-agent".into(), b"Mozilla \xe9\xff".to_vec()),
        ],
        body: None,
        want: Want::Session,
    });

    assert!(cases.len() >= 40, "{} cases", cases.len());
    for case in cases {
        let before = store.calls();
        let mut req = bare().request(case.method.parse().unwrap(), h.url(case.path));
        for (k, v) in &case.headers {
            req = req.header(k.as_str(), HeaderValue::from_bytes(v).unwrap());
        }
        if let Some(b) = case.body {
            req = req.body(b);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("victim's secret") || case.want == Want::Session,
            "{}: leaked the victim's data",
            case.name
        );
        match case.want {
            Want::NoSession => {
                assert_eq!(status, StatusCode::OK, "{}", case.name);
                assert_eq!(body, "null", "{}", case.name);
                assert_eq!(
                    store.calls(),
                    before,
                    "{}: a rejected id reached the store",
                    case.name
                );
            }
            Want::Session => {
                assert_eq!(status, StatusCode::OK, "{}", case.name);
                assert_eq!(body, "\"victim's secret\"", "{}", case.name);
            }
            Want::Status(s) => {
                assert_eq!(status.as_u16(), s, "{}: {body}", case.name);
                if s == 431 {
                    assert_eq!(
                        body, r#"{"error":"session","reason":"cookie_header_too_large"}"#,
                        "{}",
                        case.name
                    );
                    assert_eq!(store.calls(), before, "{}: reached the store", case.name);
                }
            }
        }
    }
    // After all that, the victim's session is intact.
    let note = victim
        .get(h.url("/note"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(note, "\"victim's secret\"");
}

/// A value that looks like a header never becomes one (header injection through values).
#[tokio::test]
async fn values_cannot_inject_headers() {
    let h = start(Arc::new(MemoryStore::new()), |l| l).await;
    let (client, _) = browser(&h.base);
    let evil = "x\r\nSet-Cookie: evil=1\r\nX-Injected: yes";
    client.post(h.url("/note")).body(evil).send().await.unwrap();
    let r = client.get(h.url("/note")).send().await.unwrap();
    assert!(r.headers().get("x-injected").is_none());
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|v| !v.to_str().unwrap_or("").contains("evil"))
    );
    let body: Option<String> = r.json().await.unwrap();
    assert_eq!(
        body.as_deref(),
        Some(evil),
        "the value is data, stored and returned as is"
    );
}
