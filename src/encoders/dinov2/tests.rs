//! Parity with transformers 5.25 `Dinov2Model` on a tiny random-weight model, written by
//! `dev/make_encoder_fixtures.py`.

use super::*;
use crate::encoders::testing::{Fixture, assert_close};

fn tiny_config() -> Dinov2Config {
    Dinov2Config { width: 48, layers: 2, heads: 4, patch_size: 14, trained_grid: 37, image_size: 224 }
}

fn load(bytes: &[u8], config: &Dinov2Config) -> Dinov2 {
    let mut file = TensorFile::parse(bytes, "").unwrap();
    let model = Dinov2::load(&mut file, config, &Device::default()).unwrap();
    file.finish().unwrap();
    model
}

#[test]
fn position_table_is_resized_like_transformers() {
    let reference = Fixture::open("dinov2/reference.safetensors");
    let model = load(&Fixture::read("dinov2/tiny.safetensors"), &tiny_config());
    let (shape, expected) = reference.f32("interpolated_position_embeddings");
    assert_close(model.position_embedding.val().unsqueeze::<3>().into_data(), &(shape, expected), 1e-5);
}

#[test]
fn embedding_matches_transformers() {
    let reference = Fixture::open("dinov2/reference.safetensors");
    let model = load(&Fixture::read("dinov2/tiny.safetensors"), &tiny_config());
    assert_close(model.forward(reference.tensor4("images")).into_data(), &reference.f32("image_embeds"), 1e-4);
}

#[test]
fn full_size_keys_are_consumed() {
    let keys = Fixture::full_keys("dinov2/full_keys.json");
    load(&Fixture::zero_weights(&keys), &Dinov2Config::large_224());
}
