//! ListGroups, DescribeGroups and DeleteGroups over the credential's own
//! namespace: only groups whose id the credential's `group` permission
//! covers are listed; describing or deleting another needs that permission
//! too. Owns only the mapping between wire messages and [`super::Groups`].

use kafka_protocol::ResponseError;
use kafka_protocol::messages::GroupId;
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::delete_groups_response::{DeletableGroupResult, DeleteGroupsResponse};
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::describe_groups_response::{
    DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::list_groups_response::{ListGroupsResponse, ListedGroup};
use kafka_protocol::protocol::StrBytes;

use super::{GroupSummary, GroupsError};
use crate::kafka::connection::Ctx;
use crate::tenancy::Action;

/// Every group here is a classic one (ListGroups v5 `types_filter`).
const GROUP_TYPE: &str = "classic";
/// Kafka's AclOperation codes a `group` permission grants: READ, DELETE, DESCRIBE.
const GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub async fn list(ctx: &Ctx<'_>, request: ListGroupsRequest) -> ListGroupsResponse {
    let wanted_state = |state: &str| {
        request.states_filter.is_empty() || request.states_filter.iter().any(|s| s.eq_ignore_ascii_case(state))
    };
    let wanted_type =
        request.types_filter.is_empty() || request.types_filter.iter().any(|t| t.eq_ignore_ascii_case(GROUP_TYPE));
    let groups = ctx
        .shared
        .groups
        .summaries(ctx.principal.namespace_id())
        .await
        .into_iter()
        .filter(|g| wanted_type && wanted_state(g.state))
        .filter(|g| ctx.principal.acl().allows(Action::Group, &g.group_id))
        .map(|g| {
            ListedGroup::default()
                .with_group_id(GroupId(text(&g.group_id)))
                .with_protocol_type(text(&g.protocol_type))
                .with_group_state(StrBytes::from_static_str(g.state))
                .with_group_type(StrBytes::from_static_str(GROUP_TYPE))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

pub async fn describe(ctx: &Ctx<'_>, request: DescribeGroupsRequest, version: i16) -> DescribeGroupsResponse {
    let mut described = Vec::with_capacity(request.groups.len());
    for group_id in request.groups {
        let answer = DescribedGroup::default().with_group_id(group_id.clone());
        if !ctx.principal.acl().allows(Action::Group, group_id.0.as_str()) {
            described.push(answer.with_error_code(ResponseError::GroupAuthorizationFailed.code()));
            continue;
        }
        let answer = if request.include_authorized_operations {
            answer.with_authorized_operations(GROUP_OPERATIONS)
        } else {
            answer
        };
        // An unknown group is described as Dead, without error, as Kafka does.
        let summary = ctx.shared.groups.summary(ctx.principal.namespace_id(), group_id.0.as_str()).await;
        described.push(match summary {
            None => answer.with_group_state(StrBytes::from_static_str("Dead")),
            Some(summary) => describe_one(answer, summary, version),
        });
    }
    DescribeGroupsResponse::default().with_groups(described)
}

/// One group's members; their instance ids from v4.
fn describe_one(answer: DescribedGroup, summary: GroupSummary, version: i16) -> DescribedGroup {
    let members = summary
        .members
        .into_iter()
        .map(|m| {
            DescribedGroupMember::default()
                .with_member_id(text(&m.member_id))
                .with_group_instance_id(m.instance_id.as_deref().filter(|_| version >= 4).map(text))
                .with_client_id(text(&m.client_id))
                .with_client_host(text(&m.client_host))
                .with_member_metadata(m.metadata)
                .with_member_assignment(m.assignment)
        })
        .collect();
    answer
        .with_group_state(StrBytes::from_static_str(summary.state))
        .with_protocol_type(text(&summary.protocol_type))
        .with_protocol_data(text(&summary.protocol))
        .with_members(members)
}

pub async fn delete(ctx: &Ctx<'_>, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(request.groups_names.len());
    for group_id in request.groups_names {
        let code = if ctx.principal.acl().allows(Action::Group, group_id.0.as_str()) {
            match ctx.shared.groups.delete(ctx.principal.namespace_id(), group_id.0.as_str()).await {
                Ok(()) => 0,
                Err(GroupsError::NonEmpty) => ResponseError::NonEmptyGroup.code(),
                Err(GroupsError::NotFound) => ResponseError::GroupIdNotFound.code(),
                Err(e) => {
                    tracing::warn!(group = %group_id.0.as_str(), error = %e, "group deletion failed");
                    ResponseError::KafkaStorageError.code()
                }
            }
        } else {
            ResponseError::GroupAuthorizationFailed.code()
        };
        results.push(DeletableGroupResult::default().with_group_id(group_id).with_error_code(code));
    }
    DeleteGroupsResponse::default().with_results(results)
}
