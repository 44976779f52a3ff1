//! Errors of the native layer: the core's typed errors plus I/O and decoding, each naming the
//! file or value concerned. Binaries convert them to a one-line message at their edge.

use std::path::PathBuf;

/// Everything that can go wrong in `vectune-native`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NativeError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a decodable PNG or JPEG.
    #[error("cannot decode image `{path}`: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// Decoded pixels the core rejects (zero size, too large).
    #[error("image `{path}`: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The core's reason.
        source: vectune_core::image::ImageError,
    },
    /// A parameter the core rejects.
    #[error(transparent)]
    Param(#[from] vectune_core::params::ParamError),
    /// A `--param` argument that is not `name=value` with a number.
    #[error("invalid --param `{arg}`: {reason}")]
    ParamSyntax {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl NativeError {
    /// Its kind, as the core's errors have one: everything here is the caller's input.
    pub fn kind(&self) -> vectune_core::error::ErrorKind {
        vectune_core::error::ErrorKind::BadInput
    }
}

/// The core's error with its kind and field: files and pixels are the `image`, parameters their own.
impl From<NativeError> for vectune_core::error::Error {
    fn from(e: NativeError) -> Self {
        match e {
            NativeError::Param(p) => p.into(),
            NativeError::ParamSyntax { .. } => vectune_core::error::Error::bad_input("param", e),
            other => vectune_core::error::Error::bad_input("image", other),
        }
    }
}

/// What a caught panic said (its `&str` or `String` payload), for the error that replaces it.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}
