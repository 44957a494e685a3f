//! The HTTP side of server-side sessions: a tower [`SessionLayer`] and an axum extractor
//! ([`Session`]) that turn the store contract into the cookie flow.
//!
//! ```text
//! request ──► read cookie ──► verify HMAC ──► CSRF checks (unsafe methods) ──► handler
//!                (no store call for a forged or missing cookie)                  │
//! response ◄── Set-Cookie / Cache-Control / Vary ◄── save (compare-and-swap) ◄───┘
//! ```
//!
//! - **Lazy**: a handler that never touches the session causes no store call and no
//!   `Set-Cookie`; nothing is stored for a visitor until the session has data.
//! - **Signed ids**: HMAC-SHA256 under a key ring ([`SigningKeys`]); one key signs, older
//!   keys verify.
//! - **Secure defaults**: `__Host-id`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no
//!   `Domain`; invalid combinations fail at startup ([`ConfigError`]).
//! - **Lifecycle**: idle (30 min) and absolute (12 h) timeouts enforced server-side on every
//!   load, throttled touch, login that rotates the id and the CSRF secret, logout that
//!   deletes the record and expires the cookie, "your devices" and "log out everywhere".
//! - **Concurrency**: concurrent requests on one session keep each other's changes
//!   ([`Session::update`] merges changes to one key; `insert` is last-writer-wins and a
//!   key it overwrote is logged at WARN), a request that loaded before a logout cannot bring
//!   the session back, and a write that was not stored is never answered with the
//!   handler's success ([`error_status`]). [`LockedSession`] gives a route its session to
//!   itself.
//! - **CSRF**: `Sec-Fetch-Site` / `Origin` checks that need no configuration for a
//!   same-origin app (Go 1.25's approach), plus a masked per-session token (header or form
//!   field) on unsafe methods; a refusal is a 403 with a machine-readable reason.
//! - **Outages**: a request that needs the session gets 503, never an empty session.
//! - **Auth building blocks** ([`auth`]): the current user through the app's loader, a
//!   login-required guard and a recent-login check (sudo mode), redirecting pages and
//!   answering API clients 401; "remember me" chosen per session at login
//!   ([`Session::set_remember`]).
//! - **Live connections** ([`LiveSession`]): a WebSocket opened with the session cookie is
//!   origin-checked, saves on demand, and is told when its session ends elsewhere (logout,
//!   "log out everywhere", revocation, expiry), through Redis pub/sub or PostgreSQL
//!   `LISTEN` where the store has them and by polling where not.
//!
//! # Layout
//!
//! | module | job |
//! |---|---|
//! | `layer` | [`SessionLayer`] and its validated builder methods |
//! | `settings` | what every request of one layer shares |
//! | `presented` | the id a request presents: cookie or header, verified once, lazily |
//! | `service` | the per-request flow |
//! | `session` | [`Session`], what handlers use |
//! | `remember` | "remember me" on the request's session |
//! | `auth` | [`auth::CurrentUser`], [`auth::LoggedIn`], [`auth::RecentAuth`]; `auth::refusal`, the redirect-or-401 rule |
//! | `extract` | the axum extractors, [`Session`] and [`LockedSession`] |
//! | `live` | [`LiveSession`]: a WebSocket's session, origin-checked, told when it ends elsewhere |
//! | `cookie` | the strict `Cookie` parser and `Set-Cookie` writer |
//! | `signing` | [`SigningKeys`] |
//! | `csrf` | tokens and origin checks |
//! | `rejection` | errors as responses, and the table of which status for which error |
//! | `response` | the cookie and caching decision after a request, as a plain function |
//!
//! # Example
//! ```
//! use axum::{Router, routing::post};
//! use session_memory::MemoryStore;
//! use session_tower::{Session, SessionError, SessionLayer, SigningKeys};
//!
//! async fn add_to_cart(session: Session) -> Result<&'static str, SessionError> {
//!     // Re-run on the fresh cart if another request saved meanwhile: no add is lost.
//!     session.update("cart", |cart: &mut Vec<String>| cart.push("apple".into())).await?;
//!     Ok("added") // saved before the response leaves
//! }
//!
//! // No CSRF setup for a same-origin app; `with_trusted_origins` adds other origins.
//! let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap());
//! let app: Router = Router::new().route("/cart", post(add_to_cart)).layer(layer);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod config;
pub mod cookie;
pub mod csrf;
mod error;
mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod layer;
mod live;
mod presented;
mod rejection;
mod remember;
mod response;
mod service;
mod session;
mod settings;
pub mod signing;

pub use config::SameSite;
pub use csrf::CsrfReason;
pub use error::ConfigError;
pub use extract::LockedSession;
pub use layer::SessionLayer;
pub use live::{Ended, LiveSession};
pub use rejection::{MissingSessionLayer, SessionError, error_status};
pub use service::{ResponseFuture, SessionService};
pub use session::{Device, Session};
pub use signing::SigningKeys;

// What an app needs from session-core, so that it depends on this crate and one store crate
// only. (`session_core::Session`, the handle without HTTP, is not re-exported: its name
// would clash with this crate's extractor; reach it through `session_tower::core`.)
pub use session_core as core;
pub use session_core::{
    Clock, Error as StoreError, ErrorKind, Fence, ManualClock, OwnerSession, SaveReport,
    SessionStore, SharedClock, SystemClock, Timestamp, Write,
};
