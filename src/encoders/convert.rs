//! Conversion of original checkpoints into compact per-tower safetensors files in f16. Inputs
//! are PyTorch pickles (open_clip `.pt`/`.bin`, Lightning `.ckpt`) and safetensors. The
//! checkpoint's key names are kept, so the encoders load the files unchanged.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("reading {path} failed: {message}")]
    Read { path: String, message: String },
    #[error("{path} has no tensors under the prefixes {prefixes:?}: check that it is a checkpoint of this model")]
    NothingSelected { path: String, prefixes: Vec<String> },
    #[error("tensor {key:?} in {path} has data type {dtype}, which is not a floating-point type this converter supports (f64, f32, f16, bf16)")]
    DType { path: String, key: String, dtype: String },
    #[error("tensor {key:?} in {path} has a value outside the f16 range ({value}) at index {index}: convert with --dtype f32")]
    OutOfRange { path: String, key: String, index: usize, value: f32 },
    #[error("writing {path} failed: {message}")]
    Write { path: String, message: String },
}

/// Storage type of the converted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredType {
    F16,
    F32,
}

/// One tensor as f32 values with its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Float32Tensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads every floating-point tensor of a checkpoint as f32, keyed by name.
///
/// Pickles keep their state dict under `state_dict` (Lightning, open_clip training
/// checkpoints) or at the top (`torch.save(model.state_dict())`). A `module.` prefix left by
/// `DistributedDataParallel` is removed, as open_clip's `load_checkpoint` does.
pub fn read_checkpoint(path: &Path) -> Result<BTreeMap<String, Float32Tensor>, ConvertError> {
    let display = path.display().to_string();
    let read_error = |message: String| ConvertError::Read { path: display.clone(), message };
    if !path.is_file() {
        return Err(read_error("the file does not exist: check the path".to_string()));
    }
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    let mut tensors = if is_safetensors {
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        let file = SafeTensors::deserialize(&bytes).map_err(|e| read_error(format!("not a valid safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let values = decode(view.dtype(), view.data()).ok_or_else(|| ConvertError::DType { path: display.clone(), key: name.clone(), dtype: format!("{:?}", view.dtype()) })?;
            tensors.insert(name, Float32Tensor { shape: view.shape().to_vec(), values });
        }
        tensors
    } else {
        read_pickle(path)?
    };

    if tensors.keys().any(|k| k.starts_with("state_dict.")) {
        tensors = strip_prefix(tensors, "state_dict.");
    }
    if !tensors.is_empty() && tensors.keys().all(|k| k.starts_with("module.")) {
        tensors = strip_prefix(tensors, "module.");
    }
    Ok(tensors)
}

fn read_pickle(path: &Path) -> Result<BTreeMap<String, Float32Tensor>, ConvertError> {
    use pytorch_reader::DType as PickleType;

    let display = path.display().to_string();
    let reader = pytorch_reader::PytorchReader::new(path).map_err(|e| ConvertError::Read { path: display.clone(), message: format!("not a readable PyTorch checkpoint: {e}") })?;
    let mut tensors = BTreeMap::new();
    for (name, tensor) in reader.into_tensors() {
        let dtype = match tensor.dtype() {
            PickleType::F64 => Dtype::F64,
            PickleType::F32 => Dtype::F32,
            PickleType::F16 => Dtype::F16,
            PickleType::BF16 => Dtype::BF16,
            // Integer buffers (step counters, position ids) are not weights.
            _ => continue,
        };
        let bytes = tensor.read().map_err(|e| ConvertError::Read { path: display.clone(), message: e.to_string() })?;
        let values = decode(dtype, &bytes).expect("floating-point types decode");
        tensors.insert(name, Float32Tensor { shape: tensor.shape().to_vec(), values });
    }
    Ok(tensors)
}

fn strip_prefix(tensors: BTreeMap<String, Float32Tensor>, prefix: &str) -> BTreeMap<String, Float32Tensor> {
    tensors.into_iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v))).collect()
}

/// Little-endian floating-point bytes as f32; `None` for other types.
fn decode(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F64 => bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect(),
        Dtype::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::F16 => bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Dtype::BF16 => bytes.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        _ => return None,
    })
}

/// Writes the tensors whose names start with one of `prefixes` to a safetensors file at
/// `out`, stored as `stored`; returns the number of tensors written.
pub fn write_tower(tensors: &BTreeMap<String, Float32Tensor>, prefixes: &[String], stored: StoredType, source: &Path, out: &Path) -> Result<usize, ConvertError> {
    let (bytes, count) = tower_file(tensors, prefixes, stored, source)?;
    write_file(&bytes, out)?;
    Ok(count)
}

/// Writes `bytes` to `out`, creating its folder.
pub fn write_file(bytes: &[u8], out: &Path) -> Result<(), ConvertError> {
    let write_error = |message: String| ConvertError::Write { path: out.display().to_string(), message };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| write_error(e.to_string()))?;
    }
    std::fs::write(out, bytes).map_err(|e| write_error(e.to_string()))
}

/// Serialises the tensors whose names start with one of `prefixes` as a safetensors file
/// stored as `stored`; returns the bytes and the number of tensors.
pub fn tower_file(tensors: &BTreeMap<String, Float32Tensor>, prefixes: &[String], stored: StoredType, source: &Path) -> Result<(Vec<u8>, usize), ConvertError> {
    let source_name = source.display().to_string();
    let selected: Vec<(&String, &Float32Tensor)> = tensors.iter().filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p.as_str()))).collect();
    if selected.is_empty() {
        return Err(ConvertError::NothingSelected { path: source_name, prefixes: prefixes.to_vec() });
    }

    let mut buffers = Vec::with_capacity(selected.len());
    for (key, tensor) in &selected {
        let bytes: Vec<u8> = match stored {
            StoredType::F32 => tensor.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            StoredType::F16 => {
                if let Some(index) = tensor.values.iter().position(|v| v.is_finite() && v.abs() > f32::from(half::f16::MAX)) {
                    return Err(ConvertError::OutOfRange { path: source_name, key: (*key).clone(), index, value: tensor.values[index] });
                }
                tensor.values.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect()
            }
        };
        buffers.push(bytes);
    }
    let dtype = match stored {
        StoredType::F16 => Dtype::F16,
        StoredType::F32 => Dtype::F32,
    };
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = selected
        .iter()
        .zip(&buffers)
        .map(|((key, tensor), bytes)| ((*key).clone(), safetensors::tensor::TensorView::new(dtype, tensor.shape.clone(), bytes).expect("shape matches the byte count")))
        .collect();
    let metadata = BTreeMap::from([("source".to_string(), source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())]);
    let bytes = safetensors::serialize(views, Some(metadata.into_iter().collect())).map_err(|e| ConvertError::Write { path: source_name, message: e.to_string() })?;
    Ok((bytes, selected.len()))
}

#[cfg(test)]
mod tests;
