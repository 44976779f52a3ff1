//! Evaluates the parameter suggester on held-out real logos: the SSIM VTracer actually reaches
//! (measured with the ground-truth instrument) with the suggested parameters, with VTracer's
//! defaults, and with the best of a 64-point grid, the SVG sizes, and the time each approach took.
//!
//! ```sh
//! cargo run --release -p vectune-native --example eval_suggester -- \
//!     --data models/data/eval --images 60 --target 0.95 [--margin 0.02] [--models models] \
//!     [--json out.json] [--no-grid] [--verify]
//! ```
//!
//! `--margin` is the suggester's safety margin (default `DEFAULT_MARGIN`); `--no-grid` skips the
//! 64-point grid (to compare margins or models quickly); `--verify` also reports `vectune suggest --verify`
//! (the suggestion's shortlist measured with VTracer, the choice remade on the measurements; its time
//! includes the suggestion's).
//!
//! On a training set's val split instead (for choosing between models without reading the test split):
//! `--data DIR --split val --real --spread` (real logos only, N images spread evenly over the ids).
//!
//! The grid: colour precision {2, 4, 6, 8} x layer difference {8, 16, 32, 64} x speckle filter
//! {0, 4, 8, 16}, other parameters at VTracer's defaults; "best" = highest measured SSIM.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use vectune_core::params::{ParamId, Params};
use vectune_native::backends::BackendChoice;
use vectune_native::image;
use vectune_native::manager::{ModelManager, models_dir};
use vectune_truth::measure::measure;
use vectune_truth::render::Renderer;

struct Args {
    data: PathBuf,
    images: usize,
    target: f32,
    margin: f32,
    grid: bool,
    models: Option<PathBuf>,
    json: Option<PathBuf>,
    split: Option<String>,
    real_only: bool,
    spread: bool,
    verify: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        data: PathBuf::from("models/data/eval"),
        images: 60,
        target: vectune_core::suggest::DEFAULT_TARGET,
        margin: vectune_core::suggest::DEFAULT_MARGIN,
        grid: true,
        models: None,
        json: None,
        split: None,
        real_only: false,
        spread: false,
        verify: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => a.data = value()?.into(),
            "--images" => a.images = value()?.parse()?,
            "--target" => a.target = value()?.parse()?,
            "--margin" => a.margin = value()?.parse()?,
            "--no-grid" => a.grid = false,
            "--models" => a.models = Some(value()?.into()),
            "--json" => a.json = Some(value()?.into()),
            "--split" => a.split = Some(value()?),
            "--real" => a.real_only = true,
            "--spread" => a.spread = true,
            "--verify" => a.verify = true,
            other => anyhow::bail!(
                "unknown argument `{other}` (--data DIR --images N --target T --margin M --models DIR \
                 --json FILE --split NAME --real --spread --no-grid --verify)"
            ),
        }
    }
    Ok(a)
}

fn grid() -> Vec<Params> {
    let mut out = Vec::new();
    for cp in [2.0, 4.0, 6.0, 8.0] {
        for ld in [8.0, 16.0, 32.0, 64.0] {
            for fs in [0.0, 4.0, 8.0, 16.0] {
                let p = Params::default()
                    .with(ParamId::ColorPrecision, cp)
                    .and_then(|p| p.with(ParamId::LayerDifference, ld))
                    .and_then(|p| p.with(ParamId::FilterSpeckle, fs))
                    .expect("grid values are in range");
                out.push(p);
            }
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let manager = ModelManager::open(&models_dir(a.models.as_deref()), BackendChoice::Auto);
    let renderer = Renderer::new();
    let rows = vectune_truth::dataset::read_labels(&a.data.join("labels.csv"))?;
    let ids: Vec<&str> = rows
        .iter()
        .filter(|r| a.split.as_deref().is_none_or(|s| r.split == s))
        .filter(|r| !a.real_only || r.source != vectune_truth::dataset::SYNTHETIC_SOURCE)
        .map(|r| r.image_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    anyhow::ensure!(
        !ids.is_empty(),
        "{}: no images match --split / --real",
        a.data.display()
    );
    let n = a.images.min(ids.len());
    let ids: Vec<&str> = if a.spread {
        (0..n).map(|i| ids[i * ids.len() / n]).collect()
    } else {
        ids.into_iter().take(n).collect()
    };
    let grid = if a.grid { grid() } else { Vec::new() };
    let mut per_image = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let img = image::load(&a.data.join(format!("images/{id}.png")))?;
        let view = img.view()?;
        let t = Instant::now();
        let s = vectune_native::suggest::suggest(&manager, &view, a.target, a.margin)
            .map_err(anyhow::Error::msg)?;
        let suggest_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let suggested = measure(&view, &s.params, &renderer, id)?;
        let suggested_ms = suggest_ms + t.elapsed().as_secs_f64() * 1e3;
        let verified = if a.verify {
            let v = vectune_native::suggest::verify(&s, &view, id)?;
            let ms = suggest_ms + v.ms;
            Some((v, ms))
        } else {
            None
        };
        let t = Instant::now();
        let defaults = measure(&view, &Params::default(), &renderer, id)?;
        let defaults_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let mut best = None::<vectune_truth::measure::Measurement>;
        for p in &grid {
            let m = measure(&view, p, &renderer, id)?;
            if best.as_ref().is_none_or(|b| m.ssim > b.ssim) {
                best = Some(m);
            }
        }
        let grid_ms = t.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "[{}/{}] {id}: suggested {:.4} ({} B, predicted {:.4}){}, defaults {:.4} ({} B){}",
            i + 1,
            ids.len(),
            suggested.ssim,
            suggested.svg_bytes,
            s.predicted_ssim,
            verified
                .as_ref()
                .map(|(v, _)| format!(", verified {:.4} ({} B)", v.ssim, v.svg_bytes))
                .unwrap_or_default(),
            defaults.ssim,
            defaults.svg_bytes,
            best.as_ref()
                .map(|b| format!(", grid best {:.4} ({} B)", b.ssim, b.svg_bytes))
                .unwrap_or_default()
        );
        per_image.push(serde_json::json!({
            "image": id,
            "suggested": {"params": s.params, "ssim": suggested.ssim, "svg_bytes": suggested.svg_bytes,
                          "predicted_ssim": s.predicted_ssim, "met_target": s.met_target, "ms": suggested_ms},
            "verified": verified.as_ref().map(|(v, ms)| serde_json::json!({"params": v.params, "ssim": v.ssim,
                "svg_bytes": v.svg_bytes, "met_target": v.met_target, "kept_suggestion": v.kept_suggestion,
                "measured": v.measured, "ms": ms})),
            "defaults": {"ssim": defaults.ssim, "svg_bytes": defaults.svg_bytes, "ms": defaults_ms},
            "grid_best": best.map(|b| serde_json::json!({"ssim": b.ssim, "svg_bytes": b.svg_bytes, "ms": grid_ms})),
        }));
    }
    let col = |k: &str, f: &str| -> Vec<f64> {
        per_image
            .iter()
            .map(|v| v[k][f].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let reached = |k: &str| {
        col(k, "ssim")
            .iter()
            .filter(|s| **s >= f64::from(a.target))
            .count()
    };
    let summary = serde_json::json!({
        "images": per_image.len(),
        "target": a.target,
        "margin": a.margin,
        "backend": manager.backend_kind().name(),
        "quality_source": if manager.has_quality() || manager.has_split() { "model" } else { "heuristic" },
        "correlation_models": manager.correlation().is_some(),
        "median": {
            "suggested": {"ssim": median(col("suggested", "ssim")), "svg_bytes": median(col("suggested", "svg_bytes")), "ms": median(col("suggested", "ms"))},
            "verified": a.verify.then(|| serde_json::json!({"ssim": median(col("verified", "ssim")), "svg_bytes": median(col("verified", "svg_bytes")), "ms": median(col("verified", "ms"))})),
            "defaults": {"ssim": median(col("defaults", "ssim")), "svg_bytes": median(col("defaults", "svg_bytes")), "ms": median(col("defaults", "ms"))},
            "grid_best": a.grid.then(|| serde_json::json!({"ssim": median(col("grid_best", "ssim")), "svg_bytes": median(col("grid_best", "svg_bytes")), "ms": median(col("grid_best", "ms"))})),
        },
        "reached_target": {"suggested": reached("suggested"), "verified": a.verify.then(|| reached("verified")), "defaults": reached("defaults"), "grid_best": a.grid.then(|| reached("grid_best"))},
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if let Some(path) = a.json {
        let all = serde_json::json!({"summary": summary, "images": per_image});
        std::fs::write(&path, serde_json::to_string_pretty(&all)?)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
