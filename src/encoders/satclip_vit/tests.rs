//! Parity with timm 1.0.31 `VisionTransformer` on a tiny random-weight model stored as a
//! Lightning state dict, written by `dev/make_encoder_fixtures.py`.

use super::*;
use crate::encoders::testing::{Fixture, assert_close};

fn tiny_config() -> VitConfig {
    VitConfig { width: 24, layers: 2, heads: 3, channels: 13, image_size: 32, patch_size: 16, embed_dim: 16 }
}

fn load(bytes: &[u8], config: &VitConfig) -> SatclipVit {
    let mut file = TensorFile::parse(bytes, PREFIX).unwrap();
    let model = SatclipVit::load(&mut file, config, &Device::default()).unwrap();
    file.finish().unwrap();
    model
}

#[test]
fn embedding_matches_timm() {
    let reference = Fixture::open("satclip/reference.safetensors");
    let model = load(&Fixture::read("satclip/tiny.safetensors"), &tiny_config());
    let images = reference.tensor4("images");
    assert_close(model.embed(images.clone()).into_data(), &reference.f32("block0_input"), 1e-5);
    let block0 = model.blocks[0].forward(model.embed(images.clone()), false);
    assert_close(block0.into_data(), &reference.f32("block0_output"), 1e-5);
    assert_close(model.forward(images).into_data(), &reference.f32("image_embeds"), 1e-4);
}

#[test]
fn full_size_keys_are_consumed() {
    let keys = Fixture::full_keys("satclip/full_keys.json");
    load(&Fixture::zero_weights(&keys), &VitConfig::satclip_vit16());
}
