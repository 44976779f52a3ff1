//! # vectune-tract
//!
//! tract as a vectune runtime, written once for both of its users: the native `tract` backend
//! parses ONNX files (tract-onnx), the browser parses tract's NNEF exports (tract-nnef); each
//! hands the parsed [`TypedModel`] to [`TractGraph::new`], which optimises and plans it (the
//! dynamic batch stays symbolic) and runs it as the core's [`Graph`]. A plan is `Send + Sync` and
//! one run uses one thread, so many threads can run one graph at once without oversubscribing.

use std::sync::Arc;

use tract_core::internal::DimLike;
use tract_core::prelude::*;
use vectune_core::error::Error;
use vectune_core::graph::{Feed, Graph, feed};

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("tract: {e}"))
}

/// A planned tract model.
pub struct TractGraph {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
}

impl TractGraph {
    /// Optimises and plans a parsed model.
    pub fn new(model: TypedModel) -> Result<TractGraph, Error> {
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
        Ok(TractGraph { plan, inputs })
    }
}

impl Graph for TractGraph {
    fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// Shapes are checked against the graph's (rank, fixed dimensions, data length) before it
    /// runs, so raw tensors from a caller (the browser's `runModel`) fail with an error naming the
    /// input instead of inside tract.
    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
        let mut values: TVec<TValue> = tvec![];
        for (i, name) in self.inputs.iter().enumerate() {
            let (_, shape, data) = feed(feeds, name)?;
            let fact = self.plan.model().input_fact(i).map_err(runtime)?;
            let fixed: Vec<Option<usize>> = fact.shape.iter().map(|d| d.to_usize().ok()).collect();
            let fits = fixed.len() == shape.len()
                && fixed
                    .iter()
                    .zip(shape)
                    .all(|(f, s)| f.is_none_or(|f| f == *s))
                && shape.iter().product::<usize>() == data.len();
            if !fits {
                let want: Vec<String> = fact.shape.iter().map(|d| d.to_string()).collect();
                return Err(Error::bad_input(
                    name.as_str(),
                    format!(
                        "input `{name}`: shape {shape:?} with {} values does not fit the graph's [{}]",
                        data.len(),
                        want.join(", ")
                    ),
                ));
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
}
