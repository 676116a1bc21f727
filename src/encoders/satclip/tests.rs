//! Parity with SatCLIP's own code (PyPI package `rangegeo` 0.1.0, run in f64 by
//! `dev/make_satclip_fixture.py`) on a full-size network with seeded random weights.

use super::*;
use safetensors::SafeTensors;

const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/satclip");

fn read_f64(tensors: &SafeTensors<'_>, key: &str) -> (Vec<usize>, Vec<f64>) {
    let view = tensors.tensor(key).unwrap();
    let values = view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect();
    (view.shape().to_vec(), values)
}

struct Reference {
    coords: Vec<(f64, f64)>,
    harmonics: Vec<f64>,
    embeddings: Vec<f64>,
}

fn reference() -> Reference {
    let bytes = std::fs::read(format!("{FIXTURE_DIR}/reference.safetensors")).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let (_, coords) = read_f64(&tensors, "coords");
    let (shape, harmonics) = read_f64(&tensors, "harmonics");
    assert_eq!(shape[1], FEATURES);
    let (_, embeddings) = read_f64(&tensors, "embeddings");
    Reference { coords: coords.chunks(2).map(|c| (c[0], c[1])).collect(), harmonics, embeddings }
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn closed_form_values() {
    let features = spherical_harmonics(12.3, 45.6);
    assert!((features[0] - std::f64::consts::PI.sqrt() / 2.0).abs() < 1e-15);
    let cos_theta = (12.3f64 + 90.0).to_radians().cos();
    assert!((features[feature_index(1, 0)] - 1.534990061919732 * cos_theta).abs() < 1e-12);
}

#[test]
fn harmonics_match_reference_away_from_poles() {
    let reference = reference();
    assert!(reference.coords.len() >= 20);
    for (point, &(lat, lon)) in reference.coords.iter().enumerate() {
        let ours = spherical_harmonics(lat, lon);
        let theirs = &reference.harmonics[point * FEATURES..(point + 1) * FEATURES];
        for l in 0..LEGENDRE_DEGREES {
            // SatCLIP's expanded polynomials lose precision for high degrees near the poles.
            let tolerance = if lat.abs() > 80.0 && l >= 20 { 1.0 } else { 1e-6 };
            for m in -(l as i64)..=(l as i64) {
                let index = feature_index(l, m);
                let difference = (ours[index] - theirs[index]).abs();
                assert!(difference < tolerance, "({lat}, {lon}) l={l} m={m}: {} vs {}", ours[index], theirs[index]);
            }
        }
    }
}

#[test]
fn embeddings_match_reference() {
    let reference = reference();
    let weights = std::fs::read(format!("{FIXTURE_DIR}/location_encoder.safetensors")).unwrap();
    let encoder = LocationEncoder::from_safetensors(&weights, Device::default()).unwrap();
    let ours = futures::executor::block_on(encoder.embed(&reference.coords)).unwrap();
    let mut worst = (1.0f64, (0.0, 0.0));
    for (point, &(lat, lon)) in reference.coords.iter().enumerate() {
        let ours: Vec<f64> = ours[point].iter().map(|&v| f64::from(v)).collect();
        let theirs = &reference.embeddings[point * EMBEDDING_DIM..(point + 1) * EMBEDDING_DIM];
        let similarity = cosine(&ours, theirs);
        eprintln!("({lat:9.4}, {lon:9.4}) cosine {similarity:.9}");
        if similarity < worst.0 {
            worst = (similarity, (lat, lon));
        }
    }
    assert!(worst.0 >= 0.99999, "lowest cosine {} at {:?}", worst.0, worst.1);
}

#[test]
fn invalid_coordinates_are_rejected() {
    let weights = std::fs::read(format!("{FIXTURE_DIR}/location_encoder.safetensors")).unwrap();
    let encoder = LocationEncoder::from_safetensors(&weights, Device::default()).unwrap();
    for (lat, lon) in [(91.0, 0.0), (f64::NAN, 0.0), (0.0, 181.0), (0.0, f64::INFINITY)] {
        assert!(futures::executor::block_on(encoder.embed(&[(lat, lon)])).is_err(), "({lat}, {lon})");
    }
}

#[test]
fn weights_with_wrong_keys_are_rejected() {
    let wrong_shape = {
        let data = vec![0u8; 4 * 10];
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![10], &data).unwrap();
        safetensors::serialize(vec![("model.location.nnet.layers.0.weight".to_string(), view)], None).unwrap()
    };
    let error = SirenNet::from_safetensors(&wrong_shape, &Device::default()).unwrap_err();
    assert!(matches!(error, WeightsError::Shape { .. }), "{error}");

    let error = SirenNet::from_safetensors(b"not a safetensors file", &Device::default()).unwrap_err();
    assert!(matches!(error, WeightsError::Format(_)), "{error}");

    let mut extra = std::fs::read(format!("{FIXTURE_DIR}/location_encoder.safetensors")).unwrap();
    let tensors = SafeTensors::deserialize(&extra).unwrap();
    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors.tensors();
    let spare = vec![0u8; 4];
    views.push(("model.location.nnet.layers.2.weight".to_string(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &spare).unwrap()));
    let with_extra = safetensors::serialize(views, None).unwrap();
    extra.clear();
    let error = SirenNet::from_safetensors(&with_extra, &Device::default()).unwrap_err();
    assert_eq!(error, WeightsError::Unused { keys: "model.location.nnet.layers.2.weight".to_string() });
}

#[test]
fn random_weights_load_and_are_seeded() {
    let first = random_weights_safetensors(7);
    assert_eq!(first, random_weights_safetensors(7));
    assert_ne!(first, random_weights_safetensors(8));
    SirenNet::from_safetensors(&first, &Device::default()).unwrap();
}
