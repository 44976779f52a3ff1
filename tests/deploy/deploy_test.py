"""The deployment files, checked offline: every Kustomization under deploy/ renders with
`kubectl kustomize`; every Kubernetes object validates (strictly) against the Kubernetes 1.32
schemas with `kubernetes-validate`; the KServe objects (whose CRD schemas are not available
offline) have what KServe needs to host vectune over the Open Inference Protocol v2; every probe
names a route the service's OpenAPI document has. Then `vectune export-triton` on the packaged and
the fixture models: every `config.pbtxt` parses into Triton's `ModelConfig` (protobuf text format,
`model_config_pb2` from the tritonclient wheel) and matches the manifest; every `1/model.onnx` is
the manifest's file.

Usage: python tests/deploy/deploy_test.py [path/to/vectune]   (scripts/test.sh runs it)
"""
import hashlib
import importlib.util
import json
import pathlib
import subprocess
import sys
import tempfile

import tritonclient
import yaml
from google.protobuf import text_format

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/debug/vectune"
OPENAPI = json.loads((ROOT / "native/src/serve/openapi.json").read_text())


def model_config_pb2():
    """Triton's generated ModelConfig module, loaded from the tritonclient wheel by path (its
    package `__init__` would import grpc, which the HTTP client does not need)."""
    path = pathlib.Path(tritonclient.__file__).parent / "grpc" / "model_config_pb2.py"
    spec = importlib.util.spec_from_file_location("model_config_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def probes(container):
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        if kind in container:
            yield kind, container[kind]["httpGet"]["path"]


def check_kubernetes():
    checked = 0
    for kustomization in sorted(ROOT.glob("deploy/*/kustomization.yaml")):
        rendered = subprocess.run(["kubectl", "kustomize", str(kustomization.parent)],
                                  check=True, capture_output=True, text=True).stdout
        objects = [o for o in yaml.safe_load_all(rendered) if o]
        assert objects, kustomization
        core = [o for o in objects if not o["apiVersion"].startswith("serving.kserve.io/")]
        if core:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                yaml.safe_dump_all(core, f)
                f.flush()
                result = subprocess.run([str(pathlib.Path(sys.executable).parent / "kubernetes-validate"),
                                         "-k", "1.32.0", "--strict", "--quiet", f.name],
                                        capture_output=True, text=True)
                assert result.returncode == 0, result.stdout + result.stderr
        for o in objects:
            spec = o.get("spec", {})
            containers = []
            if o["kind"] == "Deployment":
                pod = spec["template"]["spec"]
                containers = pod["containers"]
                c = containers[0]
                # the grace period outlasts the preStop pause, the drain delay and the shutdown timeout
                args = dict(a.removeprefix("--").split("=", 1) for a in c["args"] if a.startswith("--") and "=" in a)
                drain = int(args["drain-delay-ms"]) / 1000
                shutdown = int(args["shutdown-timeout-ms"]) / 1000
                pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
                assert pod["terminationGracePeriodSeconds"] > pause + drain + shutdown, (pod, args)
                assert any(m["mountPath"] == "/models" and m["readOnly"] for m in c["volumeMounts"])
            elif o["kind"] == "ServingRuntime":
                assert spec["protocolVersions"] == ["v2"], spec
                assert spec["supportedModelFormats"][0]["name"] == "onnx"
                containers = spec["containers"]
                assert containers[0]["name"] == "kserve-container"
            elif o["kind"] == "InferenceService":
                model = spec["predictor"]["model"]
                assert model["runtime"] == "vectune" and model["protocolVersion"] == "v2", model
            for c in containers:
                assert c["args"][0] == "serve", c["args"]
                for kind, path in probes(c):
                    assert path in OPENAPI["paths"], f"{kustomization}: {kind} {path} is not a route"
            checked += 1
    return checked


def check_triton():
    pb2 = model_config_pb2()
    exported = 0
    for models in (ROOT / "models", ROOT / "tests/fixtures/models"):
        manifest = json.loads((models / "manifest.json").read_text())
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([str(BINARY), "--models", str(models), "export-triton", out, "--json"],
                           check=True, capture_output=True)
            onnx = [m for m in manifest["models"] if m["format"] == "onnx"]
            assert sorted(p.name for p in pathlib.Path(out).iterdir()) == sorted(m["name"] for m in onnx)
            for m in onnx:
                d = pathlib.Path(out) / m["name"]
                cfg = text_format.Parse((d / "config.pbtxt").read_text(), pb2.ModelConfig())
                assert cfg.name == m["name"] and cfg.platform == "onnxruntime_onnx"
                batched = cfg.max_batch_size > 0
                assert batched == cfg.HasField("dynamic_batching"), cfg
                for got, want in ((cfg.input, m["inputs"]), (cfg.output, m["outputs"])):
                    assert [t.name for t in got] == [t["name"] for t in want], (got, want)
                    for t, w in zip(got, want):
                        assert t.data_type == pb2.TYPE_FP32
                        shape = [-1 if isinstance(x, str) else x for x in w["shape"]]
                        assert list(t.dims) == (shape[1:] if batched else shape), (m["name"], t, w)
                digest = hashlib.sha256((d / "1" / "model.onnx").read_bytes()).hexdigest()
                assert digest == m["sha256"], m["name"]
                exported += 1
    return exported


def main():
    objects = check_kubernetes()
    models = check_triton()
    print(f"deploy: {objects} objects render and validate, {models} Triton configs parse and match: ok")


if __name__ == "__main__":
    main()
