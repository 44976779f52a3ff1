//! The tract runtime: ONNX models run by `tract-onnx`, pure Rust. A plan is `Send + Sync` and one
//! inference runs on one thread, so many threads can predict at once without oversubscribing.

use std::sync::Arc;

use tract_onnx::prelude::*;
use vectune_core::error::Error;
use vectune_core::graph::{Feed, Graph, feed};

/// One loaded ONNX model.
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
}

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("tract: {e}"))
}

impl TractModel {
    /// Parses, optimises and plans an ONNX model (dynamic batch kept symbolic).
    pub fn load(onnx: &[u8]) -> Result<TractModel, Error> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(runtime)?
            .into_typed()
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
        Ok(TractModel { plan, inputs })
    }
}

impl Graph for TractModel {
    fn input_names(&self) -> &[String] {
        &self.inputs
    }

    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
        let mut values: TVec<TValue> = tvec![];
        for name in &self.inputs {
            let (_, shape, data) = feed(feeds, name)?;
            values.push(Tensor::from_shape(shape, data).map_err(runtime)?.into());
        }
        let outputs = self.plan.run(values).map_err(runtime)?;
        let first = outputs
            .first()
            .ok_or_else(|| runtime("the model returned no output"))?;
        let view = first.to_plain_array_view::<f32>().map_err(runtime)?;
        Ok(view.iter().copied().collect())
    }
}
