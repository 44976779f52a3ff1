//! The dataset builder: N images x K parameter sets, each labelled with [`crate::measure`], in
//! parallel, resumable, reproducible from a seed.
//!
//! **Images.** Synthetic logos ([`crate::synth`]) and real logos ([`crate::sources`]), rendered with
//! resvg at a long side drawn log-uniformly from `[min_side, max_side]`, on white or transparent.
//!
//! **Parameter sets.** VTracer's defaults, the four per-class starting points of the system this
//! project re-founds (prior art; `length_threshold` 3 clamped to VTracer's minimum 3.5), then a
//! Latin hypercube over the normalised parameter space ([`vectune_core::params::Params::decode`]),
//! drawn per image from a seed derived from the run seed and the image id.
//!
//! **Splits** are by brand for real logos (a stable hash of the brand key: 70% train, 10% val,
//! 20% test) and by image for synthetic ones (90% train, 10% val); the test split is real logos only,
//! and no image or brand is in two splits. The hash does not depend on the run seed, so every
//! build agrees on the splits.
//!
//! **Output** (`--out DIR`): `images/<id>.png`, `labels.csv` (one row per label: image id, source,
//! class, brand, split, size, transparency, the eight parameters, `ssim`, `svg_bytes`,
//! `path_count`, `vectorize_ms`), `done.txt` (finished images), `errors.jsonl` (skipped items
//! with the error), `build.json` (the settings). A killed build resumes where it stopped: rows are
//! written per finished image, and rows of unfinished images are dropped on restart.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vectune_core::image::ImageRef;
use vectune_core::params::{PARAM_COUNT, Params};

use crate::error::MeasureError;
use crate::render::{Background, Renderer};
use crate::sources::RealLogo;
use crate::synth::{self, LogoClass};
use crate::{TruthError, measure};

/// A data split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// For fitting.
    Train,
    /// For choosing epochs and hyper-parameters.
    Val,
    /// Real logos only, for the final figures.
    Test,
}

impl Split {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Split> {
        [Split::Train, Split::Val, Split::Test]
            .into_iter()
            .find(|x| x.name() == s)
    }
}

fn stable_percent(salt: &str, key: &str) -> u64 {
    let digest = Sha256::digest(format!("{salt}:{key}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(b) % 100
}

/// The split of a real logo's brand.
pub fn split_for_brand(brand: &str) -> Split {
    match stable_percent("vectune-split-v1", brand) {
        0..70 => Split::Train,
        70..80 => Split::Val,
        _ => Split::Test,
    }
}

/// The split of a synthetic image.
pub fn split_for_synthetic(id: &str) -> Split {
    if stable_percent("vectune-split-v1", id) < 90 {
        Split::Train
    } else {
        Split::Val
    }
}

/// What an image is made from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageKind {
    /// A synthetic logo and its seed.
    Synthetic {
        /// Generator seed.
        seed: u64,
    },
    /// A real logo (index into the loaded list).
    Real(usize),
}

/// One planned image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSpec {
    /// Unique id (file stem).
    pub id: String,
    /// `synthetic`, `iconify_logos`, `simple_icons` or `devicon`.
    pub source: &'static str,
    /// Class (known for synthetic, inferred for real).
    pub class: LogoClass,
    /// Whether `class` was inferred.
    pub class_inferred: bool,
    /// Brand key (real) or the id (synthetic).
    pub brand: String,
    /// Split.
    pub split: Split,
    /// Long side to render at.
    pub long_side: u32,
    /// Render on a transparent background.
    pub transparent: bool,
    /// Where it comes from.
    pub kind: ImageKind,
}

/// What to plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanConfig {
    /// Number of images.
    pub images: usize,
    /// Share of real logos in `[0, 1]`.
    pub real_fraction: f64,
    /// Run seed.
    pub seed: u64,
    /// Smallest long side.
    pub min_side: u32,
    /// Largest long side.
    pub max_side: u32,
    /// Only images of this split (the test split has no synthetic images).
    pub split: Option<Split>,
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: u32, hi: u32) -> u32 {
    let (a, b) = ((lo.max(1) as f64).ln(), (hi.max(lo).max(1) as f64).ln());
    rng.random_range(a..=b).exp().round() as u32
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The image id of a real logo without its size suffix: `<source>-<name>` (ids are
/// `<source>-<name>-<long side>`).
pub fn real_logo_stem(logo: &RealLogo) -> String {
    format!("{}-{}", logo.source.name(), sanitize(&logo.name))
}

/// The real logos a dataset already holds (at any size), as `real_logo_stem`s, from its label rows.
pub fn real_logo_stems(rows: &[LabelRow]) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| r.source != SYNTHETIC_SOURCE)
        .filter_map(|r| {
            r.image_id
                .rsplit_once('-')
                .map(|(stem, _)| stem.to_string())
        })
        .collect()
}

/// Chooses the images: a seeded sample of the real logos (of the requested split) and synthetic
/// logos in equal numbers per class. Deterministic for a given `cfg` and logo list.
pub fn plan(cfg: &PlanConfig, real: &[RealLogo]) -> Vec<ImageSpec> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let want_real = (cfg.images as f64 * cfg.real_fraction.clamp(0.0, 1.0)).round() as usize;
    let mut candidates: Vec<usize> = (0..real.len())
        .filter(|&i| {
            cfg.split
                .is_none_or(|s| split_for_brand(&real[i].brand) == s)
        })
        .collect();
    candidates.shuffle(&mut rng);
    let mut out = Vec::with_capacity(cfg.images);
    for &i in candidates.iter().take(want_real) {
        let logo = &real[i];
        let long_side = log_uniform(&mut rng, cfg.min_side, cfg.max_side);
        out.push(ImageSpec {
            id: format!("{}-{long_side}", real_logo_stem(logo)),
            source: logo.source.name(),
            class: logo.inferred_class(),
            class_inferred: true,
            brand: logo.brand.clone(),
            split: split_for_brand(&logo.brand),
            long_side,
            transparent: rng.random_bool(0.5),
            kind: ImageKind::Real(i),
        });
    }
    if cfg.split == Some(Split::Test) {
        return out;
    }
    let want_synth = cfg.images.saturating_sub(out.len());
    let mut k = 0u64;
    let mut made = 0usize;
    while made < want_synth {
        let class = LogoClass::ALL[made % LogoClass::ALL.len()];
        let seed = cfg.seed.wrapping_mul(1_000_003).wrapping_add(k);
        k += 1;
        let id = format!("synthetic-{}-{seed}", class.name());
        let split = split_for_synthetic(&id);
        if cfg.split.is_some_and(|s| s != split) {
            continue;
        }
        let logo = synth::generate(class, seed);
        let long_side = logo
            .width
            .max(logo.height)
            .clamp(cfg.min_side, cfg.max_side);
        out.push(ImageSpec {
            brand: id.clone(),
            id,
            source: SYNTHETIC_SOURCE,
            class,
            class_inferred: false,
            split,
            long_side,
            transparent: logo.transparent,
            kind: ImageKind::Synthetic { seed },
        });
        made += 1;
    }
    out
}

/// The per-class starting parameters of the prior system (cp/ct/lt/mi/st/pp/ld/fs), clamped into
/// VTracer's valid ranges.
pub const PRIOR_STARTS: [(LogoClass, [f64; PARAM_COUNT]); 4] = [
    (
        LogoClass::SimpleGeometric,
        [3.0, 30.0, 4.0, 10.0, 45.0, 3.0, 16.0, 4.0],
    ),
    (
        LogoClass::TextBased,
        [2.0, 20.0, 3.0, 15.0, 30.0, 5.0, 8.0, 2.0],
    ),
    (
        LogoClass::Gradient,
        [8.0, 40.0, 5.0, 20.0, 60.0, 4.0, 4.0, 6.0],
    ),
    (
        LogoClass::Complex,
        [6.0, 35.0, 4.0, 15.0, 50.0, 4.0, 12.0, 4.0],
    ),
];

/// `k` parameter sets: VTracer's defaults, the four prior starting points, then a Latin hypercube.
pub fn param_sets(k: usize, rng: &mut ChaCha8Rng) -> Vec<Params> {
    let mut sets = vec![Params::default()];
    for (_, values) in PRIOR_STARTS {
        let pairs = vectune_core::params::SCHEMA
            .iter()
            .map(|s| s.name)
            .zip(values);
        // Clamping only moves length_threshold 3 -> 3.5; the values are otherwise valid.
        if let Ok(p) = Params::clamped(pairs) {
            sets.push(p);
        }
    }
    sets.truncate(k);
    let m = k - sets.len();
    if m > 0 {
        let mut columns: Vec<Vec<usize>> = (0..PARAM_COUNT)
            .map(|_| {
                let mut perm: Vec<usize> = (0..m).collect();
                perm.shuffle(rng);
                perm
            })
            .collect();
        for i in 0..m {
            let x: Vec<f32> = columns
                .iter_mut()
                .map(|perm| ((perm[i] as f64 + rng.random::<f64>()) / m as f64) as f32)
                .collect();
            if let Ok(p) = Params::decode(&x) {
                sets.push(p);
            }
        }
    }
    sets
}

fn image_rng(seed: u64, id: &str) -> ChaCha8Rng {
    let digest = Sha256::digest(format!("{seed}:{id}").as_bytes());
    let mut b = [0u8; 32];
    b.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(b)
}

/// The `source` of the generated images (`synth`); every other source is a real logo package.
pub const SYNTHETIC_SOURCE: &str = "synthetic";

/// One row of `labels.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelRow {
    /// Image id (`images/<id>.png`).
    pub image_id: String,
    /// Source.
    pub source: String,
    /// Class.
    pub class: String,
    /// Whether the class was inferred (real logos).
    pub class_inferred: bool,
    /// Brand key.
    pub brand: String,
    /// Split.
    pub split: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Rendered on transparent.
    pub transparent: bool,
    /// Parameter.
    pub color_precision: u32,
    /// Parameter.
    pub corner_threshold: u32,
    /// Parameter.
    pub length_threshold: f64,
    /// Parameter.
    pub max_iterations: u32,
    /// Parameter.
    pub splice_threshold: u32,
    /// Parameter.
    pub path_precision: u32,
    /// Parameter.
    pub layer_difference: u32,
    /// Parameter.
    pub filter_speckle: u32,
    /// The label.
    pub ssim: f64,
    /// SVG size.
    pub svg_bytes: usize,
    /// `<path>` count.
    pub path_count: usize,
    /// VTracer time.
    pub vectorize_ms: f64,
}

impl LabelRow {
    /// A synthetic row for tests: `id`, parameters `p`, label `ssim`, everything else fixed.
    #[cfg(test)]
    pub(crate) fn for_test(id: &str, p: &Params, ssim: f64) -> LabelRow {
        LabelRow {
            image_id: id.into(),
            source: SYNTHETIC_SOURCE.into(),
            class: "complex".into(),
            class_inferred: false,
            brand: id.into(),
            split: "train".into(),
            width: 100,
            height: 100,
            transparent: false,
            color_precision: p.color_precision(),
            corner_threshold: p.corner_threshold(),
            length_threshold: p.length_threshold(),
            max_iterations: p.max_iterations(),
            splice_threshold: p.splice_threshold(),
            path_precision: p.path_precision(),
            layer_difference: p.layer_difference(),
            filter_speckle: p.filter_speckle(),
            ssim,
            svg_bytes: 1,
            path_count: 1,
            vectorize_ms: 1.0,
        }
    }

    /// The parameters of this row.
    pub fn params(&self) -> Result<Params, vectune_core::params::ParamError> {
        Params::from_pairs([
            ("color_precision", f64::from(self.color_precision)),
            ("corner_threshold", f64::from(self.corner_threshold)),
            ("length_threshold", self.length_threshold),
            ("max_iterations", f64::from(self.max_iterations)),
            ("splice_threshold", f64::from(self.splice_threshold)),
            ("path_precision", f64::from(self.path_precision)),
            ("layer_difference", f64::from(self.layer_difference)),
            ("filter_speckle", f64::from(self.filter_speckle)),
        ])
    }
}

/// Everything the builder needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuildConfig {
    /// Image selection.
    pub plan: PlanConfig,
    /// Parameter sets per image.
    pub params_per_image: usize,
    /// The real-logo sources by name when not the training three (`RealSource::ALL`); empty means
    /// those (and is not written, so the settings of older builds still match on resume).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// A dataset whose real logos were left out (`vectune-dataset build --exclude-seen`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_seen: Option<String>,
}

/// What a build did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BuildReport {
    /// Images planned.
    pub images_planned: usize,
    /// Images already finished by an earlier run.
    pub images_resumed: usize,
    /// Images finished now.
    pub images_built: usize,
    /// Images skipped with an error now.
    pub images_failed: usize,
    /// Labels written now.
    pub labels_written: usize,
    /// Labels that failed now (recorded in errors.jsonl).
    pub labels_failed: usize,
    /// Wall time of this run, seconds.
    pub seconds: f64,
    /// `labels_written / seconds`.
    pub labels_per_second: f64,
}

struct ImageResult {
    id: String,
    rows: Vec<LabelRow>,
    errors: Vec<serde_json::Value>,
    failed: bool,
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> TruthError {
    TruthError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Renders one planned image (RGBA8).
pub fn render_image(
    spec: &ImageSpec,
    real: &[RealLogo],
    renderer: &Renderer,
) -> Result<crate::render::Rgba, TruthError> {
    let svg = match &spec.kind {
        ImageKind::Synthetic { seed } => synth::generate(spec.class, *seed).svg,
        ImageKind::Real(i) => {
            real.get(*i)
                .map(|l| l.svg.clone())
                .ok_or_else(|| MeasureError::Render {
                    item: spec.id.clone(),
                    reason: "unknown real logo".into(),
                })?
        }
    };
    let background = if spec.transparent {
        Background::Transparent
    } else {
        Background::White
    };
    Ok(renderer.render_fit(&svg, spec.long_side, background, &spec.id)?)
}

fn write_png_atomic(path: &Path, img: &crate::render::Rgba) -> Result<(), TruthError> {
    let tmp = path.with_extension("png.tmp");
    image::save_buffer_with_format(
        &tmp,
        &img.pixels,
        img.width,
        img.height,
        image::ExtendedColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .map_err(|e| file_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_err(path, e))
}

fn process(
    spec: &ImageSpec,
    real: &[RealLogo],
    cfg: &BuildConfig,
    renderer: &Renderer,
    images_dir: &Path,
) -> ImageResult {
    let mut result = ImageResult {
        id: spec.id.clone(),
        rows: Vec::new(),
        errors: Vec::new(),
        failed: false,
    };
    let fail = |result: &mut ImageResult, e: TruthError| {
        result
            .errors
            .push(serde_json::json!({"image": spec.id, "error": e.to_string()}));
        result.failed = true;
    };
    let img = match render_image(spec, real, renderer) {
        Ok(img) => img,
        Err(e) => {
            fail(&mut result, e);
            return result;
        }
    };
    let png = images_dir.join(format!("{}.png", spec.id));
    if !png.exists()
        && let Err(e) = write_png_atomic(&png, &img)
    {
        fail(&mut result, e);
        return result;
    }
    let view = match ImageRef::new(&img.pixels, img.width, img.height) {
        Ok(v) => v,
        Err(source) => {
            fail(
                &mut result,
                MeasureError::Image {
                    item: spec.id.clone(),
                    source,
                }
                .into(),
            );
            return result;
        }
    };
    let mut rng = image_rng(cfg.plan.seed, &spec.id);
    for params in param_sets(cfg.params_per_image, &mut rng) {
        match measure::measure(&view, &params, renderer, &spec.id) {
            Ok(m) => result.rows.push(LabelRow {
                image_id: spec.id.clone(),
                source: spec.source.to_string(),
                class: spec.class.name().to_string(),
                class_inferred: spec.class_inferred,
                brand: spec.brand.clone(),
                split: spec.split.name().to_string(),
                width: img.width,
                height: img.height,
                transparent: spec.transparent,
                color_precision: params.color_precision(),
                corner_threshold: params.corner_threshold(),
                length_threshold: params.length_threshold(),
                max_iterations: params.max_iterations(),
                splice_threshold: params.splice_threshold(),
                path_precision: params.path_precision(),
                layer_difference: params.layer_difference(),
                filter_speckle: params.filter_speckle(),
                ssim: m.ssim,
                svg_bytes: m.svg_bytes,
                path_count: m.path_count,
                vectorize_ms: m.vectorize_ms,
            }),
            Err(e) => result.errors.push(serde_json::json!({
                "image": spec.id, "params": params, "error": e.to_string()
            })),
        }
    }
    result
}

/// Reads `done.txt`, drops rows of unfinished images from `labels.csv` (a kill between the two
/// writes), and cuts a partial last line.
fn resume_state(out: &Path) -> Result<BTreeSet<String>, TruthError> {
    let done_path = out.join("done.txt");
    let done: BTreeSet<String> = match File::open(&done_path) {
        Ok(f) => BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.is_empty())
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    let labels = out.join("labels.csv");
    if labels.exists() {
        let text = std::fs::read_to_string(&labels).map_err(|e| file_err(&labels, e))?;
        let mut kept = String::with_capacity(text.len());
        let mut dropped = false;
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        dropped |= complete.len() != text.len();
        for (i, line) in complete.lines().enumerate() {
            let id = line.split(',').next().unwrap_or("");
            if i == 0 || done.contains(id) {
                kept.push_str(line);
                kept.push('\n');
            } else {
                dropped = true;
            }
        }
        if dropped {
            std::fs::write(&labels, kept).map_err(|e| file_err(&labels, e))?;
        }
    }
    Ok(done)
}

/// Builds (or resumes) a dataset in `out`, with `real` the loaded real logos.
pub fn build(
    cfg: &BuildConfig,
    real: &[RealLogo],
    out: &Path,
    progress: bool,
) -> Result<BuildReport, TruthError> {
    let images_dir = out.join("images");
    std::fs::create_dir_all(&images_dir).map_err(|e| file_err(&images_dir, e))?;
    let cfg_path = out.join("build.json");
    let cfg_json = serde_json::to_string_pretty(cfg).map_err(|e| file_err(&cfg_path, e))?;
    match std::fs::read_to_string(&cfg_path) {
        Ok(existing) => {
            let old: BuildConfig =
                serde_json::from_str(&existing).map_err(|e| file_err(&cfg_path, e))?;
            if &old != cfg {
                return Err(file_err(
                    &cfg_path,
                    format!(
                        "this directory was built with other settings ({}); use another --out",
                        existing.split_whitespace().collect::<Vec<_>>().join(" ")
                    ),
                ));
            }
        }
        Err(_) => std::fs::write(&cfg_path, &cfg_json).map_err(|e| file_err(&cfg_path, e))?,
    }
    let done = resume_state(out)?;
    let specs = plan(&cfg.plan, real);
    let todo: Vec<&ImageSpec> = specs.iter().filter(|s| !done.contains(&s.id)).collect();
    let mut report = BuildReport {
        images_planned: specs.len(),
        images_resumed: specs.len() - todo.len(),
        ..BuildReport::default()
    };

    let labels_path = out.join("labels.csv");
    let header = !labels_path.exists();
    let open = |p: &Path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| file_err(p, e))
    };
    let mut labels = csv::WriterBuilder::new()
        .has_headers(header)
        .from_writer(open(&labels_path)?);
    let done_path = out.join("done.txt");
    let mut done_file = open(&done_path)?;
    let errors_path = out.join("errors.jsonl");
    let mut errors_file = open(&errors_path)?;

    let bar = if progress {
        indicatif::ProgressBar::new(todo.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {pos}/{len} images  {msg}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let renderer = Renderer::new();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel::<ImageResult>();
    let write_result = std::thread::scope(|scope| {
        scope.spawn(move || {
            todo.par_iter().for_each_with(tx, |tx, spec| {
                // A send fails only if the writer stopped on an error; nothing more to do then.
                let _ = tx.send(process(spec, real, cfg, &renderer, &images_dir));
            });
        });
        for r in rx {
            for row in &r.rows {
                labels
                    .serialize(row)
                    .map_err(|e| file_err(&labels_path, e))?;
            }
            labels.flush().map_err(|e| file_err(&labels_path, e))?;
            for e in &r.errors {
                writeln!(errors_file, "{e}").map_err(|e| file_err(&errors_path, e))?;
            }
            writeln!(done_file, "{}", r.id).map_err(|e| file_err(&done_path, e))?;
            done_file.flush().map_err(|e| file_err(&done_path, e))?;
            report.labels_written += r.rows.len();
            report.labels_failed += r.errors.len() - usize::from(r.failed);
            if r.failed {
                report.images_failed += 1;
            } else {
                report.images_built += 1;
            }
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{} labels, {:.0}/s, {} skipped",
                report.labels_written,
                report.labels_written as f64 / secs,
                report.images_failed
            ));
            bar.inc(1);
        }
        Ok::<(), TruthError>(())
    });
    bar.finish();
    write_result?;
    report.seconds = start.elapsed().as_secs_f64();
    report.labels_per_second = report.labels_written as f64 / report.seconds.max(1e-9);
    Ok(report)
}

/// Reads `labels.csv`.
pub fn read_labels(path: &Path) -> Result<Vec<LabelRow>, TruthError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| file_err(path, e))?;
    reader
        .deserialize()
        .map(|r| r.map_err(|e| file_err(path, e)))
        .collect()
}

/// p10 / p50 / p90 of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quantiles {
    /// Count.
    pub n: usize,
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// Quantiles by linear interpolation between order statistics.
pub fn quantiles(values: &mut [f64]) -> Quantiles {
    values.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if values.is_empty() {
            return f64::NAN;
        }
        let x = p * (values.len() - 1) as f64;
        let (i, f) = (x.floor() as usize, x.fract());
        let next = values[(i + 1).min(values.len() - 1)];
        values[i] + f * (next - values[i])
    };
    Quantiles {
        n: values.len(),
        p10: q(0.1),
        p50: q(0.5),
        p90: q(0.9),
    }
}

/// Summary statistics of a label table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Labels.
    pub labels: usize,
    /// Distinct images.
    pub images: usize,
    /// Images per source.
    pub images_by_source: BTreeMap<String, usize>,
    /// Labels per split.
    pub labels_by_split: BTreeMap<String, usize>,
    /// SSIM quantiles per source.
    pub ssim_by_source: BTreeMap<String, Quantiles>,
    /// SSIM quantiles per class.
    pub ssim_by_class: BTreeMap<String, Quantiles>,
    /// Share of SSIM variance that is within images (across parameter sets):
    /// `Σ (y - mean_image)² / Σ (y - mean_all)²`.
    pub within_image_variance_share: f64,
    /// Median VTracer time per label, ms.
    pub median_vectorize_ms: f64,
}

/// Computes [`Stats`].
pub fn stats(rows: &[LabelRow]) -> Stats {
    let mut by_image: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut images_by_source: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut labels_by_split = BTreeMap::new();
    let mut by_source: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut by_class: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        by_image.entry(&r.image_id).or_default().push(r.ssim);
        images_by_source
            .entry(r.source.clone())
            .or_default()
            .insert(&r.image_id);
        *labels_by_split.entry(r.split.clone()).or_insert(0) += 1;
        by_source.entry(r.source.clone()).or_default().push(r.ssim);
        by_class.entry(r.class.clone()).or_default().push(r.ssim);
    }
    let mean_all = rows.iter().map(|r| r.ssim).sum::<f64>() / rows.len().max(1) as f64;
    let total: f64 = rows.iter().map(|r| (r.ssim - mean_all).powi(2)).sum();
    let within: f64 = by_image
        .values()
        .map(|v| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|y| (y - m).powi(2)).sum::<f64>()
        })
        .sum();
    let mut ms: Vec<f64> = rows.iter().map(|r| r.vectorize_ms).collect();
    Stats {
        labels: rows.len(),
        images: by_image.len(),
        images_by_source: images_by_source
            .into_iter()
            .map(|(k, v)| (k, v.len()))
            .collect(),
        labels_by_split,
        ssim_by_source: by_source
            .into_iter()
            .map(|(k, mut v)| (k, quantiles(&mut v)))
            .collect(),
        ssim_by_class: by_class
            .into_iter()
            .map(|(k, mut v)| (k, quantiles(&mut v)))
            .collect(),
        within_image_variance_share: if total > 0.0 { within / total } else { 0.0 },
        median_vectorize_ms: quantiles(&mut ms).p50,
    }
}

/// The default dataset locations, relative to the repository root.
pub fn default_cache() -> PathBuf {
    PathBuf::from("target/vectune-data/npm-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_real_ids_are_their_stem_and_size_and_stems_are_read_back() {
        let logo = RealLogo {
            source: crate::sources::RealSource::Devicon,
            name: "react-original wordmark".into(),
            brand: "react".into(),
            svg: "<svg/>".into(),
            wordmark: true,
        };
        let cfg = PlanConfig {
            images: 1,
            real_fraction: 1.0,
            seed: 3,
            min_side: 64,
            max_side: 64,
            split: None,
        };
        let spec = &plan(&cfg, std::slice::from_ref(&logo))[0];
        assert_eq!(real_logo_stem(&logo), "devicon-react-original_wordmark");
        assert_eq!(spec.id, "devicon-react-original_wordmark-64");
        let row = |id: &str, source: &str| LabelRow {
            source: source.into(),
            ..LabelRow::for_test(id, &Params::default(), 0.9)
        };
        let stems = real_logo_stems(&[
            row(&spec.id, "devicon"),
            row("devicon-react-original_wordmark-300", "devicon"),
            row("synthetic-complex-7", SYNTHETIC_SOURCE),
        ]);
        assert_eq!(
            stems.into_iter().collect::<Vec<_>>(),
            [real_logo_stem(&logo)]
        );
    }

    #[test]
    fn splits_are_stable_and_proportioned() {
        assert_eq!(split_for_brand("react"), split_for_brand("react"));
        let mut counts = BTreeMap::new();
        for i in 0..10_000 {
            *counts
                .entry(split_for_brand(&format!("brand{i}")))
                .or_insert(0) += 1;
        }
        assert!((6600..7400).contains(&counts[&Split::Train]), "{counts:?}");
        assert!((1700..2300).contains(&counts[&Split::Test]), "{counts:?}");
        assert!((0..200).all(|i| split_for_synthetic(&format!("s{i}")) != Split::Test));
    }

    #[test]
    fn parameter_sets_start_with_known_points_then_fill_the_space() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let sets = param_sets(25, &mut rng);
        assert_eq!(sets.len(), 25);
        assert_eq!(sets[0], Params::default());
        assert_eq!(
            sets[2].length_threshold(),
            3.5,
            "prior text start clamped into range"
        );
        assert_eq!(sets[2].color_precision(), 2);
        // Latin hypercube: each decile of each normalised dimension holds 2 of the 20 points.
        for d in 0..PARAM_COUNT {
            let mut deciles = [0; 10];
            for p in &sets[5..] {
                let x = p.encode()[d];
                deciles[((x * 10.0) as usize).min(9)] += 1;
            }
            // Integer rounding can move a point across a decile edge; the spread stays wide.
            assert!(
                deciles.iter().filter(|&&c| c > 0).count() >= 5,
                "dim {d}: {deciles:?}"
            );
        }
        let mut again = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(param_sets(25, &mut again), sets);
        assert_eq!(param_sets(3, &mut again).len(), 3);
    }

    #[test]
    fn quantiles_and_stats() {
        let q = quantiles(&mut [5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((q.p50, q.n), (3.0, 5));
        assert!((q.p10 - 1.4).abs() < 1e-12);
        let row = |id: &str, ssim: f64| LabelRow::for_test(id, &Params::default(), ssim);
        // Two images whose labels differ only between images: no within-image variance.
        let s = stats(&[row("a", 0.5), row("a", 0.5), row("b", 0.9), row("b", 0.9)]);
        assert_eq!((s.labels, s.images), (4, 2));
        assert!(s.within_image_variance_share.abs() < 1e-12);
        let s = stats(&[row("a", 0.5), row("a", 0.9), row("b", 0.5), row("b", 0.9)]);
        assert!((s.within_image_variance_share - 1.0).abs() < 1e-12);
        assert_eq!(row("a", 0.1).params().unwrap(), Params::default());
    }
}
