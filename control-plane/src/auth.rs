//! Who is calling: human passwords (argon2id), access tokens (HS256 JWTs with
//! a short lifetime), refresh tokens and API keys (opaque, stored as SHA-256
//! digests; refresh tokens rotated on every use), roles and what each may do,
//! and the `Caller` and `PlatformOperator` extractors that guard handlers.
//!
//! Owns credentials of people; the secrets of instance credentials live in
//! `secrets`.

mod caller;
mod operator;
mod password;
mod roles;
mod tokens;

pub use caller::Caller;
pub use operator::PlatformOperator;
pub use password::{hash_password, verify_password};
pub use roles::{Permission, Role};
pub use tokens::{
    API_KEY_PREFIX, Tokens, new_api_key, new_email_token, new_invitation_token, new_refresh_token, refresh_token_digest,
};
