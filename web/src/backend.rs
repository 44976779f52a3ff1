//! The browser's implementation of `vectune_core::backend::Backend`: the NNEF exports of vectune's
//! ONNX models (`vectune export-nnef`) run by tract, compiled to wasm32 (with `+simd128`). It mirrors the native tract backend
//! (`native/src/backends/{mod,tract}.rs`): the same graph inputs by name, the same shape checks.

use tract_nnef::prelude::*;
use vectune_core::backend::{
    Backend, BackendError, Batch, MemoryUsage, check_stats, image_count, run_head, run_head_one,
    stats_prefix,
};
use vectune_core::params::PARAM_COUNT;
use vectune_core::preprocess::{CHANNELS, IMAGE_STATS, INPUT_SIZE, SIZE_FEATURES};

/// The backend's name, as `status()` reports it.
pub const NAME: &str = "tract-wasm";

fn runtime(e: impl core::fmt::Display) -> BackendError {
    BackendError::Runtime(e.to_string())
}

/// One loaded graph (tract's NNEF form of an ONNX model).
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
    bytes: u64,
}

impl TractModel {
    /// Parses, optimises and plans an NNEF model (a tar; the dynamic batch stays symbolic).
    pub fn load(nnef: &[u8]) -> Result<TractModel, BackendError> {
        let model = tract_nnef::nnef()
            .model_for_read(&mut &nnef[..])
            .map_err(runtime)?;
        let inputs = model
            .input_outlets()
            .map_err(runtime)?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let plan = model
            .into_optimized()
            .map_err(runtime)?
            .into_runnable()
            .map_err(runtime)?;
        Ok(TractModel {
            plan,
            inputs,
            bytes: nnef.len() as u64,
        })
    }

    /// Runs with named inputs `(name, shape, data)`; returns the first output, flattened. Shapes
    /// are checked against the graph's (rank, fixed dimensions, data length) before it runs.
    pub fn run(&self, feeds: &[(&str, Vec<usize>, &[f32])]) -> Result<Vec<f32>, BackendError> {
        let mut values: TVec<TValue> = tvec![];
        for (i, name) in self.inputs.iter().enumerate() {
            let (_, shape, data) = feeds.iter().find(|(n, _, _)| n == name).ok_or_else(|| {
                BackendError::Shape(format!(
                    "the model wants an input `{name}` that was not given"
                ))
            })?;
            let fact = self.plan.model().input_fact(i).map_err(runtime)?;
            let fixed: Vec<Option<usize>> = fact
                .shape
                .iter()
                .map(|d| tract_nnef::internal::DimLike::to_usize(d).ok())
                .collect();
            let fits = fixed.len() == shape.len()
                && fixed
                    .iter()
                    .zip(shape)
                    .all(|(f, s)| f.is_none_or(|f| f == *s))
                && shape.iter().product::<usize>() == data.len();
            if !fits {
                let want: Vec<String> = fact.shape.iter().map(|d| d.to_string()).collect();
                return Err(BackendError::Shape(format!(
                    "input `{name}`: shape {shape:?} with {} values does not fit the graph's [{}]",
                    data.len(),
                    want.join(", ")
                )));
            }
            values.push(Tensor::from_shape(shape, data).map_err(runtime)?.into());
        }
        let outputs = self.plan.run(values).map_err(runtime)?;
        let first = outputs
            .first()
            .ok_or_else(|| runtime("the model returned no output"))?;
        let view = first.to_plain_array_view::<f32>().map_err(runtime)?;
        Ok(view.iter().copied().collect())
    }

    /// The graph's input names, in graph order.
    pub fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// Bytes of the model file.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The image-statistics input the graph has, and how many of the core's statistics it reads
    /// (`stats`: all 11; the older `size`: the first 2), as in
    /// `vectune_core::manifest::ModelEntry::stats_input`.
    pub fn stats_input(&self) -> Option<(&'static str, usize)> {
        if self.inputs.iter().any(|n| n == "stats") {
            Some(("stats", IMAGE_STATS))
        } else if self.inputs.iter().any(|n| n == "size") {
            Some(("size", SIZE_FEATURES))
        } else {
            None
        }
    }

    /// Runs with the image-statistics input cut to this graph's width.
    fn run_with_stats(
        &self,
        feeds: &[(&str, Vec<usize>, &[f32])],
        n: usize,
        stats: &[f32],
    ) -> Result<Vec<f32>, BackendError> {
        let side = self
            .stats_input()
            .map(|(name, k)| (name, vec![n, k], stats_prefix(stats, k)));
        let mut all: Vec<(&str, Vec<usize>, &[f32])> = feeds.to_vec();
        if let Some((name, shape, data)) = &side {
            all.push((name, shape.clone(), data));
        }
        self.run(&all)
    }
}

/// vectune's models by task; a missing model makes its task `Unsupported`.
#[derive(Default)]
pub struct TractModels {
    /// The combined quality model.
    pub predictor: Option<TractModel>,
    /// The split form's encoder.
    pub encoder: Option<TractModel>,
    /// The split form's head.
    pub head: Option<TractModel>,
    /// The logo classifier.
    pub classifier: Option<TractModel>,
    /// Embedding width of the encoder (from the manifest).
    pub embedding_dim: usize,
    /// Whether the head takes one embedding row for all its parameter sets (from the manifest:
    /// `vectune_core::manifest::ModelEntry::shares_embedding`).
    pub head_shares_embedding: bool,
}

impl TractModels {
    fn model<'a>(
        m: &'a Option<TractModel>,
        task: &'static str,
    ) -> Result<&'a TractModel, BackendError> {
        m.as_ref().ok_or_else(|| BackendError::Unsupported {
            backend: NAME.to_string(),
            task,
        })
    }

    /// The loaded graph for a manifest task name (`quality`, `quality_encoder`, `quality_head`,
    /// `classifier`).
    pub fn by_task(&self, task: &str) -> Result<&TractModel, BackendError> {
        match task {
            "quality" => Self::model(&self.predictor, "quality"),
            "quality_encoder" => Self::model(&self.encoder, "quality_encoder"),
            "quality_head" => Self::model(&self.head, "quality_head"),
            "classifier" => Self::model(&self.classifier, "classifier"),
            other => Err(BackendError::Shape(format!(
                "unknown task `{other}` (quality, quality_encoder, quality_head, classifier)"
            ))),
        }
    }

    /// Whether the split form (encoder + head) can run.
    pub fn has_split(&self) -> bool {
        self.encoder.is_some() && self.head.is_some() && self.embedding_dim > 0
    }

    /// Whether the combined quality model can run.
    pub fn has_quality(&self) -> bool {
        self.predictor.is_some()
    }

    /// Whether the classifier can run.
    pub fn has_classifier(&self) -> bool {
        self.classifier.is_some()
    }
}

fn image_shape(n: usize) -> Vec<usize> {
    vec![n, CHANNELS, INPUT_SIZE, INPUT_SIZE]
}

impl Backend for TractModels {
    fn name(&self) -> &str {
        NAME
    }

    fn predict_quality(&self, batch: Batch<'_>) -> Result<Vec<f32>, BackendError> {
        let n = batch.len();
        Self::model(&self.predictor, "quality")?.run_with_stats(
            &[
                ("image", image_shape(n), batch.images()),
                ("params", vec![n, PARAM_COUNT], batch.params()),
            ],
            n,
            batch.stats(),
        )
    }

    fn encode_images(&self, images: &[f32], stats: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = Self::model(&self.encoder, "quality_encoder")?;
        let n = image_count(images)?;
        check_stats(n, stats)?;
        m.run_with_stats(&[("image", image_shape(n), images)], n, stats)
    }

    fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    fn predict_head(&self, embeddings: &[f32], params: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = Self::model(&self.head, "quality_head")?;
        let d = self.embedding_dim;
        run_head(embeddings, params, d, self.head_shares_embedding, |f| {
            m.run(f)
        })
    }

    fn predict_head_one(
        &self,
        embedding: &[f32],
        params: &[f32],
    ) -> Result<Vec<f32>, BackendError> {
        let m = Self::model(&self.head, "quality_head")?;
        let d = self.embedding_dim;
        run_head_one(embedding, params, d, self.head_shares_embedding, |f| {
            m.run(f)
        })
    }

    fn classify(&self, images: &[f32]) -> Result<Vec<f32>, BackendError> {
        let m = Self::model(&self.classifier, "classifier")?;
        let n = image_count(images)?;
        m.run(&[("image", image_shape(n), images)])
    }

    fn memory(&self) -> MemoryUsage {
        let model_bytes = [&self.predictor, &self.encoder, &self.head, &self.classifier]
            .iter()
            .filter_map(|m| m.as_ref().map(TractModel::bytes))
            .sum();
        MemoryUsage {
            model_bytes,
            runtime_bytes: 0,
        }
    }
}
