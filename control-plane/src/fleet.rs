//! gRPC clients of the regions' fleets. Every call carries the caller's
//! OpenTelemetry context in a W3C `traceparent` header, so a trace runs from
//! the REST request through the reconciler into the broker.

use std::collections::HashMap;
use std::time::Duration;

use omnibus_api::fleet::fleet_client::FleetClient;
use opentelemetry::propagation::Injector;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::RegionConfig;

pub type Client = FleetClient<InterceptedService<Channel, PropagateTrace>>;

#[derive(Debug, thiserror::Error)]
#[error("region {region}: invalid fleet endpoint {endpoint:?}: {source}")]
pub struct FleetConfigError {
    region: String,
    endpoint: String,
    source: tonic::transport::Error,
}

/// One client per region; channels connect lazily and reconnect by themselves.
#[derive(Clone)]
pub struct Fleets {
    clients: HashMap<String, Client>,
}

impl Fleets {
    pub fn new(regions: &[RegionConfig]) -> Result<Fleets, FleetConfigError> {
        let mut clients = HashMap::new();
        for region in regions {
            let endpoint = Endpoint::from_shared(region.fleet_endpoint.clone())
                .map_err(|source| FleetConfigError {
                    region: region.name.clone(),
                    endpoint: region.fleet_endpoint.clone(),
                    source,
                })?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(5));
            let channel = endpoint.connect_lazy();
            clients.insert(region.name.clone(), FleetClient::with_interceptor(channel, PropagateTrace));
        }
        Ok(Fleets { clients })
    }

    pub fn client(&self, region: &str) -> Option<Client> {
        self.clients.get(region).cloned()
    }

    pub fn has_region(&self, region: &str) -> bool {
        self.clients.contains_key(region)
    }
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
