//! The demo as people copy it: no password in its output, secrets in owner-only files, no
//! page that another site can frame, and logins that slow down guessing.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use session_demo::{Settings, router};
use session_memory::MemoryStore;
use session_tower::SigningKeys;
use test_support::{ChildGuard, Server};

/// Starts the demo binary with `store` and a key file in `dir`; its first stdout line.
fn start_demo(store: &str, dir: &std::path::Path) -> (ChildGuard, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_session-demo"))
        .args(["--store", store, "--addr", "127.0.0.1:0"])
        .arg("--key-file")
        .arg(dir.join("demo.key"))
        .env_remove("SESSION_KEYS")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo binary");
    let stdout = child.stdout.take().unwrap();
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    (guard, line)
}

/// `url` with a password in it, and the password.
fn with_password(url: &str) -> (String, String) {
    let start = url.find("://").expect("a URL") + 3;
    let at = url.rfind('@').expect("a URL with a user");
    let userinfo = &url[start..at];
    match userinfo.split_once(':') {
        Some((_, pw)) if !pw.is_empty() => (url.to_owned(), pw.to_owned()),
        _ => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let url = format!("{}{user}:hunter2{}", &url[..start], &url[at..]);
            (url, "hunter2".to_owned())
        }
    }
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn startup_prints_no_password_and_makes_owner_only_files() {
    let dir = std::env::temp_dir().join(format!("demo-hardening-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // The server's URL with a password: its own, or (for a server that trusts local
    // connections, as the test command's does) a made-up one.
    let (url, secret) = with_password(&test_support::url(Server::Postgres));
    let (_demo, line) = start_demo(&url, &dir);
    assert!(line.contains("serving on"), "{line}");
    assert!(!line.contains(&secret), "the password was printed: {line}");
    assert!(line.contains("postgres://***@"), "{line}");
    assert_eq!(mode(&dir.join("demo.key")), 0o600, "the key file");

    let db = dir.join("sessions.db");
    let (_demo, line) = start_demo(&format!("sqlite://{}", db.display()), &dir);
    assert!(line.contains("serving on"), "{line}");
    assert_eq!(mode(&db), 0o600, "the SQLite database");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn serve(settings: Settings) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(Settings {
        origins: vec![base.clone()],
        ..settings
    })
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn pages_cannot_be_framed() {
    let base = serve(Settings::new(
        Arc::new(MemoryStore::new()),
        SigningKeys::generate().unwrap(),
        vec![],
    ))
    .await;
    for path in ["/", "/devices", "/login", "/cart"] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
}

async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r = client
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap();
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn guessing_is_throttled_even_for_the_right_password() {
    let mut settings = Settings::new(
        Arc::new(MemoryStore::new()),
        SigningKeys::generate().unwrap(),
        vec![],
    );
    settings.login_cooldown = Duration::from_millis(500);
    let base = serve(settings).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let mut answers = Vec::new();
    for _ in 0..20 {
        answers.push(login(&client, &base, "bob", "wrong").await);
    }
    assert_eq!(answers[..5], ["/login?error=1"; 5]);
    assert!(
        answers[5..].iter().all(|a| a == "/login?error=throttled"),
        "{answers:?}"
    );
    assert_eq!(
        login(&client, &base, "bob", "builder").await,
        "/login?error=throttled",
        "the right password right after 20 wrong ones"
    );
    assert_eq!(
        login(&client, &base, "alice", "wonderland").await,
        "/",
        "other names"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        login(&client, &base, "bob", "builder").await,
        "/",
        "after the cooldown"
    );
}
