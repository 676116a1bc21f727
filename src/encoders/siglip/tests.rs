//! Parity with transformers 5.25 `SiglipModel` on a tiny random-weight model, written by
//! `dev/make_encoder_fixtures.py`.

use super::*;
use crate::encoders::testing::{Fixture, assert_close};

fn tiny_config() -> SiglipConfig {
    SiglipConfig { width: 64, layers: 2, heads: 4, intermediate: 128, image_size: 28, patch_size: 14, vocab_size: 1000, context_length: 64 }
}

fn load(bytes: &[u8], config: &SiglipConfig) -> (VisionTower, TextTower) {
    let mut file = TensorFile::parse(bytes, "").unwrap();
    let device = Device::default();
    let vision = VisionTower::load(&mut file, config, &device).unwrap();
    let text = TextTower::load(&mut file, config, &device).unwrap();
    // The contrastive logit scale and bias are used in training only.
    file.take("logit_scale", &[1]).unwrap();
    file.take("logit_bias", &[1]).unwrap();
    file.finish().unwrap();
    (vision, text)
}

#[test]
fn image_tower_matches_transformers() {
    let reference = Fixture::open("siglip/reference.safetensors");
    let (vision, _) = load(&Fixture::read("siglip/tiny.safetensors"), &tiny_config());
    let images = reference.tensor4("images");
    assert_close(vision.embed(images.clone()).into_data(), &reference.f32("vision_embeddings"), 1e-5);
    assert_close(vision.forward(images).into_data(), &reference.f32("image_embeds"), 1e-4);
}

#[test]
fn text_tower_matches_transformers() {
    let reference = Fixture::open("siglip/reference.safetensors");
    let (_, text) = load(&Fixture::read("siglip/tiny.safetensors"), &tiny_config());
    let ids = reference.i64("token_ids");
    let batch = ids.len() / 64;
    assert_close(text.embed(&ids, batch).unwrap().into_data(), &reference.f32("text_input_embeddings"), 1e-6);
    assert_close(text.forward(&ids, batch).unwrap().into_data(), &reference.f32("text_embeds"), 1e-4);
}

#[test]
fn full_size_keys_are_consumed() {
    let keys = Fixture::full_keys("siglip/full_keys.json");
    load(&Fixture::zero_weights(&keys), &SiglipConfig::so400m_patch14_384());
}
