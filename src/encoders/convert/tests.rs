//! Conversion of the tiny fixtures in their original formats: the open_clip pickle (FarSLIP
//! `tiny.pt`), the Lightning checkpoint (SatCLIP `tiny.ckpt`) and Hugging Face safetensors.

use std::path::PathBuf;

use super::*;
use crate::encoders::card::{Architecture, ModelCard};
use crate::encoders::device::EncoderDevice;
use crate::encoders::query::ImageQueryEncoder;
use crate::encoders::testing::{Fixture, assert_close};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/encoders")).join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eee-convert-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn open_clip_pickle_equals_safetensors() {
    let from_pickle = read_checkpoint(&fixture_path("farslip/tiny.pt")).unwrap();
    let from_safetensors = read_checkpoint(&fixture_path("farslip/tiny.safetensors")).unwrap();
    assert_eq!(from_pickle.len(), from_safetensors.len());
    for (key, tensor) in &from_safetensors {
        assert_eq!(from_pickle.get(key), Some(tensor), "{key}");
    }
}

#[test]
fn lightning_checkpoint_reads_state_dict() {
    let from_checkpoint = read_checkpoint(&fixture_path("satclip/tiny.ckpt")).unwrap();
    let from_safetensors = read_checkpoint(&fixture_path("satclip/tiny.safetensors")).unwrap();
    for (key, tensor) in &from_safetensors {
        assert!(key.starts_with("model.visual."), "{key}");
        assert_eq!(from_checkpoint.get(key), Some(tensor), "{key}");
    }
}

#[test]
fn f16_tower_files_keep_names_and_round_values() {
    let source = fixture_path("farslip/tiny.pt");
    let tensors = read_checkpoint(&source).unwrap();
    let out = scratch("round").join("image.safetensors");
    let written = write_tower(&tensors, &["visual.".to_string()], StoredType::F16, &source, &out).unwrap();

    let bytes = std::fs::read(&out).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let expected_keys: Vec<&String> = tensors.keys().filter(|k| k.starts_with("visual.")).collect();
    assert_eq!(written, expected_keys.len());
    assert_eq!(file.len(), expected_keys.len());
    for key in expected_keys {
        let view = file.tensor(key).unwrap();
        assert_eq!(view.dtype(), Dtype::F16, "{key}");
        assert_eq!(view.shape(), tensors[key].shape.as_slice(), "{key}");
        let stored: Vec<u16> = view.data().chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        let rounded: Vec<u16> = tensors[key].values.iter().map(|&v| half::f16::from_f32(v).to_bits()).collect();
        assert_eq!(stored, rounded, "{key}");
    }
}

/// Builds the tiny FarSLIP card with the fixture's sizes.
fn tiny_card() -> ModelCard {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/farslip-vit-b-16.json")).unwrap();
    let mut card = ModelCard::from_json(&bytes).unwrap();
    let Architecture::Farslip(config) = &mut card.architecture else { unreachable!() };
    *config = crate::encoders::farslip::ClipConfig { embed_dim: 24, vision_width: 48, vision_layers: 2, vision_heads: 4, image_size: 32, text_width: 32, text_layers: 2, text_heads: 4, vocab_size: 1000, ..config.clone() };
    card
}

#[test]
fn converted_image_tower_matches_open_clip() {
    let source = fixture_path("farslip/tiny.pt");
    let card = tiny_card();
    let out = scratch("parity").join("image.safetensors");
    write_tower(&read_checkpoint(&source).unwrap(), &card.image().unwrap().weights.prefixes, StoredType::F16, &source, &out).unwrap();

    // Only the image tower's tensors are in the file, and they are all the tower needs.
    let encoder = ImageQueryEncoder::load(&card, &std::fs::read(&out).unwrap(), &EncoderDevice::cpu());
    assert!(encoder.is_ok(), "{:?}", encoder.err());
    let converted = std::fs::read(&out).unwrap();
    let mut file = crate::encoders::weights::TensorFile::parse(&converted, "").unwrap();
    let Architecture::Farslip(config) = &card.architecture else { unreachable!() };
    let tower = crate::encoders::farslip::VisionTower::load(&mut file, config, &EncoderDevice::cpu().device).unwrap();
    file.finish().unwrap();

    let reference = Fixture::open("farslip/reference.safetensors");
    // f16 weights move the output by about 1e-3 of its scale.
    assert_close(tower.forward(reference.tensor4("images")).into_data(), &reference.f32("image_embeds"), 5e-3);
}

#[test]
fn hugging_face_safetensors_split_by_tower() {
    let source = fixture_path("siglip/tiny.safetensors");
    let tensors = read_checkpoint(&source).unwrap();
    let dir = scratch("siglip");
    let text = write_tower(&tensors, &["text_model.".to_string()], StoredType::F32, &source, &dir.join("text.safetensors")).unwrap();
    let image = write_tower(&tensors, &["vision_model.".to_string()], StoredType::F32, &source, &dir.join("image.safetensors")).unwrap();
    // logit_scale and logit_bias belong to neither tower.
    assert_eq!(text + image + 2, tensors.len());
}

#[test]
fn conversion_errors_name_the_problem() {
    let not_checkpoint = fixture_path("farslip/config.json");
    let error = read_checkpoint(&not_checkpoint).unwrap_err();
    assert!(matches!(error, ConvertError::Read { .. }), "{error}");
    assert!(error.to_string().contains("config.json"), "{error}");

    let source = fixture_path("farslip/tiny.safetensors");
    let tensors = read_checkpoint(&source).unwrap();
    let out = scratch("errors").join("none.safetensors");
    let error = write_tower(&tensors, &["text_model.".to_string()], StoredType::F16, &source, &out).unwrap_err();
    assert!(matches!(error, ConvertError::NothingSelected { .. }), "{error}");

    let huge = BTreeMap::from([("w".to_string(), Float32Tensor { shape: vec![2], values: vec![1.0, 1.0e6] })]);
    let error = write_tower(&huge, &["w".to_string()], StoredType::F16, &source, &out).unwrap_err();
    assert!(matches!(error, ConvertError::OutOfRange { index: 1, .. }), "{error}");
    assert!(!out.exists());
}
