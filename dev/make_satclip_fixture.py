"""Write the SatCLIP location-encoder parity fixture from an independent reference.

The reference is SatCLIP's own code as shipped in the PyPI package ``rangegeo``
0.1.0 (``rangegeo/satclip``). The script builds the ViT16-L40 location encoder
(analytic spherical harmonics with L = 40, so 1600 features, then a SIREN
1600 -> 512 -> 512 -> 256) with seeded random weights, loads those weights back
through rangegeo's checkpoint loader, and writes:

- ``tests/fixtures/satclip/location_encoder.safetensors``: the f32 weights under
  the key names of the released Lightning checkpoint
  (``model.location.nnet.layers.{0,1}.{weight,bias}``,
  ``model.location.nnet.last_layer.{weight,bias}``; weight is [out, in]).
- ``tests/fixtures/satclip/reference.safetensors``: f64 tensors ``coords``
  [N, 2] as (lat, lon) degrees, ``harmonics`` [N, 1600] and ``embeddings``
  [N, 256], computed in float64 from the f32 weights cast to f64; and
  ``harmonics_exact`` [N, 1600] and ``embeddings_exact`` [N, 256]: the same
  harmonics from SciPy's ``sph_harm_y`` (a stable recurrence, converted to
  SatCLIP's real, phase-free convention with the pi factor on m = 0), passed
  through rangegeo's own SIREN network.

Feature (l, m), for l = 0..39 and m = -l..l, is column l*l + l + m.

NOTE: rangegeo evaluates each harmonic as an expanded polynomial in cos(theta)
whose coefficients (up to 1.1e14 for l = 39, m = 0) are printed to 15 significant
digits. Near the poles the high-degree columns therefore differ from the closed
form (sqrt(2) N P_l^|m|(cos theta) cos or sin(|m| phi), pi N P_l(cos theta) for
m = 0) evaluated to 60 digits. The difference is 0.60 for (l=39, m=0) at lat +-90,
and 412 of the 41600 values here differ by more than 1e-6, all at l >= 26.
Evaluating the same coefficients with numpy's pow instead of torch's changes
values by up to 0.008.

Rerun from the repository root (nothing is downloaded):

    pip install torch einops numpy scipy safetensors huggingface_hub
    pip install rangegeo==0.1.0
    python3 dev/make_satclip_fixture.py

``huggingface_hub`` is needed only because ``import rangegeo`` imports it.
"""

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import rangegeo
from rangegeo.satclip import load_satclip_location_encoder
from rangegeo.satclip.location_encoder import (
    LocationEncoder,
    get_neural_network,
    get_positional_encoding,
)

SEED = 20241
STATE_DICT_PREFIX = "model.location."
FIXTURE_DIR = Path("tests/fixtures/satclip")

# Hyper-parameters of the released SatCLIP-ViT16-L40 location encoder, under the
# names that rangegeo's load.py reads from the checkpoint's "hyper_parameters".
# min_radius, max_radius and frequency_num are read only by the "theory" and
# grid/sphere encodings. The values here are those in SatCLIP's README example.
HYPER_PARAMETERS = {
    "le_type": "sphericalharmonics",
    "legendre_polys": 40,
    "harmonics_calculation": "analytic",
    "min_radius": 1,
    "max_radius": 360,
    "frequency_num": 16,
    "pe_type": "siren",
    "embed_dim": 256,
    "capacity": 512,
    "num_hidden_layers": 2,
}

EXPECTED_SHAPES = {
    "model.location.nnet.layers.0.weight": (512, 1600),
    "model.location.nnet.layers.0.bias": (512,),
    "model.location.nnet.layers.1.weight": (512, 512),
    "model.location.nnet.layers.1.bias": (512,),
    "model.location.nnet.last_layer.weight": (256, 512),
    "model.location.nnet.last_layer.bias": (256,),
}

# Fixed points as (lat, lon) degrees. They cover the poles (also at a non-zero
# longitude), the antimeridian from both sides, points within half a degree of
# each pole, and named places.
FIXED_COORDS = [
    (90.0, 0.0),
    (-90.0, 0.0),
    (90.0, 123.4),
    (0.0, 180.0),
    (0.0, -180.0),
    (45.0, 180.0),
    (0.0, 0.0),
    (-4.0, -63.0),  # Rio Purus, Brazil
    (30.32, 120.15),  # Hangzhou
    (-82.73, -178.49),  # Antarctica
    (51.5, -0.12),  # London
    (-33.9, 151.2),  # Sydney
    (89.5, 10.0),
    (-89.5, -170.0),
]
RANDOM_POINT_COUNT = 12


def build_encoder_like_load_py():
    """Build the location encoder as rangegeo's load.py does, before it loads a state dict."""
    hp = HYPER_PARAMETERS
    posenc = get_positional_encoding(
        name=hp["le_type"],
        legendre_polys=hp["legendre_polys"],
        harmonics_calculation=hp["harmonics_calculation"],
        min_radius=hp["min_radius"],
        max_radius=hp["max_radius"],
        frequency_num=hp["frequency_num"],
    ).double()
    nnet = get_neural_network(
        name=hp["pe_type"],
        input_dim=posenc.embedding_dim,
        num_classes=hp["embed_dim"],
        dim_hidden=hp["capacity"],
        num_layers=hp["num_hidden_layers"],
    ).double()
    return LocationEncoder(posenc, nnet)


def make_weights():
    """Return the seeded SIREN weights as f32 tensors under the checkpoint's key names."""
    torch.manual_seed(SEED)
    model = build_encoder_like_load_py()

    # SIREN initialises its parameters in f32 and .double() widens them exactly,
    # so this cast back to f32 loses nothing.
    weights = {
        STATE_DICT_PREFIX + name: tensor.detach().to(torch.float32).contiguous()
        for name, tensor in model.state_dict().items()
    }

    expected_keys = sorted(EXPECTED_SHAPES)
    if sorted(weights) != expected_keys:
        raise SystemExit(
            f"rangegeo's LocationEncoder state_dict keys {sorted(weights)} "
            f"do not match the checkpoint keys {expected_keys}"
        )
    for name, tensor in weights.items():
        if tuple(tensor.shape) != EXPECTED_SHAPES[name]:
            raise SystemExit(
                f"{name} has shape {tuple(tensor.shape)}, expected {EXPECTED_SHAPES[name]}"
            )
    print(f"rangegeo LocationEncoder state_dict keys with prefix {STATE_DICT_PREFIX!r} match the checkpoint keys")
    return weights


def load_through_rangegeo(weights):
    """Load the weights with rangegeo's own checkpoint loader, which returns an f64 model in eval mode."""
    checkpoint = {"hyper_parameters": dict(HYPER_PARAMETERS), "state_dict": weights}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "seeded-satclip-location.ckpt")
        torch.save(checkpoint, path)
        model = load_satclip_location_encoder(path)

    for name, tensor in model.state_dict().items():
        if tensor.dtype != torch.float64:
            raise SystemExit(f"{name} loaded as {tensor.dtype}, expected torch.float64")
        if not torch.equal(tensor, weights[STATE_DICT_PREFIX + name].double()):
            raise SystemExit(f"{name} changed when loaded through rangegeo")
    return model


def make_coords():
    """Return the fixed and seeded random points as an [N, 2] f64 array of (lat, lon) degrees."""
    rng = np.random.default_rng(SEED)
    random_lat = rng.uniform(-90.0, 90.0, RANDOM_POINT_COUNT)
    random_lon = rng.uniform(-180.0, 180.0, RANDOM_POINT_COUNT)
    random_coords = np.stack([random_lat, random_lon], axis=1)
    return np.concatenate([np.array(FIXED_COORDS, dtype=np.float64), random_coords])


def print_sanity_checks(coords, harmonics):
    """Print Y(0,0), Y(1,0), Y(2,0) and Y(1,1) against their expected closed forms."""
    lat = coords[:, 0]
    lon = coords[:, 1]
    theta = np.radians(lat + 90.0)
    phi = np.radians(lon + 180.0)
    cos_theta = np.cos(theta)

    def column(l, m):
        return l * l + l + m

    y00 = harmonics[:, column(0, 0)]
    print(f"Y(0,0): min {y00.min():.12f} max {y00.max():.12f}  (sqrt(pi)/2 = {math.sqrt(math.pi) / 2:.12f})")

    # Skip points near the equator, where cos(theta) is close to 0.
    away_from_equator = np.abs(cos_theta) > 1e-3
    y10_ratio = harmonics[away_from_equator, column(1, 0)] / cos_theta[away_from_equator]
    print(f"Y(1,0)/cos(theta): min {y10_ratio.min():.12f} max {y10_ratio.max():.12f}  (expected 1.534990062)")

    # Ratio to the orthonormal real harmonic sqrt(5/(16 pi)) (3 cos^2 theta - 1).
    orthonormal_y20 = math.sqrt(5.0 / (16.0 * math.pi)) * (3.0 * cos_theta**2 - 1.0)
    nonzero = np.abs(orthonormal_y20) > 1e-3
    y20_ratio = harmonics[nonzero, column(2, 0)] / orthonormal_y20[nonzero]
    print(f"Y(2,0)/orthonormal Y(2,0): min {y20_ratio.min():.12f} max {y20_ratio.max():.12f}  (pi = {math.pi:.12f})")

    # Ratio to the orthonormal real harmonic sqrt(3/(4 pi)) sin(theta) cos(phi),
    # without the Condon-Shortley phase.
    orthonormal_y11 = math.sqrt(3.0 / (4.0 * math.pi)) * np.sin(theta) * np.cos(phi)
    nonzero = np.abs(orthonormal_y11) > 1e-3
    y11_ratio = harmonics[nonzero, column(1, 1)] / orthonormal_y11[nonzero]
    print(f"Y(1,1)/orthonormal Y(1,1): min {y11_ratio.min():.12f} max {y11_ratio.max():.12f}  (expected 1)")


def exact_harmonics(coords):
    """SatCLIP's 1600 features from SciPy's spherical harmonics.

    SciPy's complex Y_l^m includes the Condon-Shortley phase (-1)^m, which
    SatCLIP's real harmonics do not have, so it is multiplied out again.
    """
    from scipy.special import sph_harm_y

    theta = np.radians(coords[:, 0] + 90.0)
    phi = np.radians(coords[:, 1] + 180.0)
    columns = np.zeros((len(coords), 1600))
    for l in range(40):
        for m in range(-l, l + 1):
            y = sph_harm_y(l, abs(m), theta, phi)
            if m > 0:
                value = math.sqrt(2.0) * (-1) ** m * y.real
            elif m < 0:
                value = math.sqrt(2.0) * (-1) ** m * y.imag
            else:
                value = math.pi * y.real
            columns[:, l * l + l + m] = value
    return columns


def main():
    print(f"rangegeo {rangegeo.__version__}, torch {torch.__version__}")
    if rangegeo.__version__ != "0.1.0":
        raise SystemExit(f"rangegeo {rangegeo.__version__} is installed, expected 0.1.0: pip install rangegeo==0.1.0")
    weights = make_weights()
    model = load_through_rangegeo(weights)

    coords = make_coords()
    # rangegeo takes (lon, lat) columns.
    lonlat = torch.from_numpy(coords[:, ::-1].copy())
    with torch.no_grad():
        harmonics = model.posenc(lonlat)
        embeddings = model(lonlat)

    if harmonics.shape != (len(coords), 1600) or embeddings.shape != (len(coords), 256):
        raise SystemExit(
            f"rangegeo returned shapes {tuple(harmonics.shape)} and {tuple(embeddings.shape)}, "
            f"expected ({len(coords)}, 1600) and ({len(coords)}, 256)"
        )
    if harmonics.dtype != torch.float64 or embeddings.dtype != torch.float64:
        raise SystemExit(f"outputs are {harmonics.dtype}, {embeddings.dtype}, expected torch.float64")
    if not (torch.isfinite(harmonics).all() and torch.isfinite(embeddings).all()):
        raise SystemExit("rangegeo returned non-finite harmonics or embeddings")

    harmonics_exact = torch.from_numpy(exact_harmonics(coords))
    with torch.no_grad():
        embeddings_exact = model.nnet(harmonics_exact)

    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    # One metadata key, because safetensors writes the keys of __metadata__ in
    # hash order, which would make reruns differ byte for byte.
    metadata = {
        "source": (
            f"rangegeo {rangegeo.__version__} SatCLIP location encoder, "
            f"torch.manual_seed({SEED}), hyper_parameters {HYPER_PARAMETERS!r}"
        )
    }
    weights_path = FIXTURE_DIR / "location_encoder.safetensors"
    reference_path = FIXTURE_DIR / "reference.safetensors"
    save_file(weights, weights_path, metadata=metadata)
    save_file(
        {
            "coords": torch.from_numpy(coords).contiguous(),
            "harmonics": harmonics.contiguous(),
            "embeddings": embeddings.contiguous(),
            "harmonics_exact": harmonics_exact.contiguous(),
            "embeddings_exact": embeddings_exact.contiguous(),
        },
        reference_path,
        metadata=metadata,
    )

    # Read both files back so that what is printed is what was written.
    for path in (weights_path, reference_path):
        print(f"{path} ({path.stat().st_size} bytes)")
        for name, tensor in load_file(path).items():
            print(f"  {name}: {tensor.dtype} {list(tensor.shape)}")

    print_sanity_checks(coords, harmonics.numpy())
    print(f"embeddings: min {embeddings.min().item():.6f} max {embeddings.max().item():.6f}")


if __name__ == "__main__":
    main()
