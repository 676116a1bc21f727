"""Time full-size encoder towers with random weights in ONNX Runtime on the CPU.

The reference point for the burn encoders' latency in docs/benchmarks.md. The script builds each
model that --models names, exports each of its towers with torch.onnx, and prints one JSON line
per model and tower: first run and median of the next runs, with the thread count. Nothing is
downloaded, because every model is built from a config object with random weights:

- farslip: open_clip's ViT-B-16 with FarSLIP's 248-token LongCLIP text input (the class from
  dev/make_encoder_fixtures.py). Text tower: int64 ids [1, 248] to the embedding [1, 512]. Image
  tower: a 224x224 image to the embedding [1, 512].
- dinov2: transformers' Dinov2Model with facebook/dinov2-large's architecture (ViT-L/14, a 37x37
  position grid interpolated to 16x16). Image tower: a 224x224 image to the mean of
  last_hidden_state over all 257 tokens [1, 1024].
- siglip: transformers' SiglipTextModel and SiglipVisionModel with the so400m/14 architecture.
  Text tower: int64 ids [1, 64] to pooler_output, the projection head applied to the last
  position [1, 1152]. SigLIP pads every prompt to 64 ids, so the text tower always runs 64
  positions. Image tower: a 384x384 image to pooler_output, the attention-pool head's output
  [1, 1152].

    pip install torch==2.15.0 open-clip-torch==3.3.0 transformers==5.25.0 onnx onnxscript onnxruntime
    python3 dev/bench_onnxruntime.py [RUNS] [--models farslip,dinov2,siglip] [--export-dir DIR [--skip-timing]]

With --export-dir, the script keeps the models in DIR for tests/e2e/ort_web_bench.mjs (ONNX
Runtime Web in headless Chromium): MODEL_TOWER.onnx (farslip_text.onnx, farslip_image.onnx,
dinov2_image.onnx, siglip_text.onnx, siglip_image.onnx), each tower's input and its output from
native ONNX Runtime as raw little-endian arrays (MODEL_TOWER_input.bin, MODEL_TOWER_output.bin),
and manifest.json, which names the files, dtypes and shapes. manifest.json keeps the towers of an
earlier export to DIR whose models this run does not export, so that each model can be exported in
its own run. The f32 models take about 600 MB (farslip), 1.2 GB (dinov2) and 3.5 GB (siglip:
1.8 GB text, 1.7 GB image), so put DIR somewhere git ignores, such as tests/e2e/artifacts/onnx.
--skip-timing leaves out the native timing and its JSON lines.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy
import onnxruntime
import torch
from transformers import (
    Dinov2Config,
    Dinov2Model,
    SiglipTextConfig,
    SiglipTextModel,
    SiglipVisionConfig,
    SiglipVisionModel,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_encoder_fixtures as towers  # noqa: E402

SEED = 7


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


class Dinov2MeanTokens(torch.nn.Module):
    """DINOv2's image embedding as the app computes it: last_hidden_state averaged over all tokens, class token included."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model(pixel_values=images).last_hidden_state.mean(dim=1)


class SiglipTextPooled(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return self.model(input_ids=ids).pooler_output


class SiglipPooled(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model(pixel_values=images).pooler_output


@dataclass
class Tower:
    name: str
    module: torch.nn.Module
    input_name: str
    input_value: torch.Tensor


def build_farslip() -> list:
    """Build FarSLIP ViT-B/16 and return its text and image towers."""
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
    return [Tower("text", TextTower(model), "ids", ids), Tower("image", ImageTower(model), "images", images)]


def build_dinov2() -> list:
    """Build DINOv2 ViT-L/14 and return its image tower at 224x224."""
    model = Dinov2Model(Dinov2Config(**towers.DINOV2_LARGE_CONFIG)).eval()
    size = towers.DINOV2_INPUT_SIZE
    images = torch.randn(1, 3, size, size)
    return [Tower("image", Dinov2MeanTokens(model), "images", images)]


def build_siglip() -> list:
    """Build the SigLIP so400m/14 text and vision models and return the text tower and the image tower at 384x384."""
    # The vision weights and the image come from torch's seeded generator before the text weights,
    # so the image tower's weights and input do not depend on the text tower.
    vision_config = SiglipVisionConfig(**towers.SIGLIP_SO400M_CONFIG["vision_config"])
    vision_model = SiglipVisionModel(vision_config).eval()
    size = vision_config.image_size
    images = torch.randn(1, 3, size, size)

    text_config = SiglipTextConfig(**towers.SIGLIP_SO400M_CONFIG["text_config"])
    text_model = SiglipTextModel(text_config).eval()
    # The 12-token row of siglip_token_ids: 11 random ids, then EOS and padding to 64. Any ids give
    # the same timing, because the tower has no attention mask and always runs 64 positions.
    id_rows = towers.siglip_token_ids(torch.Generator().manual_seed(SEED), text_config.vocab_size)
    ids = id_rows[towers.SIGLIP_PROMPT_LENGTHS.index(12)].unsqueeze(0)
    return [
        Tower("text", SiglipTextPooled(text_model), "ids", ids),
        Tower("image", SiglipPooled(vision_model), "images", images),
    ]


# The names that --models takes, each with the model description for the JSON lines and manifest.json
# and the function that builds the model's towers.
MODELS = {
    "farslip": ("FarSLIP ViT-B/16", build_farslip),
    "dinov2": ("DINOv2 ViT-L/14", build_dinov2),
    "siglip": ("SigLIP so400m/14 @384", build_siglip),
}


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


def describe_models(names) -> str:
    return ", ".join(MODELS[name][0] for name in names) + " (full size, random weights)"


def earlier_towers(out_dir: Path, exported_models: list) -> list:
    """Return the towers of DIR's earlier manifest.json whose models this run does not export.

    All of them are dropped when the earlier export used another ONNX Runtime version, because
    manifest.json records one version for all reference outputs. A tower is also dropped when one
    of its files is missing.
    """
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.exists():
        return []
    earlier = json.loads(manifest_path.read_text())
    if earlier.get("onnxruntime") != onnxruntime.__version__:
        print(
            f"dropping the towers of the earlier {manifest_path}: its outputs come from ONNX Runtime "
            f"{earlier.get('onnxruntime')}, this run uses {onnxruntime.__version__}. Export them again with --models",
            file=sys.stderr,
        )
        return []

    kept_towers = []
    for tower in earlier.get("towers", []):
        # Manifests written before --models existed have no "encoder" key and list only FarSLIP.
        encoder = tower.get("encoder", "farslip")
        if encoder in exported_models or encoder not in MODELS:
            continue
        files = [tower["model"], tower["input"]["file"], tower["output"]["file"]]
        missing = [name for name in files if not (out_dir / name).is_file()]
        if missing:
            print(f"dropping the {encoder} {tower['tower']} tower from {manifest_path}: missing {', '.join(missing)}", file=sys.stderr)
            continue
        kept_towers.append({"encoder": encoder, **tower})
    return kept_towers


def parse_models(value: str) -> list:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"invalid model list {value!r}: expected a comma-separated list of {', '.join(MODELS)}")
    return list(dict.fromkeys(names))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=3, help="timed runs per tower after the first run (default 3)")
    parser.add_argument("--models", type=parse_models, default=["farslip"], metavar="LIST", help=f"comma-separated models to export and time, of {', '.join(MODELS)} (default farslip)")
    parser.add_argument("--export-dir", type=Path, metavar="DIR", help="keep the ONNX models, inputs, native outputs and manifest.json in this directory")
    parser.add_argument("--skip-timing", action="store_true", help="only export, which requires --export-dir. Native ONNX Runtime still runs each tower once for the reference output")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"RUNS must be at least 1, got {args.runs}")
    if args.skip_timing and args.export_dir is None:
        parser.error("--skip-timing requires --export-dir")
    return args


def export_model(encoder: str, args: argparse.Namespace, out_dir: Path) -> list:
    """Export and run each tower of one model, print its timing lines and return its manifest entries.

    The model is built here, so it is freed when this function returns.
    """
    description, build = MODELS[encoder]
    # Seeding per model keeps each model's weights and inputs the same whichever models run.
    torch.manual_seed(SEED)
    entries = []
    for tower in build():
        path = out_dir / f"{encoder}_{tower.name}.onnx"
        value = tower.input_value
        started = time.perf_counter()
        torch.onnx.export(tower.module, (value,), str(path), input_names=[tower.input_name], output_names=["embedding"], dynamo=False)
        print(f"exported {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        session = onnxruntime.InferenceSession(str(path), onnxruntime.SessionOptions(), providers=["CPUExecutionProvider"])
        # With --skip-timing, one untimed run still produces the reference output.
        times, embedding = time_session(session, tower.input_name, value.numpy(), 0 if args.skip_timing else args.runs)
        del session

        if not args.skip_timing:
            print(json.dumps({
                "model": f"{description} (full size, random weights)",
                "tower": tower.name,
                "backend": f"ONNX Runtime {onnxruntime.__version__} CPU (native, default threads)",
                "first_ms": round(times[0]),
                "median_ms": round(statistics.median(times[1:])),
                "runs": args.runs,
                "cpu_count": os.cpu_count(),
            }))

        if args.export_dir is not None:
            entries.append({
                "encoder": encoder,
                "tower": tower.name,
                "model": path.name,
                "input": {"name": tower.input_name, **write_array(out_dir / f"{encoder}_{tower.name}_input.bin", value.numpy())},
                "output": {"name": "embedding", **write_array(out_dir / f"{encoder}_{tower.name}_output.bin", embedding)},
            })
    return entries


def main() -> None:
    args = parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        out_dir = Path(scratch)
        if args.export_dir is not None:
            out_dir = args.export_dir
            out_dir.mkdir(parents=True, exist_ok=True)
        manifest_towers = earlier_towers(out_dir, args.models) if args.export_dir is not None else []

        for encoder in args.models:
            manifest_towers += export_model(encoder, args, out_dir)
            # The DINOv2 and SigLIP models take 1.2 and 3.5 GB, so free each one before building the next.
            gc.collect()

        if args.export_dir is not None:
            order = list(MODELS)
            manifest_towers.sort(key=lambda tower: order.index(tower["encoder"]))
            encoders = list(dict.fromkeys(tower["encoder"] for tower in manifest_towers))
            manifest = {"model": describe_models(encoders), "onnxruntime": onnxruntime.__version__, "towers": manifest_towers}
            (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            print(f"wrote the models, inputs, outputs and manifest.json to {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
