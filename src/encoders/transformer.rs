//! Transformer building blocks shared by the image and text towers: pre-norm encoder blocks
//! (attention + MLP, optional LayerScale), with weights taken from checkpoints by name.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{gelu, gelu_approximate, softmax};

use super::kernels;
use super::weights::{linear_from_torch, TensorFile, WeightsError};

/// MLP activation of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Exact GELU (erf), as in OpenAI CLIP ViT-B/16 and DINOv2.
    Gelu,
    /// `x · sigmoid(1.702 x)`, as in the original OpenAI CLIP checkpoints.
    QuickGelu,
    /// GELU with the tanh approximation, as in SigLIP.
    GeluTanh,
}

impl Activation {
    /// On the CPU one f32 pass ([`kernels`]); on WebGPU burn's operations.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        if runs_on_host(&x.device()) {
            let kernel = match self {
                Activation::Gelu => kernels::gelu_erf_in_place,
                Activation::QuickGelu => kernels::quick_gelu_in_place,
                Activation::GeluTanh => kernels::gelu_tanh_in_place,
            };
            return map_on_host(x, kernel);
        }
        match self {
            Activation::Gelu => gelu(x),
            Activation::QuickGelu => x.clone() * burn::tensor::activation::sigmoid(x.mul_scalar(1.702)),
            Activation::GeluTanh => gelu_approximate(x),
        }
    }
}

/// Applies `kernel` to the tensor's values on the host and returns a tensor of the same shape on
/// the same device. On burn's ndarray backend a tensor that is not shared moves out and back
/// without a copy.
pub fn map_on_host<const D: usize>(x: Tensor<D>, kernel: impl FnOnce(&mut [f32])) -> Tensor<D> {
    let device = x.device();
    let shape = x.shape();
    let mut values = host_values(x);
    kernel(&mut values);
    Tensor::from_data(TensorData::new(values, shape), &device)
}

/// Returns the tensor's values as f32, row-major.
pub fn host_values<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    match x.into_data().convert::<f32>().try_into_vec::<f32>() {
        Ok(values) => values,
        // `convert` has just made the values f32, so this cannot fail.
        Err(error) => unreachable!("f32 tensor data: {error:?}"),
    }
}

/// Returns whether `device` is burn's ndarray (CPU) device, where the [`kernels`] replace burn's
/// element-wise operations.
pub fn runs_on_host(device: &Device) -> bool {
    #[allow(deprecated)] // ndarray is the CPU backend this crate uses
    let cpu = Device::ndarray();
    *device == cpu
}

/// Multi-head self-attention with separate query, key and value projections.
#[derive(Module, Debug)]
pub struct Attention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub out: Linear,
    pub heads: usize,
}

impl Attention {
    /// Attends over the sequence; with `causal`, each position only over itself and the
    /// positions before it.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq_length, d_model]`
    /// - returns `[batch, seq_length, d_model]`
    pub fn forward(&self, x: Tensor<3>, causal: bool) -> Tensor<3> {
        self.attend(x.clone(), x, causal)
    }

    /// Attends from `queries` over `context` (keys and values).
    ///
    /// # Shapes
    /// - `queries`: `[batch, query_length, d_model]`
    /// - `context`: `[batch, context_length, d_model]`
    /// - returns `[batch, query_length, d_model]`
    pub fn forward_cross(&self, queries: Tensor<3>, context: Tensor<3>) -> Tensor<3> {
        self.attend(queries, context, false)
    }

    fn attend(&self, queries: Tensor<3>, context: Tensor<3>, causal: bool) -> Tensor<3> {
        let [batch, query_length, d_model] = queries.dims();
        let [_, context_length, _] = context.dims();
        debug_assert!(!causal || query_length == context_length, "the causal mask is for self-attention");
        let head_dim = d_model / self.heads;
        let split = |t: Tensor<3>, length: usize| t.reshape([batch, length, self.heads, head_dim]).swap_dims(1, 2);

        let q = split(self.query.forward(queries), query_length);
        let k = split(self.key.forward(context.clone()), context_length);
        let v = split(self.value.forward(context), context_length);

        let logits = q.matmul(k.swap_dims(2, 3));
        let scale = 1.0 / (head_dim as f64).sqrt();
        let weights = if runs_on_host(&logits.device()) {
            // One pass: scale, causal mask and softmax.
            map_on_host(logits, |values| kernels::softmax_rows_in_place(values, context_length, scale as f32, causal))
        } else {
            let mut logits = logits.mul_scalar(scale);
            if causal {
                logits = logits + causal_mask(query_length, context_length, &self.query.weight.device()).unsqueeze::<4>();
            }
            softmax(logits, 3)
        };

        let attended = weights.matmul(v).swap_dims(1, 2).reshape([batch, query_length, d_model]);
        self.out.forward(attended)
    }
}

/// Additive causal mask for square attention: −∞ above the diagonal.
fn causal_mask(query_length: usize, context_length: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..query_length * context_length)
        .map(|i| if i % context_length > i / context_length { f32::NEG_INFINITY } else { 0.0 })
        .collect();
    Tensor::from_data(TensorData::new(values, [query_length, context_length]), device)
}

/// LayerNorm over the last axis, `(x − mean) / √(var + ε) · γ + β` with the biased variance.
#[derive(Module, Debug)]
pub struct LayerNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
    #[module(skip)]
    pub epsilon: f64,
}

impl LayerNorm {
    /// On the CPU one kernel ([`kernels::layer_norm_rows_in_place`]); on WebGPU burn's.
    ///
    /// # Shapes
    /// - `x`: `[..., width]` → `[..., width]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if runs_on_host(&x.device()) {
            return map_on_host(x, |values| self.apply_on_host(values));
        }
        burn::tensor::module::layer_norm(x, self.gamma.val(), Some(self.beta.val()), self.epsilon)
    }

    /// Normalises rows of host values in place.
    fn apply_on_host(&self, values: &mut [f32]) {
        let (gamma, beta) = (host_values(self.gamma.val()), host_values(self.beta.val()));
        kernels::layer_norm_rows_in_place(values, &gamma, &beta, self.epsilon as f32);
    }
}

/// A convolution with stride equal to its kernel, applied as a matrix product on flattened
/// patches. Pixels beyond the last whole patch are ignored, as the convolution does.
#[derive(Module, Debug)]
pub struct PatchEmbedding {
    /// Weight [channels·patch², width], flattened in the convolution's (channel, kernel row,
    /// kernel column) order.
    pub projection: Linear,
    pub patch_size: usize,
}

impl PatchEmbedding {
    /// Takes a `Conv2d` weight `{name}.weight` [width, channels, patch, patch] and, when
    /// `with_bias`, `{name}.bias`.
    pub fn load(file: &mut TensorFile<'_>, name: &str, channels: usize, patch: usize, width: usize, with_bias: bool, device: &Device) -> Result<Self, WeightsError> {
        let weight = file.take(&format!("{name}.weight"), &[width, channels, patch, patch])?;
        let bias = if with_bias { Some(file.take(&format!("{name}.bias"), &[width])?) } else { None };
        let projection = linear_from_torch(&weight, channels * patch * patch, bias, device);
        Ok(PatchEmbedding { projection, patch_size: patch })
    }

    /// # Shapes
    /// - `images`: `[batch, channels, height, width]`
    /// - returns `[batch, rows · columns, width]`, patches in row-major order
    pub fn forward(&self, images: Tensor<4>) -> Tensor<3> {
        let [batch, channels, height, width] = images.dims();
        let patch = self.patch_size;
        let (rows, cols) = (height / patch, width / patch);
        let images = images.slice([0..batch, 0..channels, 0..rows * patch, 0..cols * patch]);

        // [B, C, rows, p, cols, p] → [B, rows, cols, C, p, p]
        let patches = images
            .reshape([batch, channels, rows, patch, cols, patch])
            .permute([0, 2, 4, 1, 3, 5])
            .reshape([batch, rows * cols, channels * patch * patch]);
        self.projection.forward(patches)
    }
}

/// Two-layer MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// # Shapes
    /// - `x`: `[batch, seq_length, d_model]` → `[batch, seq_length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.fc2.forward(self.activation.apply(self.fc1.forward(x)))
    }
}

/// Pre-norm encoder block: `x + γ₁·attn(norm₁(x))`, then `x + γ₂·mlp(norm₂(x))`; the γ
/// (LayerScale) vectors exist only in DINOv2.
#[derive(Module, Debug)]
pub struct Block {
    pub norm1: LayerNorm,
    pub attention: Attention,
    pub norm2: LayerNorm,
    pub mlp: Mlp,
    pub layer_scale1: Option<Param<Tensor<1>>>,
    pub layer_scale2: Option<Param<Tensor<1>>>,
}

impl Block {
    /// # Shapes
    /// - `x`: `[batch, seq_length, d_model]` → `[batch, seq_length, d_model]`
    pub fn forward(&self, x: Tensor<3>, causal: bool) -> Tensor<3> {
        if runs_on_host(&x.device()) {
            return self.forward_on_host(x, causal);
        }
        let scale = |t: Tensor<3>, gamma: &Option<Param<Tensor<1>>>| match gamma {
            Some(gamma) => t * gamma.val().unsqueeze::<3>(),
            None => t,
        };
        let attended = self.attention.forward(self.norm1.forward(x.clone()), causal);
        let x = x + scale(attended, &self.layer_scale1);
        let transformed = self.mlp.forward(self.norm2.forward(x.clone()));
        x + scale(transformed, &self.layer_scale2)
    }

    /// Runs the block on the CPU with the residual stream kept as host values. On burn's
    /// ndarray backend a tensor that is still referenced, as the stream is for the residual
    /// adds, can only be read back by an element-by-element copy, which cost more than the
    /// LayerNorms themselves.
    fn forward_on_host(&self, x: Tensor<3>, causal: bool) -> Tensor<3> {
        let (device, shape) = (x.device(), x.shape());
        let as_tensor = |values: Vec<f32>| Tensor::<3>::from_data(TensorData::new(values, shape.clone()), &device);
        let gamma = |scale: &Option<Param<Tensor<1>>>| scale.as_ref().map(|gamma| host_values(gamma.val()));

        let mut stream = host_values(x);
        let mut normalised = stream.clone();
        self.norm1.apply_on_host(&mut normalised);
        let attended = host_values(self.attention.forward(as_tensor(normalised), causal));
        kernels::add_scaled_rows(&mut stream, &attended, gamma(&self.layer_scale1).as_deref());

        let mut normalised = stream.clone();
        self.norm2.apply_on_host(&mut normalised);
        let transformed = host_values(self.mlp.forward(as_tensor(normalised)));
        kernels::add_scaled_rows(&mut stream, &transformed, gamma(&self.layer_scale2).as_deref());
        as_tensor(stream)
    }
}

/// Takes an MLP stored as `{name}.fc1` and `{name}.fc2` (the timm and transformers names).
pub fn take_mlp(file: &mut TensorFile<'_>, name: &str, width: usize, hidden: usize, activation: Activation, device: &Device) -> Result<Mlp, WeightsError> {
    Ok(Mlp {
        fc1: file.take_linear(&format!("{name}.fc1"), width, hidden, device)?,
        fc2: file.take_linear(&format!("{name}.fc2"), hidden, width, device)?,
        activation,
    })
}

/// Takes a LayerNorm's `{name}.weight` and `{name}.bias`.
pub fn take_layer_norm(file: &mut TensorFile<'_>, name: &str, width: usize, epsilon: f64, device: &Device) -> Result<LayerNorm, WeightsError> {
    Ok(LayerNorm {
        gamma: Param::from_tensor(take_vector(file, &format!("{name}.weight"), width, device)?),
        beta: Param::from_tensor(take_vector(file, &format!("{name}.bias"), width, device)?),
        epsilon,
    })
}

/// Takes a 1-D tensor.
pub fn take_vector(file: &mut TensorFile<'_>, key: &str, length: usize, device: &Device) -> Result<Tensor<1>, WeightsError> {
    let values = file.take(key, &[length])?;
    Ok(Tensor::from_data(TensorData::new(values, [length]), device))
}

/// Takes a tensor of any rank as a burn tensor of the same shape.
pub fn take_tensor<const D: usize>(file: &mut TensorFile<'_>, key: &str, shape: [usize; D], device: &Device) -> Result<Tensor<D>, WeightsError> {
    let values = file.take(key, &shape)?;
    Ok(Tensor::from_data(TensorData::new(values, shape), device))
}

/// A token-embedding table kept in host memory.
///
/// A query looks up at most a few hundred rows, so the rows are gathered on the host and only
/// `[batch, context, width]` goes to the device. This keeps the table itself off the GPU: SigLIP
/// so400m's 32,000 × 1,152 f32 table is 147 MB, above WebGPU's default 128 MiB limit on one
/// storage-buffer binding.
#[derive(Debug, Clone)]
pub struct TokenTable {
    values: Vec<f32>,
    vocab_size: usize,
    width: usize,
}

impl TokenTable {
    pub fn take(file: &mut TensorFile<'_>, key: &str, vocab_size: usize, width: usize) -> Result<Self, WeightsError> {
        Ok(TokenTable { values: file.take_host(key, &[vocab_size, width])?, vocab_size, width })
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Looks up the rows of `ids`, row-major `[batch, ids.len() / batch]`. An id outside the
    /// table is an error, not a panic.
    ///
    /// # Shapes
    /// - returns `[batch, context, width]`
    pub fn lookup(&self, ids: &[i64], batch: usize, device: &Device) -> Result<Tensor<3>, TokenOutOfRange> {
        let context = ids.len() / batch.max(1);
        let mut rows = Vec::with_capacity(ids.len() * self.width);
        for &id in ids {
            let row = usize::try_from(id).ok().filter(|&row| row < self.vocab_size).ok_or(TokenOutOfRange { id, vocab_size: self.vocab_size })?;
            rows.extend_from_slice(&self.values[row * self.width..(row + 1) * self.width]);
        }
        Ok(Tensor::from_data(TensorData::new(rows, [batch, context, self.width]), device))
    }
}

/// A token id that has no row in the embedding table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("token id {id} is outside the model's vocabulary of {vocab_size} ids")]
pub struct TokenOutOfRange {
    pub id: i64,
    pub vocab_size: usize,
}

/// Takes separate query, key, value and output projections named `{name}.{query_key}` etc.
pub fn take_attention(file: &mut TensorFile<'_>, name: &str, [query, key, value, out]: [&str; 4], width: usize, heads: usize, device: &Device) -> Result<Attention, WeightsError> {
    Ok(Attention {
        query: file.take_linear(&format!("{name}.{query}"), width, width, device)?,
        key: file.take_linear(&format!("{name}.{key}"), width, width, device)?,
        value: file.take_linear(&format!("{name}.{value}"), width, width, device)?,
        out: file.take_linear(&format!("{name}.{out}"), width, width, device)?,
        heads,
    })
}

/// Takes PyTorch `nn.MultiheadAttention` weights (`in_proj_weight` [3·width, width],
/// `in_proj_bias`, `out_proj`), as open_clip and SigLIP's pooling head store them, split into
/// query, key and value.
pub fn take_packed_attention(file: &mut TensorFile<'_>, name: &str, width: usize, heads: usize, device: &Device) -> Result<Attention, WeightsError> {
    let keys = [format!("{name}.in_proj_weight"), format!("{name}.in_proj_bias"), format!("{name}.out_proj")];
    take_fused_attention(file, &keys, width, heads, device)
}

/// Takes attention whose query, key and value projections are packed into one layer: the
/// weight [3·width, width] and bias [3·width] under `keys[0]` and `keys[1]`, the output
/// projection under `keys[2]` (timm names them `qkv.weight`, `qkv.bias`, `proj`).
pub fn take_fused_attention(file: &mut TensorFile<'_>, keys: &[String; 3], width: usize, heads: usize, device: &Device) -> Result<Attention, WeightsError> {
    let weight = file.take(&keys[0], &[3 * width, width])?;
    let bias = file.take(&keys[1], &[3 * width])?;
    let part = |index: usize| {
        let rows = index * width..(index + 1) * width;
        linear_from_torch(&weight[rows.start * width..rows.end * width], width, Some(bias[rows].to_vec()), device)
    };
    let (query, key, value) = (part(0), part(1), part(2));
    let out = file.take_linear(&keys[2], width, width, device)?;
    Ok(Attention { query, key, value, out, heads })
}

/// Resizes `channels` planes of `height × width` values to `out_height × out_width` with
/// PyTorch's `interpolate(mode="bicubic", align_corners=False)`: cubic convolution with
/// a = −0.75, source coordinate `(i + 0.5) · in / out − 0.5`, edge values repeated, no
/// antialiasing.
pub fn bicubic_resize(planes: &[f32], channels: usize, (height, width): (usize, usize), (out_height, out_width): (usize, usize)) -> Vec<f32> {
    const A: f64 = -0.75;
    let cubic = |x: f64| {
        let x = x.abs();
        if x <= 1.0 {
            ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
        } else {
            0.0
        }
    };
    // Taps and weights along one axis, for each output index.
    let taps = |input: usize, output: usize| -> Vec<([usize; 4], [f64; 4])> {
        let scale = input as f32 / output as f32;
        (0..output)
            .map(|o| {
                let source = f64::from(scale * (o as f32 + 0.5) - 0.5);
                let floor = source.floor();
                let t = source - floor;
                let index = |k: i64| (floor as i64 + k).clamp(0, input as i64 - 1) as usize;
                ([index(-1), index(0), index(1), index(2)], [cubic(1.0 + t), cubic(t), cubic(1.0 - t), cubic(2.0 - t)])
            })
            .collect()
    };
    let (rows, cols) = (taps(height, out_height), taps(width, out_width));
    let mut out = vec![0.0f32; channels * out_height * out_width];
    for c in 0..channels {
        let plane = &planes[c * height * width..(c + 1) * height * width];
        for (y, (row_index, row_weight)) in rows.iter().enumerate() {
            for (x, (col_index, col_weight)) in cols.iter().enumerate() {
                let mut sum = 0.0f64;
                for (&r, &wr) in row_index.iter().zip(row_weight) {
                    for (&q, &wq) in col_index.iter().zip(col_weight) {
                        sum += wr * wq * f64::from(plane[r * width + q]);
                    }
                }
                out[(c * out_height + y) * out_width + x] = sum as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_map_keeps_shape_and_device() {
        #[allow(deprecated)]
        let device = Device::ndarray();
        assert!(runs_on_host(&device));
        let x = Tensor::<2>::from_data(TensorData::new(vec![-1.0f32, 0.0, 1.0, 2.0, 3.0, 4.0], [2, 3]), &device);
        let y = map_on_host(x.clone(), kernels::gelu_erf_in_place);
        assert_eq!(y.dims(), [2, 3]);
        let expected = burn::tensor::activation::gelu(x).into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in y.into_data().try_to_vec::<f32>().unwrap().iter().zip(&expected) {
            assert!((a - b).abs() < 1e-6, "{a} against {b}");
        }
    }
}
