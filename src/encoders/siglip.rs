//! SigLIP so400m/14@384 (Zhai et al., 2023), checkpoint `google/siglip-so400m-patch14-384`
//! (Hugging Face transformers `SiglipModel` key names: `text_model.*`, `vision_model.*`).
//!
//! Both towers are pre-norm transformers with tanh-approximated GELU and LayerNorm ε = 1e-6. The
//! image tower pools with an attention head whose learned probe attends over the patch tokens.
//! The text tower has no causal mask, takes ids padded to exactly 64 with id 1, and pools the
//! last position, so the padding changes the embedding.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;

use super::transformer::{Activation, Attention, Block, LayerNorm, Mlp, PatchEmbedding, take_attention, take_layer_norm, take_mlp, take_packed_attention, take_tensor, TokenOutOfRange, TokenTable};
use super::weights::{TensorFile, WeightsError};

const LAYER_NORM_EPSILON: f64 = 1e-6;
const ACTIVATION: Activation = Activation::GeluTanh;
/// Names of the query, key, value and output projections in transformers' `SiglipAttention`.
const PROJECTIONS: [&str; 4] = ["q_proj", "k_proj", "v_proj", "out_proj"];

/// Hyper-parameters of a SigLIP model.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct SiglipConfig {
    pub width: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub image_size: usize,
    pub patch_size: usize,
    pub vocab_size: usize,
    /// Text length; ids are padded to exactly this many.
    pub context_length: usize,
}

impl SiglipConfig {
    /// `google/siglip-so400m-patch14-384`: both towers 1152 wide, 27 layers, 16 heads, MLP 4304.
    pub fn so400m_patch14_384() -> Self {
        SiglipConfig { width: 1152, layers: 27, heads: 16, intermediate: 4304, image_size: 384, patch_size: 14, vocab_size: 32_000, context_length: 64 }
    }

    fn patches(&self) -> usize {
        let grid = self.image_size / self.patch_size;
        grid * grid
    }
}

/// The pad id, which is also SigLIP's end-of-sequence id.
pub const PAD_ID: i64 = 1;

fn take_blocks(file: &mut TensorFile<'_>, prefix: &str, config: &SiglipConfig, device: &Device) -> Result<Vec<Block>, WeightsError> {
    let (width, intermediate) = (config.width, config.intermediate);
    (0..config.layers)
        .map(|i| {
            let name = format!("{prefix}.encoder.layers.{i}");
            Ok(Block {
                norm1: take_layer_norm(file, &format!("{name}.layer_norm1"), width, LAYER_NORM_EPSILON, device)?,
                attention: take_attention(file, &format!("{name}.self_attn"), PROJECTIONS, width, config.heads, device)?,
                norm2: take_layer_norm(file, &format!("{name}.layer_norm2"), width, LAYER_NORM_EPSILON, device)?,
                mlp: take_mlp(file, &format!("{name}.mlp"), width, intermediate, ACTIVATION, device)?,
                layer_scale1: None,
                layer_scale2: None,
            })
        })
        .collect()
}

/// The attention-pooling ("MAP") head: a learned probe attends over the tokens, then a residual
/// MLP.
#[derive(Module, Debug)]
pub struct PoolingHead {
    pub probe: Param<Tensor<3>>,
    pub attention: Attention,
    pub layernorm: LayerNorm,
    pub mlp: Mlp,
}

impl PoolingHead {
    /// # Shapes
    /// - `tokens`: `[batch, patches, width]` → `[batch, width]`
    pub fn forward(&self, tokens: Tensor<3>) -> Tensor<2> {
        let [batch, _, width] = tokens.dims();
        let probe = self.probe.val().expand([batch, 1, width]);
        let pooled = self.attention.forward_cross(probe, tokens);
        let pooled = pooled.clone() + self.mlp.forward(self.layernorm.forward(pooled));
        pooled.reshape([batch, width])
    }
}

#[derive(Module, Debug)]
pub struct VisionTower {
    pub patch_embedding: PatchEmbedding,
    pub position_embedding: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub post_layernorm: LayerNorm,
    pub head: PoolingHead,
}

impl VisionTower {
    pub fn load(file: &mut TensorFile<'_>, config: &SiglipConfig, device: &Device) -> Result<Self, WeightsError> {
        let width = config.width;
        let prefix = "vision_model";
        Ok(VisionTower {
            patch_embedding: PatchEmbedding::load(file, &format!("{prefix}.embeddings.patch_embedding"), 3, config.patch_size, width, true, device)?,
            position_embedding: Param::from_tensor(take_tensor(file, &format!("{prefix}.embeddings.position_embedding.weight"), [config.patches(), width], device)?),
            blocks: take_blocks(file, prefix, config, device)?,
            post_layernorm: take_layer_norm(file, &format!("{prefix}.post_layernorm"), width, LAYER_NORM_EPSILON, device)?,
            head: PoolingHead {
                probe: Param::from_tensor(take_tensor(file, &format!("{prefix}.head.probe"), [1, 1, width], device)?),
                attention: take_packed_attention(file, &format!("{prefix}.head.attention"), width, config.heads, device)?,
                layernorm: take_layer_norm(file, &format!("{prefix}.head.layernorm"), width, LAYER_NORM_EPSILON, device)?,
                mlp: take_mlp(file, &format!("{prefix}.head.mlp"), width, config.intermediate, ACTIVATION, device)?,
            },
        })
    }

    /// Patch embeddings plus positions.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]` → `[batch, patches, width]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<3> {
        self.patch_embedding.forward(images) + self.position_embedding.val().unsqueeze::<3>()
    }

    /// # Shapes
    /// - `images`: `[batch, 3, size, size]` → `[batch, width]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.embed(images);
        for block in &self.blocks {
            x = block.forward(x, false);
        }
        self.head.forward(self.post_layernorm.forward(x))
    }
}

#[derive(Module, Debug)]
pub struct TextTower {
    #[module(skip)]
    pub token_embedding: TokenTable,
    pub position_embedding: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub final_layer_norm: LayerNorm,
    pub head: Linear,
}

impl TextTower {
    pub fn load(file: &mut TensorFile<'_>, config: &SiglipConfig, device: &Device) -> Result<Self, WeightsError> {
        let width = config.width;
        let prefix = "text_model";
        Ok(TextTower {
            token_embedding: TokenTable::take(file, &format!("{prefix}.embeddings.token_embedding.weight"), config.vocab_size, width)?,
            position_embedding: Param::from_tensor(take_tensor(file, &format!("{prefix}.embeddings.position_embedding.weight"), [config.context_length, width], device)?),
            blocks: take_blocks(file, prefix, config, device)?,
            final_layer_norm: take_layer_norm(file, &format!("{prefix}.final_layer_norm"), width, LAYER_NORM_EPSILON, device)?,
            head: file.take_linear(&format!("{prefix}.head"), width, width, device)?,
        })
    }

    /// # Shapes
    /// - `ids`: `[batch, context]` (row-major ids) → `[batch, context, width]`
    pub fn embed(&self, ids: &[i64], batch: usize) -> Result<Tensor<3>, TokenOutOfRange> {
        let device = self.position_embedding.val().device();
        let tokens = self.token_embedding.lookup(ids, batch, &device)?;
        let [_, context, _] = tokens.dims();
        Ok(tokens + self.position_embedding.val().slice(0..context).unsqueeze::<3>())
    }

    /// # Shapes
    /// - `ids`: `[batch, context]` (row-major ids), already padded with [`PAD_ID`] → `[batch, width]`
    pub fn forward(&self, ids: &[i64], batch: usize) -> Result<Tensor<2>, TokenOutOfRange> {
        let mut x = self.embed(ids, batch)?;
        let [_, context, _] = x.dims();
        for block in &self.blocks {
            x = block.forward(x, false);
        }
        let x = self.final_layer_norm.forward(x);
        let [_, _, width] = x.dims();
        let last = x.slice([0..batch, context - 1..context]).reshape([batch, width]);
        Ok(self.head.forward(last))
    }
}

#[cfg(test)]
mod tests;
