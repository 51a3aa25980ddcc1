//! Who is calling: human passwords (argon2id), access tokens (HS256 JWTs with
//! a short lifetime), refresh tokens (opaque, stored as SHA-256 digests,
//! rotated on every use) and the `Caller` extractor that guards handlers.
//!
//! Owns credentials of people; the secrets of instance credentials live in
//! `secrets`.

mod caller;
mod password;
mod tokens;

pub use caller::Caller;
pub use password::{hash_password, verify_password};
pub use tokens::{Tokens, new_refresh_token, refresh_token_digest};
