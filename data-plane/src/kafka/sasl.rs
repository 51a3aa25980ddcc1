//! SASL for Kafka connections: SaslHandshake picks a mechanism, then
//! SaslAuthenticate carries its messages (handshake v1), or the messages
//! follow as raw size-prefixed tokens (handshake v0, which older librdkafka
//! still requires to be offered). PLAIN checks the password against
//! the credential's SCRAM-SHA-256 form; SCRAM-SHA-256 (RFC 5802/7677) and
//! SCRAM-SHA-512 run the full exchange with the stored key and server key of
//! the form for their hash, so no password is ever held. A credential without
//! a SHA-512 form (created before it was derived) fails SCRAM-SHA-512.
//!
//! Owns the per-connection SASL state; knows nothing of other requests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::sasl_authenticate_request::SaslAuthenticateRequest;
use kafka_protocol::messages::sasl_authenticate_response::SaslAuthenticateResponse;
use kafka_protocol::messages::sasl_handshake_request::SaslHandshakeRequest;
use kafka_protocol::messages::sasl_handshake_response::SaslHandshakeResponse;
use kafka_protocol::protocol::StrBytes;
use omnibus_api::fleet::ScramSecret;
use omnibus_api::scram::ScramHash;
use rand::RngCore as _;

use crate::tenancy::{Principal, Tenancy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    Plain,
    Scram(ScramHash),
}

/// What the handshake offers, by name.
const MECHANISMS: [(&str, Mechanism); 3] = [
    ("PLAIN", Mechanism::Plain),
    ("SCRAM-SHA-256", Mechanism::Scram(ScramHash::Sha256)),
    ("SCRAM-SHA-512", Mechanism::Scram(ScramHash::Sha512)),
];

#[derive(Default)]
pub struct Sasl {
    state: State,
    /// Handshake v0: tokens arrive raw, not in SaslAuthenticate requests.
    raw_tokens: bool,
}

#[derive(Default)]
enum State {
    #[default]
    Start,
    Chosen(Mechanism),
    /// SCRAM server-first sent; waiting for client-final.
    ScramChallenged(Box<ScramPending>),
    Authenticated(Principal),
    Failed,
}

struct ScramPending {
    hash: ScramHash,
    /// None for an unknown user (or one without a form for `hash`): the
    /// exchange runs on, with a decoy salt, and fails.
    credential: Option<(Principal, ScramSecret)>,
    client_first_bare: String,
    server_first: String,
    client_nonce: String,
    nonce: String,
}

/// What one SASL message led to.
pub enum Outcome {
    /// Send these bytes back and wait for the next message.
    Continue(Bytes),
    /// Done: send these bytes back; the connection acts as `Principal`.
    Authenticated(Principal, Bytes),
    /// Refused; answer with this error and close the connection.
    Failed(ResponseError, String),
}

impl Sasl {
    pub fn principal(&self) -> Option<&Principal> {
        match &self.state {
            State::Authenticated(principal) => Some(principal),
            _ => None,
        }
    }

    /// Whether the next frame is a raw SASL token (after a v0 handshake).
    pub fn expects_raw_token(&self) -> bool {
        self.raw_tokens && !matches!(self.state, State::Authenticated(_) | State::Failed)
    }

    pub fn handshake(&mut self, request: &SaslHandshakeRequest, version: i16) -> SaslHandshakeResponse {
        let mechanisms = MECHANISMS.iter().map(|(name, _)| StrBytes::from_static_str(name)).collect();
        let response = SaslHandshakeResponse::default().with_mechanisms(mechanisms);
        if !matches!(self.state, State::Start) {
            return response.with_error_code(ResponseError::IllegalSaslState.code());
        }
        match MECHANISMS.iter().find(|(name, _)| *name == request.mechanism.as_str()) {
            Some(&(_, mechanism)) => {
                self.state = State::Chosen(mechanism);
                self.raw_tokens = version == 0;
                response
            }
            None => response.with_error_code(ResponseError::UnsupportedSaslMechanism.code()),
        }
    }

    /// SaslAuthenticate: one step, wrapped in its response.
    pub async fn authenticate(
        &mut self,
        tenancy: &Tenancy,
        request: SaslAuthenticateRequest,
    ) -> (SaslAuthenticateResponse, Outcome) {
        let outcome = self.step(tenancy, &request.auth_bytes).await;
        let response = match &outcome {
            Outcome::Continue(bytes) | Outcome::Authenticated(_, bytes) => {
                SaslAuthenticateResponse::default().with_auth_bytes(bytes.clone())
            }
            Outcome::Failed(error, message) => SaslAuthenticateResponse::default()
                .with_error_code(error.code())
                .with_error_message(Some(StrBytes::from_string(message.clone()))),
        };
        (response, outcome)
    }

    /// One SASL message of the chosen mechanism.
    pub async fn step(&mut self, tenancy: &Tenancy, message: &[u8]) -> Outcome {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let result = match state {
            State::Chosen(Mechanism::Plain) => plain(tenancy, message).await,
            State::Chosen(Mechanism::Scram(hash)) => scram_first(tenancy, hash, message),
            State::ScramChallenged(pending) => scram_final(*pending, message),
            State::Start | State::Authenticated(_) | State::Failed => {
                Err((ResponseError::IllegalSaslState, "SaslAuthenticate out of order".to_string()))
            }
        };
        match result {
            Ok(Step::Challenge(pending, bytes)) => {
                self.state = State::ScramChallenged(pending);
                Outcome::Continue(bytes)
            }
            Ok(Step::Done(principal, bytes)) => {
                self.state = State::Authenticated(principal.clone());
                Outcome::Authenticated(principal, bytes)
            }
            Err((error, message)) => {
                tracing::info!(reason = %message, "kafka sasl authentication failed");
                Outcome::Failed(error, message)
            }
        }
    }
}

enum Step {
    Challenge(Box<ScramPending>, Bytes),
    Done(Principal, Bytes),
}

type StepResult = Result<Step, (ResponseError, String)>;

fn auth_failed() -> (ResponseError, String) {
    (ResponseError::SaslAuthenticationFailed, "Authentication failed: invalid credentials".to_string())
}

fn malformed(what: &str) -> (ResponseError, String) {
    (ResponseError::SaslAuthenticationFailed, format!("Authentication failed: malformed {what}"))
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`.
async fn plain(tenancy: &Tenancy, bytes: &[u8]) -> StepResult {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("PLAIN message"))?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("PLAIN message"));
    };
    if !authzid.is_empty() && authzid != user {
        return Err((ResponseError::SaslAuthenticationFailed, "Authentication failed: authzid differs".into()));
    }
    let principal = tenancy.authenticate(user, password).await.map_err(|_| auth_failed())?;
    Ok(Step::Done(principal, Bytes::new()))
}

/// client-first `gs2-header client-first-bare` → server-first.
fn scram_first(tenancy: &Tenancy, hash: ScramHash, bytes: &[u8]) -> StepResult {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("SCRAM client-first"))?;
    let bare = text.strip_prefix("n,,").ok_or_else(|| malformed("SCRAM client-first (channel binding or authzid)"))?;
    let mut username = None;
    let mut client_nonce = None;
    for attribute in bare.split(',') {
        if let Some(v) = attribute.strip_prefix("n=") {
            username = Some(v.replace("=2C", ",").replace("=3D", "="));
        } else if let Some(v) = attribute.strip_prefix("r=") {
            client_nonce = Some(v.to_string());
        }
    }
    let (Some(username), Some(client_nonce)) = (username, client_nonce) else {
        return Err(malformed("SCRAM client-first"));
    };
    let credential = tenancy.scram_credential(&username, hash);
    let secret = credential.as_ref().map_or_else(|| tenancy.decoy_scram(hash).clone(), |(_, s)| s.clone());
    if client_nonce.is_empty() {
        return Err(malformed("SCRAM client nonce"));
    }
    let nonce = format!("{client_nonce}{}", server_nonce());
    let server_first = format!("r={nonce},s={},i={}", STANDARD.encode(&secret.salt), secret.iterations);
    let bytes = Bytes::from(server_first.clone().into_bytes());
    let pending =
        ScramPending { hash, credential, client_first_bare: bare.to_string(), server_first, client_nonce, nonce };
    Ok(Step::Challenge(Box::new(pending), bytes))
}

/// Whether the client-final nonce is the one we sent. librdkafka before 2.6.1
/// (confluentinc/librdkafka#4895; Debian's kcat links 2.0) sends its own nonce
/// in front of ours once more; Kafka 3.8.1-3.9 accepted that form and so do
/// we. Our server part must still be there, so a replayed exchange fails.
fn nonce_matches(pending: &ScramPending, nonce: &str) -> bool {
    nonce == pending.nonce || nonce.strip_prefix(pending.client_nonce.as_str()) == Some(pending.nonce.as_str())
}

/// 32 random alphanumerics. RFC 5802 allows any printable character but ','
/// in a nonce, yet librdkafka 2.0 fails on '+' and '/', so stay alphanumeric.
fn server_nonce() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

/// client-final `c=biws,r=nonce,p=proof` → server-final `v=signature`.
fn scram_final(pending: ScramPending, bytes: &[u8]) -> StepResult {
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("SCRAM client-final"))?;
    let (without_proof, proof) = text.rsplit_once(",p=").ok_or_else(|| malformed("SCRAM client-final"))?;
    let mut channel_binding = None;
    let mut nonce = None;
    for attribute in without_proof.split(',') {
        if let Some(v) = attribute.strip_prefix("c=") {
            channel_binding = Some(v);
        } else if let Some(v) = attribute.strip_prefix("r=") {
            nonce = Some(v);
        }
    }
    if channel_binding != Some("biws") || !nonce.is_some_and(|n| nonce_matches(&pending, n)) {
        tracing::debug!(?channel_binding, ?nonce, expected = %pending.nonce, "scram client-final refused");
        return Err(auth_failed());
    }
    let proof = STANDARD.decode(proof).map_err(|_| malformed("SCRAM proof"))?;
    let auth_message = format!("{},{},{}", pending.client_first_bare, pending.server_first, without_proof);
    let Some((principal, secret)) = pending.credential else {
        return Err(auth_failed());
    };
    if !omnibus_api::scram::client_proof_valid(pending.hash, &secret, auth_message.as_bytes(), &proof) {
        tracing::debug!(auth_message, "scram proof refused");
        return Err(auth_failed());
    }
    let signature = omnibus_api::scram::server_signature(pending.hash, &secret, auth_message.as_bytes());
    Ok(Step::Done(principal, Bytes::from(format!("v={}", STANDARD.encode(signature)).into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Mac as _, SimpleHmac};
    use sha2::digest::core_api::BlockSizeUser;
    use sha2::{Digest, Sha256, Sha512};

    const SCRAMS: [&str; 2] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

    fn hmac<D: Digest + BlockSizeUser>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    /// An RFC 5802 client on the digest `D`: the client-final message for
    /// `server_first`, with `echo` as the nonce it sends back.
    fn client_final<D: Digest + BlockSizeUser + Clone + Sync>(
        password: &str,
        client_first_bare: &str,
        server_first: &str,
        echo: &str,
    ) -> String {
        let field = |name: &str| server_first.split(',').find_map(|a| a.strip_prefix(name)).unwrap().to_string();
        let salt = STANDARD.decode(field("s=")).unwrap();
        let iterations: u32 = field("i=").parse().unwrap();
        let mut salted = vec![0u8; <D as Digest>::output_size()];
        pbkdf2::pbkdf2::<SimpleHmac<D>>(password.as_bytes(), &salt, iterations, &mut salted).unwrap();
        let client_key = hmac::<D>(&salted, b"Client Key");
        let stored_key = D::digest(&client_key);
        let without_proof = format!("c=biws,r={echo}");
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac::<D>(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(signature).map(|(k, s)| k ^ s).collect();
        format!("{without_proof},p={}", STANDARD.encode(proof))
    }

    /// Namespace `ns` with `user` (password "pencil", both SCRAM forms) and
    /// `old` (the same password, created before SHA-512 forms: SHA-256 only).
    async fn tenancy() -> (Tenancy, std::path::PathBuf) {
        use crate::tenancy::{Acl, Credential, Namespace};
        let dir = std::env::temp_dir().join(format!("omnibus-dp-sasl-{}", uuid::Uuid::new_v4()));
        let tenancy = Tenancy::open(&dir).await.unwrap();
        tenancy
            .apply_namespace(Namespace { id: "ns".into(), plan: "developer".into(), ..Namespace::default() })
            .await
            .unwrap();
        for (id, username, sha512) in [("c1", "user", true), ("c2", "old", false)] {
            let credential = Credential {
                id: id.into(),
                namespace_id: "ns".into(),
                username: username.into(),
                scram_sha256: omnibus_api::scram::derive(ScramHash::Sha256, "pencil").into(),
                scram_sha512: sha512.then(|| omnibus_api::scram::derive(ScramHash::Sha512, "pencil").into()),
                acl: Acl::default(),
            };
            tenancy.apply_credential(credential).await.unwrap();
        }
        (tenancy, dir)
    }

    /// Runs a SCRAM exchange of `mechanism`; `echo` turns the server nonce
    /// into the nonce the client sends back.
    async fn scram(
        tenancy: &Tenancy,
        mechanism: &'static str,
        user: &str,
        password: &str,
        echo: impl Fn(&str, &str) -> String,
    ) -> Outcome {
        let mut sasl = Sasl::default();
        let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
        assert_eq!(sasl.handshake(&handshake, 1).error_code, 0);
        let bare = format!("n={user},r=clientnonce123");
        let Outcome::Continue(server_first) = sasl.step(tenancy, format!("n,,{bare}").as_bytes()).await else {
            panic!("no server-first");
        };
        let server_first = String::from_utf8(server_first.to_vec()).unwrap();
        let nonce = server_first.split(',').find_map(|a| a.strip_prefix("r=")).unwrap();
        assert!(nonce.starts_with("clientnonce123") && nonce.len() > "clientnonce123".len());
        let echo = echo("clientnonce123", nonce);
        let last = match mechanism {
            "SCRAM-SHA-256" => client_final::<Sha256>(password, &bare, &server_first, &echo),
            _ => client_final::<Sha512>(password, &bare, &server_first, &echo),
        };
        sasl.step(tenancy, last.as_bytes()).await
    }

    #[tokio::test]
    async fn scram_accepts_the_password_and_proves_the_server() {
        let (tenancy, dir) = tenancy().await;
        for mechanism in SCRAMS {
            match scram(&tenancy, mechanism, "user", "pencil", |_, nonce| nonce.to_string()).await {
                Outcome::Authenticated(principal, server_final) => {
                    assert_eq!(principal.namespace_id(), "ns");
                    assert!(server_final.starts_with(b"v="));
                }
                _ => panic!("{mechanism} refused the right password"),
            }
            // librdkafka < 2.6.1 repeats its own nonce in front: still accepted.
            let buggy = |client: &str, nonce: &str| format!("{client}{nonce}");
            assert!(matches!(scram(&tenancy, mechanism, "user", "pencil", buggy).await, Outcome::Authenticated(..)));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn scram_refuses_wrong_passwords_users_and_nonces() {
        let (tenancy, dir) = tenancy().await;
        let same = |_: &str, nonce: &str| nonce.to_string();
        for mechanism in SCRAMS {
            assert!(matches!(scram(&tenancy, mechanism, "user", "pencil!", same).await, Outcome::Failed(..)));
            assert!(matches!(scram(&tenancy, mechanism, "nobody", "pencil", same).await, Outcome::Failed(..)));
            // A client nonce alone (the server's part dropped) is a replay: refused.
            let replay = |client: &str, _: &str| client.to_string();
            assert!(matches!(scram(&tenancy, mechanism, "user", "pencil", replay).await, Outcome::Failed(..)));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_credential_without_a_sha512_form_gets_every_mechanism_but_that_one() {
        let (tenancy, dir) = tenancy().await;
        let same = |_: &str, nonce: &str| nonce.to_string();
        assert!(matches!(scram(&tenancy, "SCRAM-SHA-256", "old", "pencil", same).await, Outcome::Authenticated(..)));
        assert!(matches!(
            scram(&tenancy, "SCRAM-SHA-512", "old", "pencil", same).await,
            Outcome::Failed(ResponseError::SaslAuthenticationFailed, _)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn the_decoy_of_an_unknown_user_looks_like_a_real_credential() {
        let (tenancy, dir) = tenancy().await;
        let server_first = |user: &'static str, mechanism: &'static str| {
            let tenancy = &tenancy;
            async move {
                let mut sasl = Sasl::default();
                let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
                sasl.handshake(&handshake, 1);
                let Outcome::Continue(bytes) = sasl.step(tenancy, format!("n,,n={user},r=abc").as_bytes()).await else {
                    panic!("no server-first");
                };
                let text = String::from_utf8(bytes.to_vec()).unwrap();
                let salt = text.split(',').find_map(|a| a.strip_prefix("s=")).unwrap().to_string();
                let iterations = text.split(',').find_map(|a| a.strip_prefix("i=")).unwrap().to_string();
                (STANDARD.decode(salt).unwrap().len(), iterations)
            }
        };
        for mechanism in SCRAMS {
            assert_eq!(server_first("nobody", mechanism).await, server_first("user", mechanism).await);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn plain_checks_the_password_and_order_is_enforced() {
        let (tenancy, dir) = tenancy().await;
        let mut sasl = Sasl::default();
        assert!(matches!(
            sasl.step(&tenancy, b"\0user\0pencil").await,
            Outcome::Failed(ResponseError::IllegalSaslState, _)
        ));
        let mut sasl = Sasl::default();
        let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
        let response = sasl.handshake(&handshake, 0);
        assert_eq!(response.error_code, 0);
        let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
        assert_eq!(offered, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
        assert!(sasl.expects_raw_token());
        assert!(matches!(sasl.step(&tenancy, b"\0user\0pencil").await, Outcome::Authenticated(..)));
        assert!(!sasl.expects_raw_token());
        let mut sasl = Sasl::default();
        sasl.handshake(&handshake, 1);
        assert!(matches!(sasl.step(&tenancy, b"\0user\0wrong").await, Outcome::Failed(..)));
        let mut sasl = Sasl::default();
        let unknown = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("GSSAPI"));
        assert_eq!(sasl.handshake(&unknown, 1).error_code, ResponseError::UnsupportedSaslMechanism.code());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
