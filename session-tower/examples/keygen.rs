//! Prints a new signing key for `SESSION_KEYS`:
//!
//! ```sh
//! cargo run -p session-tower --example keygen
//! ```
//!
//! To rotate, put the new key first: `SESSION_KEYS=<new>,<old>`; see
//! `SigningKeys::new_key_base64`.

fn main() {
    match session_tower::SigningKeys::new_key_base64() {
        Ok(key) => println!("{key}"),
        Err(e) => {
            eprintln!("keygen: {e}");
            std::process::exit(1);
        }
    }
}
