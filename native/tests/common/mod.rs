//! What the service's end-to-end tests share: the real `vectune serve` binary started on a free
//! loopback port, a plain HTTP client, readiness and metrics probes.
#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub fn logo_bytes() -> Vec<u8> {
    std::fs::read(fixtures().join("golden/logo.png")).unwrap()
}

pub fn logo_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(logo_bytes())
}

/// A running `vectune serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(models: &Path, extra: &[&str]) -> Server {
    start_with(models, extra, &[])
}

/// [`start`] with environment variables set for the server (`ORT_DYLIB_PATH`, `FAILPOINTS`, ...).
pub fn start_with(models: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vectune"))
        .arg("--models")
        .arg(models)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vectune serve");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    Server { child, base }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// (status, body) of a request.
pub fn call(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> (u16, String) {
    let a = agent();
    let mut r = match (method, body) {
        ("GET", _) => a.get(url).call(),
        (_, b) => {
            let mut req = a.post(url);
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            req.send(b.unwrap_or_default())
        }
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

pub fn get(s: &Server, path: &str) -> (u16, String) {
    call("GET", &format!("{}{path}", s.base), None, None)
}

pub fn post(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = call(
        "POST",
        &format!("{}{path}", s.base),
        Some("application/json"),
        Some(body.to_string().as_bytes()),
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn wait_ready(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if get(s, "/v2/health/ready").0 == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("not ready: {}", get(s, "/v1/models").1);
}

/// The largest logo of the committed evaluation set, as base64: slow enough to verify that
/// requests are still in flight when the signal comes.
pub fn big_logo_b64() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/data/eval/images");
    let biggest = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(biggest).unwrap())
}

/// A metric's value in `/metrics` (the first sample whose name and labels start with `series`).
pub fn metric(s: &Server, series: &str) -> Option<f64> {
    let (_, text) = get(s, "/metrics");
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series || name.starts_with(&format!("{series}{{"))).then(|| value.parse().ok())?
    })
}

/// `vectune_pending_requests` now.
pub fn pending(s: &Server) -> u64 {
    metric(s, "vectune_pending_requests").map_or(0, |v| v as u64)
}

/// A copy of the fixture model directory (`tests/fixtures/models`) to break, under the target
/// directory's tmp, named for the test.
pub fn copy_models(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("models-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixtures().join("models")).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    dir
}
