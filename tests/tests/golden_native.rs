//! The native image loader and the core agree with the golden fixture: what a server decodes from
//! the file is what the reference tensor was computed from, and the heuristic the CLI reports is
//! the core's.

use vectune_core::{features, heuristic, params::Params, preprocess};
use vectune_native::{image, predict};
use vectune_tests::golden;

#[test]
fn native_decode_then_core_preprocess_matches_reference() {
    let img = image::load(&golden("logo.png")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden("preprocess.json")).unwrap()).unwrap();
    assert_eq!((img.width, img.height), (61, 37));
    let t = preprocess::preprocess(&img.pixels, img.width, img.height).unwrap();
    let tol = expected["tolerance"]["value"].as_f64().unwrap();
    for s in expected["samples"].as_array().unwrap() {
        let i = s[0].as_u64().unwrap() as usize;
        assert!(
            (f64::from(t[i]) - s[1].as_f64().unwrap()).abs() <= tol,
            "value {i}"
        );
    }
}

#[test]
fn native_prediction_is_the_core_heuristic() {
    let img = image::load(&golden("logo.png")).unwrap();
    let view = img.view().unwrap();
    let params = Params::clamped([("color_precision", 2.0)]).unwrap();
    let p = predict::heuristic_prediction(&view, params);
    assert_eq!(p.source, predict::Source::Heuristic);
    assert_eq!(
        p.ssim,
        heuristic::estimate(&features::compute(&view), &params)
    );
}
