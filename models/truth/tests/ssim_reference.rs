//! The instrument agrees with scikit-image (reference values from `ssim_reference.py`, committed
//! in `fixtures/ssim/reference.json`) within the stated tolerance (1e-3), and `measure` reproduces
//! the Python VTracer + resvg + scikit-image pipeline on a real round trip.

use std::path::PathBuf;

use vectune_core::{image::ImageRef, params::Params};
use vectune_truth::{measure::measure_with_svg, render::Renderer, ssim};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ssim")
        .join(name)
}

fn load(name: &str) -> (Vec<u8>, u32, u32) {
    let img = image::open(fixture(name)).unwrap().into_rgba8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w, h)
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap()
}

#[test]
fn ssim_matches_scikit_image() {
    let r = reference();
    let tol = r["tolerance"].as_f64().unwrap();
    let pairs = r["pairs"].as_array().unwrap();
    assert!(pairs.len() >= 4);
    for p in pairs {
        let (a, w, h) = load(p["a"].as_str().unwrap());
        let (b, w2, h2) = load(p["b"].as_str().unwrap());
        assert_eq!((w, h), (w2, h2));
        let got = ssim::ssim(&a, &b, w, h, "pair").unwrap();
        let want = p["ssim"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= tol,
            "{}: {got} vs scikit-image {want}",
            p["what"]
        );
        // In fact the agreement is far tighter than the tolerance.
        assert!((got - want).abs() < 1e-6, "{}: {got} vs {want}", p["what"]);
    }
}

#[test]
fn measure_reproduces_the_python_pipeline() {
    let r = reference();
    let p = r["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["a"] == "vtracer_a.png")
        .expect("the VTracer pair");
    let params: Params = serde_json::from_value(p["params"].clone()).unwrap();
    let (a, w, h) = load("vtracer_a.png");
    let (m, svg) = measure_with_svg(
        &ImageRef::new(&a, w, h).unwrap(),
        &params,
        &Renderer::new(),
        "vtracer_a",
    )
    .unwrap();
    assert!(svg.starts_with("<?xml") || svg.contains("<svg"), "{svg}");
    assert_eq!(m.svg_bytes, svg.len());
    assert!(m.path_count >= 1);
    let want = p["ssim"].as_f64().unwrap();
    assert!(
        (m.ssim - want).abs() <= r["tolerance"].as_f64().unwrap(),
        "measure {} vs Python pipeline {want}",
        m.ssim
    );
}
