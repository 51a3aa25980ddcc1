//! argon2id hashing of people's passwords, in PHC string form.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::InternalError;

/// Hashes with argon2id and the crate's recommended parameters (19 MiB, 2 passes).
/// CPU-heavy: callers run it on the blocking pool.
pub fn hash_password(password: &str) -> Result<String, InternalError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| InternalError::PasswordHash(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash
/// never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("a long passphrase").unwrap();
        let b = hash_password("a long passphrase").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("a long passphrase", &a));
        assert!(!verify_password("a long passphrasE", &a));
        assert!(!verify_password("a long passphrase", "not a hash"));
    }
}
