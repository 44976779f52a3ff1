//! The libtorch runtime (`tch`, behind the `torch` cargo feature): TorchScript files traced by
//! `models/train/export.py`. A traced module takes its inputs by position, in the order the
//! manifest lists them; feeds arrive by name and are put in that order here. libtorch runs one
//! intra-op thread per call (set once per process) so concurrent requests do not oversubscribe the
//! cores; inference runs without autograd.

use std::sync::Once;

use tch::{CModule, Kind, Tensor};
use vectune_core::error::Error;
use vectune_core::graph::{Feed, Graph, feed};

static THREADS: Once = Once::new();

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("libtorch: {e}"))
}

/// One TorchScript module.
pub struct TorchModel {
    module: CModule,
    inputs: Vec<String>,
}

impl TorchModel {
    /// Loads a TorchScript module from bytes; `inputs` are its forward arguments' names, in order.
    pub fn load(torchscript: &[u8], inputs: &[String]) -> Result<TorchModel, Error> {
        THREADS.call_once(|| {
            tch::set_num_threads(1);
            tch::set_num_interop_threads(1);
        });
        let mut module =
            CModule::load_data(&mut std::io::Cursor::new(torchscript)).map_err(runtime)?;
        module.set_eval();
        Ok(TorchModel {
            module,
            inputs: inputs.to_vec(),
        })
    }
}

impl Graph for TorchModel {
    fn input_names(&self) -> &[String] {
        &self.inputs
    }

    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
        let mut args = Vec::with_capacity(self.inputs.len());
        for name in &self.inputs {
            let (_, shape, data) = feed(feeds, name)?;
            let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            if shape.iter().product::<usize>() != data.len() {
                return Err(runtime(format!(
                    "input `{name}`: shape {shape:?} does not hold {} values",
                    data.len()
                )));
            }
            let t = Tensor::f_from_slice(data)
                .and_then(|t| t.f_reshape(&dims))
                .map_err(runtime)?;
            args.push(t);
        }
        let out = tch::no_grad(|| self.module.forward_ts(&args)).map_err(runtime)?;
        let flat = out
            .f_to_kind(Kind::Float)
            .and_then(|t| t.f_reshape([-1]))
            .map_err(runtime)?;
        Vec::<f32>::try_from(&flat).map_err(runtime)
    }
}
