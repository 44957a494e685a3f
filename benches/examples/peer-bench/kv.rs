//! The in-process and Redis sides: raw moka, raw Redis (GET + SET PX) and actix-session.

use std::sync::atomic::{AtomicU64, Ordering};

use session_core::{Bytes, async_trait};

use crate::actix::Actix;
use crate::contender::Contender;

pub(crate) struct RawMoka {
    pub(crate) cache: moka::sync::Cache<[u8; 34], Bytes>,
    pub(crate) keys: Vec<[u8; 34]>,
    pub(crate) next: AtomicU64,
    pub(crate) body: Bytes,
}

#[async_trait]
impl Contender for RawMoka {
    fn name(&self) -> &'static str {
        "raw moka"
    }
    async fn request(&self, i: usize) {
        let k = self.keys[i % self.keys.len()];
        let _ = self.cache.get(&k);
        self.cache.insert(k, self.body.clone());
    }
    async fn create_delete(&self) {
        let mut k = [0u8; 34];
        k[..8].copy_from_slice(&self.next.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        self.cache.insert(k, self.body.clone());
        self.cache.invalidate(&k);
    }
}

pub(crate) struct RawRedis {
    pub(crate) conn: redis::aio::ConnectionManager,
    pub(crate) prefix: String,
    pub(crate) next: AtomicU64,
    pub(crate) body: Bytes,
}

#[async_trait]
impl Contender for RawRedis {
    fn name(&self) -> &'static str {
        "raw redis"
    }
    async fn request(&self, i: usize) {
        let key = format!("{}:{}", self.prefix, i % 1_000_000);
        let mut c = self.conn.clone();
        let _: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut c)
            .await
            .expect("GET");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(self.body.as_ref())
            .arg("PX")
            .arg(3_600_000)
            .query_async(&mut c)
            .await
            .expect("SET");
    }
    async fn create_delete(&self) {
        let key = format!(
            "{}:n{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(self.body.as_ref())
            .arg("PX")
            .arg(3_600_000)
            .query_async(&mut c)
            .await
            .expect("SET");
        let _: i64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut c)
            .await
            .expect("DEL");
    }
}

#[async_trait]
impl Contender for Actix {
    fn name(&self) -> &'static str {
        "actix redis"
    }
    async fn request(&self, i: usize) {
        Actix::request(self, i).await;
    }
    async fn create_delete(&self) {
        Actix::create_delete(self).await;
    }
}
