//! # vectune-truth: the datasets
//!
//! The training and evaluation data of vectune's models, labelled with the measuring instrument
//! (`vectune-measure`, re-exported here: [`vectorize`], [`render`], [`ssim`], [`measure`]; see
//! this crate's `README.md`): `synth` draws synthetic logos, `sources` reads the real logo
//! packages, `dataset` plans and builds labelled sets (the `vectune-dataset` CLI), `metrics`
//! scores predictions against labels and `calibrate` fits the core's heuristic.

pub mod calibrate;
pub mod dataset;
pub mod error;
pub mod metrics;
pub mod sources;
pub mod synth;

pub use error::TruthError;
pub use vectune_measure::{Measurement, measure, measure_with_clock, render, ssim, vectorize};
