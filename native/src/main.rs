//! The `vectune` command line. Every command has `--json`; errors are one line on stderr and an
//! exit code by kind: 2 for bad input (as for a wrong command line), 3 when a model the command
//! needs is unavailable, 4 when overloaded, 1 for a runtime failure.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vectune_core::error::{Error, ErrorKind};
use vectune_core::params::{ParamKind, SCHEMA};
use vectune_native::backends::BackendChoice;
use vectune_native::manager::{ModelManager, Options, Status, models_dir};
use vectune_native::{NativeError, image, nnef, params, predict};

#[derive(Parser)]
#[command(
    name = "vectune",
    version,
    about = "Predict how faithful VTracer's SVG of a logo will be, before vectorizing it",
    long_about = "Predict how faithful VTracer's SVG of a logo will be (its SSIM against the \
                  original), for given VTracer parameters, before vectorizing it.\n\n\
                  Each command loads only the models it uses. Without a model, predictions come \
                  from a heuristic and say so (source: heuristic).\n\n\
                  Exit status: 0 success, 1 runtime failure, 2 bad input, 3 model unavailable, \
                  4 overloaded."
)]
struct Cli {
    /// Model directory (with manifest.json); default: $VECTUNE_MODELS, else the packaged models/.
    #[arg(long, global = true, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Inference runtime: auto (ONNX Runtime when its library loads, else tract), ort, tract, or
    /// torch (libtorch on the TorchScript models; builds with `--features torch`).
    #[arg(long, global = true, env = "VECTUNE_BACKEND", default_value = "auto")]
    backend: BackendChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Predict the SSIM VTracer's SVG will reach for an image and parameters.
    Predict {
        /// A PNG or JPEG logo (or use --batch).
        #[arg(required_unless_present = "batch")]
        image: Option<PathBuf>,
        /// Bulk mode: a JSON Lines file of `{"image": PATH, "params": {...}}` requests (`-` for
        /// stdin); prints one JSON line per request, in order; a bad line gets an error line and the
        /// rest still run (exit status 1 if any failed).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["image", "params"])]
        batch: Option<PathBuf>,
        /// A VTracer parameter, `name=value` (repeatable); omitted ones take VTracer's defaults.
        /// See `vectune params` for names and ranges.
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Vectorize with VTracer, render the SVG back and measure its real SSIM (slow, exact), beside
    /// the prediction, so a prediction can be checked.
    Measure {
        /// A PNG or JPEG logo.
        image: PathBuf,
        /// A VTracer parameter, `name=value` (repeatable); omitted ones take VTracer's defaults.
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Also write VTracer's SVG to this file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the image statistics the heuristic and the suggester use.
    Features {
        /// A PNG or JPEG logo.
        image: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Classify a logo: simple_geometric, text_based, gradient or complex, with probabilities.
    Classify {
        /// A PNG or JPEG logo.
        image: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Suggest parameters: the smallest predicted SVG whose predicted SSIM reaches the target.
    ///
    /// Starts from the correlation models (fitted on the training set) for the logo's class,
    /// scores 600 variations of colour precision, layer difference, speckle filter and path
    /// precision, and VTracer's defaults, with the quality model (one image encoding), and picks
    /// the one with the smallest predicted SVG among those predicted to reach the target plus a
    /// safety margin (else the most faithful). Check the result with `vectune measure IMAGE --param ...`,
    /// or let `--verify` measure it and its alternatives.
    Suggest {
        /// A PNG or JPEG logo.
        image: PathBuf,
        /// Target SSIM in [0, 1].
        #[arg(long, default_value_t = vectune_core::suggest::DEFAULT_TARGET)]
        target: f32,
        /// Safety margin in [0, 1]: candidates must be predicted to reach target + margin (the
        /// model errs by a few hundredths; 0.02 reaches the target more often, for larger SVGs).
        #[arg(long, default_value_t = vectune_core::suggest::DEFAULT_MARGIN)]
        margin: f32,
        /// Check with VTracer: vectorize, render and measure the suggestion's shortlist (the pick,
        /// the picks at safety margins 0.02, 0.05 and 0.1, the most faithful, the smallest SVGs
        /// predicted within 0.02 and 0.05 of the target, VTracer's defaults; up to 8 runs, in
        /// parallel) and keep the smallest measured SVG that reaches the target (else the most
        /// faithful measured). Slower (each run takes what `vectune measure`
        /// takes), but the reported SSIM is measured, and never below the defaults' when the
        /// target is missed.
        #[arg(long)]
        verify: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the models: directory, backend, and each model's status, load and warm-up times, size.
    Models {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the browser package's NNEF form of every ONNX model of the model directory.
    ///
    /// For each ONNX entry of manifest.json, tract's decluttered graph is written beside it as
    /// `<stem>.nnef.tar` (deterministic bytes) and the manifest gets an entry `<name>_nnef`
    /// (format nnef) with the same inputs, outputs and metrics. The browser's `.wasm` reads NNEF
    /// only (no ONNX parser: a smaller download). Run after publishing new ONNX models.
    ExportNnef {
        /// Only convert and compare with the committed NNEF entries; write nothing; exit 1 if any
        /// file would change.
        #[arg(long)]
        check: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Serve the models over HTTP until SIGTERM or SIGINT: the /v1 API (images, predict,
    /// classify, suggest, measure, params, models), the Open Inference Protocol v2 under /v2,
    /// Prometheus metrics at /metrics.
    ///
    /// Prints `listening on http://ADDR` once bound; liveness (/v2/health/live) answers at once,
    /// readiness (/v2/health/ready) once every required model is loaded and warmed up. Every
    /// limit below is logged at start.
    Serve {
        /// Address to listen on (port 0: any free port).
        #[arg(long, env = "VECTUNE_ADDR", default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = 8 * 1024 * 1024)]
        max_body_bytes: usize,
        /// Most parameter sets in one request.
        #[arg(long, default_value_t = 1024)]
        max_params: usize,
        /// Most images in one /v1/predict/batch request.
        #[arg(long, default_value_t = 64)]
        max_batch_items: usize,
        /// Requests admitted at once; past that, 429 with Retry-After.
        #[arg(long, default_value_t = 64)]
        max_concurrent_requests: usize,
        /// Blocking workers for decoding, inference and VTracer (default: the CPU quota).
        #[arg(long)]
        workers: Option<usize>,
        /// Most rows in one model run: concurrent requests for the encoder, the combined model
        /// or the classifier are gathered into one run (no waiting: what is queued when a runtime
        /// is free); 1 runs each alone.
        #[arg(long, default_value_t = 8)]
        max_batch_size: usize,
        /// Longest wait for a free worker before a request is refused with 429, ms.
        #[arg(long, default_value_t = 10_000)]
        queue_timeout_ms: u64,
        /// Longest time for one request, ms.
        #[arg(long, default_value_t = 60_000)]
        request_timeout_ms: u64,
        /// Longest wait for a request's headers on a connection, ms; also how long an idle
        /// keep-alive connection stays open (slow clients are closed past it).
        #[arg(long, default_value_t = 30_000)]
        header_timeout_ms: u64,
        /// Longest pause in a request body, ms, before the request is refused with 408.
        #[arg(long, default_value_t = 10_000)]
        body_timeout_ms: u64,
        /// Connections open at once; past that, new connections are closed at once.
        #[arg(long, default_value_t = 10_000)]
        max_connections: usize,
        /// The model cache's budget, MB: past it the least recently used models are evicted
        /// (and loaded again when next needed).
        #[arg(long, default_value_t = vectune_native::memory::DEFAULT_LIMIT_BYTES / (1024 * 1024))]
        model_memory_mb: u64,
        /// After SIGTERM, longest wait for in-flight requests before exiting, ms.
        #[arg(long, default_value_t = 25_000)]
        shutdown_timeout_ms: u64,
        /// After SIGTERM, how long readiness is false before the listener closes, ms (let load
        /// balancers stop sending first).
        #[arg(long, default_value_t = 0)]
        drain_delay_ms: u64,
        /// Megabytes of decoded images kept by image_id.
        #[arg(long, default_value_t = 256)]
        images_mb: u64,
        /// Models that must be ready for readiness, comma-separated (default: every model this
        /// runtime runs).
        #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
        require: Option<Vec<String>>,
        /// Enables POST /v1/models/{name}/reload for requests with `Authorization: Bearer TOKEN`.
        #[arg(long, env = "VECTUNE_ADMIN_TOKEN", value_name = "TOKEN")]
        admin_token: Option<String>,
        /// The browser package's directory (with the built `pkg/` and the `demo/` page) for the
        /// product page at /; default: `../share/vectune/web` beside the executable (an installed
        /// release), else this checkout's `web/` when `scripts/build-web.sh` has built it.
        #[arg(long, value_name = "DIR")]
        web: Option<PathBuf>,
        /// Log JSON lines instead of text (one line per request).
        #[arg(long)]
        log_json: bool,
    },
    /// Write a Triton model repository of the ONNX models: DIR/<name>/config.pbtxt and
    /// DIR/<name>/1/model.onnx (checksums verified), so Triton's ONNX Runtime backend can serve
    /// the same files. Preprocessing and parameter encoding then run client-side.
    ExportTriton {
        /// The repository to write (created if missing).
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the VTracer parameters: names, ranges, defaults, units.
    Params {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `println!` that returns an error instead of panicking when stdout is closed (`| head`).
/// `params` as the CLI's arguments: `--param name=value ...`.
fn param_flags(params: &vectune_core::params::Params) -> String {
    params
        .iter()
        .map(|(n, v)| format!("--param {n}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)?
    }};
}

fn main() -> ExitCode {
    // the fault tests' fail points, from FAILPOINTS (a `failpoints` build only)
    #[cfg(feature = "failpoints")]
    let _faults = fail::FailScenario::setup();
    match run(Cli::parse()) {
        Ok(code) => code,
        // A reader that stopped reading (`vectune ... | head -1`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit status for an error, by the kind of the first typed error in its chain (see the
/// crate docs); 1 for anything untyped.
fn exit_code(e: &anyhow::Error) -> u8 {
    let kind = e.chain().find_map(|cause| {
        cause
            .downcast_ref::<Error>()
            .map(Error::kind)
            .or_else(|| cause.downcast_ref::<NativeError>().map(NativeError::kind))
    });
    match kind {
        Some(ErrorKind::BadInput) => 2,
        Some(ErrorKind::ModelUnavailable) => 3,
        Some(ErrorKind::Overloaded) => 4,
        _ => 1,
    }
}

/// The process's memory with every ready model's attribution.
fn memory_report(manager: &ModelManager) -> vectune_native::memory::MemoryReport {
    let models = manager
        .reports()
        .iter()
        .filter(|r| r.status == Status::Ready)
        .map(|r| vectune_native::memory::ModelMemory {
            name: r.name.clone(),
            bytes: r.bytes,
        })
        .collect();
    vectune_native::memory::MemoryMonitor::default().report(models)
}

/// The error and its causes on one line, skipping causes the message already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Each command loads the models it uses when it first uses them; `models` loads them all.
    let dir = models_dir(cli.models.as_deref());
    let open_models = || {
        let options = Options {
            lazy: true,
            ..Options::default()
        };
        ModelManager::open_with(&dir, cli.backend, options)
    };
    match cli.command {
        Command::Predict {
            batch: Some(file), ..
        } => {
            let input = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read `{}`", file.display()))?
            };
            let (lines, failed) = vectune_native::requests::answer(&open_models(), &input);
            for line in lines {
                out!("{line}");
            }
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Predict {
            image: Some(path),
            params: assignments,
            json,
            ..
        } => {
            let params = params::from_assignments(&assignments)?;
            let img = image::load(&path)?;
            let view = img
                .view()
                .map_err(Error::from)
                .with_context(|| path.display().to_string())?;
            let manager = open_models();
            let p = predict::predict(&manager, &view, params);
            if json {
                let mut v = serde_json::to_value(&p)?;
                v["image"] = serde_json::Value::String(path.display().to_string());
                out!("{v}");
            } else {
                out!(
                    "{}: predicted SSIM {:.4} (source: {})",
                    path.display(),
                    p.ssim,
                    p.source.as_str()
                );
                out!("parameters: {}", p.params);
            }
        }
        Command::Measure {
            image: path,
            params: assignments,
            svg: svg_out,
            json,
        } => {
            let params = params::from_assignments(&assignments)?;
            let img = image::load(&path)?;
            let view = img
                .view()
                .map_err(Error::from)
                .with_context(|| path.display().to_string())?;
            let name = path.display().to_string();
            let renderer = vectune_measure::render::Renderer::new();
            let (m, svg) =
                vectune_measure::measure::measure_with_svg(&view, &params, &renderer, &name)
                    .map_err(Error::from)?;
            if let Some(out) = &svg_out {
                std::fs::write(out, &svg)
                    .with_context(|| format!("cannot write `{}`", out.display()))?;
            }
            let predicted = predict::predict(&open_models(), &view, params);
            if json {
                let v = serde_json::json!({
                    "image": name,
                    "params": params,
                    "ssim": m.ssim,
                    "svg_bytes": m.svg_bytes,
                    "path_count": m.path_count,
                    "vectorize_ms": m.vectorize_ms,
                    "predicted": { "ssim": predicted.ssim, "source": predicted.source },
                });
                out!("{v}");
            } else {
                out!(
                    "{name}: actual SSIM {:.4} (predicted {:.4}, source: {})",
                    m.ssim,
                    predicted.ssim,
                    predicted.source.as_str()
                );
                out!(
                    "SVG: {} bytes, {} paths, VTracer {:.1} ms",
                    m.svg_bytes,
                    m.path_count,
                    m.vectorize_ms
                );
                out!("parameters: {params}");
            }
        }
        Command::Features { image: path, json } => {
            let img = image::load(&path)?;
            let view = img
                .view()
                .map_err(Error::from)
                .with_context(|| path.display().to_string())?;
            let f = vectune_core::features::compute(&view);
            if json {
                out!("{}", serde_json::to_string(&f)?);
            } else {
                out!("{}: {}x{}", path.display(), f.width, f.height);
                out!("  unique colours (5-bit) {}", f.unique_colors);
                out!("  colour entropy         {:.3} bits", f.color_entropy);
                out!("  edge density           {:.4}", f.edge_density);
                out!("  gradient strength      {:.4}", f.gradient_strength);
                out!("  corner density         {:.5}", f.corner_density);
                out!("  transparency           {:.4}", f.transparency);
                out!("  complexity             {:.3}", f.complexity);
            }
        }
        Command::Suggest {
            image: path,
            target,
            margin,
            verify,
            json,
        } => {
            let img = image::load(&path)?;
            let view = img
                .view()
                .map_err(Error::from)
                .with_context(|| path.display().to_string())?;
            let manager = open_models();
            let started = std::time::Instant::now();
            let s = vectune_native::suggest::suggest(&manager, &view, target, margin)
                .with_context(|| format!("cannot suggest for `{}`", path.display()))?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let name = path.display().to_string();
            let verified = if verify {
                Some(
                    vectune_native::suggest::verify(&s, &view, &name)
                        .with_context(|| format!("cannot verify the suggestion for `{name}`"))?,
                )
            } else {
                None
            };
            if json {
                let mut v = serde_json::to_value(&s)?;
                v["image"] = serde_json::Value::String(name);
                v["ms"] = serde_json::json!(ms);
                if let Some(checked) = &verified {
                    v["verified"] = serde_json::to_value(checked)?;
                }
                out!("{v}");
            } else if let Some(checked) = &verified {
                out!(
                    "{name}: {} (measured SSIM {:.4}, {} bytes of SVG; target {:.2}: {}{})",
                    checked.params,
                    checked.ssim,
                    checked.svg_bytes,
                    s.target,
                    if checked.met_target {
                        "reached"
                    } else {
                        "NOT reached: the most faithful measured"
                    },
                    if checked.kept_suggestion {
                        ", the model's pick"
                    } else {
                        ", overruling the model's pick"
                    }
                );
                out!(
                    "{} candidates scored by the {} in {ms:.1} ms, {} measured with VTracer in {:.1} ms:",
                    s.candidates,
                    s.source.as_str(),
                    checked.measured.len(),
                    checked.ms
                );
                for m in &checked.measured {
                    out!(
                        "  {} {:.4} measured, {:.4} predicted, {:>7} bytes  {}",
                        if m.params == checked.params { "*" } else { " " },
                        m.ssim,
                        m.predicted_ssim,
                        m.svg_bytes,
                        m.params
                    );
                }
                out!("vectorize with: {}", param_flags(&checked.params));
            } else {
                out!(
                    "{}: {} (predicted SSIM {:.4}{}; target {:.2}, margin {:.2}: {})",
                    path.display(),
                    s.params,
                    s.predicted_ssim,
                    s.predicted_svg_bytes
                        .map(|b| format!(", ~{b:.0} bytes of SVG"))
                        .unwrap_or_default(),
                    s.target,
                    s.margin,
                    if s.met_target {
                        "reached"
                    } else {
                        "NOT reached: the most faithful found"
                    }
                );
                out!(
                    "started from {} ({}), {} candidates scored by the {} in {ms:.1} ms",
                    s.start_from,
                    s.class.unwrap_or("class unknown"),
                    s.candidates,
                    s.source.as_str()
                );
                out!("vectorize with: {}", param_flags(&s.params));
            }
        }
        Command::Classify { image: path, json } => {
            let img = image::load(&path)?;
            let view = img
                .view()
                .map_err(Error::from)
                .with_context(|| path.display().to_string())?;
            let c = vectune_native::classify::classify(&open_models(), &view)
                .with_context(|| format!("cannot classify `{}`", path.display()))?;
            if json {
                let probs: serde_json::Map<String, serde_json::Value> = c
                    .probabilities
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                    .collect();
                out!(
                    "{}",
                    serde_json::json!({"image": path.display().to_string(), "class": c.class, "probabilities": probs})
                );
            } else {
                out!("{}: {}", path.display(), c.class);
                for (k, v) in &c.probabilities {
                    out!("  {k:<17} {v:.3}");
                }
            }
        }
        Command::Models { json } => {
            let manager = ModelManager::open(&dir, cli.backend);
            if json {
                let v = serde_json::json!({
                    "dir": manager.dir().display().to_string(),
                    "backend": manager.backend_kind().name(),
                    "backend_reason": manager.backend_reason(),
                    "manifest_error": manager.manifest_error(),
                    "models": manager.reports(),
                    "cache": manager.cache_stats(),
                    "memory": memory_report(&manager),
                });
                out!("{v}");
            } else {
                out!("models: {}", manager.dir().display());
                out!(
                    "backend: {} ({})",
                    manager.backend_kind().name(),
                    manager.backend_reason()
                );
                if let Some(e) = manager.manifest_error() {
                    out!("no models: {e}; predictions use the heuristic");
                }
                let mem = memory_report(&manager);
                out!(
                    "memory: RSS {:.1} MB (limit {:.0} MB, {}), models {:.1} MB",
                    mem.rss_bytes as f64 / 1048576.0,
                    mem.limit_bytes as f64 / 1048576.0,
                    if mem.within_limits { "within" } else { "OVER" },
                    mem.models_bytes as f64 / 1048576.0
                );
                let c = manager.cache_stats();
                out!(
                    "cache: {} models, {:.1} of {:.0} MB, {} hits, {} misses, {} evictions",
                    c.entries,
                    c.bytes_used as f64 / 1048576.0,
                    c.budget as f64 / 1048576.0,
                    c.hits,
                    c.misses,
                    c.evictions
                );
                for r in manager.reports() {
                    match &r.status {
                        Status::Ready => out!(
                            "  {:<30} {:<16} ready        load {:>7.1} ms  warm-up {:>7.1} ms  {:>9} bytes",
                            r.name,
                            r.task,
                            r.load_ms,
                            r.warmup_ms,
                            r.bytes
                        ),
                        Status::Unavailable { reason } => {
                            out!("  {:<30} {:<16} unavailable  {reason}", r.name, r.task)
                        }
                        Status::Unloaded { reason } => {
                            out!("  {:<30} {:<16} unloaded     {reason}", r.name, r.task)
                        }
                        Status::Loading => out!("  {:<30} {:<16} loading", r.name, r.task),
                    }
                }
            }
        }
        Command::ExportNnef { check, json } => {
            let exported = if check {
                nnef::check_dir(&dir)?
            } else {
                nnef::export_dir(&dir, true)?
            };
            let stale: Vec<&str> = exported
                .iter()
                .filter(|e| e.up_to_date == Some(false))
                .map(|e| e.name.as_str())
                .collect();
            if json {
                out!(
                    "{}",
                    serde_json::json!({ "dir": dir.display().to_string(), "models": exported, "stale": stale })
                );
            } else {
                for e in &exported {
                    let state = match e.up_to_date {
                        None => "written",
                        Some(true) => "up to date",
                        Some(false) => "STALE",
                    };
                    out!(
                        "{:<30} {:<32} {:>9} bytes  {state}",
                        e.name,
                        e.file,
                        e.bytes
                    );
                }
            }
            if !stale.is_empty() {
                eprintln!(
                    "error: {} do not match their ONNX graphs (file, sha256 or outputs): run `vectune export-nnef`",
                    stale.join(", ")
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Predict { .. } => anyhow::bail!("give an image or --batch FILE"),
        Command::ExportTriton { dir: out, json } => {
            let exported = vectune_native::triton::export_dir(&dir, &out)?;
            if json {
                out!(
                    "{}",
                    serde_json::json!({ "dir": out.display().to_string(), "models": exported })
                );
            } else {
                for e in &exported {
                    out!(
                        "{:<24} {:>9} bytes  {}",
                        e.name,
                        e.bytes,
                        if e.batched {
                            "dynamic batching"
                        } else {
                            "no batching (fixed leading dimension)"
                        }
                    );
                }
                out!("Triton model repository: {}", out.display());
            }
        }
        Command::Serve {
            addr,
            max_body_bytes,
            max_params,
            max_batch_items,
            max_concurrent_requests,
            workers,
            max_batch_size,
            queue_timeout_ms,
            request_timeout_ms,
            header_timeout_ms,
            body_timeout_ms,
            max_connections,
            model_memory_mb,
            shutdown_timeout_ms,
            drain_delay_ms,
            images_mb,
            require,
            admin_token,
            web,
            log_json,
        } => {
            use std::time::Duration;
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            use std::io::IsTerminal;
            let logs = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr);
            if log_json {
                logs.json().init();
            } else {
                logs.init();
            }
            let mut config = vectune_native::serve::Config::new(dir.clone());
            config.addr = addr;
            config.backend = cli.backend;
            config.max_body_bytes = max_body_bytes;
            config.max_params = max_params.max(1);
            config.max_batch_items = max_batch_items.max(1);
            config.max_concurrent_requests = max_concurrent_requests.max(1);
            if let Some(w) = workers {
                config.workers = w.max(1);
            }
            config.max_batch = max_batch_size.max(1);
            config.queue_timeout = Duration::from_millis(queue_timeout_ms);
            config.request_timeout = Duration::from_millis(request_timeout_ms);
            config.header_timeout = Duration::from_millis(header_timeout_ms.max(1));
            config.body_timeout = Duration::from_millis(body_timeout_ms.max(1));
            config.max_connections = max_connections.max(1);
            config.model_memory_bytes = model_memory_mb * 1024 * 1024;
            config.shutdown_timeout = Duration::from_millis(shutdown_timeout_ms);
            config.drain_delay = Duration::from_millis(drain_delay_ms);
            config.images_bytes = images_mb * 1024 * 1024;
            config.required = require;
            config.admin_token = admin_token;
            // --web, else an installed release's share/vectune/web, else the checkout's built web/
            config.web_dir = web.or_else(|| {
                let installed =
                    vectune_native::install_dir().map(|d| d.join("../share/vectune/web"));
                let checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web");
                installed
                    .into_iter()
                    .chain([checkout])
                    .find(|d| d.join("pkg/index.js").exists())
            });
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("vectune-http")
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(vectune_native::serve::serve(config))?;
        }
        Command::Params { json } => {
            if json {
                let rows: Vec<_> = SCHEMA
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "name": s.name,
                            "type": match s.kind { ParamKind::Integer => "integer", ParamKind::Float => "float" },
                            "min": s.min, "max": s.max, "default": s.default, "step": s.step,
                            "unit": s.unit, "description": s.description,
                        })
                    })
                    .collect();
                out!("{}", serde_json::Value::Array(rows));
            } else {
                out!(
                    "{:<18} {:<8} {:>12} {:>8}  {:<15} description",
                    "name",
                    "type",
                    "range",
                    "default",
                    "unit"
                );
                for s in &SCHEMA {
                    let kind = match s.kind {
                        ParamKind::Integer => "integer",
                        ParamKind::Float => "float",
                    };
                    out!(
                        "{:<18} {:<8} {:>12} {:>8}  {:<15} {}",
                        s.name,
                        kind,
                        format!("[{}, {}]", s.min, s.max),
                        s.default,
                        s.unit,
                        s.description
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
