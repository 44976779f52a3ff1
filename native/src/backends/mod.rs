//! Inference runtimes implementing the core's [`vectune_core::backend::Backend`]. Each backend
//! holds the models of one runtime, by task; the [`crate::manager::ModelManager`] loads them.
//!
//! Today: [`tract`] (pure Rust, embedded, needs nothing installed). ONNX Runtime (`ort`) and
//! libtorch (`tch`) arrive with the rest of the runtime issue.

pub mod tract;

use serde::Serialize;

/// Which runtime runs the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// tract-onnx.
    Tract,
}

impl BackendKind {
    /// Name as users type it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Tract => "tract",
        }
    }
}
