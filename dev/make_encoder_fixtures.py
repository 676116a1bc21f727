"""Write the query-encoder parity fixtures under tests/fixtures/encoders/.

The Rust encoders (FarSLIP, SigLIP so400m, DINOv2 ViT-L/14 and SatCLIP's ViT-S/16
image encoder) are checked against the reference Python libraries through small
committed files, so the Rust tests never need torch. For each model the script
builds a tiny copy with the reference library, fills every floating-point
parameter with seeded random values, runs it in float32 on the CPU, and writes
into ``tests/fixtures/encoders/<model>/``:

- ``tiny.safetensors``: the tiny weights under the key names of the published
  checkpoint. ``farslip/tiny.pt`` also stores them as a pickled open_clip
  state_dict, and ``satclip/tiny.ckpt`` as a pickled Lightning checkpoint
  (``{"state_dict": {"model.visual.<timm key>": ...}, "hyper_parameters": ...}``).
- ``config.json``: the tiny hyper-parameters. It is the Hugging Face
  ``config.json`` for SigLIP and DINOv2 (written by ``save_pretrained``), an
  open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``) for
  FarSLIP, and SatCLIP's Lightning hyper-parameters plus the timm arguments for
  SatCLIP.
- ``reference.safetensors``: the inputs (token ids as int64, images as f32
  NCHW), the pooled embeddings and one intermediate tensor per tower, all f32.
  The safetensors metadata key "fixture" describes each tensor.
- ``full_keys.json``: ``[[name, shape], ...]`` of the full-size architecture,
  built on the meta device from the published configuration, so no weights are
  allocated or downloaded.

Parameters are re-drawn after construction because the libraries initialise
biases to 0 and LayerNorm weights to 1, which would hide a missing or swapped
bias in the port.

Rerun from the repository root (nothing is downloaded; HF_HUB_OFFLINE is set):

    pip install torch==2.15.0 transformers==5.25.0 open-clip-torch==3.3.0 \\
        timm==1.0.31 safetensors==0.8.0 numpy
    python3 dev/make_encoder_fixtures.py

These are the versions the committed fixtures were made with. The script prints
the versions it ran with and records them in each ``reference.safetensors``.
"""

import os

# Set before transformers and open_clip are imported, so that neither library
# tries to reach the Hugging Face Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import functools
import json
import shutil
import tempfile
from pathlib import Path

import open_clip
import safetensors
import timm
import torch
import transformers
from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
from safetensors.torch import load_file, save_file
from transformers import Dinov2Config, Dinov2Model, SiglipConfig, SiglipModel
from transformers.core_model_loading import revert_weight_conversion

FIXTURE_DIR = Path("tests/fixtures/encoders")
SEED = 20250
IMAGE_BATCH = 2

VERSIONS = {
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "open_clip": open_clip.__version__,
    "timm": timm.__version__,
    "safetensors": safetensors.__version__,
}

# ---------------------------------------------------------------------------
# Shared helpers


def randomize_parameters(model: torch.nn.Module, seed: int) -> None:
    """Overwrite every floating-point parameter of rank 1 or more with seeded values.

    Matrices and embedding tables get N(0, 1/fan_in) with fan_in = in_channels *
    kernel area for convolutions and the last dimension otherwise. Rank-1 scale
    parameters (names ending in ``weight``, DINOv2's ``lambda1``) get 1 + N(0, 0.1^2);
    other rank-1 parameters (biases, class embeddings) get N(0, 0.1^2). Scalars such
    as ``logit_scale`` keep the library's value because no encoder output uses them.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if not parameter.is_floating_point() or parameter.dim() == 0:
                continue
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float32)
            if parameter.dim() == 1:
                is_scale = name.endswith("weight") or name.endswith("lambda1")
                values = 1.0 + 0.1 * noise if is_scale else 0.1 * noise
            else:
                if parameter.dim() == 4:
                    fan_in = parameter[0].numel()
                else:
                    fan_in = parameter.shape[-1]
                values = noise / fan_in**0.5
            parameter.copy_(values)


def contiguous_f32(state_dict: dict) -> dict:
    """Return detached, contiguous copies, because safetensors rejects shared or strided storage."""
    return {name: tensor.detach().to(torch.float32).contiguous().clone() for name, tensor in state_dict.items()}


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n")


def write_full_keys(path: Path, state_dict: dict, prefix: str = "") -> int:
    """Write [[prefix + name, shape], ...] in the state_dict's order and return the key count."""
    keys = [[prefix + name, list(tensor.shape)] for name, tensor in state_dict.items()]
    path.write_text("[\n" + ",\n".join(json.dumps(entry) for entry in keys) + "\n]\n")
    return len(keys)


def write_reference(path: Path, tensors: dict, descriptions: dict) -> None:
    """Save the reference tensors with their descriptions and the library versions as metadata.

    The metadata is one key, "fixture", holding sorted JSON
    ``{"tensors": {name: description}, "versions": {...}}``. safetensors writes
    several metadata keys in a varying order, so a single key keeps reruns
    byte-identical.
    """
    missing = sorted(set(tensors) - set(descriptions))
    if missing:
        raise ValueError(f"reference tensors without a description: {missing}")
    fixture = {"tensors": {name: descriptions[name] for name in tensors}, "versions": VERSIONS}
    metadata = {"fixture": json.dumps(fixture, sort_keys=True)}
    save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(path), metadata=metadata)


def random_images(generator: torch.Generator, channels: int, size: int) -> torch.Tensor:
    """Draw IMAGE_BATCH preprocessed (already normalised) NCHW images from N(0, 1)."""
    return torch.randn(IMAGE_BATCH, channels, size, size, generator=generator, dtype=torch.float32)


def capture_output(module: torch.nn.Module, store: dict, key: str):
    """Register a forward hook that stores the module's output under store[key]."""

    def hook(_module, _inputs, output):
        store[key] = output.detach().clone()

    return module.register_forward_hook(hook)


# ---------------------------------------------------------------------------
# 1. FarSLIP: open_clip ViT-B-16 with a LongCLIP text tower

# LongCLIP (Zhang et al. 2024, github.com/beichenzbc/Long-CLIP) keeps the first 20
# positions of CLIP's 77-token positional table and interpolates the rest to 248
# positions. The text input adds positional_embedding on positions 0..19 and
# positional_embedding_res on positions 20..247.
LONGCLIP_CONTEXT_LENGTH = 248
LONGCLIP_KEPT_POSITIONS = 20

# Token ids of the tiny FarSLIP model: 0 pads, 998 is the start of text and 999
# the end of text. EOT must be the largest id because CLIP pools the position of
# argmax(token id).
FARSLIP_TINY_VOCAB = 1000
FARSLIP_TINY_SOT = 998
FARSLIP_TINY_EOT = 999

FARSLIP_PROMPTS = [
    "",
    "a satellite image of a glacier",
    "a satellite image of a city with a coastline",
    "Sentinel-2 true colour image, 10 m per pixel: farmland with centre-pivot irrigation circles "
    "next to a braided river delta, a small harbour town, salt pans and a coastal lagoon in early summer",
]


class LongClipCLIP(CLIP):
    """open_clip's CLIP with FarSLIP's LongCLIP text input. FarSLIP's own code is not on PyPI.

    FARSLIP OVERRIDE (minimal): adds the ``positional_embedding_res`` parameter and
    replaces ``encode_text``. Everything else, including the vision tower, is
    open_clip's.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        width = self.positional_embedding.shape[1]
        self.positional_embedding_res = torch.nn.Parameter(torch.empty(self.context_length, width))
        first_positions_mask = torch.zeros(self.context_length, 1)
        first_positions_mask[:LONGCLIP_KEPT_POSITIONS] = 1.0
        self.register_buffer("mask1", first_positions_mask, persistent=False)
        self.register_buffer("mask2", 1.0 - first_positions_mask, persistent=False)

    def text_embeddings(self, text: torch.Tensor) -> torch.Tensor:
        """Return token embedding + positional_embedding*mask1 + positional_embedding_res*mask2."""
        x = self.token_embedding(text)
        return x + self.positional_embedding * self.mask1 + self.positional_embedding_res * self.mask2

    def encode_text(self, text: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        x = self.text_embeddings(text)
        x = self.transformer(x, attn_mask=self.attn_mask)
        x = self.ln_final(x)
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
        return torch.nn.functional.normalize(x, dim=-1) if normalize else x


def farslip_tiny_config() -> dict:
    # Vision width 48, text width 32 and embed_dim 24 all differ, so a transposed
    # projection or a swapped tower fails on shape.
    return {
        "embed_dim": 24,
        "quick_gelu": False,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 48, "head_width": 12, "patch_size": 16},
        "text_cfg": {
            "context_length": LONGCLIP_CONTEXT_LENGTH,
            "vocab_size": FARSLIP_TINY_VOCAB,
            "width": 32,
            "heads": 4,
            "layers": 2,
        },
    }


def build_longclip(config: dict, quick_gelu: bool) -> LongClipCLIP:
    return LongClipCLIP(
        embed_dim=config["embed_dim"],
        vision_cfg=CLIPVisionCfg(**config["vision_cfg"]),
        text_cfg=CLIPTextCfg(**config["text_cfg"]),
        quick_gelu=quick_gelu,
    )


def map_to_tiny_vocab(real_ids: torch.Tensor) -> torch.Tensor:
    """Map open_clip token ids (vocabulary 49408) onto the tiny vocabulary.

    Padding stays 0, SOT (49406) becomes 998, EOT (49407) becomes 999 and every
    other id becomes 1 + id % 997, so the tiny ids keep the real prompt lengths.
    """
    tiny = 1 + real_ids % 997
    tiny[real_ids == 0] = 0
    tiny[real_ids == 49406] = FARSLIP_TINY_SOT
    tiny[real_ids == 49407] = FARSLIP_TINY_EOT
    return tiny


def make_farslip(out_dir: Path, seed: int) -> dict:
    config = farslip_tiny_config()
    model = build_longclip(config, quick_gelu=False).eval()
    randomize_parameters(model, seed)
    state_dict = contiguous_f32(model.state_dict())

    save_file(state_dict, str(out_dir / "tiny.safetensors"), metadata={"format": "pt"})
    torch.save(state_dict, out_dir / "tiny.pt")
    write_json(out_dir / "config.json", config)

    tokenizer = open_clip.get_tokenizer("ViT-B-16")
    real_ids = tokenizer(FARSLIP_PROMPTS, context_length=LONGCLIP_CONTEXT_LENGTH).to(torch.int64)
    token_ids = map_to_tiny_vocab(real_ids)
    generator = torch.Generator().manual_seed(seed + 1)
    images = random_images(generator, channels=3, size=config["vision_cfg"]["image_size"])

    captured = {}
    hook = capture_output(model.visual.ln_pre, captured, "vision_ln_pre_output")
    with torch.no_grad():
        text_embeds = model.encode_text(token_ids)
        text_input = model.text_embeddings(token_ids)
        image_embeds = model.encode_image(images)
    hook.remove()

    # The same weights with QuickGELU (x * sigmoid(1.702 x)). open_clip's
    # "ViT-B-16" config uses nn.GELU, but open_clip builds OpenAI-initialised
    # models with QuickGELU, and a state_dict does not record the activation.
    quick_model = build_longclip(config, quick_gelu=True).eval()
    quick_model.load_state_dict(state_dict)
    with torch.no_grad():
        text_embeds_quick = quick_model.encode_text(token_ids)
        image_embeds_quick = quick_model.encode_image(images)

    tensors = {
        "token_ids": token_ids,
        "token_ids_openclip": real_ids,
        "text_embeds": text_embeds,
        "text_input_embeddings": text_input,
        "images": images,
        "image_embeds": image_embeds,
        "vision_ln_pre_output": captured["vision_ln_pre_output"],
        "text_embeds_quick_gelu": text_embeds_quick,
        "image_embeds_quick_gelu": image_embeds_quick,
    }
    descriptions = {
        "token_ids": "int64 [4, 248]: input of the tiny text tower (open_clip ids mapped by 1 + id % 997; pad 0, SOT 998, EOT 999)",
        "token_ids_openclip": "int64 [4, 248]: open_clip.get_tokenizer('ViT-B-16') output for the prompts in README.md, context_length 248",
        "text_embeds": "f32 [4, 24]: encode_text (argmax pooling, @ text_projection), not L2-normalised, nn.GELU",
        "text_input_embeddings": "f32 [4, 248, 32]: token_embedding + positional_embedding*mask1 + positional_embedding_res*mask2 (mask1 = positions 0..19)",
        "images": "f32 [2, 3, 32, 32]: preprocessed images, N(0, 1)",
        "image_embeds": "f32 [2, 24]: encode_image (class token after ln_post, @ proj), not L2-normalised, nn.GELU",
        "vision_ln_pre_output": "f32 [2, 5, 48]: conv1 patches with the class token prepended, + positional_embedding, after ln_pre",
        "text_embeds_quick_gelu": "f32 [4, 24]: text_embeds with the same weights and QuickGELU",
        "image_embeds_quick_gelu": "f32 [2, 24]: image_embeds with the same weights and QuickGELU",
    }
    write_reference(out_dir / "reference.safetensors", tensors, descriptions)

    full_config = open_clip.get_model_config("ViT-B-16")
    full_config["text_cfg"]["context_length"] = LONGCLIP_CONTEXT_LENGTH
    with torch.device("meta"):
        full_model = build_longclip(full_config, quick_gelu=False)
    full_count = write_full_keys(out_dir / "full_keys.json", full_model.state_dict())
    return {"tiny_keys": list(state_dict), "full_key_count": full_count}


# ---------------------------------------------------------------------------
# 2. SigLIP so400m/14@384 (transformers SiglipModel)

SIGLIP_TEXT_LENGTH = 64
SIGLIP_PAD_ID = 1
SIGLIP_PROMPT_LENGTHS = [5, 12, 30, 64]

# The published config.json of google/siglip-so400m-patch14-384 sets the hidden,
# intermediate, head and layer counts, image_size and patch_size below. The
# vocab_size 32000 and max_position_embeddings 64 below, and hidden_act
# gelu_pytorch_tanh, layer_norm_eps 1e-6 and num_channels 3, are the
# SiglipTextConfig / SiglipVisionConfig defaults.
SIGLIP_SO400M_CONFIG = {
    "text_config": {
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "vocab_size": 32000,
        "max_position_embeddings": 64,
    },
    "vision_config": {
        "hidden_size": 1152,
        "image_size": 384,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "patch_size": 14,
    },
}

SIGLIP_TINY_CONFIG = {
    "text_config": {
        "vocab_size": 1000,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "max_position_embeddings": SIGLIP_TEXT_LENGTH,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
        "pad_token_id": SIGLIP_PAD_ID,
    },
    "vision_config": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "image_size": 28,
        "patch_size": 14,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    },
}


def checkpoint_state_dict(model: transformers.PreTrainedModel) -> dict:
    """Return the state_dict under the checkpoint key names that save_pretrained writes.

    transformers 5 renames some modules internally and renames them back on save.
    Dinov2Model's own attention weights are ``attention.q_proj``, while its
    checkpoints and this function's result use ``attention.attention.query``.
    Only renamings are expected here, so meta tensors pass through unchanged.
    """
    return revert_weight_conversion(model, model.state_dict())


def save_pretrained_weights(model: transformers.PreTrainedModel, out_dir: Path) -> list:
    """Save with save_pretrained and copy its model.safetensors and config.json into out_dir.

    save_pretrained writes the file layout and key names of the published Hugging
    Face checkpoints. The saved keys are checked against checkpoint_state_dict,
    which also names the full-size keys, and returned.
    """
    with tempfile.TemporaryDirectory() as scratch:
        model.save_pretrained(scratch, safe_serialization=True)
        shutil.copyfile(Path(scratch) / "model.safetensors", out_dir / "tiny.safetensors")
        shutil.copyfile(Path(scratch) / "config.json", out_dir / "config.json")
    saved_keys = list(load_file(str(out_dir / "tiny.safetensors")))
    expected_keys = list(checkpoint_state_dict(model))
    if sorted(saved_keys) != sorted(expected_keys):
        raise RuntimeError(
            f"save_pretrained keys of {type(model).__name__} differ from revert_weight_conversion: "
            f"{sorted(set(saved_keys) ^ set(expected_keys))[:10]}"
        )
    return expected_keys


def siglip_token_ids(generator: torch.Generator, vocab_size: int) -> torch.Tensor:
    """Draw one id row per prompt length: content ids in [2, vocab), EOS = pad = 1, padded to 64.

    SiglipTokenizer uses "</s>" as both EOS and padding, and the reference pads to
    max_length 64. The 64-token row has no EOS, as a truncated prompt has none.
    NOTE: id 1 for "</s>" was not checked against the so400m sentencepiece model,
    which is not downloaded here.
    """
    rows = torch.full((len(SIGLIP_PROMPT_LENGTHS), SIGLIP_TEXT_LENGTH), SIGLIP_PAD_ID, dtype=torch.int64)
    for row, length in enumerate(SIGLIP_PROMPT_LENGTHS):
        # A row shorter than 64 ends with EOS, which has the pad id, so only
        # length - 1 content ids are drawn.
        content_length = length if length == SIGLIP_TEXT_LENGTH else length - 1
        rows[row, :content_length] = torch.randint(2, vocab_size, (content_length,), generator=generator)
    return rows


def make_siglip(out_dir: Path, seed: int) -> dict:
    config = SiglipConfig(**SIGLIP_TINY_CONFIG)
    model = SiglipModel(config).eval()
    randomize_parameters(model, seed)
    tiny_keys = save_pretrained_weights(model, out_dir)

    generator = torch.Generator().manual_seed(seed + 1)
    token_ids = siglip_token_ids(generator, config.text_config.vocab_size)
    images = random_images(generator, channels=3, size=config.vision_config.image_size)

    captured = {}
    hooks = [
        capture_output(model.text_model.embeddings, captured, "text_input_embeddings"),
        capture_output(model.vision_model.embeddings, captured, "vision_embeddings"),
    ]
    with torch.no_grad():
        # transformers 5 returns BaseModelOutputWithPooling here. Version 4 returned
        # the pooled tensor itself.
        text_embeds = model.get_text_features(input_ids=token_ids).pooler_output
        image_embeds = model.get_image_features(pixel_values=images).pooler_output
    for hook in hooks:
        hook.remove()

    tensors = {
        "token_ids": token_ids,
        "text_embeds": text_embeds,
        "text_input_embeddings": captured["text_input_embeddings"],
        "images": images,
        "image_embeds": image_embeds,
        "vision_embeddings": captured["vision_embeddings"],
    }
    descriptions = {
        "token_ids": "int64 [4, 64]: random content ids in [2, 1000), EOS 1, padded with 1; row 3 fills all 64 positions without EOS",
        "text_embeds": "f32 [4, 64]: get_text_features(input_ids).pooler_output = head(final_layer_norm(h)[:, -1]), no attention mask, not L2-normalised",
        "text_input_embeddings": "f32 [4, 64, 64]: token_embedding + position_embedding",
        "images": "f32 [2, 3, 28, 28]: preprocessed images, N(0, 1)",
        "image_embeds": "f32 [2, 64]: get_image_features(pixel_values).pooler_output (attention-pool head), not L2-normalised",
        "vision_embeddings": "f32 [2, 4, 64]: patch_embedding (conv) flattened + position_embedding, no class token",
    }
    write_reference(out_dir / "reference.safetensors", tensors, descriptions)

    with torch.device("meta"):
        full_model = SiglipModel(SiglipConfig(**SIGLIP_SO400M_CONFIG))
    full_count = write_full_keys(out_dir / "full_keys.json", checkpoint_state_dict(full_model))
    return {"tiny_keys": tiny_keys, "full_key_count": full_count}


# ---------------------------------------------------------------------------
# 3. DINOv2 ViT-L/14 (transformers Dinov2Model)

DINOV2_INPUT_SIZE = 224

# Fields of facebook/dinov2-large's config.json that describe the architecture.
DINOV2_LARGE_CONFIG = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "mlp_ratio": 4,
    "patch_size": 14,
    "image_size": 518,
    "layerscale_value": 1.0,
    "layer_norm_eps": 1e-6,
    "hidden_act": "gelu",
    "qkv_bias": True,
    "use_swiglu_ffn": False,
}

# image_size 518 with patch 14 gives the real 37x37 position grid, so a 224x224
# input interpolates 37x37 to 16x16 as the full model does.
DINOV2_TINY_CONFIG = {
    **DINOV2_LARGE_CONFIG,
    "hidden_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}


def interpolate_pos_encoding_with_offset(embeddings_module, _embeddings, height: int, width: int) -> torch.Tensor:
    """Resize DINOv2's position grid the way older transformers releases did.

    Those releases passed scale_factor = (new grid + 0.1) / old grid to
    interpolate instead of size = new grid. The 37x37 -> 16x16
    output shape is the same, but the bicubic sampling positions differ, so
    embeddings made with such a release differ from the current ones.
    """
    position_embeddings = embeddings_module.position_embeddings
    class_position = position_embeddings[:, :1]
    patch_positions = position_embeddings[:, 1:]
    old_grid = int(patch_positions.shape[1] ** 0.5)
    dim = patch_positions.shape[-1]
    patch_size = embeddings_module.patch_embeddings.patch_size[0]
    new_height = height // patch_size + 0.1
    new_width = width // patch_size + 0.1
    grid = patch_positions.reshape(1, old_grid, old_grid, dim).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(
        grid.to(torch.float32),
        scale_factor=(new_height / old_grid, new_width / old_grid),
        mode="bicubic",
        align_corners=False,
    )
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat((class_position, grid), dim=1)


def make_dinov2(out_dir: Path, seed: int) -> dict:
    model = Dinov2Model(Dinov2Config(**DINOV2_TINY_CONFIG)).eval()
    randomize_parameters(model, seed)
    tiny_keys = save_pretrained_weights(model, out_dir)

    generator = torch.Generator().manual_seed(seed + 1)
    images = random_images(generator, channels=3, size=DINOV2_INPUT_SIZE)
    embeddings_module = model.embeddings
    with torch.no_grad():
        patch_tokens = embeddings_module.patch_embeddings(images)
        tokens = torch.cat([embeddings_module.cls_token.expand(IMAGE_BATCH, -1, -1), patch_tokens], dim=1)
        position_embeddings = embeddings_module.interpolate_pos_encoding(tokens, DINOV2_INPUT_SIZE, DINOV2_INPUT_SIZE)
        image_embeds = model(pixel_values=images).last_hidden_state.mean(dim=1)

        # The same forward with the older interpolation, patched on this instance only.
        embeddings_module.interpolate_pos_encoding = functools.partial(
            interpolate_pos_encoding_with_offset, embeddings_module
        )
        position_embeddings_offset = embeddings_module.interpolate_pos_encoding(
            tokens, DINOV2_INPUT_SIZE, DINOV2_INPUT_SIZE
        )
        image_embeds_offset = model(pixel_values=images).last_hidden_state.mean(dim=1)
        del embeddings_module.interpolate_pos_encoding

    tensors = {
        "images": images,
        "image_embeds": image_embeds,
        "interpolated_position_embeddings": position_embeddings,
        "image_embeds_offset_interpolation": image_embeds_offset,
        "interpolated_position_embeddings_offset": position_embeddings_offset,
    }
    descriptions = {
        "images": "f32 [2, 3, 224, 224]: preprocessed images, N(0, 1)",
        "image_embeds": "f32 [2, 48]: last_hidden_state (after the final layernorm) averaged over all 257 tokens, class token included",
        "interpolated_position_embeddings": (
            "f32 [1, 257, 48]: class position + the 37x37 patch grid resized to 16x16 by "
            "torch.nn.functional.interpolate(size=(16, 16), mode='bicubic', align_corners=False) in float32"
        ),
        "image_embeds_offset_interpolation": "f32 [2, 48]: image_embeds with interpolated_position_embeddings_offset",
        "interpolated_position_embeddings_offset": (
            "f32 [1, 257, 48]: the 37x37 grid resized by interpolate(scale_factor=(16.1/37, 16.1/37), "
            "mode='bicubic', align_corners=False), as older transformers releases did"
        ),
    }
    write_reference(out_dir / "reference.safetensors", tensors, descriptions)

    with torch.device("meta"):
        full_model = Dinov2Model(Dinov2Config(**DINOV2_LARGE_CONFIG))
    full_count = write_full_keys(out_dir / "full_keys.json", checkpoint_state_dict(full_model))
    return {"tiny_keys": tiny_keys, "full_key_count": full_count}


# ---------------------------------------------------------------------------
# 4. SatCLIP image encoder: timm vit_small_patch16_224, 13 bands

SATCLIP_PREFIX = "model.visual."
SATCLIP_IN_CHANNELS = 13

# SatCLIP's model.py builds the "moco_vit16" image encoder as
# timm.create_model("vit_small_patch16_224", in_chans=13, num_classes=embed_dim)
# and stores it as SatCLIP.visual inside SatCLIPLightningModule.model.
# NOTE: embed_dim 256 and vision_layers "moco_vit16" for SatCLIP-ViT16-L40 come
# from SatCLIP's code and third-party converters. The released checkpoint's
# hyper_parameters were not read here.
SATCLIP_FULL_TIMM_KWARGS = {"model_name": "vit_small_patch16_224", "in_chans": SATCLIP_IN_CHANNELS, "num_classes": 256}

SATCLIP_TINY_TIMM_KWARGS = {
    "img_size": 32,
    "patch_size": 16,
    "in_chans": SATCLIP_IN_CHANNELS,
    "num_classes": 16,
    "embed_dim": 24,
    "depth": 2,
    "num_heads": 3,
}


def make_satclip(out_dir: Path, seed: int) -> dict:
    model = timm.models.vision_transformer.VisionTransformer(**SATCLIP_TINY_TIMM_KWARGS).eval()
    randomize_parameters(model, seed)
    state_dict = {SATCLIP_PREFIX + name: tensor for name, tensor in contiguous_f32(model.state_dict()).items()}

    hyper_parameters = {
        "embed_dim": SATCLIP_TINY_TIMM_KWARGS["num_classes"],
        "image_resolution": SATCLIP_TINY_TIMM_KWARGS["img_size"],
        "vision_layers": "moco_vit16",
        "in_channels": SATCLIP_IN_CHANNELS,
        # SatCLIPLightningModule always builds the full-size vit_small_patch16_224 for
        # "moco_vit16", so it cannot load this tiny checkpoint. These are the tiny
        # model's timm.models.vision_transformer.VisionTransformer arguments.
        "tiny_timm_vision_transformer_kwargs": SATCLIP_TINY_TIMM_KWARGS,
        "layer_norm_eps": model.norm.eps,
        "global_pool": model.global_pool,
    }
    save_file(state_dict, str(out_dir / "tiny.safetensors"), metadata={"format": "pt"})
    torch.save({"state_dict": state_dict, "hyper_parameters": hyper_parameters}, out_dir / "tiny.ckpt")
    write_json(out_dir / "config.json", hyper_parameters)

    generator = torch.Generator().manual_seed(seed + 1)
    images = random_images(generator, channels=SATCLIP_IN_CHANNELS, size=SATCLIP_TINY_TIMM_KWARGS["img_size"])
    captured = {}
    hook = capture_output(model.blocks[0], captured, "block0_output")
    with torch.no_grad():
        image_embeds = model(images)
        block0_input = model._pos_embed(model.patch_embed(images))
    hook.remove()

    tensors = {
        "images": images,
        "image_embeds": image_embeds,
        "block0_input": block0_input,
        "block0_output": captured["block0_output"],
    }
    descriptions = {
        "images": "f32 [2, 13, 32, 32]: preprocessed 13-band images, N(0, 1)",
        "image_embeds": "f32 [2, 16]: timm forward = head(norm(x)[:, 0]) (class-token pooling), not L2-normalised",
        "block0_input": "f32 [2, 5, 24]: patch_embed (conv 16x16 stride 16) with cls_token prepended + pos_embed",
        "block0_output": "f32 [2, 5, 24]: output of blocks.0",
    }
    write_reference(out_dir / "reference.safetensors", tensors, descriptions)

    with torch.device("meta"):
        full_model = timm.create_model(pretrained=False, **SATCLIP_FULL_TIMM_KWARGS)
    full_count = write_full_keys(out_dir / "full_keys.json", full_model.state_dict(), prefix=SATCLIP_PREFIX)
    return {"tiny_keys": list(state_dict), "full_key_count": full_count}


# ---------------------------------------------------------------------------


def folder_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    print("versions:", json.dumps(VERSIONS, sort_keys=True))

    builders = {
        "farslip": make_farslip,
        "siglip": make_siglip,
        "dinov2": make_dinov2,
        "satclip": make_satclip,
    }
    for index, (name, build) in enumerate(builders.items()):
        out_dir = FIXTURE_DIR / name
        out_dir.mkdir(parents=True, exist_ok=True)
        summary = build(out_dir, SEED + 100 * index)
        print(f"{name}: {len(summary['tiny_keys'])} tiny keys, {summary['full_key_count']} full-size keys")
        for key in summary["tiny_keys"][:10]:
            print("   ", key)
        for file in sorted(out_dir.iterdir()):
            print(f"    {file.name}: {file.stat().st_size} bytes")
    print(f"total: {folder_size(FIXTURE_DIR)} bytes")


if __name__ == "__main__":
    main()
