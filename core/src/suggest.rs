//! The parameter suggester's logic, shared by the server and the browser.
//!
//! 1. **Start**: the correlation model (`models/correlation_models.json`, fitted by
//!    `models/train/fit_correlation.py` from the training set: for every image, the cheapest
//!    parameter set that scored within 0.01 of its best) maps the image's [`feature_vector`] to
//!    starting parameters, one linear map per logo class (in the parameters' encoded `[0, 1]` space).
//! 2. **Search**: [`candidates`] varies the parameters that decide the SVG's size (colour precision,
//!    layer difference, speckle filter, path precision) around the start, and VTracer's defaults
//!    join them ([`candidates_with_defaults`]); the quality model scores them all with one image
//!    encoding (`predict_params`), and the correlation file's size model predicts each candidate's
//!    SVG bytes.
//! 3. **Choose** ([`choose`]): the smallest predicted SVG among candidates predicted to reach the
//!    target SSIM plus an optional safety margin (default [`DEFAULT_MARGIN`], none); if none does,
//!    the highest predicted SSIM.
//!
//! ```
//! use vectune_core::{params::Params, suggest};
//! let start = Params::default();
//! let cands = suggest::candidates(&start);
//! assert_eq!(cands[0], start);
//! let ssim: Vec<f32> = cands.iter().map(|p| 0.5 + 0.05 * p.color_precision() as f32).collect();
//! let bytes: Vec<f32> = cands.iter().map(|p| p.color_precision() as f32).collect();
//! let pick = suggest::choose(&ssim, &bytes, 0.85, 0.0).unwrap();
//! assert_eq!(cands[pick.index].color_precision(), 7); // the fewest colours that reach 0.85
//! assert!(pick.met_target);
//! let safer = suggest::choose(&ssim, &bytes, 0.85, 0.04).unwrap();
//! assert_eq!(cands[safer.index].color_precision(), 8); // predicted 0.90 >= 0.85 + the margin
//! ```

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::features::Features;
use crate::image::ImageRef;
use crate::models::ModelSet;
use crate::params::{PARAM_COUNT, ParamId, Params};
use crate::predict::{self, Prepared, Source};

/// The correlation file's schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The default target SSIM of `suggest` (the CLI's `--target`).
pub const DEFAULT_TARGET: f32 = 0.95;

/// The default safety margin of `suggest` (the CLI's `--margin`): a candidate must be *predicted*
/// to reach `target + margin`. None by default: on 80 real val logos of the training set
/// (`eval_suggester --data DIR --split val --real --spread --images 80 --no-grid --margin M`;
/// `models/README.md`, "Suggester"), a margin of 0.02 made a few more of them reach 0.95 (43
/// instead of 38) for about twice the median SVG size (19.7 vs 8.9 kB), because more images then
/// fall back to the most faithful candidate. A caller who needs the target more than a small SVG
/// can ask for it.
pub const DEFAULT_MARGIN: f32 = 0.0;

/// Names of [`feature_vector`]'s entries, in order; a correlation file must list exactly these.
pub use crate::features::VECTOR_NAMES as FEATURE_NAMES;

/// Length of [`feature_vector`].
pub use crate::features::VECTOR_LEN as FEATURE_COUNT;

/// The image statistics the correlation model reads ([`Features::vector`] in `f64`).
pub fn feature_vector(f: &Features) -> [f64; FEATURE_COUNT] {
    f.vector().map(f64::from)
}

/// Why a correlation file cannot be used.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SuggestError {
    /// Not valid JSON of this schema.
    Json(String),
    /// A schema version this build does not read.
    SchemaVersion(u32),
    /// The feature list differs from [`FEATURE_NAMES`].
    Features(Vec<String>),
    /// A linear map whose vectors have the wrong lengths (named).
    Shape(String),
    /// A non-finite coefficient (named).
    NotFinite(String),
    /// A target SSIM outside `[0, 1]`.
    Target(f32),
    /// A safety margin outside `[0, 1]`.
    Margin(f32),
}

impl fmt::Display for SuggestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuggestError::Json(e) => write!(f, "correlation file is not valid: {e}"),
            SuggestError::SchemaVersion(v) => write!(
                f,
                "correlation file has schema_version {v}; this build reads {SCHEMA_VERSION}"
            ),
            SuggestError::Features(got) => write!(
                f,
                "correlation file's features {got:?} differ from this build's {FEATURE_NAMES:?}"
            ),
            SuggestError::Shape(what) => write!(f, "correlation file: {what} has the wrong length"),
            SuggestError::NotFinite(what) => {
                write!(f, "correlation file: {what} holds a non-finite number")
            }
            SuggestError::Target(t) => write!(f, "target SSIM {t} is not in [0, 1]"),
            SuggestError::Margin(m) => write!(f, "safety margin {m} is not in [0, 1]"),
        }
    }
}

impl core::error::Error for SuggestError {}

/// `y = intercept + coef · ((x - mean) / scale)` for several outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearMap {
    /// Input means.
    pub mean: Vec<f64>,
    /// Input scales (standard deviations; 0 is treated as 1).
    pub scale: Vec<f64>,
    /// One intercept per output.
    pub intercept: Vec<f64>,
    /// One row of input coefficients per output.
    pub coef: Vec<Vec<f64>>,
}

impl LinearMap {
    fn check(&self, name: &str, inputs: usize, outputs: usize) -> Result<(), SuggestError> {
        let shape_ok = self.mean.len() == inputs
            && self.scale.len() == inputs
            && self.intercept.len() == outputs
            && self.coef.len() == outputs
            && self.coef.iter().all(|r| r.len() == inputs);
        if !shape_ok {
            return Err(SuggestError::Shape(name.to_string()));
        }
        let all = self
            .mean
            .iter()
            .chain(&self.scale)
            .chain(&self.intercept)
            .chain(self.coef.iter().flatten());
        if all.clone().any(|v| !v.is_finite()) {
            return Err(SuggestError::NotFinite(name.to_string()));
        }
        Ok(())
    }

    /// Applies the map (lengths checked at load).
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let z: Vec<f64> = x
            .iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(v, (m, s))| (v - m) / if *s > 0.0 { *s } else { 1.0 })
            .collect();
        self.intercept
            .iter()
            .zip(&self.coef)
            .map(|(b, row)| b + row.iter().zip(&z).map(|(c, v)| c * v).sum::<f64>())
            .collect()
    }
}

/// `correlation_models.json`: starting parameters per class, and the SVG size model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationModels {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// [`FEATURE_NAMES`].
    pub features: Vec<String>,
    /// The parameter encoding of the starting parameters ([`crate::params::ENCODING_VERSION`]).
    pub param_encoding_version: u32,
    /// Per class: features -> encoded starting parameters (8 outputs).
    pub classes: BTreeMap<String, LinearMap>,
    /// All classes pooled, for an unknown class.
    pub pooled: LinearMap,
    /// [`size_inputs`] -> log2 of the SVG's bytes (1 output).
    pub size: LinearMap,
    /// What it was fitted on, in words and numbers (free form).
    #[serde(default)]
    pub fitted_on: BTreeMap<String, serde_json::Value>,
}

impl CorrelationModels {
    /// Parses and validates a correlation file.
    pub fn from_json(text: &str) -> Result<CorrelationModels, SuggestError> {
        let m: CorrelationModels =
            serde_json::from_str(text).map_err(|e| SuggestError::Json(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks versions, feature names and every map's shape.
    pub fn validate(&self) -> Result<(), SuggestError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(SuggestError::SchemaVersion(self.schema_version));
        }
        if self.features.iter().map(String::as_str).ne(FEATURE_NAMES) {
            return Err(SuggestError::Features(self.features.clone()));
        }
        if self.param_encoding_version != crate::params::ENCODING_VERSION {
            return Err(SuggestError::Shape(alloc::format!(
                "param_encoding_version {}",
                self.param_encoding_version
            )));
        }
        for (name, map) in &self.classes {
            map.check(name, FEATURE_COUNT, PARAM_COUNT)?;
        }
        self.pooled.check("pooled", FEATURE_COUNT, PARAM_COUNT)?;
        self.size.check("size", SIZE_INPUTS, 1)
    }

    /// Starting parameters for an image of `class` (the pooled map for an unknown class).
    pub fn start(&self, features: &[f64; FEATURE_COUNT], class: Option<&str>) -> Params {
        let map = class
            .and_then(|c| self.classes.get(c))
            .unwrap_or(&self.pooled);
        let encoded: Vec<f32> = map
            .apply(features)
            .iter()
            .map(|v| v.clamp(0.0, 1.0) as f32)
            .collect();
        Params::decode(&encoded).unwrap_or_default()
    }

    /// Predicted SVG size in bytes for `params` on an image with `features`.
    pub fn svg_bytes(&self, params: &Params, features: &[f64; FEATURE_COUNT]) -> f32 {
        let log2 = self
            .size
            .apply(&size_inputs(params, features))
            .first()
            .copied()
            .unwrap_or(0.0);
        libm::exp2(log2.clamp(0.0, 40.0)) as f32
    }
}

/// Length of [`size_inputs`].
pub const SIZE_INPUTS: usize = 2 * PARAM_COUNT + FEATURE_COUNT + PARAM_COUNT * FEATURE_COUNT;

/// The size model's inputs: the encoded parameters `e` (8), the features `f` (9), `e²` (8), and
/// every product `e[i] * f[j]` (row-major: `i` over parameters, `j` over features), 97 in all.
/// Squares and products let a linear fit bend (on the training set's val split they raised R² of
/// log2 bytes from 0.51 to 0.64; `models/train/fit_correlation.py`).
pub fn size_inputs(params: &Params, features: &[f64; FEATURE_COUNT]) -> Vec<f64> {
    let e: Vec<f64> = params.encode().iter().map(|&v| f64::from(v)).collect();
    let mut x = Vec::with_capacity(SIZE_INPUTS);
    x.extend_from_slice(&e);
    x.extend_from_slice(features);
    x.extend(e.iter().map(|v| v * v));
    for ei in &e {
        x.extend(features.iter().map(|fj| ei * fj));
    }
    x
}

/// Values tried per size-deciding parameter (besides the start's own value).
const LAYER_DIFFERENCES: [f64; 5] = [8.0, 16.0, 32.0, 64.0, 128.0];
const FILTER_SPECKLES: [f64; 5] = [0.0, 2.0, 4.0, 8.0, 16.0];
const PATH_PRECISIONS: [f64; 3] = [1.0, 2.0, 3.0];

/// Candidate parameter sets around `start`: every colour precision (1-8) × layer differences ×
/// speckle filters × path precisions, the start's own values included, the other parameters
/// as in `start`. `start` itself comes first; no set appears twice.
pub fn candidates(start: &Params) -> Vec<Params> {
    fn with_start(values: &[f64], start: f64) -> Vec<f64> {
        let mut v: Vec<f64> = core::iter::once(start)
            .chain(values.iter().copied())
            .collect();
        let first = v[0];
        v.sort_by(f64::total_cmp);
        v.dedup();
        // keep the start's value first
        v.retain(|x| *x != first);
        v.insert(0, first);
        v
    }
    let lds = with_start(&LAYER_DIFFERENCES, start.get(ParamId::LayerDifference));
    let fss = with_start(&FILTER_SPECKLES, start.get(ParamId::FilterSpeckle));
    let pps = with_start(&PATH_PRECISIONS, start.get(ParamId::PathPrecision));
    let cps = with_start(
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        start.get(ParamId::ColorPrecision),
    );
    let mut out = Vec::with_capacity(cps.len() * lds.len() * fss.len() * pps.len());
    for &cp in &cps {
        for &ld in &lds {
            for &fs in &fss {
                for &pp in &pps {
                    let p = start
                        .with(ParamId::ColorPrecision, cp)
                        .and_then(|p| p.with(ParamId::LayerDifference, ld))
                        .and_then(|p| p.with(ParamId::FilterSpeckle, fs))
                        .and_then(|p| p.with(ParamId::PathPrecision, pp));
                    if let Ok(p) = p {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// [`candidates`] around `start`, then VTracer's defaults when they are not among them: what
/// [`suggest`] scores. Measured with `eval_suggester` on 80 real logos of the training set's val
/// split (`models/README.md`, "Suggester"): the same 41 / 80 reach SSIM 0.95, and the median SVG is 5 % smaller
/// (9,071 vs 9,590 bytes): on 3 of the 4 logos where the defaults were chosen they were smaller
/// (up to 10x) and at least as faithful as the candidate chosen without them.
pub fn candidates_with_defaults(start: &Params) -> Vec<Params> {
    let mut c = candidates(start);
    let defaults = Params::default();
    if !c.contains(&defaults) {
        c.push(defaults);
    }
    c
}

/// The chosen candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    /// Index into the candidates.
    pub index: usize,
    /// Whether its predicted SSIM reaches the target (the margin aside).
    pub met_target: bool,
}

/// Picks the candidate with the smallest predicted SVG among those predicted to reach
/// `target + margin`, or the highest predicted SSIM if none does (ties: the earlier candidate).
/// `None` for no candidates or mismatched lengths.
pub fn choose(ssim: &[f32], svg_bytes: &[f32], target: f32, margin: f32) -> Option<Choice> {
    if ssim.is_empty() || ssim.len() != svg_bytes.len() {
        return None;
    }
    let reaching = ssim
        .iter()
        .zip(svg_bytes)
        .enumerate()
        .filter(|(_, (s, _))| **s >= target + margin)
        .min_by(|a, b| a.1.1.total_cmp(b.1.1).then(a.0.cmp(&b.0)));
    let index = match reaching {
        Some((index, _)) => index,
        None => {
            ssim.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))?
                .0
        }
    };
    Some(Choice {
        index,
        met_target: ssim[index] >= target,
    })
}

/// The safety margins whose choices make up a suggestion's [`shortlist`], beside the caller's own:
/// safer ones (1.0 stands for "the most faithful candidate"), then riskier ones (the smallest SVGs
/// predicted to come within 0.02 and 0.05 of the target). The quality model errs by about 0.04 on
/// real logos (`models/README.md`), both ways, so a prediction near the target is worth checking
/// with VTracer (`vectune suggest --verify`) on both sides.
pub const SHORTLIST_MARGINS: [f32; 6] = [0.02, 0.05, 0.1, 1.0, -0.02, -0.05];

/// The candidates worth checking with a real VTracer run: [`choose`]'s pick at `margin` first, then
/// its picks at each of [`SHORTLIST_MARGINS`], without repeats, then `always` (VTracer's defaults
/// in [`suggest`]) when it is not among them: at most 8. Empty for no candidates or mismatched
/// lengths.
pub fn shortlist(
    ssim: &[f32],
    svg_bytes: &[f32],
    target: f32,
    margin: f32,
    always: Option<usize>,
) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for m in core::iter::once(margin).chain(SHORTLIST_MARGINS) {
        if let Some(c) = choose(ssim, svg_bytes, target, m)
            && !out.contains(&c.index)
        {
            out.push(c.index);
        }
    }
    if let Some(a) = always
        && a < ssim.len()
        && !out.is_empty()
        && !out.contains(&a)
    {
        out.push(a);
    }
    out
}

/// A candidate of a suggestion's [`Suggestion::shortlist`]: parameters and their predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The parameters.
    pub params: Params,
    /// Their predicted SSIM.
    pub predicted_ssim: f32,
    /// Their predicted SVG size, if a size model is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_svg_bytes: Option<f32>,
}

/// A shortlisted candidate measured with VTracer (`vectune suggest --verify`, the browser tracer's
/// `verify`): its prediction beside what VTracer's SVG actually reaches.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeasuredCandidate {
    /// The parameters.
    pub params: Params,
    /// What the quality model predicted.
    pub predicted_ssim: f32,
    /// The SSIM VTracer's SVG actually reaches (as `vectune measure`).
    pub ssim: f64,
    /// The SVG's size in bytes.
    pub svg_bytes: usize,
    /// Wall time of VTracer alone, milliseconds.
    pub vectorize_ms: f64,
}

/// A suggestion checked with VTracer: every shortlisted candidate measured, the choice remade on the
/// measurements ([`verified`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verified {
    /// The chosen parameters: the smallest measured SVG that reaches the target, else the highest
    /// measured SSIM.
    pub params: Params,
    /// Their measured SSIM.
    pub ssim: f64,
    /// Their SVG's size in bytes.
    pub svg_bytes: usize,
    /// Whether the measured SSIM reaches the target.
    pub met_target: bool,
    /// Whether the choice is the suggestion's own pick (else the measurements overruled it).
    pub kept_suggestion: bool,
    /// Every shortlisted candidate, measured, in the shortlist's order.
    pub measured: Vec<MeasuredCandidate>,
    /// Wall time of all the measurements, milliseconds.
    pub ms: f64,
}

/// The choice remade on measurements: [`choose`] with no margin (the numbers are no longer
/// predictions) over the measured shortlist of a suggestion whose pick was `picked`. The shortlist
/// holds the pick, safer and more faithful choices and VTracer's defaults, so the choice reaches
/// the target whenever one of them does, and is never less faithful than the defaults when none
/// does. `None` for an empty `measured`.
pub fn verified(
    picked: &Params,
    target: f32,
    measured: Vec<MeasuredCandidate>,
    ms: f64,
) -> Option<Verified> {
    let ssim: Vec<f32> = measured.iter().map(|m| m.ssim as f32).collect();
    let bytes: Vec<f32> = measured.iter().map(|m| m.svg_bytes as f32).collect();
    let choice = choose(&ssim, &bytes, target, 0.0)?;
    let best = &measured[choice.index];
    Some(Verified {
        params: best.params,
        ssim: best.ssim,
        svg_bytes: best.svg_bytes,
        met_target: choice.met_target,
        kept_suggestion: best.params == *picked,
        measured,
        ms,
    })
}

/// Checks a suggestion with real VTracer runs: `measure` measures the candidates it is given (on a
/// thread pool natively, in a worker in the browser) and returns them in the same order; the
/// choice is remade on the measurements ([`verified`]), and `now_ms` (milliseconds, any origin)
/// times it. The candidates are the `shortlist` (the suggestion's own pick first), or, for an
/// empty shortlist, the pick alone (`params` with its `predicted_ssim`).
pub fn verify(
    params: &Params,
    predicted_ssim: f32,
    target: f32,
    shortlist: &[Candidate],
    measure: impl FnOnce(&[Candidate]) -> Result<Vec<MeasuredCandidate>, Error>,
    now_ms: &dyn Fn() -> f64,
) -> Result<Verified, Error> {
    if !(0.0..=1.0).contains(&target) {
        return Err(SuggestError::Target(target).into());
    }
    let alone = [Candidate {
        params: *params,
        predicted_ssim,
        predicted_svg_bytes: None,
    }];
    let sets = if shortlist.is_empty() {
        &alone[..]
    } else {
        shortlist
    };
    let started = now_ms();
    let measured = measure(sets)?;
    if measured.len() != sets.len() {
        return Err(Error::runtime(alloc::format!(
            "{} candidates were measured of {}",
            measured.len(),
            sets.len()
        )));
    }
    let ms = now_ms() - started;
    verified(params, target, measured, ms)
        .ok_or_else(|| Error::runtime("no candidate was measured"))
}

/// A suggestion: parameters, what they are predicted to give, and how they were found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    /// The suggested parameters.
    pub params: Params,
    /// Their predicted SSIM.
    pub predicted_ssim: f32,
    /// Their predicted SVG size (from the correlation file's size model), if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_svg_bytes: Option<f32>,
    /// The target SSIM.
    pub target: f32,
    /// The safety margin the choice required above the target.
    pub margin: f32,
    /// Whether the prediction reaches it (else: the highest predicted SSIM found).
    pub met_target: bool,
    /// Where the search started.
    pub start: Params,
    /// What gave the start: `correlation` (the fitted models) or `defaults` (VTracer's).
    pub start_from: &'static str,
    /// The logo class used for the start, if the classifier answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<&'static str>,
    /// Parameter sets scored.
    pub candidates: usize,
    /// What scored them.
    pub source: Source,
    /// The candidates worth measuring with VTracer ([`shortlist`]): the suggestion itself first,
    /// then the choices at larger safety margins, the most faithful, and VTracer's defaults.
    pub shortlist: Vec<Candidate>,
}

/// A size proxy for when no correlation file (and so no size model) is loaded: fewer colours
/// first, then larger layer differences and speckle filters, then fewer decimals.
pub fn size_proxy(p: &Params) -> f32 {
    let log2 = |id: ParamId| libm::log2f(1.0 + p.get(id) as f32);
    p.color_precision() as f32 * 64.0
        - log2(ParamId::LayerDifference) * 4.0
        - log2(ParamId::FilterSpeckle) * 2.0
        + p.path_precision() as f32
}

/// Suggests parameters for `image` that reach `target` SSIM with the smallest SVG (predicted to
/// reach `target + margin`, see [`DEFAULT_MARGIN`]): starts from `correlation` for the logo's class
/// (the classifier of `models`, when it has one; else VTracer's defaults), scores the
/// [`candidates_with_defaults`] of the start with the quality model of `models` (the heuristic
/// when no model answers, see [`predict::predict_prepared`]) and [`choose`]s among them by the
/// correlation file's size model (else [`size_proxy`]). The image is preprocessed and its features
/// computed once, for the classifier and the quality model both.
pub fn suggest(
    models: &ModelSet,
    correlation: Option<&CorrelationModels>,
    image: &ImageRef<'_>,
    target: f32,
    margin: f32,
) -> Result<Suggestion, SuggestError> {
    if !(0.0..=1.0).contains(&target) {
        return Err(SuggestError::Target(target));
    }
    if !(0.0..=1.0).contains(&margin) {
        return Err(SuggestError::Margin(margin));
    }
    let prepared = Prepared::new(*image);
    let class = predict::classify(models, &prepared).ok().map(|c| c.class);
    let fv = feature_vector(prepared.features());
    let (start, start_from) = match correlation {
        Some(c) => (c.start(&fv, class), "correlation"),
        None => (Params::default(), "defaults"),
    };
    let candidates = candidates_with_defaults(&start);
    let predictions = predict::predict_prepared(models, &prepared, &candidates);
    let ssim: Vec<f32> = predictions.iter().map(|p| p.ssim).collect();
    let bytes: Vec<f32> = match correlation {
        Some(c) => candidates.iter().map(|p| c.svg_bytes(p, &fv)).collect(),
        None => candidates.iter().map(size_proxy).collect(),
    };
    // `candidates` is never empty and every prediction is one value per set.
    let choice = choose(&ssim, &bytes, target, margin).unwrap_or(Choice {
        index: 0,
        met_target: false,
    });
    let source = predictions.first().map_or(Source::Heuristic, |p| p.source);
    let defaults = candidates.iter().position(|p| *p == Params::default());
    let shortlist = shortlist(&ssim, &bytes, target, margin, defaults)
        .into_iter()
        .map(|i| Candidate {
            params: candidates[i],
            predicted_ssim: ssim[i],
            predicted_svg_bytes: correlation.map(|_| bytes[i]),
        })
        .collect();
    Ok(Suggestion {
        params: candidates[choice.index],
        predicted_ssim: ssim.get(choice.index).copied().unwrap_or(0.0),
        predicted_svg_bytes: correlation.map(|_| bytes[choice.index]),
        target,
        margin,
        met_target: choice.met_target,
        start,
        start_from,
        class,
        candidates: candidates.len(),
        source,
        shortlist,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Feed, Graph, feed};
    use crate::manifest::{Format, ModelEntry};
    use crate::models::Preloaded;
    use alloc::sync::Arc;
    use alloc::vec;
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// What the fake graphs saw: the address of the image tensor each was given, and calls.
    #[derive(Default)]
    struct Seen {
        classified: AtomicUsize,
        encoded: AtomicUsize,
        classify_calls: AtomicUsize,
        encode_calls: AtomicUsize,
    }

    /// A graph of the split form with a classifier (`task`), recording into `seen`.
    struct Fake {
        task: &'static str,
        seen: Arc<Seen>,
    }

    impl Graph for Fake {
        fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
            match self.task {
                "encoder" => {
                    let image = feed(feeds, "image")?.2.as_ptr() as usize;
                    self.seen.encoded.store(image, Ordering::SeqCst);
                    self.seen.encode_calls.fetch_add(1, Ordering::SeqCst);
                    Ok(vec![0.0; 4])
                }
                // higher for fewer colours: the choice is not the first candidate by accident
                "head" => Ok(feed(feeds, "params")?
                    .2
                    .chunks(PARAM_COUNT)
                    .map(|p| 0.9 + 0.05 * p[0])
                    .collect()),
                _ => {
                    let image = feed(feeds, "image")?.2.as_ptr() as usize;
                    self.seen.classified.store(image, Ordering::SeqCst);
                    self.seen.classify_calls.fetch_add(1, Ordering::SeqCst);
                    Ok(vec![0.0, 0.0, 3.0, 0.0]) // gradient
                }
            }
        }
        fn input_names(&self) -> &[String] {
            &[]
        }
    }

    fn entry(json: &str) -> ModelEntry {
        serde_json::from_str(json).unwrap()
    }

    /// A split-form model set (with a classifier if `classifier`) over [`Fake`] graphs.
    fn fake_models(classifier: bool) -> (ModelSet, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        let common = r#""file":"x","format":"onnx","sha256":"""#;
        let mut entries = vec![
            entry(&alloc::format!(
                r#"{{"name":"enc","task":"quality_encoder",{common},"inputs":[{{"name":"image","shape":["N",3,224,224]}}],"outputs":[{{"name":"embedding","shape":["N",4]}}]}}"#
            )),
            entry(&alloc::format!(
                r#"{{"name":"head","task":"quality_head",{common},"inputs":[{{"name":"embedding","shape":[1,4]}},{{"name":"params","shape":["N",8]}}],"outputs":[{{"name":"ssim","shape":["N",1]}}]}}"#
            )),
        ];
        let mut source = Preloaded::default();
        for (name, task) in [("enc", "encoder"), ("head", "head")] {
            let g = Fake {
                task,
                seen: seen.clone(),
            };
            source.insert(name, Arc::new(g), 1);
        }
        if classifier {
            entries.push(entry(&alloc::format!(
                r#"{{"name":"cls","task":"classifier",{common},"inputs":[{{"name":"image","shape":["N",3,224,224]}}],"outputs":[{{"name":"logits","shape":["N",4]}}],"labels":["simple_geometric","text_based","gradient","complex"]}}"#
            )));
            let g = Fake {
                task: "classifier",
                seen: seen.clone(),
            };
            source.insert("cls", Arc::new(g), 1);
        }
        let models = ModelSet::new("fake", &Format::Onnx, &entries, Arc::new(source));
        (models, seen)
    }

    #[test]
    fn suggest_preprocesses_once_for_the_classifier_and_the_encoder() {
        let rgba: Vec<u8> = (0..40 * 30 * 4).map(|i| (i * 7 % 256) as u8).collect();
        let image = ImageRef::new(&rgba, 40, 30).unwrap();
        let (models, seen) = fake_models(true);
        let s = suggest(&models, None, &image, 0.95, DEFAULT_MARGIN).unwrap();
        assert_eq!(s.class, Some("gradient"));
        assert_eq!(s.source, Source::Model);
        assert_eq!(seen.classify_calls.load(Ordering::SeqCst), 1);
        assert_eq!(seen.encode_calls.load(Ordering::SeqCst), 1);
        // the same tensor, not an equal copy: one preprocessing
        let (c, e) = (
            seen.classified.load(Ordering::SeqCst),
            seen.encoded.load(Ordering::SeqCst),
        );
        assert!(c != 0 && c == e, "classifier saw {c:#x}, encoder {e:#x}");

        // No classifier: no class, the same suggestion machinery.
        let (models, _) = fake_models(false);
        let s = suggest(&models, None, &image, 0.95, 0.02).unwrap();
        assert_eq!((s.class, s.source), (None, Source::Model));
        assert_eq!((s.target, s.margin), (0.95, 0.02));
        for bad in [-0.01, 1.5, f32::NAN] {
            let err = suggest(&models, None, &image, 0.95, bad);
            assert!(matches!(err, Err(SuggestError::Margin(m)) if m.is_nan() == bad.is_nan()));
        }
        assert_eq!(
            SuggestError::Margin(-0.5).to_string(),
            "safety margin -0.5 is not in [0, 1]"
        );
    }

    #[test]
    fn verify_measures_the_shortlist_or_the_pick_alone() {
        let rgba: Vec<u8> = (0..40 * 30 * 4).map(|i| (i * 7 % 256) as u8).collect();
        let image = ImageRef::new(&rgba, 40, 30).unwrap();
        let (models, _) = fake_models(false);
        let s = suggest(&models, None, &image, 0.95, 0.0).unwrap();
        assert!(s.shortlist.len() > 1);
        // a fake VTracer: measured SSIM is what was predicted minus 0.1, bytes by colour count
        let fake = |sets: &[Candidate]| -> Result<Vec<MeasuredCandidate>, Error> {
            Ok(sets
                .iter()
                .map(|c| MeasuredCandidate {
                    params: c.params,
                    predicted_ssim: c.predicted_ssim,
                    ssim: f64::from(c.predicted_ssim) - 0.1,
                    svg_bytes: c.params.color_precision() as usize * 100,
                    vectorize_ms: 1.0,
                })
                .collect())
        };
        let clock = || 0.0;
        let v = verify(
            &s.params,
            s.predicted_ssim,
            s.target,
            &s.shortlist,
            fake,
            &clock,
        )
        .unwrap();
        assert_eq!(v.measured.len(), s.shortlist.len());
        let order: Vec<Params> = v.measured.iter().map(|m| m.params).collect();
        let want: Vec<Params> = s.shortlist.iter().map(|c| c.params).collect();
        assert_eq!(order, want, "measured in the shortlist's order");
        // an empty shortlist: the pick alone, with its own prediction
        let v = verify(&s.params, s.predicted_ssim, s.target, &[], fake, &clock).unwrap();
        assert_eq!(v.measured.len(), 1);
        assert_eq!(v.measured[0].predicted_ssim, s.predicted_ssim);
        assert!(v.kept_suggestion);
        // a measurer that loses candidates, and a bad target, are errors with their kind
        let short = |_: &[Candidate]| Ok(Vec::new());
        let e = verify(&s.params, 0.9, 0.95, &s.shortlist, short, &clock).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Runtime);
        let e = verify(&s.params, 0.9, 1.5, &[], fake, &clock).unwrap_err();
        assert_eq!(e.field(), Some("target"));
    }

    #[test]
    fn a_prepared_image_is_preprocessed_on_first_use_only() {
        let rgba = vec![200u8; 5 * 7 * 4];
        let prepared = Prepared::new(ImageRef::new(&rgba, 5, 7).unwrap());
        assert!(!prepared.is_preprocessed());
        let first = prepared.tensor().unwrap().as_ptr();
        assert!(prepared.is_preprocessed());
        assert_eq!(prepared.tensor().unwrap().as_ptr(), first);
        let expected = crate::preprocess::preprocess(&rgba, 5, 7).unwrap();
        assert_eq!(prepared.tensor().unwrap(), expected.as_slice());
    }

    fn map(inputs: usize, outputs: usize, b: f64) -> LinearMap {
        LinearMap {
            mean: vec![0.0; inputs],
            scale: vec![1.0; inputs],
            intercept: vec![b; outputs],
            coef: vec![vec![0.0; inputs]; outputs],
        }
    }

    fn models() -> CorrelationModels {
        let mut classes = BTreeMap::new();
        classes.insert("complex".to_string(), map(FEATURE_COUNT, PARAM_COUNT, 1.0));
        CorrelationModels {
            schema_version: SCHEMA_VERSION,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            param_encoding_version: crate::params::ENCODING_VERSION,
            classes,
            pooled: map(FEATURE_COUNT, PARAM_COUNT, 0.0),
            size: map(SIZE_INPUTS, 1, 10.0),
            fitted_on: BTreeMap::new(),
        }
    }

    #[test]
    fn start_uses_the_class_map_and_clamps() {
        let m = models();
        let f = [0.0; FEATURE_COUNT];
        let top = m.start(&f, Some("complex"));
        assert_eq!(top.color_precision(), 8);
        assert_eq!(top.layer_difference(), 255);
        let bottom = m.start(&f, Some("no such class"));
        assert_eq!(bottom.color_precision(), 1);
        assert!((m.svg_bytes(&top, &f) - 1024.0).abs() < 1e-3);
    }

    #[test]
    fn json_round_trip_and_typed_errors() {
        let m = models();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(CorrelationModels::from_json(&text).unwrap(), m);
        let mut bad = m.clone();
        bad.schema_version = 7;
        let e = CorrelationModels::from_json(&serde_json::to_string(&bad).unwrap()).unwrap_err();
        assert_eq!(e, SuggestError::SchemaVersion(7));
        let mut bad = m.clone();
        bad.size.coef[0].pop();
        let e = CorrelationModels::from_json(&serde_json::to_string(&bad).unwrap()).unwrap_err();
        assert_eq!(e, SuggestError::Shape("size".into()));
        let mut bad = m;
        bad.features.swap(0, 1);
        assert!(matches!(
            CorrelationModels::from_json(&serde_json::to_string(&bad).unwrap()),
            Err(SuggestError::Features(_))
        ));
        assert!(matches!(
            CorrelationModels::from_json("{"),
            Err(SuggestError::Json(_))
        ));
    }

    #[test]
    fn vtracer_defaults_are_always_a_candidate() {
        let start = Params::default()
            .with(ParamId::CornerThreshold, 90.0)
            .unwrap();
        let c = candidates_with_defaults(&start);
        assert_eq!(c.len(), candidates(&start).len() + 1);
        assert_eq!(c.last(), Some(&Params::default()));
        // already among the candidates: not twice
        assert_eq!(
            candidates_with_defaults(&Params::default()),
            candidates(&Params::default())
        );
    }

    #[test]
    fn candidates_start_first_unique_and_cover_colour_precision() {
        let start = Params::default();
        let c = candidates(&start);
        assert_eq!(c[0], start);
        for (i, a) in c.iter().enumerate() {
            assert!(c[i + 1..].iter().all(|b| b != a), "duplicate {a}");
        }
        for cp in 1..=8 {
            assert!(c.iter().any(|p| p.color_precision() == cp));
        }
        // 8 colour precisions x 6 layer differences (16 is both start and grid) x 5 speckle
        // filters (4 likewise) x 3 path precisions (2 likewise).
        assert_eq!(c.len(), 8 * 5 * 5 * 3);
    }

    #[test]
    fn choose_prefers_small_svgs_that_reach_the_target() {
        let ssim = [0.90, 0.96, 0.97, 0.99];
        let bytes = [100.0, 500.0, 300.0, 900.0];
        assert_eq!(
            choose(&ssim, &bytes, 0.95, 0.0),
            Some(Choice {
                index: 2,
                met_target: true
            })
        );
        assert_eq!(
            choose(&ssim, &bytes, 0.995, 0.0),
            Some(Choice {
                index: 3,
                met_target: false
            })
        );
        // The margin: 0.97 no longer counts as safely above 0.95 + 0.03.
        assert_eq!(
            choose(&ssim, &bytes, 0.95, 0.03),
            Some(Choice {
                index: 3,
                met_target: true
            })
        );
        // Nothing reaches target + margin: the most faithful, which still meets the target.
        assert_eq!(
            choose(&ssim, &bytes, 0.97, 0.05),
            Some(Choice {
                index: 3,
                met_target: true
            })
        );
        assert_eq!(choose(&[], &[], 0.9, 0.0), None);
        assert_eq!(choose(&[0.5], &[], 0.9, 0.0), None);
    }

    #[test]
    fn the_shortlist_is_the_pick_then_safer_and_riskier_picks_then_the_defaults() {
        // predicted SSIM rises with size; index 5 stands for VTracer's defaults
        let ssim = [0.90, 0.951, 0.975, 0.99, 0.999, 0.96];
        let bytes = [100.0, 200.0, 300.0, 400.0, 500.0, 450.0];
        // margin 0 -> 1 (0.951), 0.02 -> 2 (>= 0.97), 0.05 -> 4 (>= 1.0: none; the most faithful),
        // 0.1 and 1.0 -> 4 again, -0.02 -> 1 again, -0.05 -> 0 (>= 0.90); then the defaults
        assert_eq!(
            shortlist(&ssim, &bytes, 0.95, 0.0, Some(5)),
            vec![1, 2, 4, 0, 5]
        );
        // the first is always what `choose` picks at the caller's margin
        assert_eq!(shortlist(&ssim, &bytes, 0.95, 0.02, None), vec![2, 4, 1, 0]);
        // the defaults already picked are not repeated; an out-of-range index is ignored
        assert_eq!(
            shortlist(&ssim, &bytes, 0.95, 0.0, Some(1)),
            vec![1, 2, 4, 0]
        );
        assert_eq!(
            shortlist(&ssim, &bytes, 0.95, 0.0, Some(9)),
            vec![1, 2, 4, 0]
        );
        assert!(shortlist(&[], &[], 0.95, 0.0, Some(0)).is_empty());
        assert!(shortlist(&ssim, &bytes[..2], 0.95, 0.0, Some(0)).is_empty());
    }

    #[test]
    fn verified_keeps_the_smallest_measured_svg_that_reaches_the_target() {
        let at = |cp: f64, ssim: f64, svg_bytes: usize| MeasuredCandidate {
            params: Params::default().with(ParamId::ColorPrecision, cp).unwrap(),
            predicted_ssim: 0.96,
            ssim,
            svg_bytes,
            vectorize_ms: 1.0,
        };
        let pick = at(3.0, 0.93, 100).params;
        // the pick falls short when measured; a safer, larger set reaches the target
        let v = verified(
            &pick,
            0.95,
            vec![at(3.0, 0.93, 100), at(5.0, 0.97, 900), at(6.0, 0.955, 400)],
            2.0,
        )
        .unwrap();
        assert_eq!((v.params.color_precision(), v.svg_bytes), (6, 400));
        assert!(v.met_target && !v.kept_suggestion);
        assert_eq!((v.measured.len(), v.ms), (3, 2.0));
        // none reaches it: the most faithful measured
        let v = verified(
            &pick,
            0.99,
            vec![at(3.0, 0.93, 100), at(5.0, 0.97, 900)],
            1.0,
        )
        .unwrap();
        assert_eq!(v.params.color_precision(), 5);
        assert!(!v.met_target);
        // the pick kept
        let v = verified(
            &pick,
            0.9,
            vec![at(3.0, 0.93, 100), at(5.0, 0.97, 900)],
            1.0,
        )
        .unwrap();
        assert!(v.kept_suggestion && v.met_target);
        assert_eq!(verified(&pick, 0.9, Vec::new(), 0.0), None);
    }
}
