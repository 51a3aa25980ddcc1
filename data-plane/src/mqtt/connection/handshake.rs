//! Deciding a CONNECT: client id, credentials, will topic.
//!
//! Turns a decoded [`Connect`] into an accepted session or the CONNACK return
//! code that refuses it. Does not read or write the socket.

use std::time::Duration;

use tracing::info;

use crate::mqtt::codec::{Connect, ConnectReturnCode, LastWill, ProtocolVersion};
use crate::tenancy::{AuthError, Principal, Tenancy};

/// A CONNECT the broker accepts.
pub struct Accepted {
    pub principal: Principal,
    pub client_id: String,
    /// CleanSession: discard any earlier session and keep none after.
    pub clean_session: bool,
    /// Close after this long without a packet; `None` when keep-alive is off.
    pub idle_limit: Option<Duration>,
    pub will: Option<LastWill>,
}

/// A refused CONNECT: the code to answer and the `result` label to count.
pub struct Refusal {
    pub code: ConnectReturnCode,
    pub result: &'static str,
}

impl Refusal {
    fn new(code: ConnectReturnCode, result: &'static str) -> Refusal {
        Refusal { code, result }
    }
}

/// Checks a CONNECT against tenancy. Every refusal is logged here at info.
pub async fn authorize(tenancy: &Tenancy, connect: Connect) -> Result<Accepted, Refusal> {
    let client_id = if !connect.client_id.is_empty() {
        connect.client_id
    } else if connect.clean_session && connect.protocol == ProtocolVersion::V3_1_1 {
        format!("auto-{}", uuid::Uuid::new_v4().simple())
    } else {
        info!("refusing an empty client id without a clean session");
        return Err(Refusal::new(ConnectReturnCode::IdentifierRejected, "identifier_rejected"));
    };
    let Some(username) = connect.username else {
        info!(client_id, "refusing a connection without credentials");
        return Err(Refusal::new(ConnectReturnCode::NotAuthorized, "not_authorized"));
    };
    let password = connect.password.as_deref().and_then(|bytes| std::str::from_utf8(bytes).ok());
    let Some(password) = password else {
        info!(client_id, username, "refusing a connection without a usable password");
        return Err(Refusal::new(ConnectReturnCode::BadUserNameOrPassword, "bad_credentials"));
    };
    let principal = match tenancy.authenticate(&username, password).await {
        Ok(principal) => principal,
        Err(AuthError::UnknownUser | AuthError::BadPassword) => {
            info!(client_id, username, "refusing bad credentials");
            return Err(Refusal::new(ConnectReturnCode::BadUserNameOrPassword, "bad_credentials"));
        }
        Err(error @ AuthError::Unavailable(_)) => {
            tracing::error!(%error, "password check failed");
            return Err(Refusal::new(ConnectReturnCode::ServerUnavailable, "server_unavailable"));
        }
    };
    if let Some(will) = &connect.will
        && !principal.acl().may_publish(&will.topic)
    {
        info!(client_id, topic = %will.topic, "refusing a will on a topic the credential may not publish to");
        return Err(Refusal::new(ConnectReturnCode::NotAuthorized, "not_authorized"));
    }
    let idle_limit = (connect.keep_alive > 0).then(|| Duration::from_millis(u64::from(connect.keep_alive) * 1500));
    Ok(Accepted { principal, client_id, clean_session: connect.clean_session, idle_limit, will: connect.will })
}
