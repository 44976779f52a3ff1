//! The committed models' accuracy, re-measured in CI by the Rust runtime: the committed evaluation
//! set (`models/data/eval`: real logos of the test split, never trained on, x 8 parameter sets,
//! labelled by the ground-truth instrument) is scored on every backend, and the figures must match
//! what `models/manifest.json` records (measured by the Python pipeline at export) within 0.005, and
//! every backend must predict what the first did, row for row, within 1e-4 (the shipped graphs' own
//! golden parity; the fixture models' is in backends.rs).
//! Every model file's sha256 is checked against the manifest first.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vectune_core::manifest::{Format, Manifest};
use vectune_core::params::Params;
use vectune_native::backends::{BackendChoice, BackendKind};
use vectune_native::image;
use vectune_native::manager::{ModelManager, Status};
use vectune_native::predict::{self, Source};
use vectune_truth::metrics::{Scored, metrics};

/// Largest allowed difference between a re-measured figure and the manifest's.
const DRIFT: f64 = 0.005;
/// Largest allowed difference between two backends' predictions of one row (the export's own
/// checks hold ONNX == TorchScript == PyTorch within 1e-5; runtimes' kernels differ in summation order).
const BACKEND_PARITY: f64 = 1e-4;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn manifest() -> Manifest {
    let path = models_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (the shipped models)", path.display()));
    Manifest::from_json(&text).unwrap()
}

#[test]
fn every_model_file_matches_its_manifest_checksum() {
    let m = manifest();
    assert!(!m.models.is_empty());
    for e in &m.models {
        let bytes = std::fs::read(models_dir().join(&e.file)).unwrap();
        let hex: String = vectune_core::manifest::sha256_hex(&bytes);
        assert_eq!(hex, e.sha256, "{}", e.file);
        if let Some(n) = e.bytes {
            assert_eq!(n, bytes.len() as u64, "{}", e.file);
        }
        if e.format == Format::Onnx {
            assert!(bytes.len() <= 2 * 1024 * 1024, "{} is over 2 MB", e.file);
        }
    }
}

#[test]
fn committed_models_reproduce_their_manifest_accuracy_on_every_backend() {
    let m = manifest();
    let quality = m
        .models
        .iter()
        .find(|e| e.name == "quality_predictor")
        .expect("a quality_predictor entry");
    let figure = |key: &str| -> f64 {
        quality
            .metrics
            .get(key)
            .copied()
            .unwrap_or_else(|| panic!("manifest quality_predictor.metrics has no `{key}`"))
    };
    let (want_mae, want_rho) = (figure("eval_mae"), figure("eval_spearman_within_image"));

    let eval = models_dir().join("data/eval");
    let rows = vectune_truth::dataset::read_labels(&eval.join("labels.csv")).unwrap();
    let mut by_image: BTreeMap<&str, Vec<(Params, f64)>> = BTreeMap::new();
    for r in &rows {
        by_image
            .entry(r.image_id.as_str())
            .or_default()
            .push((r.params().unwrap(), r.ssim));
    }
    assert!(by_image.len() >= 300, "{} images", by_image.len());
    let images: Vec<(&str, image::RgbaImage)> = by_image
        .keys()
        .map(|id| {
            (
                *id,
                image::load(&eval.join(format!("images/{id}.png"))).unwrap(),
            )
        })
        .collect();

    #[cfg(not(feature = "torch"))]
    let kinds = [BackendKind::Tract, BackendKind::Ort];
    #[cfg(feature = "torch")]
    let kinds = [BackendKind::Tract, BackendKind::Ort, BackendKind::Torch];
    // The first backend's predictions, row for row: every other backend must give the same function.
    let mut first: Option<(BackendKind, Vec<f64>)> = None;
    for kind in kinds {
        let manager = ModelManager::open(&models_dir(), BackendChoice::Exactly(kind));
        assert_eq!(manager.backend_kind(), kind, "{}", manager.backend_reason());
        let format = kind.format();
        for r in manager
            .reports()
            .iter()
            .filter(|r| r.format == format.as_str())
        {
            assert_eq!(r.status, Status::Ready, "{}", r.name);
        }
        let mut scored = Vec::with_capacity(rows.len());
        for (id, img) in &images {
            let labelled = &by_image[id];
            let params: Vec<Params> = labelled.iter().map(|(p, _)| *p).collect();
            let preds = predict::predict_params(&manager, &img.view().unwrap(), &params);
            for (p, (_, label)) in preds.iter().zip(labelled) {
                assert_eq!(p.source, Source::Model, "{id}: {:?}", p.fallback);
                scored.push(Scored {
                    image_id: id,
                    label: *label,
                    predicted: f64::from(p.ssim),
                });
            }
        }
        let predicted: Vec<f64> = scored.iter().map(|s| s.predicted).collect();
        match &first {
            None => first = Some((kind, predicted)),
            Some((first_kind, want)) => {
                let worst = want
                    .iter()
                    .zip(&predicted)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                eprintln!(
                    "{} vs {}: max |difference| {worst:.2e} over {} predictions",
                    kind.name(),
                    first_kind.name(),
                    predicted.len()
                );
                assert!(
                    worst <= BACKEND_PARITY,
                    "{} and {} differ by {worst} on the packaged models",
                    kind.name(),
                    first_kind.name()
                );
            }
        }
        let got = metrics(&scored);
        eprintln!(
            "{}: eval set {} labels: MAE {:.4} (manifest {want_mae:.4}), R² {:.3}, within-image Spearman {:.3} (manifest {want_rho:.3})",
            kind.name(),
            got.n,
            got.mae,
            got.r2,
            got.median_within_image_spearman
        );
        assert!(
            (got.mae - want_mae).abs() <= DRIFT,
            "{}: MAE {} drifted from the manifest's {want_mae}",
            kind.name(),
            got.mae
        );
        assert!(
            (got.median_within_image_spearman - want_rho).abs() <= DRIFT,
            "{}: Spearman {} drifted from the manifest's {want_rho}",
            kind.name(),
            got.median_within_image_spearman
        );
    }
}

/// The shipped head takes one image's embedding once for all its parameter sets
/// (`ModelEntry::shares_embedding`): on tract and ONNX Runtime, that path, the general `[N, D]`
/// path (rows of several images, run once per image) and the combined model agree.
#[test]
fn the_shipped_head_takes_each_embedding_once_on_every_runtime() {
    use vectune_core::batch::params_tensor;
    use vectune_core::models::QualityPath;
    use vectune_core::predict::{Prepared, encode, quality_for_params};
    let m = manifest();
    let head = m.model("quality_head").expect("a quality_head entry");
    assert!(head.shares_embedding(), "the shipped head takes [1, D]");
    let eval = models_dir().join("data/eval/images");
    let mut ids: Vec<PathBuf> = std::fs::read_dir(&eval)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    ids.sort();
    let images: Vec<image::RgbaImage> = ids[..3].iter().map(|p| image::load(p).unwrap()).collect();
    let params: Vec<Params> = [2.0, 4.0, 6.0, 8.0]
        .iter()
        .map(|&cp| {
            Params::default()
                .with(vectune_core::params::ParamId::ColorPrecision, cp)
                .unwrap()
        })
        .collect();
    let p = params_tensor(&params);
    for kind in [BackendKind::Tract, BackendKind::Ort] {
        let manager = ModelManager::open(&models_dir(), BackendChoice::Exactly(kind));
        let backend = manager.models();
        let (mut all_emb, mut all_par, mut want) = (vec![], vec![], vec![]);
        for img in &images {
            let view = img.view().unwrap();
            let prepared = Prepared::new(view);
            let emb = encode(backend, &prepared).unwrap();
            let one = backend.predict_head_one(&emb, &p).unwrap();
            let stats = vectune_core::features::image_stats(prepared.features());
            let tensor = prepared.tensor().unwrap();
            let combined =
                quality_for_params(backend, QualityPath::Combined, tensor, &stats, &params)
                    .unwrap();
            for (a, b) in one.iter().zip(&combined) {
                assert!((a - b).abs() <= 1e-5, "{}: {a} vs {b}", kind.name());
            }
            for _ in &params {
                all_emb.extend_from_slice(&emb);
            }
            all_par.extend_from_slice(&p);
            want.extend(one);
        }
        let rows = backend.predict_head(&all_emb, &all_par).unwrap();
        assert_eq!(rows.len(), want.len());
        for (a, b) in rows.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-6, "{}: {a} vs {b}", kind.name());
        }
        // a wrongly sized embedding is a typed shape error, not a panic
        assert!(backend.predict_head_one(&all_emb[..7], &p).is_err());
    }
}
