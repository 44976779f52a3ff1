//! `vectune serve` end to end: the real binary on a loopback port, real HTTP from a client, the
//! fixture models (`tests/fixtures/models`). Every route, every error class, readiness before and
//! after loading, degraded mode, metrics, overload, and SIGTERM under load.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use serde_json::{Value, json};

/// (status, body) of a POST whose head announces `length` bytes and which sends none of them.
fn over_the_body_limit(s: &Server, length: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, body.to_string())
}

/// The CLI's `--json` answer.
fn cli(models: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_vectune"))
        .arg("--models")
        .arg(models)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_route_answers_and_the_numbers_are_the_clis() {
    let models = fixtures().join("models");
    let s = start(&models, &["--backend", "ort"]);
    // liveness never waits for models
    assert_eq!(get(&s, "/v2/health/live").0, 200);
    wait_ready(&s);
    let logo = fixtures().join("golden/logo.png");
    let logo = logo.to_str().unwrap();

    // upload once, then predict by id: the CLI's number
    let (st, up) = post(&s, "/v1/images", &json!({ "image": logo_b64() }));
    assert_eq!(st, 200, "{up}");
    let id = up["image_id"].as_str().unwrap().to_string();
    assert_eq!(id, vectune_core::manifest::sha256_hex(&logo_bytes()));
    assert_eq!(
        (up["width"].as_u64(), up["height"].as_u64()),
        (Some(61), Some(37))
    );
    assert!(up["features"]["unique_colors"].as_u64().unwrap() > 0);
    let (st, p) = post(
        &s,
        "/v1/predict",
        &json!({ "image_id": id, "params": { "color_precision": 4 } }),
    );
    assert_eq!(st, 200, "{p}");
    let want = cli(
        &models,
        &[
            "--backend",
            "ort",
            "predict",
            logo,
            "-p",
            "color_precision=4",
            "--json",
        ],
    );
    assert_eq!(
        p["ssim"].as_f64(),
        want["ssim"].as_f64(),
        "server {p} vs CLI {want}"
    );
    assert_eq!(p["source"], "model");
    assert_eq!(p["params"]["color_precision"], 4);
    assert_eq!(p["params"]["filter_speckle"], 4, "defaults filled in");
    assert_eq!(p["backend"], "ort");
    assert!(
        p["model_version"]
            .as_str()
            .unwrap()
            .contains("quality_encoder@")
    );
    assert!(p["timing"]["total_ms"].as_f64().unwrap() > 0.0);

    // many parameter sets for one image; the same numbers one at a time; multipart too
    let sets = json!([{ "color_precision": 2 }, { "color_precision": 4 }, { "filter_speckle": 9 }]);
    let (st, many) = post(
        &s,
        "/v1/predict",
        &json!({ "image": logo_b64(), "params": sets }),
    );
    assert_eq!(st, 200, "{many}");
    let many = many["predictions"].as_array().unwrap().clone();
    assert_eq!(many.len(), 3);
    assert!((many[1]["ssim"].as_f64().unwrap() - p["ssim"].as_f64().unwrap()).abs() < 1e-6);
    let boundary = "vectune-test-boundary";
    let mut body = Vec::new();
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    body.extend(logo_bytes());
    body.extend(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{\"color_precision\": 4}}\r\n--{boundary}--\r\n").as_bytes());
    let (st, text) = call(
        "POST",
        &format!("{}/v1/predict", s.base),
        Some(&format!("multipart/form-data; boundary={boundary}")),
        Some(&body),
    );
    assert_eq!(st, 200, "{text}");
    let mp: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(mp["ssim"], p["ssim"]);

    // a batch: answers in order, one item's error in its place
    let (st, b) = post(
        &s,
        "/v1/predict/batch",
        &json!({ "items": [
            { "image_id": id, "params": { "color_precision": 4 } },
            { "image": "not base64!" },
            { "image_id": id, "params": [{ "color_precision": 2 }] },
        ]}),
    );
    assert_eq!(st, 200, "{b}");
    let r = b["results"].as_array().unwrap();
    assert_eq!(r[0]["ssim"], p["ssim"]);
    assert_eq!(r[1]["error"]["code"], "bad_input");
    assert!(
        r[1]["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("items[1]: ")
    );
    assert_eq!(r[2]["predictions"][0]["ssim"], many[0]["ssim"]);

    // classify, suggest (and verified), measure: the CLI's answers
    let (st, c) = post(&s, "/v1/classify", &json!({ "image_id": id }));
    assert_eq!(st, 200, "{c}");
    let want = cli(&models, &["--backend", "ort", "classify", logo, "--json"]);
    assert_eq!(c["class"], want["class"]);
    let (st, sg) = post(
        &s,
        "/v1/suggest",
        &json!({ "image_id": id, "target": 0.9, "verify": true }),
    );
    assert_eq!(st, 200, "{sg}");
    let want = cli(
        &models,
        &[
            "--backend",
            "ort",
            "suggest",
            logo,
            "--target",
            "0.9",
            "--verify",
            "--json",
        ],
    );
    assert_eq!(sg["params"], want["params"]);
    assert_eq!(sg["verified"]["params"], want["verified"]["params"]);
    let (st, m) = post(
        &s,
        "/v1/measure",
        &json!({ "image_id": id, "params": { "color_precision": 4 } }),
    );
    assert_eq!(st, 200, "{m}");
    let want = cli(
        &models,
        &[
            "--backend",
            "ort",
            "measure",
            logo,
            "-p",
            "color_precision=4",
            "--json",
        ],
    );
    assert_eq!(m["ssim"], want["ssim"]);
    assert_eq!(m["bytes"], want["svg_bytes"]);
    assert!(
        m["svg"].as_str().unwrap().starts_with("<?xml")
            || m["svg"].as_str().unwrap().contains("<svg")
    );

    // the schema and the models
    let (st, text) = get(&s, "/v1/params");
    assert_eq!(st, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let (st, text) = get(&s, "/v1/models");
    assert_eq!(st, 200);
    let ms: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (ms["ready"].as_bool(), ms["degraded"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(ms["quality"], "split");
    assert!(ms["memory"]["rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(ms["memory"]["models_bytes"].as_u64().unwrap() > 0);
    assert_eq!(ms["models"].as_array().unwrap().len(), 10);
    assert!(
        ms["encodings"]["hits"].as_u64().unwrap() >= 1,
        "predict by id reused the encoding: {ms}"
    );

    // Open Inference Protocol v2
    let (st, text) = get(&s, "/v2");
    assert_eq!(st, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["name"],
        "vectune"
    );
    let (st, text) = get(&s, "/v2/models/quality_head");
    assert_eq!(st, 200);
    let meta: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        meta["inputs"][0],
        json!({ "name": "embedding", "datatype": "FP32", "shape": [-1, 96] })
    );
    assert_eq!(get(&s, "/v2/models/quality_head/ready").0, 200);
    let infer = json!({ "id": "t1", "inputs": [
        { "name": "embedding", "shape": [2, 96], "datatype": "FP32", "data": vec![0.5f32; 192] },
        { "name": "params", "shape": [2, 8], "datatype": "FP32", "data": [vec![0.5f32; 8], vec![0.1f32; 8]] },
    ]});
    let (st, out) = post(&s, "/v2/models/quality_head/infer", &infer);
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["id"], "t1");
    assert_eq!(out["outputs"][0]["shape"], json!([2, 1]));
    assert_eq!(out["outputs"][0]["data"].as_array().unwrap().len(), 2);

    // metrics count what happened
    let (st, text) = get(&s, "/metrics");
    assert_eq!(st, 200);
    assert!(
        text.contains("vectune_requests_total{code=\"200\",route=\"/v1/predict\"} 3"),
        "{text}"
    );
    assert!(text.contains("vectune_model_ready{model=\"quality_head\"} 1"));
    assert!(text.contains("process_resident_memory_bytes "));
    assert!(text.contains("vectune_inference_duration_seconds_bucket"));
    assert!(text.contains("vectune_pending_requests 0"));
    // encoder runs go through the batcher, which counts their rows
    assert!(
        text.contains("vectune_batch_size_count{model=\"quality_encoder\"}"),
        "{text}"
    );
}

#[test]
fn every_client_mistake_is_a_4xx_with_a_json_error() {
    let models = fixtures().join("models");
    let s = start(
        &models,
        &[
            "--backend",
            "tract",
            "--max-params",
            "4",
            "--max-body-bytes",
            "200000",
        ],
    );
    wait_ready(&s);
    let url = |p: &str| format!("{}{p}", s.base);
    let error = |status: u16, text: &str, code: &str, field: Option<&str>| {
        let v: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!(v["error"]["code"], code, "{text}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        if let Some(f) = field {
            assert_eq!(v["error"]["field"], f, "{text}");
        }
        assert!((400..500).contains(&status), "{status} {text}");
    };
    let (st, t) = call(
        "POST",
        &url("/v1/predict"),
        Some("application/json"),
        Some(b"{not json"),
    );
    error(st, &t, "bad_input", None);
    let (st, t) = call(
        "POST",
        &url("/v1/predict"),
        Some("application/json"),
        Some(b"{\"imag\": \"x\"}"),
    );
    error(st, &t, "bad_input", Some("imag"));
    let (st, t) = call("POST", &url("/v1/predict"), Some("text/plain"), Some(b"{}"));
    assert_eq!(st, 415);
    error(st, &t, "unsupported_media_type", None);
    // (found by schemathesis: the batch route answered its rejections in plain text)
    let (st, t) = call("POST", &url("/v1/predict/batch"), None, Some(b"{}"));
    assert_eq!(st, 415);
    error(st, &t, "unsupported_media_type", None);
    let (st, t) = call(
        "POST",
        &url("/v1/predict/batch"),
        Some("application/json"),
        Some(b"{\"items\": 3}"),
    );
    error(st, &t, "bad_input", Some("items"));
    let (st, v) = post(
        &s,
        "/v1/predict",
        &json!({ "image": base64::engine::general_purpose::STANDARD.encode(b"not a png") }),
    );
    error(st, &v.to_string(), "bad_input", Some("image"));
    let (st, v) = post(
        &s,
        "/v1/predict",
        &json!({ "image": logo_b64(), "params": { "color_precision": 0 } }),
    );
    error(st, &v.to_string(), "bad_input", Some("params"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must be an integer in [1, 8]")
    );
    let (st, v) = post(
        &s,
        "/v1/predict",
        &json!({ "image": logo_b64(), "params": [{}, {}, {}, {}, {}] }),
    );
    error(st, &v.to_string(), "bad_input", Some("params"));
    let (st, v) = post(&s, "/v1/predict", &json!({ "image_id": "0".repeat(64) }));
    assert_eq!(st, 404);
    error(st, &v.to_string(), "not_found", Some("image_id"));
    let (st, v) = post(&s, "/v1/predict", &json!({}));
    error(st, &v.to_string(), "bad_input", Some("image"));
    let (st, v) = post(
        &s,
        "/v1/suggest",
        &json!({ "image": logo_b64(), "target": 2.0 }),
    );
    error(st, &v.to_string(), "bad_input", Some("target"));
    // past the body limit: refused from the Content-Length before the body is read (a client
    // still sending would see the connection close under it, so this one sends only the head)
    let (st, t) = over_the_body_limit(&s, 300_000);
    assert_eq!(st, 413, "{t}");
    error(st, &t, "payload_too_large", None);
    let (st, t) = get(&s, "/v1/nope");
    assert_eq!(st, 404);
    error(st, &t, "not_found", None);
    let (st, v) = post(&s, "/v1/models/quality_head/reload", &json!({}));
    assert_eq!(st, 403);
    error(st, &v.to_string(), "forbidden", None);
    // the Open Inference Protocol's own error form
    let (st, t) = get(&s, "/v2/models/nope");
    assert_eq!(st, 404, "{t}");
    let (st, v) = post(
        &s,
        "/v2/models/quality_head/infer",
        &json!({ "inputs": [
            { "name": "embedding", "shape": [1, 95], "datatype": "FP32", "data": vec![0.0f32; 95] },
            { "name": "params", "shape": [1, 8], "datatype": "FP32", "data": vec![0.0f32; 8] },
        ]}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("does not fit"), "{v}");
    // more rows than /v1 would run (each row count is a plan the runtime keeps)
    let (_, meta) = get(&s, "/v2/models/quality_head");
    let meta: Value = serde_json::from_str(&meta).unwrap();
    let width = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "embedding")
        .unwrap()["shape"][1]
        .as_u64()
        .unwrap() as usize;
    let (st, v) = post(
        &s,
        "/v2/models/quality_head/infer",
        &json!({ "inputs": [
            { "name": "embedding", "shape": [1, width], "datatype": "FP32", "data": vec![0.0f32; width] },
            { "name": "params", "shape": [5, 8], "datatype": "FP32", "data": vec![0.0f32; 40] },
        ]}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("at most 4 (--max-params)"),
        "{v}"
    );
    // and the service still answers
    let (st, _) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert_eq!(st, 200);
}

#[test]
fn a_missing_required_model_is_not_ready_and_says_why_and_heuristic_only_is_degraded() {
    let dir = std::env::temp_dir().join(format!("vectune-serve-degraded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixtures().join("models")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::remove_file(dir.join("quality_head.onnx")).unwrap();
    let s = start(&dir, &["--backend", "tract"]);
    // loading finishes, and still not ready: the head is required and missing
    let deadline = Instant::now() + Duration::from_secs(60);
    let models = loop {
        let (_, text) = get(&s, "/v1/models");
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["loading"] == false || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(models["ready"], false);
    assert!(
        models["not_ready"]
            .as_str()
            .unwrap()
            .contains("`quality_head` cannot read"),
        "{models}"
    );
    assert_eq!(get(&s, "/v2/health/ready").0, 503);
    assert_eq!(get(&s, "/v2/health/live").0, 200);
    let (st, v) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert_eq!(st, 503);
    assert_eq!(v["error"]["code"], "not_ready");
    drop(s);
    // Only the classifier required: ready, predicting with the combined model.
    let s = start(
        &dir,
        &["--backend", "tract", "--require", "logo_classifier"],
    );
    wait_ready(&s);
    let (st, v) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["source"], "model");
    let (_, text) = get(&s, "/v1/models");
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (m["quality"].as_str(), m["degraded"].as_bool()),
        (Some("combined"), Some(false))
    );
    drop(s);
    // No quality model at all: ready if nothing is required of it, and visibly degraded.
    std::fs::remove_file(dir.join("quality_predictor.onnx")).unwrap();
    let s = start(
        &dir,
        &["--backend", "tract", "--require", "logo_classifier"],
    );
    wait_ready(&s);
    let (st, v) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert_eq!(st, 200);
    assert_eq!(v["source"], "heuristic");
    let (_, text) = get(&s, "/v1/models");
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (m["quality"].as_str(), m["degraded"].as_bool()),
        (Some("heuristic"), Some(true))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn past_the_admission_limit_requests_get_429_at_once() {
    let models = fixtures().join("models");
    let s = start(
        &models,
        &[
            "--backend",
            "tract",
            "--max-concurrent-requests",
            "1",
            "--workers",
            "1",
        ],
    );
    wait_ready(&s);
    let body = json!({ "image": logo_b64(), "verify": true }).to_string();
    let url = format!("{}/v1/suggest", s.base);
    let results: Vec<(u16, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    let mut r = agent()
                        .post(&url)
                        .header("content-type", "application/json")
                        .send(body.as_bytes())
                        .unwrap();
                    let retry = r
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_string());
                    let _ = r.body_mut().read_to_string();
                    (r.status().as_u16(), retry)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().any(|r| r.0 == 200), "{results:?}");
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert!(!refused.is_empty(), "{results:?}");
    assert!(
        refused.iter().all(|r| r.1.as_deref() == Some("1")),
        "{results:?}"
    );
    assert!(
        results.iter().all(|r| r.0 == 200 || r.0 == 429),
        "{results:?}"
    );
}

#[test]
fn sigterm_under_load_finishes_every_accepted_request() {
    let models = fixtures().join("models");
    let mut s = start(
        &models,
        &[
            "--backend",
            "tract",
            "--workers",
            "1",
            "--drain-delay-ms",
            "300",
        ],
    );
    wait_ready(&s);
    let body = json!({ "image": big_logo_b64(), "verify": true }).to_string();
    let url = format!("{}/v1/suggest", s.base);
    let pid = s.child.id().to_string();
    let results: Vec<Result<u16, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    agent()
                        .post(&url)
                        .header("content-type", "application/json")
                        .send(body.as_bytes())
                        .map(|r| r.status().as_u16())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        // all four admitted (one working, three queued for the one worker): now the signal
        let deadline = Instant::now() + Duration::from_secs(30);
        while pending(&s) < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pending(&s), 4, "four requests in flight");
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        // draining: not ready at once, while the requests go on
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(get(&s, "/v2/health/ready").0, 503);
        let (st, v) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (503, Some("draining")),
            "{v}"
        );
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // every accepted request was answered, in full
    assert_eq!(results, vec![Ok(200); 4], "{results:?}");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
}

#[test]
fn reload_needs_the_admin_token_and_swaps_the_model_in() {
    let models = fixtures().join("models");
    let s = start(&models, &["--backend", "tract", "--admin-token", "s3cret"]);
    wait_ready(&s);
    let url = format!("{}/v1/models/quality_head/reload", s.base);
    let send = |auth: Option<&str>| {
        let mut req = agent()
            .post(&url)
            .header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let mut r = req.send("{}").unwrap();
        let status = r.status().as_u16();
        let body: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        (status, body)
    };
    let (st, v) = send(None);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (st, v) = send(Some("Bearer wrong"));
    assert_eq!(st, 401, "{v}");
    let (st, v) = send(Some("Bearer s3cret"));
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["loads"].as_u64()),
        (Some("quality_head"), Some(2))
    );
    assert_eq!(v["status"]["state"], "ready");
    // an unknown model: the model is named, nothing changes
    let (st, v) = call(
        "POST",
        &format!("{}/v1/models/nope/reload", s.base),
        Some("application/json"),
        Some(b"{}"),
    );
    assert_eq!(st, 401, "{v}");
    let mut r = agent()
        .post(format!("{}/v1/models/nope/reload", s.base))
        .header("authorization", "Bearer s3cret")
        .send("{}")
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        (v["error"]["code"].as_str(), v["error"]["model"].as_str()),
        (Some("not_found"), Some("nope")),
        "{v}"
    );
    // still serving
    let (st, _) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert_eq!(st, 200);
}
