//! SatCLIP location encoder (Klemmer et al., 2023, <https://github.com/microsoft/satclip>),
//! checkpoint `microsoft/SatCLIP-ViT16-L40`.
//!
//! A (lat, lon) point becomes 1600 real spherical-harmonic features (degrees l = 0..39), and a
//! SIREN network maps them to a 256-dimensional embedding:
//! `h1 = sin(30 · (W0 x + b0))`, `h2 = sin(W1 h1 + b1)`, `out = W2 h2 + b2`.
//!
//! The harmonics are computed in f64 with the associated-Legendre recurrence. The released
//! weights were trained on harmonics whose m = 0 terms are π times the orthonormal value (an
//! operator-precedence slip in SatCLIP's generated formulas); this is reproduced on purpose.
//! SatCLIP's generated formulas expand each harmonic as a polynomial in cos θ with coefficients up
//! to 1e14, which loses precision near the poles for l ≥ 26 (up to 0.6 at l = 39 on the pole); the
//! recurrence here gives the exact values instead.

use burn::nn::Linear;
use burn::prelude::*;

use super::weights::{TensorFile, WeightsError};

/// Number of Legendre degrees (the "L40" of the checkpoint name).
pub const LEGENDRE_DEGREES: usize = 40;
/// Number of harmonic features, `LEGENDRE_DEGREES²`.
pub const FEATURES: usize = LEGENDRE_DEGREES * LEGENDRE_DEGREES;
pub const HIDDEN: usize = 512;
pub const EMBEDDING_DIM: usize = 256;
/// Frequency factor of the first SIREN layer.
pub const FIRST_LAYER_W0: f32 = 30.0;
/// Key prefix of the location network in the Lightning checkpoint.
pub const CHECKPOINT_PREFIX: &str = "model.location.nnet.";

/// Errors from encoding a location.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationError {
    #[error("latitude {0} is invalid: use a value between -90 and 90 degrees")]
    Latitude(f64),
    #[error("longitude {0} is invalid: use a value between -180 and 180 degrees")]
    Longitude(f64),
    #[error("reading the encoder output failed: {0}")]
    Backend(String),
}

/// Checks a (lat, lon) pair in degrees.
pub fn check_coordinates(lat: f64, lon: f64) -> Result<(), LocationError> {
    if !lat.is_finite() || lat.abs() > 90.0 {
        return Err(LocationError::Latitude(lat));
    }
    if !lon.is_finite() || lon.abs() > 180.0 {
        return Err(LocationError::Longitude(lon));
    }
    Ok(())
}

/// Index of the harmonic (l, m) in the feature vector.
pub fn feature_index(l: usize, m: i64) -> usize {
    l * l + (m + l as i64) as usize
}

/// Computes the 1600 spherical-harmonic features of a point, in SatCLIP's order (index
/// `l² + m + l`).
///
/// With θ = rad(lat + 90) and φ = rad(lon + 180): m > 0 gives `√2 N P_l^m(cos θ) cos(mφ)`,
/// m < 0 gives `√2 N P_l^|m|(cos θ) sin(|m|φ)`, m = 0 gives `√((2l+1)π/4) P_l(cos θ)`, with
/// `N = √((2l+1)/(4π) · (l−m)!/(l+m)!)` and no Condon–Shortley phase.
pub fn spherical_harmonics(lat: f64, lon: f64) -> Vec<f64> {
    let theta = (lat + 90.0).to_radians();
    let phi = (lon + 180.0).to_radians();
    let x = theta.cos();
    let sin_theta = theta.sin().abs();
    let mut features = vec![0.0; FEATURES];

    // P_m^m = (2m−1)!! sin^m θ, then upward in l with the three-term recurrence.
    let mut p_mm = 1.0f64;
    for m in 0..LEGENDRE_DEGREES {
        if m > 0 {
            p_mm *= (2 * m - 1) as f64 * sin_theta;
        }
        let mut p_previous = 0.0f64;
        let mut p_current = p_mm;
        for l in m..LEGENDRE_DEGREES {
            if l == m + 1 {
                p_previous = p_current;
                p_current = x * (2 * m + 1) as f64 * p_mm;
            } else if l > m + 1 {
                let next = ((2 * l - 1) as f64 * x * p_current - (l + m - 1) as f64 * p_previous) / (l - m) as f64;
                p_previous = p_current;
                p_current = next;
            }
            store_harmonic(&mut features, l, m, p_current, phi);
        }
    }
    features
}

/// Stores the harmonics (l, ±m) given the unnormalised P_l^m(cos θ).
fn store_harmonic(features: &mut [f64], l: usize, m: usize, legendre: f64, phi: f64) {
    let two_l_plus_one = (2 * l + 1) as f64;
    if m == 0 {
        features[feature_index(l, 0)] = (two_l_plus_one * std::f64::consts::PI / 4.0).sqrt() * legendre;
        return;
    }
    // (l−m)!/(l+m)! as a product, which stays within f64 range for l < 40.
    let factorial_ratio: f64 = ((l - m + 1)..=(l + m)).map(|k| 1.0 / k as f64).product();
    let norm = (two_l_plus_one / (4.0 * std::f64::consts::PI) * factorial_ratio).sqrt();
    let scaled = std::f64::consts::SQRT_2 * norm * legendre;
    let angle = m as f64 * phi;
    features[feature_index(l, m as i64)] = scaled * angle.cos();
    features[feature_index(l, -(m as i64))] = scaled * angle.sin();
}

/// The SIREN network; field names follow the checkpoint keys (`layers.0`, `layers.1`,
/// `last_layer`).
#[derive(Module, Debug)]
pub struct SirenNet {
    pub layers: Vec<Linear>,
    pub last_layer: Linear,
}

impl SirenNet {
    /// Loads `model.location.nnet.*` from a safetensors file (the tensors of the Lightning
    /// checkpoint, saved under their original names).
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self, WeightsError> {
        let mut file = TensorFile::parse(bytes, CHECKPOINT_PREFIX)?;
        let layers = vec![
            file.take_linear("layers.0", FEATURES, HIDDEN, device)?,
            file.take_linear("layers.1", HIDDEN, HIDDEN, device)?,
        ];
        let last_layer = file.take_linear("last_layer", HIDDEN, EMBEDDING_DIM, device)?;
        file.finish()?;
        Ok(SirenNet { layers, last_layer })
    }

    /// Maps harmonic features to embeddings.
    ///
    /// # Shapes
    /// - `features`: `[batch, 1600]`
    /// - returns `[batch, 256]`
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let mut hidden = features;
        for (index, layer) in self.layers.iter().enumerate() {
            let w0 = if index == 0 { FIRST_LAYER_W0 } else { 1.0 };
            hidden = layer.forward(hidden).mul_scalar(w0).sin();
        }
        self.last_layer.forward(hidden)
    }
}

/// The location encoder: harmonics on the CPU in f64, then the network on `device`.
#[derive(Debug)]
pub struct LocationEncoder {
    net: SirenNet,
    device: Device,
}

impl LocationEncoder {
    pub fn from_safetensors(bytes: &[u8], device: Device) -> Result<Self, WeightsError> {
        Ok(LocationEncoder { net: SirenNet::from_safetensors(bytes, &device)?, device })
    }

    /// Embeds (lat, lon) points given in degrees; returns one 256-value row per point.
    pub async fn embed(&self, points: &[(f64, f64)]) -> Result<Vec<Vec<f32>>, LocationError> {
        for &(lat, lon) in points {
            check_coordinates(lat, lon)?;
        }
        if points.is_empty() {
            return Ok(Vec::new());
        }
        let features: Vec<f32> = points.iter().flat_map(|&(lat, lon)| spherical_harmonics(lat, lon)).map(|v| v as f32).collect();
        let input = Tensor::<2>::from_data(TensorData::new(features, [points.len(), FEATURES]), &self.device);
        let output = self.net.forward(input);
        let data = output.into_data_async().await.map_err(|e| LocationError::Backend(format!("{e:?}")))?;
        let values: Vec<f32> = data.try_to_vec::<f32>().map_err(|e| LocationError::Backend(format!("{e:?}")))?;
        Ok(values.chunks(EMBEDDING_DIM).map(<[f32]>::to_vec).collect())
    }
}

/// Random SIREN weights with SatCLIP's initialisation (uniform in ±1/fan_in for the first layer,
/// ±√(6/fan_in)/w0 for the others), as a safetensors file with the checkpoint's key names. The
/// demo index is built with these, so the same seed always gives the same demo.
#[cfg(not(target_arch = "wasm32"))]
pub fn random_weights_safetensors(seed: u64) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut layer = |d_input: usize, d_output: usize, first: bool| {
        // SatCLIP's w0 is 1 for every layer after the first, so the bound is √(6/fan_in).
        let bound = if first { 1.0 / d_input as f32 } else { (6.0 / d_input as f32).sqrt() };
        let weight: Vec<f32> = (0..d_input * d_output).map(|_| rng.random_range(-bound..bound)).collect();
        let bias: Vec<f32> = (0..d_output).map(|_| rng.random_range(-bound..bound)).collect();
        (weight, bias)
    };
    let tensors = [
        ("layers.0", FEATURES, HIDDEN, layer(FEATURES, HIDDEN, true)),
        ("layers.1", HIDDEN, HIDDEN, layer(HIDDEN, HIDDEN, false)),
        ("last_layer", HIDDEN, EMBEDDING_DIM, layer(HIDDEN, EMBEDDING_DIM, false)),
    ];
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, d_input, d_output, (weight, bias)) in tensors {
        let bytes = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
        named.push((format!("{CHECKPOINT_PREFIX}{name}.weight"), vec![d_output, d_input], bytes(&weight)));
        named.push((format!("{CHECKPOINT_PREFIX}{name}.bias"), vec![d_output], bytes(&bias)));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = named
        .iter()
        .map(|(key, shape, data)| (key.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data).expect("shape matches data")))
        .collect();
    safetensors::serialize(views, None).expect("serialising in memory cannot fail")
}

#[cfg(test)]
mod tests;
