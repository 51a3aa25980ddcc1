//! InitProducerId for idempotent producers (KIP-98): a fresh producer id at epoch 0, or, when the client
//! names the id and epoch it holds (v3+, KIP-360), the next epoch of that id, which fences its older
//! batches in every partition.
//!
//! Transactions are not served: a request with a transactional id answers
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients report as fatal for a transactional producer.
//! Kafka requires IDEMPOTENT_WRITE on the cluster; here any credential with a `produce` rule on some
//! topic filter has it. Kafka hands a non-transactional producer a new id even when it names its old one;
//! bumping the epoch instead keeps the id (both are valid answers for a client) and falls back to a new
//! id when the named one was never issued here or its epoch is exhausted.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::ProducerId;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::init_producer_id_response::InitProducerIdResponse;

use super::connection::Ctx;
use crate::tenancy::Action;

pub async fn handle(ctx: &Ctx<'_>, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let answer = InitProducerIdResponse::default().with_producer_id(ProducerId(-1)).with_producer_epoch(-1);
    if request.transactional_id.is_some() {
        return answer.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
    }
    let may_produce = ctx.principal.acl().rules.iter().any(|rule| rule.actions.contains(&Action::Produce));
    if !may_produce {
        return answer.with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let ProducerId(held) = request.producer_id;
    let epoch = request.producer_epoch;
    if held >= 0 && (0..i16::MAX - 1).contains(&epoch) && ctx.shared.producer_ids.issued(held) {
        return answer.with_producer_id(ProducerId(held)).with_producer_epoch(epoch + 1);
    }
    let ids = ctx.shared.producer_ids.clone();
    match tokio::task::spawn_blocking(move || ids.allocate()).await {
        Ok(Ok(id)) => answer.with_producer_id(ProducerId(id)).with_producer_epoch(0),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not allocate a producer id");
            answer.with_error_code(ResponseError::CoordinatorNotAvailable.code())
        }
        Err(e) => {
            tracing::error!(error = %e, "producer id allocation did not finish");
            answer.with_error_code(ResponseError::CoordinatorNotAvailable.code())
        }
    }
}
