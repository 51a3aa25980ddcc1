//! Generated instance credentials: usernames, passwords, and the salted SCRAM
//! form in which they are stored and shipped. The password exists only in the
//! create response; nothing here logs or stores it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use omnibus_api::fleet::ScramSecret;
use rand::RngCore;

use crate::store::CredentialRow;

const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

fn random_string(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// A username unique across the fleet with overwhelming probability (the
/// database enforces it): the instance name, then 8 random characters.
pub fn new_username(instance_name: &str) -> String {
    format!("{instance_name}-{}", random_string(8))
}

/// 32 URL-safe characters, 192 random bits.
pub fn new_password() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored SCRAM fields (base64) of a password.
pub struct StoredScram {
    pub salt: String,
    pub iterations: i64,
    pub stored_key: String,
    pub server_key: String,
}

pub fn scram_for(password: &str) -> StoredScram {
    let secret = omnibus_api::scram::derive_sha256(password);
    StoredScram {
        salt: STANDARD.encode(&secret.salt),
        iterations: i64::from(secret.iterations),
        stored_key: STANDARD.encode(&secret.stored_key),
        server_key: STANDARD.encode(&secret.server_key),
    }
}

/// The wire form of a stored credential's secret.
pub fn scram_of(row: &CredentialRow) -> Result<ScramSecret, String> {
    let decode = |field: &str, v: &str| STANDARD.decode(v).map_err(|e| format!("credential {} {field}: {e}", row.id));
    Ok(ScramSecret {
        salt: decode("salt", &row.scram_salt)?,
        iterations: u32::try_from(row.scram_iterations)
            .map_err(|e| format!("credential {} iterations: {e}", row.id))?,
        stored_key: decode("stored key", &row.scram_stored_key)?,
        server_key: decode("server key", &row.scram_server_key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_and_distinct() {
        let a = new_password();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_password());
        let u = new_username("sensors");
        assert!(u.starts_with("sensors-") && u.len() == "sensors-".len() + 8, "{u}");
    }
}
