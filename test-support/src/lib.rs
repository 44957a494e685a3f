//! Finds the servers the workspace's tests run against.
//!
//! A server's URL variable wins (`REDIS_URL`, `DATABASE_URL_POSTGRES`,
//! `DATABASE_URL_MYSQL`). When it is unset and Docker is reachable, the server is started
//! once per test binary as a container with testcontainers-modules' default image (for
//! Redis, tag `7.0` instead: the default, 5.0, predates `GETDEL`, which session-redis
//! uses), reached through `127.0.0.1` and the mapped port. When neither is there, the
//! test fails with a message naming the variable and the Docker alternative: a backend is
//! never skipped.
//!
//! Removal: the container lives as long as the test binary. Rust's test harness never runs
//! destructors of statics, so each container gets a small watchdog process that removes it
//! once the test process has exited, however it exited (success, failed assertion, kill).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod metrics;
pub mod spans;
pub mod store_checks;
pub mod tls;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use testcontainers_modules::testcontainers::ImageExt as _;
use testcontainers_modules::testcontainers::runners::SyncRunner;

/// A server a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Redis, from `REDIS_URL` or a `redis` container.
    Redis,
    /// PostgreSQL, from `DATABASE_URL_POSTGRES` or a `postgres` container.
    Postgres,
    /// MySQL / MariaDB, from `DATABASE_URL_MYSQL` or a `mysql` container.
    Mysql,
}

impl Server {
    /// The environment variable that names this server.
    pub fn variable(self) -> &'static str {
        match self {
            Server::Redis => "REDIS_URL",
            Server::Postgres => "DATABASE_URL_POSTGRES",
            Server::Mysql => "DATABASE_URL_MYSQL",
        }
    }

    fn cell(self) -> &'static OnceLock<String> {
        static REDIS: OnceLock<String> = OnceLock::new();
        static POSTGRES: OnceLock<String> = OnceLock::new();
        static MYSQL: OnceLock<String> = OnceLock::new();
        match self {
            Server::Redis => &REDIS,
            Server::Postgres => &POSTGRES,
            Server::Mysql => &MYSQL,
        }
    }
}

/// The URL of `server`: its variable, or a container started on first use.
///
/// # Panics
/// When the variable is unset and no container can be started; the message says what to
/// set.
pub fn url(server: Server) -> String {
    if let Ok(u) = std::env::var(server.variable()) {
        if !u.is_empty() {
            return u;
        }
    }
    server
        .cell()
        .get_or_init(|| {
            // testcontainers' blocking runner makes its own runtime, which must not nest in
            // the test's: start it from a plain thread.
            std::thread::spawn(move || start(server))
                .join()
                .unwrap_or_else(|_| panic!("starting the {server:?} container panicked"))
        })
        .clone()
}

fn start(server: Server) -> String {
    let t = Instant::now();
    let started = match server {
        Server::Redis => testcontainers_modules::redis::Redis::default()
            .with_tag("7.0")
            .start()
            .and_then(|c| {
                let port = c.get_host_port_ipv4(6379)?;
                Ok((
                    c.id().to_owned(),
                    format!("redis://127.0.0.1:{port}"),
                    Box::new(c) as Box<dyn std::any::Any>,
                ))
            }),
        Server::Postgres => testcontainers_modules::postgres::Postgres::default()
            .start()
            .and_then(|c| {
                let port = c.get_host_port_ipv4(5432)?;
                Ok((
                    c.id().to_owned(),
                    format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres"),
                    Box::new(c) as Box<dyn std::any::Any>,
                ))
            }),
        Server::Mysql => testcontainers_modules::mysql::Mysql::default()
            .start()
            .and_then(|c| {
                let port = c.get_host_port_ipv4(3306)?;
                Ok((
                    c.id().to_owned(),
                    format!("mysql://root@127.0.0.1:{port}/test"),
                    Box::new(c) as Box<dyn std::any::Any>,
                ))
            }),
    };
    let (id, url, container) = started.unwrap_or_else(|e| {
        panic!(
            "{var} is not set and no container could be started ({e}). Set {var} to the URL \
             of a server you run, or make Docker reachable so the tests can start one",
            var = server.variable()
        )
    });
    // Leave removal to the watchdog: dropping the handle here would remove the container
    // while other tests of this binary still use it.
    std::mem::forget(container);
    spawn_watchdog(&id);
    let _ = writeln!(
        std::io::stderr(),
        "test-support: started a {server:?} container in {:.2?} at {url}",
        t.elapsed()
    );
    url
}

/// Removes container `id` once this process has exited.
fn spawn_watchdog(id: &str) {
    let pid = std::process::id();
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; docker rm -f -v {id} >/dev/null 2>&1"
    );
    let spawned = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        let _ = writeln!(
            std::io::stderr(),
            "test-support: could not start the watchdog that removes container {id} ({e}); remove it by hand"
        );
    }
}

/// A child process (a server a test started itself) killed and reaped when dropped, also
/// when an assertion fails mid-test.
#[derive(Debug)]
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free a moment ago.
///
/// # Panics
/// When no port can be bound on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// Waits until something listens on `port`, checking every 20 ms.
///
/// # Panics
/// After `timeout`, naming `what` and the port.
pub fn wait_port(port: u16, what: &str, timeout: std::time::Duration) {
    let deadline = Instant::now() + timeout;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
