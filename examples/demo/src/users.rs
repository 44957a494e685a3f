//! The demo's users: names and passwords shown on the login page, stored as argon2 hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The demo accounts (name, password), as the login page lists them.
pub const DEMO_USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

/// Users with hashed passwords.
#[derive(Debug)]
pub struct Users {
    hashes: Vec<(String, String)>,
}

impl Users {
    /// Hashes the demo passwords with a fresh salt each.
    pub fn demo() -> Self {
        let argon = Argon2::default();
        let hashes = DEMO_USERS
            .iter()
            .filter_map(|(name, pw)| {
                let mut salt = [0u8; 16];
                getrandom::fill(&mut salt).ok()?;
                let salt = SaltString::encode_b64(&salt).ok()?;
                let hash = argon.hash_password(pw.as_bytes(), &salt).ok()?;
                Some(((*name).to_owned(), hash.to_string()))
            })
            .collect();
        Self { hashes }
    }

    /// True when `password` is `name`'s. Unknown names cost a hash check too, so timing
    /// does not reveal which names exist.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let stored = self
            .hashes
            .iter()
            .find(|(n, _)| n == name)
            .or(self.hashes.first())
            .map(|(_, h)| h.as_str());
        let ok = stored
            .and_then(|h| PasswordHash::new(h).ok())
            .is_some_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            });
        ok && self.hashes.iter().any(|(n, _)| n == name)
    }
}
