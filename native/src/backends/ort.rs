//! The ONNX Runtime runtime (`ort`, `load-dynamic`). One environment per process, created on first
//! use from `ORT_DYLIB_PATH` or the library `build.rs` fetched. `ort`'s `Session::run` takes
//! `&mut`, so each model is a small pool of sessions ([`Threads::sessions`], by default one per
//! core of the CPU quota): concurrent requests for one model run at once, each on a free session,
//! and each session's intra-/inter-op thread counts are set so that sessions times threads does
//! not oversubscribe the cores.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use vectune_core::error::Error;
use vectune_core::graph::{Feed, Graph, feed};

use super::Threads;

static ENVIRONMENT: OnceLock<Result<(ort::environment::Environment, String), String>> =
    OnceLock::new();

/// The file name of the ONNX Runtime library this build speaks to (`api-31`).
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// The library path to load: `ORT_DYLIB_PATH`; else beside the executable or in `../lib/` of its
/// directory (an installed release: `bin/vectune` and `lib/libonnxruntime.so.1.31.1`); else, in a
/// development checkout, the one `build.rs` fetched (when it still exists).
fn library() -> Result<String, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(p.to_string_lossy().into_owned());
    }
    if let Some(dir) = crate::install_dir() {
        for candidate in [
            dir.join(LIBRARY_FILE),
            dir.join("../lib").join(LIBRARY_FILE),
        ] {
            if candidate.exists() {
                return Ok(candidate.to_string_lossy().into_owned());
            }
        }
    }
    let baked = env!("VECTUNE_ORT_DYLIB");
    if baked.is_empty() {
        return Err(format!(
            "no {LIBRARY_FILE} beside the executable or in ../lib, and ORT_DYLIB_PATH is not set"
        ));
    }
    if !std::path::Path::new(baked).exists() {
        return Err(format!(
            "no {LIBRARY_FILE} beside the executable or in ../lib, {baked} does not exist, and ORT_DYLIB_PATH is not set"
        ));
    }
    Ok(baked.to_string())
}

/// Loads ONNX Runtime once; returns the library path, or why it cannot be used.
pub fn environment() -> Result<String, String> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = library()?;
            let env = ort::init_from(&lib)
                .map_err(|e| format!("cannot load {lib}: {e}"))?
                .with_name("vectune")
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime from {lib}: {e}"))?;
            Ok((env, lib))
        })
        .as_ref()
        .map(|(_, lib)| lib.clone())
        .map_err(Clone::clone)
}

fn runtime(e: impl std::fmt::Display) -> Error {
    Error::runtime(format!("ONNX Runtime: {e}"))
}

/// One ONNX model: a pool of sessions over the same bytes.
pub struct OrtModel {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    inputs: Vec<String>,
}

fn lock(m: &Mutex<Session>) -> MutexGuard<'_, Session> {
    // A session whose run panicked is still a valid session (ONNX Runtime holds no Rust state).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OrtModel {
    /// Creates `threads.sessions` sessions from model bytes.
    pub fn load(onnx: &[u8], threads: &Threads) -> Result<OrtModel, Error> {
        environment().map_err(Error::runtime)?;
        let env = match ENVIRONMENT.get() {
            Some(Ok((env, _))) => env,
            _ => return Err(runtime("not initialised")),
        };
        let sessions = (0..threads.sessions.max(1))
            .map(|_| {
                Session::builder(env)
                    .map_err(runtime)?
                    .with_intra_threads(threads.intra_op.max(1))
                    .map_err(runtime)?
                    .with_inter_threads(threads.inter_op.max(1))
                    .map_err(runtime)?
                    .with_memory_pattern(threads.arena)
                    .map_err(runtime)?
                    .with_execution_providers([ort::ep::CPU::default()
                        .with_arena_allocator(threads.arena)
                        .build()])
                    .map_err(runtime)?
                    .commit_from_memory(onnx)
                    .map_err(runtime)
            })
            .collect::<Result<Vec<Session>, Error>>()?;
        let inputs = sessions[0]
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        Ok(OrtModel {
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            inputs,
        })
    }

    /// How many sessions run this model at once.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// The most runs that were in progress at the same time so far.
    pub fn peak_concurrent_runs(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// A free session (trying each once, starting after the last one handed out), else a wait for
    /// the next in turn.
    fn session(&self) -> MutexGuard<'_, Session> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.sessions[(start + i) % n].try_lock() {
                Ok(s) => return s,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.sessions[start])
    }
}

impl Graph for OrtModel {
    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(self.inputs.len());
        for name in &self.inputs {
            let (_, shape, data) = feed(feeds, name)?;
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let tensor = Tensor::from_array((shape, data.to_vec())).map_err(runtime)?;
            inputs.push((Cow::Owned(name.clone()), tensor.into()));
        }
        let mut session = self.session();
        let now = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let outputs = session.run(inputs);
        self.running.fetch_sub(1, Ordering::Relaxed);
        let outputs = outputs.map_err(runtime)?;
        let (_, first) = outputs
            .iter()
            .next()
            .ok_or_else(|| runtime("the model returned no output"))?;
        let (_, values) = first.try_extract_tensor::<f32>().map_err(runtime)?;
        Ok(values.to_vec())
    }

    fn input_names(&self) -> &[String] {
        &self.inputs
    }
}
