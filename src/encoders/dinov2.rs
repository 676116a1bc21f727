//! DINOv2 ViT-L/14 (Oquab et al., 2023), checkpoint `facebook/dinov2-large` (Hugging Face
//! transformers `Dinov2Model` key names).
//!
//! Pre-norm blocks with LayerScale, exact GELU, LayerNorm ε = 1e-6. The position table covers a
//! 37 × 37 patch grid (518 px) and is resized bicubically to the input's grid, 16 × 16 at 224 px,
//! as transformers does. The embedding is the mean of all output tokens after the final
//! LayerNorm, class token included.

use burn::module::Param;
use burn::prelude::*;

use super::transformer::{Activation, Block, LayerNorm, PatchEmbedding, bicubic_resize, take_attention, take_layer_norm, take_mlp, take_tensor, take_vector};
use super::weights::{TensorFile, WeightsError};

const LAYER_NORM_EPSILON: f64 = 1e-6;
const PROJECTIONS: [&str; 4] = ["attention.query", "attention.key", "attention.value", "output.dense"];

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Dinov2Config {
    pub width: usize,
    pub layers: usize,
    pub heads: usize,
    pub patch_size: usize,
    /// Patch grid side of the stored position table (37 for the released models).
    pub trained_grid: usize,
    /// Input image side; the position table is resized to `image_size / patch_size`.
    pub image_size: usize,
}

impl Dinov2Config {
    /// `facebook/dinov2-large` at 224 px input.
    pub fn large_224() -> Self {
        Dinov2Config { width: 1024, layers: 24, heads: 16, patch_size: 14, trained_grid: 37, image_size: 224 }
    }
}

#[derive(Module, Debug)]
pub struct Dinov2 {
    pub patch_embedding: PatchEmbedding,
    pub cls_token: Param<Tensor<1>>,
    /// Position embeddings already resized to the input grid: [1 + grid², width].
    pub position_embedding: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub layernorm: LayerNorm,
}

impl Dinov2 {
    pub fn load(file: &mut TensorFile<'_>, config: &Dinov2Config, device: &Device) -> Result<Self, WeightsError> {
        let width = config.width;
        let trained_tokens = config.trained_grid * config.trained_grid + 1;
        let stored = file.take("embeddings.position_embeddings", &[1, trained_tokens, width])?;
        // Only masked-image training uses the mask token.
        file.take("embeddings.mask_token", &[1, width])?;
        let blocks = (0..config.layers)
            .map(|i| {
                let name = format!("encoder.layer.{i}");
                Ok(Block {
                    norm1: take_layer_norm(file, &format!("{name}.norm1"), width, LAYER_NORM_EPSILON, device)?,
                    attention: take_attention(file, &format!("{name}.attention"), PROJECTIONS, width, config.heads, device)?,
                    norm2: take_layer_norm(file, &format!("{name}.norm2"), width, LAYER_NORM_EPSILON, device)?,
                    mlp: take_mlp(file, &format!("{name}.mlp"), width, 4 * width, Activation::Gelu, device)?,
                    layer_scale1: Some(Param::from_tensor(take_vector(file, &format!("{name}.layer_scale1.lambda1"), width, device)?)),
                    layer_scale2: Some(Param::from_tensor(take_vector(file, &format!("{name}.layer_scale2.lambda1"), width, device)?)),
                })
            })
            .collect::<Result<Vec<_>, WeightsError>>()?;
        let grid = config.image_size / config.patch_size;
        let positions = resize_positions(&stored, width, config.trained_grid, grid);
        Ok(Dinov2 {
            patch_embedding: PatchEmbedding::load(file, "embeddings.patch_embeddings.projection", 3, config.patch_size, width, true, device)?,
            cls_token: Param::from_tensor(take_tensor::<3>(file, "embeddings.cls_token", [1, 1, width], device)?.reshape([width])),
            position_embedding: Param::from_tensor(Tensor::from_data(TensorData::new(positions, [grid * grid + 1, width]), device)),
            blocks,
            layernorm: take_layer_norm(file, "layernorm", width, LAYER_NORM_EPSILON, device)?,
        })
    }

    /// Patch and class tokens with positions.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]` → `[batch, 1 + grid², width]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<3> {
        let tokens = self.patch_embedding.forward(images);
        let [batch, _, width] = tokens.dims();
        let class = self.cls_token.val().reshape([1, 1, width]).expand([batch, 1, width]);
        Tensor::cat(vec![class, tokens], 1) + self.position_embedding.val().unsqueeze::<3>()
    }

    /// # Shapes
    /// - `images`: `[batch, 3, size, size]` → `[batch, width]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.embed(images);
        for block in &self.blocks {
            x = block.forward(x, false);
        }
        let x = self.layernorm.forward(x);
        let [batch, _, width] = x.dims();
        x.mean_dim(1).reshape([batch, width])
    }
}

/// Resizes the patch part of a `[1 + trained², width]` position table to `grid × grid`; the
/// class position is kept.
pub fn resize_positions(stored: &[f32], width: usize, trained: usize, grid: usize) -> Vec<f32> {
    if trained == grid {
        return stored.to_vec();
    }
    // Token-major [trained², width] → channel-major planes [width, trained, trained].
    let patches = &stored[width..];
    let mut planes = vec![0.0f32; width * trained * trained];
    for (token, values) in patches.chunks(width).enumerate() {
        for (channel, &v) in values.iter().enumerate() {
            planes[channel * trained * trained + token] = v;
        }
    }
    let resized = bicubic_resize(&planes, width, (trained, trained), (grid, grid));
    let mut out = stored[..width].to_vec();
    out.resize(width * (grid * grid + 1), 0.0);
    for token in 0..grid * grid {
        for channel in 0..width {
            out[width * (token + 1) + channel] = resized[channel * grid * grid + token];
        }
    }
    out
}

#[cfg(test)]
mod tests;
