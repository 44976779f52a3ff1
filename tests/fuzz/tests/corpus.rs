//! Every committed fuzz input, replayed through its target's function on stable: the minimised
//! corpora (`fuzz/corpus/TARGET/`, what the fuzzer's coverage grew from the seeds) and every crash
//! the fuzzer found (`fuzz/regressions/TARGET/`, each fixed; a file's name says what it was).

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let corpus = vectune_fuzz::inputs(&root.join("corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target} is empty");
    for path in corpus.iter().chain(&vectune_fuzz::inputs(
        &root.join("regressions").join(target),
    )) {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
    }
}

#[test]
fn image_inputs() {
    replay("image", vectune_fuzz::image);
}

#[test]
fn params_inputs() {
    replay("params", vectune_fuzz::params);
}

#[test]
fn manifest_inputs() {
    replay("manifest", vectune_fuzz::manifest);
}

#[test]
fn correlation_inputs() {
    replay("correlation", vectune_fuzz::correlation);
}

#[cfg(feature = "service")]
#[test]
fn http_inputs() {
    replay("http", vectune_fuzz::http);
}

#[test]
fn browser_inputs() {
    replay("browser", vectune_fuzz::browser);
}
