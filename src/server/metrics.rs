//! Prometheus metrics: request counts and latency per route, intakes per
//! channel, open event streams.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;
use super::auth::{Auth, Leads};
use super::error::ApiResult;
use crate::model::Channel;

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    intakes: Family<Labels, Counter>,
    subscribers: Gauge,
    catchups: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("jiejing");
        let requests = Family::<Labels, Counter>::default();
        let latency =
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        let intakes = Family::<Labels, Counter>::default();
        let subscribers = Gauge::default();
        let catchups = Counter::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register("intakes", "Incidents taken in, by channel", intakes.clone());
        registry.register("event_streams", "Open live event streams", subscribers.clone());
        registry.register(
            "event_stream_catchups",
            "Times a slow event stream fell behind the broadcast and re-read the log",
            catchups.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            intakes,
            subscribers,
            catchups,
        }
    }

    /// A slow subscriber fell behind the bounded broadcast.
    pub fn catchup(&self) {
        self.catchups.inc();
    }

    pub fn intake(&self, channel: Channel) {
        self.intakes
            .get_or_create(&vec![("channel", channel.as_str().to_owned())])
            .inc();
    }

    /// Counts an open event stream until the guard drops.
    pub fn subscriber(&self) -> SubscriberGuard {
        self.subscribers.inc();
        SubscriberGuard(self.subscribers.clone())
    }
}

pub struct SubscriberGuard(Gauge);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware recording every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .get_or_create(&vec![("route", route.clone())])
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&vec![
            ("method", method),
            ("route", route),
            ("status", res.status().as_u16().to_string()),
        ])
        .inc();
    res
}

/// Prometheus text exposition (admins and shift leads).
pub async fn metrics(State(state): State<AppState>, _auth: Auth<Leads>) -> ApiResult<Response> {
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry)
        .map_err(|e| super::ApiError::internal("cannot encode metrics", e))?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
