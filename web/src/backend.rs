//! The browser's runtime, mirroring `native/src/backends/tract.rs`: the NNEF exports of vectune's
//! ONNX models (`vectune export-nnef`) run by tract, compiled to wasm32 (with `+simd128`), as the
//! core's [`Graph`]; which graph serves which task is the core's `ModelSet`.

use tract_nnef::prelude::*;
use vectune_core::error::Error;
use vectune_core::graph::{Feed, Graph, feed};
use vectune_core::manifest::{Format, ModelEntry};
use vectune_core::models::Loader;

/// The runtime's name, as `status()` reports it.
pub const NAME: &str = "tract-wasm";

fn runtime(e: impl core::fmt::Display) -> Error {
    Error::runtime(format!("tract: {e}"))
}

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
        Ok(Arc::new(NnefGraph::load(bytes)?))
    }
}

/// One loaded graph (tract's NNEF form of an ONNX model).
pub struct NnefGraph {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
}

impl NnefGraph {
    /// Parses, optimises and plans an NNEF model (a tar; the dynamic batch stays symbolic).
    pub fn load(nnef: &[u8]) -> Result<NnefGraph, Error> {
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
        Ok(NnefGraph { plan, inputs })
    }
}

impl Graph for NnefGraph {
    fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// Shapes are checked against the graph's (rank, fixed dimensions, data length) before it
    /// runs: `runModel` feeds what a page gives.
    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
        let mut values: TVec<TValue> = tvec![];
        for (i, name) in self.inputs.iter().enumerate() {
            let (_, shape, data) = feed(feeds, name)?;
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
