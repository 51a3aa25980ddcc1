//! One trace from the REST call through the reconciler and the gRPC call into
//! the broker, exported over OTLP to a real OTLP/gRPC receiver run by the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::{free_port, temp_dir};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_rest_reconciler_grpc_and_broker() {
    let collector = Collector::default();
    let port = free_port();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve(([127, 0, 0, 1], port).into()),
    );
    let dir = temp_dir("omnibus-e2e-trace");
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut omnibus = Omnibus::start(&dir, &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("trace@example.com", "Tracers").await;
    let instance = api.post("/v1/instances", serde_json::json!({"name": "traced", "plan": "developer"})).await;
    assert_eq!(instance["status"], "ready");
    // Stopping flushes the batch exporter.
    assert!(omnibus.signal("TERM", Duration::from_secs(10)).success());
    server.abort();

    let spans = collector.spans.lock().unwrap().clone();
    let create = spans
        .iter()
        .find(|s| {
            s.name == "http" && attribute(s, "route") == Some("/v1/instances") && attribute(s, "method") == Some("POST")
        })
        .unwrap_or_else(|| {
            panic!("no span of POST /v1/instances among {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>())
        });
    let trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == create.trace_id).collect();
    let names: Vec<&str> = trace.iter().map(|s| s.name.as_str()).collect();

    let reconcile =
        trace.iter().find(|s| s.name == "reconcile").unwrap_or_else(|| panic!("no reconcile span in {names:?}"));
    assert_eq!(reconcile.parent_span_id, create.span_id, "reconcile is not a child of the request");
    assert_eq!(attribute(reconcile, "instance"), instance["id"].as_str());
    let broker = trace
        .iter()
        .find(|s| s.name == "admin_request" && attribute(s, "path") == Some("/omnibus.fleet.v1.Fleet/ApplyNamespace"))
        .unwrap_or_else(|| panic!("no broker span of ApplyNamespace in {names:?}"));
    // The broker's span hangs below the reconciler's, across the gRPC hop.
    let mut parent = broker.parent_span_id.clone();
    let mut hops = 0;
    while parent != reconcile.span_id {
        let up =
            trace.iter().find(|s| s.span_id == parent).unwrap_or_else(|| panic!("broken parent chain in {names:?}"));
        parent = up.parent_span_id.clone();
        hops += 1;
        assert!(hops < 10, "no path from the broker span to the reconcile span");
    }
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
