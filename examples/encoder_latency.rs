//! Encoder latency on the CPU (burn ndarray): text and image queries through the model cards,
//! for the tiny test fixtures and for the full-size architectures with random weights.
//!
//!     cargo run --profile native-release --example encoder_latency [RUNS] [LABEL] [TOWER]
//!
//! Prints one JSON line per model and tower: load time, first run and the median of the next
//! RUNS runs (default 3). LABEL keeps only the models whose label contains it, such as
//! "FarSLIP ViT-B/16 (full"; TOWER (`text` or `image`) times only that tower. Text towers run a
//! short prompt and one that fills the context. Nothing is downloaded: full-size weights are
//! random f16 values with the real key names and shapes, from
//! `tests/fixtures/encoders/*/full_keys.json`.

use std::time::Instant;

use eee::encoders::card::ModelCard;
use eee::encoders::preprocess::Rgb8;
use eee::encoders::query::{ImageQueryEncoder, QueryImage, TextQueryEncoder};
use rand::{Rng, SeedableRng};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PROMPT: &str = "a satellite image of terraced rice fields next to a braided river";
/// Enough words to fill every text tower's context, so the tower runs at its full length.
fn long_prompt() -> String {
    vec![PROMPT; 40].join(", ")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Random f16 weights (uniform in ±0.02) with the full-size names and shapes.
fn random_weights(full_keys: &str) -> Vec<u8> {
    let keys: Vec<(String, Vec<usize>)> = serde_json::from_slice(&read(full_keys)).expect("full_keys.json");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let buffers: Vec<Vec<u8>> = keys
        .iter()
        .map(|(_, shape)| (0..shape.iter().product::<usize>()).flat_map(|_| half::f16::from_f32(rng.random_range(-0.02..0.02)).to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = keys
        .iter()
        .zip(&buffers)
        .map(|((name, shape), data)| (name.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F16, shape.clone(), data).expect("shape")))
        .collect();
    safetensors::serialize(views, None).expect("serialise")
}

/// One benchmarked model: label, card, weights and the tokenizer for its text tower, if timed.
type Case = (String, ModelCard, Vec<u8>, Option<Vec<u8>>);

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(model: &str, tower: &str, load_ms: f64, times: &[f64]) {
    let line = serde_json::json!({
        "model": model,
        "tower": tower,
        "backend": "burn ndarray (native CPU)",
        "load_ms": load_ms.round(),
        "first_ms": times[0].round(),
        "median_ms": median(times[1..].to_vec()).round(),
        "runs": times.len() - 1,
    });
    println!("{line}");
}

fn time_runs(runs: usize, mut run: impl FnMut()) -> Vec<f64> {
    (0..=runs)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let image = QueryImage::Rgb(Rgb8 { width: 400, height: 300, data: (0..400 * 300 * 3).map(|i| (i * 37 % 251) as u8).collect() });
    let device = eee::encoders::device::EncoderDevice::cpu();
    let clip_vocab = read("public/vocab/bpe_simple_vocab_16e6.txt.gz");
    let t5_tokenizer = read("tests/fixtures/tokenizers/t5like_unigram.tokenizer.json");

    // An optional second argument keeps only the cases whose label contains it; weights are
    // built only for those.
    let only = std::env::args().nth(2).unwrap_or_default();
    // (label, card, weights, tokenizer for the text tower)
    let mut cases: Vec<Case> = Vec::new();
    for model in ["farslip", "siglip", "dinov2"] {
        let label = format!("{model} (tiny fixture)");
        if !label.contains(&only) {
            continue;
        }
        let card = ModelCard::from_json(&read(&format!("tests/fixtures/encoders/{model}/card.json"))).expect("card");
        let tokenizer = (model == "siglip").then(|| t5_tokenizer.clone());
        cases.push((label, card, read(&format!("tests/fixtures/encoders/{model}/tiny.safetensors")), tokenizer));
    }
    for (model, card) in [("farslip", "farslip-vit-b-16"), ("siglip", "siglip-so400m-patch14-384"), ("dinov2", "dinov2-large")] {
        let card = ModelCard::from_json(&read(&format!("models/{card}.json"))).expect("card");
        let label = format!("{} (full size, random weights)", card.name);
        if !label.contains(&only) {
            continue;
        }
        let weights = random_weights(&format!("tests/fixtures/encoders/{model}/full_keys.json"));
        // SigLIP's real 32,000-piece tokenizer is not available here; a SentencePiece model
        // trained locally is used instead. Its ids fit the table, and the tower always runs all 64
        // positions, so the time does not depend on which ids it gets.
        let tokenizer = match model {
            "farslip" => Some(clip_vocab.clone()),
            "siglip" => Some(t5_tokenizer.clone()),
            _ => None,
        };
        cases.push((label, card, weights, tokenizer));
    }

    // An optional third argument, `text` or `image`, times only that tower.
    let tower = std::env::args().nth(3).unwrap_or_default();
    for (label, card, weights, tokenizer) in &cases {
        if let Some(tokenizer) = tokenizer.as_ref().filter(|_| tower != "image") {
            let started = Instant::now();
            let encoder = TextQueryEncoder::load(card, weights, tokenizer, &device).expect("text encoder");
            let load_ms = started.elapsed().as_secs_f64() * 1e3;
            for (tower, prompt) in [("text (short prompt)", PROMPT.to_string()), ("text (prompt filling the context)", long_prompt())] {
                let times = time_runs(runs, || {
                    futures::executor::block_on(encoder.embed(&prompt)).expect("text query");
                });
                report(label, tower, load_ms, &times);
            }
        }
        if card.towers.image.is_some() && tower != "text" {
            let started = Instant::now();
            let encoder = ImageQueryEncoder::load(card, weights, &device).expect("image encoder");
            let load_ms = started.elapsed().as_secs_f64() * 1e3;
            let times = time_runs(runs, || {
                futures::executor::block_on(encoder.embed(&image)).expect("image query");
            });
            report(label, "image", load_ms, &times);
        }
    }
}
