//! The dataset builder's behaviour: reproducible, resumable after a kill, bad items recorded and
//! skipped; and the committed evaluation set is intact and re-measures to the same labels.

use std::path::{Path, PathBuf};

use vectune_core::image::ImageRef;
use vectune_truth::dataset::{self, BuildConfig, LabelRow, PlanConfig, Split};
use vectune_truth::render::Renderer;
use vectune_truth::sources::{RealLogo, RealSource};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vectune-dataset-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn logo(name: &str, svg: &str) -> RealLogo {
    RealLogo {
        source: RealSource::IconifyLogos,
        name: name.into(),
        brand: name.into(),
        svg: svg.into(),
        wordmark: false,
    }
}

fn real() -> Vec<RealLogo> {
    vec![
        logo(
            "disc",
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="12" fill="#e34"/></svg>"##,
        ),
        logo(
            "bars",
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20"><rect width="10" height="20" fill="#123"/><rect x="15" width="10" height="20" fill="#3a7"/></svg>"##,
        ),
        logo(
            "broken",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"><rect",
        ),
    ]
}

fn config() -> BuildConfig {
    BuildConfig {
        plan: PlanConfig {
            images: 7,
            real_fraction: 0.5,
            seed: 11,
            min_side: 48,
            max_side: 96,
            split: None,
        },
        params_per_image: 4,
        sources: Vec::new(),
        exclude_seen: None,
    }
}

fn labels(dir: &Path) -> Vec<LabelRow> {
    let mut rows = dataset::read_labels(&dir.join("labels.csv")).unwrap();
    rows.iter_mut().for_each(|r| r.vectorize_ms = 0.0);
    rows.sort_by(|a, b| {
        (&a.image_id, a.color_precision, a.corner_threshold).cmp(&(
            &b.image_id,
            b.color_precision,
            b.corner_threshold,
        ))
    });
    rows
}

#[test]
fn builds_reproducibly_and_skips_bad_items() {
    let (a, b) = (tmp("a"), tmp("b"));
    let ra = dataset::build(&config(), &real(), &a, false).unwrap();
    let rb = dataset::build(&config(), &real(), &b, false).unwrap();
    assert_eq!(ra.images_planned, 7);
    assert_eq!(
        ra.images_failed, 1,
        "the broken SVG is recorded and skipped"
    );
    assert_eq!(ra.labels_written, 6 * 4);
    assert_eq!(rb.labels_written, ra.labels_written);
    assert_eq!(labels(&a), labels(&b), "same seed, same labels");
    let errors = std::fs::read_to_string(a.join("errors.jsonl")).unwrap();
    assert!(
        errors.contains("broken") && errors.contains("cannot render SVG"),
        "{errors}"
    );
    for r in labels(&a) {
        assert!((0.0..=1.0).contains(&r.ssim));
        assert!(
            a.join("images")
                .join(format!("{}.png", r.image_id))
                .exists()
        );
        assert!(r.params().is_ok());
    }
    // Rerunning does nothing new; other settings in the same directory are refused.
    let again = dataset::build(&config(), &real(), &a, false).unwrap();
    assert_eq!((again.images_resumed, again.labels_written), (7, 0));
    let mut other = config();
    other.params_per_image = 5;
    let e = dataset::build(&other, &real(), &a, false).unwrap_err();
    assert!(e.to_string().contains("other settings"), "{e}");
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn resumes_after_a_kill_without_duplicates_or_losses() {
    let (full, killed) = (tmp("full"), tmp("killed"));
    dataset::build(&config(), &real(), &full, false).unwrap();
    dataset::build(&config(), &real(), &killed, false).unwrap();
    // Simulate a kill: the last image's rows half written, its done line never written.
    let done_path = killed.join("done.txt");
    let done = std::fs::read_to_string(&done_path).unwrap();
    let mut lines: Vec<&str> = done.lines().collect();
    let last = lines.pop().unwrap().to_string();
    std::fs::write(&done_path, lines.join("\n") + "\n").unwrap();
    let labels_path = killed.join("labels.csv");
    let text = std::fs::read_to_string(&labels_path).unwrap();
    let cut = text.len() - 17;
    std::fs::write(&labels_path, &text[..cut]).unwrap();
    let report = dataset::build(&config(), &real(), &killed, false).unwrap();
    assert_eq!(report.images_resumed, 6);
    assert!(
        report.images_built + report.images_failed == 1,
        "{report:?} (redid {last})"
    );
    assert_eq!(labels(&killed), labels(&full));
    let _ = std::fs::remove_dir_all(&full);
    let _ = std::fs::remove_dir_all(&killed);
}

#[test]
fn test_split_holds_only_real_logos() {
    let mut cfg = config().plan;
    cfg.split = Some(Split::Test);
    cfg.real_fraction = 1.0;
    let logos: Vec<RealLogo> = (0..60)
        .map(|i| logo(&format!("brand{i}"), "<svg/>"))
        .collect();
    let plan = dataset::plan(&cfg, &logos);
    assert!(!plan.is_empty());
    assert!(
        plan.iter()
            .all(|s| s.split == Split::Test && s.source != "synthetic")
    );
}

fn eval_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/eval")
}

#[test]
fn committed_eval_set_is_intact_and_remeasures_identically() {
    let rows = dataset::read_labels(&eval_dir().join("labels.csv")).unwrap();
    let stats = dataset::stats(&rows);
    assert!(stats.images >= 300, "{} images", stats.images);
    assert_eq!(stats.labels, stats.images * 8);
    assert!(
        rows.iter()
            .all(|r| r.split == "test" && r.source != "synthetic")
    );
    assert!(eval_dir().join("licenses/README.md").exists());
    // Re-measure a spread of rows from the committed PNGs: the instrument is deterministic.
    let renderer = Renderer::new();
    for r in rows.iter().step_by(rows.len() / 12) {
        let img = image::open(
            eval_dir()
                .join("images")
                .join(format!("{}.png", r.image_id)),
        )
        .unwrap()
        .into_rgba8();
        assert_eq!(img.dimensions(), (r.width, r.height));
        let view = ImageRef::new(img.as_raw(), r.width, r.height).unwrap();
        let m =
            vectune_truth::measure(&view, &r.params().unwrap(), &renderer, &r.image_id).unwrap();
        assert!(
            (m.ssim - r.ssim).abs() < 1e-9,
            "{}: {} vs committed {}",
            r.image_id,
            m.ssim,
            r.ssim
        );
        assert_eq!(m.svg_bytes, r.svg_bytes);
    }
}
