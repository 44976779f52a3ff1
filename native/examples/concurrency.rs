//! Concurrent throughput of `predict` on one model manager: requests per second at 1, 2 and 8
//! threads, each request a new image (so no kept encoding helps) predicted for one parameter set,
//! the median of 3 rounds per level. A benchmark, not a test (this machine is shared: compare
//! ratios from one run).
//!
//! ```sh
//! cargo run --release -p vectune-native --example concurrency -- [--backend ort] [--requests 400]
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use vectune_core::params::Params;
use vectune_native::backends::BackendChoice;
use vectune_native::manager::{ModelManager, models_dir};
use vectune_native::{image, predict};

fn main() -> anyhow::Result<()> {
    let mut backend: BackendChoice = "ort".parse().map_err(anyhow::Error::msg)?;
    let mut requests = 400usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--backend" => {
                backend = args
                    .next()
                    .unwrap_or_default()
                    .parse()
                    .map_err(anyhow::Error::msg)?
            }
            "--requests" => requests = args.next().unwrap_or_default().parse()?,
            other => anyhow::bail!("unknown argument `{other}` (--backend B --requests N)"),
        }
    }
    let manager = ModelManager::open(&models_dir(None), backend);
    let logo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/golden/logo.png"
    );
    let base = image::load(std::path::Path::new(logo))?;
    let params = [Params::default()];
    let serial = Instant::now();
    let n_pixels = base.pixels.len() / 4;
    println!("| threads | requests/s (median of 3) | vs 1 thread |");
    println!("|---|---|---|");
    let mut one = 0.0;
    for threads in [1usize, 2, 8] {
        let mut rates = Vec::new();
        for round in 0..3 {
            let next = AtomicUsize::new(0);
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= requests {
                                break;
                            }
                            // a new image per request: one pixel differs
                            let mut img = base.clone();
                            let k = (round * requests + i) % n_pixels;
                            img.pixels[4 * k] =
                                img.pixels[4 * k].wrapping_add(1 + (i / n_pixels) as u8);
                            img.pixels[4 * k + 3] = 255;
                            let view = img.view().expect("a valid image");
                            let p = predict::predict_params(&manager, &view, &params);
                            assert_eq!(p.len(), 1);
                        }
                    });
                }
            });
            rates.push(requests as f64 / start.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let rate = rates[1];
        if threads == 1 {
            one = rate;
        }
        println!("| {threads} | {rate:.0} | {:.2}x |", rate / one);
    }
    eprintln!(
        "backend {} ({}), {requests} requests per round, {:.1} s in all",
        manager.backend_kind().name(),
        manager.backend_reason(),
        serial.elapsed().as_secs_f64()
    );
    Ok(())
}
