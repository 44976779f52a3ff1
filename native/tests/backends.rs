//! The model manager and the tract backend on the committed fixture models
//! (`tests/fixtures/models`: real exports of the training pipeline, briefly trained): golden parity
//! with ONNX Runtime's outputs, split form == combined model, fallbacks, and concurrency. The golden
//! test body runs against every backend; the tolerance (1e-5 absolute) is written in
//! `reference.json`.

#[cfg(not(feature = "torch"))]
const BACKENDS: &[BackendKind] = &[BackendKind::Tract, BackendKind::Ort];
#[cfg(feature = "torch")]
const BACKENDS: &[BackendKind] = &[BackendKind::Tract, BackendKind::Ort, BackendKind::Torch];

fn open(dir: &std::path::Path, kind: BackendKind) -> ModelManager {
    let m = ModelManager::open(dir, BackendChoice::Exactly(kind));
    assert_eq!(
        m.backend_kind(),
        kind,
        "{} must run here: {}",
        kind.name(),
        m.backend_reason()
    );
    m
}

use std::path::PathBuf;
use std::sync::Arc;

use vectune_core::params::{ParamId, Params};
use vectune_core::preprocess;
use vectune_native::backends::{BackendChoice, BackendKind};
use vectune_native::image;
use vectune_native::manager::{ModelManager, Status};
use vectune_native::predict::{self, Source};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn reference() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("models/reference.json")).unwrap(),
    )
    .unwrap()
}

fn reference_params(r: &serde_json::Value) -> Vec<Params> {
    r["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| serde_json::from_value(p.clone()).unwrap())
        .collect()
}

fn logo() -> image::RgbaImage {
    image::load(&fixtures().join("golden/logo.png")).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn copy_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vectune-models-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(fixtures().join("models")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// VTracer's defaults at every colour precision, 1 to 8.
fn color_precisions() -> Vec<Params> {
    (1..=8)
        .map(|cp| {
            Params::default()
                .with(ParamId::ColorPrecision, f64::from(cp))
                .unwrap()
        })
        .collect()
}

fn status_of(m: &ModelManager, name: &str) -> Status {
    m.report(name).unwrap().status
}

#[test]
fn all_fixture_models_load_and_warm_up() {
    for &kind in BACKENDS {
        all_models_load(kind);
    }
    // auto picks ONNX Runtime when its library loads (build.rs fetched it).
    let m = ModelManager::open(&fixtures().join("models"), BackendChoice::Auto);
    assert_eq!(m.backend_kind(), BackendKind::Ort, "{}", m.backend_reason());
    assert!(m.backend_reason().starts_with("auto"));
}

fn all_models_load(kind: BackendKind) {
    let m = open(&fixtures().join("models"), kind);
    assert!(m.manifest_error().is_none());
    // 4 ONNX models (tract, ort), 2 TorchScript ones (torch) and 4 NNEF ones (the browser);
    // each backend runs its format and says why it does not run the others.
    assert_eq!(m.reports().len(), 10);
    let format = kind.format();
    for r in m.reports() {
        if r.format == format.as_str() {
            assert_eq!(r.status, Status::Ready, "{}", r.name);
            assert!(r.bytes > 0 && r.load_ms > 0.0 && r.warmup_ms > 0.0);
            assert_eq!(r.backend.as_deref(), Some(kind.name()));
        } else {
            assert!(
                matches!(&r.status, Status::Unavailable { reason } if reason.contains("runs on")),
                "{}: {:?}",
                r.name,
                r.status
            );
        }
    }
    let split = kind != BackendKind::Torch; // no TorchScript encoder/head
    assert!(m.has_quality() && m.has_split() == split && m.has_classifier());
    assert_eq!(
        m.models().held_bytes(),
        m.reports().iter().map(|r| r.bytes).sum::<u64>()
    );
}

#[test]
fn golden_parity_on_every_backend() {
    for &kind in BACKENDS {
        golden_parity(kind);
    }
}

fn golden_parity(kind: BackendKind) {
    let r = reference();
    let tol = r["tolerance"].as_f64().unwrap() as f32;
    let m = open(&fixtures().join("models"), kind);
    let img = logo();
    let view = img.view().unwrap();
    let params = reference_params(&r);
    let t = preprocess::preprocess(&img.pixels, img.width, img.height).unwrap();
    let stats = vectune_core::features::image_stats(&vectune_core::features::compute(&view));
    let b = m.models();

    let n = params.len();
    let images = t.repeat(n);
    let all_stats = stats.repeat(n);
    let p = vectune_core::batch::params_tensor(&params);
    let combined = b
        .predict_quality(vectune_core::graph::Batch::new(&images, &all_stats, &p).unwrap())
        .unwrap();
    for (got, want) in combined.iter().zip(floats(&r["ssim"])) {
        assert!(
            (got - want).abs() <= tol,
            "combined {got} vs onnxruntime {want}"
        );
    }
    let logits = b.classify(&t).unwrap();
    for (got, want) in logits.iter().zip(floats(&r["logits"])) {
        assert!((got - want).abs() <= tol, "logit {got} vs {want}");
    }
    if !m.has_split() {
        // libtorch: the combined model and the classifier only; predict_params uses the former.
        let per_set = predict::predict_params(&m, &view, &params);
        for (s, c) in per_set.iter().zip(&combined) {
            assert_eq!(s.source, Source::Model);
            assert!((s.ssim - c).abs() <= 1e-6);
        }
        return;
    }
    let embedding = b.encode(&t, &stats).unwrap();
    assert_eq!(
        embedding.len(),
        r["embedding_dim"].as_u64().unwrap() as usize
    );
    for (got, want) in embedding.iter().zip(floats(&r["embedding_head"])) {
        assert!((got - want).abs() <= tol, "embedding {got} vs {want}");
    }
    // The one-image-many-parameter-sets path gives the same numbers as the combined model.
    let split = predict::predict_params(&m, &view, &params);
    for (s, c) in split.iter().zip(&combined) {
        assert_eq!(s.source, Source::Model);
        assert!(
            (s.ssim - c).abs() <= 1e-5,
            "split {} vs combined {c}",
            s.ssim
        );
    }
    // predict_params == predict per set.
    for (s, p) in split.iter().zip(&params) {
        let single = predict::predict(&m, &view, *p);
        assert!((single.ssim - s.ssim).abs() <= 1e-6);
    }
}

#[test]
fn missing_corrupt_and_mismatched_models_are_unavailable_and_the_rest_serve() {
    let dir = copy_dir("broken");
    std::fs::remove_file(dir.join("quality_head.onnx")).unwrap();
    std::fs::write(dir.join("logo_classifier.onnx"), b"not onnx").unwrap();
    let m = open(&dir, BackendKind::Tract);
    assert!(
        matches!(status_of(&m, "quality_head"), Status::Unavailable { reason } if reason.contains("cannot read"))
    );
    assert!(
        matches!(status_of(&m, "logo_classifier"), Status::Unavailable { reason } if reason.contains("checksum mismatch"))
    );
    assert_eq!(status_of(&m, "quality_predictor"), Status::Ready);
    assert!(!m.has_split() && m.has_quality() && !m.has_classifier());
    // The combined model still answers.
    let img = logo();
    let p = predict::predict(&m, &img.view().unwrap(), Params::default());
    assert_eq!(p.source, Source::Model);

    // A file whose checksum matches the manifest but that is not a model fails at load, typed.
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let junk = b"not onnx either";
    std::fs::write(dir.join("quality_predictor.onnx"), junk).unwrap();
    let hex: String = vectune_core::manifest::sha256_hex(junk);
    for model in manifest["models"].as_array_mut().unwrap() {
        if model["name"] == "quality_predictor" {
            model["sha256"] = hex.clone().into();
        }
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let m = open(&dir, BackendKind::Ort);
    assert!(
        matches!(status_of(&m, "quality_predictor"), Status::Unavailable { reason } if reason.contains("cannot load"))
    );
    let p = predict::predict(&m, &img.view().unwrap(), Params::default());
    assert_eq!(
        p.source,
        Source::Heuristic,
        "no quality model left: the heuristic answers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_or_bad_manifest_falls_back_to_the_heuristic() {
    let empty = std::env::temp_dir().join(format!("vectune-no-models-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let m = ModelManager::open(&empty, BackendChoice::Auto);
    assert!(m.manifest_error().unwrap().contains("manifest.json"));
    let img = logo();
    assert_eq!(
        predict::predict(&m, &img.view().unwrap(), Params::default()).source,
        Source::Heuristic
    );
    std::fs::write(
        empty.join("manifest.json"),
        "{\"schema_version\": 9, \"models\": []}",
    )
    .unwrap();
    let m = ModelManager::open(&empty, BackendChoice::Auto);
    assert!(m.manifest_error().unwrap().contains("schema_version 9"));
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn sixty_four_threads_predict_the_same_answers() {
    for &kind in BACKENDS {
        concurrent(kind);
    }
}

fn concurrent(kind: BackendKind) {
    let m = Arc::new(open(&fixtures().join("models"), kind));
    let img = Arc::new(logo());
    let params = color_precisions();
    let expected: Vec<f32> = predict::predict_params(&m, &img.view().unwrap(), &params)
        .iter()
        .map(|p| p.ssim)
        .collect();
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let (m, img, p) = (m.clone(), img.clone(), params[i % 8]);
            std::thread::spawn(move || predict::predict(&m, &img.view().unwrap(), p).ssim)
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let got = h.join().unwrap();
        assert!(
            (got - expected[i % 8]).abs() <= 1e-6,
            "thread {i}: {got} vs {}",
            expected[i % 8]
        );
    }
}

fn ssims(m: &ModelManager, params: &[Params]) -> Vec<f32> {
    let img = logo();
    predict::predict_params(m, &img.view().unwrap(), params)
        .iter()
        .map(|p| {
            assert_eq!(p.source, Source::Model, "{:?}", p.fallback);
            p.ssim
        })
        .collect()
}

#[test]
fn lazy_loading_pinning_and_eviction_under_a_small_budget() {
    use vectune_native::manager::Options;
    let dir = fixtures().join("models");
    let params = reference_params(&reference());
    let eager = open(&dir, BackendKind::Tract);
    let want = ssims(&eager, &params);
    let size = |name: &str| eager.report(name).unwrap().bytes;
    // Room for the encoder and head, not also the classifier.
    let budget = size("quality_encoder") + size("quality_head") + 1000;
    assert!(budget < size("quality_encoder") + size("quality_head") + size("logo_classifier"));
    let lazy = ModelManager::open_with(
        &dir,
        BackendChoice::Exactly(BackendKind::Tract),
        Options {
            budget_bytes: budget,
            lazy: true,
            pinned: vec!["quality_head".into()],
            ..Options::default()
        },
    );
    for r in lazy.reports() {
        assert!(
            matches!(r.status, Status::Unloaded { .. }),
            "{}: {:?}",
            r.name,
            r.status
        );
    }
    assert_eq!(lazy.cache_stats().entries, 0);
    // First use loads the encoder and the head (split form), same answers as the eager manager.
    assert_eq!(ssims(&lazy, &params), want);
    assert_eq!(status_of(&lazy, "quality_encoder"), Status::Ready);
    assert!(lazy.report("quality_head").unwrap().pinned);
    assert!(matches!(
        status_of(&lazy, "logo_classifier"),
        Status::Unloaded { .. }
    ));
    // The classifier needs room: the encoder (least recently used, unpinned) goes, the head stays.
    let img = logo();
    let c = vectune_native::classify::classify(&lazy, &img.view().unwrap()).unwrap();
    assert_eq!(status_of(&lazy, "logo_classifier"), Status::Ready);
    assert!(
        matches!(status_of(&lazy, "quality_encoder"), Status::Unloaded { reason } if reason.contains("evicted"))
    );
    assert_eq!(status_of(&lazy, "quality_head"), Status::Ready);
    let stats = lazy.cache_stats();
    assert_eq!(stats.evictions, 1);
    assert!(stats.bytes_used <= budget);
    let eager_class = vectune_native::classify::classify(&eager, &img.view().unwrap()).unwrap();
    assert_eq!(c, eager_class);
    // Predicting again for the same pixels needs only the head (the encoding is kept) ...
    assert_eq!(ssims(&lazy, &params), want);
    assert_eq!(lazy.report("quality_encoder").unwrap().loads, 1);
    assert_eq!(lazy.encodings().lock().unwrap().stats().hits, 1);
    // ... and for new pixels loads the encoder a second time (evicting the classifier), agreeing.
    lazy.encodings().lock().unwrap().clear();
    assert_eq!(ssims(&lazy, &params), want);
    assert_eq!(lazy.report("quality_encoder").unwrap().loads, 2);
    assert!(matches!(
        status_of(&lazy, "logo_classifier"),
        Status::Unloaded { .. }
    ));
    assert_eq!(lazy.cache_stats().evictions, 2);
    assert!(lazy.cache_stats().hits > 0);

    // A budget smaller than any model: every model is unavailable with the reason (it can never
    // fit), and the heuristic answers.
    let tiny = ModelManager::open_with(
        &dir,
        BackendChoice::Exactly(BackendKind::Tract),
        Options {
            budget_bytes: 1000,
            ..Options::default()
        },
    );
    for r in tiny.reports().iter().filter(|r| r.format == "onnx") {
        assert!(
            matches!(&r.status, Status::Unavailable { reason } if reason.contains("larger than the cache budget")),
            "{:?}",
            r.status
        );
    }
    let p = predict::predict(&tiny, &img.view().unwrap(), Params::default());
    assert_eq!(p.source, Source::Heuristic);
}

#[test]
fn reload_swaps_a_model_while_predictions_run() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = copy_dir("reload");
    let params = reference_params(&reference());
    let m = Arc::new(open(&dir, BackendKind::Tract));
    let before = ssims(&m, &params);

    // `v2/quality_head.onnx`: the head of another short training run of the same architecture
    // (models/train runs/smoke), a different function with the same interface.
    // Reloading a file that no longer matches the manifest fails and keeps the old model serving.
    std::fs::copy(
        fixtures().join("models/v2/quality_head.onnx"),
        dir.join("quality_head.onnx"),
    )
    .unwrap();
    let err = m.reload("quality_head").unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_eq!(ssims(&m, &params), before);
    let err = m.reload("no_such_model").unwrap_err();
    assert!(err.to_string().contains("not in"), "{err}");
    assert_eq!(err.kind(), vectune_core::error::ErrorKind::ModelUnavailable);

    // A new file and its new checksum in the manifest: reload while 8 threads predict.
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("quality_head.onnx")).unwrap();
    let hex: String = vectune_core::manifest::sha256_hex(&bytes);
    for model in manifest["models"].as_array_mut().unwrap() {
        if model["name"] == "quality_head" {
            model["sha256"] = hex.clone().into();
            model["bytes"] = bytes.len().into();
        }
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let fresh = open(&dir, BackendKind::Tract);
    let after = ssims(&fresh, &params);
    assert_ne!(after, before, "the v2 head computes another function");

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (m, stop, params, before, after) = (
                m.clone(),
                stop.clone(),
                params.clone(),
                before.clone(),
                after.clone(),
            );
            std::thread::spawn(move || {
                let mut runs = 0;
                while !stop.load(Ordering::SeqCst) || runs == 0 {
                    let got = ssims(&m, &params);
                    assert!(got == before || got == after, "{got:?}");
                    runs += 1;
                }
                runs
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let report = m.reload("quality_head").unwrap();
    assert_eq!(report.status, Status::Ready);
    assert_eq!(report.loads, 2);
    std::thread::sleep(std::time::Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        assert!(w.join().unwrap() > 0);
    }
    assert_eq!(ssims(&m, &params), after);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_onnx_runtime_model_runs_concurrently_on_its_session_pool() {
    use vectune_core::graph::{Feed, Graph};
    use vectune_native::backends::Threads;
    use vectune_native::backends::ort::OrtModel;
    let manifest: vectune_core::manifest::Manifest = vectune_core::manifest::Manifest::from_json(
        &std::fs::read_to_string(fixtures().join("models/manifest.json")).unwrap(),
    )
    .unwrap();
    let entry = manifest.model("quality_predictor").unwrap();
    let bytes = std::fs::read(fixtures().join("models").join(&entry.file)).unwrap();
    let threads = Threads {
        sessions: 4,
        intra_op: 1,
        inter_op: 1,
        arena: false,
    };
    let model = OrtModel::load(&bytes, &threads).unwrap();
    assert_eq!(model.sessions(), 4);
    let inputs = entry.warmup_inputs();
    let feeds: Vec<Feed<'_>> = inputs
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
        .collect();
    let want = model.run(&feeds).unwrap();
    assert_eq!(model.peak_concurrent_runs(), 1);
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                start.wait();
                for _ in 0..20 {
                    assert_eq!(model.run(&feeds).unwrap(), want);
                }
            });
        }
    });
    // Runs of the one model overlapped (on different sessions) and gave the serial answer.
    let peak = model.peak_concurrent_runs();
    assert!((2..=4).contains(&peak), "peak concurrent runs {peak}");
}

#[test]
fn one_image_is_encoded_once_across_requests() {
    let m = open(&fixtures().join("models"), BackendKind::Ort);
    let img = logo();
    let view = img.view().unwrap();
    let a = predict::predict_params(&m, &view, &[Params::default()]);
    let params = color_precisions();
    // A second request for the same pixels (another buffer) uses the kept encoding...
    let copy = img.clone();
    let b = predict::predict_params(&m, &copy.view().unwrap(), &params);
    let stats = m.encodings().lock().unwrap().stats();
    assert_eq!((stats.misses, stats.hits, stats.entries), (1, 1, 1));
    // ... and answers what a fresh encoding answers.
    let fresh = vectune_core::predict::predict_params(m.models(), &view, &params);
    assert_eq!(b, fresh);
    let same = &fresh[params.iter().position(|p| *p == Params::default()).unwrap()];
    assert!((a[0].ssim - same.ssim).abs() <= 1e-6);
}

#[test]
fn concurrent_runs_are_batched_and_answer_what_each_alone_answers() {
    use std::sync::Mutex;
    use vectune_native::batching::{BatchObserver, Batching};
    use vectune_native::manager::Options;
    let dir = fixtures().join("models");
    let alone = open(&dir, BackendKind::Ort);
    let seen = Arc::new(Mutex::new(Vec::<(String, usize)>::new()));
    let record = seen.clone();
    let batched = ModelManager::open_with(
        &dir,
        BackendChoice::Exactly(BackendKind::Ort),
        Options {
            batching: Some(Batching {
                max_batch: 8,
                workers: 2,
                observer: Some(BatchObserver(Arc::new(move |model, rows| {
                    record.lock().unwrap().push((model.to_string(), rows));
                }))),
            }),
            ..Options::default()
        },
    );
    // 32 different images (one pixel each), predicted at once from 32 threads
    let base = logo();
    let images: Vec<image::RgbaImage> = (0..32)
        .map(|i| {
            let mut img = base.clone();
            img.pixels[4 * i] = img.pixels[4 * i].wrapping_add(97);
            img.pixels[4 * i + 3] = 255;
            img
        })
        .collect();
    let params = [
        Params::default(),
        Params::default()
            .with(ParamId::ColorPrecision, 3.0)
            .unwrap(),
    ];
    let start = std::sync::Barrier::new(images.len());
    let got: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = images
            .iter()
            .map(|img| {
                let (batched, start) = (&batched, &start);
                s.spawn(move || {
                    start.wait();
                    predict::predict_params(batched, &img.view().unwrap(), &params)
                        .iter()
                        .map(|p| {
                            assert_eq!(p.source, Source::Model, "{:?}", p.fallback);
                            p.ssim
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (img, got) in images.iter().zip(&got) {
        let want: Vec<f32> = predict::predict_params(&alone, &img.view().unwrap(), &params)
            .iter()
            .map(|p| p.ssim)
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "batched {g} vs alone {w}");
        }
    }
    let seen = seen.lock().unwrap();
    let encoder: Vec<usize> = seen
        .iter()
        .filter(|(m, _)| m == "quality_encoder")
        .map(|(_, r)| *r)
        .collect();
    // every image's encoding went through the batcher, at most 8 rows a run, some runs shared
    assert_eq!(encoder.iter().sum::<usize>(), 32, "{seen:?}");
    assert!(encoder.iter().all(|&r| (1..=8).contains(&r)), "{encoder:?}");
    assert!(
        encoder.iter().any(|&r| r > 1),
        "no run was shared: {encoder:?}"
    );
}
