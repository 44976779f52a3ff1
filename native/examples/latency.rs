//! Cold start, batch-1 latency per backend, and memory with all models loaded, on this machine.
//!
//! ```sh
//! cargo run --release -p vectune-native [--features torch] --example latency -- [--models DIR] [--runs N]
//! ```
//!
//! For each backend this build can run: the time `ModelManager::open` takes (read, verify, load and
//! warm up every model), then the median of N runs of the combined quality model at batch 1, the
//! head alone at batch 1, the classifier, and a whole `predict` (decoded image → features,
//! preprocessing, encoder, head); finally the process's RSS with every backend's models loaded.

use std::time::Instant;

use vectune_core::graph::Batch;
use vectune_core::params::Params;
use vectune_core::{batch, features, preprocess};
use vectune_native::backends::{BackendChoice, BackendKind};
use vectune_native::manager::{ModelManager, models_dir};
use vectune_native::memory::{MemoryMonitor, ModelMemory};
use vectune_native::{image, predict};

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut models = None;
    let mut runs = 200usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--models" => models = args.next().map(std::path::PathBuf::from),
            "--runs" => runs = args.next().unwrap_or_default().parse()?,
            other => anyhow::bail!("unknown argument `{other}` (--models DIR --runs N)"),
        }
    }
    let dir = models_dir(models.as_deref());
    let logo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/golden/logo.png"
    );
    let img = image::load(std::path::Path::new(logo))?;
    let view = img.view()?;
    let t = preprocess::preprocess(&img.pixels, img.width, img.height)?;
    let stats = features::image_stats(&features::compute(&view));
    let p = batch::params_tensor(&[Params::default()]);
    let monitor = MemoryMonitor::default();
    let mut kinds = vec![BackendKind::Tract, BackendKind::Ort];
    if cfg!(feature = "torch") {
        kinds.push(BackendKind::Torch);
    }
    let mut held = Vec::new();
    let mut attributed = Vec::new();
    println!(
        "| backend | open (load + warm-up all) | quality batch 1 | head batch 1 | classifier | predict (whole) | predict (kept encoding) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for kind in kinds {
        let s = Instant::now();
        let m = ModelManager::open(&dir, BackendChoice::Exactly(kind));
        let open_ms = s.elapsed().as_secs_f64() * 1e3;
        let b = m.models();
        let q = median_ms(runs, || {
            let batch = Batch::new(&t, &stats, &p).expect("one item");
            b.predict_quality(batch).expect("quality model");
        });
        let head = if m.has_split() {
            let e = b.encode(&t, &stats)?;
            format!(
                "{:.3} ms",
                median_ms(runs * 5, || {
                    b.predict_head(&e, &p).expect("head");
                })
            )
        } else {
            "—".into()
        };
        let c = median_ms(runs, || {
            b.classify(&t).expect("classifier");
        });
        // the whole path from pixels (features, preprocessing, every model), without the
        // embedding cache; then again for pixels whose encoding the manager keeps
        let whole = median_ms(runs, || {
            vectune_core::predict::predict_params(m.models(), &view, &[Params::default()]);
        });
        let cached = median_ms(runs, || {
            predict::predict(&m, &view, Params::default());
        });
        println!(
            "| {} | {open_ms:.0} ms | {q:.2} ms | {head} | {c:.2} ms | {whole:.2} ms | {cached:.3} ms |",
            kind.name()
        );
        for r in m
            .reports()
            .iter()
            .filter(|r| r.status == vectune_native::manager::Status::Ready)
        {
            attributed.push(ModelMemory {
                name: format!("{}:{}", kind.name(), r.name),
                bytes: r.bytes,
            });
        }
        held.push(m);
    }
    let report = monitor.report(attributed);
    println!(
        "\nRSS with all {} backends' models loaded: {:.1} MB (model files {:.1} MB, limit {:.0} MB, within: {})",
        held.len(),
        report.rss_bytes as f64 / 1048576.0,
        report.models_bytes as f64 / 1048576.0,
        report.limit_bytes as f64 / 1048576.0,
        report.within_limits
    );
    Ok(())
}
