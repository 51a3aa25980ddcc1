//! One consumer group under Kafka's classic rebalance protocol, as a state
//! machine without I/O: members, generations, protocol selection, the leader's
//! assignments, session and rebalance timeouts, and static membership
//! (KIP-345: a member with a `group.instance.id` that comes back under a new
//! member id takes over its old place, without a rebalance when nothing else
//! changed, and the old id is fenced).
//!
//! Time comes in as an argument (`now`), and answers that a request cannot
//! get at once (a JoinGroup waiting for the rest of the group, a SyncGroup
//! waiting for the leader) come out as [`Completion`]s the caller delivers.
//! Owns no offsets, no persistence, no wire types; must not touch any of them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Kafka's `group.min.session.timeout.ms` and `group.max.session.timeout.ms`.
pub const MIN_SESSION_TIMEOUT: Duration = Duration::from_secs(6);
pub const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Why a group request was refused; each is a Kafka error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("unknown member id")]
    UnknownMemberId,
    #[error("illegal generation")]
    IllegalGeneration,
    #[error("rebalance in progress")]
    RebalanceInProgress,
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    #[error("invalid session timeout")]
    InvalidSessionTimeout,
    #[error("another member now has this group instance id")]
    FencedInstanceId,
    /// A new group past the namespace's consumer group quota (raised by
    /// `Groups`, which counts a namespace's groups; never by one group).
    #[error("the instance has as many consumer groups as its quota allows")]
    QuotaExceeded,
}

/// Where the group is in its rebalance cycle (Kafka's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Empty => "Empty",
            Phase::PreparingRebalance => "PreparingRebalance",
            Phase::CompletingRebalance => "CompletingRebalance",
            Phase::Stable => "Stable",
        }
    }
}

/// A JoinGroup as the state machine sees it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Empty for a member joining for the first time.
    pub member_id: String,
    /// The id to give a new member, chosen by the caller.
    pub fresh_id: String,
    /// `group.instance.id`: the member is static.
    pub instance_id: Option<String>,
    /// JoinGroup v4+: a new member must come back with the id it is given.
    pub require_known_id: bool,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// The request header's client id and where the connection comes from
    /// (`/127.0.0.1`, as Kafka writes it); DescribeGroups shows both.
    pub client_id: String,
    pub client_host: String,
}

/// What a completed join tells a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub generation: i32,
    pub protocol_type: String,
    pub protocol_name: String,
    pub leader: String,
    pub member_id: String,
    /// Every member's (id, instance id, metadata for the chosen protocol);
    /// the leader's only.
    pub members: Vec<(String, Option<String>, Bytes)>,
    /// A static leader that rejoined into a Stable generation: the
    /// assignments stand, it need not compute them (KIP-814).
    pub skip_assignment: bool,
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// A new v4+ member: rejoin with this id (MEMBER_ID_REQUIRED).
    MemberIdRequired(String),
    /// The answer comes as a [`Completion::Join`] for this member.
    Pending(String),
    /// Nothing changes; here is the current generation.
    Now(JoinResult),
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// The assignment comes as a [`Completion::Sync`].
    Pending,
    Now(Bytes),
}

/// An answer for a request that was left waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Join { member_id: String, result: Result<JoinResult, GroupError> },
    Sync { member_id: String, result: Result<Bytes, GroupError> },
}

#[derive(Debug, Clone)]
struct Member {
    id: String,
    instance_id: Option<String>,
    /// From the JoinGroup that added the member; a rejoin keeps them, as in Kafka.
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    /// Its JoinGroup waits for the rebalance to complete.
    awaiting_join: bool,
    /// Its SyncGroup waits for the leader's assignments.
    awaiting_sync: bool,
    /// When the member is gone unless it is heard from.
    expires: Instant,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug)]
pub struct Group {
    phase: Phase,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    /// In the order they joined.
    members: Vec<Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, until they come back or expire.
    pending: BTreeMap<String, Instant>,
    /// PreparingRebalance: when members that have not rejoined are dropped.
    rebalance_deadline: Option<Instant>,
    /// Members that have not sent SyncGroup for this generation yet, and
    /// when they are dropped for it.
    pending_sync: BTreeSet<String>,
    sync_deadline: Option<Instant>,
    outbox: Vec<Completion>,
}

impl Default for Group {
    fn default() -> Self {
        Group::new()
    }
}

impl Group {
    pub fn new() -> Group {
        Group {
            phase: Phase::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: Vec::new(),
            pending: BTreeMap::new(),
            rebalance_deadline: None,
            pending_sync: BTreeSet::new(),
            sync_deadline: None,
            outbox: Vec::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }

    /// The chosen protocol, once the group is Stable.
    pub fn stable_protocol(&self) -> Option<&str> {
        if self.phase == Phase::Stable { self.protocol.as_deref() } else { None }
    }

    /// No members, none about to join, nobody waiting: the group holds nothing.
    pub fn is_idle(&self) -> bool {
        self.members.is_empty() && self.pending.is_empty() && self.outbox.is_empty()
    }

    /// The members; metadata and assignment only while Stable, as Kafka does.
    pub fn summaries(&self) -> Vec<MemberSummary> {
        let stable = self.stable_protocol();
        self.members
            .iter()
            .map(|m| MemberSummary {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: stable.and_then(|p| metadata_for(m, p)).unwrap_or_default(),
                assignment: if stable.is_some() { m.assignment.clone() } else { Bytes::new() },
            })
            .collect()
    }

    /// Answers that are ready for requests left waiting.
    pub fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.outbox)
    }

    pub fn join(&mut self, now: Instant, request: JoinRequest) -> Result<Joined, GroupError> {
        if !(MIN_SESSION_TIMEOUT..=MAX_SESSION_TIMEOUT).contains(&request.session_timeout) {
            return Err(GroupError::InvalidSessionTimeout);
        }
        let replaced = match (&request.instance_id, request.member_id.is_empty()) {
            (Some(instance_id), true) => self.static_member(instance_id).map(|m| m.id.clone()),
            (instance_id, false) => {
                self.check_instance(&request.member_id, instance_id.as_deref())?;
                None
            }
            (None, true) => None,
        };
        let self_id = replaced.as_deref().unwrap_or(&request.member_id);
        if request.protocol_type.is_empty()
            || request.protocols.is_empty()
            || !self.supports(self_id, &request.protocol_type, &request.protocols)
        {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        if let Some(old_id) = replaced {
            return Ok(self.replace_static_member(now, &old_id, request));
        }
        if request.member_id.is_empty() {
            // A static member is known by its instance id: no second round trip.
            if request.require_known_id && request.instance_id.is_none() {
                self.pending.insert(request.fresh_id.clone(), now + request.session_timeout);
                return Ok(Joined::MemberIdRequired(request.fresh_id));
            }
            let id = request.fresh_id.clone();
            self.add_member(now, id.clone(), request);
            return Ok(Joined::Pending(id));
        }
        if self.pending.remove(&request.member_id).is_some() {
            let id = request.member_id.clone();
            self.add_member(now, id.clone(), request);
            return Ok(Joined::Pending(id));
        }
        let id = request.member_id.clone();
        let is_leader = self.leader.as_deref() == Some(id.as_str());
        let Some(member) = self.member_mut(&id) else { return Err(GroupError::UnknownMemberId) };
        let unchanged = member.protocols == request.protocols;
        member.session_timeout = request.session_timeout;
        member.rebalance_timeout = request.rebalance_timeout;
        member.protocols = request.protocols;
        member.expires = now + member.session_timeout;
        match self.phase {
            Phase::Empty => Err(GroupError::UnknownMemberId),
            Phase::CompletingRebalance | Phase::Stable if unchanged && (self.phase != Phase::Stable || !is_leader) => {
                Ok(Joined::Now(self.join_result(&id)))
            }
            Phase::CompletingRebalance | Phase::Stable => {
                self.set_awaiting_join(&id);
                self.prepare_rebalance(now);
                Ok(Joined::Pending(id))
            }
            Phase::PreparingRebalance => {
                self.set_awaiting_join(&id);
                self.maybe_complete_join(now);
                Ok(Joined::Pending(id))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        now: Instant,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Synced, GroupError> {
        self.check_member(member_id, instance_id, generation)?;
        if protocol_type.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|p| Some(p) != self.protocol.as_deref())
        {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        self.touch(now, member_id);
        match self.phase {
            Phase::Empty => Err(GroupError::UnknownMemberId),
            Phase::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            Phase::Stable => {
                self.pending_sync.remove(member_id);
                Ok(Synced::Now(self.member(member_id).map(|m| m.assignment.clone()).unwrap_or_default()))
            }
            Phase::CompletingRebalance => {
                self.pending_sync.remove(member_id);
                if let Some(member) = self.member_mut(member_id) {
                    member.awaiting_sync = true;
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut assignments: BTreeMap<String, Bytes> = assignments.into_iter().collect();
                    for member in &mut self.members {
                        member.assignment = assignments.remove(&member.id).unwrap_or_default();
                        if member.awaiting_sync {
                            member.awaiting_sync = false;
                            self.outbox.push(Completion::Sync {
                                member_id: member.id.clone(),
                                result: Ok(member.assignment.clone()),
                            });
                        }
                    }
                    self.phase = Phase::Stable;
                }
                Ok(Synced::Pending)
            }
        }
    }

    pub fn heartbeat(
        &mut self,
        now: Instant,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        self.check_member(member_id, instance_id, generation)?;
        self.touch(now, member_id);
        match self.phase {
            Phase::Empty => Err(GroupError::UnknownMemberId),
            Phase::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            Phase::CompletingRebalance | Phase::Stable => Ok(()),
        }
    }

    /// A member leaves: named by its member id, or (a static member removed
    /// by an admin) by its instance id alone.
    pub fn leave(&mut self, now: Instant, member_id: &str, instance_id: Option<&str>) -> Result<(), GroupError> {
        let member_id = match instance_id {
            Some(instance_id) if member_id.is_empty() => {
                self.static_member(instance_id).map(|m| m.id.clone()).ok_or(GroupError::UnknownMemberId)?
            }
            _ => {
                self.check_instance(member_id, instance_id)?;
                member_id.to_string()
            }
        };
        if self.pending.remove(&member_id).is_some() {
            self.maybe_complete_join(now);
            return Ok(());
        }
        if self.member(&member_id).is_none() {
            return Err(GroupError::UnknownMemberId);
        }
        self.remove_member(&member_id);
        self.after_removal(now);
        Ok(())
    }

    /// Whether an OffsetCommit from `member_id` at `generation` is allowed
    /// (Kafka's rules: a simple commit, generation < 0, only into a group
    /// without members); counts as a heartbeat.
    pub fn check_commit(
        &mut self,
        now: Instant,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        if generation < 0 && self.phase == Phase::Empty {
            return Ok(());
        }
        self.check_member(member_id, instance_id, generation)?;
        if self.phase == Phase::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        self.touch(now, member_id);
        Ok(())
    }

    /// Applies every timeout that has passed by `now`.
    pub fn tick(&mut self, now: Instant) {
        let before = self.pending.len();
        self.pending.retain(|_, expires| *expires > now);
        if self.pending.len() != before {
            self.maybe_complete_join(now);
        }
        if self.phase == Phase::PreparingRebalance && self.rebalance_deadline.is_some_and(|d| d <= now) {
            self.complete_join(now);
        }
        let mut gone: Vec<String> = self
            .members
            .iter()
            .filter(|m| !m.awaiting_join && !m.awaiting_sync && m.expires <= now)
            .map(|m| m.id.clone())
            .collect();
        if self.sync_deadline.is_some_and(|d| d <= now) {
            gone.extend(self.pending_sync.iter().cloned());
            self.pending_sync.clear();
            self.sync_deadline = None;
        }
        gone.sort();
        gone.dedup();
        for id in &gone {
            self.remove_member(id);
        }
        if !gone.is_empty() {
            self.after_removal(now);
        }
    }

    fn check_member(&self, member_id: &str, instance_id: Option<&str>, generation: i32) -> Result<(), GroupError> {
        self.check_instance(member_id, instance_id)?;
        if self.member(member_id).is_none() {
            return Err(GroupError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// A request naming `instance_id` from anyone but the member that holds
    /// it now is from a replaced incarnation: fenced (Kafka's rule).
    fn check_instance(&self, member_id: &str, instance_id: Option<&str>) -> Result<(), GroupError> {
        match instance_id.and_then(|id| self.static_member(id)) {
            Some(holder) if holder.id != member_id => Err(GroupError::FencedInstanceId),
            _ => Ok(()),
        }
    }

    fn static_member(&self, instance_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.instance_id.as_deref() == Some(instance_id))
    }

    /// A known static member joins under a new id: it takes over the old
    /// member's place (assignment, leadership); the old id's waiting requests
    /// are fenced. A Stable group whose protocol would not change answers at
    /// once with the current generation; otherwise the group rebalances.
    fn replace_static_member(&mut self, now: Instant, old_id: &str, request: JoinRequest) -> Joined {
        let new_id = request.fresh_id;
        let Some(index) = self.members.iter().position(|m| m.id == old_id) else {
            return Joined::Pending(new_id);
        };
        let member = &mut self.members[index];
        if std::mem::take(&mut member.awaiting_join) {
            self.outbox
                .push(Completion::Join { member_id: old_id.to_string(), result: Err(GroupError::FencedInstanceId) });
        }
        if std::mem::take(&mut member.awaiting_sync) {
            self.outbox
                .push(Completion::Sync { member_id: old_id.to_string(), result: Err(GroupError::FencedInstanceId) });
        }
        member.id = new_id.clone();
        // The successor is another process: its client id and host are its own.
        member.client_id = request.client_id;
        member.client_host = request.client_host;
        member.session_timeout = request.session_timeout;
        member.rebalance_timeout = request.rebalance_timeout;
        member.protocols = request.protocols;
        member.expires = now + request.session_timeout;
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        match self.phase {
            Phase::Stable if self.leader.as_deref().and_then(|l| self.select_protocol(l)) == self.protocol => {
                let mut result = self.join_result(&new_id);
                result.skip_assignment = self.leader.as_deref() == Some(new_id.as_str());
                Joined::Now(result)
            }
            Phase::Stable | Phase::CompletingRebalance | Phase::Empty => {
                self.set_awaiting_join(&new_id);
                self.prepare_rebalance(now);
                Joined::Pending(new_id)
            }
            Phase::PreparingRebalance => {
                self.set_awaiting_join(&new_id);
                self.maybe_complete_join(now);
                Joined::Pending(new_id)
            }
        }
    }

    /// Whether a member with these protocols fits the others in the group.
    fn supports(&self, member_id: &str, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        let others: Vec<&Member> = self.members.iter().filter(|m| m.id != member_id).collect();
        if others.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| others.iter().all(|m| metadata_for(m, name).is_some()))
    }

    fn add_member(&mut self, now: Instant, id: String, request: JoinRequest) {
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type);
        }
        if self.leader.is_none() {
            self.leader = Some(id.clone());
        }
        self.members.push(Member {
            id,
            instance_id: request.instance_id,
            client_id: request.client_id,
            client_host: request.client_host,
            session_timeout: request.session_timeout,
            rebalance_timeout: request.rebalance_timeout,
            protocols: request.protocols,
            assignment: Bytes::new(),
            awaiting_join: true,
            awaiting_sync: false,
            expires: now + request.session_timeout,
        });
        match self.phase {
            Phase::PreparingRebalance => self.maybe_complete_join(now),
            Phase::Empty | Phase::CompletingRebalance | Phase::Stable => self.prepare_rebalance(now),
        }
    }

    fn set_awaiting_join(&mut self, member_id: &str) {
        if let Some(member) = self.member_mut(member_id) {
            member.awaiting_join = true;
        }
    }

    fn prepare_rebalance(&mut self, now: Instant) {
        if self.phase == Phase::CompletingRebalance {
            for member in &mut self.members {
                member.assignment = Bytes::new();
                if member.awaiting_sync {
                    member.awaiting_sync = false;
                    self.outbox.push(Completion::Sync {
                        member_id: member.id.clone(),
                        result: Err(GroupError::RebalanceInProgress),
                    });
                }
            }
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        self.phase = Phase::PreparingRebalance;
        let timeout = self.members.iter().map(|m| m.rebalance_timeout).max().unwrap_or_default();
        self.rebalance_deadline = Some(now + timeout);
        self.maybe_complete_join(now);
    }

    fn maybe_complete_join(&mut self, now: Instant) {
        if self.phase == Phase::PreparingRebalance
            && self.pending.is_empty()
            && self.members.iter().all(|m| m.awaiting_join)
        {
            self.complete_join(now);
        }
    }

    /// Ends the join phase: drops members that did not rejoin, starts the
    /// next generation and answers every waiting JoinGroup.
    fn complete_join(&mut self, now: Instant) {
        self.members.retain(|m| m.awaiting_join);
        self.pending.clear();
        self.rebalance_deadline = None;
        self.generation = self.generation.wrapping_add(1);
        if self.leader.as_ref().is_none_or(|l| self.member(l).is_none()) {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        let Some(leader) = self.leader.clone() else {
            self.phase = Phase::Empty;
            self.protocol = None;
            return;
        };
        self.protocol = self.select_protocol(&leader);
        self.phase = Phase::CompletingRebalance;
        self.pending_sync = self.members.iter().map(|m| m.id.clone()).collect();
        let timeout = self.members.iter().map(|m| m.rebalance_timeout).max().unwrap_or_default();
        self.sync_deadline = Some(now + timeout);
        let ids: Vec<String> = self.members.iter().map(|m| m.id.clone()).collect();
        for id in ids {
            let result = self.join_result(&id);
            if let Some(member) = self.member_mut(&id) {
                member.awaiting_join = false;
                member.expires = now + member.session_timeout;
            }
            self.outbox.push(Completion::Join { member_id: id, result: Ok(result) });
        }
    }

    /// The first of the leader's protocols that every member supports.
    fn select_protocol(&self, leader: &str) -> Option<String> {
        let leader = self.member(leader)?;
        leader
            .protocols
            .iter()
            .map(|(name, _)| name)
            .find(|name| self.members.iter().all(|m| metadata_for(m, name).is_some()))
            .or_else(|| leader.protocols.first().map(|(name, _)| name))
            .cloned()
    }

    fn join_result(&self, member_id: &str) -> JoinResult {
        let leader = self.leader.clone().unwrap_or_default();
        let protocol_name = self.protocol.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.members
                .iter()
                .map(|m| (m.id.clone(), m.instance_id.clone(), metadata_for(m, &protocol_name).unwrap_or_default()))
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            generation: self.generation,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name,
            leader,
            member_id: member_id.to_string(),
            members,
            skip_assignment: false,
        }
    }

    /// Removes a member, failing any request of it left waiting.
    fn remove_member(&mut self, member_id: &str) {
        let Some(index) = self.members.iter().position(|m| m.id == member_id) else { return };
        let member = self.members.remove(index);
        if member.awaiting_join {
            self.outbox
                .push(Completion::Join { member_id: member.id.clone(), result: Err(GroupError::UnknownMemberId) });
        }
        if member.awaiting_sync {
            self.outbox
                .push(Completion::Sync { member_id: member.id.clone(), result: Err(GroupError::UnknownMemberId) });
        }
        self.pending_sync.remove(member_id);
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
    }

    fn after_removal(&mut self, now: Instant) {
        match self.phase {
            Phase::Stable | Phase::CompletingRebalance => self.prepare_rebalance(now),
            Phase::PreparingRebalance => self.maybe_complete_join(now),
            Phase::Empty => {}
        }
    }

    fn touch(&mut self, now: Instant, member_id: &str) {
        if let Some(member) = self.member_mut(member_id) {
            member.expires = now + member.session_timeout;
        }
    }

    fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }
}

fn metadata_for(member: &Member, protocol: &str) -> Option<Bytes> {
    member.protocols.iter().find(|(name, _)| name == protocol).map(|(_, metadata)| metadata.clone())
}

#[cfg(test)]
mod tests;
