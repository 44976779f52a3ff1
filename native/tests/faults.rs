//! Faults injected into a serving `vectune serve` (the real binary on a loopback port): model files
//! broken under it and reloaded, ONNX Runtime missing, a loader and an inference that panic (fail
//! points: a build with the `failpoints` feature, as scripts/test.sh builds), a model memory budget
//! smaller than the models, SIGTERM while loading, and clients that stall (slow headers, a body that
//! never ends, thousands of idle connections, more connections than allowed).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// `POST /v1/models/{name}/reload` with the token.
fn reload(s: &Server, name: &str, token: &str) -> (u16, Value) {
    let mut r = agent()
        .post(format!("{}/v1/models/{name}/reload", s.base))
        .header("authorization", format!("Bearer {token}"))
        .send("")
        .unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The `/v1/models` entry of model `name`.
fn model(s: &Server, name: &str) -> Value {
    let (_, text) = get(s, "/v1/models");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no `{name}` in {v}"))
}

fn models_json(s: &Server) -> Value {
    serde_json::from_str(&get(s, "/v1/models").1).unwrap()
}

#[test]
fn a_broken_model_file_is_refused_on_reload_while_the_old_model_serves_every_request() {
    let dir = copy_models("broken-reload");
    let s = start(&dir, &["--admin-token", "t0ken"]);
    wait_ready(&s);
    let file = dir.join("quality_head.onnx");
    let good = std::fs::read(&file).unwrap();
    let encoder = std::fs::read(dir.join("quality_encoder.onnx")).unwrap();
    let (_, first) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    let expected = first["ssim"].as_f64().unwrap();
    assert_eq!(first["source"], "model", "{first}");

    // a client predicting all along: every answer must be the model's, unchanged
    let stop = AtomicBool::new(false);
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut got = Vec::new();
            while !stop.load(Ordering::SeqCst) || got.is_empty() {
                got.push(post(&s, "/v1/predict", &json!({ "image": logo_b64() })));
            }
            got
        });
        let mut truncated = good.clone();
        truncated.truncate(good.len() / 2);
        let mut corrupted = good.clone();
        corrupted[good.len() / 3] ^= 0x5a;
        let faults: [(&str, Option<&[u8]>, &str); 4] = [
            ("deleted", None, "cannot read"),
            ("truncated", Some(&truncated), "checksum mismatch"),
            ("corrupted", Some(&corrupted), "checksum mismatch"),
            (
                "swapped for the encoder's file",
                Some(&encoder),
                "checksum mismatch",
            ),
        ];
        for (what, bytes, reason) in faults {
            match bytes {
                None => std::fs::remove_file(&file).unwrap(),
                Some(b) => std::fs::write(&file, b).unwrap(),
            }
            let (st, v) = reload(&s, "quality_head", "t0ken");
            assert_eq!(st, 503, "{what}: {v}");
            assert_eq!(v["error"]["code"], "model_unavailable", "{what}: {v}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(reason), "{what}: {message}");
            // the truth throughout: still ready, the old model still serving
            assert_eq!(get(&s, "/v2/health/ready").0, 200, "{what}");
            let m = model(&s, "quality_head");
            assert_eq!(m["status"]["state"], "ready", "{what}: {m}");
            assert_eq!(m["loads"], 1, "{what}: {m}");
        }
        // the good file back: the reload verifies it, warms it and swaps it in
        std::fs::write(&file, &good).unwrap();
        let (st, v) = reload(&s, "quality_head", "t0ken");
        assert_eq!((st, v["loads"].as_u64()), (200, Some(2)), "{v}");
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::SeqCst);
        client.join().unwrap()
    });
    assert!(answers.len() > 1);
    for (st, v) in &answers {
        assert_eq!(*st, 200, "{v}");
        assert_eq!(v["source"], "model", "{v}");
        assert_eq!(v["ssim"].as_f64(), Some(expected), "{v}");
    }
}

#[test]
fn without_onnx_runtime_tract_serves_and_the_reason_is_reported() {
    let garbage = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libonnxruntime.so.garbage");
    std::fs::write(&garbage, b"this is not a shared library").unwrap();
    let missing = "/nonexistent/libonnxruntime.so.1";
    for (what, path) in [
        ("missing", missing),
        ("unloadable", garbage.to_str().unwrap()),
    ] {
        let s = start_with(&fixtures().join("models"), &[], &[("ORT_DYLIB_PATH", path)]);
        wait_ready(&s);
        let v = models_json(&s);
        assert_eq!(v["backend"], "tract", "{what}: {v}");
        let reason = v["backend_reason"].as_str().unwrap();
        assert!(
            reason.contains("ONNX Runtime is unavailable") && reason.contains(path),
            "{what}: {reason}"
        );
        let (st, p) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
        assert_eq!(
            (st, p["source"].as_str()),
            (200, Some("model")),
            "{what}: {p}"
        );
        assert_eq!(p["backend"], "tract", "{what}: {p}");
    }
}

#[test]
fn a_model_memory_budget_smaller_than_the_models_evicts_and_every_prediction_succeeds() {
    // 1 MB: any one fixture model fits (the largest is 0.95 MB), the encoder and head together
    // (0.95 MB) or the classifier (0.83 MB), never all of them (2.7 MB)
    let s = start(&fixtures().join("models"), &["--model-memory-mb", "1"]);
    wait_ready(&s);
    for round in 0..3 {
        let (st, p) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
        assert_eq!(
            (st, p["source"].as_str()),
            (200, Some("model")),
            "{round}: {p}"
        );
        let (st, c) = post(&s, "/v1/classify", &json!({ "image": logo_b64() }));
        assert_eq!(st, 200, "{round}: {c}");
    }
    let v = models_json(&s);
    let cache = &v["cache"];
    let evictions = cache["evictions"].as_u64().unwrap();
    assert!(evictions >= 3, "{cache}");
    assert!(
        cache["bytes_used"].as_u64().unwrap() <= 1024 * 1024,
        "{cache}"
    );
    // the metrics say the same (nothing ran between the two reads)
    assert_eq!(
        metric(&s, "vectune_model_cache_evictions_total"),
        Some(evictions as f64)
    );
    assert_eq!(
        metric(&s, "vectune_model_cache_bytes"),
        cache["bytes_used"].as_f64()
    );
    assert_eq!(
        metric(&s, "vectune_model_cache_budget_bytes"),
        Some(1048576.0)
    );
    // an evicted model says so, and it is loaded again when next needed
    let evicted: Vec<&Value> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"]["state"] == "unloaded")
        .collect();
    assert!(!evicted.is_empty(), "{v}");
    for m in &evicted {
        assert!(
            m["status"]["reason"].as_str().unwrap().contains("evicted"),
            "{m}"
        );
        let ready = metric(
            &s,
            &format!(
                "vectune_model_ready{{model=\"{}\"}}",
                m["name"].as_str().unwrap()
            ),
        );
        assert_eq!(ready, Some(0.0), "{m}");
    }
    assert_eq!(get(&s, "/v2/health/ready").0, 200);
}

#[test]
fn sigterm_while_models_load_answers_what_it_accepted_and_exits() {
    let mut s = start(&fixtures().join("models"), &[]);
    // loading has just begun: liveness answers, readiness says why not
    let (st, _) = get(&s, "/v2/health/live");
    assert_eq!(st, 200);
    let (st, v) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert!(st == 503 || st == 200, "{st} {v}");
    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit {status:?}");
}

/// Reads what the server sends until it closes the connection (or `limit` passes: then `None`).
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => Some(got),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(got),
        Err(_) => None,
    }
}

fn address(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

#[test]
fn clients_that_stall_are_cut_off_and_the_others_are_answered() {
    let s = start(
        &fixtures().join("models"),
        &["--header-timeout-ms", "1000", "--body-timeout-ms", "1000"],
    );
    wait_ready(&s);
    let addr = address(&s);

    // slow-loris: a request head one byte every 300 ms is closed once the header timeout passes
    let mut loris = TcpStream::connect(&addr).unwrap();
    let started = Instant::now();
    let head =
        b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = None;
    for &b in head {
        if loris.write_all(&[b]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        // meanwhile, everyone else is answered at once
        let asked = Instant::now();
        assert_eq!(get(&s, "/v2/health/ready").0, 200);
        assert!(asked.elapsed() < Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(300));
        let mut probe = [0u8; 64];
        loris
            .set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        match loris.read(&mut probe) {
            Ok(0) => {
                cut_off = Some(started.elapsed());
                break;
            }
            Ok(n) => {
                // hyper answers a timed-out head with 408 before closing
                assert!(probe[..n].starts_with(b"HTTP/1.1 408"), "{:?}", &probe[..n]);
                cut_off = Some(started.elapsed());
                break;
            }
            Err(_) => {}
        }
    }
    let cut_off = cut_off.expect("the slow client was never cut off");
    assert!(
        cut_off >= Duration::from_millis(900) && cut_off < Duration::from_secs(5),
        "{cut_off:?}"
    );

    // a body that never finishes: 408 with the service's JSON error
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled
        .write_all(
            b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"image\": \"iVBO",
        )
        .unwrap();
    let answer = read_until_closed(&mut stalled, Duration::from_secs(10)).expect("an answer");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");

    // thousands of idle connections: others are still answered, and the idle ones are closed
    // once the header timeout passes (a longer one here: opening them all takes a while)
    drop(s);
    let s = start(&fixtures().join("models"), &["--header-timeout-ms", "8000"]);
    wait_ready(&s);
    let addr = address(&s);
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let idle: Vec<TcpStream> = (0..3000)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(6);
    while metric(&s, "vectune_open_connections").unwrap() < 3000.0 {
        assert!(
            Instant::now() < deadline,
            "the idle connections were not all accepted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let asked = Instant::now();
    let (st, _) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
    assert_eq!(st, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&s, "vectune_open_connections").unwrap() > 10.0 {
        assert!(Instant::now() < deadline, "idle connections stay open");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(idle);
}

#[test]
fn past_the_connection_limit_a_new_connection_is_closed_at_once_until_slots_free() {
    let s = start(
        &fixtures().join("models"),
        &["--max-connections", "20", "--header-timeout-ms", "1500"],
    );
    wait_ready(&s);
    let addr = address(&s);
    let held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // the 21st: closed at once, not left hanging
    let mut extra = TcpStream::connect(&addr).unwrap();
    let _ = extra.write_all(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
    let started = Instant::now();
    let got = read_until_closed(&mut extra, Duration::from_secs(1)).expect("closed at once");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(started.elapsed() < Duration::from_secs(1));
    // the idle ones time out; then the service answers again, and counted the refusal
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = agent()
            .get(format!("{}/v2/health/live", s.base))
            .call()
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "no slot ever freed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let refused = metric(
        &s,
        "vectune_connections_refused_total{reason=\"max_connections\"}",
    );
    assert!(refused.unwrap_or(0.0) >= 1.0, "{refused:?}");
    drop(held);
}

/// Fail points (`FAILPOINTS`, a `failpoints` build): a loader and an inference that panic.
#[cfg(feature = "failpoints")]
mod panics {
    use super::*;

    #[test]
    fn a_panicking_loader_marks_its_model_unavailable_the_rest_serve_and_a_reload_retries() {
        let s = start_with(
            &fixtures().join("models"),
            &["--admin-token", "t0ken"],
            &[("FAILPOINTS", "vectune::load=1*panic(injected loader panic)")],
        );
        // the load ends (no hang): one model unavailable with the panic's message, not ready
        let deadline = Instant::now() + Duration::from_secs(60);
        let broken = loop {
            let v = models_json(&s);
            if v["loading"] == false {
                let broken: Vec<Value> = v["models"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| {
                        m["status"]["reason"]
                            .as_str()
                            .is_some_and(|r| r.contains("panicked"))
                    })
                    .cloned()
                    .collect();
                break broken;
            }
            assert!(Instant::now() < deadline, "still loading");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(broken.len(), 1, "{broken:?}");
        let reason = broken[0]["status"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("the loader panicked: injected loader panic"),
            "{reason}"
        );
        assert_eq!(get(&s, "/v2/health/ready").0, 503);
        let why = models_json(&s)["not_ready"].to_string();
        assert!(why.contains("injected loader panic"), "{why}");
        // requests are refused at once while a required model is missing, saying which and why
        let (st, p) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
        assert_eq!(
            (st, p["error"]["code"].as_str()),
            (503, Some("not_ready")),
            "{p}"
        );
        assert!(
            p["error"]["message"]
                .as_str()
                .unwrap()
                .contains("injected loader panic"),
            "{p}"
        );
        // a reload retries the load (the fail point fired once): ready again
        let name = broken[0]["name"].as_str().unwrap();
        let (st, v) = reload(&s, name, "t0ken");
        assert_eq!(st, 200, "{v}");
        assert_eq!(get(&s, "/v2/health/ready").0, 200);
        let (st, p) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
        assert_eq!((st, p["source"].as_str()), (200, Some("model")), "{p}");
    }

    #[test]
    fn a_panicking_inference_fails_its_requests_as_runtime_failures_and_none_hangs() {
        // the warm-up runs of the four ONNX models pass, then every run panics
        let warmups = 4 * vectune_native::manager::WARMUP_RUNS;
        let faults = format!("vectune::run={warmups}*off->panic(injected run panic)");
        let s = start_with(&fixtures().join("models"), &[], &[("FAILPOINTS", &faults)]);
        wait_ready(&s);
        let infer = json!({ "inputs": [
            { "name": "embedding", "shape": [1, 96], "datatype": "FP32", "data": vec![0.5f32; 96] },
            { "name": "params", "shape": [1, 8], "datatype": "FP32", "data": vec![0.5f32; 8] },
        ]});
        // eight clients at once, each with a deadline: every one answered, none hangs
        let answers: Vec<(u16, Value, u16, Value)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let (a, va) = post(&s, "/v2/models/quality_head/infer", &infer);
                        let (b, vb) = post(&s, "/v1/predict", &json!({ "image": logo_b64() }));
                        (a, va, b, vb)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (a, va, b, vb) in &answers {
            // the model run itself: a 500 naming the runtime failure
            assert_eq!(*a, 500, "{va}");
            assert!(
                va["error"].as_str().unwrap().contains("injected run panic"),
                "{va}"
            );
            // the domain API falls back to the heuristic and says why
            assert_eq!(*b, 200, "{vb}");
            assert_eq!(vb["source"], "heuristic", "{vb}");
            assert!(
                vb["fallback"]
                    .as_str()
                    .unwrap()
                    .contains("injected run panic"),
                "{vb}"
            );
        }
        // the models stay loaded (each run tries again) and the service stays ready
        assert_eq!(model(&s, "quality_head")["status"]["state"], "ready");
        assert_eq!(get(&s, "/v2/health/ready").0, 200);
        assert!(metric(&s, "vectune_request_failures_total").unwrap_or(0.0) >= 1.0);
    }
}
