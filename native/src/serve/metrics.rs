//! The service's Prometheus metrics (the `prometheus` crate), in seconds, counters ending in
//! `_total`, histograms where a quantile is wanted: requests by route and status, failures by
//! model and reason, request, queue and inference durations, rows per batched model run,
//! pending work, open and refused connections, and at every scrape each model's readiness and
//! bytes, the model cache's bytes and evictions (the figures `/v1/models` reports) and the
//! process's RSS.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::manager::{ModelManager, Status};
use crate::memory::MemoryMonitor;

/// Latency buckets in seconds: 50 us to 60 s, roughly x2.5 apart (a head run is ~0.1 ms, a
/// VTracer run up to seconds).
const SECONDS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    5.0, 60.0,
];

/// Rows per batched model run.
const SIZES: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 512.0, 1024.0];

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    /// `vectune_requests_total{route, code}`.
    pub requests: IntCounterVec,
    /// `vectune_request_failures_total{model, reason}`.
    pub failures: IntCounterVec,
    /// `vectune_request_duration_seconds{route}`.
    pub request_seconds: HistogramVec,
    /// `vectune_queue_duration_seconds{route}`: waiting for a worker.
    pub queue_seconds: HistogramVec,
    /// `vectune_inference_duration_seconds{route}`: the work itself (decode, models, VTracer).
    pub inference_seconds: HistogramVec,
    /// `vectune_batch_size{model}`: rows per run of a batched model (requests gathered together).
    pub batch_size: HistogramVec,
    /// `vectune_pending_requests`: admitted requests not yet answered.
    pub pending: IntGauge,
    /// `vectune_open_connections`.
    pub connections: IntGauge,
    /// `vectune_connections_refused_total{reason}`: closed at accept (`max_connections`) or
    /// failed to accept (`accept_error`).
    pub connections_refused: IntCounterVec,
    cache_bytes: IntGauge,
    cache_budget: IntGauge,
    cache_evictions: IntCounter,
    model_ready: IntGaugeVec,
    model_bytes: IntGaugeVec,
    rss: IntGauge,
}

fn histogram(name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .unwrap_or_else(|e| unreachable!("a valid histogram definition: {e}"))
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("a valid counter definition: {e}"))
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("a valid gauge definition: {e}"))
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).unwrap_or_else(|e| unreachable!("a valid gauge definition: {e}"))
}

impl Metrics {
    /// A registry with every metric, at zero.
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::new(),
            requests: counter(
                "vectune_requests_total",
                "HTTP requests answered, by route and status code",
                &["route", "code"],
            ),
            failures: counter(
                "vectune_request_failures_total",
                "Requests (or predictions) that a model failed or could not answer, by model and reason",
                &["model", "reason"],
            ),
            request_seconds: histogram(
                "vectune_request_duration_seconds",
                "Request time, from the first byte read to the answer",
                &SECONDS,
                &["route"],
            ),
            queue_seconds: histogram(
                "vectune_queue_duration_seconds",
                "Time an admitted request waited for a worker",
                &SECONDS,
                &["route"],
            ),
            inference_seconds: histogram(
                "vectune_inference_duration_seconds",
                "Time of a request's work on a worker: decoding, models, VTracer",
                &SECONDS,
                &["route"],
            ),
            batch_size: histogram(
                "vectune_batch_size",
                "Rows per run of a batched model (the encoder, the combined model, the classifier)",
                &SIZES,
                &["model"],
            ),
            pending: gauge(
                "vectune_pending_requests",
                "Admitted requests not yet answered",
            ),
            connections: gauge("vectune_open_connections", "HTTP connections open"),
            connections_refused: counter(
                "vectune_connections_refused_total",
                "Connections closed at once (past --max-connections) or that failed to accept",
                &["reason"],
            ),
            cache_bytes: gauge(
                "vectune_model_cache_bytes",
                "Bytes of the models held by the model cache",
            ),
            cache_budget: gauge(
                "vectune_model_cache_budget_bytes",
                "The model cache's budget (--model-memory-mb)",
            ),
            cache_evictions: IntCounter::new(
                "vectune_model_cache_evictions_total",
                "Models evicted from the cache to stay within its budget",
            )
            .unwrap_or_else(|e| unreachable!("a valid counter definition: {e}")),
            model_ready: gauge_vec(
                "vectune_model_ready",
                "1 if the model is loaded and warmed up",
                &["model"],
            ),
            model_bytes: gauge_vec(
                "vectune_model_bytes",
                "Bytes attributed to the model (its file), 0 when not in memory",
                &["model"],
            ),
            rss: gauge(
                "process_resident_memory_bytes",
                "Resident memory of the process",
            ),
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 15] = [
            Box::new(m.connections.clone()),
            Box::new(m.connections_refused.clone()),
            Box::new(m.cache_bytes.clone()),
            Box::new(m.cache_budget.clone()),
            Box::new(m.cache_evictions.clone()),
            Box::new(m.requests.clone()),
            Box::new(m.failures.clone()),
            Box::new(m.request_seconds.clone()),
            Box::new(m.queue_seconds.clone()),
            Box::new(m.inference_seconds.clone()),
            Box::new(m.batch_size.clone()),
            Box::new(m.pending.clone()),
            Box::new(m.model_ready.clone()),
            Box::new(m.model_bytes.clone()),
            Box::new(m.rss.clone()),
        ];
        for c in collectors {
            // distinct names, registered once: cannot fail
            let _ = m.registry.register(c);
        }
        m
    }

    /// The text exposition, after sampling the models' state and the process's memory.
    pub fn render(&self, manager: Option<&ModelManager>, monitor: &MemoryMonitor) -> String {
        if let Some(manager) = manager {
            for r in manager.reports() {
                let ready = r.status == Status::Ready;
                self.model_ready
                    .with_label_values(&[r.name.as_str()])
                    .set(i64::from(ready));
                let bytes = if ready { r.bytes } else { 0 };
                self.model_bytes
                    .with_label_values(&[r.name.as_str()])
                    .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
            let cache = manager.cache_stats();
            self.cache_bytes
                .set(i64::try_from(cache.bytes_used).unwrap_or(i64::MAX));
            self.cache_budget
                .set(i64::try_from(cache.budget).unwrap_or(i64::MAX));
            // the cache counts its evictions; the counter follows it
            self.cache_evictions
                .inc_by(cache.evictions.saturating_sub(self.cache_evictions.get()));
        }
        self.rss
            .set(i64::try_from(monitor.rss()).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
