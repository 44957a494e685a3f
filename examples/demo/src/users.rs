//! The demo's users: names and passwords shown on the login page, stored as argon2 hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The demo accounts (name, password), as the login page lists them.
pub const DEMO_USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

/// Users with hashed passwords (changeable while the server runs; a restart brings back
/// the demo passwords).
#[derive(Debug)]
pub struct Users {
    hashes: std::sync::RwLock<Vec<(String, String)>>,
}

fn hash(password: &str) -> Option<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).ok()?;
    let salt = SaltString::encode_b64(&salt).ok()?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()?;
    Some(hash.to_string())
}

impl Users {
    /// Hashes the demo passwords with a fresh salt each.
    pub fn demo() -> Self {
        let hashes = DEMO_USERS
            .iter()
            .filter_map(|(name, pw)| Some(((*name).to_owned(), hash(pw)?)))
            .collect();
        Self {
            hashes: std::sync::RwLock::new(hashes),
        }
    }

    /// Sets `name`'s password; true if the user exists and the hash was made.
    pub fn set_password(&self, name: &str, password: &str) -> bool {
        let Some(h) = hash(password) else {
            return false;
        };
        let mut hashes = self.hashes.write().unwrap_or_else(|e| e.into_inner());
        match hashes.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => {
                entry.1 = h;
                true
            }
            None => false,
        }
    }

    /// True when `password` is `name`'s. Unknown names cost a hash check too, so timing
    /// does not reveal which names exist.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let hashes = self.hashes.read().unwrap_or_else(|e| e.into_inner());
        let stored = hashes
            .iter()
            .find(|(n, _)| n == name)
            .or(hashes.first())
            .map(|(_, h)| h.as_str());
        let ok = stored
            .and_then(|h| PasswordHash::new(h).ok())
            .is_some_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            });
        ok && hashes.iter().any(|(n, _)| n == name)
    }
}
