//! Parity with open_clip 3.3.0 on a tiny random-weight FarSLIP, written by
//! `dev/make_encoder_fixtures.py`.

use super::*;
use crate::encoders::testing::{Fixture, assert_close};

fn tiny_config(activation: Activation) -> ClipConfig {
    ClipConfig {
        embed_dim: 24,
        image_size: 32,
        patch_size: 16,
        vision_width: 48,
        vision_layers: 2,
        vision_heads: 4,
        context_length: 248,
        vocab_size: 1000,
        text_width: 32,
        text_layers: 2,
        text_heads: 4,
        activation,
    }
}

fn towers(activation: Activation) -> (VisionTower, TextTower) {
    let weights = Fixture::read("farslip/tiny.safetensors");
    let mut file = TensorFile::parse(&weights, "").unwrap();
    let device = Device::default();
    let config = tiny_config(activation);
    let vision = VisionTower::load(&mut file, &config, &device).unwrap();
    let text = TextTower::load(&mut file, &config, &device).unwrap();
    // logit_scale belongs to training only.
    file.take("logit_scale", &[]).unwrap();
    file.finish().unwrap();
    (vision, text)
}

#[test]
fn image_tower_matches_open_clip() {
    let reference = Fixture::open("farslip/reference.safetensors");
    let (vision, _) = towers(Activation::Gelu);
    let images = reference.tensor4("images");

    assert_close(vision.embed(images.clone()).into_data(), &reference.f32("vision_ln_pre_output"), 1e-5);
    assert_close(vision.forward(images.clone()).into_data(), &reference.f32("image_embeds"), 1e-4);

    let (quick, _) = towers(Activation::QuickGelu);
    assert_close(quick.forward(images).into_data(), &reference.f32("image_embeds_quick_gelu"), 1e-4);
}

#[test]
fn text_tower_matches_open_clip() {
    let reference = Fixture::open("farslip/reference.safetensors");
    let (_, text) = towers(Activation::Gelu);
    let ids = reference.i64("token_ids");
    let batch = ids.len() / 248;

    assert_close(text.embed(&ids, batch).unwrap().into_data(), &reference.f32("text_input_embeddings"), 1e-6);
    assert_close(text.forward(&ids, batch).unwrap().into_data(), &reference.f32("text_embeds"), 1e-4);

    let (_, quick) = towers(Activation::QuickGelu);
    assert_close(quick.forward(&ids, batch).unwrap().into_data(), &reference.f32("text_embeds_quick_gelu"), 1e-4);
}

#[test]
fn full_size_keys_are_consumed() {
    let keys = Fixture::full_keys("farslip/full_keys.json");
    let bytes = Fixture::zero_weights(&keys);
    let mut file = TensorFile::parse(&bytes, "").unwrap();
    let device = Device::default();
    let config = ClipConfig::farslip_vit_b_16();
    VisionTower::load(&mut file, &config, &device).unwrap();
    TextTower::load(&mut file, &config, &device).unwrap();
    file.take("logit_scale", &[]).unwrap();
    file.finish().unwrap();
}
