"""Write end-to-end query fixtures: real images and prompts through the reference
preprocessing, tokenizers and tiny models.

The tower fixtures (dev/make_encoder_fixtures.py) feed random tensors and token
ids. These fixtures start one step earlier, from the example PNGs in
../shared/examples and from prompt strings, so that the Rust query encoders
(model card preprocessing or tokenizer, then the tower) are checked as a whole.
For each tiny model in tests/fixtures/encoders/<model>/ this script writes:

- ``card.json``: a model card with the tiny architecture and the preprocessing
  of the real card scaled to the tiny image size (the Rust tests read it).
- ``queries.safetensors``: the reference embeddings, not L2-normalised:
  - farslip: ``image_<name>`` through open_clip's evaluation transform at 32 px
    (shorter side, centre crop, bicubic, OpenAI mean and std). ``text_<i>`` for
    the prompts in the metadata: open_clip's CLIP tokenizer at 248 ids, mapped
    onto the tiny vocabulary as the tower fixtures map them.
  - siglip: ``image_<name>`` through open_clip's default transform at 28 px,
    the recipe the SigLIP card selects. ``text_<i>`` from the ids that the
    tokenizer fixture records for open_clip's HFTokenizer path with the local
    ``t5like_unigram`` SentencePiece model.
  - dinov2: ``image_<name>`` through transformers' BitImageProcessorPil with
    DINOv2's settings (the same as the real card), mean of all output tokens.
  - satclip: ``image_s2_chip`` from the 13-band chip of the preprocessing
    fixture (``chip_dn``): digital numbers / 10^4, zero B10, ``F.interpolate``
    bicubic to 32 px, then the tiny timm ViT.

Rerun from the repository root after dev/make_encoder_fixtures.py (same
packages and versions as that script):

    python3 dev/make_query_fixtures.py
"""

import json
import os
import sys
import tempfile
import shutil
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import open_clip
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import Dinov2Model, SiglipModel
from transformers.models.bit import BitImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_encoder_fixtures as towers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "encoders"
EXAMPLES = ROOT.parent / "shared" / "examples"
EXAMPLE_NAMES = ["example1", "example2", "example3"]
OPENAI_MEAN = list(open_clip.OPENAI_DATASET_MEAN)
OPENAI_STD = list(open_clip.OPENAI_DATASET_STD)

# Prompts for the FarSLIP text path. ftfy, HTML unescaping and lower-casing
# change the middle ones before tokenising.
FARSLIP_PROMPTS = [
    "a satellite image of a glacier",
    "Terraced RICE fields &amp; a river",
    "donâ€™t miss the “curly” quotes",
    "ＦＵＬＬＷＩＤＴＨ ｓｅａ ｉｃｅ",
]
# Corpus indices whose SigLIP ids the SigLIP text references use.
SIGLIP_CORPUS_INDICES = [0, 5, 40, 100]


def load_examples() -> dict:
    return {name: Image.open(EXAMPLES / f"{name}.png").convert("RGB") for name in EXAMPLE_NAMES}


def write_card(model_dir: Path, card: dict) -> None:
    """Write card.json with each tower's download size taken from tiny.safetensors (f32)."""
    tensors = load_file(str(model_dir / "tiny.safetensors"))
    for tower in card["towers"].values():
        prefixes = tower["weights"]["prefixes"]
        tower["weights"]["download_bytes"] = sum(t.numel() * t.element_size() for name, t in tensors.items() if name.startswith(tuple(prefixes)))
    with open(model_dir / "card.json", "w") as handle:
        json.dump(card, handle, indent=2)
        handle.write("\n")


def metadata(description: dict) -> dict:
    return {"fixture": json.dumps({**description, "versions": towers.VERSIONS}, sort_keys=True)}


def open_clip_transform(size: int):
    return open_clip.image_transform(size, is_train=False, mean=OPENAI_MEAN, std=OPENAI_STD, resize_mode="shortest", interpolation="bicubic")


def real_card(name: str) -> dict:
    return json.loads((ROOT / "models" / f"{name}.json").read_text())


def make_farslip(images: dict) -> None:
    model_dir = FIXTURES / "farslip"
    config = towers.farslip_tiny_config()
    model = towers.build_longclip(config, quick_gelu=False).eval()
    model.load_state_dict(load_file(str(model_dir / "tiny.safetensors")))
    size = config["vision_cfg"]["image_size"]
    transform = open_clip_transform(size)
    tokenizer = open_clip.get_tokenizer("ViT-B-16", context_length=towers.LONGCLIP_CONTEXT_LENGTH)

    tensors = {}
    with torch.no_grad():
        for name, image in images.items():
            tensors[f"image_{name}"] = model.encode_image(transform(image).unsqueeze(0))[0].contiguous()
        real_ids = tokenizer(FARSLIP_PROMPTS)
        text = model.encode_text(towers.map_to_tiny_vocab(real_ids))
        for index in range(len(FARSLIP_PROMPTS)):
            tensors[f"text_{index}"] = text[index].contiguous()
    save_file(tensors, str(model_dir / "queries.safetensors"), metadata=metadata({
        "images": f"encode_image(open_clip.image_transform({size}, shortest side, bicubic, centre crop, OpenAI mean/std)(PNG)) for {EXAMPLE_NAMES}",
        "prompts": FARSLIP_PROMPTS,
        "text": "encode_text(map_to_tiny_vocab(open_clip.get_tokenizer('ViT-B-16', context_length=248)(prompts)))",
    }))

    card = real_card("farslip-vit-b-16")
    card["id"] = "farslip-tiny-fixture"
    card["name"] = "tiny random FarSLIP (test fixture)"
    card["embedding_dim"] = config["embed_dim"]
    # The tiny text tower has 1000 token embeddings, so real CLIP ids beyond 999 are rejected.
    card["architecture"].update(embed_dim=config["embed_dim"], image_size=size, vision_width=48, vision_layers=2, vision_heads=4, text_width=32, text_layers=2, text_heads=4, vocab_size=towers.FARSLIP_TINY_VOCAB)
    card["towers"]["image"]["preprocessing"].update(resize={"shortest_side": size}, crop=[size, "round_half_even"])
    card["towers"]["text"]["weights"]["url"] = "tiny.safetensors"
    card["towers"]["image"]["weights"]["url"] = "tiny.safetensors"
    write_card(model_dir, card)


def pretrained_from(model_dir: Path, model_class):
    """Load a tiny transformers model from the fixture's config.json and tiny.safetensors."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copyfile(model_dir / "config.json", Path(scratch) / "config.json")
        shutil.copyfile(model_dir / "tiny.safetensors", Path(scratch) / "model.safetensors")
        return model_class.from_pretrained(scratch).eval()


def make_siglip(images: dict) -> None:
    model_dir = FIXTURES / "siglip"
    model = pretrained_from(model_dir, SiglipModel)
    size = model.config.vision_config.image_size
    transform = open_clip_transform(size)
    ids_fixture = json.loads((ROOT / "tests" / "fixtures" / "tokenizers" / "sentencepiece_ids.json").read_text())

    tensors = {}
    prompts = []
    with torch.no_grad():
        for name, image in images.items():
            tensors[f"image_{name}"] = model.get_image_features(pixel_values=transform(image).unsqueeze(0)).pooler_output[0].contiguous()
        for index, corpus_index in enumerate(SIGLIP_CORPUS_INDICES):
            entry = ids_fixture["entries"][corpus_index]
            prompts.append(entry["text"])
            ids = torch.tensor([entry["t5like_unigram"]["open_clip_hf_t5"]])
            tensors[f"text_{index}"] = model.get_text_features(input_ids=ids).pooler_output[0].contiguous()
    save_file(tensors, str(model_dir / "queries.safetensors"), metadata=metadata({
        "images": f"get_image_features(open_clip.image_transform({size}, shortest side, bicubic, centre crop, OpenAI mean/std)(PNG)).pooler_output for {EXAMPLE_NAMES}",
        "prompts": prompts,
        "text": "get_text_features(ids).pooler_output with the open_clip_hf_t5 ids of tests/fixtures/tokenizers/sentencepiece_ids.json (t5like_unigram)",
    }))

    card = real_card("siglip-so400m-patch14-384")
    card["id"] = "siglip-tiny-fixture"
    card["name"] = "tiny random SigLIP (test fixture)"
    text, vision = model.config.text_config, model.config.vision_config
    card["embedding_dim"] = text.hidden_size
    card["architecture"].update(width=text.hidden_size, layers=text.num_hidden_layers, heads=text.num_attention_heads, intermediate=text.intermediate_size, image_size=size, patch_size=vision.patch_size, vocab_size=text.vocab_size)
    card["towers"]["image"]["preprocessing"].update(resize={"shortest_side": size}, crop=[size, "round_half_even"])
    card["towers"]["text"]["tokenizer"]["url"] = "../../tokenizers/t5like_unigram.tokenizer.json"
    for tower in ("text", "image"):
        card["towers"][tower]["weights"]["url"] = "tiny.safetensors"
    write_card(model_dir, card)


def make_dinov2(images: dict) -> None:
    model_dir = FIXTURES / "dinov2"
    model = pretrained_from(model_dir, Dinov2Model)
    processor = BitImageProcessorPil(
        do_resize=True,
        size={"shortest_edge": 256},
        resample=Image.BICUBIC,
        do_center_crop=True,
        crop_size={"height": 224, "width": 224},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
        do_convert_rgb=True,
    )
    tensors = {}
    with torch.no_grad():
        for name, image in images.items():
            pixels = processor(images=image, return_tensors="pt")["pixel_values"]
            tensors[f"image_{name}"] = model(pixel_values=pixels).last_hidden_state.mean(dim=1)[0].contiguous()
    save_file(tensors, str(model_dir / "queries.safetensors"), metadata=metadata({
        "images": f"Dinov2Model(BitImageProcessorPil(DINOv2 settings)(PNG)).last_hidden_state.mean(1) for {EXAMPLE_NAMES}",
    }))

    card = real_card("dinov2-large")
    card["id"] = "dinov2-tiny-fixture"
    card["name"] = "tiny random DINOv2 (test fixture)"
    config = model.config
    card["embedding_dim"] = config.hidden_size
    card["architecture"].update(width=config.hidden_size, layers=config.num_hidden_layers, heads=config.num_attention_heads)
    card["towers"]["image"]["weights"]["url"] = "tiny.safetensors"
    write_card(model_dir, card)


def make_satclip() -> None:
    model_dir = FIXTURES / "satclip"
    kwargs = towers.SATCLIP_TINY_TIMM_KWARGS
    model = towers.timm.models.vision_transformer.VisionTransformer(**kwargs).eval()
    state = {name.removeprefix("model.visual."): value for name, value in load_file(str(model_dir / "tiny.safetensors")).items()}
    model.load_state_dict(state)
    chip = load_file(str(ROOT / "tests" / "fixtures" / "preprocess" / "satclip.safetensors"))["chip_dn"]
    bands = chip.to(torch.float32) / 10_000.0
    bands[10] = 0.0
    size = kwargs["img_size"]
    pixels = torch.nn.functional.interpolate(bands.unsqueeze(0), size=(size, size), mode="bicubic", align_corners=False)
    with torch.no_grad():
        tensors = {"image_s2_chip": model(pixels)[0].contiguous()}
    save_file(tensors, str(model_dir / "queries.safetensors"), metadata=metadata({
        "images": f"timm VisionTransformer(F.interpolate(chip_dn / 1e4 with B10 zeroed, {size} px, bicubic)) for tests/fixtures/preprocess/s2_chip.tif",
    }))

    card = real_card("satclip-vit16-l40")
    card["id"] = "satclip-tiny-fixture"
    card["name"] = "tiny random SatCLIP (test fixture)"
    card["embedding_dim"] = kwargs["num_classes"]
    card["architecture"].update(width=kwargs["embed_dim"], layers=kwargs["depth"], heads=kwargs["num_heads"], channels=kwargs["in_chans"], image_size=size, patch_size=kwargs["patch_size"], embed_dim=kwargs["num_classes"])
    card["towers"] = {"image": card["towers"]["image"]}
    card["towers"]["image"]["weights"]["url"] = "tiny.safetensors"
    write_card(model_dir, card)


def main() -> None:
    torch.manual_seed(0)
    images = load_examples()
    make_farslip(images)
    make_siglip(images)
    make_dinov2(images)
    make_satclip()
    print("versions:", towers.VERSIONS)


if __name__ == "__main__":
    main()
