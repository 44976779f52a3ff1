//! Fetches ONNX Runtime's shared library for the `ort` backend from the PyPI wheel
//! (`onnxruntime==1.31.1`, the only registry that carries it here), so no manual step is needed on a
//! fresh machine. The path is baked in as `VECTUNE_ORT_DYLIB`. When it cannot be had (no python3,
//! no network, another platform), the build goes on with a warning and `--backend auto` falls back
//! to tract at run time, saying why.

use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = "1.31.1";

fn fetch(out: &Path) -> Result<PathBuf, String> {
    let lib = out.join(format!("libonnxruntime.so.{VERSION}"));
    if lib.exists() {
        return Ok(lib);
    }
    let wheels = out.join("wheel");
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .args([
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.11",
        ])
        .arg(format!("onnxruntime=={VERSION}"))
        .arg("-d")
        .arg(&wheels)
        .status()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    if !status.success() {
        return Err("pip download of the onnxruntime wheel failed".into());
    }
    let wheel = std::fs::read_dir(&wheels)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("no wheel downloaded")?;
    let member = format!("onnxruntime/capi/libonnxruntime.so.{VERSION}");
    let status = Command::new("python3")
        .args(["-c", "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))"])
        .arg(&wheel)
        .arg(&member)
        .arg(&lib)
        .status()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !status.success() || !lib.exists() {
        return Err(format!("cannot extract {member} from {}", wheel.display()));
    }
    let _ = std::fs::remove_dir_all(&wheels);
    Ok(lib)
}

/// With the `torch` feature, binaries and tests find `libtorch_cpu.so` through an rpath to
/// `$LIBTORCH/lib` (the same libtorch `torch-sys` linked against), so no LD_LIBRARY_PATH is needed.
fn torch_rpath() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    if let Some(libtorch) = std::env::var_os("LIBTORCH") {
        let lib = PathBuf::from(libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}

fn main() {
    torch_rpath();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VECTUNE_NO_ORT_FETCH");
    let target = std::env::var("TARGET").unwrap_or_default();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let path = if target != "x86_64-unknown-linux-gnu" {
        Err(format!("no ONNX Runtime wheel is fetched for {target}"))
    } else if std::env::var_os("VECTUNE_NO_ORT_FETCH").is_some() {
        Err("VECTUNE_NO_ORT_FETCH is set".to_string())
    } else {
        fetch(&out)
    };
    match path {
        Ok(p) => println!("cargo:rustc-env=VECTUNE_ORT_DYLIB={}", p.display()),
        Err(e) => {
            println!(
                "cargo:warning=ONNX Runtime not fetched ({e}); the ort backend will be unavailable, tract serves"
            );
            println!("cargo:rustc-env=VECTUNE_ORT_DYLIB=");
        }
    }
}
