//! Sessions in a SQLite file that survive a restart, with the background sweeper that
//! removes expired rows. The same code runs on PostgreSQL (`PgStore::connect`) and
//! MySQL/MariaDB (`MySqlStore::connect`).
//!
//! ```sh
//! cargo run -p session-sql --features sqlite --example sqlite
//! ```

use std::sync::Arc;
use std::time::Duration;

use session_core::{Session, SessionConfig};
use session_sql::SqliteStore;

#[tokio::main]
async fn main() -> Result<(), session_core::Error> {
    let path = std::env::temp_dir().join("session-sql-example.db");
    let store = Arc::new(SqliteStore::connect(&format!("sqlite://{}", path.display())).await?);
    store.migrate().await?; // creates or upgrades the table; safe from several nodes
    let sweeper = session_sql::spawn_sweeper(store.clone(), Duration::from_secs(300));

    let config = Arc::new(SessionConfig::default());
    let session = Session::new(store.clone(), config.clone(), None);
    session.insert("theme", "dark")?;
    session.save().await?;
    let id = session.id().await.expect("created by the save");

    // What the next request (or the next process) sees, given the id from the cookie.
    let again = Session::new(store.clone(), config, Some(id));
    let theme: Option<String> = again.get("theme").await?;
    println!("theme = {theme:?} (stored in {})", path.display());

    sweeper.shutdown().await;
    Ok(())
}
