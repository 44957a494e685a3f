//! A complete small app on the session layer, in memory: a visit counter, login, logout,
//! "your devices" with "log out everywhere else", and a CSRF-protected form, all with no
//! CSRF configuration (a same-origin app needs none).
//!
//! ```sh
//! cargo run -p session-tower --example app      # then open http://localhost:3000
//! ```
//!
//! `SESSION_KEYS` (from `cargo run -p session-tower --example keygen`) keeps cookies valid
//! across restarts; without it a key is made at start.

use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use session_memory::MemoryStore;
use session_tower::{Session, SessionError, SessionLayer, SigningKeys};

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

#[derive(serde::Deserialize)]
struct Note {
    note: String,
}

async fn home(session: Session) -> Result<Html<String>, SessionError> {
    // `update` re-runs on the fresh value if another request saved meanwhile.
    let visits = session.update("visits", |n: &mut u64| *n += 1).await?;
    let who = session.user().await?;
    let note: Option<String> = session.get("note").await?;
    let token = session.csrf_token().await?.unwrap_or_default();
    let devices = if who.is_some() {
        session.devices().await?.len()
    } else {
        0
    };
    Ok(Html(format!(
        r#"<p>Visits: {visits}. Signed in as: {who}. Devices: {devices}. Note: {note}</p>
<form method="post" action="/login"><input name="user"><button>Log in</button>
  <input type="hidden" name="csrf_token" value="{token}"></form>
<form method="post" action="/note"><input name="note"><button>Save note</button>
  <input type="hidden" name="csrf_token" value="{token}"></form>
<form method="post" action="/others"><button>Log out everywhere else</button>
  <input type="hidden" name="csrf_token" value="{token}"></form>
<form method="post" action="/logout"><button>Log out</button>
  <input type="hidden" name="csrf_token" value="{token}"></form>"#,
        who = who.as_deref().unwrap_or("nobody"),
        note = note.unwrap_or_default(),
    )))
}

async fn login(session: Session, Form(f): Form<Login>) -> Result<Redirect, SessionError> {
    // A real app checks a password first. Login rotates the id and keeps the data.
    session.login(&f.user).await?;
    Ok(Redirect::to("/"))
}

async fn note(session: Session, Form(f): Form<Note>) -> Result<Redirect, SessionError> {
    session.insert("note", &f.note)?;
    Ok(Redirect::to("/"))
}

async fn others(session: Session) -> Result<Redirect, SessionError> {
    session.revoke_other_devices().await?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Result<Redirect, SessionError> {
    session.logout().await?;
    Ok(Redirect::to("/"))
}

#[tokio::main]
async fn main() {
    let keys = match std::env::var("SESSION_KEYS") {
        Ok(_) => SigningKeys::from_env("SESSION_KEYS"),
        Err(_) => SigningKeys::generate(),
    }
    .unwrap_or_else(|e| panic!("signing keys: {e}"));
    let app = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/note", post(note))
        .route("/others", post(others))
        .route("/logout", post(logout))
        .layer(SessionLayer::new(MemoryStore::new(), keys));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await
        .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:3000: {e}"));
    println!("serving on http://localhost:3000");
    axum::serve(listener, app)
        .await
        .unwrap_or_else(|e| panic!("server error: {e}"));
}
