"""`vectune serve` driven by Triton's own HTTP client (`tritonclient[http]` from PyPI): the Open
Inference Protocol v2 routes answer the way Triton and KServe clients expect. Starts the debug
binary on a free loopback port with the fixture models; JSON tensors only (`binary_data=False`:
the binary extension is not implemented, and not advertised).

Usage: python tests/serve/tritonclient_test.py [path/to/vectune]   (scripts/test.sh runs it)
"""
import json
import pathlib
import subprocess
import sys
import time
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/debug/vectune"
MODELS = ROOT / "tests/fixtures/models"


def main() -> int:
    server = subprocess.Popen(
        [str(BINARY), "--models", str(MODELS), "--backend", "ort", "serve", "--addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline().strip()
        assert line.startswith("listening on http://"), line
        host = line.removeprefix("listening on http://")
        client = httpclient.InferenceServerClient(url=host)
        assert client.is_server_live()
        deadline = time.time() + 120
        while not client.is_server_ready():
            assert time.time() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        meta = client.get_server_metadata()
        assert meta["name"] == "vectune" and meta["extensions"] == [], meta
        assert client.is_model_ready("quality_head")

        head = client.get_model_metadata("quality_head")
        assert [i["name"] for i in head["inputs"]] == ["embedding", "params"], head
        assert head["inputs"][0]["shape"] == [-1, 96] and head["outputs"][0]["name"] == "ssim", head

        rng = np.random.default_rng(0)
        embedding = rng.random((3, 96), dtype=np.float32)
        params = rng.random((3, 8), dtype=np.float32)
        inputs = [httpclient.InferInput("embedding", [3, 96], "FP32"),
                  httpclient.InferInput("params", [3, 8], "FP32")]
        inputs[0].set_data_from_numpy(embedding, binary_data=False)
        inputs[1].set_data_from_numpy(params, binary_data=False)
        outputs = [httpclient.InferRequestedOutput("ssim", binary_data=False)]
        result = client.infer("quality_head", inputs, outputs=outputs, request_id="r1")
        ssim = result.as_numpy("ssim")
        assert ssim.shape == (3, 1) and ssim.dtype == np.float32, (ssim.shape, ssim.dtype)
        assert result.get_response()["id"] == "r1"

        # The same rows one at a time give the same numbers (no cross-row effects).
        for row in range(3):
            one = [httpclient.InferInput("embedding", [1, 96], "FP32"),
                   httpclient.InferInput("params", [1, 8], "FP32")]
            one[0].set_data_from_numpy(embedding[row:row + 1], binary_data=False)
            one[1].set_data_from_numpy(params[row:row + 1], binary_data=False)
            got = client.infer("quality_head", one, outputs=outputs).as_numpy("ssim")
            assert abs(float(got[0, 0]) - float(ssim[row, 0])) <= 1e-6, (got, ssim[row])

        # The combined model through the same client, with the statistics input it declares.
        q = client.get_model_metadata("quality_predictor")
        feeds = []
        for spec in q["inputs"]:
            shape = [1] + spec["shape"][1:]
            t = httpclient.InferInput(spec["name"], shape, "FP32")
            t.set_data_from_numpy(np.full(shape, 0.5, dtype=np.float32), binary_data=False)
            feeds.append(t)
        out = client.infer("quality_predictor", feeds).as_numpy("ssim")
        assert out.shape == (1, 1) and np.isfinite(out).all(), out

        # Errors come back as the client's exception with the server's message.
        bad = [httpclient.InferInput("embedding", [1, 95], "FP32"),
               httpclient.InferInput("params", [1, 8], "FP32")]
        bad[0].set_data_from_numpy(np.zeros((1, 95), dtype=np.float32), binary_data=False)
        bad[1].set_data_from_numpy(np.zeros((1, 8), dtype=np.float32), binary_data=False)
        try:
            client.infer("quality_head", bad)
            raise AssertionError("a wrong shape was accepted")
        except InferenceServerException as e:
            assert "does not fit" in str(e), e
        try:
            client.get_model_metadata("no_such_model")
            raise AssertionError("an unknown model was found")
        except InferenceServerException as e:
            assert "no model" in str(e), e

        with urllib.request.urlopen(f"http://{host}/metrics") as r:
            text = r.read().decode()
        assert 'vectune_requests_total{code="200",route="/v2/models/{model}/infer"} 5' in text, text
        print("tritonclient: live, ready, metadata, infer (batch and rows), errors: ok")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
