//! The defaults table of `docs/THREAT-MODEL.md` is the code's: each row is checked here,
//! the durations and sizes against `SessionConfig::default()`, the cookie, the header
//! limit and the caching rule over real HTTP.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{bare, browser, start};
use session_core::SessionConfig;
use session_memory::MemoryStore;

fn defaults_table() -> HashMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/THREAT-MODEL.md");
    let text = std::fs::read_to_string(path).unwrap();
    let (_, table) = text.split_once("## Defaults").expect("a Defaults section");
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| setting") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").map(|c| c.trim_matches(['|', ' '])).collect();
            (cells[0].to_owned(), cells[1].to_owned())
        })
        .collect()
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 && s >= 600 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

#[tokio::test]
async fn the_documented_defaults_are_the_code_defaults() {
    let t = defaults_table();
    let c = SessionConfig::default();
    assert_eq!(t["idle timeout"], human(c.idle_timeout()));
    assert_eq!(t["absolute timeout"], human(c.absolute_timeout().unwrap()));
    assert_eq!(
        t["largest session data"],
        format!("{} MiB", c.max_data_bytes() >> 20)
    );
    assert_eq!(t["rotation grace (moved mark)"], human(c.rotation_grace()));
    assert_eq!(
        t["lock lease / wait"],
        format!("{} / {}", human(c.lock_lease()), human(c.lock_wait()))
    );

    let h = start(Arc::new(MemoryStore::new()), |l| l).await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add/apple")).send().await.unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let (pair, attrs) = set.split_once("; ").unwrap();
    assert_eq!(
        t["cookie name"],
        format!("`{}`", pair.split_once('=').unwrap().0)
    );
    assert_eq!(t["cookie attributes"], format!("`{attrs}`"));
    assert!(!attrs.contains("Max-Age"), "{}", t["cookie lifetime"]);
    let r = client.get(h.url("/cart")).send().await.unwrap();
    assert_eq!(
        t["caching of pages that read the session"],
        format!("`{}`", r.headers()["cache-control"].to_str().unwrap())
    );
    assert_eq!(t["largest `Cookie` header"], "8 KiB (larger: 431)");
    for (bytes, status) in [(8 * 1024, 200), (8 * 1024 + 1, 431)] {
        let cookie = format!("p={}", "x".repeat(bytes - 2));
        let r = bare()
            .get(h.url("/cart"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            status,
            "a Cookie header of {bytes} bytes"
        );
    }
}
