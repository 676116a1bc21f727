"""Time the FarSLIP text and image towers (full size, random weights) in ONNX Runtime on the CPU.

The reference point for the burn encoders' latency in docs/benchmarks.md. The script builds
open_clip's ViT-B-16 with FarSLIP's 248-token LongCLIP text input (the class from
dev/make_encoder_fixtures.py), exports each tower with torch.onnx, and prints one JSON line per
tower: first run and median of the next runs, with the thread count. Nothing is downloaded.

    pip install torch==2.15.0 open-clip-torch==3.3.0 onnx onnxscript onnxruntime
    python3 dev/bench_onnxruntime.py [RUNS]
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy
import onnxruntime
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_encoder_fixtures as towers  # noqa: E402

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


class TextTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return self.model.encode_text(ids)


class ImageTower(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model.encode_image(images)


def time_session(path: Path, name: str, value: numpy.ndarray) -> list:
    options = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    times = []
    for _ in range(RUNS + 1):
        started = time.perf_counter()
        session.run(None, {name: value})
        times.append((time.perf_counter() - started) * 1e3)
    return times


def main() -> None:
    torch.manual_seed(7)
    config = {
        "embed_dim": 512,
        "quick_gelu": False,
        "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 16},
        "text_cfg": {"context_length": 248, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12},
    }
    model = towers.build_longclip(config, quick_gelu=False).eval()
    with torch.no_grad():
        model.positional_embedding_res.normal_(std=0.01)
    ids = torch.zeros(1, 248, dtype=torch.int64)
    prompt_ids = [49406, 320, 10316, 2867, 539, 10133, 3723, 4016, 49407]
    ids[0, : len(prompt_ids)] = torch.tensor(prompt_ids)
    images = torch.randn(1, 3, 224, 224)

    with tempfile.TemporaryDirectory() as scratch:
        for tower, module, name, value in [("text", TextTower(model), "ids", ids), ("image", ImageTower(model), "images", images)]:
            path = Path(scratch) / f"{tower}.onnx"
            torch.onnx.export(module, (value,), str(path), input_names=[name], output_names=["embedding"], dynamo=False)
            times = time_session(path, name, value.numpy())
            print(json.dumps({
                "model": "FarSLIP ViT-B/16 (full size, random weights)",
                "tower": tower,
                "backend": f"ONNX Runtime {onnxruntime.__version__} CPU (native, default threads)",
                "first_ms": round(times[0]),
                "median_ms": round(statistics.median(times[1:])),
                "runs": RUNS,
                "cpu_count": os.cpu_count(),
            }))


if __name__ == "__main__":
    main()
