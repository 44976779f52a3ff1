//! A soak of a running `vectune serve` (started by `scripts/soak.sh`): 32 clients of mixed
//! traffic on the committed evaluation logos at every size (each logo at ½, 1, 2 and 4 times its
//! size up to 1,024 px, some as JPEG), for a bounded time, sampling the server's RSS every few
//! seconds. A measurement, not a timed test.
//!
//! First a warm-up feeds every shape a client can cause (ONNX Runtime and tract keep a plan per
//! input shape): every parameter-set count 1..=`--max-params` on `/v1/predict`, every item count
//! 1..=`--max-batch-items` on `/v1/predict/batch`, every row count the Open Inference Protocol
//! routes take (up to the same limits and the body limit), and every image once through
//! `/v1/images` (the image and embedding caches fill to their bounds), then `--settle-min` (3) of
//! the mixed traffic; the plateau is the RSS of the minute after. Then the measured phase:
//! predict (one and many parameter sets), batches, classify, suggest, images then predict by id,
//! Open Inference Protocol inference at random row counts, measure on small logos, and the
//! status routes.
//!
//! Writes `soak.csv` (one row per sample: seconds, phase (`shapes`, `settle`, `mixed`), RSS, requests, errors, p50 and p99 of
//! the requests that finished since the last sample) and `soak.json` (the figures) to `--out`,
//! prints the figures (with the server's own memory report at the end), and exits 1 on any error or an RSS growth of 5 % or more.
//!
//! ```sh
//! cargo run --release -p vectune-native --example soak -- --base http://127.0.0.1:8080 \
//!     --pid PID [--minutes 20] [--clients 32] [--sample-s 5] [--settle-min 3] [--out target/soak]
//! ```

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};
use vectune_core::params::SCHEMA;

/// Largest side of a scaled logo.
const LARGEST_SIDE: u32 = 1024;
/// RSS growth past the plateau that fails the soak.
const GROWTH_LIMIT: f64 = 0.05;
/// The plateau is the median RSS of this long right after the warm-up; the end, of the last.
const PLATEAU_WINDOW: Duration = Duration::from_secs(60);

struct Args {
    base: String,
    pid: u32,
    minutes: f64,
    clients: usize,
    sample: Duration,
    settle_minutes: f64,
    out: PathBuf,
    images: PathBuf,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        base: String::new(),
        pid: 0,
        minutes: 20.0,
        clients: 32,
        sample: Duration::from_secs(5),
        settle_minutes: 3.0,
        out: PathBuf::from("target/soak"),
        images: Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/data/eval/images"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => a.base = value()?,
            "--pid" => a.pid = value()?.parse()?,
            "--minutes" => a.minutes = value()?.parse()?,
            "--clients" => a.clients = value()?.parse()?,
            "--sample-s" => a.sample = Duration::from_secs_f64(value()?.parse()?),
            "--settle-min" => a.settle_minutes = value()?.parse()?,
            "--out" => a.out = value()?.into(),
            "--images" => a.images = value()?.into(),
            other => bail!(
                "unknown argument `{other}` (--base URL --pid PID [--minutes M] [--clients N] \
                 [--sample-s S] [--settle-min M] [--out DIR] [--images DIR])"
            ),
        }
    }
    if a.base.is_empty() || a.pid == 0 {
        bail!("--base URL and --pid PID (the server's) are required");
    }
    Ok(a)
}

/// One logo at one size, as the request bodies carry it.
struct Logo {
    b64: String,
    /// The longer side, px.
    side: u32,
    /// The shorter side, px.
    short: u32,
}

/// Every logo at ½, 1, 2 and 4 times its size (sides 16..=1,024 px), one in eight as JPEG.
fn logos(dir: &Path) -> anyhow::Result<Vec<Logo>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no PNG logos in {}", dir.display());
    }
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f)?;
        let img = image::load_from_memory(&bytes)
            .with_context(|| format!("decoding {}", f.display()))?
            .to_rgba8();
        let side = img.width().max(img.height());
        out.push(Logo {
            b64: b64(&bytes),
            side,
            short: img.width().min(img.height()),
        });
        for scale in [0.5f64, 2.0, 4.0] {
            let s = (f64::from(side) * scale).round() as u32;
            if !(16..=LARGEST_SIDE).contains(&s) {
                continue;
            }
            let w = ((f64::from(img.width()) * scale).round() as u32).max(1);
            let h = ((f64::from(img.height()) * scale).round() as u32).max(1);
            let scaled = image::imageops::resize(&img, w, h, image::imageops::FilterType::Lanczos3);
            let mut encoded = std::io::Cursor::new(Vec::new());
            if i % 8 == 0 {
                image::DynamicImage::ImageRgba8(scaled)
                    .to_rgb8()
                    .write_to(&mut encoded, image::ImageFormat::Jpeg)?;
            } else {
                scaled.write_to(&mut encoded, image::ImageFormat::Png)?;
            }
            out.push(Logo {
                b64: b64(encoded.get_ref()),
                side: s,
                short: w.min(h),
            });
        }
    }
    Ok(out)
}

/// A random valid parameter set.
fn params() -> Value {
    let mut m = serde_json::Map::new();
    for spec in SCHEMA {
        m.insert(spec.name.into(), json!(spec.denormalise(fastrand::f32())));
    }
    Value::Object(m)
}

fn params_list(n: usize) -> Value {
    Value::Array((0..n).map(|_| params()).collect())
}

/// An Open Inference Protocol model's inputs, from its metadata.
struct OipModel {
    name: String,
    /// (name, shape with -1 for the batch dimension)
    inputs: Vec<(String, Vec<i64>)>,
    /// Most rows a request may carry.
    most_rows: usize,
}

impl OipModel {
    /// An inference request of `rows` rows of values in [0, 1) with two decimals.
    fn body(&self, rows: usize) -> String {
        let mut s = String::from("{\"inputs\":[");
        for (k, (name, shape)) in self.inputs.iter().enumerate() {
            let dims: Vec<i64> = shape
                .iter()
                .map(|&d| if d < 0 { rows as i64 } else { d })
                .collect();
            let n: i64 = dims.iter().product();
            if k > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"name\":\"{name}\",\"datatype\":\"FP32\",\"shape\":{dims:?},\"data\":["
            );
            for i in 0..n {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "0.{:02}", fastrand::u8(0..100));
            }
            s.push_str("]}");
        }
        s.push_str("]}");
        s
    }
}

/// The service's limits (from `/v1/models`): the shapes a client can cause.
#[derive(Clone, Copy)]
struct Limits {
    max_params: usize,
    max_batch_items: usize,
    max_body_bytes: usize,
}

fn limits(agent: &ureq::Agent, base: &str) -> anyhow::Result<(Limits, Vec<String>)> {
    let (_, v) = get_json(agent, &format!("{base}/v1/models"))?;
    let l = &v["limits"];
    let get = |k: &str| -> anyhow::Result<usize> {
        l[k].as_u64()
            .map(|n| n as usize)
            .with_context(|| format!("/v1/models has no limits.{k}: {v}"))
    };
    let limits = Limits {
        max_params: get("max_params")?,
        max_batch_items: get("max_batch_items")?,
        max_body_bytes: get("max_body_bytes")?,
    };
    let names = v["models"]
        .as_array()
        .context("/v1/models has no `models`")?
        .iter()
        .filter_map(|m| m["name"].as_str().map(str::to_string))
        .collect();
    Ok((limits, names))
}

/// The models served over the Open Inference Protocol and ready.
fn oip_models(
    agent: &ureq::Agent,
    base: &str,
    limits: Limits,
    names: Vec<String>,
) -> anyhow::Result<Vec<OipModel>> {
    let mut out = Vec::new();
    for name in names {
        let (ready, _) = get_json(agent, &format!("{base}/v2/models/{name}/ready"))?;
        let (status, meta) = get_json(agent, &format!("{base}/v2/models/{name}"))?;
        if ready != 200 || status != 200 {
            continue; // not served over the Open Inference Protocol
        }
        let inputs: Vec<(String, Vec<i64>)> = meta["inputs"]
            .as_array()
            .context("metadata without inputs")?
            .iter()
            .map(|i| {
                let shape = i["shape"]
                    .as_array()
                    .map(|s| s.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default();
                (i["name"].as_str().unwrap_or_default().to_string(), shape)
            })
            .collect();
        let takes_params = inputs.iter().any(|(n, _)| n == "params");
        // values per row, ~5 bytes each ("0.42,"); a fixed input counts once
        let per_row: i64 = inputs
            .iter()
            .filter(|(_, s)| s.first() == Some(&-1))
            .map(|(_, s)| s.iter().skip(1).product::<i64>())
            .sum();
        let fixed: i64 = inputs
            .iter()
            .filter(|(_, s)| s.first() != Some(&-1))
            .map(|(_, s)| s.iter().product::<i64>())
            .sum();
        let room =
            (limits.max_body_bytes as i64 * 9 / 10 - fixed * 5).max(0) / (per_row.max(1) * 5);
        let limit = if takes_params {
            limits.max_params
        } else {
            limits.max_batch_items
        };
        let most_rows = (room as usize).min(limit);
        if most_rows == 0 {
            continue;
        }
        out.push(OipModel {
            name,
            inputs,
            most_rows,
        });
    }
    Ok(out)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn get_json(agent: &ureq::Agent, url: &str) -> anyhow::Result<(u16, Value)> {
    let mut r = agent.get(url).call()?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// One request of the soak.
#[derive(Clone)]
enum Req {
    Post(&'static str, String),
    Infer(usize, usize),
    Get(&'static str),
    /// `/v1/images` then `/v1/predict` by the id it answered.
    ImageThenPredict(usize),
}

struct Shared {
    base: String,
    limits: Limits,
    logos: Vec<Logo>,
    /// Logos under 320 px.
    small: Vec<usize>,
    /// Logos `measure` takes in the mix: at most 96 px, each side at least 16 px.
    measurable: Vec<usize>,
    oip: Vec<OipModel>,
    /// Latencies (ms) of the requests finished since the last sample.
    window: Mutex<Vec<f64>>,
    requests: AtomicU64,
    errors: AtomicU64,
    /// The first few errors, for the report.
    first_errors: Mutex<Vec<String>>,
    stop: AtomicBool,
    warm: AtomicBool,
}

impl Shared {
    fn failed(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut e = self
            .first_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if e.len() < 20 {
            eprintln!("error: {what}");
            e.push(what);
        }
    }

    /// Indexes of `logos` chosen once: under 320 px; measurable (see [`Shared::mixed`]).
    fn new(base: String, limits: Limits, logos: Vec<Logo>, oip: Vec<OipModel>) -> Shared {
        let which = |keep: &dyn Fn(&Logo) -> bool| -> Vec<usize> {
            (0..logos.len()).filter(|&i| keep(&logos[i])).collect()
        };
        let small = which(&|l| l.side < 320);
        let measurable = which(&|l| l.side <= 96 && l.short >= 16);
        Shared {
            base,
            limits,
            logos,
            small,
            measurable,
            oip,
            window: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_errors: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            warm: AtomicBool::new(false),
        }
    }

    fn logo(&self) -> usize {
        fastrand::usize(..self.logos.len())
    }

    /// Sends one request; counts and times it.
    fn send(&self, agent: &ureq::Agent, req: &Req) {
        let start = Instant::now();
        let outcome = self.exchange(agent, req);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.window
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ms);
        if let Err(e) = outcome {
            self.failed(e);
        }
    }

    fn post(&self, agent: &ureq::Agent, path: &str, body: &str) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let mut r = agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("POST {path}: reading the answer: {e}"))?;
        if status != 200 {
            let head: String = text.chars().take(300).collect();
            return Err(format!("POST {path}: {status} {head}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("POST {path}: not JSON: {e}"))
    }

    fn exchange(&self, agent: &ureq::Agent, req: &Req) -> Result<(), String> {
        match req {
            Req::Post(path, body) => self.post(agent, path, body).map(drop),
            Req::Infer(model, rows) => {
                let m = &self.oip[*model];
                let path = format!("/v2/models/{}/infer", m.name);
                let v = self.post(agent, &path, &m.body(*rows))?;
                let n = v["outputs"][0]["shape"][0].as_u64().unwrap_or(0) as usize;
                if n != *rows {
                    return Err(format!("{path}: {rows} rows in, {n} out"));
                }
                Ok(())
            }
            Req::Get(path) => {
                let mut r = agent
                    .get(format!("{}{path}", self.base))
                    .call()
                    .map_err(|e| format!("GET {path}: {e}"))?;
                let _ = r.body_mut().read_to_string();
                match r.status().as_u16() {
                    200 => Ok(()),
                    s => Err(format!("GET {path}: {s}")),
                }
            }
            Req::ImageThenPredict(logo) => {
                let body = json!({ "image": self.logos[*logo].b64 }).to_string();
                let v = self.post(agent, "/v1/images", &body)?;
                let id = v["image_id"].as_str().ok_or("/v1/images: no image_id")?;
                let body = json!({ "image_id": id, "params": params() }).to_string();
                self.post(agent, "/v1/predict", &body).map(drop)
            }
        }
    }

    /// One request of the mixed traffic.
    fn mixed(&self) -> Req {
        let image = |s: &Shared| s.logos[s.logo()].b64.clone();
        let roll = fastrand::u32(0..100);
        match roll {
            0..30 => Req::Post(
                "/v1/predict",
                json!({ "image": image(self), "params": params() }).to_string(),
            ),
            30..42 => {
                let n = if fastrand::bool() {
                    fastrand::usize(1..=16)
                } else {
                    fastrand::usize(1..=self.limits.max_params)
                };
                Req::Post(
                    "/v1/predict",
                    json!({ "image": image(self), "params": params_list(n) }).to_string(),
                )
            }
            42..50 => {
                // the original sizes (the bodies stay small) with one to four parameter sets each
                let items: Vec<Value> = (0..fastrand::usize(1..=self.limits.max_batch_items))
                    .map(|_| {
                        let i = self.original();
                        json!({ "image": self.logos[i].b64,
                                "params": params_list(fastrand::usize(1..=4)) })
                    })
                    .collect();
                Req::Post("/v1/predict/batch", json!({ "items": items }).to_string())
            }
            50..60 => Req::Post("/v1/classify", json!({ "image": image(self) }).to_string()),
            60..70 => Req::Post(
                "/v1/suggest",
                json!({ "image": image(self),
                        "target": 0.85 + 0.14 * fastrand::f64() })
                .to_string(),
            ),
            70..82 => Req::ImageThenPredict(self.logo()),
            82..94 if !self.oip.is_empty() => {
                let m = fastrand::usize(..self.oip.len());
                Req::Infer(m, fastrand::usize(1..=self.oip[m].most_rows))
            }
            94..97 => {
                // the real instrument (VTracer, render, SSIM): small logos only, each side at
                // least SSIM's 11 px window (a smaller one is refused with 400, rightly)
                let i = pick(&self.measurable).unwrap_or(0);
                Req::Post(
                    "/v1/measure",
                    json!({ "image": self.logos[i].b64, "params": params() }).to_string(),
                )
            }
            97 => Req::Get("/v1/models"),
            98 => Req::Get("/metrics"),
            _ => Req::Get("/v1/params"),
        }
    }

    /// A logo under 320 px (the originals' sizes and below: batch bodies stay small).
    fn original(&self) -> usize {
        pick(&self.small).unwrap_or_else(|| self.logo())
    }
}

/// One of `indexes` at random.
fn pick(indexes: &[usize]) -> Option<usize> {
    (!indexes.is_empty()).then(|| indexes[fastrand::usize(..indexes.len())])
}

/// The warm-up: every shape a client can cause, and every logo once.
fn warmup_requests(s: &Shared) -> Vec<Req> {
    let mut reqs = Vec::new();
    let first = s.logos[0].b64.clone();
    for n in 1..=s.limits.max_params {
        reqs.push(Req::Post(
            "/v1/predict",
            json!({ "image": first, "params": params_list(n) }).to_string(),
        ));
    }
    for n in 1..=s.limits.max_batch_items {
        let items: Vec<Value> = (0..n)
            .map(|_| json!({ "image": s.logos[s.original()].b64, "params": params() }))
            .collect();
        reqs.push(Req::Post(
            "/v1/predict/batch",
            json!({ "items": items }).to_string(),
        ));
    }
    for (m, model) in s.oip.iter().enumerate() {
        for rows in 1..=model.most_rows {
            reqs.push(Req::Infer(m, rows));
        }
    }
    for i in 0..s.logos.len() {
        reqs.push(Req::ImageThenPredict(i));
        reqs.push(Req::Post(
            "/v1/suggest",
            json!({ "image": s.logos[i].b64, "target": 0.95 }).to_string(),
        ));
    }
    fastrand::shuffle(&mut reqs);
    reqs
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 0.5)
}

/// One sample: (seconds since start, past the warm-up, RSS bytes, requests, errors, p50 ms, p99 ms).
type Sample = (f64, bool, u64, u64, u64, f64, f64);

fn main() -> anyhow::Result<()> {
    let a = args()?;
    std::fs::create_dir_all(&a.out)?;
    eprintln!("soak: preparing the logos in {}", a.images.display());
    let logos = logos(&a.images)?;
    let probe = agent();
    let (limits, names) = limits(&probe, &a.base)?;
    let oip = oip_models(&probe, &a.base, limits, names)?;
    eprintln!(
        "soak: {} logo files (sides {}..={} px); OIP models: {}",
        logos.len(),
        logos.iter().map(|l| l.side).min().unwrap_or(0),
        logos.iter().map(|l| l.side).max().unwrap_or(0),
        oip.iter()
            .map(|m| format!("{} (1..={} rows)", m.name, m.most_rows))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let shared = Arc::new(Shared::new(a.base.clone(), limits, logos, oip));
    let warmup = Arc::new(Mutex::new(VecDeque::from(warmup_requests(&shared))));
    let warmup_total = warmup.lock().map_or(0, |w| w.len());
    let warm_left = Arc::new(AtomicUsize::new(a.clients));
    eprintln!(
        "soak: warm-up of {warmup_total} requests, then {} min of mixed traffic at {} clients",
        a.minutes, a.clients
    );

    let start = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..a.clients {
        let (s, w, left) = (shared.clone(), warmup.clone(), warm_left.clone());
        clients.push(std::thread::spawn(move || {
            let agent = agent();
            loop {
                let next = w.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                match next {
                    Some(r) => s.send(&agent, &r),
                    None => break,
                }
            }
            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                s.warm.store(true, Ordering::Release);
            }
            while !s.warm.load(Ordering::Acquire) && !s.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            while !s.stop.load(Ordering::Relaxed) {
                let r = s.mixed();
                s.send(&agent, &r);
            }
        }));
    }

    let mut samples: Vec<Sample> = Vec::new();
    let mut shapes_done: Option<f64> = None;
    let mut warm_at: Option<f64> = None;
    let mut csv = std::fs::File::create(a.out.join("soak.csv"))?;
    writeln!(csv, "seconds,phase,rss_mb,requests,errors,p50_ms,p99_ms")?;
    let mut last_report = Instant::now();
    loop {
        std::thread::sleep(a.sample);
        let t = start.elapsed().as_secs_f64();
        // the warm-up: every shape, then `settle_minutes` of mixed traffic (the caches fill)
        if shared.warm.load(Ordering::Acquire) && shapes_done.is_none() {
            shapes_done = Some(t);
            eprintln!(
                "soak: every shape fed at {t:.0} s; {} min of mixed traffic to settle",
                a.settle_minutes
            );
        }
        let warm = shapes_done.is_some_and(|d| t >= d + a.settle_minutes * 60.0);
        if warm && warm_at.is_none() {
            warm_at = Some(t);
            eprintln!(
                "soak: warm-up done at {t:.0} s; measuring for {} min",
                a.minutes
            );
        }
        let phase = match (shapes_done, warm) {
            (None, _) => "shapes",
            (Some(_), false) => "settle",
            (Some(_), true) => "mixed",
        };
        let Some(rss) = rss_bytes(a.pid) else {
            shared.failed(format!("the server (pid {}) is gone", a.pid));
            break;
        };
        let mut window =
            std::mem::take(&mut *shared.window.lock().unwrap_or_else(PoisonError::into_inner));
        window.sort_by(f64::total_cmp);
        let sample = (
            t,
            warm,
            rss,
            shared.requests.load(Ordering::Relaxed),
            shared.errors.load(Ordering::Relaxed),
            percentile(&window, 0.5),
            percentile(&window, 0.99),
        );
        writeln!(
            csv,
            "{:.1},{},{:.1},{},{},{:.1},{:.1}",
            t,
            phase,
            rss as f64 / 1048576.0,
            sample.3,
            sample.4,
            sample.5,
            sample.6
        )?;
        csv.flush()?;
        samples.push(sample);
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = Instant::now();
            let left = warmup.lock().map_or(0, |w| w.len());
            eprintln!(
                "soak: {:.0} s, {}, RSS {:.0} MB, {} requests, {} errors, p99 {:.0} ms",
                t,
                if shapes_done.is_none() {
                    format!("warm-up, {left} of {warmup_total} shape requests left")
                } else {
                    phase.to_string()
                },
                rss as f64 / 1048576.0,
                sample.3,
                sample.4,
                sample.6
            );
        }
        if let Some(w) = warm_at
            && t - w >= a.minutes * 60.0
        {
            break;
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    // where the memory is, by the server's own account
    let server = get_json(&probe, &format!("{}/v1/models", a.base))
        .map(|(_, v)| {
            json!({ "memory": v["memory"], "cache": v["cache"],
                    "encodings": v["encodings"], "images": v["images"] })
        })
        .unwrap_or(Value::Null);
    report(&a, &shared, &samples, warm_at, server)
}

fn report(
    a: &Args,
    shared: &Shared,
    samples: &[Sample],
    warm_at: Option<f64>,
    server: Value,
) -> anyhow::Result<()> {
    let warm_at = warm_at.context("the warm-up never finished")?;
    let end = samples.last().map_or(0.0, |s| s.0);
    let window = PLATEAU_WINDOW.as_secs_f64();
    let rss_in = |from: f64, to: f64| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| s.0 >= from && s.0 <= to)
            .map(|s| s.2 as f64)
            .collect()
    };
    let mut plateau = rss_in(warm_at, warm_at + window);
    let mut last = rss_in(end - window, end);
    let mut after = rss_in(warm_at, end);
    let plateau = median(&mut plateau);
    let last = median(&mut last);
    after.sort_by(f64::total_cmp);
    let peak = after.last().copied().unwrap_or(f64::NAN);
    let growth = last / plateau - 1.0;
    // p99 drift: the p99 of the first and the last samples' p99s over two minutes each
    let p99_in = |from: f64, to: f64| -> f64 {
        let mut v: Vec<f64> = samples
            .iter()
            .filter(|s| s.0 >= from && s.0 <= to && s.6.is_finite())
            .map(|s| s.6)
            .collect();
        median(&mut v)
    };
    let p99_first = p99_in(warm_at, warm_at + 2.0 * window);
    let p99_last = p99_in(end - 2.0 * window, end);
    let at_warm = samples
        .iter()
        .take_while(|s| !s.1)
        .last()
        .map_or(0, |s| s.3);
    let mixed_requests = samples.last().map_or(0, |s| s.3).saturating_sub(at_warm);
    let errors = shared.errors.load(Ordering::Relaxed);
    let mb = |b: f64| b / 1048576.0;
    let figures = json!({
        "clients": a.clients,
        "warmup_s": warm_at,
        "mixed_s": end - warm_at,
        "requests": shared.requests.load(Ordering::Relaxed),
        "mixed_requests": mixed_requests,
        "errors": errors,
        "first_errors": *shared.first_errors.lock().unwrap_or_else(PoisonError::into_inner),
        "rss_plateau_mb": mb(plateau),
        "rss_end_mb": mb(last),
        "rss_peak_after_warmup_mb": mb(peak),
        "rss_growth_percent": growth * 100.0,
        "p99_first_ms": p99_first,
        "p99_last_ms": p99_last,
        "p99_drift_percent": (p99_last / p99_first - 1.0) * 100.0,
        "server_at_end": server,
    });
    std::fs::write(
        a.out.join("soak.json"),
        serde_json::to_string_pretty(&figures)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&figures)?);
    if errors > 0 || !growth.is_finite() || growth >= GROWTH_LIMIT {
        eprintln!(
            "soak: FAILED ({errors} errors, RSS growth {:.2} %, the limit {:.0} %)",
            growth * 100.0,
            GROWTH_LIMIT * 100.0
        );
        std::process::exit(1);
    }
    eprintln!(
        "soak: ok (0 errors, RSS {:.0} → {:.0} MB after the warm-up: {:+.2} %)",
        mb(plateau),
        mb(last),
        growth * 100.0
    );
    Ok(())
}
