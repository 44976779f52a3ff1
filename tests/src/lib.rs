//! Cross-crate behaviour tests live in `tests/tests/`; the golden fixtures they and every backend
//! share live in `tests/fixtures/`. This library only locates them.

use std::path::PathBuf;

/// The `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A file under `tests/fixtures/golden`.
pub fn golden(name: &str) -> PathBuf {
    fixtures().join("golden").join(name)
}
