//! One Kafka client connection: reads size-prefixed request frames, checks the
//! API version, holds back everything but ApiVersions and SASL until the
//! client has authenticated, dispatches, and writes responses in order.
//!
//! Requests are handled in the order they arrive, one at a time, as Kafka
//! does, with one exception that keeps acks=all throughput from collapsing to
//! one request per fsync: a Produce request is written at once and its answer
//! waits for its fsync while the next requests are read (up to
//! `MAX_PRODUCE_IN_FLIGHT`). Any other request first waits for those answers.
//!
//! A frame that cannot be decoded, an unknown API, or a version we do not serve
//! (other than ApiVersions) closes this connection only.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_response::ProduceResponse;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable as _, Encodable as _};
use omnibus_commit_log::PartitionLog;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::{Instrument as _, debug, field};

use super::groups;
use super::sasl::{Outcome, Sasl};
use super::{Shared, configs, delete_records, fetch, list_offsets, metadata, produce, topics, versions};
use crate::catalog::Topic;
use crate::meter::Connected;
use crate::quota::NamespaceRates;
use crate::tenancy::{Action, Principal};

/// Why a connection was closed by us.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("request of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unknown api key {0}")]
    UnknownApi(i16),
    #[error("{0:?} version {1} is not served")]
    UnsupportedVersion(ApiKey, i16),
    #[error("{0:?} before SASL authentication")]
    Unauthenticated(ApiKey),
    #[error("authentication failed")]
    AuthenticationFailed,
    #[error("the credential was revoked")]
    Revoked,
    #[error("response could not be encoded: {0}")]
    Encode(String),
}

/// Everything a request handler may use.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub principal: &'a Principal,
    pub shutdown: &'a CancellationToken,
    /// The request header's client id (empty if the client sent none).
    pub client_id: &'a str,
    /// The client's end of the connection.
    pub peer: SocketAddr,
}

impl Ctx<'_> {
    /// The topic `name` of the caller's namespace, as a request that needs
    /// `action` on it may see it. The permission is checked first, so a
    /// credential learns nothing of topics it may not use.
    pub fn topic(&self, action: Action, name: &str) -> TopicAccess {
        if !self.principal.acl().allows(action, name) {
            return TopicAccess(Err(ResponseError::TopicAuthorizationFailed));
        }
        let topic = self.shared.catalog.topic(self.principal.namespace_id(), name);
        TopicAccess(topic.ok_or(ResponseError::UnknownTopicOrPartition))
    }
}

/// A topic a request may use, or the error every partition of it answers.
pub struct TopicAccess(Result<Arc<Topic>, ResponseError>);

impl TopicAccess {
    /// The partition's log, or the Kafka error to answer for it.
    pub fn partition(&self, index: i32) -> Result<Arc<PartitionLog>, ResponseError> {
        let topic = self.0.as_ref().map_err(|e| *e)?;
        topic.partition(index).cloned().ok_or(ResponseError::UnknownTopicOrPartition)
    }
}

pub async fn run(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, shutdown: CancellationToken) {
    let span = tracing::info_span!("kafka", %peer, namespace = field::Empty, user = field::Empty);
    async move {
        metrics::gauge!("omnibus_kafka_connections").increment(1);
        match serve(stream, peer, &shared, &shutdown).await {
            Ok(()) => debug!("connection closed"),
            Err(reason) => debug!(%reason, "connection closed"),
        }
        metrics::gauge!("omnibus_kafka_connections").decrement(1);
    }
    .instrument(span)
    .await
}

/// Produce answers that may wait for their fsyncs at once on one connection.
const MAX_PRODUCE_IN_FLIGHT: usize = 64;

/// A Produce answer waiting for its fsyncs: correlation id, version, answer.
type ProduceInFlight = FuturesOrdered<BoxFuture<'static, (i32, i16, ProduceResponse)>>;

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    shutdown: &CancellationToken,
) -> Result<(), Closed> {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let mut writer = BufWriter::new(writer);
    let mut frames = spawn_reader(BufReader::new(reader), shared.max_request_size);
    let mut sasl = Sasl::default();
    let mut in_flight = ProduceInFlight::new();
    // Past a rate quota the connection is muted: no request is read until
    // the time its throttle_time_ms told the client has passed (KIP-219).
    let mut muted_until: Option<Instant> = None;
    // The namespace's rates and usage, looked up once per namespace the
    // connection acts in.
    let mut acting: Option<Acting> = None;
    loop {
        let frame = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            Some((correlation_id, version, answer)) = in_flight.next(), if !in_flight.is_empty() => {
                let body = ResponseKind::Produce(answer);
                write_response(&mut writer, correlation_id, ApiKey::Produce, version, &body).await?;
                continue;
            }
            () = tokio::time::sleep_until(muted_until.unwrap_or_else(Instant::now)), if muted_until.is_some() => {
                muted_until = None;
                continue;
            }
            frame = frames.receiver.recv(), if muted_until.is_none() && in_flight.len() < MAX_PRODUCE_IN_FLIGHT => frame,
        };
        let Some(mut frame) = frame.transpose()? else { return Ok(()) };
        if sasl.expects_raw_token() {
            let outcome = sasl.step(&shared.tenancy, &frame).await;
            match outcome {
                Outcome::Continue(token) => write_raw(&mut writer, &token).await?,
                Outcome::Authenticated(principal, token) => {
                    authenticated(&principal);
                    acting_in(&mut acting, shared, &principal);
                    login_rate(shared, &principal).await;
                    write_raw(&mut writer, &token).await?;
                }
                Outcome::Failed(..) => return Err(Closed::AuthenticationFailed),
            }
            continue;
        }
        if frame.len() < 4 {
            return Err(Closed::Malformed("frame shorter than a request header".into()));
        }
        let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let api_key = ApiKey::try_from(raw_key).map_err(|_| Closed::UnknownApi(raw_key))?;
        let header = RequestHeader::decode(&mut frame, api_key.request_header_version(version))
            .map_err(|e| Closed::Malformed(e.to_string()))?;
        if !versions::is_served(api_key, version) {
            if api_key == ApiKey::ApiVersions {
                // Answer in v0, which every client can read, listing what we serve.
                let body = ResponseKind::ApiVersions(versions::api_versions(false));
                write_response(&mut writer, header.correlation_id, ApiKey::ApiVersions, 0, &body).await?;
                continue;
            }
            return Err(Closed::UnsupportedVersion(api_key, version));
        }
        let request =
            RequestKind::decode(api_key, &mut frame, version).map_err(|e| Closed::Malformed(e.to_string()))?;
        metrics::counter!("omnibus_kafka_requests_total", "api" => format!("{api_key:?}")).increment(1);
        let client_id = header.client_id.as_deref().unwrap_or_default();

        if let RequestKind::Produce(request) = request {
            let principal = sasl.principal().ok_or(Closed::Unauthenticated(api_key))?;
            if !shared.tenancy.is_current(principal) {
                return Err(Closed::Revoked);
            }
            let (bytes, records) = produce::size(&request);
            let acting = acting_in(&mut acting, shared, principal);
            let wait = shared.tenancy.quotas().take_in(&acting.rates, bytes, records);
            let ctx = Ctx { shared, principal, shutdown, client_id, peer };
            let started = produce::start(&ctx, request, acting.usage.usage());
            if started.answers() {
                let correlation_id = header.correlation_id;
                let throttle_time_ms = throttle_ms(wait);
                in_flight.push_back(Box::pin(async move {
                    let answer = started.finish().await.with_throttle_time_ms(throttle_time_ms);
                    (correlation_id, version, answer)
                }));
            }
            mute(&mut muted_until, wait);
            continue;
        }
        // Every other request is handled after the Produce requests before it.
        while let Some((correlation_id, version, answer)) = in_flight.next().await {
            let body = ResponseKind::Produce(answer);
            write_response(&mut writer, correlation_id, ApiKey::Produce, version, &body).await?;
        }

        // A Fetch answer's record bytes and records, metered once written.
        let mut sent = None;
        let response = match request {
            RequestKind::ApiVersions(_) => Some(ResponseKind::ApiVersions(versions::api_versions(true))),
            RequestKind::SaslHandshake(request) => Some(ResponseKind::SaslHandshake(sasl.handshake(&request, version))),
            RequestKind::SaslAuthenticate(request) => {
                let (response, outcome) = sasl.authenticate(&shared.tenancy, request).await;
                if let Outcome::Authenticated(principal, _) = &outcome {
                    acting_in(&mut acting, shared, principal);
                    login_rate(shared, principal).await;
                }
                let body = ResponseKind::SaslAuthenticate(response);
                write_response(&mut writer, header.correlation_id, api_key, version, &body).await?;
                match outcome {
                    Outcome::Continue(_) => {}
                    Outcome::Authenticated(principal, _) => authenticated(&principal),
                    Outcome::Failed(..) => return Err(Closed::AuthenticationFailed),
                }
                continue;
            }
            other => {
                let principal = sasl.principal().ok_or(Closed::Unauthenticated(api_key))?;
                if !shared.tenancy.is_current(principal) {
                    return Err(Closed::Revoked);
                }
                let ctx = Ctx { shared, principal, shutdown, client_id, peer };
                let mut response = dispatch(&ctx, other, version).await;
                if let Some(ResponseKind::Fetch(fetched)) = response.as_mut() {
                    let acting = acting_in(&mut acting, shared, principal);
                    let (bytes, records) = fetch::size(fetched);
                    let wait = shared.tenancy.quotas().take_out(&acting.rates, bytes);
                    fetched.throttle_time_ms = throttle_ms(wait);
                    mute(&mut muted_until, wait);
                    sent = Some((bytes, records));
                }
                response
            }
        };
        if let Some(body) = response {
            write_response(&mut writer, header.correlation_id, api_key, version, &body).await?;
            // Metered once handed to the socket: a kill before this sent nothing.
            if let (Some((bytes, records)), Some(acting)) = (sent, &acting) {
                acting.usage.usage().kafka_out(bytes, records);
            }
        }
    }
}

/// The namespace a connection acts in: its rates, and its usage with the
/// connection counted as open in it.
struct Acting {
    namespace: String,
    rates: Arc<NamespaceRates>,
    usage: Connected,
}

/// The principal's namespace, from `cache` when it holds it.
fn acting_in<'c>(cache: &'c mut Option<Acting>, shared: &Shared, principal: &Principal) -> &'c Acting {
    let namespace = principal.namespace_id();
    let lookup = || Acting {
        namespace: namespace.to_owned(),
        rates: shared.tenancy.quotas().of(namespace),
        usage: shared.tenancy.meter().of(namespace).connected(),
    };
    let entry = cache.get_or_insert_with(lookup);
    if entry.namespace != namespace {
        *entry = lookup();
    }
    entry
}

/// Holds a successful login back while its namespace is past its rate of new
/// connections (Kafka clients wait for the answer; none is refused).
async fn login_rate(shared: &Shared, principal: &Principal) {
    let quotas = shared.tenancy.quotas();
    let wait = quotas.take_connection(&quotas.of(principal.namespace_id()));
    if !wait.is_zero() {
        debug!(?wait, "login held back by the namespace's connection rate");
        tokio::time::sleep(wait).await;
    }
}

/// A wait as Kafka's `throttle_time_ms`.
fn throttle_ms(wait: Duration) -> i32 {
    i32::try_from(wait.as_millis()).unwrap_or(i32::MAX)
}

/// Mutes the connection for `wait` (a longer mute already set stays).
fn mute(muted_until: &mut Option<Instant>, wait: Duration) {
    if !wait.is_zero() {
        let until = Instant::now() + wait;
        *muted_until = Some(muted_until.map_or(until, |current| current.max(until)));
    }
}

fn authenticated(principal: &Principal) {
    let span = tracing::Span::current();
    span.record("namespace", principal.namespace_id());
    span.record("user", principal.credential_id());
    debug!("authenticated");
}

/// A raw SASL token (handshake v0): size-prefixed, no Kafka header.
async fn write_raw<W: tokio::io::AsyncWrite + Unpin>(writer: &mut W, token: &[u8]) -> Result<(), Closed> {
    let size = i32::try_from(token.len()).map_err(|_| Closed::Encode("token too large".into()))?;
    writer.write_all(&size.to_be_bytes()).await?;
    writer.write_all(token).await?;
    writer.flush().await?;
    Ok(())
}

async fn dispatch(ctx: &Ctx<'_>, request: RequestKind, version: i16) -> Option<ResponseKind> {
    match request {
        RequestKind::Metadata(r) => Some(ResponseKind::Metadata(metadata::handle(ctx, r, version))),
        RequestKind::InitProducerId(r) => {
            Some(ResponseKind::InitProducerId(super::init_producer_id::handle(ctx, r).await))
        }
        RequestKind::Fetch(r) => Some(ResponseKind::Fetch(fetch::handle(ctx, r).await)),
        RequestKind::ListOffsets(r) => Some(ResponseKind::ListOffsets(list_offsets::handle(ctx, r).await)),
        RequestKind::CreateTopics(r) => Some(ResponseKind::CreateTopics(topics::create(ctx, r).await)),
        RequestKind::DeleteTopics(r) => Some(ResponseKind::DeleteTopics(topics::delete(ctx, r, version).await)),
        RequestKind::CreatePartitions(r) => {
            Some(ResponseKind::CreatePartitions(topics::create_partitions(ctx, r).await))
        }
        RequestKind::DeleteRecords(r) => Some(ResponseKind::DeleteRecords(delete_records::handle(ctx, r).await)),
        RequestKind::DescribeConfigs(r) => Some(ResponseKind::DescribeConfigs(configs::describe(ctx, r))),
        RequestKind::IncrementalAlterConfigs(r) => {
            Some(ResponseKind::IncrementalAlterConfigs(configs::alter(ctx, r).await))
        }
        RequestKind::FindCoordinator(r) => {
            Some(ResponseKind::FindCoordinator(groups::find_coordinator(ctx, r, version)))
        }
        RequestKind::JoinGroup(r) => Some(ResponseKind::JoinGroup(groups::join(ctx, r, version).await)),
        RequestKind::SyncGroup(r) => Some(ResponseKind::SyncGroup(groups::sync(ctx, r, version).await)),
        RequestKind::Heartbeat(r) => Some(ResponseKind::Heartbeat(groups::heartbeat(ctx, r))),
        RequestKind::LeaveGroup(r) => Some(ResponseKind::LeaveGroup(groups::leave(ctx, r, version))),
        RequestKind::OffsetCommit(r) => Some(ResponseKind::OffsetCommit(groups::commit(ctx, r).await)),
        RequestKind::OffsetFetch(r) => Some(ResponseKind::OffsetFetch(groups::fetch(ctx, r, version).await)),
        RequestKind::ListGroups(r) => Some(ResponseKind::ListGroups(groups::list(ctx, r).await)),
        RequestKind::DescribeGroups(r) => Some(ResponseKind::DescribeGroups(groups::describe(ctx, r, version).await)),
        RequestKind::DeleteGroups(r) => Some(ResponseKind::DeleteGroups(groups::delete(ctx, r).await)),
        // Only served kinds get here (see `versions`); the rest were refused.
        _ => None,
    }
}

/// Frames read by their own task, so waiting for the next one can be given up
/// (to write an answer) without losing half a frame. The task ends with the
/// connection.
struct Frames {
    receiver: mpsc::Receiver<Result<Bytes, Closed>>,
    _task: AbortOnDropHandle<()>,
}

fn spawn_reader<R: tokio::io::AsyncRead + Unpin + Send + 'static>(mut reader: R, max: u32) -> Frames {
    // One frame of look-ahead: a client that outruns us is held back by TCP.
    let (sender, receiver) = mpsc::channel(1);
    let task = tokio::spawn(async move {
        loop {
            match read_frame(&mut reader, max).await {
                Ok(Some(frame)) => {
                    if sender.send(Ok(frame)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    Frames { receiver, _task: AbortOnDropHandle::new(task) }
}

/// The next frame, or None at a clean end of stream.
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(reader: &mut R, max: u32) -> Result<Option<Bytes>, Closed> {
    let size = match reader.read_i32().await {
        Ok(size) => size,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = usize::try_from(size).map_err(|_| Closed::Malformed(format!("negative frame size {size}")))?;
    if size > max as usize {
        return Err(Closed::TooLarge(size));
    }
    let mut frame = BytesMut::zeroed(size);
    reader.read_exact(&mut frame).await?;
    Ok(Some(frame.freeze()))
}

async fn write_response<W: tokio::io::AsyncWrite + Unpin>(
    writer: &mut W,
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    body: &ResponseKind,
) -> Result<(), Closed> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, api_key.response_header_version(version))
        .map_err(|e| Closed::Encode(e.to_string()))?;
    body.encode(&mut buf, version).map_err(|e| Closed::Encode(e.to_string()))?;
    let size = i32::try_from(buf.len() - 4).map_err(|_| Closed::Encode("response too large".into()))?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    writer.write_all(&buf).await?;
    writer.flush().await?;
    Ok(())
}
