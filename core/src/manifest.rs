//! The model manifest (`models/manifest.json`): which model files exist, what they compute, how
//! to feed them, and how good they are. [`Manifest::from_json`] parses *and validates*: an unknown
//! format or task, a bad checksum string, an unsafe path, or shapes that disagree with the core's
//! preprocessing and parameter encoding are typed errors, so a loaded manifest can be trusted.
//!
//! ```
//! use vectune_core::manifest::{Manifest, ManifestError};
//!
//! let json = r#"{
//!   "schema_version": 1,
//!   "models": [{
//!     "name": "quality_predictor", "task": "quality", "file": "quality_predictor.onnx",
//!     "format": "onnx", "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
//!     "inputs": [{"name": "image", "shape": ["N", 3, 224, 224]}, {"name": "params", "shape": ["N", 8]}],
//!     "outputs": [{"name": "ssim", "shape": ["N", 1]}],
//!     "preprocessing": {"size": 224, "resize": "area", "letterbox": true, "background": "white",
//!                       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "layout": "CHW"},
//!     "param_encoding_version": 1
//!   }]
//! }"#;
//! let m = Manifest::from_json(json)?;
//! assert_eq!(m.model("quality_predictor").unwrap().inputs.len(), 2);
//!
//! let bad = json.replace(r#""format": "onnx""#, r#""format": "tflite""#);
//! assert!(matches!(Manifest::from_json(&bad), Err(ManifestError::UnknownFormat { .. })));
//! # Ok::<(), ManifestError>(())
//! ```

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::features::{IMAGE_STATS, SIZE_FEATURES};
use crate::params::{ENCODING_VERSION, PARAM_COUNT};
use crate::preprocess::{CHANNELS, IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE};

/// The manifest schema version this core reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The classes of the logo classifier, in output order.
pub const LOGO_CLASSES: [&str; 4] = ["simple_geometric", "text_based", "gradient", "complex"];

/// Why a manifest was rejected. Variants name the model concerned.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not valid JSON, or the wrong structure.
    Json(String),
    /// A schema version this core does not read.
    UnsupportedSchema {
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// Two models with one name.
    DuplicateModel(String),
    /// A format other than onnx, torchscript or json.
    UnknownFormat {
        /// The model.
        model: String,
        /// The format given.
        format: String,
    },
    /// A task this core does not know.
    UnknownTask {
        /// The model.
        model: String,
        /// The task given.
        task: String,
    },
    /// `sha256` is not 64 lowercase hex digits.
    BadChecksum {
        /// The model.
        model: String,
    },
    /// The file path is empty, absolute, or leaves the model directory.
    UnsafePath {
        /// The model.
        model: String,
        /// The path given.
        file: String,
    },
    /// Inputs/outputs that do not match what the task and the core require.
    Shape {
        /// The model.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// Preprocessing that differs from the core's.
    Preprocessing {
        /// The model.
        model: String,
        /// What differs.
        reason: String,
    },
    /// A parameter encoding version other than the core's.
    EncodingVersion {
        /// The model.
        model: String,
        /// Version found (`None` if missing).
        found: Option<u32>,
        /// The core's version.
        expected: u32,
    },
    /// A model file whose bytes do not have the manifest's sha256 ([`ModelEntry::verify`]).
    ChecksumMismatch {
        /// The file.
        file: String,
        /// The manifest's digest.
        expected: String,
        /// The file's digest.
        got: String,
    },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ManifestError::*;
        match self {
            Json(e) => write!(f, "manifest is not valid: {e}"),
            UnsupportedSchema { found, supported } => write!(
                f,
                "manifest schema_version {found} is not supported (this build reads {supported})"
            ),
            DuplicateModel(m) => write!(f, "model `{m}` appears more than once in the manifest"),
            UnknownFormat { model, format } => write!(
                f,
                "model `{model}`: unknown format `{format}` (expected onnx, torchscript or json)"
            ),
            UnknownTask { model, task } => write!(
                f,
                "model `{model}`: unknown task `{task}` (expected quality, quality_encoder, quality_head, classifier or suggester)"
            ),
            BadChecksum { model } => {
                write!(f, "model `{model}`: sha256 must be 64 lowercase hex digits")
            }
            UnsafePath { model, file } => write!(
                f,
                "model `{model}`: file `{file}` must be a relative path inside the model directory"
            ),
            Shape { model, reason } => write!(f, "model `{model}`: {reason}"),
            Preprocessing { model, reason } => {
                write!(
                    f,
                    "model `{model}`: preprocessing differs from the core's: {reason}"
                )
            }
            EncodingVersion {
                model,
                found,
                expected,
            } => match found {
                Some(v) => write!(
                    f,
                    "model `{model}`: parameter encoding version {v}, but this build encodes version {expected}"
                ),
                None => write!(
                    f,
                    "model `{model}`: takes parameters but has no param_encoding_version (this build encodes version {expected})"
                ),
            },
            ChecksumMismatch {
                file,
                expected,
                got,
            } => write!(
                f,
                "checksum mismatch for `{file}`: manifest says {expected}, file has {got}"
            ),
        }
    }
}

impl core::error::Error for ManifestError {}

/// A model file's format. Unknown names parse into [`Format::Unknown`] and are rejected by
/// validation with [`ManifestError::UnknownFormat`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// ONNX (ort, tract).
    Onnx,
    /// TorchScript (libtorch).
    TorchScript,
    /// NNEF, as tract writes it (an uncompressed tar): the browser package's form of the ONNX
    /// graphs (no ONNX parser in the `.wasm`), made by `vectune export-nnef`.
    Nnef,
    /// A JSON document (the suggester's correlation models).
    Json,
    /// Anything else; never present in a validated manifest.
    Unknown(String),
}

impl Format {
    /// The manifest spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Format::Onnx => "onnx",
            Format::TorchScript => "torchscript",
            Format::Nnef => "nnef",
            Format::Json => "json",
            Format::Unknown(s) => s,
        }
    }
}

/// What a model computes. Unknown names are rejected by validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// image + params -> ssim, in one graph.
    Quality,
    /// image -> embedding (the split form's first half).
    QualityEncoder,
    /// embedding + params -> ssim (the split form's second half).
    QualityHead,
    /// image -> class logits.
    Classifier,
    /// features -> starting parameters (JSON).
    Suggester,
    /// Anything else; never present in a validated manifest.
    Unknown(String),
}

impl Task {
    /// The manifest spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Task::Quality => "quality",
            Task::QualityEncoder => "quality_encoder",
            Task::QualityHead => "quality_head",
            Task::Classifier => "classifier",
            Task::Suggester => "suggester",
            Task::Unknown(s) => s,
        }
    }
}

macro_rules! string_enum_serde {
    ($ty:ident { $($s:literal => $v:ident),* $(,)? }) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(match s.as_str() {
                    $($s => $ty::$v,)*
                    _ => $ty::Unknown(s),
                })
            }
        }
    };
}
string_enum_serde!(Format { "onnx" => Onnx, "torchscript" => TorchScript, "nnef" => Nnef, "json" => Json });
string_enum_serde!(Task {
    "quality" => Quality,
    "quality_encoder" => QualityEncoder,
    "quality_head" => QualityHead,
    "classifier" => Classifier,
    "suggester" => Suggester,
});

/// One dimension of a tensor shape: a fixed size or a named dynamic one (the batch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    /// A fixed size.
    Fixed(u64),
    /// A dynamic dimension, named (`"N"`).
    Dynamic(String),
}

/// A named model input or output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// Name in the graph.
    pub name: String,
    /// Shape; the first dimension is the dynamic batch.
    pub shape: Vec<Dim>,
}

impl TensorSpec {
    /// The fixed dimensions after the batch, or `None` if any is dynamic.
    pub fn fixed_tail(&self) -> Option<Vec<u64>> {
        self.shape
            .iter()
            .skip(1)
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                Dim::Dynamic(_) => None,
            })
            .collect()
    }
}

/// How images must be prepared for a model; must equal the core's [`crate::preprocess`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Side of the square input.
    pub size: u32,
    /// Resampling filter (`"area"`).
    pub resize: String,
    /// Whether the image is letterboxed to a square.
    pub letterbox: bool,
    /// Background for transparency and padding (`"white"`).
    pub background: String,
    /// Per-channel mean.
    pub mean: [f32; 3],
    /// Per-channel standard deviation.
    pub std: [f32; 3],
    /// Tensor layout (`"CHW"`).
    pub layout: String,
}

impl Preprocessing {
    /// The core's preprocessing, as a manifest records it.
    pub fn core() -> Preprocessing {
        Preprocessing {
            size: INPUT_SIZE as u32,
            resize: "area".to_string(),
            letterbox: true,
            background: "white".to_string(),
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            layout: "CHW".to_string(),
        }
    }

    fn differs_from_core(&self) -> Option<String> {
        let core = Preprocessing::core();
        let close = |a: &[f32; 3], b: &[f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        if self.size != core.size {
            Some(alloc::format!("size {} != {}", self.size, core.size))
        } else if self.resize != core.resize
            || self.letterbox != core.letterbox
            || self.background != core.background
            || self.layout != core.layout
        {
            Some(alloc::format!(
                "resize/letterbox/background/layout {}/{}/{}/{} != area/true/white/CHW",
                self.resize,
                self.letterbox,
                self.background,
                self.layout
            ))
        } else if !close(&self.mean, &core.mean) || !close(&self.std, &core.std) {
            Some("mean/std are not the ImageNet statistics".to_string())
        } else {
            None
        }
    }
}

/// One model in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// Unique name (`quality_predictor`, `logo_classifier`, ...).
    pub name: String,
    /// What it computes.
    pub task: Task,
    /// Path relative to the model directory.
    pub file: String,
    /// File format.
    pub format: Format,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// File size in bytes, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Graph inputs (empty for JSON).
    #[serde(default)]
    pub inputs: Vec<TensorSpec>,
    /// Graph outputs (empty for JSON).
    #[serde(default)]
    pub outputs: Vec<TensorSpec>,
    /// Image preprocessing, for models that take an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<Preprocessing>,
    /// Parameter encoding version, for models that take parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_encoding_version: Option<u32>,
    /// Class names in output order (classifier).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Measured metrics (`test_mae`, `test_r2`, ...).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Free-form training summary (data, epochs, time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<serde_json::Value>,
}

/// The manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The models.
    pub models: Vec<ModelEntry>,
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn from_json(json: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest =
            serde_json::from_str(json).map_err(|e| ManifestError::Json(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The first model for `task`.
    pub fn for_task(&self, task: &Task) -> Option<&ModelEntry> {
        self.models.iter().find(|m| &m.task == task)
    }

    /// Checks everything [`ManifestError`] lists.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::UnsupportedSchema {
                found: self.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        let mut names = BTreeMap::new();
        for m in &self.models {
            if names.insert(m.name.as_str(), ()).is_some() {
                return Err(ManifestError::DuplicateModel(m.name.clone()));
            }
            m.validate()?;
        }
        // The split form must agree on the embedding width.
        if let (Some(enc), Some(head)) = (
            self.for_task(&Task::QualityEncoder),
            self.for_task(&Task::QualityHead),
        ) && enc.format == head.format
        {
            let e = enc.outputs.first().and_then(TensorSpec::fixed_tail);
            let h = head.input("embedding").and_then(TensorSpec::fixed_tail);
            if e != h {
                return Err(ManifestError::Shape {
                    model: head.name.clone(),
                    reason: alloc::format!(
                        "embedding input {h:?} does not match encoder `{}` output {e:?}",
                        enc.name
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Lowercase hex SHA-256 of `bytes`, the form of the manifest's `sha256` fields.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use core::fmt::Write;
    use sha2::Digest;
    let mut out = String::with_capacity(64);
    for b in sha2::Sha256::digest(bytes) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// One warm-up input: the graph input's name, a shape with batch 1, and that many `0.5`s.
pub type WarmupInput = (String, Vec<usize>, Vec<f32>);

impl ModelEntry {
    /// Checks a model file's bytes against the entry's sha256.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), ManifestError> {
        let got = sha256_hex(bytes);
        if got == self.sha256 {
            Ok(())
        } else {
            Err(ManifestError::ChecksumMismatch {
                file: self.file.clone(),
                expected: self.sha256.clone(),
                got,
            })
        }
    }

    /// A batch-1 input of the declared shape for every graph input (every value 0.5): what a
    /// runtime runs once after loading, so the first real call does not pay for allocation.
    pub fn warmup_inputs(&self) -> Vec<WarmupInput> {
        self.inputs
            .iter()
            .map(|spec| {
                let shape: Vec<usize> = core::iter::once(1)
                    .chain(
                        spec.fixed_tail()
                            .unwrap_or_default()
                            .iter()
                            .map(|&d| d as usize),
                    )
                    .collect();
                let len = shape.iter().product();
                (spec.name.clone(), shape, alloc::vec![0.5; len])
            })
            .collect()
    }

    /// The width of the first output after the batch (the encoder's embedding width); 0 when the
    /// manifest does not fix it.
    pub fn embedding_dim(&self) -> usize {
        self.outputs
            .first()
            .and_then(TensorSpec::fixed_tail)
            .and_then(|t| t.first().copied())
            .map_or(0, |d| d as usize)
    }

    /// Whether this is a quality head that takes one image's embedding once for all its parameter
    /// sets: its `embedding` input is `[1, D]` and `params` `[N, 8]` (the head broadcasts the row).
    /// Other heads take `[N, D]`, one row per parameter set.
    pub fn shares_embedding(&self) -> bool {
        self.task == Task::QualityHead
            && self
                .input("embedding")
                .is_some_and(|t| t.shape.first() == Some(&Dim::Fixed(1)))
    }

    /// The classifier's labels in output order, as the core's class names ([`LOGO_CLASSES`]);
    /// labels that are not among them, and repeats, are left out (validation rejects both).
    pub fn classes(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::with_capacity(self.labels.len());
        for label in &self.labels {
            if let Some(c) = LOGO_CLASSES.iter().find(|c| **c == label.as_str())
                && !out.contains(c)
            {
                out.push(c);
            }
        }
        out
    }

    /// The input called `name`.
    pub fn input(&self, name: &str) -> Option<&TensorSpec> {
        self.inputs.iter().find(|t| t.name == name)
    }

    /// The per-image statistics input, if the model has one: its name and how many of the
    /// [`crate::features::image_stats`] it reads (a prefix): `size` reads 2, `stats` all 11.
    pub fn stats_input(&self) -> Option<(&'static str, usize)> {
        if self.input("stats").is_some() {
            Some(("stats", IMAGE_STATS))
        } else if self.input("size").is_some() {
            Some(("size", SIZE_FEATURES))
        } else {
            None
        }
    }

    fn shape_err(&self, reason: String) -> ManifestError {
        ManifestError::Shape {
            model: self.name.clone(),
            reason,
        }
    }

    fn validate(&self) -> Result<(), ManifestError> {
        if let Task::Unknown(task) = &self.task {
            return Err(ManifestError::UnknownTask {
                model: self.name.clone(),
                task: task.clone(),
            });
        }
        if let Format::Unknown(format) = &self.format {
            return Err(ManifestError::UnknownFormat {
                model: self.name.clone(),
                format: format.clone(),
            });
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ManifestError::BadChecksum {
                model: self.name.clone(),
            });
        }
        let f = &self.file;
        if f.is_empty()
            || f.starts_with('/')
            || f.contains('\\')
            || f.contains(':')
            || f.split('/').any(|part| part == ".." || part.is_empty())
        {
            return Err(ManifestError::UnsafePath {
                model: self.name.clone(),
                file: f.clone(),
            });
        }
        let graph = matches!(
            self.format,
            Format::Onnx | Format::TorchScript | Format::Nnef
        );
        if graph != (self.task != Task::Suggester) {
            return Err(self.shape_err(alloc::format!(
                "task {} cannot be stored as {}",
                self.task.as_str(),
                self.format.as_str()
            )));
        }
        if !graph {
            return Ok(());
        }
        self.validate_tensors()
    }

    fn validate_tensors(&self) -> Result<(), ManifestError> {
        if self.inputs.is_empty() || self.outputs.is_empty() {
            return Err(self.shape_err("a graph model needs inputs and outputs".to_string()));
        }
        let mut batch: Option<&str> = None;
        for t in self.inputs.iter().chain(&self.outputs) {
            let shared = self.task == Task::QualityHead && t.name == "embedding";
            match t.shape.first() {
                // a head's embedding taken once for all parameter sets (`shares_embedding`)
                Some(Dim::Fixed(1)) if shared => {}
                Some(Dim::Dynamic(sym)) => match batch {
                    Some(b) if b != sym => {
                        return Err(self.shape_err(alloc::format!(
                            "`{}` has batch dimension `{sym}`, others `{b}`",
                            t.name
                        )));
                    }
                    _ => batch = Some(sym),
                },
                _ => {
                    return Err(self.shape_err(alloc::format!(
                        "`{}` must have a dynamic batch as its first dimension",
                        t.name
                    )));
                }
            }
            if t.fixed_tail().is_none() {
                return Err(self.shape_err(alloc::format!(
                    "`{}` may have only its batch dimension dynamic",
                    t.name
                )));
            }
        }
        let expect = |name: &str, want: &[u64]| -> Result<(), ManifestError> {
            match self.input(name).and_then(TensorSpec::fixed_tail) {
                Some(tail) if tail == want => Ok(()),
                Some(tail) => Err(self.shape_err(alloc::format!(
                    "input `{name}` has shape [N, {tail:?}], expected [N, {want:?}]"
                ))),
                None => Err(self.shape_err(alloc::format!("missing input `{name}`"))),
            }
        };
        let takes_image = matches!(
            self.task,
            Task::Quality | Task::QualityEncoder | Task::Classifier
        );
        let takes_params = matches!(self.task, Task::Quality | Task::QualityHead);
        if takes_image {
            let s = INPUT_SIZE as u64;
            expect("image", &[CHANNELS as u64, s, s])?;
            match &self.preprocessing {
                None => {
                    return Err(ManifestError::Preprocessing {
                        model: self.name.clone(),
                        reason: "missing".to_string(),
                    });
                }
                Some(p) => {
                    if let Some(reason) = p.differs_from_core() {
                        return Err(ManifestError::Preprocessing {
                            model: self.name.clone(),
                            reason,
                        });
                    }
                }
            }
        }
        if self.input("size").is_some() {
            expect("size", &[SIZE_FEATURES as u64])?;
        }
        if self.input("stats").is_some() {
            expect("stats", &[IMAGE_STATS as u64])?;
        }
        if takes_params {
            expect("params", &[PARAM_COUNT as u64])?;
            if self.param_encoding_version != Some(ENCODING_VERSION) {
                return Err(ManifestError::EncodingVersion {
                    model: self.name.clone(),
                    found: self.param_encoding_version,
                    expected: ENCODING_VERSION,
                });
            }
        }
        if self.task == Task::QualityHead && self.input("embedding").is_none() {
            return Err(self.shape_err("missing input `embedding`".to_string()));
        }
        let out = self.outputs[0].fixed_tail().unwrap_or_default();
        match self.task {
            Task::Quality | Task::QualityHead if out != [1] => Err(self.shape_err(alloc::format!(
                "output must be [N, 1] (SSIM), got [N, {out:?}]"
            ))),
            Task::Classifier if self.labels.is_empty() || out != [self.labels.len() as u64] => {
                Err(self.shape_err(alloc::format!(
                    "output [N, {out:?}] must have one logit per label ({} labels)",
                    self.labels.len()
                )))
            }
            Task::Classifier if self.classes().len() != self.labels.len() => {
                Err(self.shape_err(alloc::format!(
                    "labels {:?} must be distinct classes among {LOGO_CLASSES:?}",
                    self.labels
                )))
            }
            Task::QualityEncoder if out.len() != 1 || out[0] == 0 => Err(self.shape_err(
                alloc::format!("embedding output must be [N, D], got [N, {out:?}]"),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn graph(name: &str, task: &str, inputs: &str, outputs: &str, extra: &str) -> String {
        format!(
            r#"{{"name":"{name}","task":"{task}","file":"{name}.onnx","format":"onnx","sha256":"{SHA}",
            "inputs":{inputs},"outputs":{outputs},
            "preprocessing":{{"size":224,"resize":"area","letterbox":true,"background":"white",
              "mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"layout":"CHW"}},
            "param_encoding_version":1{extra}}}"#
        )
    }

    fn full() -> String {
        let img = r#"{"name":"image","shape":["N",3,224,224]},{"name":"size","shape":["N",2]}"#;
        let par = r#"{"name":"params","shape":["N",8]}"#;
        let ssim = r#"[{"name":"ssim","shape":["N",1]}]"#;
        let models = [
            graph(
                "quality_predictor",
                "quality",
                &format!("[{img},{par}]"),
                ssim,
                "",
            ),
            graph(
                "quality_encoder",
                "quality_encoder",
                &format!("[{img}]"),
                r#"[{"name":"embedding","shape":["N",64]}]"#,
                "",
            ),
            graph(
                "quality_head",
                "quality_head",
                &format!(r#"[{{"name":"embedding","shape":["N",64]}},{par}]"#),
                ssim,
                "",
            ),
            graph(
                "logo_classifier",
                "classifier",
                &format!("[{img}]"),
                r#"[{"name":"logits","shape":["N",4]}]"#,
                r#","labels":["simple_geometric","text_based","gradient","complex"],"metrics":{"accuracy":0.97}"#,
            ),
            format!(
                r#"{{"name":"correlation_models","task":"suggester","file":"correlation_models.json","format":"json","sha256":"{SHA}"}}"#
            ),
        ];
        format!(r#"{{"schema_version":1,"models":[{}]}}"#, models.join(","))
    }

    #[test]
    fn full_manifest_parses_and_round_trips() {
        let m = Manifest::from_json(&full()).unwrap();
        assert_eq!(m.models.len(), 5);
        assert_eq!(m.for_task(&Task::Classifier).unwrap().labels, LOGO_CLASSES);
        assert_eq!(
            m.model("logo_classifier").unwrap().metrics["accuracy"],
            0.97
        );
        let again = serde_json::to_string(&m).unwrap();
        assert_eq!(Manifest::from_json(&again).unwrap(), m);
    }

    fn reject(from: &str, to: &str) -> ManifestError {
        let s = full();
        assert!(s.contains(from), "{from}");
        Manifest::from_json(&s.replacen(from, to, 1)).unwrap_err()
    }

    #[test]
    fn typed_rejections() {
        assert!(
            matches!(reject(r#""format":"onnx""#, r#""format":"tflite""#),
            ManifestError::UnknownFormat { format, .. } if format == "tflite")
        );
        assert!(matches!(
            reject(r#""task":"quality""#, r#""task":"magic""#),
            ManifestError::UnknownTask { .. }
        ));
        assert!(matches!(
            reject(r#""schema_version":1"#, r#""schema_version":7"#),
            ManifestError::UnsupportedSchema { found: 7, .. }
        ));
        assert!(matches!(
            reject(SHA, "abc"),
            ManifestError::BadChecksum { .. }
        ));
        assert!(matches!(
            reject(
                r#""file":"quality_predictor.onnx""#,
                r#""file":"../etc/passwd""#
            ),
            ManifestError::UnsafePath { .. }
        ));
        assert!(matches!(
            reject(
                r#""file":"quality_predictor.onnx""#,
                r#""file":"/abs.onnx""#
            ),
            ManifestError::UnsafePath { .. }
        ));
        assert!(matches!(
            reject(r#"["N",3,224,224]"#, r#"["N",3,128,128]"#),
            ManifestError::Shape { .. }
        ));
        assert!(
            matches!(reject(r#"["N",3,224,224]"#, r#"[1,3,224,224]"#), ManifestError::Shape { reason, .. } if reason.contains("dynamic batch"))
        );
        assert!(
            matches!(reject(r#"["N",8]"#, r#"["B",8]"#), ManifestError::Shape { reason, .. } if reason.contains("`B`"))
        );
        assert!(matches!(
            reject(r#"["N",8]"#, r#"["N",7]"#),
            ManifestError::Shape { .. }
        ));
        assert!(matches!(
            reject(
                r#""param_encoding_version":1"#,
                r#""param_encoding_version":2"#
            ),
            ManifestError::EncodingVersion { found: Some(2), .. }
        ));
        assert!(matches!(
            reject(r#""mean":[0.485"#, r#""mean":[0.5"#),
            ManifestError::Preprocessing { .. }
        ));
        assert!(matches!(
            reject(r#"["N",64]}]"#, r#"["N",32]}]"#),
            ManifestError::Shape { .. }
        ));
        assert!(matches!(
            reject(
                r#"{"name":"logits","shape":["N",4]}"#,
                r#"{"name":"logits","shape":["N",5]}"#
            ),
            ManifestError::Shape { .. }
        ));
        assert!(matches!(
            reject(r#""name":"quality_head""#, r#""name":"quality_predictor""#),
            ManifestError::DuplicateModel(_)
        ));
        assert!(matches!(
            Manifest::from_json("{"),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            reject(r#""format":"json""#, r#""format":"onnx""#),
            ManifestError::Shape { .. }
        ));
    }

    #[test]
    fn a_head_may_take_one_shared_embedding_row() {
        let head = |m: &Manifest| m.model("quality_head").unwrap().shares_embedding();
        assert!(!head(&Manifest::from_json(&full()).unwrap()));
        let shared = full().replacen(
            r#"{"name":"embedding","shape":["N",64]},{"name":"params""#,
            r#"{"name":"embedding","shape":[1,64]},{"name":"params""#,
            1,
        );
        let m = Manifest::from_json(&shared).unwrap();
        assert!(head(&m));
        assert!(!m.model("quality_encoder").unwrap().shares_embedding());
        // only one row, only the head's embedding, and the width must still match the encoder's
        for (from, to) in [
            (
                r#"[{"name":"embedding","shape":[1,64]}"#,
                r#"[{"name":"embedding","shape":[2,64]}"#,
            ),
            (r#"[1,64]},{"name":"params""#, r#"[1,32]},{"name":"params""#),
            (
                r#"{"name":"params","shape":["N",8]}],"outputs":[{"name":"ssim""#,
                r#"{"name":"params","shape":[1,8]}],"outputs":[{"name":"ssim""#,
            ),
        ] {
            assert!(shared.contains(from), "{from}");
            assert!(
                matches!(
                    Manifest::from_json(&shared.replacen(from, to, 1)),
                    Err(ManifestError::Shape { .. })
                ),
                "{to}"
            );
        }
    }

    #[test]
    fn errors_name_the_model() {
        let e = reject(r#""format":"onnx""#, r#""format":"tflite""#);
        assert_eq!(
            e.to_string(),
            "model `quality_predictor`: unknown format `tflite` (expected onnx, torchscript or json)"
        );
    }

    #[test]
    fn sha256_verify_and_warmup_inputs() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let m = Manifest::from_json(&full()).unwrap();
        assert_eq!(m.model("quality_encoder").unwrap().embedding_dim(), 64);
        assert_eq!(m.model("quality_predictor").unwrap().embedding_dim(), 1);
        let mut e = m.models[0].clone();
        e.sha256 = sha256_hex(b"model bytes");
        assert_eq!(e.verify(b"model bytes"), Ok(()));
        let err = e.verify(b"other bytes").unwrap_err();
        assert_eq!(
            err.to_string(),
            alloc::format!(
                "checksum mismatch for `{}`: manifest says {}, file has {}",
                e.file,
                e.sha256,
                sha256_hex(b"other bytes")
            )
        );
        let w = e.warmup_inputs();
        assert_eq!(w.len(), e.inputs.len());
        for ((name, shape, data), spec) in w.iter().zip(&e.inputs) {
            assert_eq!(name, &spec.name);
            assert_eq!(shape[0], 1);
            assert_eq!(data.len(), shape.iter().product::<usize>());
            assert!(data.iter().all(|&v| v == 0.5));
        }
    }
}
