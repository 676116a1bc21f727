//! Reading checkpoint tensors from safetensors files by their original key names.

use std::collections::BTreeSet;

use burn::module::Param;
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};

/// Errors from loading weights. Messages name the tensor key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("the weights file is not a valid safetensors file ({0}): check that it is the model's .safetensors file and that the download is complete")]
    Format(String),
    #[error("tensor {key:?} is missing from the weights file: it is not a checkpoint of this model")]
    Missing { key: String },
    #[error("tensor {key:?} has shape {found:?} but the model needs {expected:?}: the checkpoint is for a different model size")]
    Shape { key: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("tensor {key:?} has data type {found}, but only F32, F16 and BF16 are supported")]
    DType { key: String, found: String },
    #[error("the weights file has tensors this model does not use: {keys}. It is a checkpoint of another model")]
    Unused { keys: String },
    #[error("tensor {key:?} contains a non-finite value at position {index}: the file is corrupt")]
    NonFinite { key: String, index: usize },
    #[error("tensor {key:?} takes {bytes} bytes as f32, above the device's limit of {limit} bytes for one buffer")]
    TooLargeForDevice { key: String, bytes: u64, limit: u64 },
}

/// A safetensors file whose tensors are taken one by one; [`TensorFile::finish`] reports
/// tensors that no module consumed.
pub struct TensorFile<'a> {
    tensors: SafeTensors<'a>,
    prefix: String,
    remaining: BTreeSet<String>,
    /// Largest tensor, in f32 bytes, that [`TensorFile::take`] hands out for the device.
    tensor_limit: Option<u64>,
}

impl<'a> TensorFile<'a> {
    /// Parses `bytes`; only keys that start with `prefix` belong to the model.
    pub fn parse(bytes: &'a [u8], prefix: &str) -> Result<Self, WeightsError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
        let remaining = tensors.names().into_iter().filter(|k| k.starts_with(prefix)).map(|k| k.to_string()).collect();
        Ok(TensorFile { tensors, prefix: prefix.to_string(), remaining, tensor_limit: None })
    }

    /// Keeps only the keys that start with one of `prefixes` (after the file prefix) as
    /// belonging to the model, so that loading one tower of a two-tower checkpoint can still
    /// check that the tower used all its tensors.
    pub fn restrict(mut self, prefixes: &[&str]) -> Self {
        let file_prefix = self.prefix.clone();
        self.remaining.retain(|key| prefixes.iter().any(|p| key[file_prefix.len()..].starts_with(p)));
        self
    }

    /// Makes [`TensorFile::take`] reject tensors above `bytes` as f32: the device's limit for one
    /// buffer (WebGPU's `maxStorageBufferBindingSize`).
    pub fn with_tensor_limit(mut self, bytes: Option<u64>) -> Self {
        self.tensor_limit = bytes;
        self
    }

    /// Reads `{prefix}{name}` as f32 values for the device, after checking its shape and the
    /// device's limit on one buffer.
    pub fn take(&mut self, name: &str, expected: &[usize]) -> Result<Vec<f32>, WeightsError> {
        let bytes = expected.iter().map(|&d| d as u64).product::<u64>() * 4;
        if let Some(limit) = self.tensor_limit.filter(|&limit| bytes > limit) {
            return Err(WeightsError::TooLargeForDevice { key: format!("{}{name}", self.prefix), bytes, limit });
        }
        self.take_host(name, expected)
    }

    /// Reads `{prefix}{name}` as f32 values that stay in host memory, after checking its shape.
    pub fn take_host(&mut self, name: &str, expected: &[usize]) -> Result<Vec<f32>, WeightsError> {
        let key = format!("{}{name}", self.prefix);
        let view = self.tensors.tensor(&key).map_err(|_| WeightsError::Missing { key: key.clone() })?;
        if view.shape() != expected {
            return Err(WeightsError::Shape { key, expected: expected.to_vec(), found: view.shape().to_vec() });
        }
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F16 => {
                let halves: Vec<half::f16> = data.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]])).collect();
                let mut values = vec![0.0f32; halves.len()];
                half::slice::HalfFloatSliceExt::convert_to_f32_slice(halves.as_slice(), &mut values);
                values
            }
            Dtype::BF16 => data.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            other => return Err(WeightsError::DType { key, found: format!("{other:?}") }),
        };
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(WeightsError::NonFinite { key, index });
        }
        self.remaining.remove(&key);
        Ok(values)
    }

    /// Takes a PyTorch `nn.Linear`-style layer (`weight` [out, in], `bias` [out]) as a burn [`Linear`],
    /// whose weight is stored [in, out].
    pub fn take_linear(&mut self, name: &str, d_input: usize, d_output: usize, device: &Device) -> Result<burn::nn::Linear, WeightsError> {
        let weight = self.take(&format!("{name}.weight"), &[d_output, d_input])?;
        let bias = self.take(&format!("{name}.bias"), &[d_output])?;
        Ok(linear_from_torch(&weight, d_input, Some(bias), device))
    }

    /// Fails if tensors under the prefix were left over.
    pub fn finish(self) -> Result<(), WeightsError> {
        if self.remaining.is_empty() {
            Ok(())
        } else {
            Err(WeightsError::Unused { keys: self.remaining.into_iter().collect::<Vec<_>>().join(", ") })
        }
    }
}

/// Builds a burn `Linear` from a PyTorch weight `[d_output, d_input]` (row-major values) and bias.
///
/// burn multiplies by a `[d_input, d_output]` weight. The transpose is stored contiguous: a
/// transposed view would be copied, strided, by the CPU backend's matrix product on every call
/// (a quarter of FarSLIP's text tower before this was done at load time).
pub fn linear_from_torch(weight: &[f32], d_input: usize, bias: Option<Vec<f32>>, device: &Device) -> burn::nn::Linear {
    let d_output = weight.len() / d_input;
    let transposed = transpose(weight, d_output, d_input);
    let bias = bias.map(|bias| Param::from_tensor(Tensor::<1>::from_data(TensorData::new(bias, [d_output]), device)));
    burn::nn::Linear { weight: Param::from_tensor(Tensor::from_data(TensorData::new(transposed, [d_input, d_output]), device)), bias }
}

/// Transposes a row-major `rows × cols` matrix, in tiles that stay in cache.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    debug_assert_eq!(values.len(), rows * cols);
    let mut out = vec![0.0; values.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = values[r * cols + c];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn transpose_moves_each_value() {
        // [[0, 1, 2], [3, 4, 5]] → [[0, 3], [1, 4], [2, 5]]
        assert_eq!(transpose(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 2, 3), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // Sizes that are not multiples of the tile.
        let (rows, cols) = (70, 45);
        let values: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
        let out = transpose(&values, rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(out[c * rows + r], values[r * cols + c]);
            }
        }
    }

    #[test]
    fn linear_from_torch_matches_definition() {
        #[allow(deprecated)]
        let device = Device::ndarray();
        // weight [2 outputs, 3 inputs]
        let linear = linear_from_torch(&[1.0, 2.0, 3.0, -1.0, 0.5, 0.0], 3, Some(vec![10.0, 20.0]), &device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0, 2.0], [1, 3]), &device);
        let y = linear.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(y, vec![1.0 + 2.0 + 6.0 + 10.0, -1.0 + 0.5 + 20.0]);
    }
}
