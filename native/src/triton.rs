//! `vectune export-triton DIR`: a Triton model repository of the manifest's ONNX models, so the
//! same files can be served by Triton's ONNX Runtime backend. Each model becomes
//! `DIR/<name>/config.pbtxt` (names, `TYPE_FP32`, dims, `max_batch_size`, dynamic batching with no
//! queue delay) and `DIR/<name>/1/model.onnx` (the file, its sha256 checked against the manifest).
//! A model whose inputs all lead with the batch dimension `N` is batchable (`max_batch_size`,
//! dims without the batch); one with a fixed leading dimension (the head that takes one image's
//! embedding `[1, D]` for `[N, 8]` parameter sets) is exported with `max_batch_size: 0` and its
//! full shapes, `-1` for `N`. What Triton does not do is the core's: preprocessing, image
//! statistics and parameter encoding run client-side (the browser package, the Rust crates).

use std::path::Path;

use serde::Serialize;
use vectune_core::error::Error;
use vectune_core::manifest::{Dim, Format, Manifest, ModelEntry, Task, TensorSpec};

/// `max_batch_size` of every batchable model.
pub const MAX_BATCH_SIZE: u32 = 64;

/// One exported model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exported {
    /// The model's name (its directory).
    pub name: String,
    /// Whether Triton may batch it (`max_batch_size` > 0).
    pub batched: bool,
    /// Bytes of `1/model.onnx`.
    pub bytes: u64,
}

fn batch_leading(spec: &TensorSpec) -> bool {
    matches!(spec.shape.first(), Some(Dim::Dynamic(_)))
}

fn dims(spec: &TensorSpec, skip_batch: bool) -> String {
    let all: Vec<String> = spec
        .shape
        .iter()
        .skip(usize::from(skip_batch))
        .map(|d| match d {
            Dim::Fixed(n) => n.to_string(),
            Dim::Dynamic(_) => "-1".to_string(),
        })
        .collect();
    format!("[ {} ]", all.join(", "))
}

/// The `config.pbtxt` of one ONNX model.
pub fn config(entry: &ModelEntry) -> String {
    let batched = entry.inputs.iter().chain(&entry.outputs).all(batch_leading);
    let tensors = |specs: &[TensorSpec]| {
        specs
            .iter()
            .map(|s| {
                format!(
                    "  {{\n    name: \"{}\"\n    data_type: TYPE_FP32\n    dims: {}\n  }}",
                    s.name,
                    dims(s, batched)
                )
            })
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let mut out = format!(
        "name: \"{}\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: {}\ninput [\n{}\n]\noutput [\n{}\n]\n",
        entry.name,
        if batched { MAX_BATCH_SIZE } else { 0 },
        tensors(&entry.inputs),
        tensors(&entry.outputs)
    );
    if batched {
        out.push_str("dynamic_batching {\n  max_queue_delay_microseconds: 0\n}\n");
    }
    out
}

/// Writes the repository of `models_dir`'s ONNX models into `out`.
pub fn export_dir(models_dir: &Path, out: &Path) -> Result<Vec<Exported>, Error> {
    let path = models_dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::bad_input("models", format!("cannot read `{}`: {e}", path.display()))
    })?;
    let manifest = Manifest::from_json(&text)
        .map_err(|e| Error::bad_input("models", format!("`{}`: {e}", path.display())))?;
    let io = |what: &Path, e: std::io::Error| Error::runtime(format!("`{}`: {e}", what.display()));
    let mut exported = Vec::new();
    for entry in manifest
        .models
        .iter()
        .filter(|e| e.format == Format::Onnx && e.task != Task::Suggester)
    {
        let file = models_dir.join(&entry.file);
        let bytes = std::fs::read(&file).map_err(|e| io(&file, e))?;
        entry
            .verify(&bytes)
            .map_err(|e| Error::unavailable(&entry.name, e))?;
        let dir = out.join(&entry.name);
        let version = dir.join("1");
        std::fs::create_dir_all(&version).map_err(|e| io(&version, e))?;
        let model = version.join("model.onnx");
        std::fs::write(&model, &bytes).map_err(|e| io(&model, e))?;
        let cfg = dir.join("config.pbtxt");
        let text = config(entry);
        std::fs::write(&cfg, &text).map_err(|e| io(&cfg, e))?;
        exported.push(Exported {
            name: entry.name.clone(),
            batched: text.contains("dynamic_batching"),
            bytes: bytes.len() as u64,
        });
    }
    Ok(exported)
}
