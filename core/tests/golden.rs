//! The golden preprocessing test: the committed PNG, decoded here, must preprocess to the tensor
//! that the independent numpy reference (`tests/fixtures/golden/make_golden.py`) computed. Every
//! backend's parity test starts from this same tensor.

use vectune_core::{image::ImageRef, preprocess};

const PNG: &[u8] = include_bytes!("../../tests/fixtures/golden/logo.png");
const EXPECTED: &str = include_str!("../../tests/fixtures/golden/preprocess.json");

fn decode_rgba(bytes: &[u8]) -> (Vec<u8>, u32, u32) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("golden PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("golden PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgba, "golden PNG is RGBA");
    buf.truncate(info.buffer_size());
    (buf, info.width, info.height)
}

#[test]
fn golden_png_preprocesses_to_the_reference_tensor() {
    let expected: serde_json::Value = serde_json::from_str(EXPECTED).unwrap();
    let (rgba, w, h) = decode_rgba(PNG);
    assert_eq!((w, h), (61, 37));
    assert_eq!(expected["width"], w);
    let image = ImageRef::new(&rgba, w, h).unwrap();
    let mut t = vec![0.0f32; preprocess::TENSOR_LEN];
    preprocess::preprocess_into(&image, &mut t).unwrap();

    let tol = expected["tolerance"]["value"].as_f64().unwrap();
    let rel = expected["tolerance"]["sum_relative"].as_f64().unwrap();
    let samples = expected["samples"].as_array().unwrap();
    assert!(samples.len() > 100);
    for s in samples {
        let i = s[0].as_u64().unwrap() as usize;
        let v = s[1].as_f64().unwrap();
        assert!(
            (f64::from(t[i]) - v).abs() <= tol,
            "value {i}: {} vs reference {v}",
            t[i]
        );
    }
    let sum: f64 = t.iter().map(|&v| f64::from(v)).sum();
    let sum_abs: f64 = t.iter().map(|&v| f64::from(v).abs()).sum();
    let sum_sq: f64 = t.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    for (name, got) in [("sum", sum), ("sum_abs", sum_abs), ("sum_sq", sum_sq)] {
        let want = expected[name].as_f64().unwrap();
        assert!(
            ((got - want) / want).abs() <= rel,
            "{name}: {got} vs reference {want}"
        );
    }
    let plane = preprocess::INPUT_SIZE * preprocess::INPUT_SIZE;
    for c in 0..3 {
        let mean: f64 = t[c * plane..(c + 1) * plane]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / plane as f64;
        let want = expected["channel_mean"][c].as_f64().unwrap();
        assert!(
            (mean - want).abs() <= tol,
            "channel {c} mean {mean} vs {want}"
        );
    }
    let (min, max) = t
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!((f64::from(min) - expected["min"].as_f64().unwrap()).abs() <= tol);
    assert!((f64::from(max) - expected["max"].as_f64().unwrap()).abs() <= tol);
}
