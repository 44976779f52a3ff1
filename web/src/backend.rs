//! The browser's runtime, mirroring `native/src/backends/tract.rs`: the NNEF exports of vectune's
//! ONNX models (`vectune export-nnef`) parsed by tract-nnef and run by `vectune-tract` (as the
//! native tract backend runs ONNX), compiled to wasm32 (with `+simd128`); which graph serves which
//! task is the core's `ModelSet`.

use std::sync::Arc;

use tract_nnef::prelude::Framework;
use vectune_core::error::Error;
use vectune_core::graph::Graph;
use vectune_core::manifest::{Format, ModelEntry};
use vectune_core::models::Loader;
use vectune_tract::TractGraph;

/// The runtime's name, as `status()` reports it.
pub const NAME: &str = "tract-wasm";

/// The loader of NNEF files.
pub struct Nnef;

impl Loader for Nnef {
    fn backend(&self) -> &str {
        NAME
    }
    fn format(&self) -> Format {
        Format::Nnef
    }
    fn load(&self, _: &ModelEntry, bytes: &[u8]) -> Result<Arc<dyn Graph>, Error> {
        Ok(Arc::new(load(bytes)?))
    }
}

/// Parses an NNEF model (a tar) and plans it ([`TractGraph::new`]).
pub fn load(nnef: &[u8]) -> Result<TractGraph, Error> {
    let model = tract_nnef::nnef()
        .model_for_read(&mut &nnef[..])
        .map_err(|e| Error::runtime(format!("tract: {e}")))?;
    TractGraph::new(model)
}
