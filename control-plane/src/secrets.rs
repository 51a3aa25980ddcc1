//! Generated instance credentials: usernames, passwords, and the salted SCRAM
//! forms (SHA-256 and SHA-512) in which they are stored and shipped. The password exists only in the
//! create response; nothing here logs or stores it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use omnibus_api::fleet::ScramSecret;
use omnibus_api::scram::ScramHash;
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

/// The stored SCRAM fields (base64) of a password, for one hash.
pub struct StoredScram {
    pub salt: String,
    pub iterations: i64,
    pub stored_key: String,
    pub server_key: String,
}

/// Both SCRAM forms of a new credential's password. PBKDF2 twice: run it on
/// the blocking pool.
pub struct StoredScrams {
    pub sha256: StoredScram,
    pub sha512: StoredScram,
}

pub fn scrams_for(password: &str) -> StoredScrams {
    StoredScrams { sha256: scram_for(ScramHash::Sha256, password), sha512: scram_for(ScramHash::Sha512, password) }
}

fn scram_for(hash: ScramHash, password: &str) -> StoredScram {
    let secret = omnibus_api::scram::derive(hash, password);
    StoredScram {
        salt: STANDARD.encode(&secret.salt),
        iterations: i64::from(secret.iterations),
        stored_key: STANDARD.encode(&secret.stored_key),
        server_key: STANDARD.encode(&secret.server_key),
    }
}

/// The wire form of a stored credential's SCRAM-SHA-256 secret.
pub fn scram_sha256_of(row: &CredentialRow) -> Result<ScramSecret, String> {
    decode(row, "", &row.scram_salt, row.scram_iterations, &row.scram_stored_key, &row.scram_server_key)
}

/// The wire form of a stored credential's SCRAM-SHA-512 secret; None for a
/// credential created before that form was derived.
pub fn scram_sha512_of(row: &CredentialRow) -> Result<Option<ScramSecret>, String> {
    match (
        &row.scram_sha512_salt,
        row.scram_sha512_iterations,
        &row.scram_sha512_stored_key,
        &row.scram_sha512_server_key,
    ) {
        (None, None, None, None) => Ok(None),
        (Some(salt), Some(iterations), Some(stored_key), Some(server_key)) => {
            decode(row, "SHA-512 ", salt, iterations, stored_key, server_key).map(Some)
        }
        _ => Err(format!("credential {} has a partial SHA-512 form", row.id)),
    }
}

fn decode(
    row: &CredentialRow,
    form: &str,
    salt: &str,
    iterations: i64,
    stored_key: &str,
    server_key: &str,
) -> Result<ScramSecret, String> {
    let decode =
        |field: &str, v: &str| STANDARD.decode(v).map_err(|e| format!("credential {} {form}{field}: {e}", row.id));
    Ok(ScramSecret {
        salt: decode("salt", salt)?,
        iterations: u32::try_from(iterations).map_err(|e| format!("credential {} {form}iterations: {e}", row.id))?,
        stored_key: decode("stored key", stored_key)?,
        server_key: decode("server key", server_key)?,
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

    fn row(scrams: StoredScrams) -> CredentialRow {
        CredentialRow {
            id: "c1".into(),
            instance_id: "i1".into(),
            name: "default".into(),
            username: "u".into(),
            scram_salt: scrams.sha256.salt,
            scram_iterations: scrams.sha256.iterations,
            scram_stored_key: scrams.sha256.stored_key,
            scram_server_key: scrams.sha256.server_key,
            scram_sha512_salt: Some(scrams.sha512.salt),
            scram_sha512_iterations: Some(scrams.sha512.iterations),
            scram_sha512_stored_key: Some(scrams.sha512.stored_key),
            scram_sha512_server_key: Some(scrams.sha512.server_key),
            acl: "[]".into(),
            state: "active".into(),
            created_at: 0,
        }
    }

    #[test]
    fn both_stored_forms_verify_the_password() {
        let row = row(scrams_for("pw"));
        let sha256 = scram_sha256_of(&row).unwrap();
        assert!(omnibus_api::scram::verify(ScramHash::Sha256, &sha256, "pw"));
        let sha512 = scram_sha512_of(&row).unwrap().unwrap();
        assert!(omnibus_api::scram::verify(ScramHash::Sha512, &sha512, "pw"));
        assert!(!omnibus_api::scram::verify(ScramHash::Sha512, &sha512, "pW"));
    }

    #[test]
    fn a_credential_from_before_sha512_has_no_such_form_and_a_partial_one_is_corrupt() {
        let mut row = row(scrams_for("pw"));
        row.scram_sha512_server_key = None;
        assert!(scram_sha512_of(&row).unwrap_err().contains("partial"));
        row.scram_sha512_salt = None;
        row.scram_sha512_iterations = None;
        row.scram_sha512_stored_key = None;
        assert_eq!(scram_sha512_of(&row), Ok(None));
        assert!(scram_sha256_of(&row).is_ok());
    }
}
