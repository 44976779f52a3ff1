//! Bulk predictions: JSON Lines in, JSON Lines out, in order. Each input line is
//! `{"image": "<path>", "params": {"color_precision": 4, ...}}` (omitted parameters take VTracer's
//! defaults; relative paths are relative to the working directory). Each output line echoes `image`
//! and the complete `params` and adds `ssim` and `source` (`model` | `heuristic`), or carries an
//! `error` for that request alone. Every image is decoded once, and all its parameter sets go
//! through [`crate::predict::predict_params`] together (the image is encoded once).

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use vectune_core::batch::group_by;
use vectune_core::params::Params;

use crate::manager::ModelManager;
use crate::{image, predict};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    image: PathBuf,
    #[serde(default)]
    params: Params,
}

/// Answers every line of `input` (blank lines are skipped); returns the output lines in order and
/// whether any request failed.
pub fn answer(manager: &ModelManager, input: &str) -> (Vec<Value>, bool) {
    let mut out: Vec<Option<Value>> = Vec::new();
    // (output slot, request) for every line that parsed
    let mut requests: Vec<(usize, Request)> = Vec::new();
    for (n, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Request>(line) {
            Ok(r) => {
                requests.push((out.len(), r));
                out.push(None);
            }
            Err(e) => out.push(Some(
                json!({ "line": n + 1, "error": format!("line {}: {e}", n + 1) }),
            )),
        }
    }
    for group in group_by(&requests, |a, b| a.1.image == b.1.image) {
        let path = &requests[group[0]].1.image;
        let params: Vec<Params> = group.iter().map(|&i| requests[i].1.params).collect();
        let name = path.display().to_string();
        let decoded = image::load(path);
        let results = decoded.as_ref().map_err(|e| e.to_string()).and_then(|img| {
            img.view()
                .map(|view| predict::predict_params(manager, &view, &params))
                .map_err(|e| format!("image `{name}`: {e}"))
        });
        for (k, &i) in group.iter().enumerate() {
            let slot = requests[i].0;
            out[slot] = Some(match &results {
                Ok(preds) => json!({
                    "image": name, "params": preds[k].params, "ssim": preds[k].ssim,
                    "source": preds[k].source,
                }),
                Err(e) => json!({ "image": name, "params": params[k], "error": e }),
            });
        }
    }
    let lines: Vec<Value> = out.into_iter().map(|v| v.unwrap_or(Value::Null)).collect();
    let failed = lines.iter().any(|v| v.get("error").is_some());
    (lines, failed)
}
