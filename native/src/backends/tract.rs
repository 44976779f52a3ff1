//! The tract runtime: ONNX models parsed by `tract-onnx`, pure Rust, run by `vectune-tract` (the
//! browser runs the same code on its NNEF exports).

use tract_onnx::prelude::*;
use vectune_core::error::Error;
use vectune_tract::TractGraph;

/// Parses an ONNX model and plans it ([`TractGraph::new`]).
pub fn load(onnx: &[u8]) -> Result<TractGraph, Error> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .and_then(|m| m.into_typed())
        .map_err(|e| Error::runtime(format!("tract: {e}")))?;
    TractGraph::new(model)
}
