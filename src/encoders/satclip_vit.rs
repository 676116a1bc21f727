//! SatCLIP's image encoder: timm `vit_small_patch16_224` with 13 Sentinel-2 bands and a
//! 256-dimensional head, stored under `model.visual.` in the Lightning checkpoint
//! `microsoft/SatCLIP-ViT16-L40`.
//!
//! timm's ViT: class token, learned positions, pre-norm blocks with exact GELU and LayerNorm
//! ε = 1e-6, final norm, class-token pooling, linear head.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;

use super::transformer::{Activation, Block, LayerNorm, PatchEmbedding, take_fused_attention, take_layer_norm, take_mlp, take_tensor};
use super::weights::{TensorFile, WeightsError};

const LAYER_NORM_EPSILON: f64 = 1e-6;
pub const PREFIX: &str = "model.visual.";

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct VitConfig {
    pub width: usize,
    pub layers: usize,
    pub heads: usize,
    pub channels: usize,
    pub image_size: usize,
    pub patch_size: usize,
    pub embed_dim: usize,
}

impl VitConfig {
    /// ViT-S/16 at 224 px with 13 input bands and a 256-dimensional output.
    pub fn satclip_vit16() -> Self {
        VitConfig { width: 384, layers: 12, heads: 6, channels: 13, image_size: 224, patch_size: 16, embed_dim: 256 }
    }
}

#[derive(Module, Debug)]
pub struct SatclipVit {
    pub patch_embedding: PatchEmbedding,
    pub cls_token: Param<Tensor<1>>,
    pub pos_embed: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub norm: LayerNorm,
    pub head: Linear,
}

impl SatclipVit {
    /// Loads `model.visual.*`; `file` must have been parsed with [`PREFIX`], which
    /// [`TensorFile`] puts before every key.
    pub fn load(file: &mut TensorFile<'_>, config: &VitConfig, device: &Device) -> Result<Self, WeightsError> {
        let width = config.width;
        let key = |name: &str| name.to_string();
        let grid = config.image_size / config.patch_size;
        let blocks = (0..config.layers)
            .map(|i| {
                let name = key(&format!("blocks.{i}"));
                let attention_keys = [format!("{name}.attn.qkv.weight"), format!("{name}.attn.qkv.bias"), format!("{name}.attn.proj")];
                Ok(Block {
                    norm1: take_layer_norm(file, &format!("{name}.norm1"), width, LAYER_NORM_EPSILON, device)?,
                    attention: take_fused_attention(file, &attention_keys, width, config.heads, device)?,
                    norm2: take_layer_norm(file, &format!("{name}.norm2"), width, LAYER_NORM_EPSILON, device)?,
                    mlp: take_mlp(file, &format!("{name}.mlp"), width, 4 * width, Activation::Gelu, device)?,
                    layer_scale1: None,
                    layer_scale2: None,
                })
            })
            .collect::<Result<Vec<_>, WeightsError>>()?;
        Ok(SatclipVit {
            patch_embedding: PatchEmbedding::load(file, &key("patch_embed.proj"), config.channels, config.patch_size, width, true, device)?,
            cls_token: Param::from_tensor(take_tensor::<3>(file, &key("cls_token"), [1, 1, width], device)?.reshape([width])),
            pos_embed: Param::from_tensor(take_tensor::<3>(file, &key("pos_embed"), [1, grid * grid + 1, width], device)?.reshape([grid * grid + 1, width])),
            blocks,
            norm: take_layer_norm(file, &key("norm"), width, LAYER_NORM_EPSILON, device)?,
            head: file.take_linear(&key("head"), width, config.embed_dim, device)?,
        })
    }

    /// Tokens entering the first block.
    ///
    /// # Shapes
    /// - `images`: `[batch, bands, size, size]` → `[batch, 1 + grid², width]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<3> {
        let tokens = self.patch_embedding.forward(images);
        let [batch, _, width] = tokens.dims();
        let class = self.cls_token.val().reshape([1, 1, width]).expand([batch, 1, width]);
        Tensor::cat(vec![class, tokens], 1) + self.pos_embed.val().unsqueeze::<3>()
    }

    /// # Shapes
    /// - `images`: `[batch, bands, size, size]` → `[batch, embed_dim]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.embed(images);
        for block in &self.blocks {
            x = block.forward(x, false);
        }
        let x = self.norm.forward(x);
        let [batch, _, width] = x.dims();
        self.head.forward(x.slice([0..batch, 0..1]).reshape([batch, width]))
    }
}

#[cfg(test)]
mod tests;
