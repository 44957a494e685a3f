//! The HTTP layer through real HTTP: an axum app on 127.0.0.1:0 and reqwest clients with
//! cookie jars. Test names and comments cite the requirement numbers (R…) of
//! `shared/reference/security-requirements.md` they cover.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Probe, bare, browser, start};
use http::StatusCode;
use session_core::{ManualClock, SessionId, SessionStore};
use session_memory::MemoryStore;

fn memory(clock: Option<ManualClock>) -> Arc<Probe<MemoryStore>> {
    let mut b = MemoryStore::builder();
    if let Some(c) = clock {
        b = b.clock(Arc::new(c));
    }
    Probe::new(b.build())
}

fn set_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// R15, R23: a handler that never touches the session costs no store call and no cookie,
/// even when the request carries a valid session cookie.
#[tokio::test]
async fn r15_untouched_request_makes_no_store_call_and_no_cookie() {
    let store = memory(None);
    let h = start(store.clone(), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/add/apple")).send().await.unwrap();
    assert!(jar.get("__Host-id").is_some());
    let before = store.calls();
    let r = client.get(h.url("/untouched")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        store.calls(),
        before,
        "an untouched request called the store"
    );
    assert!(set_cookie(&r).is_none());
    assert!(r.headers().get("vary").is_none());
}

/// R14, R53: an anonymous visitor who only reads gets no record and no cookie.
#[tokio::test]
async fn r14_anonymous_read_stores_nothing() {
    let store = memory(None);
    let h = start(store.clone(), |l| l).await;
    let r = bare().get(h.url("/cart")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "[]");
    assert_eq!(store.calls(), 0);
    let r = bare().get(h.url("/token")).send().await.unwrap();
    assert!(set_cookie(&r).is_none());
    assert_eq!(r.text().await.unwrap(), "none");
}

/// R17, R70, R71: the first write sets the cookie with exactly the secure defaults, plus
/// `Cache-Control: no-store` and `Vary: Cookie`.
#[tokio::test]
async fn r17_first_write_sets_secure_cookie() {
    let h = start(memory(None), |l| l).await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add/apple")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = set_cookie(&r).unwrap();
    let (pair, attrs) = c.split_once("; ").unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    assert_eq!(name, "__Host-id");
    assert_eq!(value.len(), 90);
    assert_eq!(
        attrs, "Path=/; HttpOnly; Secure; SameSite=Lax",
        "no Max-Age, no Domain by default (R21)"
    );
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let vary: Vec<&str> = r
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(vary.contains(&"Cookie"), "R71: {vary:?}");
    assert_eq!(
        r.headers().get_all("set-cookie").iter().count(),
        1,
        "R20: one Set-Cookie"
    );
}

/// The save completes before the response: a redirect followed at once sees the data
/// (expressjs/session#167).
#[tokio::test]
async fn redirect_sees_saved_data() {
    let h = start(memory(None), |l| l).await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add-redirect")).send().await.unwrap();
    assert_eq!(r.url().path(), "/cart");
    assert_eq!(r.text().await.unwrap(), r#"["redirected"]"#);
}

/// R11, R12: forged, tampered, re-signed and junk cookies are "no session" and cost no
/// store call.
#[tokio::test]
async fn r12_forged_cookie_makes_no_store_call() {
    let store = memory(None);
    let h = start(store.clone(), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/add/apple")).send().await.unwrap();
    let good = jar.get("__Host-id").unwrap();
    let other_keys = session_tower::SigningKeys::generate().unwrap();
    let mut flipped = good.clone().into_bytes();
    flipped[10] = if flipped[10] == b'a' { b'b' } else { b'a' };
    let id_part = &good[..46];
    let forged = [
        String::from_utf8(flipped).unwrap(),
        format!("{good}A"),
        good[..good.len() - 1].to_owned(),
        other_keys.sign(&SessionId::parse(id_part).unwrap()),
        id_part.to_owned(),
        String::new(),
        "1234567".into(),
        "a/b/c".into(),
        "x".repeat(4000),
    ];
    for f in forged {
        let before = store.calls();
        let r = bare()
            .get(h.url("/cart"))
            .header("cookie", format!("__Host-id={f}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.text().await.unwrap(),
            "[]",
            "forged cookie {f:?} gave data"
        );
        assert_eq!(
            store.calls(),
            before,
            "forged cookie {f:?} reached the store"
        );
    }
}

/// R13: a well-signed id the store does not know is never adopted.
#[tokio::test]
async fn r13_unknown_id_is_not_adopted() {
    let store = memory(None);
    let h = start(store.clone(), |l| l).await;
    let made_up = h.keys.sign(&SessionId::generate().unwrap());
    let r = bare()
        .post(h.url("/add/apple"))
        .header("cookie", format!("__Host-id={made_up}"))
        .header("origin", &h.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = set_cookie(&r).unwrap();
    assert!(!c.contains(&made_up), "the client's id was adopted");
    let id = SessionId::parse(&made_up[..46]).unwrap();
    assert!(store.inner.load(&id.store_key()).await.unwrap().is_none());
}

/// R10: two valid session cookies are never resolved by position: the request has no
/// session.
#[tokio::test]
async fn r10_duplicate_cookies_are_not_resolved_by_position() {
    let h = start(memory(None), |l| l).await;
    let (a, jar_a) = browser(&h.base);
    let (b, jar_b) = browser(&h.base);
    a.post(h.url("/add/from-a")).send().await.unwrap();
    b.post(h.url("/add/from-b")).send().await.unwrap();
    let (ca, cb) = (
        jar_a.get("__Host-id").unwrap(),
        jar_b.get("__Host-id").unwrap(),
    );
    for header in [
        format!("__Host-id={ca}; __Host-id={cb}"),
        format!("__Host-id={cb}; __Host-id={ca}"),
    ] {
        let r = bare()
            .get(h.url("/cart"))
            .header("cookie", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "[]");
    }
    // The same valid cookie twice is one candidate, not ambiguity.
    let r = bare()
        .get(h.url("/cart"))
        .header("cookie", format!("__Host-id={ca}; __Host-id={ca}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), r#"["from-a"]"#);
}

/// R26, R28, R85: login rotates the id (the old cookie is dead), keeps the configured cart,
/// and rotates the CSRF secret (a token from before login fails after it).
#[tokio::test]
async fn r26_login_rotates_id_and_csrf_secret() {
    let h = start(memory(None), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/add/apple")).send().await.unwrap();
    let old_token = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let old = jar.get("__Host-id").unwrap();
    let r = client
        .post(h.url("/login/alice"))
        .header("x-csrf-token", &old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let new = jar.get("__Host-id").unwrap();
    assert_ne!(old, new, "login kept the id");
    assert_eq!(
        client
            .get(h.url("/cart"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        r#"["apple"]"#
    );
    assert_eq!(
        client
            .get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "alice"
    );
    // The old cookie loads nothing.
    let r = bare()
        .get(h.url("/whoami"))
        .header("cookie", format!("__Host-id={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "anonymous");
    // The pre-login token no longer passes.
    let r = client
        .post(h.url("/add/pear"))
        .header("x-csrf-token", &old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("invalid_token"));
}

/// R24, R31: logout deletes the record and clears the cookie with the same attributes.
#[tokio::test]
async fn r24_logout_deletes_and_expires_cookie() {
    let h = start(memory(None), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/login/bob")).send().await.unwrap();
    let old = jar.get("__Host-id").unwrap();
    let token = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = client
        .post(h.url("/logout"))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        set_cookie(&r).unwrap(),
        "__Host-id=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    assert!(jar.get("__Host-id").is_none());
    let r = bare()
        .get(h.url("/whoami"))
        .header("cookie", format!("__Host-id={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "anonymous");
}

async fn concurrent_adds(store: Arc<dyn SessionStore>) {
    let h = start(store, |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/add/first")).send().await.unwrap();
    let token = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cookie = jar.get("__Host-id").unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let client = client.clone();
        let url = h.url(&format!("/add/item-{i}"));
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("x-csrf-token", token)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        jar.get("__Host-id").unwrap(),
        cookie,
        "the id changed under concurrent writes"
    );
    let items: Vec<String> = client
        .get(h.url("/items"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 65, "lost items: {items:?}");
    for i in 0..64 {
        assert!(items.contains(&format!("item-{i}")), "item-{i} lost");
    }
}

/// R46: 64 concurrent requests each adding a distinct item to one session keep all 64
/// (memory store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r46_64_concurrent_requests_lose_nothing_memory() {
    concurrent_adds(memory(None)).await;
}

/// R46: the same over a networked store (Redis: `REDIS_URL`, or a container).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r46_64_concurrent_requests_lose_nothing_redis() {
    let url = test_support::url(test_support::Server::Redis);
    let prefix = format!(
        "http{}",
        &SessionId::generate().unwrap().store_key().hash_hex()[..12]
    );
    let store = session_redis::RedisStore::builder()
        .prefix(prefix)
        .connect(&url)
        .await
        .unwrap();
    concurrent_adds(Arc::new(store)).await;
}

/// R26 on a networked store: login rotation and logout over Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_login_and_logout_redis() {
    let url = test_support::url(test_support::Server::Redis);
    let prefix = format!(
        "http{}",
        &SessionId::generate().unwrap().store_key().hash_hex()[..12]
    );
    let store = session_redis::RedisStore::builder()
        .prefix(prefix)
        .connect(&url)
        .await
        .unwrap();
    let h = start(Arc::new(store), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/add/apple")).send().await.unwrap();
    let old = jar.get("__Host-id").unwrap();
    client.post(h.url("/login/carol")).send().await.unwrap();
    assert_ne!(jar.get("__Host-id").unwrap(), old);
    assert_eq!(
        client
            .get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "carol"
    );
    let r = bare()
        .get(h.url("/cart"))
        .header("cookie", format!("__Host-id={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "[]");
    let token = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    client
        .post(h.url("/logout"))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        client
            .get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "anonymous"
    );
}

/// R44: a request that loaded the session before a concurrent logout cannot bring it back;
/// its response clears the cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r44_logout_wins_over_a_slow_request() {
    let h = start(memory(None), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/login/dave")).send().await.unwrap();
    let cookie = jar.get("__Host-id").unwrap();
    let token = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let slow = {
        let client = client.clone();
        let url = h.url("/slow-add");
        let token = token.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .header("x-csrf-token", token)
                .send()
                .await
                .unwrap()
        })
    };
    h.state.loaded.notified().await;
    let r = client
        .post(h.url("/logout"))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    h.state.release.notify_one();
    let slow = slow.await.unwrap();
    // Its add was not stored: an error, never the handler's 200; and no cookie change,
    // since the browser may hold a newer cookie by now.
    assert_eq!(
        slow.status(),
        StatusCode::CONFLICT,
        "a lost add was acknowledged"
    );
    assert!(
        set_cookie(&slow).is_none(),
        "the late response touched the cookie"
    );
    let r = bare()
        .get(h.url("/whoami"))
        .header("cookie", format!("__Host-id={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        "anonymous",
        "the session came back"
    );
}

/// R74–R87: the CSRF accept and reject matrix. A refusal is 403 with a reason, the handler
/// is not called and the session is not changed.
#[tokio::test]
async fn r76_csrf_matrix() {
    let h = start(memory(None), |l| l).await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/add/seed")).send().await.unwrap();
    let token = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token2 = client
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(token, token2, "R82: tokens are masked afresh");
    let cookie = format!("__Host-id={}", jar.get("__Host-id").unwrap());
    let (other, _) = browser(&h.base);
    other.post(h.url("/add/x")).send().await.unwrap();
    let foreign = other
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let base = h.base.clone();
    let form = |t: &str| format!("a=1&csrf_token={t}");

    struct Case<'a> {
        name: &'a str,
        headers: Vec<(&'a str, String)>,
        form: Option<String>,
        session: bool,
        want: Result<(), &'a str>,
    }
    let cases = vec![
        Case {
            name: "token in header, origin ok",
            headers: vec![("origin", base.clone()), ("x-csrf-token", token.clone())],
            form: None,
            session: true,
            want: Ok(()),
        },
        Case {
            name: "token in form, same-origin fetch",
            headers: vec![("sec-fetch-site", "same-origin".into())],
            form: Some(form(&token2)),
            session: true,
            want: Ok(()),
        },
        Case {
            name: "no origin headers at all",
            headers: vec![("x-csrf-token", token.clone())],
            form: None,
            session: true,
            want: Err("missing_origin"),
        },
        Case {
            name: "cross-site fetch",
            headers: vec![
                ("sec-fetch-site", "cross-site".into()),
                ("x-csrf-token", token.clone()),
            ],
            form: None,
            session: true,
            want: Err("cross_site_request"),
        },
        Case {
            name: "same-site fetch",
            headers: vec![
                ("sec-fetch-site", "same-site".into()),
                ("x-csrf-token", token.clone()),
            ],
            form: None,
            session: true,
            want: Err("same_site_request"),
        },
        Case {
            name: "foreign origin",
            headers: vec![
                ("origin", "http://evil.example".into()),
                ("x-csrf-token", token.clone()),
            ],
            form: None,
            session: true,
            want: Err("origin_mismatch"),
        },
        Case {
            name: "origin with our host as prefix",
            headers: vec![
                ("origin", format!("{base}.evil.example")),
                ("x-csrf-token", token.clone()),
            ],
            form: None,
            session: true,
            want: Err("origin_mismatch"),
        },
        Case {
            name: "null origin",
            headers: vec![("origin", "null".into()), ("x-csrf-token", token.clone())],
            form: None,
            session: true,
            want: Err("null_origin"),
        },
        Case {
            name: "same-origin says ok but origin is foreign",
            headers: vec![
                ("sec-fetch-site", "same-origin".into()),
                ("origin", "http://evil.example".into()),
                ("x-csrf-token", token.clone()),
            ],
            form: None,
            session: true,
            want: Err("origin_mismatch"),
        },
        Case {
            name: "no token",
            headers: vec![("origin", base.clone())],
            form: None,
            session: true,
            want: Err("missing_token"),
        },
        Case {
            name: "garbage token",
            headers: vec![("origin", base.clone()), ("x-csrf-token", "abc".into())],
            form: None,
            session: true,
            want: Err("invalid_token"),
        },
        Case {
            name: "another session's token",
            headers: vec![("origin", base.clone()), ("x-csrf-token", foreign.clone())],
            form: None,
            session: true,
            want: Err("invalid_token"),
        },
        Case {
            name: "form without the field",
            headers: vec![("origin", base.clone())],
            form: Some("a=1".into()),
            session: true,
            want: Err("missing_token"),
        },
        Case {
            name: "anonymous, origin ok (R86: header checks protect pre-session forms)",
            headers: vec![("origin", base.clone())],
            form: None,
            session: false,
            want: Ok(()),
        },
        Case {
            name: "anonymous, cross-site",
            headers: vec![("sec-fetch-site", "cross-site".into())],
            form: None,
            session: false,
            want: Err("cross_site_request"),
        },
    ];
    for c in cases {
        let calls = h.state.handler_calls.load(Ordering::SeqCst);
        let mut req = bare().post(h.url("/add/matrix"));
        if c.session {
            req = req.header("cookie", &cookie);
        }
        for (k, v) in &c.headers {
            req = req.header(*k, v);
        }
        if let Some(f) = &c.form {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(f.clone());
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        match c.want {
            Ok(()) => assert_eq!(status, StatusCode::OK, "{}: {body}", c.name),
            Err(reason) => {
                assert_eq!(status, StatusCode::FORBIDDEN, "{}", c.name);
                assert_eq!(
                    body,
                    format!(r#"{{"error":"csrf","reason":"{reason}"}}"#),
                    "{}",
                    c.name
                );
                assert_eq!(
                    h.state.handler_calls.load(Ordering::SeqCst),
                    calls,
                    "{}: handler ran",
                    c.name
                );
            }
        }
    }
    // Safe methods are never blocked, whatever the headers (R74).
    let r = bare()
        .get(h.url("/cart"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// R50: a store outage is a 503 for requests that need the session, with no Set-Cookie;
/// requests that do not touch the session are unaffected.
#[tokio::test]
async fn r50_outage_is_503_not_an_empty_session() {
    let store = memory(None);
    let h = start(store.clone(), |l| l).await;
    let (client, _) = browser(&h.base);
    client.post(h.url("/login/erin")).send().await.unwrap();
    store.down.store(true, Ordering::SeqCst);
    let r = client.get(h.url("/whoami")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&r).is_none());
    let (anon, _) = browser(&h.base);
    let r = anon.post(h.url("/add/apple")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&r).is_none(), "R50: no cookie for an unsaved id");
    assert_eq!(
        client
            .get(h.url("/untouched"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    store.down.store(false, Ordering::SeqCst);
    assert_eq!(
        client
            .get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "erin"
    );
}

/// R7: the header transport for API clients, only when enabled; no cookie is set for it.
#[tokio::test]
async fn r7_header_session_id_for_api_clients() {
    let h = start(memory(None), |l| {
        l.with_header_id(http::HeaderName::from_static("x-session-id"))
    })
    .await;
    let r = bare()
        .post(h.url("/add/api"))
        .header("x-session-id", "new")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "API clients are not CSRF-checked"
    );
    assert!(set_cookie(&r).is_none());
    let id = r
        .headers()
        .get("x-session-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let r = bare()
        .get(h.url("/cart"))
        .header("x-session-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), r#"["api"]"#);
    // Without the option, the header is ignored.
    let plain = start(memory(None), |l| l).await;
    let r = bare()
        .get(plain.url("/cart"))
        .header("x-session-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "[]");
}

/// R37, R38: idle and absolute timeouts are enforced server-side on load.
#[tokio::test]
async fn r37_idle_and_absolute_timeouts() {
    let clock = ManualClock::new();
    let h = start(memory(Some(clock.clone())), |l| {
        l.with_clock(Arc::new(clock.clone()))
            .with_idle_timeout(Duration::from_secs(30 * 60))
            .with_absolute_timeout(Duration::from_secs(3600))
    })
    .await;
    let (client, jar) = browser(&h.base);
    client.post(h.url("/login/frank")).send().await.unwrap();
    clock.advance(Duration::from_secs(31 * 60));
    let r = client.get(h.url("/whoami")).send().await.unwrap();
    // The store no longer knows the id, so this request cannot tell an expired session from
    // one replaced by a newer cookie: it leaves the cookie alone, and the id reads nothing.
    assert!(set_cookie(&r).is_none(), "a dead id's cookie was changed");
    assert_eq!(r.text().await.unwrap(), "anonymous");
    assert!(jar.get("__Host-id").is_some());

    client.post(h.url("/login/frank")).send().await.unwrap();
    for _ in 0..2 {
        clock.advance(Duration::from_secs(25 * 60));
        let r = client.get(h.url("/whoami")).send().await.unwrap();
        let who = r.text().await.unwrap();
        if who == "anonymous" {
            panic!("ended before the absolute deadline");
        }
    }
    // 60 minutes since login: the absolute deadline, though the session was used 10 ago.
    clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(
        client
            .get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "anonymous"
    );
}

/// R21, R23, R41: a persistent cookie carries Max-Age; an unchanged fresh session sends no
/// Set-Cookie, and one past the touch threshold gets its expiry (and cookie) moved.
#[tokio::test]
async fn r41_persistent_cookie_and_throttled_touch() {
    let clock = ManualClock::new();
    let store = memory(Some(clock.clone()));
    let h = start(store.clone(), |l| {
        l.with_clock(Arc::new(clock.clone()))
            .with_persistent_cookie()
    })
    .await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add/apple")).send().await.unwrap();
    assert!(set_cookie(&r).unwrap().ends_with("Max-Age=1800"));
    clock.advance(Duration::from_secs(60));
    let r = client.get(h.url("/cart")).send().await.unwrap();
    assert!(set_cookie(&r).is_none(), "a fresh session was refreshed");
    clock.advance(Duration::from_secs(10 * 60));
    let r = client.get(h.url("/cart")).send().await.unwrap();
    assert!(
        set_cookie(&r).unwrap().ends_with("Max-Age=1800"),
        "the touch did not refresh the cookie"
    );
}

/// R33: "your devices" lists the user's sessions with the current one marked; revoking one
/// logs that browser out; "log out my other devices" spares this one.
#[tokio::test]
async fn r33_devices_and_revocation() {
    let h = start(memory(None), |l| l).await;
    let (a, _) = browser(&h.base);
    let (b, _) = browser(&h.base);
    let (c, _) = browser(&h.base);
    for (client, ua) in [(&a, "browser-a"), (&b, "browser-b"), (&c, "browser-c")] {
        client
            .post(h.url("/login/grace"))
            .header("user-agent", ua)
            .send()
            .await
            .unwrap();
    }
    let devices: Vec<serde_json::Value> = a
        .get(h.url("/devices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(devices.len(), 3);
    assert_eq!(devices.iter().filter(|d| d["current"] == true).count(), 1);
    let b_key = devices
        .iter()
        .find(|d| d["user_agent"] == "browser-b")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = a
        .get(h.url("/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = a
        .post(h.url(&format!("/revoke/{b_key}")))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "true");
    assert_eq!(
        b.get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "anonymous"
    );
    // A key that is not the user's is refused.
    let r = a
        .post(h.url(&format!("/revoke/{}", "0".repeat(68))))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "false");
    let r = a
        .post(h.url("/revoke-others"))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "1");
    assert_eq!(
        c.get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "anonymous"
    );
    assert_eq!(
        a.get(h.url("/whoami"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "grace"
    );
}

/// R9: malformed Cookie headers never panic; they mean "no session". An oversized one (over
/// 8 KiB in all) is refused with 431 before the handler runs, on every route, so that a
/// cookie bomb cannot make a write start a new session over the user's cookie.
#[tokio::test]
async fn r9_malformed_cookie_headers() {
    let store = memory(None);
    let h = start(store.clone(), |l| l).await;
    let big = format!("__Host-id={}", "x".repeat(9000));
    for path in ["/cart", "/untouched"] {
        let r = bare()
            .get(h.url(path))
            .header("cookie", big.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{path}"
        );
        assert!(r.headers().get("set-cookie").is_none());
    }
    // At the limit exactly it is read.
    let at_limit = format!("pad={}", "x".repeat(8192 - 4));
    let r = bare()
        .get(h.url("/cart"))
        .header("cookie", at_limit.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let quotes = "\"\\".repeat(3000);
    let headers: Vec<&[u8]> = vec![
        quotes.as_bytes(),
        b"=;=;=;;;",
        b"__Host-id",
        b"__Host-id=\"quoted\"",
        b"\xff\xfe__Host-id=\xff",
    ];
    for hv in headers {
        let r = bare()
            .get(h.url("/cart"))
            .header("cookie", http::HeaderValue::from_bytes(hv).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), "[]");
    }
    assert_eq!(store.calls(), 0);
}

/// R18, R19: weakening settings that browsers would reject fail when the layer is built.
#[test]
fn r18_bad_cookie_settings_fail_at_startup() {
    let layer = || {
        session_tower::SessionLayer::new(
            MemoryStore::new(),
            session_tower::SigningKeys::generate().unwrap(),
        )
    };
    assert!(
        layer().with_insecure_cookie().is_err(),
        "__Host- without Secure"
    );
    assert!(
        layer().with_insecure_domain("example.com").is_err(),
        "__Host- with Domain"
    );
    assert!(layer().with_cookie_name("bad name").is_err());
    assert!(
        layer()
            .with_cookie_name("sid")
            .unwrap()
            .with_insecure_cookie()
            .is_ok()
    );
    assert!(
        layer()
            .with_trusted_origins(["https://ok.example/path"])
            .is_err()
    );
}

/// R72: a response whose CSRF decision read `Origin` and `Sec-Fetch-Site` varies on them,
/// refused or not; a safe request does not.
#[tokio::test]
async fn r72_csrf_decisions_vary_on_origin() {
    let h = start(memory(None), |l| l).await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add/apple")).send().await.unwrap();
    let vary: Vec<String> = r
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("Origin"))
            && vary.iter().any(|v| v.contains("Sec-Fetch-Site")),
        "{vary:?}"
    );
    let r = bare()
        .post(h.url("/add/apple"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()
            .get("vary")
            .is_some_and(|v| v.to_str().unwrap().contains("Origin"))
    );
    let r = client.get(h.url("/untouched")).send().await.unwrap();
    assert!(r.headers().get("vary").is_none());
}

/// Session settings that cannot work stop the app when the layer is built, with the
/// reason; `validated` returns the same reason as an error.
#[test]
fn invalid_session_settings_fail_when_the_layer_is_built() {
    use tower::Layer as _;
    let bad = || {
        session_tower::SessionLayer::new(
            MemoryStore::new(),
            session_tower::SigningKeys::generate().unwrap(),
        )
        .with_idle_timeout(Duration::from_secs(60))
        .with_touch_after(Duration::from_secs(60))
    };
    let err = bad().validated().unwrap_err();
    assert!(err.to_string().contains("touch threshold"), "{err}");
    let panic = std::panic::catch_unwind(|| {
        let _ = bad().layer(());
    })
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("touch threshold"), "panic said {msg:?}");
    // A valid layer builds.
    let _ = bad().with_idle_timeout(Duration::from_secs(600)).layer(());
}

/// The CSRF marker key is the layer's: a handler can neither write, read nor list it.
#[tokio::test]
async fn the_csrf_key_is_reserved() {
    use axum::routing::get;
    let layer = session_tower::SessionLayer::new(
        MemoryStore::new(),
        session_tower::SigningKeys::generate().unwrap(),
    );
    let app = axum::Router::new()
        .route(
            "/",
            get(|s: session_tower::Session| async move {
                assert!(s.insert("__csrf", &1).is_err());
                assert!(
                    s.insert_raw("__csrf", bytes::Bytes::from_static(b"x"))
                        .is_err()
                );
                assert!(s.get_raw("__csrf").await.is_err());
                s.insert("cart", &1).unwrap();
                let token = s.csrf_token().await.unwrap();
                assert!(token.is_some(), "no token for a session with data");
                s.remove("__csrf");
                let keys = s.keys().await.unwrap();
                assert_eq!(keys, vec!["cart".to_owned()], "keys() lists {keys:?}");
                "ok"
            }),
        )
        .layer(layer);
    let base = common::serve(app).await;
    let r = bare().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ok");
}
