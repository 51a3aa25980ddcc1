//! Deciding a CONNECT: client id, credentials, will topic, and the session
//! and flow-control terms of MQTT 5 (session expiry, receive maximum,
//! maximum packet size, whether reason strings may go on acknowledgements).
//!
//! Turns a decoded [`Connect`] into an accepted session or the CONNACK code
//! that refuses it. Does not read or write the socket.

use std::time::Duration;

use tracing::info;

use crate::mqtt::codec::{Connect, ConnectReturnCode, LastWill, ProtocolVersion};
use crate::tenancy::{AuthError, Principal, Tenancy};

/// QoS 1 and 2 messages in flight to a client that sets no Receive Maximum
/// (every MQTT 3.1.1 client): Mosquitto's default.
pub const DEFAULT_INFLIGHT: u16 = 32;
/// Longest keep alive a 5.0 client gets, seconds: one asking for none or more
/// is told this Server Keep Alive (3.1.1 has no way to tell a client).
pub const MAX_KEEP_ALIVE: u16 = 3600;

/// A CONNECT the broker accepts.
pub struct Accepted {
    pub principal: Principal,
    pub protocol: ProtocolVersion,
    pub client_id: String,
    /// The CONNECT had none: the broker chose `client_id` (told in CONNACK).
    pub assigned_client_id: bool,
    /// CleanSession / Clean Start: discard any earlier session.
    pub clean_session: bool,
    /// How long the session outlives its connection, seconds; `None`: for
    /// ever (3.1.1 CleanSession = 0, 5.0 0xFFFFFFFF).
    pub expiry_secs: Option<u32>,
    /// Close after this long without a packet; `None` when keep-alive is off.
    pub idle_limit: Option<Duration>,
    /// The Server Keep Alive told in CONNACK, when it differs from the
    /// client's.
    pub server_keep_alive: Option<u16>,
    pub will: Option<LastWill>,
    /// The client's Receive Maximum: QoS 1 and 2 messages it takes in flight.
    pub receive_maximum: u16,
    /// The largest packet the client accepts.
    pub max_packet_size: Option<u32>,
    /// Reason strings may go on acknowledgements (5.0 Request Problem
    /// Information; CONNACK and DISCONNECT carry them regardless).
    pub problem_information: bool,
}

/// A refused CONNECT: the code to answer, the `result` label to count, and
/// the reason string a 5.0 client is told.
pub struct Refusal {
    pub code: ConnectReturnCode,
    pub result: &'static str,
    pub why: &'static str,
}

impl Refusal {
    pub fn new(code: ConnectReturnCode, result: &'static str, why: &'static str) -> Refusal {
        Refusal { code, result, why }
    }
}

/// Checks a CONNECT against tenancy. Every refusal is logged here at info.
pub async fn authorize(tenancy: &Tenancy, connect: Connect) -> Result<Accepted, Refusal> {
    let v5 = connect.protocol.is_v5();
    let properties = &connect.properties;
    if properties.authentication_method.is_some() {
        info!("refusing enhanced authentication, which this broker does not offer");
        return Err(Refusal::new(
            ConnectReturnCode::BadAuthenticationMethod,
            "bad_authentication_method",
            "enhanced authentication is not offered; log in with a user name and password",
        ));
    }
    let (client_id, assigned_client_id) = if !connect.client_id.is_empty() {
        (connect.client_id, false)
    } else if v5 || (connect.clean_session && connect.protocol == ProtocolVersion::V3_1_1) {
        (format!("auto-{}", uuid::Uuid::new_v4().simple()), true)
    } else {
        info!("refusing an empty client id without a clean session");
        return Err(Refusal::new(
            ConnectReturnCode::IdentifierRejected,
            "identifier_rejected",
            "an empty client id needs a clean session",
        ));
    };
    let Some(username) = connect.username else {
        info!(client_id, "refusing a connection without credentials");
        let code = if v5 { ConnectReturnCode::BadUserNameOrPassword } else { ConnectReturnCode::NotAuthorized };
        return Err(Refusal::new(code, "not_authorized", "a user name and password are required"));
    };
    let password = connect.password.as_deref().and_then(|bytes| std::str::from_utf8(bytes).ok());
    let Some(password) = password else {
        info!(client_id, username, "refusing a connection without a usable password");
        return Err(Refusal::new(
            ConnectReturnCode::BadUserNameOrPassword,
            "bad_credentials",
            "the password is not UTF-8",
        ));
    };
    let principal = match tenancy.authenticate(&username, password).await {
        Ok(principal) => principal,
        Err(AuthError::UnknownUser | AuthError::BadPassword) => {
            info!(client_id, username, "refusing bad credentials");
            return Err(Refusal::new(
                ConnectReturnCode::BadUserNameOrPassword,
                "bad_credentials",
                "bad user name or password",
            ));
        }
        Err(error @ AuthError::Unavailable(_)) => {
            tracing::error!(%error, "password check failed");
            return Err(Refusal::new(
                ConnectReturnCode::ServerUnavailable,
                "server_unavailable",
                "credentials cannot be checked now; try again",
            ));
        }
    };
    if let Some(will) = &connect.will
        && !principal.acl().may_publish(&will.topic)
    {
        info!(client_id, topic = %will.topic, "refusing a will on a topic the credential may not publish to");
        return Err(Refusal::new(
            ConnectReturnCode::NotAuthorized,
            "not_authorized",
            "the credential may not publish to the will topic",
        ));
    }
    let expiry_secs = if v5 {
        match properties.session_expiry_interval.unwrap_or(0) {
            u32::MAX => None,
            seconds => Some(seconds),
        }
    } else if connect.clean_session {
        Some(0)
    } else {
        None
    };
    let server_keep_alive =
        (v5 && (connect.keep_alive == 0 || connect.keep_alive > MAX_KEEP_ALIVE)).then_some(MAX_KEEP_ALIVE);
    let keep_alive = server_keep_alive.unwrap_or(connect.keep_alive);
    let idle_limit = (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500));
    Ok(Accepted {
        principal,
        protocol: connect.protocol,
        client_id,
        assigned_client_id,
        clean_session: connect.clean_session,
        expiry_secs,
        idle_limit,
        server_keep_alive,
        will: connect.will,
        receive_maximum: properties.receive_maximum.unwrap_or(if v5 { u16::MAX } else { DEFAULT_INFLIGHT }),
        max_packet_size: properties.maximum_packet_size,
        problem_information: properties.request_problem_information.unwrap_or(true),
    })
}
