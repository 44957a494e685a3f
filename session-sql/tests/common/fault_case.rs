// The connection-kill fault test for server databases, included into the PostgreSQL and
// MySQL test binaries. The including file provides `store(clock)`, `backend_ids(&store)`
// (server-side ids of pooled connections) and `kill(&ids)` (terminates them from another
// connection).

use std::sync::Arc;
use std::time::{Duration, Instant};

use session_conformance::ManualClock;
use session_core::{Session, SessionConfig, SessionStore};

use super::{backend_ids, kill, store};

/// The pool's connections are killed mid-run: operations fail as retryable or succeed
/// (the pool replaces dead connections), and the same store works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connections_are_unavailable_then_recover() {
    let s = store(ManualClock::new()).await;
    let store: Arc<dyn SessionStore> = Arc::new(s.clone());
    let config = Arc::new(SessionConfig::default());
    let h = Session::new(store.clone(), config.clone(), None);
    h.insert("cart", &[1, 2]).unwrap();
    h.save().await.unwrap();
    let id = h.id().await.unwrap();

    let ids = backend_ids(&s).await;
    assert!(!ids.is_empty());
    kill(&ids).await;
    let killed_at = Instant::now();

    let mut failed = 0;
    let recovered = loop {
        let h = Session::new(store.clone(), config.clone(), Some(id.clone()));
        match h.get::<Vec<i32>>("cart").await {
            Ok(v) => break v,
            Err(e) => {
                assert!(e.is_retryable(), "not retryable: {e}");
                failed += 1;
                assert!(
                    killed_at.elapsed() < Duration::from_secs(15),
                    "no recovery: {e}"
                );
            }
        }
    };
    assert_eq!(recovered, Some(vec![1, 2]), "the session survived the kill");
    let h = Session::new(store.clone(), config, Some(id));
    h.insert("after", &true).unwrap();
    h.save().await.expect("save after the kill");
    println!(
        "killed {} connections: {failed} failed calls, recovered after {:?}",
        ids.len(),
        killed_at.elapsed()
    );
}
