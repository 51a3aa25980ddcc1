//! Request spans for the admin port, joined to the caller's trace.
//!
//! Owns reading the W3C `traceparent` (through the globally installed
//! propagator) from HTTP headers. Installing the propagator and the
//! OpenTelemetry layer is the binary's job.

use http::{HeaderMap, Request};
use opentelemetry::propagation::Extractor;
use tracing::{Span, info_span, trace};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Reads propagation fields from HTTP headers.
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// The span an admin request runs in, child of the trace its headers carry.
pub fn make_span<B>(request: &Request<B>) -> Span {
    let span = info_span!("admin_request", method = %request.method(), path = %request.uri().path());
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    if let Err(error) = span.set_parent(parent) {
        // No OpenTelemetry layer installed (or the span is disabled).
        trace!(%error, "admin request not linked to a trace");
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt as _;

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn extracts_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", "00-x-y-01".parse().unwrap());
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("traceparent"), Some("00-x-y-01"));
        assert_eq!(extractor.get("tracestate"), None);
        assert_eq!(extractor.keys(), vec!["traceparent"]);
    }

    #[test]
    fn the_request_span_continues_the_callers_trace() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let request = Request::builder()
                .uri("/omnibus.fleet.v1.Fleet/Health")
                .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
                .body(())
                .unwrap();
            let span = make_span(&request);
            let trace_id = span.context().span().span_context().trace_id();
            assert_eq!(trace_id.to_string(), TRACE_ID);
        });
    }
}
