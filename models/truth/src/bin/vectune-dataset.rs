//! `vectune-dataset`: builds the labelled datasets (VTracer + resvg + SSIM) the models are trained
//! and judged on. See `models/truth/README.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vectune_truth::dataset::{self, BuildConfig, PlanConfig, Split};
use vectune_truth::sources;

#[derive(Parser)]
#[command(
    name = "vectune-dataset",
    version,
    about = "Build labelled datasets: logos x VTracer parameter sets -> SSIM of the SVG",
    long_about = "Build labelled datasets: synthetic and real logos (npm: @iconify-json/logos, \
                  simple-icons, devicon; or, to measure generalisation, the outside sources \
                  @iconify-json/skill-icons, token-branded, cryptocurrency-color) x VTracer \
                  parameter sets, each labelled with the SSIM of VTracer's SVG rendered back by \
                  resvg. Parallel, resumable (rerun the same command after a kill), reproducible \
                  from --seed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// Output directory (images/, labels.csv, done.txt, errors.jsonl, build.json).
    #[arg(long)]
    out: PathBuf,
    /// Where the npm packages are downloaded and extracted.
    #[arg(long, default_value = "target/vectune-data/npm-cache")]
    cache: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Build (or resume) a dataset.
    Build {
        #[command(flatten)]
        common: Common,
        /// Number of images.
        #[arg(long, default_value_t = 8000)]
        images: usize,
        /// Parameter sets per image.
        #[arg(long, default_value_t = 25)]
        params_per_image: usize,
        /// Share of real logos.
        #[arg(long, default_value_t = 0.5)]
        real_fraction: f64,
        /// Run seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Smallest long side, px.
        #[arg(long, default_value_t = 64)]
        min_side: u32,
        /// Largest long side, px.
        #[arg(long, default_value_t = 1024)]
        max_side: u32,
        /// Only this split (train, val, test; test has real logos only).
        #[arg(long, value_parser = parse_split)]
        split: Option<Split>,
        /// Real-logo sources, comma-separated: the training sources iconify_logos, simple_icons,
        /// devicon (the default), or the outside sources skill_icons, token_branded,
        /// cryptocurrency_color, which no model trains on (with `--split test --real-fraction 1`:
        /// logos of brands no model has seen, from other designers).
        #[arg(long, value_delimiter = ',', value_parser = parse_source)]
        sources: Vec<sources::RealSource>,
        /// Leave out the real logos the dataset in this directory already holds (at any size), to
        /// extend a training set with logos it does not have yet.
        #[arg(long, value_name = "DIR")]
        exclude_seen: Option<PathBuf>,
    },
    /// The committed evaluation set: real logos of the test split x 8 parameter sets, small sizes.
    Eval {
        #[command(flatten)]
        common: Common,
        /// Number of images.
        #[arg(long, default_value_t = 320)]
        images: usize,
        /// Run seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Score the core's heuristic on datasets, and optionally fit its coefficients on a train split.
    Heuristic {
        /// Dataset whose `train` rows fit the coefficients (with --fit) and whose `val` rows are
        /// reported.
        #[arg(long)]
        data: PathBuf,
        /// Further datasets to report on (e.g. models/data/eval); never used for fitting.
        #[arg(long = "eval")]
        evals: Vec<PathBuf>,
        /// Fit the coefficients on the train split.
        #[arg(long)]
        fit: bool,
        /// Write the (fitted or default) coefficients and figures here as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// The core's image features (`vectune_core::features::VECTOR_NAMES`) of every image of a
    /// dataset, as CSV (`image_id` + one column per feature), for fitting the suggester's
    /// correlation model.
    Features {
        /// The dataset directory.
        #[arg(long)]
        data: PathBuf,
        /// Output CSV (default: DATA/features.csv).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Summary statistics of a built dataset.
    Stats {
        /// The dataset directory.
        #[arg(long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_split(s: &str) -> Result<Split, String> {
    Split::from_name(s).ok_or_else(|| format!("unknown split `{s}` (train, val or test)"))
}

fn parse_source(s: &str) -> Result<sources::RealSource, String> {
    sources::RealSource::from_name(s).ok_or_else(|| {
        let known: Vec<&str> = sources::RealSource::known().map(|s| s.name()).collect();
        format!("unknown source `{s}` (one of {})", known.join(", "))
    })
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds `cfg` from the real logos of `chosen`, less those whose stem is in `seen`.
fn build(
    common: &Common,
    cfg: BuildConfig,
    chosen: &[sources::RealSource],
    seen: &std::collections::BTreeSet<String>,
) -> anyhow::Result<()> {
    if let Some(t) = common.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .context("thread pool")?;
    }
    if !common.quiet {
        eprintln!(
            "fetching real logos into {} (npm pack, once)",
            common.cache.display()
        );
    }
    let mut real = sources::load_sources(chosen, &common.cache)?;
    let before = real.len();
    real.retain(|logo| !seen.contains(&dataset::real_logo_stem(logo)));
    if !common.quiet {
        eprintln!(
            "{} real logos available ({} left out by --exclude-seen); building into {}",
            real.len(),
            before - real.len(),
            common.out.display()
        );
    }
    let report = dataset::build(&cfg, &real, &common.out, !common.quiet)?;
    copy_licenses(&common.cache, &common.out, chosen)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Puts the licence of every real source beside the data.
fn copy_licenses(
    cache: &std::path::Path,
    out: &std::path::Path,
    chosen: &[sources::RealSource],
) -> anyhow::Result<()> {
    let dir = out.join("licenses");
    std::fs::create_dir_all(&dir)?;
    let mut index = String::from(
        "# Licences of the real logos in this dataset\n\nAll logos are trademarks of their owners; they are used as data for training and tests.\n\n",
    );
    for &source in chosen {
        let pkg = source.package();
        let pkg_dir = sources::fetch(pkg, cache)?;
        index.push_str(&format!(
            "- `{}` ({}@{}): {}",
            source.name(),
            pkg.name,
            pkg.version,
            pkg.license
        ));
        if let Some(file) = pkg.license_file {
            let target = format!("{}-{}", source.name(), file);
            std::fs::copy(pkg_dir.join(file), dir.join(&target))
                .with_context(|| format!("copying the licence of {}", pkg.name))?;
            index.push_str(&format!(", see `{target}`"));
        } else {
            index.push_str(&format!(
                " (the package declares {} in its metadata and ships no licence file)",
                pkg.license
            ));
        }
        index.push('\n');
    }
    std::fs::write(dir.join("README.md"), index)?;
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build {
            common,
            images,
            params_per_image,
            real_fraction,
            seed,
            min_side,
            max_side,
            split,
            sources,
            exclude_seen,
        } => {
            anyhow::ensure!(
                params_per_image >= 1,
                "--params-per-image must be at least 1"
            );
            anyhow::ensure!(
                min_side >= 16 && min_side <= max_side,
                "need 16 <= --min-side <= --max-side"
            );
            anyhow::ensure!(
                (0.0..=1.0).contains(&real_fraction),
                "--real-fraction must be in [0, 1]"
            );
            let cfg = BuildConfig {
                plan: PlanConfig {
                    images,
                    real_fraction,
                    seed,
                    min_side,
                    max_side,
                    split,
                },
                params_per_image,
                sources: if sources.is_empty() || sources == sources::RealSource::ALL {
                    Vec::new()
                } else {
                    sources.iter().map(|s| s.name().to_string()).collect()
                },
                exclude_seen: exclude_seen.as_ref().map(|d| d.display().to_string()),
            };
            let chosen = if sources.is_empty() {
                sources::RealSource::ALL.to_vec()
            } else {
                sources
            };
            anyhow::ensure!(
                (1..chosen.len()).all(|i| !chosen[..i].contains(&chosen[i])),
                "--sources names a source twice"
            );
            let seen = match &exclude_seen {
                Some(dir) => {
                    let labels = dir.join("labels.csv");
                    let rows = dataset::read_labels(&labels).with_context(|| {
                        format!("--exclude-seen: reading `{}`", labels.display())
                    })?;
                    dataset::real_logo_stems(&rows)
                }
                None => Default::default(),
            };
            build(&common, cfg, &chosen, &seen)
        }
        Command::Eval {
            common,
            images,
            seed,
        } => {
            let cfg = BuildConfig {
                plan: PlanConfig {
                    images,
                    real_fraction: 1.0,
                    seed,
                    min_side: 64,
                    max_side: 320,
                    split: Some(Split::Test),
                },
                params_per_image: 8,
                sources: Vec::new(),
                exclude_seen: None,
            };
            build(&common, cfg, &sources::RealSource::ALL, &Default::default())
        }
        Command::Heuristic {
            data,
            evals,
            fit,
            report,
        } => heuristic(&data, &evals, fit, report.as_deref()),
        Command::Features { data, out } => {
            let rows = dataset::read_labels(&data.join("labels.csv"))?;
            let features = vectune_truth::calibrate::image_features(&rows, &data.join("images"))?;
            let out = out.unwrap_or_else(|| data.join("features.csv"));
            let mut w = csv::Writer::from_path(&out)
                .with_context(|| format!("cannot write `{}`", out.display()))?;
            let names = vectune_core::features::VECTOR_NAMES;
            w.write_record(std::iter::once("image_id").chain(names))?;
            for (id, f) in &features {
                // f32 in Rust's shortest round-trip form: Python reads back the same f32.
                let v = f.vector();
                w.write_record(std::iter::once(id.clone()).chain(v.iter().map(|x| x.to_string())))?;
            }
            w.flush()?;
            eprintln!("{} images -> {}", features.len(), out.display());
            Ok(())
        }
        Command::Stats { out, json } => {
            let rows = dataset::read_labels(&out.join("labels.csv"))?;
            let s = dataset::stats(&rows);
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "{} labels over {} images; within-image share of SSIM variance {:.3}; median VTracer time {:.1} ms",
                    s.labels, s.images, s.within_image_variance_share, s.median_vectorize_ms
                );
                println!("images by source: {:?}", s.images_by_source);
                println!("labels by split: {:?}", s.labels_by_split);
                println!("\n| group | labels | p10 | p50 | p90 |\n|---|---|---|---|---|");
                for (k, q) in s.ssim_by_source.iter().chain(&s.ssim_by_class) {
                    println!(
                        "| {k} | {} | {:.4} | {:.4} | {:.4} |",
                        q.n, q.p10, q.p50, q.p90
                    );
                }
            }
            Ok(())
        }
    }
}

fn heuristic(
    data: &std::path::Path,
    evals: &[PathBuf],
    fit: bool,
    report: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use vectune_core::heuristic::Coefficients;
    use vectune_truth::calibrate;

    let rows = dataset::read_labels(&data.join("labels.csv"))?;
    let split = |name: &str| {
        rows.iter()
            .filter(|r| r.split == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (train, val) = (split("train"), split("val"));
    eprintln!("computing features of {} images", {
        let mut ids: Vec<_> = rows.iter().map(|r| &r.image_id).collect();
        ids.dedup();
        ids.len()
    });
    let features = calibrate::image_features(&rows, &data.join("images"))?;
    let default = Coefficients::default();
    let fitted = if fit {
        eprintln!("fitting on {} train labels", train.len());
        calibrate::fit(&train, &features, default)
    } else {
        default
    };
    let mut figures = serde_json::Map::new();
    let mut table = vec![];
    let mut score =
        |name: String,
         rows: &[vectune_truth::dataset::LabelRow],
         features: &std::collections::BTreeMap<String, vectune_core::features::Features>| {
            let d = calibrate::evaluate(rows, features, &default);
            let f = calibrate::evaluate(rows, features, &fitted);
            table.push(format!(
                "| {name} | {} | {:.4} / {:.4} | {:.3} / {:.3} | {:.3} / {:.3} |",
                d.n,
                d.mae,
                f.mae,
                d.r2,
                f.r2,
                d.median_within_image_spearman,
                f.median_within_image_spearman
            ));
            figures.insert(name, serde_json::json!({ "default": d, "fitted": f }));
        };
    score(format!("{} train", data.display()), &train, &features);
    score(format!("{} val", data.display()), &val, &features);
    for e in evals {
        let erows = dataset::read_labels(&e.join("labels.csv"))?;
        let efeat = calibrate::image_features(&erows, &e.join("images"))?;
        score(format!("{}", e.display()), &erows, &efeat);
    }
    println!(
        "| rows | labels | MAE default / fitted | R² default / fitted | within-image Spearman default / fitted |"
    );
    println!("|---|---|---|---|---|");
    for line in &table {
        println!("{line}");
    }
    println!("\ncoefficients: {}", serde_json::to_string(&fitted)?);
    if let Some(path) = report {
        let doc = serde_json::json!({ "coefficients": fitted, "fitted": fit, "figures": figures });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
