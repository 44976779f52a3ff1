//! The one error type every caller of the core gets back, with a [`ErrorKind`] that survives to
//! every edge: the CLI turns it into a message and an exit code, the browser package into a JS
//! `Error` with a `kind` property, an HTTP service into a status (400, 503, 429, 500). The
//! modules' own typed errors ([`crate::params::ParamError`], [`crate::image::ImageError`], ...)
//! convert into it with their kind and, for bad input, the field concerned.
//!
//! ```
//! use vectune_core::error::{Error, ErrorKind};
//! use vectune_core::params::Params;
//!
//! let e: Error = Params::from_pairs_with_defaults([("color_precision", 0.0)]).unwrap_err().into();
//! assert_eq!(e.kind(), ErrorKind::BadInput);
//! assert_eq!(e.field(), Some("color_precision"));
//! ```

use alloc::string::{String, ToString};
use core::fmt;

use serde::Serialize;

/// What kind of failure an [`Error`] is: who can fix it, and how an edge reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input is wrong (a parameter, an image, a target); [`Error::field`] names it.
    BadInput,
    /// A model the request needs is not loaded and cannot be (missing, corrupt, evicted and too
    /// large); [`Error::model`] names it.
    ModelUnavailable,
    /// Too much work is queued; the same request may succeed later.
    Overloaded,
    /// A runtime (ONNX Runtime, libtorch, tract, VTracer) failed, or a model answered nonsense.
    Runtime,
}

impl ErrorKind {
    /// The spelling in JSON and in the browser's `error.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadInput => "bad_input",
            ErrorKind::ModelUnavailable => "model_unavailable",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Runtime => "runtime",
        }
    }
}

/// An error with its kind, its message, and what it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    field: Option<String>,
    model: Option<String>,
}

impl Error {
    /// Bad input in `field` (a parameter's name, `image`, `target`, ...).
    pub fn bad_input(field: impl Into<String>, message: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::BadInput,
            message: message.to_string(),
            field: Some(field.into()),
            model: None,
        }
    }

    /// Model `model` cannot be used, for `reason`.
    pub fn unavailable(model: impl Into<String>, reason: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::ModelUnavailable,
            message: reason.to_string(),
            field: None,
            model: Some(model.into()),
        }
    }

    /// Too much work is waiting.
    pub fn overloaded(message: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::Overloaded,
            message: message.to_string(),
            field: None,
            model: None,
        }
    }

    /// A runtime failed.
    pub fn runtime(message: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::Runtime,
            message: message.to_string(),
            field: None,
            model: None,
        }
    }

    /// The same error, said to concern model `model` (unless it already names one).
    pub fn in_model(mut self, model: &str) -> Error {
        if self.model.is_none() {
            self.model = Some(model.to_string());
        }
        self
    }

    /// Its kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What went wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The input field concerned (bad input).
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The model concerned.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }
}

/// The message, prefixed with the model it concerns (unless the message names it in backticks).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.model {
            Some(m) if !self.message.contains(&alloc::format!("`{m}`")) => {
                write!(f, "model `{m}`: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl core::error::Error for Error {}

impl From<crate::params::ParamError> for Error {
    fn from(e: crate::params::ParamError) -> Error {
        let field = e.param().to_string();
        Error::bad_input(field, e)
    }
}

impl From<crate::image::ImageError> for Error {
    fn from(e: crate::image::ImageError) -> Error {
        Error::bad_input("image", e)
    }
}

impl From<crate::preprocess::PreprocessError> for Error {
    fn from(e: crate::preprocess::PreprocessError) -> Error {
        match e {
            crate::preprocess::PreprocessError::Image(e) => e.into(),
            other => Error::runtime(other),
        }
    }
}

impl From<crate::manifest::ManifestError> for Error {
    fn from(e: crate::manifest::ManifestError) -> Error {
        Error::bad_input("manifest", e)
    }
}

impl From<crate::suggest::SuggestError> for Error {
    fn from(e: crate::suggest::SuggestError) -> Error {
        use crate::suggest::SuggestError;
        match e {
            SuggestError::Target(_) => Error::bad_input("target", e),
            SuggestError::Margin(_) => Error::bad_input("margin", e),
            other => Error::unavailable("correlation", other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageRef;
    use crate::suggest::SuggestError;

    #[test]
    fn module_errors_keep_their_kind_and_field() {
        let e: Error = ImageRef::new(&[0; 3], 1, 1).unwrap_err().into();
        assert_eq!((e.kind(), e.field()), (ErrorKind::BadInput, Some("image")));
        let e: Error = SuggestError::Margin(2.0).into();
        assert_eq!((e.kind(), e.field()), (ErrorKind::BadInput, Some("margin")));
        assert_eq!(e.to_string(), "safety margin 2 is not in [0, 1]");
        let e = Error::runtime("boom").in_model("quality_head");
        assert_eq!(e.to_string(), "model `quality_head`: boom");
        assert_eq!(e.model(), Some("quality_head"));
        let e = Error::unavailable("quality_head", "cannot read `quality_head.onnx`");
        assert_eq!(e.kind().as_str(), "model_unavailable");
        assert_eq!(
            e.to_string(),
            "model `quality_head`: cannot read `quality_head.onnx`"
        );
        let e = Error::unavailable("quality_head", "model `quality_head` is not loaded");
        assert_eq!(e.to_string(), "model `quality_head` is not loaded");
    }
}
