//! The salted credential form of RFC 5802 (SCRAM), used for every instance
//! credential: the control plane derives it once from the generated password and
//! stores and ships only this form; brokers verify plain passwords (MQTT) against
//! it today and full SCRAM exchanges (Kafka SASL/SCRAM) with the same data.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::fleet::ScramSecret;

/// Iteration count for new secrets: Kafka's and RFC 7677's minimum. The
/// secrets we salt are generated with 190 bits of entropy, so the count guards
/// against nothing but is what SCRAM clients expect.
pub const DEFAULT_ITERATIONS: u32 = 4096;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    out
}

/// Derives the SCRAM-SHA-256 form of `password` with a fresh random salt.
pub fn derive_sha256(password: &str) -> ScramSecret {
    let mut salt = vec![0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    derive_sha256_with(password, salt, DEFAULT_ITERATIONS)
}

/// Derives the SCRAM-SHA-256 form of `password` with the given salt.
pub fn derive_sha256_with(password: &str, salt: Vec<u8>, iterations: u32) -> ScramSecret {
    let salted = salted_password(password, &salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    let server_key = hmac(&salted, b"Server Key");
    ScramSecret { salt, iterations, stored_key: stored_key.to_vec(), server_key: server_key.to_vec() }
}

/// Checks a plain password against a stored SCRAM-SHA-256 form in constant time.
pub fn verify_sha256(secret: &ScramSecret, password: &str) -> bool {
    if secret.iterations == 0 || secret.stored_key.len() != 32 {
        return false;
    }
    let salted = salted_password(password, &secret.salt, secret.iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    stored_key.ct_eq(&secret.stored_key[..]).into()
}

/// The server's half of a SCRAM-SHA-256 exchange (RFC 5802 §3): whether the
/// client's proof over `auth_message` shows it knows the password.
pub fn client_proof_valid(secret: &ScramSecret, auth_message: &[u8], proof: &[u8]) -> bool {
    if proof.len() != 32 || secret.stored_key.len() != 32 {
        return false;
    }
    let signature = hmac(&secret.stored_key, auth_message);
    let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
    let stored_key: [u8; 32] = Sha256::digest(&client_key).into();
    stored_key.ct_eq(&secret.stored_key[..]).into()
}

/// The signature that proves to the client the server holds its secret.
pub fn server_signature(secret: &ScramSecret, auth_message: &[u8]) -> [u8; 32] {
    hmac(&secret.server_key, auth_message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_password_it_was_derived_from_and_nothing_else() {
        let secret = derive_sha256("correct horse");
        assert!(verify_sha256(&secret, "correct horse"));
        assert!(!verify_sha256(&secret, "correct horsf"));
        assert!(!verify_sha256(&secret, ""));
    }

    #[test]
    fn matches_rfc7677_test_vector() {
        // RFC 7677 section 3: user "user", password "pencil",
        // salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let secret = derive_sha256_with("pencil", salt, 4096);
        // ServerSignature in the RFC is HMAC(ServerKey, AuthMessage); check the
        // server key through it.
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&secret.server_key, auth_message.as_bytes());
        assert_eq!(b64.encode(signature), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        assert!(verify_sha256(&secret, "pencil"));

        // The client's proof from the RFC is accepted; a changed one is not.
        let proof = b64.decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").unwrap();
        assert!(client_proof_valid(&secret, auth_message.as_bytes(), &proof));
        let mut forged = proof.clone();
        forged[0] ^= 1;
        assert!(!client_proof_valid(&secret, auth_message.as_bytes(), &forged));
        assert_eq!(
            b64.encode(server_signature(&secret, auth_message.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn rejects_a_malformed_secret() {
        let mut secret = derive_sha256("pw");
        secret.stored_key.truncate(5);
        assert!(!verify_sha256(&secret, "pw"));
        let mut secret = derive_sha256("pw");
        secret.iterations = 0;
        assert!(!verify_sha256(&secret, "pw"));
    }
}
