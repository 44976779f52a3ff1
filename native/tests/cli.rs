//! The `vectune` binary end to end on the golden fixture.

use std::process::{Command, Output};

const LOGO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/golden/logo.png"
);

fn vectune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vectune"))
        .args(args)
        .output()
        .expect("run vectune")
}

fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// A directory without models: predictions come from the heuristic.
fn no_models() -> String {
    let dir = std::env::temp_dir().join(format!("vectune-cli-no-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_str().unwrap().to_string()
}

#[test]
fn predict_json_reports_source_params_and_a_score() {
    // The packaged models answer by default.
    let v = stdout_json(&vectune(&["predict", LOGO, "--json"]));
    assert_eq!(v["source"], "model", "{v}");
    let none = no_models();
    let v = stdout_json(&vectune(&[
        "predict",
        LOGO,
        "--models",
        &none,
        "--param",
        "color_precision=3",
        "-p",
        "filter_speckle=0",
        "--json",
    ]));
    assert_eq!(v["source"], "heuristic");
    assert_eq!(v["params"]["color_precision"], 3);
    assert_eq!(v["params"]["filter_speckle"], 0);
    assert_eq!(
        v["params"]["corner_threshold"], 60,
        "omitted parameters take VTracer's defaults"
    );
    let ssim = v["ssim"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ssim));
    // Fewer colours never predict better than more (the heuristic's shape).
    let cp1 = stdout_json(&vectune(&[
        "predict",
        LOGO,
        "--models",
        &none,
        "-p",
        "color_precision=1",
        "--json",
    ]));
    assert!(cp1["ssim"].as_f64().unwrap() < ssim);
}

#[test]
fn predict_text() {
    let out = vectune(&["predict", LOGO]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("predicted SSIM 0."), "{text}");
    assert!(text.contains("source: model"), "{text}");
}

fn fails_with(args: &[&str], needle: &str) {
    let out = vectune(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one-line error, got: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    fails_with(
        &["predict", LOGO, "-p", "color_precision=0"],
        "must be an integer in [1, 8]",
    );
    fails_with(
        &["predict", LOGO, "-p", "colour_precision=4"],
        "unknown parameter `colour_precision`",
    );
    fails_with(
        &["predict", LOGO, "-p", "color_precision"],
        "expected name=value",
    );
    fails_with(&["predict", LOGO, "-p", "length_threshold=NaN"], "finite");
    fails_with(
        &["predict", "/nonexistent.png"],
        "cannot read `/nonexistent.png`",
    );
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    fails_with(&["predict", manifest], "not a PNG or JPEG");
}

#[test]
fn params_and_features() {
    let v = stdout_json(&vectune(&["params", "--json"]));
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0]["name"], "color_precision");
    assert_eq!(rows[0]["min"], 1.0);
    let f = stdout_json(&vectune(&["features", LOGO, "--json"]));
    assert_eq!(
        (f["width"].as_u64(), f["height"].as_u64()),
        (Some(61), Some(37))
    );
    assert!(f["unique_colors"].as_u64().unwrap() > 4);
    let help = vectune(&["--help"]);
    assert!(String::from_utf8(help.stdout).unwrap().contains("predict"));
}

#[test]
fn measure_runs_vtracer_and_reports_the_real_ssim() {
    let svg = std::env::temp_dir().join(format!("vectune-cli-{}.svg", std::process::id()));
    let v = stdout_json(&vectune(&[
        "measure",
        LOGO,
        "-p",
        "color_precision=5",
        "--svg",
        svg.to_str().unwrap(),
        "--json",
    ]));
    let ssim = v["ssim"].as_f64().unwrap();
    assert!(ssim > 0.0 && ssim <= 1.0);
    assert_eq!(v["params"]["color_precision"], 5);
    assert_eq!(v["predicted"]["source"], "model");
    let written = std::fs::read_to_string(&svg).unwrap();
    assert!(written.contains("<svg") && written.contains("<path"));
    assert_eq!(v["svg_bytes"].as_u64().unwrap() as usize, written.len());
    let _ = std::fs::remove_file(&svg);
    fails_with(
        &["measure", LOGO, "-p", "max_iterations=0"],
        "max_iterations",
    );
}

const FIXTURE_MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/models");

#[test]
fn models_and_model_backed_predictions() {
    let v = stdout_json(&vectune(&["models", "--models", FIXTURE_MODELS, "--json"]));
    assert_eq!(v["backend"], "ort", "auto prefers ONNX Runtime: {v}");
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 10);
    assert!(
        models
            .iter()
            .all(|m| (m["status"]["state"] == "ready") == (m["format"] == "onnx")),
        "ONNX models ready on ort, TorchScript and NNEF ones not: {v}"
    );
    assert_eq!(v["cache"]["entries"], 4);
    assert!(v["memory"]["models_bytes"].as_u64().unwrap() > 1_000_000);
    assert_eq!(v["memory"]["models"].as_array().unwrap().len(), 4);
    assert!(
        v["memory"]["rss_bytes"].as_u64().unwrap() > v["memory"]["models_bytes"].as_u64().unwrap()
    );
    assert_eq!(v["memory"]["within_limits"], true);
    let p = stdout_json(&vectune(&[
        "predict",
        LOGO,
        "--models",
        FIXTURE_MODELS,
        "--json",
    ]));
    assert_eq!(p["source"], "model");
    // No manifest: the CLI says so and predictions come from the heuristic.
    let empty = std::env::temp_dir();
    let v = stdout_json(&vectune(&[
        "models",
        "--models",
        empty.to_str().unwrap(),
        "--json",
    ]));
    assert!(
        v["manifest_error"]
            .as_str()
            .unwrap()
            .contains("manifest.json")
    );
    let p = stdout_json(&vectune(&[
        "predict",
        LOGO,
        "--models",
        empty.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(p["source"], "heuristic");
    let text = vectune(&["models", "--models", FIXTURE_MODELS]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("quality_predictor") && text.contains("ready"),
        "{text}"
    );
}

#[test]
fn backend_choice() {
    let v = stdout_json(&vectune(&[
        "models",
        "--models",
        FIXTURE_MODELS,
        "--backend",
        "tract",
        "--json",
    ]));
    assert_eq!(v["backend"], "tract");
    let out = Command::new(env!("CARGO_BIN_EXE_vectune"))
        .args(["models", "--models", FIXTURE_MODELS, "--json"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["backend"], "tract",
        "auto falls back when ONNX Runtime cannot load"
    );
    assert!(
        v["backend_reason"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{v}"
    );
    let out = vectune(&["models", "--backend", "cuda"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend `cuda`"));
}

#[test]
fn batch_jsonl_answers_every_line_in_order() {
    let dir = std::env::temp_dir().join(format!("vectune-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let requests = dir.join("requests.jsonl");
    let lines = [
        format!(r#"{{"image": "{LOGO}", "params": {{"color_precision": 4}}}}"#),
        "not json".to_string(),
        format!(r#"{{"image": "{LOGO}", "params": {{"color_precision": 0}}}}"#),
        r#"{"image": "/nonexistent.png"}"#.to_string(),
        String::new(),
        format!(r#"{{"image": "{LOGO}"}}"#),
    ];
    std::fs::write(&requests, lines.join("\n")).unwrap();
    let out = vectune(&[
        "predict",
        "--models",
        FIXTURE_MODELS,
        "--batch",
        requests.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "some requests failed");
    let got: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), 5, "one line per request, blank lines skipped");
    assert_eq!(got[0]["params"]["color_precision"], 4);
    assert_eq!(got[0]["params"]["filter_speckle"], 4, "defaults filled in");
    assert_eq!(got[0]["source"], "model");
    assert!(got[0]["ssim"].as_f64().unwrap() > 0.0);
    assert!(got[1]["error"].as_str().unwrap().contains("line 2"));
    assert!(
        got[2]["error"].as_str().unwrap().contains("[1, 8]"),
        "{}",
        got[2]
    );
    assert!(
        got[3]["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent.png")
    );
    assert_eq!(got[4]["image"], LOGO);
    // The same request alone gives the same number as in the batch.
    let single = stdout_json(&vectune(&[
        "predict",
        LOGO,
        "--models",
        FIXTURE_MODELS,
        "-p",
        "color_precision=4",
        "--json",
    ]));
    assert!((single["ssim"].as_f64().unwrap() - got[0]["ssim"].as_f64().unwrap()).abs() < 1e-6);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn classify_with_the_classifier_or_say_why_not() {
    let v = stdout_json(&vectune(&[
        "classify",
        LOGO,
        "--models",
        FIXTURE_MODELS,
        "--json",
    ]));
    let probs = v["probabilities"].as_object().unwrap();
    assert_eq!(probs.len(), 4);
    let sum: f64 = probs.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-5);
    let best = probs
        .iter()
        .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).unwrap())
        .unwrap()
        .0;
    assert_eq!(&v["class"], best);
    let empty = std::env::temp_dir();
    fails_with(
        &["classify", LOGO, "--models", empty.to_str().unwrap()],
        "no classifier model is ready",
    );
}

/// `vectune suggest LOGO --json` on the fixture models at `target`, with `extra` arguments.
fn suggest_json(target: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "suggest",
        LOGO,
        "--models",
        FIXTURE_MODELS,
        "--target",
        target,
        "--json",
    ];
    args.extend(extra);
    stdout_json(&vectune(&args))
}

/// `-p name=value` arguments for a JSON parameter object.
fn param_args(params: &serde_json::Value) -> Vec<String> {
    params
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(k, x)| ["-p".to_string(), format!("{k}={x}")])
        .collect()
}

#[test]
fn suggest_searches_with_the_model_and_explains_itself() {
    let v = suggest_json("0.8", &[]);
    assert_eq!(v["source"], "model", "{v}");
    assert_eq!(v["candidates"], 600);
    assert_eq!(v["target"].as_f64().unwrap() as f32, 0.8);
    // The fixtures have no correlation file: the search starts from VTracer's defaults.
    assert_eq!(v["start_from"], "defaults");
    assert_eq!(v["start"]["color_precision"], 6);
    let predicted = v["predicted_ssim"].as_f64().unwrap();
    assert_eq!(v["met_target"], predicted >= 0.8, "{v}");
    // The suggested parameters predict what the suggestion says.
    let mut args = vec!["predict", LOGO, "--models", FIXTURE_MODELS, "--json"];
    let assignments = param_args(&v["params"]);
    args.extend(assignments.iter().map(String::as_str));
    let p = stdout_json(&vectune(&args));
    assert!(
        (p["ssim"].as_f64().unwrap() - predicted).abs() < 1e-5,
        "{p} vs {v}"
    );
    fails_with(&["suggest", LOGO, "--target", "1.5"], "not in [0, 1]");
    let text = vectune(&["suggest", LOGO, "--models", FIXTURE_MODELS]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("vectorize with: --param color_precision="),
        "{text}"
    );
}

#[test]
fn suggest_verify_measures_the_shortlist_and_keeps_the_best_measured() {
    let v = suggest_json("0.9", &["--verify"]);
    // The shortlist: the suggestion first, no repeats, VTracer's defaults among them.
    let shortlist = v["shortlist"].as_array().unwrap();
    assert!(!shortlist.is_empty() && shortlist.len() <= 6, "{v}");
    assert_eq!(shortlist[0]["params"], v["params"]);
    let defaults = stdout_json(&vectune(&["measure", LOGO, "--json"]));
    assert!(
        shortlist.iter().any(|c| c["params"] == defaults["params"]),
        "{v}"
    );
    for (i, c) in shortlist.iter().enumerate() {
        assert!(
            shortlist[i + 1..]
                .iter()
                .all(|d| d["params"] != c["params"])
        );
    }
    // Every shortlisted candidate was measured, as `vectune measure` measures it.
    let checked = &v["verified"];
    let measured = checked["measured"].as_array().unwrap();
    assert_eq!(measured.len(), shortlist.len());
    for (m, c) in measured.iter().zip(shortlist) {
        assert_eq!(m["params"], c["params"]);
        assert_eq!(m["predicted_ssim"], c["predicted_ssim"]);
    }
    let mut args = vec!["measure", LOGO, "--json"];
    let chosen = param_args(&checked["params"]);
    args.extend(chosen.iter().map(String::as_str));
    let again = stdout_json(&vectune(&args));
    assert_eq!(again["ssim"], checked["ssim"], "{v}");
    assert_eq!(again["svg_bytes"], checked["svg_bytes"]);
    // The choice: the smallest measured SVG that reaches the target, else the most faithful.
    let ssim = |m: &serde_json::Value| m["ssim"].as_f64().unwrap();
    let reaching: Vec<&serde_json::Value> = measured.iter().filter(|m| ssim(m) >= 0.9).collect();
    let best = checked["ssim"].as_f64().unwrap();
    if reaching.is_empty() {
        assert_eq!(checked["met_target"], false);
        assert!(measured.iter().all(|m| ssim(m) <= best), "{v}");
    } else {
        assert_eq!(checked["met_target"], true);
        let smallest = reaching
            .iter()
            .map(|m| m["svg_bytes"].as_u64().unwrap())
            .min();
        assert_eq!(checked["svg_bytes"].as_u64(), smallest, "{v}");
    }
    // never less faithful than the defaults when the target is missed
    assert!(checked["met_target"] == true || best >= ssim(&defaults));
    assert_eq!(
        checked["kept_suggestion"],
        checked["params"] == v["params"],
        "{v}"
    );
    let text = vectune(&["suggest", LOGO, "--models", FIXTURE_MODELS, "--verify"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("measured SSIM") && text.contains("measured with VTracer"),
        "{text}"
    );
    assert!(
        text.contains("vectorize with: --param color_precision="),
        "{text}"
    );
}

#[test]
fn export_nnef_check_passes_on_the_fixtures_and_names_a_missing_directory() {
    let v = stdout_json(&vectune(&[
        "--models",
        FIXTURE_MODELS,
        "export-nnef",
        "--check",
        "--json",
    ]));
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 4);
    assert!(models.iter().all(|m| m["up_to_date"] == true), "{v}");
    assert_eq!(v["stale"], serde_json::json!([]));
    fails_with(
        &["--models", "/nonexistent-vectune", "export-nnef", "--check"],
        "/nonexistent-vectune/manifest.json",
    );
}
