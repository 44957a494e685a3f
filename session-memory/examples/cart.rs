//! The in-process store with 64 concurrent "add to cart" requests on one session: every
//! add is kept, because `update` re-runs its closure on the fresh cart whenever another
//! save got in first.
//!
//! ```sh
//! cargo run -p session-memory --example cart
//! ```

use std::sync::Arc;

use session_core::{Session, SessionConfig, SessionStore};
use session_memory::MemoryStore;

#[tokio::main]
async fn main() -> Result<(), session_core::Error> {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::builder().max_bytes(64 << 20).build());
    let config = Arc::new(SessionConfig::default());
    let first = Session::new(store.clone(), config.clone(), None);
    first.insert("cart", &Vec::<u32>::new())?;
    first.save().await?;
    let id = first.id().await.expect("created");

    let mut requests = Vec::new();
    for item in 0..64u32 {
        let (store, config, id) = (store.clone(), config.clone(), id.clone());
        requests.push(tokio::spawn(async move {
            let s = Session::new(store, config, Some(id));
            s.update("cart", move |cart: &mut Vec<u32>| cart.push(item))
                .await?;
            s.save().await.map(drop)
        }));
    }
    for r in requests {
        r.await.expect("request task")?;
    }
    let cart: Vec<u32> = Session::new(store, config, Some(id))
        .get("cart")
        .await?
        .unwrap_or_default();
    println!("{} of 64 items kept", cart.len());
    Ok(())
}
