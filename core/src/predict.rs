//! Quality predictions, the same for every binding (native, browser): [`predict_params`] runs the
//! quality model of a [`ModelSet`] for one image and many parameter sets (the split form encodes
//! the image once and runs only the head per set; the combined model sees the image once per row,
//! in bounded chunks), checks its outputs (one finite value per set, clamped to `[0, 1]`), and
//! falls back to the heuristic, with the reason, when no model is available or a model fails.
//! Every [`Prediction`] says which [`Source`] produced it. [`predict_cached`] keeps each image's
//! encoding in an [`EncodingStore`] for the next call. Classifier logits become a class and
//! probabilities. A [`Prepared`] image is preprocessed at most once for every model that reads it.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::OnceCell;

use serde::Serialize;

use crate::batch::params_tensor;
use crate::encoding::{Encoding, EncodingStore, ImageKey};
use crate::error::Error;
use crate::features::{self, Features, IMAGE_STATS};
use crate::graph::Batch;
use crate::heuristic;
use crate::image::ImageRef;
use crate::models::{ModelSet, QualityPath};
use crate::params::Params;
use crate::preprocess;

/// Which component produced a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A trained model.
    Model,
    /// The core's heuristic ([`crate::heuristic`]).
    Heuristic,
}

impl Source {
    /// The name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Model => "model",
            Source::Heuristic => "heuristic",
        }
    }
}

/// A quality prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// Predicted SSIM in `[0, 1]`.
    pub ssim: f32,
    /// What produced it.
    pub source: Source,
    /// The complete parameter set it is for.
    pub params: Params,
    /// Why the heuristic answered although models were configured, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// Predicts with the heuristic from computed features.
pub fn heuristic_from(f: &Features, params: Params, fallback: Option<String>) -> Prediction {
    Prediction {
        ssim: heuristic::estimate(f, &params),
        source: Source::Heuristic,
        params,
        fallback,
    }
}

/// One image made ready once for every model that reads it: its features
/// ([`features::compute`]) and its preprocessed tensor ([`preprocess::preprocess`]), each computed
/// on first use. A suggestion feeds the same tensor to the classifier and to the quality model; a
/// classification never computes the features.
pub struct Prepared<'a> {
    image: ImageRef<'a>,
    features: OnceCell<Features>,
    tensor: OnceCell<Result<Vec<f32>, Error>>,
}

impl<'a> Prepared<'a> {
    /// Wraps the image; nothing is computed until a model or a caller asks.
    pub fn new(image: ImageRef<'a>) -> Prepared<'a> {
        Prepared {
            image,
            features: OnceCell::new(),
            tensor: OnceCell::new(),
        }
    }

    /// The image.
    pub fn image(&self) -> &ImageRef<'a> {
        &self.image
    }

    /// Its features (`features::compute`), computed on the first call.
    pub fn features(&self) -> &Features {
        self.features.get_or_init(|| features::compute(&self.image))
    }

    /// Its features, keeping nothing else.
    pub fn into_features(self) -> Features {
        let image = self.image;
        self.features
            .into_inner()
            .unwrap_or_else(|| features::compute(&image))
    }

    /// The preprocessed tensor `[1, 3, 224, 224]`, computed on the first call; `Err` says why the
    /// image could not be preprocessed (every call gives the same answer).
    pub fn tensor(&self) -> Result<&[f32], Error> {
        self.tensor
            .get_or_init(|| {
                preprocess::preprocess(self.image.data(), self.image.width(), self.image.height())
                    .map_err(Error::from)
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    /// Whether the tensor has been computed (for tests of "at most once").
    #[cfg(test)]
    pub(crate) fn is_preprocessed(&self) -> bool {
        self.tensor.get().is_some()
    }
}

/// Predicts the SSIM of `image` for each of `params` with the quality model of `models` (none
/// usable: the heuristic answers). Never fails: a model error falls back to the heuristic, with
/// the reason.
pub fn predict_params(
    models: &ModelSet,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    predict_prepared(models, &Prepared::new(*image), params)
}

/// [`predict_params`] on a [`Prepared`] image, for callers that also run other models on it (the
/// suggester) or need its features.
pub fn predict_prepared(
    models: &ModelSet,
    image: &Prepared<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    if params.is_empty() {
        return Vec::new();
    }
    // The statistics feed the model's `stats` input and, should no model answer, the heuristic.
    let f = image.features();
    let Some(path) = models.quality_path() else {
        return heuristic_all(f, params, None);
    };
    if path == QualityPath::Split {
        return match encode(models, image) {
            Ok(embedding) => predict_from_embedding(models, f, &embedding, params),
            Err(e) => heuristic_all(f, params, Some(e.to_string())),
        };
    }
    let result = image
        .tensor()
        .and_then(|tensor| {
            let stats = features::image_stats(f);
            quality_for_params(models, path, tensor, &stats, params)
        })
        .and_then(|v| ssim_values(v, params.len()));
    model_predictions(f, params, result)
}

/// [`predict_params`] that keeps each image's encoding in `store`: predicting again for the same
/// pixels runs only the head, not the features, preprocessing and encoder. Only the split form
/// has an encoding to keep; otherwise this is [`predict_params`].
pub fn predict_cached(
    models: &ModelSet,
    store: &dyn EncodingStore,
    image: &ImageRef<'_>,
    params: &[Params],
) -> Vec<Prediction> {
    if params.is_empty() || models.quality_path() != Some(QualityPath::Split) {
        return predict_params(models, image, params);
    }
    let key = ImageKey::of(image);
    let encoding = match store.get(&key) {
        Some(e) => e,
        None => {
            let prepared = Prepared::new(*image);
            match encode(models, &prepared) {
                Ok(embedding) => {
                    let e = Arc::new(Encoding {
                        features: prepared.into_features(),
                        embedding,
                    });
                    store.put(key, e.clone());
                    e
                }
                Err(e) => return heuristic_all(prepared.features(), params, Some(e.to_string())),
            }
        }
    };
    predict_from_embedding(models, &encoding.features, &encoding.embedding, params)
}

/// The heuristic for every parameter set, with the reason the model did not answer (if any).
fn heuristic_all(f: &Features, params: &[Params], reason: Option<String>) -> Vec<Prediction> {
    params
        .iter()
        .map(|p| heuristic_from(f, *p, reason.clone()))
        .collect()
}

/// Checked model values as predictions, or the heuristic with the reason.
fn model_predictions(
    f: &Features,
    params: &[Params],
    values: Result<Vec<f32>, Error>,
) -> Vec<Prediction> {
    match values {
        Ok(values) => values
            .into_iter()
            .zip(params)
            .map(|(ssim, p)| Prediction {
                ssim,
                source: Source::Model,
                params: *p,
                fallback: None,
            })
            .collect(),
        Err(e) => heuristic_all(f, params, Some(e.to_string())),
    }
}

/// The split form's first half: encodes the prepared image with its statistics into one
/// embedding row. Callers that predict many times for one image keep the embedding and call
/// [`predict_from_embedding`] (or let [`predict_cached`] do it).
pub fn encode(models: &ModelSet, image: &Prepared<'_>) -> Result<Vec<f32>, Error> {
    models.encode(image.tensor()?, &features::image_stats(image.features()))
}

/// A classification: the most probable class and every class's probability.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// The most probable class.
    pub class: &'static str,
    /// Probability per class, in the classifier's output order.
    pub probabilities: Vec<(&'static str, f32)>,
}

/// `{"class": ..., "probabilities": {"simple_geometric": p, ...}}`, classes in output order.
impl Serialize for Classification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Probabilities<'a>(&'a [(&'static str, f32)]);
        impl Serialize for Probabilities<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("class", self.class)?;
        map.serialize_entry("probabilities", &Probabilities(&self.probabilities))?;
        map.end()
    }
}

/// The classifier on a prepared image; `Err` says why no classifier answered.
pub fn classify(models: &ModelSet, image: &Prepared<'_>) -> Result<Classification, Error> {
    let logits = models.classify(image.tensor()?)?;
    let classes = models.classes();
    let (best, p) = class_probabilities(&logits, classes.len())?;
    Ok(Classification {
        class: classes[best],
        probabilities: classes.iter().copied().zip(p).collect(),
    })
}

/// The split form's second half: the head for each of `params` on one image's embedding (from
/// [`encode`]); the heuristic (from `f`) with the reason should the head fail.
pub fn predict_from_embedding(
    models: &ModelSet,
    f: &Features,
    embedding: &[f32],
    params: &[Params],
) -> Vec<Prediction> {
    if params.is_empty() {
        return Vec::new();
    }
    let values = models
        .predict_head_one(embedding, &params_tensor(params))
        .and_then(|v| ssim_values(v, params.len()));
    model_predictions(f, params, values)
}

/// Rows per run of the combined model (each row carries a whole image tensor).
pub const COMBINED_CHUNK: usize = 32;

/// Raw model outputs for one preprocessed image (`tensor`, `stats`) and each of `params`.
pub fn quality_for_params(
    models: &ModelSet,
    path: QualityPath,
    tensor: &[f32],
    stats: &[f32; IMAGE_STATS],
    params: &[Params],
) -> Result<Vec<f32>, Error> {
    match path {
        QualityPath::Split => {
            // One image: its embedding once, for every parameter set (the head checks the width).
            let embedding = models.encode(tensor, stats)?;
            models.predict_head_one(&embedding, &params_tensor(params))
        }
        QualityPath::Combined => {
            let mut out = Vec::with_capacity(params.len());
            for chunk in params.chunks(COMBINED_CHUNK) {
                let images = tensor.repeat(chunk.len());
                let stats = stats.repeat(chunk.len());
                let p = params_tensor(chunk);
                out.extend(models.predict_quality(Batch::new(&images, &stats, &p)?)?);
            }
            Ok(out)
        }
    }
}

/// Checks `n` model outputs (one finite value each) and clamps them to `[0, 1]`.
pub fn ssim_values(values: Vec<f32>, n: usize) -> Result<Vec<f32>, Error> {
    if values.len() != n {
        return Err(Error::runtime(format!(
            "model returned {} values for {n} parameter sets",
            values.len()
        )));
    }
    values
        .into_iter()
        .map(|v| {
            if v.is_finite() {
                Ok(v.clamp(0.0, 1.0))
            } else {
                Err(Error::runtime(format!("model returned {v}")))
            }
        })
        .collect()
}

/// Classifier logits for `classes` classes -> (index of the most probable class, probabilities).
pub fn class_probabilities(logits: &[f32], classes: usize) -> Result<(usize, Vec<f32>), Error> {
    if logits.len() != classes || classes == 0 || logits.iter().any(|l| !l.is_finite()) {
        return Err(Error::runtime(format!(
            "the classifier returned {} values for {classes} classes: {logits:?}",
            logits.len()
        )));
    }
    let p = softmax(logits);
    let best = p
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    Ok((best, p))
}

/// Softmax of one row of logits (numerically stable); empty in, empty out.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| libm::expf(l - max)).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::LOGO_CLASSES;
    use alloc::vec;

    #[test]
    fn outputs_are_checked_and_clamped() {
        assert_eq!(
            ssim_values(vec![-0.1, 0.5, 1.2], 3),
            Ok(vec![0.0, 0.5, 1.0])
        );
        assert!(
            ssim_values(vec![0.5], 2)
                .unwrap_err()
                .to_string()
                .contains("1 values for 2")
        );
        assert!(ssim_values(vec![f32::NAN], 1).is_err());
    }

    #[test]
    fn logits_become_a_class_and_probabilities() {
        let (best, p) = class_probabilities(&[0.0, 3.0, 1.0, 0.0], 4).unwrap();
        assert_eq!(LOGO_CLASSES[best], "text_based");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(class_probabilities(&[1.0], 4).is_err());
        assert!(class_probabilities(&[0.0, f32::INFINITY, 0.0, 0.0], 4).is_err());
    }

    #[test]
    fn softmax_is_a_distribution() {
        let p = softmax(&[1.0, 2.0, 3.0, 1000.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[3] > 0.99);
        assert!(softmax(&[]).is_empty());
    }
}
