//! Access tokens (JWT, HS256) and refresh tokens (random, opaque).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const ISSUER: &str = "omnibus";
const REFRESH_PREFIX: &str = "omr_";

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// The organization the token acts in.
    pub org: String,
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_secs: u64,
}

impl Tokens {
    pub fn new(secret: &[u8], access_ttl_secs: u64) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_secs,
        }
    }

    pub fn issue(&self, user_id: &str, org_id: &str, now_secs: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AccessClaims {
            sub: user_id.into(),
            org: org_id.into(),
            iss: ISSUER.into(),
            iat: now_secs,
            exp: now_secs + self.access_ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid, unexpired token signed by us.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).ok().map(|data| data.claims)
    }
}

/// A new refresh token: what the client gets, and the digest we store.
pub fn new_refresh_token() -> (String, String) {
    new_secret(REFRESH_PREFIX)
}

/// The stored form of a refresh token (and of an API key). The token carries
/// 256 random bits, so a fast digest is enough: there is nothing to brute-force.
pub fn refresh_token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What every API key starts with, so it is told apart from an access token
/// (and found by secret scanners).
pub const API_KEY_PREFIX: &str = "omk_";

/// A new API key: what the client gets once, and the digest we store.
pub fn new_api_key() -> (String, String) {
    new_secret(API_KEY_PREFIX)
}

/// A new token for a password reset or an address check (in the email
/// only), and the digest we store.
pub fn new_email_token() -> (String, String) {
    new_secret("ome_")
}

/// A new invitation token (in the email only), and the digest we store.
pub fn new_invitation_token() -> (String, String) {
    new_secret("omi_")
}

/// 256 random bits after `prefix`, and their digest.
fn new_secret(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = refresh_token_digest(&secret);
    (secret, digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let now = jsonwebtoken::get_current_timestamp();
        let token = tokens.issue("u1", "o1", now).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.org.as_str()), ("u1", "o1"));

        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(tokens.verify(std::str::from_utf8(&tampered).unwrap()).is_none());

        let other = Tokens::new(b"another key another key another k", 60);
        assert!(other.verify(&token).is_none());

        let expired = tokens.issue("u1", "o1", now - 3600).unwrap();
        assert!(tokens.verify(&expired).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_as_digests() {
        let (a, da) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert!(a.starts_with("omr_"));
        assert_eq!(da, refresh_token_digest(&a));
        assert!(!da.contains(&a[4..]));
    }
}
