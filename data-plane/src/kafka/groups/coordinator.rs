//! FindCoordinator: this broker coordinates every group (key type 0) of
//! every namespace, for credentials whose `group` permission covers the id.
//! Transactions are not served, so other key types are refused.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::BrokerId;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::find_coordinator_response::{Coordinator, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use crate::kafka::connection::Ctx;
use crate::tenancy::Action;

const GROUP_KEY: i8 = 0;

/// Where the coordinator of `key` is: (node, host, port, error, message).
fn locate(ctx: &Ctx<'_>, key: &str, key_type: i8) -> (i32, String, i32, i16, Option<&'static str>) {
    let advertised = &ctx.shared.advertised;
    if key_type != GROUP_KEY {
        let message = Some("only group coordinators are served");
        return (-1, String::new(), -1, ResponseError::InvalidRequest.code(), message);
    }
    if !ctx.principal.acl().allows(Action::Group, key) {
        return (-1, String::new(), -1, ResponseError::GroupAuthorizationFailed.code(), None);
    }
    (advertised.node_id, advertised.host.clone(), i32::from(advertised.port), 0, None)
}

pub fn find_coordinator(ctx: &Ctx<'_>, request: FindCoordinatorRequest, version: i16) -> FindCoordinatorResponse {
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let (node, host, port, code, message) = locate(ctx, key.as_str(), request.key_type);
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(node))
                    .with_host(StrBytes::from_string(host))
                    .with_port(port)
                    .with_error_code(code)
                    .with_error_message(message.map(StrBytes::from_static_str))
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let (node, host, port, code, message) = locate(ctx, request.key.as_str(), request.key_type);
    FindCoordinatorResponse::default()
        .with_node_id(BrokerId(node))
        .with_host(StrBytes::from_string(host))
        .with_port(port)
        .with_error_code(code)
        .with_error_message(message.map(StrBytes::from_static_str))
}
