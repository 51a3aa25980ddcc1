//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup: the wire side of the
//! classic rebalance protocol. Each needs the credential's `group` permission
//! on the group id. A JoinGroup or SyncGroup that must wait for the rest of
//! the group holds its connection until the group answers it (as Kafka does).
//! Owns only the mapping between wire messages and [`super::Groups`].

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::heartbeat_response::HeartbeatResponse;
use kafka_protocol::messages::join_group_request::JoinGroupRequest;
use kafka_protocol::messages::join_group_response::{JoinGroupResponse, JoinGroupResponseMember};
use kafka_protocol::messages::leave_group_request::LeaveGroupRequest;
use kafka_protocol::messages::leave_group_response::{LeaveGroupResponse, MemberResponse};
use kafka_protocol::messages::sync_group_request::SyncGroupRequest;
use kafka_protocol::messages::sync_group_response::SyncGroupResponse;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

use super::state::{GroupError, JoinRequest, JoinResult};
use super::{JoinReply, MemberRef, Reply, error_code};
use crate::kafka::connection::Ctx;
use crate::tenancy::Action;

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Waits for an answer the group gives later; None at shutdown.
async fn wait<T>(ctx: &Ctx<'_>, reply: Reply<T>) -> Option<Result<T, GroupError>> {
    let receiver: oneshot::Receiver<Result<T, GroupError>> = match reply {
        Reply::Now(value) => return Some(Ok(value)),
        Reply::Later(receiver) => receiver,
    };
    tokio::select! {
        // A dropped waiter was replaced by a newer request of the same member,
        // or its group was deleted with its namespace.
        answer = receiver => Some(answer.unwrap_or(Err(GroupError::UnknownMemberId))),
        () = ctx.shutdown.cancelled() => None,
    }
}

pub async fn join(ctx: &Ctx<'_>, request: JoinGroupRequest, version: i16) -> JoinGroupResponse {
    let group_id = request.group_id.0.as_str();
    let failed = |code: i16| {
        JoinGroupResponse::default()
            .with_error_code(code)
            .with_generation_id(-1)
            .with_protocol_name(if version >= 7 { None } else { Some(StrBytes::default()) })
            .with_member_id(request.member_id.clone())
    };
    if !ctx.principal.acl().allows(Action::Group, group_id) {
        return failed(ResponseError::GroupAuthorizationFailed.code());
    }
    if group_id.is_empty() {
        return failed(ResponseError::InvalidGroupId.code());
    }
    let session_timeout = millis(request.session_timeout_ms);
    let rebalance_timeout =
        if request.rebalance_timeout_ms > 0 { millis(request.rebalance_timeout_ms) } else { session_timeout };
    let instance_id = request.group_instance_id.as_ref().map(|id| id.as_str().to_string());
    // Kafka's forms: `{client.id}-{uuid}` for dynamic members, `{group.instance.id}-{uuid}` for static ones.
    let prefix = instance_id.as_deref().unwrap_or("member");
    let join = JoinRequest {
        member_id: request.member_id.as_str().to_string(),
        fresh_id: format!("{prefix}-{}", uuid::Uuid::new_v4()),
        instance_id,
        require_known_id: version >= 4,
        session_timeout,
        rebalance_timeout,
        protocol_type: request.protocol_type.as_str().to_string(),
        protocols: request.protocols.iter().map(|p| (p.name.as_str().to_string(), p.metadata.clone())).collect(),
        client_id: ctx.client_id.to_string(),
        client_host: format!("/{}", ctx.peer.ip()),
    };
    let reply = match ctx.shared.groups.join(ctx.principal.namespace_id(), group_id, join) {
        Ok(JoinReply::MemberIdRequired(id)) => {
            return failed(ResponseError::MemberIdRequired.code()).with_member_id(text(&id));
        }
        Ok(JoinReply::Reply(reply)) => reply,
        Err(e) => return failed(error_code(e)),
    };
    match wait(ctx, reply).await {
        None => failed(ResponseError::CoordinatorNotAvailable.code()),
        Some(Err(e)) => failed(error_code(e)),
        Some(Ok(joined)) => joined_response(joined, version),
    }
}

/// A completed join; instance ids from v5, `skip_assignment` from v9.
fn joined_response(joined: JoinResult, version: i16) -> JoinGroupResponse {
    let members = joined
        .members
        .into_iter()
        .map(|(id, instance_id, metadata)| {
            JoinGroupResponseMember::default()
                .with_member_id(text(&id))
                .with_group_instance_id(instance_id.as_deref().filter(|_| version >= 5).map(text))
                .with_metadata(metadata)
        })
        .collect();
    JoinGroupResponse::default()
        .with_generation_id(joined.generation)
        .with_protocol_type(Some(text(&joined.protocol_type)))
        .with_protocol_name(Some(text(&joined.protocol_name)))
        .with_leader(text(&joined.leader))
        .with_member_id(text(&joined.member_id))
        .with_skip_assignment(joined.skip_assignment && version >= 9)
        .with_members(members)
}

pub async fn sync(ctx: &Ctx<'_>, request: SyncGroupRequest, version: i16) -> SyncGroupResponse {
    let group_id = request.group_id.0.as_str();
    let failed = |code: i16| SyncGroupResponse::default().with_error_code(code);
    if !ctx.principal.acl().allows(Action::Group, group_id) {
        return failed(ResponseError::GroupAuthorizationFailed.code());
    }
    let assignments =
        request.assignments.iter().map(|a| (a.member_id.as_str().to_string(), a.assignment.clone())).collect();
    let protocol = (request.protocol_type.as_deref(), request.protocol_name.as_deref());
    let member = MemberRef { id: request.member_id.as_str(), instance_id: request.group_instance_id.as_deref() };
    let synced = ctx.shared.groups.sync(
        ctx.principal.namespace_id(),
        group_id,
        member,
        request.generation_id,
        protocol,
        assignments,
    );
    let reply = match synced {
        Ok(reply) => reply,
        Err(e) => return failed(error_code(e)),
    };
    match wait(ctx, reply).await {
        None => failed(ResponseError::CoordinatorNotAvailable.code()),
        Some(Err(e)) => failed(error_code(e)),
        Some(Ok(assignment)) => {
            let response = SyncGroupResponse::default().with_assignment(assignment);
            if version >= 5 {
                response.with_protocol_type(request.protocol_type).with_protocol_name(request.protocol_name)
            } else {
                response
            }
        }
    }
}

pub fn heartbeat(ctx: &Ctx<'_>, request: HeartbeatRequest) -> HeartbeatResponse {
    let group_id = request.group_id.0.as_str();
    if !ctx.principal.acl().allows(Action::Group, group_id) {
        return HeartbeatResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let member = MemberRef { id: request.member_id.as_str(), instance_id: request.group_instance_id.as_deref() };
    let result = ctx.shared.groups.heartbeat(ctx.principal.namespace_id(), group_id, member, request.generation_id);
    HeartbeatResponse::default().with_error_code(result.err().map_or(0, error_code))
}

/// LeaveGroup: one member (v0-2) or a batch (v3+), where a static member may
/// be named by its `group.instance.id` alone (an admin removing it).
pub fn leave(ctx: &Ctx<'_>, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let group_id = request.group_id.0.as_str();
    if !ctx.principal.acl().allows(Action::Group, group_id) {
        return LeaveGroupResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let namespace = ctx.principal.namespace_id();
    let leave_one = |member: MemberRef<'_>| {
        if member.id.is_empty() && member.instance_id.is_none() {
            return ResponseError::UnknownMemberId.code();
        }
        ctx.shared.groups.leave(namespace, group_id, member).err().map_or(0, error_code)
    };
    if version < 3 {
        let member = MemberRef { id: request.member_id.as_str(), instance_id: None };
        return LeaveGroupResponse::default().with_error_code(leave_one(member));
    }
    let members = request
        .members
        .into_iter()
        .map(|member| {
            let code = leave_one(MemberRef {
                id: member.member_id.as_str(),
                instance_id: member.group_instance_id.as_deref(),
            });
            MemberResponse::default()
                .with_member_id(member.member_id)
                .with_group_instance_id(member.group_instance_id)
                .with_error_code(code)
        })
        .collect();
    LeaveGroupResponse::default().with_members(members)
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::protocol::Encodable as _;

    use super::*;

    #[test]
    fn join_answers_encode_in_every_served_version() {
        let joined = JoinResult {
            generation: 3,
            protocol_type: "consumer".into(),
            protocol_name: "range".into(),
            leader: "m1".into(),
            member_id: "m1".into(),
            members: vec![("m1".into(), Some("i1".into()), Bytes::from_static(b"meta"))],
            skip_assignment: true,
        };
        let (min, max) = crate::kafka::versions::served(kafka_protocol::messages::ApiKey::JoinGroup).unwrap();
        for version in min..=max {
            let refused = JoinGroupResponse::default()
                .with_error_code(ResponseError::MemberIdRequired.code())
                .with_generation_id(-1)
                .with_protocol_name(if version >= 7 { None } else { Some(StrBytes::default()) })
                .with_member_id(text("m2"));
            for response in [joined_response(joined.clone(), version), refused] {
                response.encode(&mut BytesMut::new(), version).unwrap();
            }
        }
    }
}
