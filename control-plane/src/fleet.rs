//! gRPC clients of the fleets. Every call carries the caller's
//! OpenTelemetry context in a W3C `traceparent` header, so a trace runs from
//! the REST request through the reconciler into the broker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnibus_api::fleet::fleet_client::FleetClient;
use opentelemetry::propagation::Injector;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub type Client = FleetClient<InterceptedService<Channel, PropagateTrace>>;

#[derive(Debug, thiserror::Error)]
#[error("invalid fleet endpoint {endpoint:?}: {reason}")]
pub struct EndpointError {
    endpoint: String,
    reason: String,
}

/// One client per fleet endpoint, made on first use; channels connect lazily
/// and reconnect by themselves. Which fleet an instance is on is the store's.
#[derive(Clone, Default)]
pub struct Fleets {
    clients: Arc<Mutex<HashMap<String, Client>>>,
}

impl Fleets {
    /// The client of the fleet at `endpoint` (`http://host:port`).
    pub fn client(&self, endpoint: &str) -> Result<Client, EndpointError> {
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(endpoint) {
            return Ok(client.clone());
        }
        let channel = parse(endpoint)?.connect_lazy();
        let client = FleetClient::with_interceptor(channel, PropagateTrace);
        clients.insert(endpoint.to_owned(), client.clone());
        Ok(client)
    }
}

/// Checks a fleet endpoint the way [`Fleets::client`] will use it.
pub fn check_endpoint(endpoint: &str) -> Result<(), EndpointError> {
    parse(endpoint).map(drop)
}

fn parse(endpoint: &str) -> Result<Endpoint, EndpointError> {
    let error = |reason: String| EndpointError { endpoint: endpoint.to_owned(), reason };
    // The fleet service is plaintext gRPC on the operator's private network;
    // tonic is built without TLS, so an https:// endpoint could never connect.
    if !endpoint.starts_with("http://") {
        return Err(error("it must be http://host:port".into()));
    }
    Ok(Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| error(e.to_string()))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5)))
}

/// Injects the current span's context into outgoing request metadata.
#[derive(Clone, Copy)]
pub struct PropagateTrace;

impl Interceptor for PropagateTrace {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let context = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut MetadataInjector(request.metadata_mut()));
        });
        Ok(request)
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value)) {
            self.0.insert(key, value);
        }
    }
}
