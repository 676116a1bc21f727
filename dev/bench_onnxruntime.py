"""Time the FarSLIP text and image towers (full size, random weights) in ONNX Runtime on the CPU.

The reference point for the burn encoders' latency in docs/benchmarks.md. The script builds
open_clip's ViT-B-16 with FarSLIP's 248-token LongCLIP text input (the class from
dev/make_encoder_fixtures.py), exports each tower with torch.onnx, and prints one JSON line per
tower: first run and median of the next runs, with the thread count. Nothing is downloaded.

    pip install torch==2.15.0 open-clip-torch==3.3.0 onnx onnxscript onnxruntime
    python3 dev/bench_onnxruntime.py [RUNS] [--export-dir DIR [--skip-timing]]

With --export-dir, the script keeps the models in DIR for tests/e2e/ort_web_bench.mjs (ONNX
Runtime Web in headless Chromium): farslip_text.onnx and farslip_image.onnx, each tower's input
and its output from native ONNX Runtime as raw little-endian arrays (farslip_TOWER_input.bin,
farslip_TOWER_output.bin), and manifest.json, which names the files, dtypes and shapes. The
models take about 600 MB, so put DIR somewhere git ignores, such as tests/e2e/artifacts/onnx.
--skip-timing leaves out the native timing and its JSON lines.
"""

import argparse
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


def time_session(session: onnxruntime.InferenceSession, name: str, value: numpy.ndarray, runs: int) -> tuple:
    """Runs the session 1 + `runs` times; returns the times in ms and the first run's output."""
    times = []
    first_output = None
    for _ in range(runs + 1):
        started = time.perf_counter()
        (output,) = session.run(None, {name: value})
        times.append((time.perf_counter() - started) * 1e3)
        if first_output is None:
            first_output = output
    return times, first_output


def write_array(path: Path, value: numpy.ndarray) -> dict:
    """Write `value` as raw little-endian bytes and return its manifest entry."""
    little_endian = value.astype(value.dtype.newbyteorder("<"), copy=False)
    little_endian.tofile(path)
    return {"file": path.name, "dtype": str(value.dtype), "shape": list(value.shape)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=3, help="timed runs per tower after the first run (default 3)")
    parser.add_argument("--export-dir", type=Path, metavar="DIR", help="keep the ONNX models, inputs, native outputs and manifest.json in this directory")
    parser.add_argument("--skip-timing", action="store_true", help="only export, which requires --export-dir. Native ONNX Runtime still runs each tower once for the reference output")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"RUNS must be at least 1, got {args.runs}")
    if args.skip_timing and args.export_dir is None:
        parser.error("--skip-timing requires --export-dir")
    return args


def main() -> None:
    args = parse_args()
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
        out_dir = Path(scratch)
        if args.export_dir is not None:
            out_dir = args.export_dir
            out_dir.mkdir(parents=True, exist_ok=True)
        manifest = {"model": "FarSLIP ViT-B/16 (full size, random weights)", "onnxruntime": onnxruntime.__version__, "towers": []}

        for tower, module, name, value in [("text", TextTower(model), "ids", ids), ("image", ImageTower(model), "images", images)]:
            path = out_dir / f"farslip_{tower}.onnx"
            torch.onnx.export(module, (value,), str(path), input_names=[name], output_names=["embedding"], dynamo=False)
            session = onnxruntime.InferenceSession(str(path), onnxruntime.SessionOptions(), providers=["CPUExecutionProvider"])
            # With --skip-timing, one untimed run still produces the reference output.
            times, embedding = time_session(session, name, value.numpy(), 0 if args.skip_timing else args.runs)

            if not args.skip_timing:
                print(json.dumps({
                    "model": "FarSLIP ViT-B/16 (full size, random weights)",
                    "tower": tower,
                    "backend": f"ONNX Runtime {onnxruntime.__version__} CPU (native, default threads)",
                    "first_ms": round(times[0]),
                    "median_ms": round(statistics.median(times[1:])),
                    "runs": args.runs,
                    "cpu_count": os.cpu_count(),
                }))

            if args.export_dir is not None:
                manifest["towers"].append({
                    "tower": tower,
                    "model": path.name,
                    "input": {"name": name, **write_array(out_dir / f"farslip_{tower}_input.bin", value.numpy())},
                    "output": {"name": "embedding", **write_array(out_dir / f"farslip_{tower}_output.bin", embedding)},
                })

        if args.export_dir is not None:
            (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            print(f"wrote the models, inputs, outputs and manifest.json to {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
