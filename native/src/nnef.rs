//! The browser package's form of the models: tract's NNEF export of every ONNX graph of a model
//! directory (`vectune export-nnef`). The browser's `.wasm` then carries tract's NNEF reader instead
//! of its ONNX parser and operator set (1.73 MB gzip instead of 2.16 MB, `scripts/build-web.sh`).
//!
//! The export is tract's own decluttered form of the ONNX graph, written as a tar with fixed
//! timestamps; weights the ONNX file stores in float16 stay float16 ([`half_variables`]). tract names a few nodes differently from run to run, so CI checks the committed
//! files by function ([`check_dir`]: the same outputs as the ONNX graph within 1e-5), not bytes. Each `<stem>.onnx` gets a `<stem>.nnef.tar` beside it and a manifest entry
//! `<name>_nnef` (format `nnef`) that copies the ONNX entry's inputs, outputs, preprocessing,
//! encoding, labels, metrics and training record: the function is the same (tested to 1e-5).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tract_onnx::prelude::*;
use vectune_core::manifest::{Dim, Format, Manifest, ModelEntry, sha256_hex};

/// The manifest entry name of a model's NNEF export.
pub fn nnef_name(onnx_name: &str) -> String {
    format!("{onnx_name}_nnef")
}

/// The NNEF file name for an ONNX file name (`x.onnx` → `x.nnef.tar`).
pub fn nnef_file(onnx_file: &str) -> String {
    let stem = onnx_file.strip_suffix(".onnx").unwrap_or(onnx_file);
    format!("{stem}.nnef.tar")
}

/// An export failure, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file could not be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The manifest is not valid JSON or not a valid vectune manifest.
    #[error("`{path}`: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// tract could not parse, type or write a model.
    #[error("cannot convert `{file}` to NNEF: {reason}")]
    Convert {
        /// The ONNX file.
        file: String,
        /// tract's message.
        reason: String,
    },
}

/// Converts ONNX bytes to tract's NNEF tar. Weights that float16 holds exactly (a model exported
/// with `export.py --weights float16`) are stored as float16 ([`half_variables`]).
pub fn convert(onnx: &[u8]) -> TractResult<Vec<u8>> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])?
        .into_typed()?
        .into_decluttered()?;
    let nnef = tract_nnef::nnef().with_onnx();
    let mut proto = tract_nnef::ser::to_proto_model(&nnef, &model)?;
    if proto.quantization.is_some() || !proto.resources.is_empty() {
        // not our models' form: tract's own writer, unchanged
        let mut out = Vec::new();
        nnef.write_to_tar_with_config(&model, &mut out, false, true)?;
        return Ok(out);
    }
    half_variables(&mut proto)?;
    write_tar(&nnef, &proto)
}

/// The fewest values a weight needs to be stored as float16 (smaller ones cost more in the cast
/// than they save).
const HALF_MIN_VALUES: usize = 64;

/// tract's fixed timestamp for deterministic tars (1 Jan 1980, as `write_to_tar_with_config`).
const TAR_MTIME: u64 = 315_532_800;

/// Stores each float32 weight of `proto` that float16 represents exactly (and that has at least
/// [`HALF_MIN_VALUES`] values) as float16, read through a `tract_core_cast` to float32: the same
/// function from half the bytes. The ONNX files of `export.py --weights float16` hold their
/// weights so (float16 initializers cast once as the graph loads), but tract's serializer
/// propagates constants before it writes, which folds those casts back into float32 constants;
/// this restores the float16 storage after it. Weights that are not exact in float16 (any model
/// exported in float32) are left as they are. Returns how many weights were halved.
pub fn half_variables(proto: &mut tract_nnef::ProtoModel) -> TractResult<usize> {
    use std::collections::HashSet;
    use tract_nnef::ast::{Argument, Assignment, Identifier, Invocation, LValue, Literal, RValue};
    let mut halved: HashSet<Identifier> = HashSet::new();
    for (label, t) in proto.tensors.iter_mut() {
        if t.datum_type() != f32::datum_type() || t.len() < HALF_MIN_VALUES || !t.is_plain() {
            continue;
        }
        let half = t.cast_to::<f16>()?.into_owned();
        if *half.cast_to::<f32>()? == **t {
            *t = half.into_arc_tensor();
            halved.insert(label.clone());
        }
    }
    if halved.is_empty() {
        return Ok(0);
    }
    let label_of = |r: &RValue| match r {
        RValue::Invocation(inv) if inv.id.0 == "variable" => {
            inv.arguments.iter().find_map(|a| match (&a.id, &a.rvalue) {
                (Some(id), RValue::Literal(Literal::String(l))) if id.0 == "label" => {
                    Some(Identifier(l.clone()))
                }
                _ => None,
            })
        }
        _ => None,
    };
    let taken: HashSet<String> = proto
        .doc
        .graph_def
        .body
        .iter()
        .filter_map(|a| match &a.left {
            LValue::Identifier(id) => Some(id.0.clone()),
            _ => None,
        })
        .collect();
    let mut body = Vec::with_capacity(proto.doc.graph_def.body.len() + halved.len());
    let mut done = 0;
    for a in std::mem::take(&mut proto.doc.graph_def.body) {
        let label = label_of(&a.right);
        match (&a.left, label) {
            (LValue::Identifier(id), Some(label)) if halved.contains(&label) => {
                let half_id = Identifier(format!("{}_f16", id.0));
                anyhow::ensure!(!taken.contains(&half_id.0), "`{}` is taken", half_id.0);
                let cast = RValue::Invocation(Invocation {
                    id: "tract_core_cast".into(),
                    generic_type_name: None,
                    arguments: vec![
                        Argument {
                            id: None,
                            rvalue: RValue::Identifier(half_id.clone()),
                        },
                        Argument {
                            id: Some("to".into()),
                            rvalue: RValue::Literal(Literal::String("f32".into())),
                        },
                    ],
                });
                body.push(Assignment {
                    left: LValue::Identifier(id.clone()),
                    right: cast,
                });
                body.insert(
                    body.len() - 1,
                    Assignment {
                        left: LValue::Identifier(half_id),
                        right: a.right,
                    },
                );
                done += 1;
            }
            _ => body.push(a),
        }
    }
    proto.doc.graph_def.body = body;
    anyhow::ensure!(
        done == halved.len(),
        "{} float16 weights, {done} variables read them",
        halved.len()
    );
    let core = ("tract_registry".into(), "tract_core".to_string());
    if !proto.doc.extension.contains(&core) {
        proto.doc.extension.push(core);
    }
    Ok(done)
}

/// Writes `proto` as tract's NNEF tar (`graph.nnef`, then each tensor's `.dat` by label), with
/// fixed timestamps, as tract's `write_to_tar_with_config(.., deterministic)` does.
fn write_tar(
    nnef: &tract_nnef::framework::Nnef,
    proto: &tract_nnef::ProtoModel,
) -> TractResult<Vec<u8>> {
    let mut ar = tar::Builder::new(Vec::new());
    let mut append = |path: &str, data: &[u8]| -> TractResult<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(TAR_MTIME);
        ar.append_data(&mut header, path, data)?;
        Ok(())
    };
    let mut graph = Vec::new();
    tract_nnef::ast::dump::Dumper::new(nnef, &mut graph).document(&proto.doc)?;
    append("graph.nnef", &graph)?;
    let mut labels: Vec<_> = proto.tensors.keys().collect();
    labels.sort();
    for label in labels {
        let path = Path::new(&label.0);
        anyhow::ensure!(
            path.components().all(|c| matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::RootDir
            )),
            "tensor label `{}` is not a relative path",
            label.0
        );
        let mut data = Vec::new();
        tract_nnef::tensors::write_tensor(&mut data, &proto.tensors[label])?;
        let name = format!("{}.dat", label.0);
        append(name.strip_prefix('/').map_or(name.as_str(), |n| n), &data)?;
    }
    Ok(ar.into_inner()?)
}

/// One exported model.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Exported {
    /// Manifest entry name (`<onnx name>_nnef`).
    pub name: String,
    /// The ONNX entry it was made from.
    pub from: String,
    /// File name in the model directory.
    pub file: String,
    /// Its sha256, hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// With [`check_dir`]: whether the committed file and manifest entry match this export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_to_date: Option<bool>,
}

/// Converts every ONNX graph of `dir`'s manifest. With `write`, writes the tar files and replaces
/// the manifest's `nnef` entries with the new ones (after every other entry); without, only
/// converts and reports.
pub fn export_dir(dir: &Path, write: bool) -> Result<Vec<Exported>, ExportError> {
    let manifest_path = dir.join("manifest.json");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    let bad = |reason: String| ExportError::Manifest {
        path: manifest_path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    // Typed validation first (the same checks as loading), then edit the JSON itself so every
    // field the core does not model survives, in order.
    Manifest::from_json(&text).map_err(|e| bad(e.to_string()))?;
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let models = doc
        .get_mut("models")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| bad("no `models` array".into()))?;
    models.retain(|m| m.get("format").and_then(Value::as_str) != Some(Format::Nnef.as_str()));

    let mut exported = Vec::new();
    let mut entries = Vec::new();
    for m in models.iter() {
        if m.get("format").and_then(Value::as_str) != Some(Format::Onnx.as_str()) {
            continue;
        }
        let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
        let (name, file) = (field("name").to_string(), field("file").to_string());
        let path = dir.join(&file);
        let onnx = std::fs::read(&path).map_err(io(&path))?;
        let tar = convert(&onnx).map_err(|e| ExportError::Convert {
            file: file.clone(),
            reason: format!("{e:#}"),
        })?;
        let out = Exported {
            name: nnef_name(&name),
            from: name,
            file: nnef_file(&file),
            sha256: sha256_hex(&tar),
            bytes: tar.len() as u64,
            up_to_date: None,
        };
        if write {
            let target = dir.join(&out.file);
            std::fs::write(&target, &tar).map_err(io(&target))?;
        }
        let mut entry = m.clone();
        if let Some(obj) = entry.as_object_mut() {
            obj.insert("name".into(), out.name.clone().into());
            obj.insert("file".into(), out.file.clone().into());
            obj.insert("format".into(), Format::Nnef.as_str().into());
            obj.insert("sha256".into(), out.sha256.clone().into());
            obj.insert("bytes".into(), out.bytes.into());
        }
        entries.push(entry);
        exported.push(out);
    }
    models.extend(entries);
    if write {
        let mut text = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut text, fmt);
        serde::Serialize::serialize(&doc, &mut ser).map_err(|e| bad(e.to_string()))?;
        text.push(b'\n');
        // The result must still be a valid manifest before it replaces the old one.
        let s = String::from_utf8_lossy(&text);
        Manifest::from_json(&s).map_err(|e| bad(format!("the edited manifest: {e}")))?;
        std::fs::write(&manifest_path, &text).map_err(io(&manifest_path))?;
    }
    Ok(exported)
}

/// The largest difference allowed between an NNEF export's outputs and its ONNX graph's.
pub const CHECK_TOLERANCE: f32 = 1e-5;

/// Deterministic probe inputs for `entry`'s graph, batch 3 (values in `[-1, 1)`).
fn probe_inputs(entry: &ModelEntry) -> Option<TVec<TValue>> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let mut values = tvec![];
    for spec in &entry.inputs {
        // a batch of 3, or the fixed first dimension (a head's shared embedding row, `[1, D]`)
        let first = match spec.shape.first() {
            Some(Dim::Fixed(n)) => usize::try_from(*n).ok()?,
            _ => 3,
        };
        let mut shape = vec![first];
        for d in spec.fixed_tail()? {
            shape.push(usize::try_from(d).ok()?);
        }
        let data: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| next())
            .collect();
        values.push(Tensor::from_shape(&shape, &data).ok()?.into());
    }
    Some(values)
}

fn run_f32(plan: &Arc<TypedRunnableModel>, inputs: TVec<TValue>) -> TractResult<Vec<f32>> {
    let out = plan.run(inputs)?;
    let first = out.first().ok_or_else(|| anyhow::anyhow!("no output"))?;
    Ok(first
        .to_plain_array_view::<f32>()?
        .iter()
        .copied()
        .collect())
}

/// How far an NNEF export's outputs are from its ONNX graph's on deterministic probe inputs.
pub fn max_difference(entry: &ModelEntry, onnx: &[u8], nnef: &[u8]) -> TractResult<f32> {
    let inputs = probe_inputs(entry)
        .ok_or_else(|| anyhow::anyhow!("the manifest's input shapes are not fixed"))?;
    let a = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])?
        .into_optimized()?
        .into_runnable()?;
    let b = tract_nnef::nnef()
        .model_for_read(&mut &nnef[..])?
        .into_optimized()?
        .into_runnable()?;
    let (x, y) = (run_f32(&a, inputs.clone())?, run_f32(&b, inputs)?);
    anyhow::ensure!(
        x.len() == y.len(),
        "output sizes {} and {}",
        x.len(),
        y.len()
    );
    Ok(x.iter()
        .zip(&y)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max))
}

/// Checks `dir`'s committed NNEF files against their ONNX graphs, writing nothing: each ONNX
/// entry must have its `_nnef` entry, the file must have the manifest's sha256, and its outputs
/// must equal the ONNX graph's within [`CHECK_TOLERANCE`] on probe inputs. (tract names some
/// nodes differently from run to run, so a fresh export is compared by function, not bytes.)
pub fn check_dir(dir: &Path) -> Result<Vec<Exported>, ExportError> {
    let manifest_path = dir.join("manifest.json");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    let text = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let manifest = Manifest::from_json(&text).map_err(|e| ExportError::Manifest {
        path: manifest_path.clone(),
        reason: e.to_string(),
    })?;
    let mut report = Vec::new();
    for onnx_entry in manifest.models.iter().filter(|m| m.format == Format::Onnx) {
        let name = nnef_name(&onnx_entry.name);
        let entry = manifest
            .models
            .iter()
            .find(|m| m.name == name && m.format == Format::Nnef);
        let mut out = Exported {
            name: name.clone(),
            from: onnx_entry.name.clone(),
            file: nnef_file(&onnx_entry.file),
            sha256: String::new(),
            bytes: 0,
            up_to_date: Some(false),
        };
        if let Some(entry) = entry {
            let onnx_path = dir.join(&onnx_entry.file);
            let onnx = std::fs::read(&onnx_path).map_err(io(&onnx_path))?;
            let nnef_path = dir.join(&entry.file);
            if let Ok(nnef) = std::fs::read(&nnef_path) {
                out.sha256 = sha256_hex(&nnef);
                out.bytes = nnef.len() as u64;
                if entry.file == out.file && entry.sha256 == out.sha256 {
                    let diff = max_difference(onnx_entry, &onnx, &nnef).map_err(|e| {
                        ExportError::Convert {
                            file: entry.file.clone(),
                            reason: format!("{e:#}"),
                        }
                    })?;
                    out.up_to_date = Some(diff <= CHECK_TOLERANCE);
                }
            }
        }
        report.push(out);
    }
    Ok(report)
}
