//! A session on Redis, through the same handle an HTTP layer uses: create one, sign it in,
//! add a second device for the same user, list them, log out everywhere else.
//!
//! ```sh
//! REDIS_URL=redis://127.0.0.1:6379 cargo run -p session-redis --example devices
//! ```
//! (For Cluster: `RedisStore::builder().connect_cluster(&[...])`.)

use std::sync::Arc;

use session_core::{Session, SessionConfig, SessionStore};
use session_redis::RedisStore;

#[tokio::main]
async fn main() -> Result<(), session_core::Error> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let store: Arc<dyn SessionStore> = Arc::new(
        RedisStore::builder()
            .prefix("example")
            .connect(&url)
            .await?,
    );
    let config = Arc::new(SessionConfig::default());

    let laptop = Session::new(store.clone(), config.clone(), None);
    laptop.update("visits", |n: &mut u64| *n += 1).await?;
    laptop.login("ada").await?; // a new id, the data kept
    let phone = Session::new(store.clone(), config.clone(), None);
    phone.login("ada").await?;
    println!("ada has {} sessions", laptop.owner_sessions().await?.len());

    let revoked = laptop.revoke_other_sessions().await?;
    println!(
        "revoked {revoked}; ada now has {}",
        laptop.owner_sessions().await?.len()
    );
    laptop.destroy().await?; // log out
    Ok(())
}
