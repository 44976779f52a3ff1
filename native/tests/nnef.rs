//! The browser package's NNEF models (`vectune export-nnef`, native/src/nnef.rs): the committed
//! NNEF files of `models/` and of the fixtures are exports of their ONNX graphs (same outputs
//! within 1e-5, checksums in the manifest), a stale or missing export is reported, and an export
//! into a fresh directory writes a manifest that still loads.

use std::path::{Path, PathBuf};

use vectune_core::manifest::{Format, Manifest};
use vectune_native::backends::{BackendChoice, BackendKind};
use vectune_native::manager::{ModelManager, Status};
use vectune_native::nnef;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn assert_all_up_to_date(dir: &Path) {
    let report = nnef::check_dir(dir).unwrap();
    let manifest =
        Manifest::from_json(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let onnx = manifest
        .models
        .iter()
        .filter(|m| m.format == Format::Onnx)
        .count();
    assert_eq!(report.len(), onnx, "one NNEF export per ONNX model");
    assert!(onnx >= 4);
    for e in &report {
        assert_eq!(e.up_to_date, Some(true), "{} in {}", e.name, dir.display());
        assert!(
            e.bytes > 0 && e.bytes <= 2_000_000,
            "{}: {} bytes",
            e.name,
            e.bytes
        );
    }
}

#[test]
fn committed_nnef_models_are_exports_of_their_onnx_graphs() {
    assert_all_up_to_date(&repo().join("models"));
    assert_all_up_to_date(&repo().join("tests/fixtures/models"));
}

fn copy_onnx_models(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let text = std::fs::read_to_string(from.join("manifest.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let models = doc["models"].as_array_mut().unwrap();
    models.retain(|m| m["format"] == "onnx");
    for m in models.iter() {
        let file = m["file"].as_str().unwrap();
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
    std::fs::write(to.join("manifest.json"), doc.to_string()).unwrap();
}

#[test]
fn export_writes_loadable_entries_and_check_reports_stale_files() {
    let dir = std::env::temp_dir().join(format!("vectune-nnef-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_onnx_models(&repo().join("tests/fixtures/models"), &dir);

    // Before the export: every NNEF entry is missing.
    let before = nnef::check_dir(&dir).unwrap();
    assert!(
        before
            .iter()
            .all(|e| e.up_to_date == Some(false) && e.bytes == 0)
    );

    let written = nnef::export_dir(&dir, true).unwrap();
    assert_eq!(written.len(), 4);
    assert_all_up_to_date(&dir);
    // Exporting again replaces the entries instead of adding more.
    nnef::export_dir(&dir, true).unwrap();
    let manifest =
        Manifest::from_json(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest.models.len(), 8);
    let head = manifest.model("quality_head_nnef").unwrap();
    let onnx_head = manifest.model("quality_head").unwrap();
    assert_eq!(head.file, "quality_head.nnef.tar");
    assert_eq!(head.inputs, onnx_head.inputs);
    assert_eq!(head.outputs, onnx_head.outputs);

    // The native manager serves the ONNX models and says where the NNEF ones run.
    let m = ModelManager::open(&dir, BackendChoice::Exactly(BackendKind::Tract));
    let reports = m.reports();
    let nnef_report = reports
        .iter()
        .find(|r| r.name == "quality_head_nnef")
        .unwrap();
    assert!(
        matches!(&nnef_report.status, Status::Unavailable { reason } if reason.contains("browser package")),
        "{:?}",
        nnef_report.status
    );
    assert_eq!(
        reports.iter().filter(|r| r.status == Status::Ready).count(),
        4
    );

    // A file swapped for another model's export is caught (checksum), as is one deleted.
    std::fs::copy(
        dir.join("quality_encoder.nnef.tar"),
        dir.join("quality_predictor.nnef.tar"),
    )
    .unwrap();
    std::fs::remove_file(dir.join("logo_classifier.nnef.tar")).unwrap();
    let after = nnef::check_dir(&dir).unwrap();
    let stale: Vec<&str> = after
        .iter()
        .filter(|e| e.up_to_date == Some(false))
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(stale, ["quality_predictor_nnef", "logo_classifier_nnef"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_of_a_directory_without_a_manifest_names_the_file() {
    let dir = std::env::temp_dir().join(format!("vectune-nnef-none-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = nnef::export_dir(&dir, true).unwrap_err().to_string();
    assert!(err.contains("manifest.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn graph_text(tar_bytes: &[u8]) -> String {
    let mut ar = tar::Archive::new(tar_bytes);
    for entry in ar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("graph.nnef") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut entry, &mut s).unwrap();
            return s;
        }
    }
    panic!("no graph.nnef in the tar");
}

/// The shipped ONNX files hold float16 weights (`export.py --weights float16`); their NNEF form
/// keeps them float16 (`nnef::half_variables`: tract's serializer alone would write float32), so
/// the browser downloads about what the ONNX file weighs. A float32 model is written as before.
#[test]
fn float16_weights_stay_float16_in_nnef() {
    let onnx = std::fs::read(repo().join("models/quality_head.onnx")).unwrap();
    let tar = nnef::convert(&onnx).unwrap();
    assert!(graph_text(&tar).matches("= tract_core_cast(").count() >= 10);
    assert!(
        tar.len() < onnx.len() * 12 / 10,
        "NNEF {} bytes vs ONNX {}",
        tar.len(),
        onnx.len()
    );
    let fixture = std::fs::read(repo().join("tests/fixtures/models/quality_head.onnx")).unwrap();
    assert!(!graph_text(&nnef::convert(&fixture).unwrap()).contains("_f16 = variable"));
}
