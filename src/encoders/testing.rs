//! Helpers for the encoder parity tests: reading fixtures and comparing outputs.

use burn::prelude::*;
use safetensors::SafeTensors;

const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/encoders");

/// A reference file of inputs and outputs.
pub struct Fixture {
    bytes: Vec<u8>,
}

impl Fixture {
    pub fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURE_DIR}/{name}")).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
    }

    pub fn open(name: &str) -> Self {
        Fixture { bytes: Self::read(name) }
    }

    fn view(&self, key: &str) -> (Vec<usize>, Vec<u8>, safetensors::Dtype) {
        let tensors = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = tensors.tensor(key).unwrap_or_else(|_| panic!("fixture has no tensor {key}"));
        (view.shape().to_vec(), view.data().to_vec(), view.dtype())
    }

    /// Reads an f32 tensor with its shape.
    pub fn f32(&self, key: &str) -> (Vec<usize>, Vec<f32>) {
        let (shape, data, dtype) = self.view(key);
        assert_eq!(dtype, safetensors::Dtype::F32, "{key}");
        (shape, data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    pub fn i64(&self, key: &str) -> Vec<i64> {
        let (_, data, dtype) = self.view(key);
        assert_eq!(dtype, safetensors::Dtype::I64, "{key}");
        data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
    }

    pub fn tensor4(&self, key: &str) -> Tensor<4> {
        let (shape, values) = self.f32(key);
        let shape: [usize; 4] = shape.try_into().unwrap();
        Tensor::from_data(TensorData::new(values, shape), &Device::default())
    }

    /// `[[name, shape], …]` of a full-size architecture.
    pub fn full_keys(name: &str) -> Vec<(String, Vec<usize>)> {
        let text = String::from_utf8(Self::read(name)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Builds a safetensors file of zeros with the given names and shapes (f16, to keep it small).
    pub fn zero_weights(keys: &[(String, Vec<usize>)]) -> Vec<u8> {
        let buffers: Vec<Vec<u8>> = keys.iter().map(|(_, shape)| vec![0u8; shape.iter().product::<usize>() * 2]).collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = keys
            .iter()
            .zip(&buffers)
            .map(|((name, shape), data)| (name.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F16, shape.clone(), data).unwrap()))
            .collect();
        safetensors::serialize(views, None).unwrap()
    }
}

/// Asserts that `ours` has the reference shape and is within `tolerance` of it (absolute,
/// scaled by the reference's largest magnitude), and that each row has cosine ≥ 0.9999.
pub fn assert_close(ours: TensorData, (shape, expected): &(Vec<usize>, Vec<f32>), tolerance: f32) {
    assert_eq!(ours.shape().to_vec(), *shape, "shape");
    let values: Vec<f32> = ours.try_to_vec::<f32>().unwrap();
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = values.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= tolerance * scale, "max difference {worst} exceeds {tolerance} × {scale}");
    let row = *shape.last().unwrap();
    for (index, (a, b)) in values.chunks(row).zip(expected.chunks(row)).enumerate() {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
        let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let cosine = dot / (norm(a) * norm(b)).max(f64::MIN_POSITIVE);
        assert!(cosine >= 0.9999, "row {index}: cosine {cosine}");
    }
}
