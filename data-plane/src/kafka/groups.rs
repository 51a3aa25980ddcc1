//! Kafka consumer groups (the classic rebalance protocol) and their committed
//! offsets, per namespace: the same group id in two namespaces is two groups,
//! and nothing here answers one namespace with another's groups.
//!
//! - `state`: one group's membership state machine, without I/O;
//! - `offsets`: the committed offsets file of a namespace;
//! - [`Groups`] (here): every namespace's groups and offsets, the waiting
//!   JoinGroup/SyncGroup requests, and the timer that expires sessions;
//! - request handlers: `coordinator` (FindCoordinator), `membership`
//!   (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), `commit` (OffsetCommit,
//!   OffsetFetch), `admin` (ListGroups, DescribeGroups, DeleteGroups).
//!
//! Membership lives in memory only (after a restart members rejoin, as they do
//! when a Kafka coordinator moves); committed offsets are on disk before a
//! commit is acknowledged. Static members (`group.instance.id`) keep their
//! place across their own restarts (see `state`), not across the broker's.
//! Must not touch the topic catalog's state or the partition logs.

mod admin;
mod commit;
mod coordinator;
mod membership;
mod offsets;
mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

pub use admin::{delete, describe, list};
pub use commit::{commit, fetch};
pub use coordinator::find_coordinator;
pub use membership::{heartbeat, join, leave, sync};

use offsets::{Committed, Document, GroupOffsets, OffsetsError};
use state::{Completion, Group, GroupError, JoinRequest, JoinResult, Joined, MemberSummary, Synced};

/// How often session, rebalance and sync timeouts are checked.
const TICK: Duration = Duration::from_millis(200);
const DIR: &str = "groups";

/// Why committed offsets could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    #[error(transparent)]
    Offsets(#[from] OffsetsError),
    #[error("the offsets task did not finish: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
    #[error("the namespace was deleted")]
    NamespaceDeleted,
    #[error(transparent)]
    Group(#[from] GroupError),
    #[error("the group has members")]
    NonEmpty,
    #[error("no such group")]
    NotFound,
}

/// Who sends a group request: its member id and, for a static member, its
/// `group.instance.id`.
#[derive(Debug, Clone, Copy)]
pub struct MemberRef<'a> {
    pub id: &'a str,
    pub instance_id: Option<&'a str>,
}

/// A JoinGroup or SyncGroup answer, now or later.
enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<Result<T, GroupError>>),
}

/// A group as ListGroups and DescribeGroups show it.
pub struct GroupSummary {
    pub group_id: String,
    pub state: &'static str,
    pub protocol_type: String,
    /// The chosen protocol while Stable, else empty.
    pub protocol: String,
    pub members: Vec<MemberSummary>,
}

/// Every namespace's groups.
pub struct Groups {
    dir: PathBuf,
    tenants: Mutex<HashMap<String, Arc<Tenant>>>,
    /// Each namespace's consumer group quota; absent: no limit.
    limits: Mutex<HashMap<String, u32>>,
}

/// One namespace's groups.
struct Tenant {
    groups: Mutex<BTreeMap<String, Slot>>,
    /// Held across a change and its write to disk, so writes land in order.
    offsets: tokio::sync::Mutex<Offsets>,
    /// The groups with committed offsets, as on disk (kept beside the
    /// document so the quota is checked under the groups' lock alone).
    with_offsets: Mutex<BTreeSet<String>>,
}

struct Offsets {
    document: Document,
    /// The namespace was deleted: nothing more is written for it.
    deleted: bool,
}

/// A group and the requests of its members that wait for an answer.
#[derive(Default)]
struct Slot {
    group: Group,
    joins: HashMap<String, oneshot::Sender<Result<JoinResult, GroupError>>>,
    syncs: HashMap<String, oneshot::Sender<Result<Bytes, GroupError>>>,
}

impl Slot {
    fn deliver(&mut self) {
        for completion in self.group.take_completions() {
            match completion {
                Completion::Join { member_id, result } => {
                    if let Some(waiter) = self.joins.remove(&member_id) {
                        let _ = waiter.send(result);
                    }
                }
                Completion::Sync { member_id, result } => {
                    if let Some(waiter) = self.syncs.remove(&member_id) {
                        let _ = waiter.send(result);
                    }
                }
            }
        }
    }
}

impl Tenant {
    fn new(document: Document) -> Tenant {
        let with_offsets = document.groups.keys().cloned().collect();
        Tenant {
            groups: Mutex::new(BTreeMap::new()),
            offsets: tokio::sync::Mutex::new(Offsets { document, deleted: false }),
            with_offsets: Mutex::new(with_offsets),
        }
    }

    fn groups(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_offsets(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.with_offsets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `group_id` may be used under a quota of `limit` groups: an
    /// existing group (members or offsets) always, a new one while the
    /// namespace has fewer.
    fn admits(&self, groups: &BTreeMap<String, Slot>, group_id: &str, limit: Option<u32>) -> bool {
        let with_offsets = self.with_offsets();
        let live = |slot: &Slot| !slot.group.is_idle();
        if with_offsets.contains(group_id) || groups.get(group_id).is_some_and(live) {
            return true;
        }
        let Some(limit) = limit else { return true };
        let count = with_offsets.len()
            + groups.iter().filter(|(id, slot)| live(slot) && !with_offsets.contains(id.as_str())).count();
        count < limit as usize
    }
}

impl Groups {
    /// Loads every namespace's committed offsets from `{data_dir}/groups`.
    /// Blocking.
    pub fn open(data_dir: &Path) -> Result<Groups, GroupsError> {
        let dir = data_dir.join(DIR);
        let tenants = offsets::load_all(&dir)?
            .into_iter()
            .map(|document| (document.namespace.clone(), Arc::new(Tenant::new(document))))
            .collect();
        Ok(Groups { dir, tenants: Mutex::new(tenants), limits: Mutex::default() })
    }

    /// Sets the namespace's consumer group quota (`None`: no limit); groups
    /// it has already keep working.
    pub fn set_limit(&self, namespace: &str, max_groups: Option<u32>) {
        let mut limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        match max_groups {
            Some(max) => limits.insert(namespace.to_owned(), max),
            None => limits.remove(namespace),
        };
    }

    fn limit(&self, namespace: &str) -> Option<u32> {
        self.limits.lock().unwrap_or_else(PoisonError::into_inner).get(namespace).copied()
    }

    /// Runs the group timers until `groups` is dropped.
    pub fn spawn_timers(groups: &Arc<Groups>) {
        let groups: Weak<Groups> = Arc::downgrade(groups);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(groups) = groups.upgrade() else { return };
                groups.tick(Instant::now());
            }
        });
    }

    /// Drops every group and committed offset of a namespace; idempotent.
    pub async fn delete_namespace(&self, namespace: &str) -> Result<(), GroupsError> {
        let removed = self.lock().remove(namespace);
        if let Some(tenant) = &removed {
            // Fail whatever waits; the namespace's connections are being closed.
            tenant.groups().clear();
            tenant.offsets.lock().await.deleted = true;
        }
        let (dir, namespace) = (self.dir.clone(), namespace.to_string());
        tokio::task::spawn_blocking(move || offsets::remove(&dir, &namespace)).await??;
        Ok(())
    }

    fn tick(&self, now: Instant) {
        let tenants: Vec<Arc<Tenant>> = self.lock().values().cloned().collect();
        for tenant in tenants {
            let mut groups = tenant.groups();
            for slot in groups.values_mut() {
                slot.group.tick(now);
                slot.deliver();
            }
            groups.retain(|_, slot| !(slot.group.is_idle() && slot.joins.is_empty() && slot.syncs.is_empty()));
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Tenant>>> {
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tenant(&self, namespace: &str) -> Arc<Tenant> {
        self.lock()
            .entry(namespace.to_string())
            .or_insert_with(|| Arc::new(Tenant::new(Document::new(namespace))))
            .clone()
    }

    fn join(&self, namespace: &str, group_id: &str, request: JoinRequest) -> Result<JoinReply, GroupError> {
        let tenant = self.tenant(namespace);
        let mut groups = tenant.groups();
        if !tenant.admits(&groups, group_id, self.limit(namespace)) {
            return Err(GroupError::QuotaExceeded);
        }
        let slot = groups.entry(group_id.to_string()).or_default();
        let joined = slot.group.join(Instant::now(), request);
        let reply = match joined {
            Ok(Joined::MemberIdRequired(id)) => Ok(JoinReply::MemberIdRequired(id)),
            Ok(Joined::Now(result)) => Ok(JoinReply::Reply(Reply::Now(result))),
            Ok(Joined::Pending(member_id)) => {
                let (sender, receiver) = oneshot::channel();
                slot.joins.insert(member_id, sender);
                Ok(JoinReply::Reply(Reply::Later(receiver)))
            }
            Err(e) => Err(e),
        };
        slot.deliver();
        reply
    }

    fn sync(
        &self,
        namespace: &str,
        group_id: &str,
        member: MemberRef<'_>,
        generation: i32,
        protocol: (Option<&str>, Option<&str>),
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Reply<Bytes>, GroupError> {
        let tenant = self.tenant(namespace);
        let mut groups = tenant.groups();
        let Some(slot) = groups.get_mut(group_id) else { return Err(GroupError::UnknownMemberId) };
        let now = Instant::now();
        let synced =
            slot.group.sync(now, member.id, member.instance_id, generation, protocol.0, protocol.1, assignments);
        let reply = match synced {
            Ok(Synced::Now(assignment)) => Ok(Reply::Now(assignment)),
            Ok(Synced::Pending) => {
                let (sender, receiver) = oneshot::channel();
                slot.syncs.insert(member.id.to_string(), sender);
                Ok(Reply::Later(receiver))
            }
            Err(e) => Err(e),
        };
        slot.deliver();
        reply
    }

    /// Applies `change` to an existing group, then answers whoever waits.
    fn with_group<T>(
        &self,
        namespace: &str,
        group_id: &str,
        change: impl FnOnce(&mut Group) -> Result<T, GroupError>,
    ) -> Result<T, GroupError> {
        let tenant = self.tenant(namespace);
        let mut groups = tenant.groups();
        let Some(slot) = groups.get_mut(group_id) else { return Err(GroupError::UnknownMemberId) };
        let result = change(&mut slot.group);
        slot.deliver();
        result
    }

    fn heartbeat(
        &self,
        namespace: &str,
        group_id: &str,
        member: MemberRef<'_>,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.with_group(namespace, group_id, |group| {
            group.heartbeat(Instant::now(), member.id, member.instance_id, generation)
        })
    }

    fn leave(&self, namespace: &str, group_id: &str, member: MemberRef<'_>) -> Result<(), GroupError> {
        self.with_group(namespace, group_id, |group| group.leave(Instant::now(), member.id, member.instance_id))
    }

    /// Stores committed offsets on disk, then in memory, if the member and
    /// generation may commit to the group.
    async fn commit(
        &self,
        namespace: &str,
        group_id: &str,
        member: MemberRef<'_>,
        generation: i32,
        commits: &[(String, i32, Committed)],
    ) -> Result<(), GroupsError> {
        let tenant = self.tenant(namespace);
        {
            let mut groups = tenant.groups();
            if !tenant.admits(&groups, group_id, self.limit(namespace)) {
                return Err(GroupError::QuotaExceeded.into());
            }
            match groups.get_mut(group_id) {
                Some(slot) => slot.group.check_commit(Instant::now(), member.id, member.instance_id, generation)?,
                None if generation < 0 => {}
                None => return Err(GroupError::IllegalGeneration.into()),
            }
        }
        let mut offsets = tenant.offsets.lock().await;
        if offsets.deleted {
            return Err(GroupsError::NamespaceDeleted);
        }
        let next = offsets.document.with_commits(group_id, commits);
        offsets.document = self.save(next).await?;
        tenant.with_offsets().insert(group_id.to_owned());
        Ok(())
    }

    /// Writes `document` off the async workers; returns it once it is on disk.
    async fn save(&self, document: Document) -> Result<Document, GroupsError> {
        let dir = self.dir.clone();
        Ok(tokio::task::spawn_blocking(move || offsets::save(&dir, &document).map(|()| document)).await??)
    }

    async fn committed(&self, namespace: &str, group_id: &str) -> GroupOffsets {
        let tenant = self.tenant(namespace);
        let offsets = tenant.offsets.lock().await;
        offsets.document.groups.get(group_id).cloned().unwrap_or_default()
    }

    /// The namespace's groups: those with members and those with offsets.
    async fn summaries(&self, namespace: &str) -> Vec<GroupSummary> {
        let tenant = self.tenant(namespace);
        let with_offsets: Vec<String> = tenant.offsets.lock().await.document.groups.keys().cloned().collect();
        let groups = tenant.groups();
        let mut summaries: BTreeMap<String, GroupSummary> = groups
            .iter()
            .filter(|(_, slot)| !slot.group.is_idle())
            .map(|(id, slot)| (id.clone(), summary(id, &slot.group)))
            .collect();
        for id in with_offsets {
            summaries.entry(id.clone()).or_insert_with(|| summary(&id, &Group::new()));
        }
        summaries.into_values().collect()
    }

    async fn summary(&self, namespace: &str, group_id: &str) -> Option<GroupSummary> {
        let tenant = self.tenant(namespace);
        let has_offsets = tenant.offsets.lock().await.document.groups.contains_key(group_id);
        let groups = tenant.groups();
        match groups.get(group_id) {
            Some(slot) if !slot.group.is_idle() => Some(summary(group_id, &slot.group)),
            _ if has_offsets => Some(summary(group_id, &Group::new())),
            _ => None,
        }
    }

    /// Deletes a group without members and its offsets.
    async fn delete(&self, namespace: &str, group_id: &str) -> Result<(), GroupsError> {
        let tenant = self.tenant(namespace);
        let mut offsets = tenant.offsets.lock().await;
        let had_members = {
            let mut groups = tenant.groups();
            match groups.get(group_id) {
                Some(slot) if !slot.group.is_idle() => true,
                Some(_) => {
                    groups.remove(group_id);
                    false
                }
                None => false,
            }
        };
        if had_members {
            return Err(GroupsError::NonEmpty);
        }
        if offsets.deleted || !offsets.document.groups.contains_key(group_id) {
            return Err(GroupsError::NotFound);
        }
        let next = offsets.document.without(group_id);
        offsets.document = self.save(next).await?;
        tenant.with_offsets().remove(group_id);
        Ok(())
    }
}

/// What a JoinGroup gets from [`Groups::join`].
enum JoinReply {
    MemberIdRequired(String),
    Reply(Reply<JoinResult>),
}

fn summary(group_id: &str, group: &Group) -> GroupSummary {
    GroupSummary {
        group_id: group_id.to_string(),
        state: group.phase().name(),
        protocol_type: group.protocol_type().unwrap_or_default().to_string(),
        protocol: group.stable_protocol().unwrap_or_default().to_string(),
        members: group.summaries(),
    }
}

/// The Kafka error of a refused group request.
fn error_code(error: GroupError) -> i16 {
    use kafka_protocol::ResponseError;
    match error {
        GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
        GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
        GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
        GroupError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
        GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
        GroupError::QuotaExceeded => ResponseError::PolicyViolation,
    }
    .code()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("omnibus-dp-groups-{}", uuid::Uuid::new_v4()))
    }

    fn committed(offset: i64) -> Committed {
        Committed { offset, leader_epoch: -1, metadata: None }
    }

    #[tokio::test]
    async fn offsets_are_per_namespace_survive_a_reopen_and_go_with_the_namespace() {
        let data = dir();
        let groups = Groups::open(&data).unwrap();
        let simple = MemberRef { id: "", instance_id: None };
        groups.commit("a", "g", simple, -1, &[("t".into(), 0, committed(5))]).await.unwrap();
        groups.commit("b", "g", simple, -1, &[("t".into(), 0, committed(9))]).await.unwrap();
        let member = MemberRef { id: "m", instance_id: None };
        let refused = groups.commit("a", "h", member, 3, &[("t".into(), 0, committed(1))]).await;
        assert!(matches!(refused, Err(GroupsError::Group(GroupError::IllegalGeneration))));
        drop(groups);

        let groups = Groups::open(&data).unwrap();
        assert_eq!(groups.committed("a", "g").await["t"][&0].offset, 5);
        assert_eq!(groups.committed("b", "g").await["t"][&0].offset, 9);
        assert!(groups.committed("a", "h").await.is_empty());
        assert_eq!(groups.summaries("a").await.iter().map(|s| s.group_id.as_str()).collect::<Vec<_>>(), ["g"]);
        assert_eq!(groups.summary("a", "g").await.map(|s| s.state), Some("Empty"));
        groups.delete_namespace("a").await.unwrap();
        groups.delete_namespace("a").await.unwrap();
        drop(groups);

        let groups = Groups::open(&data).unwrap();
        assert!(groups.committed("a", "g").await.is_empty());
        assert!(groups.summaries("a").await.is_empty());
        groups.delete("b", "g").await.unwrap();
        assert!(matches!(groups.delete("b", "g").await, Err(GroupsError::NotFound)));
        std::fs::remove_dir_all(data).unwrap();
    }
    fn join_request() -> JoinRequest {
        JoinRequest {
            member_id: String::new(),
            fresh_id: uuid::Uuid::new_v4().to_string(),
            instance_id: None,
            require_known_id: false,
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(10),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::new())],
            client_id: "test".into(),
            client_host: "/127.0.0.1".into(),
        }
    }

    #[tokio::test]
    async fn a_namespace_has_at_most_its_quota_of_groups_and_keeps_those_it_has() {
        let data = dir();
        let groups = Groups::open(&data).unwrap();
        groups.set_limit("a", Some(2));
        let simple = MemberRef { id: "", instance_id: None };
        assert!(groups.join("a", "members", join_request()).is_ok());
        groups.commit("a", "offsets", simple, -1, &[("t".into(), 0, committed(1))]).await.unwrap();
        assert!(matches!(groups.join("a", "third", join_request()), Err(GroupError::QuotaExceeded)));
        let third = groups.commit("a", "third", simple, -1, &[("t".into(), 0, committed(1))]).await;
        assert!(matches!(third, Err(GroupsError::Group(GroupError::QuotaExceeded))));
        assert_eq!(error_code(GroupError::QuotaExceeded), kafka_protocol::ResponseError::PolicyViolation.code());
        // The groups it has go on; another namespace is not counted.
        assert!(groups.join("a", "members", join_request()).is_ok());
        groups.commit("a", "offsets", simple, -1, &[("t".into(), 0, committed(2))]).await.unwrap();
        assert!(groups.join("b", "third", join_request()).is_ok());
        // Deleting one makes room; so does a higher quota.
        groups.delete("a", "offsets").await.unwrap();
        assert!(groups.join("a", "third", join_request()).is_ok());
        assert!(groups.join("a", "fourth", join_request()).is_err());
        groups.set_limit("a", None);
        assert!(groups.join("a", "fourth", join_request()).is_ok());
        std::fs::remove_dir_all(data).unwrap();
    }
}
