//! The salted credential form of RFC 5802 (SCRAM), used for every instance
//! credential: the control plane derives it once per hash from the generated
//! password and stores and ships only these forms; brokers verify plain
//! passwords (MQTT) against the SHA-256 form and full SCRAM exchanges (Kafka
//! SASL/SCRAM-SHA-256 and -SHA-512) against the form of the hash negotiated.
//!
//! The exchange is written once; [`ScramHash`] picks the digest under it.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::fleet::ScramSecret;

/// Iteration count for new secrets: Kafka's and RFC 7677's minimum. The
/// secrets we salt are generated with 190 bits of entropy, so the count guards
/// against nothing but is what SCRAM clients expect.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The hash a SCRAM form is built on: SCRAM-SHA-256 (RFC 7677) or
/// SCRAM-SHA-512 (draft-melnikov-scram-sha-512; what Kafka calls it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    /// Length in bytes of the hash's output, so of a stored key, a server
    /// key, a client proof and a server signature.
    pub const fn key_len(self) -> usize {
        match self {
            ScramHash::Sha256 => 32,
            ScramHash::Sha512 => 64,
        }
    }

    fn hmac(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => mac::<Hmac<Sha256>>(key, msg),
            ScramHash::Sha512 => mac::<Hmac<Sha512>>(key, msg),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi(password, salt, i)` of RFC 5802: PBKDF2 with HMAC of this hash.
    fn salted_password(self, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.key_len()];
        match self {
            ScramHash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out),
            ScramHash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out),
        }
        out
    }

    /// `H(HMAC(SaltedPassword, "Client Key"))`, compared in constant time.
    fn stored_key_matches(self, client_key: &[u8], stored_key: &[u8]) -> bool {
        self.digest(client_key).ct_eq(stored_key).into()
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("hmac takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Derives the `hash` SCRAM form of `password` with a fresh random salt.
pub fn derive(hash: ScramHash, password: &str) -> ScramSecret {
    let mut salt = vec![0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    derive_with(hash, password, salt, DEFAULT_ITERATIONS)
}

/// Derives the `hash` SCRAM form of `password` with the given salt.
pub fn derive_with(hash: ScramHash, password: &str, salt: Vec<u8>, iterations: u32) -> ScramSecret {
    let salted = hash.salted_password(password, &salt, iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let stored_key = hash.digest(&client_key);
    let server_key = hash.hmac(&salted, b"Server Key");
    ScramSecret { salt, iterations, stored_key, server_key }
}

/// Checks a plain password against a stored `hash` SCRAM form in constant time.
pub fn verify(hash: ScramHash, secret: &ScramSecret, password: &str) -> bool {
    if secret.iterations == 0 || secret.stored_key.len() != hash.key_len() {
        return false;
    }
    let salted = hash.salted_password(password, &secret.salt, secret.iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    hash.stored_key_matches(&client_key, &secret.stored_key)
}

/// The server's half of a SCRAM exchange (RFC 5802 §3): whether the client's
/// proof over `auth_message` shows it knows the password.
pub fn client_proof_valid(hash: ScramHash, secret: &ScramSecret, auth_message: &[u8], proof: &[u8]) -> bool {
    if proof.len() != hash.key_len() || secret.stored_key.len() != hash.key_len() {
        return false;
    }
    let signature = hash.hmac(&secret.stored_key, auth_message);
    let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
    hash.stored_key_matches(&client_key, &secret.stored_key)
}

/// The signature that proves to the client the server holds its secret.
pub fn server_signature(hash: ScramHash, secret: &ScramSecret, auth_message: &[u8]) -> Vec<u8> {
    hash.hmac(&secret.server_key, auth_message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const BOTH: [ScramHash; 2] = [ScramHash::Sha256, ScramHash::Sha512];

    #[test]
    fn verifies_the_password_it_was_derived_from_and_nothing_else() {
        for hash in BOTH {
            let secret = derive(hash, "correct horse");
            assert_eq!(secret.stored_key.len(), hash.key_len());
            assert_eq!(secret.server_key.len(), hash.key_len());
            assert!(verify(hash, &secret, "correct horse"), "{hash:?}");
            assert!(!verify(hash, &secret, "correct horsf"), "{hash:?}");
            assert!(!verify(hash, &secret, ""), "{hash:?}");
        }
        // A form is only good for its own hash.
        let secret = derive(ScramHash::Sha256, "correct horse");
        assert!(!verify(ScramHash::Sha512, &secret, "correct horse"));
    }

    /// The exchange of RFC 7677 section 3 (user "user", password "pencil",
    /// salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations). For SHA-512, which no
    /// specification publishes a vector for, the proof and signature of the
    /// same exchange come from Python's hashlib/hmac (which reproduces the
    /// SHA-256 ones of the RFC).
    #[test]
    fn matches_the_rfc7677_exchange() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let vectors = [
            (
                ScramHash::Sha256,
                "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            ),
            (
                ScramHash::Sha512,
                "gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==",
                "ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==",
            ),
        ];
        for (hash, proof, signature) in vectors {
            let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
            let secret = derive_with(hash, "pencil", salt, 4096);
            assert!(verify(hash, &secret, "pencil"), "{hash:?}");
            assert_eq!(b64.encode(server_signature(hash, &secret, auth_message.as_bytes())), signature, "{hash:?}");

            // The client's proof is accepted; a changed one is not.
            let proof = b64.decode(proof).unwrap();
            assert!(client_proof_valid(hash, &secret, auth_message.as_bytes(), &proof), "{hash:?}");
            let mut forged = proof.clone();
            forged[0] ^= 1;
            assert!(!client_proof_valid(hash, &secret, auth_message.as_bytes(), &forged), "{hash:?}");
        }
    }

    #[test]
    fn rejects_a_malformed_secret() {
        for hash in BOTH {
            let mut secret = derive(hash, "pw");
            secret.stored_key.truncate(5);
            assert!(!verify(hash, &secret, "pw"));
            let mut secret = derive(hash, "pw");
            secret.iterations = 0;
            assert!(!verify(hash, &secret, "pw"));
        }
    }
}
