//! `{data_dir}/mqtt.redb`: what MQTT must keep across a broker crash —
//! persistent sessions (subscriptions, queued and in-flight messages, inbound
//! QoS 2 ids awaiting PUBREL), the wills of connections (of any session, so
//! that a will still goes out when the broker died under its connection),
//! retained messages and delayed publishes.
//!
//! One writer thread applies every change in submission order and commits
//! whatever has queued up in one redb transaction (group commit: one fsync for
//! many changes), then tells each waiter. Changes that must be atomic (a QoS 2
//! publish's delivery to every persistent subscriber together with its packet
//! id) are submitted as one batch. Owns the file format; knows nothing of
//! sockets, packets or routing.

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::mqtt::codec::{PacketId, QoS};
use crate::mqtt::message::Message;
use crate::mqtt::session::{Inflight, Phase};
use crate::mqtt::will::Will;

const FILE_NAME: &str = "mqtt.redb";
const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
const MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("messages");
const INBOUND: TableDefinition<&[u8], &[u8]> = TableDefinition::new("inbound");
const RETAINED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("retained");
const DELAYED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("delayed");
const WILLS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wills");
/// Most change batches committed in one transaction.
const MAX_BATCHES_PER_COMMIT: usize = 4096;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("MQTT store {path}: {message}")]
    Database { path: PathBuf, message: String },
    #[error("MQTT store {path}: a record does not decode: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("the MQTT store has stopped")]
    Stopped,
}

/// Which session a change is about: a client id inside a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub namespace: Arc<str>,
    pub client_id: Arc<str>,
}

/// A persistent session's own record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub subscriptions: Vec<StoredSubscription>,
    /// Session Expiry Interval in seconds; `None`: never expires.
    pub expiry_secs: Option<u32>,
    /// When its last connection ended (Unix ms); `None` while connected, or
    /// when the broker stopped under it (it then counts from the restart).
    pub disconnected_at_ms: Option<u64>,
}

/// The will of a session's connection: `due_ms` (Unix ms) once the
/// connection has ended and the will waits out its delay; `None` while the
/// connection lasts (if the broker stops under it, the delay counts from the
/// restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredWill {
    pub will: Will,
    pub due_ms: Option<u64>,
}

/// One subscription of a stored session, with its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSubscription {
    pub filter: String,
    /// Granted QoS bits.
    pub qos: u8,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub identifier: Option<u32>,
}

/// One change.
#[derive(Debug, Clone)]
pub enum Op {
    PutSession {
        key: SessionKey,
        record: SessionRecord,
    },
    /// The session record with all its messages and inbound ids.
    DeleteSession {
        key: SessionKey,
    },
    /// A message queued (`inflight` None) or in flight for the session.
    PutMessage {
        key: SessionKey,
        seq: u64,
        message: Message,
        inflight: Option<(PacketId, Phase)>,
    },
    DeleteMessage {
        key: SessionKey,
        seq: u64,
    },
    PutInbound {
        key: SessionKey,
        packet_id: PacketId,
    },
    DeleteInbound {
        key: SessionKey,
        packet_id: PacketId,
    },
    PutRetained {
        namespace: Arc<str>,
        message: Message,
    },
    DeleteRetained {
        namespace: Arc<str>,
        topic: Arc<str>,
    },
    /// A publish to deliver later.
    PutDelayed {
        delayed: Delayed,
    },
    DeleteDelayed {
        namespace: Arc<str>,
        due_ms: u64,
        seq: u64,
    },
    /// The will of the session's current connection, replacing any other.
    PutWill {
        key: SessionKey,
        will: StoredWill,
    },
    /// The session's will, if it is still the one with `token`.
    DeleteWill {
        key: SessionKey,
        token: u64,
    },
    /// Every session, will and retained message of the namespace.
    DeleteNamespace {
        namespace: Arc<str>,
    },
}

/// A persistent session as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub key: SessionKey,
    pub record: SessionRecord,
    /// Queued messages by sequence number.
    pub queued: Vec<(u64, Message)>,
    pub inflight: Vec<(u64, Inflight)>,
    pub awaiting_release: Vec<PacketId>,
}

/// A delayed publish waiting for its time: due at `due_ms` (Unix
/// milliseconds), `seq` ordering those due at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delayed {
    pub namespace: Arc<str>,
    pub due_ms: u64,
    pub seq: u64,
    pub message: Message,
}

/// Everything the store holds, read at start.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sessions: Vec<StoredSession>,
    /// (namespace, retained message).
    pub retained: Vec<(Arc<str>, Message)>,
    pub delayed: Vec<Delayed>,
    pub wills: Vec<(SessionKey, StoredWill)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredMessage {
    message: Message,
    /// (packet id, phase number) while in flight.
    inflight: Option<(u16, u8)>,
}

struct Request {
    ops: Vec<Op>,
    done: Option<oneshot::Sender<Result<(), StoreError>>>,
}

/// The handle every session and connection shares; cheap to clone. When the
/// last one is dropped, the writer finishes what was submitted and closes the
/// file.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    requests: Mutex<Option<std_mpsc::Sender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.requests.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        let writer = self.writer.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            tracing::error!("the MQTT store writer panicked");
        }
    }
}

impl Store {
    /// Opens (creating) the store in `dir`, reads it whole and starts the
    /// writer thread. Blocking.
    pub fn open(dir: &Path) -> Result<(Store, Loaded), StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| database_error(dir, e))?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path).map_err(|e| database_error(&path, e))?;
        let loaded = load(&db, &path)?;
        let (requests, receiver) = std_mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("omnibus-mqtt-store".into())
            .spawn(move || write_loop(&db, &path, &receiver))
            .map_err(|e| database_error(dir, e))?;
        let inner = Inner { requests: Mutex::new(Some(requests)), writer: Mutex::new(Some(writer)) };
        Ok((Store { inner: Arc::new(inner) }, loaded))
    }

    fn send(&self, request: Request) -> Result<(), StoreError> {
        let requests = self.inner.requests.lock().unwrap_or_else(PoisonError::into_inner);
        requests.as_ref().ok_or(StoreError::Stopped)?.send(request).map_err(|_| StoreError::Stopped)
    }

    /// Submits `ops` as one atomic batch, after everything submitted before,
    /// and waits until they are on disk.
    pub async fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.send(Request { ops, done: Some(done) })?;
        wait.await.unwrap_or(Err(StoreError::Stopped))
    }

    /// Submits `ops` without waiting; they still land in order.
    pub fn submit(&self, ops: Vec<Op>) {
        if self.send(Request { ops, done: None }).is_err() {
            tracing::error!("the MQTT store has stopped; a change to a persistent session is lost");
        }
    }
}

fn write_loop(db: &Database, path: &Path, receiver: &std_mpsc::Receiver<Request>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCHES_PER_COMMIT
            && let Ok(next) = receiver.try_recv()
        {
            batch.push(next);
        }
        let result = apply(db, path, &batch);
        if let Err(error) = &result {
            tracing::error!(%error, "cannot commit MQTT session state");
        }
        for request in batch {
            if let Some(done) = request.done {
                let _ = done.send(result.clone());
            }
        }
    }
}

fn apply(db: &Database, path: &Path, batch: &[Request]) -> Result<(), StoreError> {
    let error = |e: redb::Error| database_error(path, e);
    let txn = db.begin_write().map_err(|e| error(e.into()))?;
    {
        let mut sessions = txn.open_table(SESSIONS).map_err(|e| error(e.into()))?;
        let mut messages = txn.open_table(MESSAGES).map_err(|e| error(e.into()))?;
        let mut inbound = txn.open_table(INBOUND).map_err(|e| error(e.into()))?;
        let mut retained = txn.open_table(RETAINED).map_err(|e| error(e.into()))?;
        let mut delayed = txn.open_table(DELAYED).map_err(|e| error(e.into()))?;
        let mut wills = txn.open_table(WILLS).map_err(|e| error(e.into()))?;
        for op in batch.iter().flat_map(|request| &request.ops) {
            match op {
                Op::PutSession { key, record } => {
                    sessions
                        .insert(session_key(key).as_slice(), encode(record).as_slice())
                        .map_err(|e| error(e.into()))?;
                }
                Op::DeleteSession { key } => {
                    let prefix = session_key(key);
                    sessions.remove(prefix.as_slice()).map_err(|e| error(e.into()))?;
                    remove_prefix(&mut messages, &prefix).map_err(error)?;
                    remove_prefix(&mut inbound, &prefix).map_err(error)?;
                }
                Op::PutMessage { key, seq, message, inflight } => {
                    let value = StoredMessage {
                        message: message.clone(),
                        inflight: inflight.map(|(id, phase)| (id.get(), phase_number(phase))),
                    };
                    messages
                        .insert(message_key(key, *seq).as_slice(), encode(&value).as_slice())
                        .map_err(|e| error(e.into()))?;
                }
                Op::DeleteMessage { key, seq } => {
                    messages.remove(message_key(key, *seq).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::PutInbound { key, packet_id } => {
                    inbound.insert(inbound_key(key, *packet_id).as_slice(), &[][..]).map_err(|e| error(e.into()))?;
                }
                Op::DeleteInbound { key, packet_id } => {
                    inbound.remove(inbound_key(key, *packet_id).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::PutRetained { namespace, message } => {
                    let key = retained_key(namespace, &message.topic);
                    retained.insert(key.as_slice(), encode(message).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::DeleteRetained { namespace, topic } => {
                    retained.remove(retained_key(namespace, topic).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::PutDelayed { delayed: entry } => {
                    let key = delayed_key(&entry.namespace, entry.due_ms, entry.seq);
                    delayed.insert(key.as_slice(), encode(&entry.message).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::DeleteDelayed { namespace, due_ms, seq } => {
                    delayed.remove(delayed_key(namespace, *due_ms, *seq).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::PutWill { key, will } => {
                    wills.insert(session_key(key).as_slice(), encode(will).as_slice()).map_err(|e| error(e.into()))?;
                }
                Op::DeleteWill { key, token } => {
                    let key = session_key(key);
                    let stored = wills.get(key.as_slice()).map_err(|e| error(e.into()))?;
                    // One that does not decode is no use to anyone either.
                    let ours = stored
                        .is_some_and(|v| decode::<StoredWill>(v.value()).ok().is_none_or(|w| w.will.token == *token));
                    if ours {
                        wills.remove(key.as_slice()).map_err(|e| error(e.into()))?;
                    }
                }
                Op::DeleteNamespace { namespace } => {
                    let prefix = namespace_prefix(namespace);
                    for table in [&mut sessions, &mut messages, &mut inbound, &mut retained, &mut delayed, &mut wills] {
                        remove_prefix(table, &prefix).map_err(error)?;
                    }
                }
            }
        }
    }
    txn.commit().map_err(|e| error(e.into()))
}

fn remove_prefix(table: &mut redb::Table<&[u8], &[u8]>, prefix: &[u8]) -> Result<(), redb::Error> {
    let keys: Vec<Vec<u8>> = table
        .range(prefix..)?
        .map(|entry| entry.map(|(key, _)| key.value().to_vec()))
        .take_while(|key| key.as_ref().map_or(true, |k| k.starts_with(prefix)))
        .collect::<Result<_, _>>()?;
    for key in keys {
        table.remove(key.as_slice())?;
    }
    Ok(())
}

fn load(db: &Database, path: &Path) -> Result<Loaded, StoreError> {
    let error = |e: redb::Error| database_error(path, e);
    let corrupt = |message: String| StoreError::Corrupt { path: path.to_path_buf(), message };
    // Create the tables on first start, so reading finds them.
    let txn = db.begin_write().map_err(|e| error(e.into()))?;
    for table in [SESSIONS, MESSAGES, INBOUND, RETAINED, DELAYED, WILLS] {
        txn.open_table(table).map_err(|e| error(e.into()))?;
    }
    txn.commit().map_err(|e| error(e.into()))?;

    let txn = db.begin_read().map_err(|e| error(e.into()))?;
    let mut sessions: Vec<StoredSession> = Vec::new();
    let table = txn.open_table(SESSIONS).map_err(|e| error(e.into()))?;
    for entry in table.iter().map_err(|e| error(e.into()))? {
        let (key, value) = entry.map_err(|e| error(e.into()))?;
        let (session, _) = parse_session_key(key.value()).ok_or_else(|| corrupt("a session key".into()))?;
        let record: SessionRecord = decode(value.value()).map_err(&corrupt)?;
        sessions.push(StoredSession {
            key: session,
            record,
            queued: Vec::new(),
            inflight: Vec::new(),
            awaiting_release: Vec::new(),
        });
    }
    // Sessions come back in key order, as the other tables iterate.
    let index = |key: &SessionKey, sessions: &[StoredSession]| {
        sessions.binary_search_by(|s| session_key(&s.key).cmp(&session_key(key))).ok()
    };
    let table = txn.open_table(MESSAGES).map_err(|e| error(e.into()))?;
    for entry in table.iter().map_err(|e| error(e.into()))? {
        let (key, value) = entry.map_err(|e| error(e.into()))?;
        let (session, rest) = parse_session_key(key.value()).ok_or_else(|| corrupt("a message key".into()))?;
        let seq = u64::from_be_bytes(rest.try_into().map_err(|_| corrupt("a message sequence number".into()))?);
        let stored: StoredMessage = decode(value.value()).map_err(&corrupt)?;
        let Some(i) = index(&session, &sessions) else { continue };
        match stored.inflight {
            None => sessions[i].queued.push((seq, stored.message)),
            Some((id, phase)) => {
                let packet_id = PacketId::new(id).ok_or_else(|| corrupt("packet id 0".into()))?;
                let phase = phase_of(phase).ok_or_else(|| corrupt(format!("phase {phase}")))?;
                sessions[i].inflight.push((seq, Inflight { packet_id, message: stored.message, phase }));
            }
        }
    }
    let table = txn.open_table(INBOUND).map_err(|e| error(e.into()))?;
    for entry in table.iter().map_err(|e| error(e.into()))? {
        let (key, _) = entry.map_err(|e| error(e.into()))?;
        let (session, rest) = parse_session_key(key.value()).ok_or_else(|| corrupt("an inbound key".into()))?;
        let id = u16::from_be_bytes(rest.try_into().map_err(|_| corrupt("an inbound packet id".into()))?);
        let packet_id = PacketId::new(id).ok_or_else(|| corrupt("packet id 0".into()))?;
        if let Some(i) = index(&session, &sessions) {
            sessions[i].awaiting_release.push(packet_id);
        }
    }
    let mut retained = Vec::new();
    let table = txn.open_table(RETAINED).map_err(|e| error(e.into()))?;
    for entry in table.iter().map_err(|e| error(e.into()))? {
        let (key, value) = entry.map_err(|e| error(e.into()))?;
        let (namespace, _) = parse_part(key.value()).ok_or_else(|| corrupt("a retained key".into()))?;
        let message: Message = decode(value.value()).map_err(&corrupt)?;
        retained.push((Arc::from(namespace), message));
    }
    let mut delayed = Vec::new();
    let table = txn.open_table(DELAYED).map_err(|e| error(e.into()))?;
    for entry in table.iter().map_err(|e| error(e.into()))? {
        let (key, value) = entry.map_err(|e| error(e.into()))?;
        let bad_key = || corrupt("a delayed key".into());
        let (namespace, rest) = parse_part(key.value()).ok_or_else(bad_key)?;
        let (due, seq) = rest.split_at_checked(8).ok_or_else(bad_key)?;
        let number = |bytes: &[u8]| bytes.try_into().map(u64::from_be_bytes).map_err(|_| bad_key());
        let message: Message = decode(value.value()).map_err(&corrupt)?;
        delayed.push(Delayed { namespace: Arc::from(namespace), due_ms: number(due)?, seq: number(seq)?, message });
    }
    let mut wills = Vec::new();
    let table = txn.open_table(WILLS).map_err(|e| error(e.into()))?;
    for entry in table.iter().map_err(|e| error(e.into()))? {
        let (key, value) = entry.map_err(|e| error(e.into()))?;
        let (session, rest) = parse_session_key(key.value()).ok_or_else(|| corrupt("a will key".into()))?;
        if !rest.is_empty() {
            return Err(corrupt("a will key".into()));
        }
        wills.push((session, decode(value.value()).map_err(&corrupt)?));
    }
    Ok(Loaded { sessions, retained, delayed, wills })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs into a Vec cannot fail.
    postcard::to_stdvec(value).unwrap_or_default()
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}

fn database_error(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Database { path: path.to_path_buf(), message: error.to_string() }
}

fn phase_number(phase: Phase) -> u8 {
    match phase {
        Phase::AwaitingAck => 1,
        Phase::AwaitingRec => 2,
        Phase::AwaitingComp => 3,
    }
}

fn phase_of(number: u8) -> Option<Phase> {
    match number {
        1 => Some(Phase::AwaitingAck),
        2 => Some(Phase::AwaitingRec),
        3 => Some(Phase::AwaitingComp),
        _ => None,
    }
}

/// A length-prefixed string, so one key part never runs into the next.
fn put_part(key: &mut Vec<u8>, part: &str) {
    let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
}

fn parse_part(key: &[u8]) -> Option<(&str, &[u8])> {
    let len = usize::from(u16::from_be_bytes(key.get(..2)?.try_into().ok()?));
    let part = std::str::from_utf8(key.get(2..2 + len)?).ok()?;
    Some((part, &key[2 + len..]))
}

fn namespace_prefix(namespace: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(namespace.len() + 2);
    put_part(&mut key, namespace);
    key
}

fn session_key(key: &SessionKey) -> Vec<u8> {
    let mut bytes = namespace_prefix(&key.namespace);
    put_part(&mut bytes, &key.client_id);
    bytes
}

fn parse_session_key(bytes: &[u8]) -> Option<(SessionKey, &[u8])> {
    let (namespace, rest) = parse_part(bytes)?;
    let (client_id, rest) = parse_part(rest)?;
    Some((SessionKey { namespace: Arc::from(namespace), client_id: Arc::from(client_id) }, rest))
}

fn message_key(key: &SessionKey, seq: u64) -> Vec<u8> {
    let mut bytes = session_key(key);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes
}

fn inbound_key(key: &SessionKey, packet_id: PacketId) -> Vec<u8> {
    let mut bytes = session_key(key);
    bytes.extend_from_slice(&packet_id.get().to_be_bytes());
    bytes
}

fn delayed_key(namespace: &str, due_ms: u64, seq: u64) -> Vec<u8> {
    let mut bytes = namespace_prefix(namespace);
    bytes.extend_from_slice(&due_ms.to_be_bytes());
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes
}

fn retained_key(namespace: &str, topic: &str) -> Vec<u8> {
    let mut bytes = namespace_prefix(namespace);
    bytes.extend_from_slice(topic.as_bytes());
    bytes
}

/// The QoS a stored subscription was granted.
pub fn qos_of(bits: u8) -> QoS {
    QoS::from_bits(bits).unwrap_or(QoS::AtMostOnce)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("omnibus-dp-mqtt-store-{}", uuid::Uuid::new_v4()))
    }

    fn key(namespace: &str, client_id: &str) -> SessionKey {
        SessionKey { namespace: Arc::from(namespace), client_id: Arc::from(client_id) }
    }

    fn message(topic: &str, payload: &'static str) -> Message {
        Message::new(Arc::from(topic), Bytes::from_static(payload.as_bytes()), QoS::AtLeastOnce, false)
    }

    fn pid(id: u16) -> PacketId {
        PacketId::new(id).unwrap()
    }

    #[tokio::test]
    async fn sessions_messages_and_retained_survive_a_reopen() {
        let dir = dir();
        let (store, loaded) = Store::open(&dir).unwrap();
        assert!(loaded.sessions.is_empty() && loaded.retained.is_empty());
        let a = key("ns-1", "a");
        let subscription = StoredSubscription {
            filter: "t/#".into(),
            qos: 1,
            no_local: true,
            retain_as_published: false,
            identifier: Some(4),
        };
        let record =
            SessionRecord { subscriptions: vec![subscription], expiry_secs: Some(60), disconnected_at_ms: Some(9) };
        store
            .commit(vec![
                Op::PutSession { key: a.clone(), record: record.clone() },
                Op::PutMessage { key: a.clone(), seq: 1, message: message("t/1", "one"), inflight: None },
                Op::PutMessage { key: a.clone(), seq: 2, message: message("t/2", "two"), inflight: None },
                Op::PutInbound { key: a.clone(), packet_id: pid(9) },
                Op::PutSession { key: key("ns-1", "ab"), record: SessionRecord::default() },
                Op::PutRetained { namespace: Arc::from("ns-1"), message: message("r", "kept") },
                Op::PutRetained { namespace: Arc::from("ns-2"), message: message("r", "other") },
                Op::PutDelayed {
                    delayed: Delayed {
                        namespace: Arc::from("ns-1"),
                        due_ms: 77,
                        seq: 3,
                        message: message("d", "later"),
                    },
                },
                Op::PutDelayed {
                    delayed: Delayed {
                        namespace: Arc::from("ns-2"),
                        due_ms: 5,
                        seq: 4,
                        message: message("d", "sooner"),
                    },
                },
            ])
            .await
            .unwrap();
        // Send the first one, deliver the second; a session with a prefix of a's name keeps its own state.
        store.submit(vec![Op::PutMessage {
            key: a.clone(),
            seq: 1,
            message: message("t/1", "one"),
            inflight: Some((pid(1), Phase::AwaitingAck)),
        }]);
        store.commit(vec![Op::DeleteMessage { key: a.clone(), seq: 2 }]).await.unwrap();
        drop(store);

        let (store, loaded) = Store::open(&dir).unwrap();
        assert_eq!(loaded.sessions.len(), 2);
        let stored = loaded.sessions.iter().find(|s| s.key == a).unwrap();
        assert_eq!(stored.record, record);
        assert!(stored.queued.is_empty());
        assert_eq!(stored.inflight.len(), 1);
        assert_eq!((stored.inflight[0].0, stored.inflight[0].1.phase), (1, Phase::AwaitingAck));
        assert_eq!(stored.awaiting_release, vec![pid(9)]);
        assert_eq!(loaded.retained.len(), 2);
        assert_eq!(loaded.delayed.iter().map(|d| (d.due_ms, d.seq)).collect::<Vec<_>>(), [(77, 3), (5, 4)]);
        store.commit(vec![Op::DeleteDelayed { namespace: Arc::from("ns-1"), due_ms: 77, seq: 3 }]).await.unwrap();

        store
            .commit(vec![Op::DeleteSession { key: a.clone() }, Op::DeleteNamespace { namespace: Arc::from("ns-2") }])
            .await
            .unwrap();
        drop(store);
        let (_, loaded) = Store::open(&dir).unwrap();
        assert_eq!(loaded.sessions.iter().map(|s| s.key.client_id.as_ref()).collect::<Vec<_>>(), ["ab"]);
        assert_eq!(loaded.retained.iter().map(|(ns, _)| ns.as_ref()).collect::<Vec<_>>(), ["ns-1"]);
        assert!(loaded.delayed.is_empty(), "one delivered, the other gone with its namespace");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn will(topic: &str) -> Will {
        use crate::mqtt::codec::LastWill;
        Will::of(LastWill {
            topic: Arc::from(topic),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Box::default(),
        })
    }

    #[tokio::test]
    async fn a_will_is_forgotten_only_by_its_own_connection() {
        let dir = dir();
        let (store, _) = Store::open(&dir).unwrap();
        let (a, b, c) = (key("ns-1", "a"), key("ns-1", "b"), key("ns-2", "c"));
        let (first, second) = (will("status/a"), will("status/a2"));
        store.submit(vec![
            Op::PutWill { key: a.clone(), will: StoredWill { will: first.clone(), due_ms: None } },
            Op::PutWill { key: b.clone(), will: StoredWill { will: will("status/b"), due_ms: Some(42) } },
            Op::PutWill { key: c.clone(), will: StoredWill { will: will("status/c"), due_ms: None } },
        ]);
        // A second connection of `a` replaces the will; the first one's goodbye leaves it alone.
        store.submit(vec![Op::PutWill { key: a.clone(), will: StoredWill { will: second.clone(), due_ms: None } }]);
        store.commit(vec![Op::DeleteWill { key: a.clone(), token: first.token }]).await.unwrap();
        drop(store);
        let (store, loaded) = Store::open(&dir).unwrap();
        let wills: Vec<(String, String, Option<u64>)> = loaded
            .wills
            .iter()
            .map(|(key, stored)| {
                (key.client_id.to_string(), stored.will.publication(0).topic.to_string(), stored.due_ms)
            })
            .collect();
        let expected = [("a", "status/a2", None), ("b", "status/b", Some(42)), ("c", "status/c", None)]
            .map(|(client, topic, due)| (client.to_string(), topic.to_string(), due));
        assert_eq!(wills, expected);
        store
            .commit(vec![
                Op::DeleteWill { key: a.clone(), token: second.token },
                Op::DeleteNamespace { namespace: Arc::from("ns-2") },
            ])
            .await
            .unwrap();
        drop(store);
        let (_, loaded) = Store::open(&dir).unwrap();
        assert_eq!(loaded.wills.iter().map(|(k, _)| k.client_id.as_ref()).collect::<Vec<_>>(), ["b"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
