//! # vectune-fuzz
//!
//! What each fuzz target does with one input, one function per input surface; `fuzz/` holds the
//! cargo-fuzz targets that call them (`scripts/fuzz.sh`), and `tests/corpus.rs` replays the
//! committed corpora (`fuzz/corpus/TARGET/`) and every crash found (`fuzz/regressions/TARGET/`)
//! through the same functions on stable. A function returns quietly on input the code refuses with
//! a typed error; it panics (a finding) on a panic anywhere below it, on an answer that breaks an
//! invariant (a tensor with NaN, a round trip that changes a value), or on a 500 from the service.
//!
//! | target | the surface |
//! |---|---|
//! | [`image`] | image bytes (a file, an upload, a base64 field) -> decode -> features, preprocessing, heuristic |
//! | [`params`] | parameters as the CLI takes them (`name=value` words; feature `service`) and as JSON (HTTP bodies, the browser's objects) |
//! | [`manifest`] | `manifest.json`: parse, validate, and load a model directory from it |
//! | [`correlation`] | the suggester's correlation file: parse, validate, and suggest with it |
//! | `http` | a request (method, route, content type, body) to the service's router, every route (feature `service`) |
//! | [`browser`] | the browser package's entry points, through the Rust functions they call |

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use vectune_core::encoding::EncodingCache;
use vectune_core::error::Error;
use vectune_core::features;
use vectune_core::heuristic;
use vectune_core::image::{ImageRef, RgbaImage};
use vectune_core::manifest::{Format, Manifest, ModelEntry};
use vectune_core::models::{self, Loader, ModelSet};
use vectune_core::params::Params;
use vectune_core::predict;
use vectune_core::suggest::{self, CorrelationModels};

/// The committed fixtures (`tests/fixtures`): the golden logo and the small fixture models.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The golden logo, decoded once.
fn logo() -> &'static RgbaImage {
    static LOGO: OnceLock<RgbaImage> = OnceLock::new();
    LOGO.get_or_init(|| {
        let bytes = std::fs::read(fixtures().join("golden/logo.png")).expect("the golden logo");
        vectune_core::image::decode(&bytes).expect("the golden logo decodes")
    })
}

/// Everything the core computes from pixels without a model, with its invariants.
fn analyse(image: &ImageRef<'_>, params: &Params) {
    let f = features::compute(image);
    let vector = f.vector();
    assert!(
        vector.iter().all(|v| v.is_finite()),
        "features not finite: {vector:?}"
    );
    let q = heuristic::estimate(&f, params);
    assert!((0.0..=1.0).contains(&q), "heuristic {q} outside [0, 1]");
    let tensor = vectune_core::preprocess::preprocess(image.data(), image.width(), image.height())
        .expect("a validated image preprocesses");
    assert!(tensor.iter().all(|v| v.is_finite()), "preprocessed NaN");
    let _ = suggest::feature_vector(&f);
}

/// Image bytes: the one decoder (`vectune_core::image::decode`, used by the CLI, the service and
/// the browser), then features, preprocessing and the heuristic on what it returns.
pub fn image(data: &[u8]) {
    let Ok(img) = vectune_core::image::decode(data) else {
        return;
    };
    let view = img.view().expect("decode returns a valid image");
    analyse(&view, &Params::default());
}

/// A validated parameter set survives encoding (`decode(encode(p))` is `p` to f32 precision), every
/// input in [0, 1].
fn round_trip(p: &Params) {
    let encoded = p.encode();
    assert!(
        encoded.iter().all(|x| (0.0..=1.0).contains(x)),
        "{p:?} encodes to {encoded:?}"
    );
    let back = Params::decode(&encoded).expect("an encoding decodes");
    // the encoding is f32: a value comes back within f32's precision, and encodes the same
    for ((name, a), (_, b)) in back.iter().zip(p.iter()) {
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "{name}: {b} came back as {a}"
        );
    }
    assert_eq!(back.encode(), encoded, "round trip through the encoding");
}

/// Parameters in the CLI's form (`name=value` words, as `vectune predict` takes them) and as JSON
/// (the HTTP bodies' `params`, the browser's parameter objects: the same `Deserialize`).
pub fn params(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    #[cfg(feature = "service")]
    if let Ok(p) =
        vectune_native::params::from_assignments(&text.split_whitespace().collect::<Vec<_>>())
    {
        round_trip(&p);
    }
    if let Ok(p) = serde_json::from_str::<Params>(text) {
        round_trip(&p);
    }
    if let Ok(list) = serde_json::from_str::<Vec<Params>>(text) {
        list.iter().for_each(round_trip);
    }
}

/// A loader that refuses every file (the fuzz targets exercise the manifest's paths, not a
/// runtime).
struct Refuse;

impl Loader for Refuse {
    fn backend(&self) -> &str {
        "refuse"
    }
    fn format(&self) -> Format {
        Format::Onnx
    }
    fn load(
        &self,
        entry: &ModelEntry,
        _: &[u8],
    ) -> Result<Arc<dyn vectune_core::graph::Graph>, Error> {
        Err(Error::runtime(format!(
            "{}: no runtime in this target",
            entry.name
        )))
    }
}

/// The fixture model directory's file, if the name is one of its files (never a path outside it).
fn fixture_file(name: &str) -> Result<Vec<u8>, String> {
    let dir = fixtures().join("models");
    let path = dir.join(name);
    if name.contains('/') || name.contains('\\') || name.starts_with('.') || !path.is_file() {
        return Err(format!("no fixture file `{name}`"));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// `manifest.json`: parse and validate, the accessors every front end calls, and a model
/// directory's load from it (each listed file's checksum checked, the correlation file parsed).
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Manifest::from_json(text) {
        m.validate().expect("from_json validates");
        for e in &m.models {
            let _ = (e.warmup_inputs(), e.embedding_dim(), e.classes());
            let _ = (e.stats_input(), e.shares_embedding());
            for t in e.inputs.iter().chain(&e.outputs) {
                let _ = (t.fixed_tail(), e.input(&t.name));
            }
        }
    }
    let loaded = models::load_all(
        text,
        &Refuse,
        |entry| fixture_file(&entry.file).map_err(|why| Error::unavailable(&entry.name, why)),
        1,
        &|| 0.0,
    );
    assert!(
        loaded.manifest_error.is_some() || loaded.models.quality_path().is_none(),
        "a refusing loader loaded a model"
    );
}

/// The suggester's correlation file: parse and validate, then suggest for the golden logo with it
/// (its start, its size model over every candidate, the choice).
pub fn correlation(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = CorrelationModels::from_json(text) else {
        return;
    };
    let view = logo().view().expect("the golden logo");
    let f = suggest::feature_vector(&features::compute(&view));
    for class in [None, Some("text"), Some("unknown class")] {
        let start = c.start(&f, class);
        for p in suggest::candidates_with_defaults(&start) {
            let _ = c.svg_bytes(&p, &f);
        }
    }
    let _ = suggest::suggest(&ModelSet::none(), Some(&c), &view, 0.9, 0.02);
}

#[cfg(feature = "service")]
/// The service in-process: the router of `vectune serve` on the fixture models (tract), built
/// once, and the runtime that drives it.
fn service() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static SERVICE: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let mut config = vectune_native::serve::Config::new(fixtures().join("models"));
        config.backend = "tract".parse().expect("tract");
        config.workers = 1;
        let state = vectune_native::serve::AppState::new(config);
        state.load_models();
        assert!(state.is_ready(), "{:?}", state.not_ready_reason());
        let router = vectune_native::serve::router(state);
        (runtime, router)
    })
}

#[cfg(feature = "service")]
/// One request: the input's first line is `METHOD PATH [CONTENT-TYPE]`, the rest the body (the
/// corpus holds real requests in this form). Whatever it is, the answer is never a 500: a client's
/// mistake is a 4xx naming it.
pub fn http(data: &[u8]) {
    use tower::ServiceExt;
    let Some(newline) = data.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(head) = std::str::from_utf8(&data[..newline]) else {
        return;
    };
    let mut words = head.split(' ');
    let (Some(method), Some(path)) = (words.next(), words.next()) else {
        return;
    };
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(kind) = words.next() {
        request = request.header("content-type", kind);
    }
    let Ok(request) = request.body(axum::body::Body::from(data[newline + 1..].to_vec())) else {
        return;
    };
    let (runtime, router) = service();
    let (status, body) = runtime.block_on(async {
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (status, body)
    });
    assert!(
        status != axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "{method} {path}: 500 {}",
        String::from_utf8_lossy(&body)
    );
}

/// Raw pixels as the browser's `predict`, `features` and `suggest` take them: two little-endian
/// `u16`s (width, height), the rest the RGBA buffer (of any length: the binding checks it).
fn pixels(data: &[u8]) -> Option<(u32, u32, &[u8])> {
    let (size, rgba) = data.split_at_checked(4)?;
    let w = u32::from(u16::from_le_bytes([size[0], size[1]]));
    let h = u32::from(u16::from_le_bytes([size[2], size[3]]));
    Some((w, h, rgba))
}

/// The browser package's entry points through the Rust functions they call; the first byte picks
/// the entry point, the rest is its argument:
/// - 0 `decodeImage(bytes)`, then `features` and `heuristic` on the pixels;
/// - 1 `validateParams(object)` and `heuristic(rgba, w, h, object)` (a JS object reaches the core
///   through the same `Deserialize` as this JSON);
/// - 2 `new Vectune(manifest, models)` with the fixture files as the models' bytes;
/// - 3 `predict`, `predictParams` and `suggest` on raw pixels without models (the heuristic
///   fallback the page uses before its models arrive).
pub fn browser(data: &[u8]) {
    let Some((&entry, rest)) = data.split_first() else {
        return;
    };
    match entry % 4 {
        0 => image(rest),
        1 => {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) else {
                return;
            };
            if let Ok(p) = Params::deserialize(&value) {
                round_trip(&p);
                analyse(&logo().view().expect("the golden logo"), &p);
            }
        }
        2 => manifest(rest),
        _ => {
            let Some((w, h, rgba)) = pixels(rest) else {
                return;
            };
            let Ok(view) = ImageRef::new(rgba, w, h) else {
                return;
            };
            let encodings = RefCell::new(EncodingCache::new(1 << 20));
            let params = [Params::default()];
            let out = predict::predict_cached(&ModelSet::none(), &encodings, &view, &params);
            assert_eq!(out.len(), 1);
            analyse(&view, &params[0]);
            let _ = suggest::suggest(&ModelSet::none(), None, &view, 0.9, 0.02);
        }
    }
}

/// The files under `dir` (a corpus or a regressions folder), sorted; none if it does not exist.
pub fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
