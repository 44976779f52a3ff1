//! `vectune serve`: the HTTP service on axum. It binds first and answers liveness at once, loads
//! and warms the models on a worker thread, and is ready only when every required model is
//! ready. The routing layer only translates: HTTP to the same calls the CLI makes
//! ([`crate::predict`], [`crate::suggest`], ...) and the core's errors to statuses
//! ([`error::ApiError`]).
//!
//! - the domain API under `/v1` ([`api`]): images, predict (one or many parameter sets, batches of
//!   images), classify, suggest (with verification), measure, the parameter schema, the models;
//! - a subset of the Open Inference Protocol v2 under `/v2` ([`oip`]): health, model metadata and
//!   readiness, JSON-tensor inference on the ONNX models;
//! - `/metrics` in Prometheus text ([`metrics`]);
//! - `/openapi.json`, the OpenAPI document of all of these ([`OPENAPI`]).
//!
//! Under load: at most `max_concurrent_requests` requests are admitted at once (past that, 429
//! with `Retry-After` at once, never an unbounded queue); admitted work waits for one of
//! `workers` blocking workers (sized to the CPU quota) and is refused with 429 if it waited
//! longer than `queue_timeout`; a client that disconnects while queued cancels its work. SIGTERM
//! or SIGINT makes readiness false at once, lets in-flight requests finish, and exits within
//! `shutdown_timeout`.
//!
//! Against clients that stall: at most `max_connections` connections are open at once (past that,
//! a new connection is closed at once rather than left waiting); a connection that has not sent a
//! whole request head within `header_timeout` (a slow-loris client, or an idle keep-alive
//! connection) is closed; a body that sends nothing for `body_timeout` is refused with 408; and no
//! request takes longer than `request_timeout`.

pub mod api;
pub mod error;
pub mod metrics;
pub mod oip;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use vectune_core::cache::{CacheStats, LruCache};

use crate::backends::BackendChoice;
use crate::image::RgbaImage;
use crate::manager::{ModelManager, Options, Status};
use crate::memory::MemoryMonitor;
use error::ApiError;
use metrics::Metrics;

/// The service's settings; every limit has a flag (`vectune serve --help`) and is logged at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (default `127.0.0.1:8080`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// The model directory.
    pub models: PathBuf,
    /// The runtime.
    pub backend: BackendChoice,
    /// Largest request body, bytes (default 8 MB).
    pub max_body_bytes: usize,
    /// Most parameter sets in one request (default 1024).
    pub max_params: usize,
    /// Most images in one `/v1/predict/batch` request (default 64).
    pub max_batch_items: usize,
    /// Requests admitted at once; past that, 429 (default 64).
    pub max_concurrent_requests: usize,
    /// Blocking workers for decoding, inference and VTracer (default: the CPU quota).
    pub workers: usize,
    /// Most rows in one batched model run (requests gathered together; 1: no batching).
    pub max_batch: usize,
    /// Longest wait for a worker before a request is refused with 429 (default 10 s).
    pub queue_timeout: Duration,
    /// Longest time for one request (default 60 s).
    pub request_timeout: Duration,
    /// Longest wait for a request's head (its headers) on a connection, also the longest a
    /// keep-alive connection stays idle (default 30 s).
    pub header_timeout: Duration,
    /// Longest pause in a request body before it is refused with 408 (default 10 s).
    pub body_timeout: Duration,
    /// Connections open at once; past that, new ones are closed at once (default 10,000).
    pub max_connections: usize,
    /// The model cache's budget in bytes: past it the least recently used models are evicted and
    /// loaded again when next needed (default 500 MB).
    pub model_memory_bytes: u64,
    /// Longest wait for in-flight requests after SIGTERM (default 25 s).
    pub shutdown_timeout: Duration,
    /// Pause between readiness turning false and the listener closing (default 0 s), for load
    /// balancers to stop sending.
    pub drain_delay: Duration,
    /// Bytes of decoded images kept by `image_id` (default 256 MB).
    pub images_bytes: u64,
    /// Models that must be ready for the service to be ready: `None` for every model the runtime
    /// runs.
    pub required: Option<Vec<String>>,
    /// Enables `POST /v1/models/{name}/reload` for requests carrying `Authorization: Bearer TOKEN`.
    pub admin_token: Option<String>,
    /// The browser package's directory (`web/`, with the built `pkg/` and the `demo/` page): the
    /// product page at `/`, if given.
    pub web_dir: Option<PathBuf>,
}

impl Config {
    /// The defaults for a model directory.
    pub fn new(models: PathBuf) -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            models,
            backend: BackendChoice::Auto,
            max_body_bytes: 8 * 1024 * 1024,
            max_params: 1024,
            max_batch_items: 64,
            max_concurrent_requests: 64,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_batch: 8,
            queue_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            model_memory_bytes: crate::memory::DEFAULT_LIMIT_BYTES,
            shutdown_timeout: Duration::from_secs(25),
            drain_delay: Duration::ZERO,
            images_bytes: 256 * 1024 * 1024,
            required: None,
            admin_token: None,
            web_dir: None,
        }
    }
}

/// What the service holds.
pub struct AppState {
    config: Config,
    manager: OnceLock<Arc<ModelManager>>,
    ready: AtomicBool,
    draining: AtomicBool,
    not_ready: Mutex<String>,
    admission: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    images: Mutex<LruCache<String, Arc<RgbaImage>>>,
    metrics: Metrics,
    monitor: MemoryMonitor,
    started: Instant,
    requests: AtomicU64,
}

/// The shared state handlers get.
pub type Shared = Arc<AppState>;

/// An admitted request: holds its admission permit and counts as pending until dropped.
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
    state: Shared,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.state.metrics.pending.dec();
    }
}

/// How long the work of a request took, ms.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Timing {
    /// Waiting for a worker.
    pub queue_ms: f64,
    /// The work itself (decoding, models, VTracer).
    pub work_ms: f64,
}

impl AppState {
    /// A state for `config`, models not loaded yet.
    pub fn new(config: Config) -> Shared {
        let images = LruCache::new(config.images_bytes);
        Arc::new(AppState {
            admission: Arc::new(Semaphore::new(config.max_concurrent_requests.max(1))),
            workers: Arc::new(Semaphore::new(config.workers.max(1))),
            images: Mutex::new(images),
            config,
            manager: OnceLock::new(),
            ready: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            not_ready: Mutex::new("models are loading".into()),
            metrics: Metrics::new(),
            monitor: MemoryMonitor::default(),
            started: Instant::now(),
            requests: AtomicU64::new(0),
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The models, once loaded.
    pub fn manager(&self) -> Option<&Arc<ModelManager>> {
        self.manager.get()
    }

    /// Whether the service is ready (models loaded and warmed, not draining).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.draining.load(Ordering::SeqCst)
    }

    /// Why the service is not ready, if it is not.
    pub fn not_ready_reason(&self) -> Option<String> {
        if self.draining.load(Ordering::SeqCst) {
            Some("draining: the service is shutting down".into())
        } else if !self.ready.load(Ordering::SeqCst) {
            Some(lock(&self.not_ready).clone())
        } else {
            None
        }
    }

    /// Loads and warms the models (blocking), then decides readiness.
    pub fn load_models(&self) {
        let mut options = Options {
            budget_bytes: self.config.model_memory_bytes,
            ..Options::default()
        };
        if self.config.max_batch > 1 {
            let sizes = self.metrics.batch_size.clone();
            options.batching = Some(crate::batching::Batching {
                max_batch: self.config.max_batch,
                workers: options.threads.sessions,
                observer: Some(crate::batching::BatchObserver(Arc::new(
                    move |model, rows| {
                        sizes.with_label_values(&[model]).observe(rows as f64);
                    },
                ))),
            });
        }
        let manager = Arc::new(ModelManager::open_with(
            &self.config.models,
            self.config.backend,
            options,
        ));
        let _ = self.manager.set(manager);
        self.refresh_ready();
    }

    /// Sets readiness from the required models' reports (after loading, and after a reload).
    pub fn refresh_ready(&self) {
        let Some(manager) = self.manager() else {
            return;
        };
        match self.required_missing(manager) {
            None => self.ready.store(true, Ordering::SeqCst),
            Some(why) => {
                *lock(&self.not_ready) = why;
                self.ready.store(false, Ordering::SeqCst);
            }
        }
    }

    /// Why a required model is not ready, if one is not.
    fn required_missing(&self, manager: &ModelManager) -> Option<String> {
        if let Some(e) = manager.manifest_error() {
            return Some(format!("no models: {e}"));
        }
        let runnable: Vec<String> = manager.runnable().into_iter().map(|e| e.name).collect();
        if runnable.is_empty() {
            return Some(format!(
                "the manifest has no {} model for this runtime",
                manager.backend_kind().format().as_str()
            ));
        }
        let required = self.config.required.clone().unwrap_or(runnable);
        let not: Vec<String> = required
            .iter()
            .filter_map(|name| match manager.report(name) {
                // an evicted model is loaded again when next needed
                Some(r) if matches!(r.status, Status::Ready | Status::Unloaded { .. }) => None,
                Some(r) => Some(format!("`{name}` {}", r.reason().unwrap_or("is not ready"))),
                None => Some(format!("`{name}` is not in the manifest")),
            })
            .collect();
        (!not.is_empty()).then(|| format!("required models are not ready: {}", not.join("; ")))
    }

    /// Admits a request that needs models: 503 while not ready or draining, 429 past the
    /// admission limit.
    pub fn admit(self: &Arc<Self>) -> Result<(Admitted, Arc<ModelManager>), ApiError> {
        if let Some(why) = self.not_ready_reason() {
            let code = if self.draining.load(Ordering::SeqCst) {
                "draining"
            } else {
                "not_ready"
            };
            return Err(ApiError::unavailable(code, why));
        }
        let manager = self
            .manager()
            .cloned()
            .ok_or_else(|| ApiError::unavailable("not_ready", "models are loading"))?;
        let permit = self.admission.clone().try_acquire_owned().map_err(|_| {
            ApiError::overloaded(format!(
                "{} requests are in progress (--max-concurrent-requests); retry later",
                self.config.max_concurrent_requests
            ))
        })?;
        self.metrics.pending.inc();
        Ok((
            Admitted {
                _permit: permit,
                state: self.clone(),
            },
            manager,
        ))
    }

    /// Runs `work` on a blocking worker once one is free (waiting at most `queue_timeout`),
    /// recording queue and work time for `route`. A panic in `work` is a 500 naming a runtime
    /// failure; the other requests go on.
    pub async fn run<T: Send + 'static>(
        &self,
        route: &'static str,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<(T, Timing), ApiError> {
        let queued = Instant::now();
        let permit = tokio::time::timeout(
            self.config.queue_timeout,
            self.workers.clone().acquire_owned(),
        )
        .await
        .map_err(|_| {
            ApiError::overloaded(format!(
                "no worker became free within {:?} (--queue-timeout-ms)",
                self.config.queue_timeout
            ))
        })?
        .map_err(|_| ApiError::internal("the worker pool is closed"))?;
        let queue = queued.elapsed();
        self.metrics
            .queue_seconds
            .with_label_values(&[route])
            .observe(queue.as_secs_f64());
        let start = Instant::now();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await;
        let took = start.elapsed();
        self.metrics
            .inference_seconds
            .with_label_values(&[route])
            .observe(took.as_secs_f64());
        let out = match joined {
            Ok(result) => result?,
            Err(e) if e.is_panic() => {
                let what = crate::error::panic_message(e.into_panic().as_ref());
                self.metrics
                    .failures
                    .with_label_values(&["-", "panic"])
                    .inc();
                return Err(ApiError::internal(format!(
                    "runtime failure: the work panicked: {what}"
                )));
            }
            Err(_) => {
                return Err(ApiError::internal(
                    "runtime failure: the work was cancelled",
                ));
            }
        };
        Ok((
            out,
            Timing {
                queue_ms: queue.as_secs_f64() * 1e3,
                work_ms: took.as_secs_f64() * 1e3,
            },
        ))
    }

    /// Keeps a decoded image by id (the least recently used go past the byte budget).
    pub fn keep_image(&self, id: &str, image: Arc<RgbaImage>) {
        let bytes = image.pixels.len() as u64;
        let _ = lock(&self.images).insert(id.to_string(), image, bytes);
    }

    /// A kept image.
    pub fn image(&self, id: &str) -> Option<Arc<RgbaImage>> {
        lock(&self.images).get(&id.to_string()).cloned()
    }

    /// The kept images' cache counters.
    pub fn images_stats(&self) -> CacheStats {
        lock(&self.images).stats()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The memory monitor.
    pub fn monitor(&self) -> &MemoryMonitor {
        &self.monitor
    }

    /// Seconds since the service started.
    pub fn uptime_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Refuses a body whose declared `Content-Length` is past the limit before reading any of it
/// (413 at once: the client learns without sending the body, and no body stalls into a 408).
/// Bodies without a length (chunked) meet the same limit as they are read.
async fn declared_length(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => {
            let e = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body declares {n} bytes; the limit is {limit} (--max-body-bytes)"),
            );
            if request.uri().path().starts_with("/v2/") {
                oip::error_response(e)
            } else {
                e.into_response()
            }
        }
        _ => next.run(request).await,
    }
}

/// Counts, times and logs every request (one line: id, method, route, status, ms), and bounds its
/// time (`request_timeout`: 503 with code `timeout`).
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let id = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().clone();
    let start = Instant::now();
    let response = match tokio::time::timeout(state.config.request_timeout, next.run(request)).await
    {
        Ok(r) => r,
        Err(_) => ApiError::unavailable(
            "timeout",
            format!(
                "the request took longer than {:?} (--request-timeout-ms)",
                state.config.request_timeout
            ),
        )
        .into_response(),
    };
    let took = start.elapsed().as_secs_f64();
    let status = response.status();
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), status.as_str()])
        .inc();
    state
        .metrics
        .request_seconds
        .with_label_values(&[route.as_str()])
        .observe(took);
    tracing::info!(
        target: "vectune::http",
        id,
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = took * 1e3,
        "request"
    );
    response
}

/// Anything not routed: a JSON 404.
async fn fallback() -> ApiError {
    ApiError::not_found("no such route (see /openapi.json)")
}

async fn metrics_text(State(state): State<Shared>) -> Response {
    let text = state
        .metrics
        .render(state.manager().map(|m| m.as_ref()), &state.monitor);
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// `GET /models/{file}`: `manifest.json` and the files it lists, from the model directory (what the
/// page's `Vectune.fromUrl` fetches); no other path names a file.
async fn model_file(
    State(state): State<Shared>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let dir = &state.config.models;
    let listed = file == "manifest.json"
        || vectune_core::manifest::Manifest::from_json(
            &std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_default(),
        )
        .is_ok_and(|m| m.models.iter().any(|e| e.file == file));
    if !listed {
        return ApiError::not_found(format!("no model file `{file}`")).into_response();
    }
    match tokio::fs::read(dir.join(&file)).await {
        Ok(bytes) => {
            let kind = if file.ends_with(".json") {
                "application/json"
            } else {
                "application/octet-stream"
            };
            (StatusCode::OK, [("content-type", kind)], bytes).into_response()
        }
        Err(e) => ApiError::not_found(format!("cannot read `{file}`: {e}")).into_response(),
    }
}

/// The OpenAPI document of every `/v1` and `/v2` route and `/metrics`.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// The whole application.
pub fn router(state: Shared) -> Router {
    let limit = state.config.max_body_bytes;
    let mut app = Router::new()
        .merge(api::routes())
        .merge(oip::routes())
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi));
    if let Some(web) = &state.config.web_dir {
        // the product page: the demo and the browser package, the models it loads from /models/
        app = app
            .nest_service(
                "/web/pkg",
                tower_http::services::ServeDir::new(web.join("pkg")),
            )
            .nest_service(
                "/web/demo",
                tower_http::services::ServeDir::new(web.join("demo")),
            )
            .route("/models/{file}", get(model_file))
            .route(
                "/",
                get(|| async { axum::response::Redirect::to("/web/demo/?models=/models/") }),
            );
    }
    app.fallback(fallback)
        .layer(middleware::from_fn_with_state(limit, declared_length))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.config.body_timeout,
        ))
        .with_state(state)
}

/// Resolves when SIGTERM or SIGINT arrives. The handlers are installed when this is called (not
/// when first polled), so a signal right after the address is printed is never the default
/// action's abrupt exit.
fn signalled() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Serves until SIGTERM/SIGINT: binds, prints `listening on http://ADDR`, loads the models in the
/// background, and on a signal turns readiness off, waits `drain_delay`, stops accepting and
/// lets in-flight requests finish (at most `shutdown_timeout`).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = listen(config.addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    // every connection is a file descriptor: take the hard limit (often 1,024 soft of 1M+ hard)
    let open_files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    if open_files > 0 && (config.max_connections as u64) + 64 > open_files {
        tracing::warn!(
            target: "vectune::serve",
            open_files,
            max_connections = config.max_connections,
            "the open-files limit is below --max-connections: accepts will fail first"
        );
    }
    let state = AppState::new(config);
    let c = &state.config;
    tracing::info!(
        target: "vectune::serve",
        %addr,
        models = %c.models.display(),
        max_body_bytes = c.max_body_bytes,
        max_params = c.max_params,
        max_batch_items = c.max_batch_items,
        max_concurrent_requests = c.max_concurrent_requests,
        workers = c.workers,
        max_batch = c.max_batch,
        queue_timeout_ms = c.queue_timeout.as_millis() as u64,
        request_timeout_ms = c.request_timeout.as_millis() as u64,
        header_timeout_ms = c.header_timeout.as_millis() as u64,
        body_timeout_ms = c.body_timeout.as_millis() as u64,
        max_connections = c.max_connections,
        model_memory_bytes = c.model_memory_bytes,
        shutdown_timeout_ms = c.shutdown_timeout.as_millis() as u64,
        max_pixels = vectune_core::image::MAX_PIXELS,
        images_bytes = c.images_bytes,
        reload = c.admin_token.is_some(),
        "limits"
    );
    let signal = signalled();
    // the address on stdout, for people and for scripts that start the service on port 0
    println!("listening on http://{addr}");
    let loader = state.clone();
    std::thread::Builder::new()
        .name("vectune-load".into())
        .spawn(move || {
            loader.load_models();
            match loader.not_ready_reason() {
                None => tracing::info!(target: "vectune::serve", "ready"),
                Some(why) => tracing::warn!(target: "vectune::serve", %why, "not ready"),
            }
        })?;
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let draining = state.clone();
    let notify = shutdown.clone();
    tokio::spawn(async move {
        signal.await;
        draining.draining.store(true, Ordering::SeqCst);
        tracing::info!(target: "vectune::serve", "signal: draining");
        tokio::time::sleep(draining.config.drain_delay).await;
        notify.notify_one();
        // A second guard: in-flight requests get `shutdown_timeout`, then the process exits.
        tokio::time::sleep(draining.config.shutdown_timeout).await;
        tracing::warn!(target: "vectune::serve", "shutdown timeout: exiting with requests in flight");
        std::process::exit(1);
    });
    accept(listener, state, shutdown).await;
    tracing::info!(target: "vectune::serve", "stopped");
    Ok(())
}

/// Connections the kernel queues for `accept` (it caps this at `net.core.somaxconn`, 4096 by
/// default): tokio's default of 128 drops the SYNs of a burst of new connections (the client
/// retries a second later) while the accept loop catches up.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // a restarted replica can bind while the old one's connections are in TIME_WAIT
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accepts connections until `shutdown` is notified, then closes the listener and waits for the
/// open connections to finish their requests (idle ones close at once). Each connection is HTTP/1
/// with the `header_timeout`; past `max_connections` a new one is closed at once.
async fn accept(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: Arc<tokio::sync::Notify>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = router(state.clone());
    let slots = Arc::new(Semaphore::new(state.config.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors, or a connection reset before it was accepted:
                    // the listener is fine, try again shortly
                    tracing::warn!(target: "vectune::serve", error = %e, "accept failed");
                    state.metrics.connections_refused.with_label_values(&["accept_error"]).inc();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.notified() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            state
                .metrics
                .connections_refused
                .with_label_values(&["max_connections"])
                .inc();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let open = state.metrics.connections.clone();
        open.inc();
        tokio::spawn(async move {
            // a connection's end (closed, timed out, reset) is the peer's business, not an error
            let _ = connection.await;
            open.dec();
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_is_json_and_names_every_api_route() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        for route in [
            "/v1/images",
            "/v1/predict",
            "/v1/predict/batch",
            "/v1/classify",
            "/v1/suggest",
            "/v1/measure",
            "/v1/params",
            "/v1/models",
            "/v1/models/{name}/reload",
            "/v2",
            "/v2/health/live",
            "/v2/health/ready",
            "/v2/models/{model}",
            "/v2/models/{model}/ready",
            "/v2/models/{model}/infer",
            "/metrics",
        ] {
            assert!(paths.contains_key(route), "{route}");
        }
        // the parameter ranges are the schema's
        let params = &doc["components"]["schemas"]["Params"]["properties"];
        for s in &vectune_core::params::SCHEMA {
            assert_eq!(
                params[s.name]["minimum"].as_f64(),
                Some(s.min),
                "{}",
                s.name
            );
            assert_eq!(
                params[s.name]["maximum"].as_f64(),
                Some(s.max),
                "{}",
                s.name
            );
        }
    }
}
