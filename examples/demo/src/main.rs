//! Run with `cargo run --release -p session-demo` (then open http://127.0.0.1:3000).
//!
//! Options (each also an environment variable):
//!
//! | flag | variable | default |
//! |---|---|---|
//! | `--store URL` | `SESSION_STORE` | `sqlite://session-demo.db`; `memory`, `postgres://`, `mysql://`, `redis://`, `rediss://` (a Cluster: node URLs joined by `,`); TLS files as `?tls_ca=ca.pem&tls_cert=client.pem&tls_key=client-key.pem` (the last two only for servers that ask for a client certificate) |
//! | `--addr HOST:PORT` | `SESSION_ADDR` | `127.0.0.1:3000` |
//! | `--key-file PATH` | `SESSION_KEY_FILE` | `session-demo.key` (used when `SESSION_KEYS` is unset) |
//! | | `SESSION_KEYS` | comma-separated base64 signing keys, newest first |
//! | `--reauth-window-secs N` | `SESSION_REAUTH_WINDOW_SECS` | `300`: how recent a login changing the password needs |
//! | `--live-poll-ms N` | `SESSION_LIVE_POLL_MS` | `250`: how often a live page's socket looks at its session on a store that cannot push end notices (SQLite, MySQL, memory) |
//! | `--metrics` | `SESSION_METRICS=1` | off: serve the library's metrics at `/metrics`, in Prometheus' text format |
//! | | `SESSION_ORIGINS` | the origins users open (default `http://ADDR` and `http://localhost:PORT`) |

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use session_tower::SigningKeys;

fn arg(flag: &str, var: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(var).ok())
        .unwrap_or_else(|| default.to_owned())
}

/// Signing keys from `SESSION_KEYS`, or from a key file made on first start, so that
/// sessions survive a restart of the demo.
fn keys(key_file: &str) -> Result<SigningKeys, String> {
    if std::env::var("SESSION_KEYS").is_ok() {
        return SigningKeys::from_env("SESSION_KEYS").map_err(|e| e.to_string());
    }
    let text = match std::fs::read_to_string(key_file) {
        Ok(t) => t,
        Err(_) => {
            let mut k = [0u8; 32];
            getrandom::fill(&mut k).map_err(|e| e.to_string())?;
            let t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k);
            session_demo::store::write_private(std::path::Path::new(key_file), t.as_bytes())
                .map_err(|e| format!("cannot write {key_file}: {e}"))?;
            eprintln!(
                "session-demo: made a new signing key in {key_file} (set SESSION_KEYS in production)"
            );
            t
        }
    };
    SigningKeys::from_base64_list(text.trim()).map_err(|e| format!("{key_file}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let store_url = arg("--store", "SESSION_STORE", "sqlite://session-demo.db");
    let addr = arg("--addr", "SESSION_ADDR", "127.0.0.1:3000");
    let key_file = arg("--key-file", "SESSION_KEY_FILE", "session-demo.key");

    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("session-demo: bad address {addr:?}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let keys = match keys(&key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("session-demo: signing keys: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store = match session_demo::store::open(&store_url).await {
        Ok(s) => s,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("session-demo: {msg}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("session-demo: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(addr.port());
    let origins: Vec<String> = match std::env::var("SESSION_ORIGINS") {
        Ok(o) => o.split(',').map(|s| s.trim().to_owned()).collect(),
        Err(_) => vec![
            format!("http://{}:{port}", addr.ip()),
            format!("http://localhost:{port}"),
        ],
    };
    let _sweeper = session_sql::spawn_sweeper(store.clone(), Duration::from_secs(300));
    let mut settings = session_demo::Settings::new(store, keys, origins);
    match arg("--reauth-window-secs", "SESSION_REAUTH_WINDOW_SECS", "300").parse() {
        Ok(secs) => settings.reauthentication_window = Duration::from_secs(secs),
        Err(e) => {
            eprintln!("session-demo: --reauth-window-secs: {e}");
            return ExitCode::FAILURE;
        }
    }
    match arg("--live-poll-ms", "SESSION_LIVE_POLL_MS", "250").parse() {
        Ok(ms) => settings.live_poll = Duration::from_millis(ms),
        Err(e) => {
            eprintln!("session-demo: --live-poll-ms: {e}");
            return ExitCode::FAILURE;
        }
    }
    let metrics_on = std::env::args().any(|a| a == "--metrics")
        || std::env::var("SESSION_METRICS").is_ok_and(|v| v == "1");
    if metrics_on {
        match session_demo::metrics_page::install() {
            Ok(handle) => settings.metrics = Some(handle),
            Err(e) => {
                eprintln!("session-demo: --metrics: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let app = match session_demo::router(settings) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("session-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The URL without its password: startup lines end up in logs.
    println!(
        "session-demo: serving on http://{}:{port} with the {} store",
        addr.ip(),
        session_demo::store::redact(&store_url)
    );
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("session-demo: server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
