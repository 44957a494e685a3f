//! One record envelope across every backend that stores bytes: a record written by one
//! backend is stored as the same body bytes and envelope, and decodes the same through
//! every other (Redis, Redis Cluster, PostgreSQL, MariaDB, SQLite).
//!
//! Servers come from `REDIS_URL`, `REDIS_CLUSTER_URLS`, `DATABASE_URL_POSTGRES` and
//! `DATABASE_URL_MYSQL` (or containers), as for the other tests.

use std::time::Duration;

use session_core::{
    Bytes, Clock, Envelope, Error, Lease, Record, SessionId, SessionStore, StoreKey, SystemClock,
};
use session_redis::RedisStore;
use session_sql::{MySqlStore, PgStore, SqliteStore};
use test_support::Server;

/// A backend with raw access to its stored form.
enum Backend {
    Redis(RedisStore),
    Pg(PgStore),
    My(MySqlStore),
    Lite(SqliteStore),
}

impl Backend {
    fn store(&self) -> &dyn SessionStore {
        match self {
            Backend::Redis(s) => s,
            Backend::Pg(s) => s,
            Backend::My(s) => s,
            Backend::Lite(s) => s,
        }
    }

    async fn read_raw(&self, key: &StoreKey) -> Result<Option<(Vec<u8>, Envelope)>, Error> {
        match self {
            Backend::Redis(s) => s.read_raw_record(key).await,
            Backend::Pg(s) => s.read_raw_record(key).await,
            Backend::My(s) => s.read_raw_record(key).await,
            Backend::Lite(s) => s.read_raw_record(key).await,
        }
    }

    async fn write_raw(&self, key: &StoreKey, bytes: &[u8], e: Envelope) -> Result<(), Error> {
        match self {
            Backend::Redis(s) => s.write_raw_record(key, bytes, e).await,
            Backend::Pg(s) => s.write_raw_record(key, bytes, e).await,
            Backend::My(s) => s.write_raw_record(key, bytes, e).await,
            Backend::Lite(s) => s.write_raw_record(key, bytes, e).await,
        }
    }
}

async fn backends() -> Vec<(&'static str, Backend)> {
    let redis = RedisStore::builder()
        .prefix("envelope")
        .connect(&test_support::url(Server::Redis))
        .await
        .expect("REDIS_URL: connect");
    let cluster_urls = std::env::var("REDIS_CLUSTER_URLS").unwrap_or_else(|_| {
        panic!("REDIS_CLUSTER_URLS is not set: give the comma-separated node URLs of a Redis Cluster (./scripts/test.sh starts one)")
    });
    let nodes: Vec<&str> = cluster_urls.split(',').map(str::trim).collect();
    let cluster = RedisStore::builder()
        .prefix("envelope")
        .connect_cluster(&nodes)
        .await
        .expect("REDIS_CLUSTER_URLS: connect");
    let pg = PgStore::connect(&test_support::url(Server::Postgres))
        .await
        .expect("DATABASE_URL_POSTGRES: connect");
    pg.migrate().await.unwrap();
    let my = MySqlStore::connect(&test_support::url(Server::Mysql))
        .await
        .expect("DATABASE_URL_MYSQL: connect");
    my.migrate().await.unwrap();
    let dir = std::env::temp_dir().join(format!("envelope-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lite = SqliteStore::connect(&format!("sqlite://{}", dir.join("s.db").display()))
        .await
        .unwrap();
    lite.migrate().await.unwrap();
    vec![
        ("redis", Backend::Redis(redis)),
        ("redis-cluster", Backend::Redis(cluster)),
        ("postgres", Backend::Pg(pg)),
        ("mysql", Backend::My(my)),
        ("sqlite", Backend::Lite(lite)),
    ]
}

/// A record with every field set.
fn rich() -> Record {
    let now = SystemClock.now();
    let mut r = Record::new(now, now.plus(Duration::from_secs(600)));
    r.data
        .insert("cart".into(), Bytes::from_static(b"[\"fig\",\"kiwi\"]"));
    r.data
        .insert("bin".into(), Bytes::from_static(&[0, 159, 255]));
    r.data.insert("ключ".into(), Bytes::from_static(b"1"));
    r.owner = Some("olga".into());
    r.user_agent = Some("Mozilla/5.0".into());
    r.absolute_deadline = Some(now.plus(Duration::from_secs(3600)));
    r.version = 9;
    r.lease = Some(Lease {
        token: 4,
        until: now,
    });
    r.last_seen = now.plus(Duration::from_millis(5));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_by_one_backend_decodes_the_same_through_every_other() {
    let all = backends().await;
    let record = rich();
    let body = record.encode().unwrap();
    for (from, a) in &all {
        let key = SessionId::generate().unwrap().store_key();
        a.store().create(&key, &record).await.unwrap();
        let (bytes, envelope) = a.read_raw(&key).await.unwrap().expect("stored");
        assert_eq!(
            bytes, body,
            "{from} stores other bytes than the encoder's body"
        );
        assert_eq!(envelope, record.envelope(), "{from} keeps another envelope");
        let there = a.store().load(&key).await.unwrap().expect("loads");
        assert_eq!(there, record, "{from} loads another record");
        for (to, b) in &all {
            let copy = SessionId::generate().unwrap().store_key();
            b.write_raw(&copy, &bytes, envelope).await.unwrap();
            let back = b
                .store()
                .load(&copy)
                .await
                .unwrap()
                .expect("copied record loads");
            assert_eq!(back, record, "written by {from}, read through {to}");
            // The imported record is a session like any other: listed, and saved by CAS.
            let listed = b.store().list_owner("olga").await.unwrap();
            assert!(
                listed.iter().any(|s| s.key == copy),
                "{to} does not list a record imported from {from}"
            );
            let mut next = back.clone();
            next.version += 1;
            b.store()
                .save(&copy, &next, back.version)
                .await
                .unwrap_or_else(|e| panic!("{to}: saving a record imported from {from}: {e}"));
            b.store().delete(&copy).await.unwrap();
        }
        // A touch moves the envelope and leaves the body's bytes alone.
        let later = record.expires_at.plus(Duration::from_secs(60));
        let seen = record.last_seen.plus(Duration::from_secs(1));
        a.store().touch(&key, later, seen).await.unwrap();
        let (after, env) = a.read_raw(&key).await.unwrap().expect("still stored");
        assert_eq!(after, body, "{from}: a touch rewrote the body");
        assert_eq!(
            env,
            Envelope {
                expires_at: later,
                last_seen: seen
            },
            "{from}: the touch did not move the envelope"
        );
        a.store().delete(&key).await.unwrap();
    }
}
