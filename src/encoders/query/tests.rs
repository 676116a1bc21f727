//! Query encoders built from cards: the published cards against the full-size key lists, and
//! text queries through the real CLIP tokenizer against open_clip's outputs on the tiny FarSLIP.

use std::collections::BTreeMap;

use super::*;
use crate::encoders::testing::{Fixture, assert_close};

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
const CLIP_VOCAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public/vocab/bpe_simple_vocab_16e6.txt.gz");

fn card(name: &str) -> ModelCard {
    let bytes = std::fs::read(format!("{MODELS}/{name}.json")).unwrap();
    ModelCard::from_json(&bytes).unwrap()
}

fn clip_vocab() -> Vec<u8> {
    std::fs::read(CLIP_VOCAB).unwrap_or_else(|e| panic!("{CLIP_VOCAB}: {e}; run `make public/vocab/bpe_simple_vocab_16e6.txt.gz` first"))
}

/// Full-size key list of `fixture`, split by the tower whose prefixes claim each key.
fn keys_by_tower(fixture: &str, towers: &[(&str, &WeightsCard)]) -> BTreeMap<String, Vec<(String, Vec<usize>)>> {
    let mut split: BTreeMap<String, Vec<(String, Vec<usize>)>> = BTreeMap::new();
    for (key, shape) in Fixture::full_keys(fixture) {
        let owners: Vec<&str> = towers.iter().filter(|(_, w)| w.prefixes.iter().any(|p| key.starts_with(p.as_str()))).map(|(name, _)| *name).collect();
        assert!(owners.len() <= 1, "{key} belongs to towers {owners:?}");
        let owner = owners.first().copied().unwrap_or("none");
        split.entry(owner.to_string()).or_default().push((key, shape));
    }
    split
}

fn bytes_of(keys: &[(String, Vec<usize>)], element_bytes: u64) -> u64 {
    keys.iter().map(|(_, shape)| shape.iter().product::<usize>() as u64 * element_bytes).sum()
}

#[test]
fn farslip_card_towers_partition_checkpoint() {
    let card = card("farslip-vit-b-16");
    let (text, image) = (card.text().unwrap(), card.image().unwrap());
    let split = keys_by_tower("farslip/full_keys.json", &[("text", &text.weights), ("image", &image.weights)]);
    assert_eq!(split["none"], vec![("logit_scale".to_string(), vec![])]);
    // The converted per-tower files store f16.
    assert_eq!(text.weights.download_bytes, bytes_of(&split["text"], 2));
    assert_eq!(image.weights.download_bytes, bytes_of(&split["image"], 2));

    // A full-size checkpoint (zeros) loads through the card with no tensor missing or left over.
    let Architecture::Farslip(config) = &card.architecture else { panic!("architecture {:?}", card.architecture) };
    assert_eq!(config, &crate::encoders::farslip::ClipConfig::farslip_vit_b_16());
    let weights = Fixture::zero_weights(&Fixture::full_keys("farslip/full_keys.json"));
    TextQueryEncoder::load(&card, &weights, &clip_vocab(), &EncoderDevice::cpu()).unwrap();
    ImageQueryEncoder::load(&card, &weights, &EncoderDevice::cpu()).unwrap();
}

#[test]
fn siglip_card_towers_partition_checkpoint() {
    let card = card("siglip-so400m-patch14-384");
    let (text, image) = (card.text().unwrap(), card.image().unwrap());
    let split = keys_by_tower("siglip/full_keys.json", &[("text", &text.weights), ("image", &image.weights)]);
    let unused: Vec<&str> = split["none"].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(unused, ["logit_scale", "logit_bias"]);
    // The Hugging Face checkpoint stores f32.
    assert_eq!(text.weights.download_bytes, bytes_of(&split["text"], 4));
    assert_eq!(image.weights.download_bytes, bytes_of(&split["image"], 4));
    let Architecture::Siglip(config) = &card.architecture else { panic!("architecture {:?}", card.architecture) };
    assert_eq!(config, &crate::encoders::siglip::SiglipConfig::so400m_patch14_384());
    assert_eq!(image.preprocessing, Some(crate::encoders::preprocess::Pipeline::open_clip_384()));
}

#[test]
fn satclip_card_covers_image_encoder() {
    let card = card("satclip-vit16-l40");
    let image = card.image().unwrap();
    let split = keys_by_tower("satclip/full_keys.json", &[("image", &image.weights)]);
    assert!(!split.contains_key("none"));
    // The image tower comes from the Lightning checkpoint through eee convert, so f16.
    assert_eq!(image.weights.download_bytes, bytes_of(&split["image"], 2));
    let Architecture::SatclipVit(config) = &card.architecture else { panic!("architecture {:?}", card.architecture) };
    assert_eq!(config, &crate::encoders::satclip_vit::VitConfig::satclip_vit16());
    assert_eq!(image.preprocessing, None);
    let weights = Fixture::zero_weights(&Fixture::full_keys("satclip/full_keys.json"));
    ImageQueryEncoder::load(&card, &weights, &EncoderDevice::cpu()).unwrap();
}

#[test]
fn dinov2_card_covers_checkpoint() {
    let card = card("dinov2-large");
    let image = card.image().unwrap();
    let split = keys_by_tower("dinov2/full_keys.json", &[("image", &image.weights)]);
    assert!(!split.contains_key("none"));
    assert_eq!(image.weights.download_bytes, bytes_of(&split["image"], 4));
    let Architecture::Dinov2(config) = &card.architecture else { panic!("architecture {:?}", card.architecture) };
    assert_eq!(config, &crate::encoders::dinov2::Dinov2Config::large_224());
    assert_eq!(image.preprocessing, Some(crate::encoders::preprocess::Pipeline::dinov2_224()));
    assert!(card.text().is_err());
}

/// Builds a card for the tiny FarSLIP fixture, with the real tokenizer.
fn tiny_farslip_card() -> ModelCard {
    let mut card = card("farslip-vit-b-16");
    let Architecture::Farslip(config) = &mut card.architecture else { unreachable!() };
    *config = crate::encoders::farslip::ClipConfig { embed_dim: 24, vision_width: 48, vision_layers: 2, vision_heads: 4, image_size: 32, text_width: 32, text_layers: 2, text_heads: 4, vocab_size: 49_408, ..config.clone() };
    card
}

/// Builds the tiny FarSLIP with its 1000-row token table spread over the real 49 408 ids. The
/// spread follows the fixture script's map (id → 1 + id % 997, start 998, end 999, pad 0), so
/// real tokenizer output gives the tiny model's reference outputs.
fn tiny_farslip_with_full_vocabulary() -> Vec<u8> {
    let bytes = Fixture::read("farslip/tiny.safetensors");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let table = tensors.tensor("token_embedding.weight").unwrap();
    let width = table.shape()[1];
    let rows: Vec<&[u8]> = table.data().chunks_exact(width * 4).collect();
    let mapped = |id: usize| match id {
        0 => 0,
        49_406 => 998,
        49_407 => 999,
        _ => 1 + id % 997,
    };
    let expanded: Vec<u8> = (0..49_408).flat_map(|id| rows[mapped(id)].iter().copied()).collect();

    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> = Vec::new();
    for (name, view) in tensors.tensors() {
        if name != "token_embedding.weight" {
            views.push((name, view));
        }
    }
    views.push(("token_embedding.weight".into(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![49_408, width], &expanded).unwrap()));
    safetensors::serialize(views, None).unwrap()
}

/// The prompts of the FarSLIP fixture, in the order of its reference rows.
const FARSLIP_PROMPTS: [&str; 4] = [
    "",
    "a satellite image of a glacier",
    "a satellite image of a city with a coastline",
    "Sentinel-2 true colour image, 10 m per pixel: farmland with centre-pivot irrigation circles next to a braided river delta, a small harbour town, salt pans and a coastal lagoon in early summer",
];

#[test]
fn farslip_text_query_matches_open_clip() {
    let reference = Fixture::open("farslip/reference.safetensors");
    let encoder = TextQueryEncoder::load(&tiny_farslip_card(), &tiny_farslip_with_full_vocabulary(), &clip_vocab(), &EncoderDevice::cpu()).unwrap();
    let openclip_ids = reference.i64("token_ids_openclip");
    let (shape, embeddings) = reference.f32("text_embeds");
    let dim = shape[1];
    for (row, prompt) in FARSLIP_PROMPTS.iter().enumerate() {
        assert_eq!(encoder.tokenize(prompt).unwrap(), openclip_ids[row * 248..(row + 1) * 248], "ids of {prompt:?}");
        let ours = futures::executor::block_on(encoder.embed(prompt)).unwrap();
        let expected = embeddings[row * dim..(row + 1) * dim].to_vec();
        assert_close(TensorData::new(ours, [1, dim]), &(vec![1, dim], expected), 1e-4);
    }
}

#[test]
fn out_of_vocabulary_ids_are_rejected() {
    // The unexpanded tiny model has 1000 token embeddings; real CLIP ids go up to 49 407.
    let mut card = tiny_farslip_card();
    let Architecture::Farslip(config) = &mut card.architecture else { unreachable!() };
    config.vocab_size = 1000;
    let encoder = TextQueryEncoder::load(&card, &Fixture::read("farslip/tiny.safetensors"), &clip_vocab(), &EncoderDevice::cpu()).unwrap();
    let error = futures::executor::block_on(encoder.embed("a glacier")).unwrap_err();
    assert!(matches!(error, QueryError::TokenOutOfRange { vocab_size: 1000, .. }), "{error}");
}

#[test]
fn image_query_runs_card_preprocessing() {
    // The tiny FarSLIP takes 32 px; the card's recipe (shorter side 224, crop 224) does not fit it.
    let card = tiny_farslip_card();
    let encoder = ImageQueryEncoder::load(&card, &Fixture::read("farslip/tiny.safetensors"), &EncoderDevice::cpu()).unwrap();
    let image = QueryImage::Rgb(Rgb8 { width: 40, height: 30, data: vec![128; 40 * 30 * 3] });
    let error = futures::executor::block_on(encoder.embed(&image)).unwrap_err();
    assert_eq!(error, QueryError::ImageSize { model: card.id.clone(), expected: 32, found: 224 });
}

#[test]
fn wrong_tower_weights_are_rejected() {
    let card = tiny_farslip_card();
    let dinov2 = Fixture::read("dinov2/tiny.safetensors");
    let error = ImageQueryEncoder::load(&card, &dinov2, &EncoderDevice::cpu()).err().unwrap();
    assert!(matches!(error, QueryError::Weights { .. }), "{error}");
    assert!(error.to_string().contains("visual."), "{error}");
}

#[test]
fn text_query_on_image_only_card_fails() {
    let card = card("dinov2-large");
    let error = TextQueryEncoder::load(&card, &[], &[], &EncoderDevice::cpu()).err().unwrap();
    assert!(matches!(error, QueryError::Card(_)), "{error}");
}

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples");

fn fixture_card(model: &str) -> ModelCard {
    ModelCard::from_json(&Fixture::read(&format!("{model}/card.json"))).unwrap()
}

/// `(name, values)` of the reference rows in `<model>/queries.safetensors` whose name starts with `kind`.
fn query_references(model: &str, kind: &str) -> Vec<(String, Vec<f32>)> {
    let bytes = Fixture::read(&format!("{model}/queries.safetensors"));
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = tensors.names().into_iter().filter(|n| n.starts_with(kind)).map(str::to_string).collect();
    names.sort();
    let reference = Fixture::open(&format!("{model}/queries.safetensors"));
    names
        .into_iter()
        .map(|name| {
            let (_, values) = reference.f32(&name);
            (name, values)
        })
        .collect()
}

fn query_prompts(model: &str) -> Vec<String> {
    let bytes = Fixture::read(&format!("{model}/queries.safetensors"));
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let description: serde_json::Value = serde_json::from_str(&metadata.metadata().as_ref().unwrap()["fixture"]).unwrap();
    description["prompts"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect()
}

fn assert_row_close(ours: Vec<f32>, expected: &[f32], tolerance: f32) {
    let dim = expected.len();
    assert_close(TensorData::new(ours, [1, dim]), &(vec![1, dim], expected.to_vec()), tolerance);
}

/// Decodes each example PNG and embeds it through the card's preprocessing and image tower.
fn check_image_queries(model: &str) {
    let card = fixture_card(model);
    let encoder = ImageQueryEncoder::load(&card, &Fixture::read(&format!("{model}/tiny.safetensors")), &EncoderDevice::cpu()).unwrap();
    let references = query_references(model, "image_");
    assert_eq!(references.len(), 3);
    for (name, expected) in references {
        let file = format!("{EXAMPLES}/{}.png", name.trim_start_matches("image_"));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("reading the example image {file}: {e}"));
        let image = decode_query_image(&card, &bytes).unwrap();
        let ours = futures::executor::block_on(encoder.embed(&image)).unwrap();
        assert_row_close(ours, &expected, 1e-4);
    }
}

#[test]
fn farslip_image_queries_match_open_clip() {
    check_image_queries("farslip");
}

#[test]
fn siglip_image_queries_match_transformers() {
    check_image_queries("siglip");
}

#[test]
fn dinov2_image_queries_match_transformers() {
    check_image_queries("dinov2");
}

#[test]
fn satclip_geotiff_query_matches_timm() {
    let card = fixture_card("satclip");
    let encoder = ImageQueryEncoder::load(&card, &Fixture::read("satclip/tiny.safetensors"), &EncoderDevice::cpu()).unwrap();
    let chip = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/preprocess/s2_chip.tif")).unwrap();
    let image = decode_query_image(&card, &chip).unwrap();
    let ours = futures::executor::block_on(encoder.embed(&image)).unwrap();
    let (_, expected) = query_references("satclip", "image_").remove(0);
    assert_row_close(ours, &expected, 1e-4);

    // An RGB picture is not a band stack, and a band stack is not an RGB picture.
    let png = std::fs::read(format!("{EXAMPLES}/example1.png")).unwrap();
    let error = decode_query_image(&card, &png).unwrap_err();
    assert!(error.to_string().contains("13-band"), "{error}");
    let rgb = QueryImage::Rgb(crate::encoders::preprocess::decode_image(&png).unwrap());
    let error = futures::executor::block_on(encoder.embed(&rgb)).unwrap_err();
    assert!(matches!(error, QueryError::WrongImageKind { .. }), "{error}");
    let dinov2 = fixture_card("dinov2");
    let error = decode_query_image(&dinov2, &chip).unwrap_err();
    assert!(error.to_string().contains("PNG or JPEG"), "{error}");
}

#[test]
fn farslip_cleaned_prompts_match_open_clip() {
    let encoder = TextQueryEncoder::load(&tiny_farslip_card(), &tiny_farslip_with_full_vocabulary(), &clip_vocab(), &EncoderDevice::cpu()).unwrap();
    let prompts = query_prompts("farslip");
    let references = query_references("farslip", "text_");
    assert_eq!(prompts.len(), references.len());
    for (prompt, (_, expected)) in prompts.iter().zip(references) {
        let ours = futures::executor::block_on(encoder.embed(prompt)).unwrap();
        assert_row_close(ours, &expected, 1e-4);
    }
}

#[test]
fn siglip_text_queries_match_transformers() {
    let card = fixture_card("siglip");
    let tokenizer = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizers/t5like_unigram.tokenizer.json")).unwrap();
    let encoder = TextQueryEncoder::load(&card, &Fixture::read("siglip/tiny.safetensors"), &tokenizer, &EncoderDevice::cpu()).unwrap();
    let prompts = query_prompts("siglip");
    let references = query_references("siglip", "text_");
    assert_eq!(prompts.len(), references.len());
    for (prompt, (_, expected)) in prompts.iter().zip(references) {
        let ours = futures::executor::block_on(encoder.embed(prompt)).unwrap();
        assert_row_close(ours, &expected, 1e-4);
    }
}


/// WebGPU's default `maxStorageBufferBindingSize`, 128 MiB.
const WEBGPU_DEFAULT_BINDING: u64 = 128 << 20;

fn is_token_table(key: &str) -> bool {
    key.ends_with("token_embedding.weight")
}

#[test]
fn full_size_device_tensors_fit_webgpu_default_binding() {
    // Every tensor but the token tables goes to the device, so each must fit one binding.
    // SigLIP's token table does not fit, which is why the tables stay in host memory.
    for fixture in ["farslip", "siglip", "dinov2", "satclip"] {
        let keys = Fixture::full_keys(&format!("{fixture}/full_keys.json"));
        let f32_bytes = |shape: &[usize]| shape.iter().product::<usize>() as u64 * 4;
        let (largest, shape) = keys.iter().filter(|(key, _)| !is_token_table(key)).max_by_key(|(_, shape)| f32_bytes(shape)).unwrap();
        assert!(f32_bytes(shape) <= WEBGPU_DEFAULT_BINDING, "{fixture}: {largest} {shape:?}");
        if fixture == "siglip" {
            let (_, table) = keys.iter().find(|(key, _)| is_token_table(key)).unwrap();
            assert!(f32_bytes(table) > WEBGPU_DEFAULT_BINDING, "SigLIP token table {table:?}");
        }
    }
}

/// Returns the CPU device with a WebGPU-style limit on one tensor, to test the loader's check.
fn limited_cpu(limit: u64) -> EncoderDevice {
    EncoderDevice { tensor_limit: Some(limit), ..EncoderDevice::cpu() }
}

#[test]
fn device_limit_rejects_large_tensors() {
    let card = fixture_card("siglip");
    let Architecture::Siglip(config) = &card.architecture else { panic!("architecture {:?}", card.architecture) };
    let tokenizer = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizers/t5like_unigram.tokenizer.json")).unwrap();
    let weights = Fixture::read("siglip/tiny.safetensors");
    let table_bytes = (config.vocab_size * config.width * 4) as u64;
    let mlp_bytes = (config.intermediate * config.width * 4) as u64;
    assert!(table_bytes > mlp_bytes);

    // A limit below the token table but above every other tensor: the text tower loads, and
    // its embeddings still match transformers.
    let encoder = TextQueryEncoder::load(&card, &weights, &tokenizer, &limited_cpu(mlp_bytes)).unwrap();
    let (prompt, (_, expected)) = query_prompts("siglip").into_iter().zip(query_references("siglip", "text_")).next().unwrap();
    assert_row_close(futures::executor::block_on(encoder.embed(&prompt)).unwrap(), &expected, 1e-4);

    // A limit below the MLP weights: the load fails and names the first tensor above it.
    let error = TextQueryEncoder::load(&card, &weights, &tokenizer, &limited_cpu(mlp_bytes - 1)).err().unwrap();
    let QueryError::Weights { source: WeightsError::TooLargeForDevice { key, bytes, limit }, .. } = &error else { panic!("{error}") };
    assert!(key.starts_with("text_model.encoder.layers.0.mlp.fc"), "{key}");
    assert_eq!((*bytes, *limit), (mlp_bytes, mlp_bytes - 1));
    assert!(error.to_string().contains(key.as_str()), "{error}");
}

#[test]
fn token_ids_outside_the_table_are_errors() {
    let card = fixture_card("siglip");
    let Architecture::Siglip(config) = &card.architecture else { panic!("architecture {:?}", card.architecture) };
    let weights = Fixture::read("siglip/tiny.safetensors");
    let mut file = TensorFile::parse(&weights, "").unwrap();
    let tower = crate::encoders::siglip::TextTower::load(&mut file, config, &EncoderDevice::cpu().device).unwrap();
    let mut ids = vec![1i64; config.context_length];
    ids[3] = config.vocab_size as i64;
    let error = tower.forward(&ids, 1).err().unwrap();
    assert_eq!((error.id, error.vocab_size), (config.vocab_size as i64, config.vocab_size));
    ids[3] = -1;
    assert_eq!(tower.forward(&ids, 1).err().unwrap().id, -1);
}
