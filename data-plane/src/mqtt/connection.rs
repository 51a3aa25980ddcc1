//! One MQTT client connection, from the first MQTT byte to close, over any
//! byte stream: `transport` has done the TLS and WebSocket handshakes before.
//!
//! Owns the connection's life: CONNECT within 10 s, the CONNACK (with session
//! present when a persistent session is resumed), registration (takeover of
//! the same client id), attaching to the hub's session, the reader and writer
//! halves running side by side, and the cleanup (detach, will). Runs in a
//! span carrying `namespace` and `client_id` once known. Must not hold any
//! lock across an await, and never panics on what the client sends.

mod ack;
mod handshake;
mod inbound;
mod outbound;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, Span, debug, field, info, info_span};

use super::codec::{
    CodecError, ConnAck, ConnAckProperties, Connect, ConnectReturnCode, DecodeError, Disconnect, EncodeError,
    MqttCodec, Packet, ReasonCode,
};
use super::live_session::Session;
use super::message::now_ms;
use super::metrics::{self, Meters};
use super::server::Shared;
use super::store::SessionKey;
use super::will::Will;
use crate::tenancy::{KickReason, Kicked, MqttLimits, Registration};
use handshake::{Accepted, Refusal};
use inbound::{FIRST_READ, KeepAlive, ReadEnd, Reading};
use outbound::{WriteError, Writing};

/// The byte stream of a connection, whatever carries it (TCP, TLS, WebSocket).
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for S {}

pub type Stream = Box<dyn ByteStream>;
type Reader = FramedRead<ReadHalf<Stream>, MqttCodec>;
type Writer = FramedWrite<WriteHalf<Stream>, MqttCodec>;

/// How long a client has to send CONNECT once its transport is up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a refused client has to read its CONNACK before the socket closes.
const LINGER: Duration = Duration::from_secs(1);
/// Control packets queued from the reader to the writer.
const CONTROL_CAPACITY: usize = 64;
/// How long a closing 5.0 connection waits to write its DISCONNECT.
const DISCONNECT_WAIT: Duration = Duration::from_secs(1);

/// Serves one connection, over whichever transport `stream` is (TCP, or TLS
/// and WebSocket past their handshakes; `transport` names it in logs), until
/// it closes or `shutdown` fires.
pub async fn run(
    stream: Stream,
    peer: SocketAddr,
    transport: &'static str,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let span = info_span!("mqtt_connection", transport, %peer, namespace = field::Empty, client_id = field::Empty);
    let Some(mut conn) = Box::pin(open(stream, peer, transport, shared, shutdown)).instrument(span).await else {
        return;
    };
    let end = conn.serve().await;
    let span = conn.span();
    Box::pin(conn.close(end)).instrument(span).await;
}

/// How a connection ended, once both halves stopped.
#[derive(Debug)]
enum End {
    Read(ReadEnd),
    Kicked(KickReason),
    WriteFailed(WriteError),
    Shutdown,
}

impl End {
    /// The will is published when the connection ends without DISCONNECT (or
    /// with a 5.0 DISCONNECT asking for it), except when tenancy closed it
    /// (its credential no longer stands) or the broker is shutting down.
    fn publishes_will(&self) -> bool {
        match self {
            End::Read(ReadEnd::Disconnected { will }) => *will,
            End::Read(_) | End::WriteFailed(_) | End::Kicked(KickReason::Takeover) => true,
            End::Kicked(KickReason::CredentialWithdrawn | KickReason::NamespaceDeleted) | End::Shutdown => false,
        }
    }

    fn log(&self) {
        match self {
            End::Read(ReadEnd::Disconnected { .. }) => debug!("client disconnected"),
            End::Read(ReadEnd::PeerClosed) => debug!("client closed the connection"),
            End::Read(ReadEnd::IdleTimeout) => info!("closing: keep-alive expired"),
            End::Read(ReadEnd::Codec(CodecError::Io(error))) => debug!(%error, "connection failed"),
            End::Read(ReadEnd::Codec(error)) => info!(%error, "closing: malformed packet"),
            End::Read(ReadEnd::Violation(reason, what)) => {
                info!(violation = what, ?reason, "closing: protocol violation")
            }
            End::Read(ReadEnd::Store(error)) => tracing::error!(%error, "closing: session state cannot be stored"),
            End::Read(ReadEnd::WriterGone) => debug!("closing: the writer stopped"),
            End::Read(ReadEnd::Quiet) => debug!("parking"),
            End::WriteFailed(WriteError::Store(error)) => {
                tracing::error!(%error, "closing: session state cannot be stored")
            }
            End::WriteFailed(WriteError::Codec(CodecError::Encode(error @ EncodeError::ExceedsPeerMaximum { .. }))) => {
                info!(%error, "closing: a packet exceeds the client's maximum packet size")
            }
            End::WriteFailed(error) => debug!(%error, "closing: write failed"),
            End::Kicked(reason) => info!(?reason, "closing: session closed by the broker"),
            End::Shutdown => debug!("closing: broker shutting down"),
        }
    }

    /// The reason code and string a 5.0 client is told in the broker's
    /// DISCONNECT, when the broker is the one closing.
    fn disconnect_reason(&self) -> Option<(ReasonCode, String)> {
        match self {
            End::Read(ReadEnd::Codec(CodecError::Decode(error))) => Some((error.reason_code(), error.to_string())),
            End::Read(ReadEnd::Violation(reason, what)) => Some((*reason, what.to_string())),
            End::Read(ReadEnd::IdleTimeout) => {
                Some((ReasonCode::KeepAliveTimeout, "no packet within the keep alive".into()))
            }
            End::Read(ReadEnd::Store(_)) | End::WriteFailed(WriteError::Store(_)) => {
                Some((ReasonCode::UnspecifiedError, "the session state cannot be stored".into()))
            }
            End::Kicked(KickReason::Takeover) => {
                Some((ReasonCode::SessionTakenOver, "another connection took the client id over".into()))
            }
            End::Kicked(KickReason::CredentialWithdrawn) => {
                Some((ReasonCode::AdministrativeAction, "the credential was revoked or changed".into()))
            }
            End::Kicked(KickReason::NamespaceDeleted) => {
                Some((ReasonCode::AdministrativeAction, "the instance was deleted".into()))
            }
            End::Shutdown => Some((ReasonCode::ServerShuttingDown, "the broker is shutting down".into())),
            End::WriteFailed(WriteError::Codec(CodecError::Encode(error @ EncodeError::ExceedsPeerMaximum { .. }))) => {
                Some((ReasonCode::PacketTooLarge, error.to_string()))
            }
            End::Read(
                ReadEnd::Disconnected { .. }
                | ReadEnd::PeerClosed
                | ReadEnd::WriterGone
                | ReadEnd::Codec(_)
                | ReadEnd::Quiet,
            )
            | End::WriteFailed(_) => None,
        }
    }
}

/// An MQTT connection past its CONNACK: what it keeps for its whole life.
/// It lives on the heap and the connection's future holds little besides
/// it, so a parked connection costs this, its session and a small future.
/// The steps that are not waits for the client are boxed, so their futures
/// are allocated only while they run.
struct Conn {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    peer: SocketAddr,
    transport: &'static str,
    reader: Reader,
    writer: Writer,
    accepted: Accepted,
    _registration: Registration,
    kicked: Kicked,
    session: Arc<Session>,
    connection: u64,
    /// Boxed: most connections have none.
    will: Option<Box<Will>>,
    meters: Meters,
    /// The plan's limits.
    limits: MqttLimits,
    /// The broker's Receive Maximum told in CONNACK.
    receive_maximum: u16,
    keep_alive: KeepAlive,
    /// Topic aliases the client set (5.0), for the connection's life.
    aliases: HashMap<u16, Arc<str>>,
    /// What to send first when it goes live: the messages in flight.
    pending: Vec<Packet>,
}

/// Reads the CONNECT, authorizes it, opens the session and answers CONNACK;
/// `None` when the connection was refused or went away before that.
async fn open(
    stream: Stream,
    peer: SocketAddr,
    transport: &'static str,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> Option<Box<Conn>> {
    let (read, write) = tokio::io::split(stream);
    let mut reader = FramedRead::with_capacity(read, MqttCodec::new(shared.max_packet_size), FIRST_READ);
    let mut writer = FramedWrite::new(write, MqttCodec::new(shared.max_packet_size));
    // The writer's buffer grows as packets are encoded; none is held before.
    *writer.write_buffer_mut() = BytesMut::new();

    let connect = first_connect(&mut reader, &mut writer, &shutdown).await?;
    reader.decoder_mut().version = connect.protocol;
    writer.encoder_mut().version = connect.protocol;
    writer.encoder_mut().peer_max_packet_size = connect.properties.maximum_packet_size;

    let mut accepted = match handshake::authorize(&shared.tenancy, connect).await {
        Ok(accepted) => accepted,
        Err(refusal) => {
            refuse(&mut reader, &mut writer, refusal).await;
            return None;
        }
    };
    let span = Span::current();
    span.record("namespace", accepted.principal.namespace_id());
    span.record("client_id", accepted.client_id.as_str());

    let limits = shared.tenancy.mqtt_limits(accepted.principal.namespace_id());
    let (open, taking_over) =
        shared.tenancy.sessions().count_in(accepted.principal.namespace_id(), &accepted.client_id);
    if let Some(max) = limits.max_connections
        && !taking_over
        && open >= max as usize
    {
        info!(max, "refusing a connection over the plan's limit");
        let refusal =
            Refusal::new(ConnectReturnCode::QuotaExceeded, "quota_exceeded", "the plan's connection limit is reached");
        refuse(&mut reader, &mut writer, refusal).await;
        return None;
    }
    let quotas = shared.tenancy.quotas();
    if !quotas.try_connect(&quotas.of(accepted.principal.namespace_id())) {
        info!("refusing a connection over the plan's connection rate");
        let refusal = Refusal::new(
            ConnectReturnCode::ConnectionRateExceeded,
            "connection_rate_exceeded",
            "the plan's rate of new connections is reached; retry later",
        );
        refuse(&mut reader, &mut writer, refusal).await;
        return None;
    }
    let max_packet_size = limits.max_packet_size.map_or(shared.max_packet_size, |max| max.min(shared.max_packet_size));
    reader.decoder_mut().max_packet_size = max_packet_size;
    let receive_maximum = limits.max_inflight.map_or(inbound::RECEIVE_MAXIMUM, |max| {
        u16::try_from(max).unwrap_or(u16::MAX).clamp(1, inbound::RECEIVE_MAXIMUM)
    });
    let connection = shared.next_connection_id();
    // One copy of the namespace and client id, shared by the registry and the session.
    let key = SessionKey {
        namespace: Arc::from(accepted.principal.namespace_id()),
        client_id: Arc::from(accepted.client_id.as_str()),
    };
    // A new stored session past the plan's count is refused before the
    // session registry is touched, so no connection is taken over for it.
    // (Resuming one, or replacing this client id's, adds none.)
    if let Some(max) = limits.max_sessions
        && accepted.expiry_secs != Some(0)
        && !shared.hub.stores_session(&key)
        && shared.hub.stored_sessions(&key.namespace) >= max as usize
    {
        info!(max, "refusing a stored session over the plan's limit");
        let refusal = Refusal::new(
            ConnectReturnCode::QuotaExceeded,
            "quota_exceeded",
            "the plan's limit of stored sessions is reached; connect with a clean, expiring session or end one",
        );
        refuse(&mut reader, &mut writer, refusal).await;
        return None;
    }
    let (registration, kicked) = shared.tenancy.sessions().register(
        &key.namespace,
        &key.client_id,
        accepted.principal.credential_id(),
        connection,
    );
    if !shared.tenancy.is_current(&accepted.principal) {
        info!("credential withdrawn during login");
        let refusal =
            Refusal::new(ConnectReturnCode::BadUserNameOrPassword, "bad_credentials", "bad user name or password");
        refuse(&mut reader, &mut writer, refusal).await;
        return None;
    }
    let max_queued = limits.max_queued_messages.map(|max| max as usize);
    let connected = shared.hub.connect(key, accepted.clean_session, accepted.expiry_secs, max_queued).await;
    let (session, session_present) = match connected {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "cannot open the session");
            let refusal = Refusal::new(
                ConnectReturnCode::ServerUnavailable,
                "server_unavailable",
                "the session cannot be opened now",
            );
            refuse(&mut reader, &mut writer, refusal).await;
            return None;
        }
    };
    let resend = session.attach(connection, now_ms());
    let connack = ConnAck {
        session_present,
        code: ConnectReturnCode::Accepted,
        properties: Box::new(ConnAckProperties {
            receive_maximum: Some(receive_maximum),
            topic_alias_maximum: Some(inbound::TOPIC_ALIAS_MAXIMUM),
            maximum_packet_size: Some(max_packet_size),
            assigned_client_identifier: accepted.assigned_client_id.then(|| accepted.client_id.clone()),
            server_keep_alive: accepted.server_keep_alive,
            ..Default::default()
        }),
    };
    if let Err(error) = writer.send(Packet::ConnAck(connack)).await {
        debug!(%error, "cannot send CONNACK");
        shared.hub.disconnect(&session, connection, None, false).await;
        return None;
    }
    metrics::connect_result("accepted");
    debug!(session_present, "connection accepted");
    let will = accepted.will.take().map(|will| Box::new(Will::of(will)));
    if let Some(will) = &will {
        shared.hub.keep_will(&session, will);
    }
    let usage = shared.tenancy.meter().of(&session.key.namespace).connected();
    let meters = Meters::open(shared.hub.meters(&session.key.namespace), usage);
    meters.bytes_in(reader.decoder_mut().take_bytes_decoded());
    meters.bytes_out(writer.encoder_mut().take_bytes_encoded());
    let keep_alive = KeepAlive { limit: accepted.idle_limit, last_packet: Instant::now() };
    Some(Box::new(Conn {
        shared,
        shutdown,
        peer,
        transport,
        reader,
        writer,
        accepted,
        _registration: registration,
        kicked,
        session,
        connection,
        will,
        meters,
        limits,
        receive_maximum,
        keep_alive,
        aliases: HashMap::new(),
        pending: resend,
    }))
}

impl Conn {
    /// The connection's span. A connection is in one only while it is live
    /// (a span costs memory for as long as it is open, and most connections
    /// are parked), so each live stretch gets a span of its own.
    fn span(&self) -> Span {
        info_span!(
            "mqtt_connection",
            transport = self.transport,
            peer = %self.peer,
            namespace = self.accepted.principal.namespace_id(),
            client_id = self.accepted.client_id.as_str(),
        )
    }

    /// Runs the connection live, parks it when it has nothing to do, and
    /// wakes it for the next packet or message, until it ends.
    async fn serve(&mut self) -> End {
        let mut first = None::<Box<Packet>>;
        loop {
            // Boxed: allocated while the connection is live, freed while it is parked.
            let span = self.span();
            let run = Box::pin(self.run_live(first.take().map(|packet| *packet)));
            match run.instrument(span).await {
                End::Read(ReadEnd::Quiet) => {}
                end => return end,
            }
            // The reader gave its buffer back before it went quiet; the writer,
            // done, has written all of its buffer.
            *self.writer.write_buffer_mut() = BytesMut::new();
            let deadline = self.keep_alive.deadline();
            match park(&mut self.reader, &self.session, &mut self.kicked, &self.shutdown, deadline).await {
                Unparked::Packet(packet) => first = Some(Box::new(packet)),
                Unparked::Wake => {}
                Unparked::End(end) => return end,
            }
        }
    }

    /// One live stretch: the reader, the writer and the acker, until the
    /// connection ends or goes quiet.
    async fn run_live(&mut self, first: Option<Packet>) -> End {
        let live = Live {
            shared: &self.shared,
            accepted: &self.accepted,
            session: &self.session,
            connection: self.connection,
            meters: &self.meters,
            limits: self.limits,
            receive_maximum: self.receive_maximum,
        };
        let resend = std::mem::take(&mut self.pending);
        live.run(
            &mut self.reader,
            &mut self.writer,
            resend,
            first,
            &mut self.kicked,
            &self.shutdown,
            &mut self.keep_alive,
            &mut self.aliases,
        )
        .await
    }

    /// Logs how the connection ended, tells a 5.0 client why when the broker
    /// is the one closing, and detaches the session (publishing the will
    /// when the end calls for it).
    async fn close(self: Box<Self>, end: End) {
        let Conn { shared, accepted, session, connection, mut writer, will, meters, .. } = *self;
        end.log();
        if let Some((reason, why)) = end.disconnect_reason().filter(|_| accepted.protocol.is_v5()) {
            let mut disconnect = Disconnect { reason_code: reason, ..Disconnect::default() };
            disconnect.properties.reason_string = Some(why);
            let disconnect = Packet::Disconnect(disconnect);
            let _ = tokio::time::timeout(DISCONNECT_WAIT, writer.send(disconnect)).await;
        }
        // On shutdown the will stays on disk and goes out after the restart
        // (unless the client is back within its delay).
        let will = will.filter(|_| !matches!(end, End::Shutdown));
        let publish = end.publishes_will();
        if let Some(will) = will.as_ref().filter(|_| publish) {
            meters.message_in();
            meters.accepted(will.payload_len());
        }
        shared.hub.disconnect(&session, connection, will.map(|will| *will), publish).await;
    }
}

/// Waits up to 10 s for the CONNECT; anything else closes the connection,
/// and an unsupported protocol level is answered first.
async fn first_connect(reader: &mut Reader, writer: &mut Writer, shutdown: &CancellationToken) -> Option<Connect> {
    let first = tokio::select! {
        () = shutdown.cancelled() => return None,
        first = tokio::time::timeout(CONNECT_TIMEOUT, reader.next()) => first,
    };
    match first {
        Ok(Some(Ok(Packet::Connect(connect)))) => return Some(connect),
        Ok(Some(Err(CodecError::Decode(DecodeError::UnsupportedProtocolLevel(level))))) => {
            info!(level, "refusing an unsupported protocol level");
            let refusal = Refusal::new(
                ConnectReturnCode::UnacceptableProtocolVersion,
                "unsupported_protocol",
                "MQTT 3.1, 3.1.1 or 5.0",
            );
            refuse(reader, writer, refusal).await;
        }
        Ok(Some(Ok(packet))) => info!(packet = packet.kind(), "closing: first packet is not CONNECT"),
        Ok(Some(Err(error))) => info!(%error, "closing: bad CONNECT"),
        Ok(None) => debug!("closed before CONNECT"),
        Err(_) => debug!("closing: no CONNECT within 10 s"),
    }
    None
}

/// Why a parked connection woke up.
enum Unparked {
    /// The client sent a packet.
    Packet(Packet),
    /// The session has something to send.
    Wake,
    End(End),
}

/// Waits, holding no more than the socket, its session and this small
/// future, for the client's next packet, something to send, a kick, the
/// broker's shutdown or the end of the keep-alive.
async fn park(
    reader: &mut Reader,
    session: &Session,
    kicked: &mut Kicked,
    shutdown: &CancellationToken,
    deadline: Option<Instant>,
) -> Unparked {
    let keep_alive = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => Unparked::End(End::Shutdown),
        Ok(reason) = &mut *kicked => Unparked::End(End::Kicked(reason)),
        next = reader.next() => match next {
            Some(Ok(packet)) => Unparked::Packet(packet),
            Some(Err(error)) => Unparked::End(End::Read(ReadEnd::Codec(error))),
            None => Unparked::End(End::Read(ReadEnd::PeerClosed)),
        },
        () = session.wake.notified() => Unparked::Wake,
        () = keep_alive => Unparked::End(End::Read(ReadEnd::IdleTimeout)),
    }
}

/// A session past CONNACK: what both halves share.
struct Live<'a> {
    shared: &'a Shared,
    accepted: &'a Accepted,
    session: &'a Arc<Session>,
    connection: u64,
    meters: &'a Meters,
    /// The plan's limits.
    limits: MqttLimits,
    /// The broker's Receive Maximum told in CONNACK.
    receive_maximum: u16,
}

impl Live<'_> {
    /// Runs the reader, the writer and the acker side by side until one
    /// ends, the session is kicked or the broker shuts down, or, when the
    /// reader finds nothing left to do ([`ReadEnd::Quiet`]), until the writer
    /// and the acker are done too.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        reader: &mut Reader,
        writer: &mut Writer,
        resend: Vec<Packet>,
        first: Option<Packet>,
        kicked: &mut Kicked,
        shutdown: &CancellationToken,
        keep_alive: &mut KeepAlive,
        aliases: &mut HashMap<u16, Arc<str>>,
    ) -> End {
        let stop = shutdown.child_token();
        let (control, mut control_rx) = mpsc::channel(CONTROL_CAPACITY);
        let (acks, acks_rx) = mpsc::channel(usize::from(self.receive_maximum.max(1)));
        let writing = Writing {
            session: self.session,
            connection: self.connection,
            window: self.limits.max_inflight.map_or(usize::from(self.accepted.receive_maximum), |max| {
                usize::from(self.accepted.receive_maximum).min(max as usize)
            }),
            protocol: self.accepted.protocol,
            max_packet_size: self.accepted.max_packet_size,
            store: self.shared.hub.store(),
            meters: self.meters,
            quotas: self.shared.tenancy.quotas(),
            rates: self.shared.tenancy.quotas().of(&self.session.key.namespace),
        };
        let ack_control = control.clone();
        let read_half = async {
            // Dropped when the reader ends, which lets the acker finish.
            let mut reading = Reading {
                hub: &self.shared.hub,
                principal: &self.accepted.principal,
                session: self.session,
                protocol: self.accepted.protocol,
                control,
                acks,
                meters: self.meters,
                aliases,
                limits: self.limits,
                quotas: self.shared.tenancy.quotas(),
                rates: self.shared.tenancy.quotas().of(&self.session.key.namespace),
                held_back: false,
                receive_maximum: self.receive_maximum,
                problem_information: self.accepted.problem_information,
            };
            let end = tokio::select! {
                () = stop.cancelled() => None,
                Ok(reason) = &mut *kicked => Some(End::Kicked(reason)),
                end = reading.run(reader, keep_alive, first) => Some(End::Read(end)),
            };
            // A quiet reader lets the writer and the acker finish what they
            // have (its queues close); anything else stops them.
            if !matches!(end, Some(End::Read(ReadEnd::Quiet))) {
                stop.cancel();
            }
            end
        };
        let write_half = async {
            let result = tokio::select! {
                () = stop.cancelled() => Ok(()),
                result = writing.run(writer, &mut control_rx, resend) => result,
            };
            stop.cancel();
            result
        };
        let ack_half = async {
            let result = ack::run(acks_rx, ack_control, &stop).await;
            if result.is_err() {
                stop.cancel();
            }
            result
        };
        let (read_end, write_result, ack_result) = tokio::join!(read_half, write_half, ack_half);
        match (read_end, write_result, ack_result) {
            (_, _, Err(error)) => End::Read(ReadEnd::Store(error)),
            (Some(End::Read(ReadEnd::Quiet)), Err(error), Ok(())) => End::WriteFailed(error),
            (Some(end), _, Ok(())) => end,
            (None, Err(error), Ok(())) => End::WriteFailed(error),
            (None, Ok(()), Ok(())) if shutdown.is_cancelled() => End::Shutdown,
            (None, Ok(()), Ok(())) => End::Read(ReadEnd::WriterGone),
        }
    }
}

/// Answers CONNACK with a refusal, counts it, and closes: the write side is
/// shut first and the client gets a moment to read, so the CONNACK is not
/// lost to a reset.
async fn refuse(reader: &mut Reader, writer: &mut Writer, refusal: Refusal) {
    metrics::connect_result(refusal.result);
    let connack = ConnAck {
        session_present: false,
        code: refusal.code,
        properties: Box::new(ConnAckProperties { reason_string: Some(refusal.why.into()), ..Default::default() }),
    };
    if let Err(error) = writer.send(Packet::ConnAck(connack)).await {
        debug!(%error, "cannot send CONNACK");
        return;
    }
    if let Err(error) = writer.get_mut().shutdown().await {
        debug!(%error, "cannot shut the socket down");
        return;
    }
    let drain = async { while let Some(Ok(_)) = reader.next().await {} };
    // Either the client closed or it had its chance to read; close regardless.
    let _ = tokio::time::timeout(LINGER, drain).await;
}
