//! Login throttling: after a few wrong passwords for one name, that name's logins are
//! refused for a while, the right password included, so that guessing costs time. Kept in
//! memory (one process); the table is bounded, so that made-up names cannot grow it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most names the table remembers; past it, entries that no longer block are dropped.
const MAX_NAMES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Wrong-password counts per name.
#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    cooldown: Duration,
    names: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// Refuses a name for `cooldown` after `max_failures` wrong passwords in a row (each
    /// within `cooldown` of the last).
    pub fn new(max_failures: u32, cooldown: Duration) -> Self {
        Self {
            max_failures,
            cooldown,
            names: Mutex::new(HashMap::new()),
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(wait)` while `name` is refused.
    pub fn check(&self, name: &str) -> Result<(), Duration> {
        match self.names().get(name) {
            Some(f) if f.count >= self.max_failures && f.last.elapsed() < self.cooldown => {
                Err(self.cooldown - f.last.elapsed())
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong password for `name`.
    pub fn failed(&self, name: &str) {
        let mut names = self.names();
        if names.len() >= MAX_NAMES {
            let cooldown = self.cooldown;
            names.retain(|_, f| f.last.elapsed() < cooldown);
        }
        let now = Instant::now();
        let f = names.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(f.last) >= self.cooldown {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
    }

    /// Forgets `name`'s failures after a successful login.
    pub fn succeeded(&self, name: &str) {
        self.names().remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_frees_after_the_cooldown() {
        let t = LoginThrottle::new(3, Duration::from_millis(100));
        for _ in 0..2 {
            t.failed("bob");
        }
        assert!(t.check("bob").is_ok(), "two failures do not block");
        t.failed("bob");
        assert!(t.check("bob").is_err(), "the third blocks");
        assert!(t.check("alice").is_ok(), "other names are not affected");
        std::thread::sleep(Duration::from_millis(120));
        assert!(t.check("bob").is_ok(), "the cooldown ends it");
        t.failed("bob");
        assert!(t.check("bob").is_ok(), "the count restarted");
        t.succeeded("bob");
        assert!(t.check("bob").is_ok());
    }
}
