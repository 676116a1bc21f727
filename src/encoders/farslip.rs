//! FarSLIP (Li et al., 2025, <https://github.com/NJU-LHRS/FarSLIP>), checkpoint
//! `ZhenShiL/FarSLIP` `FarSLIP2_ViT-B-16.pt`: an open_clip `CLIP` ViT-B/16 whose text tower uses
//! LongCLIP's 248-token positions.
//!
//! Module and key names follow open_clip's state dict (`visual.*`, `transformer.resblocks.*`,
//! `token_embedding`, `positional_embedding`, `positional_embedding_res`, `ln_final`,
//! `text_projection`), so a converted checkpoint loads with nothing missing or left over.

use burn::module::Param;
use burn::prelude::*;

use super::transformer::{Activation, Block, LayerNorm, Mlp, PatchEmbedding, take_layer_norm, take_packed_attention, take_tensor, TokenOutOfRange, TokenTable};
use super::weights::{TensorFile, WeightsError};

/// Positions `0..LONGCLIP_KEEP` use `positional_embedding`, later ones `positional_embedding_res`.
pub const LONGCLIP_KEEP: usize = 20;
/// open_clip's LayerNorm epsilon (the PyTorch default).
const LAYER_NORM_EPSILON: f64 = 1e-5;

/// Hyper-parameters of an open_clip CLIP with a LongCLIP text tower.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct ClipConfig {
    pub embed_dim: usize,
    pub image_size: usize,
    pub patch_size: usize,
    pub vision_width: usize,
    pub vision_layers: usize,
    pub vision_heads: usize,
    pub context_length: usize,
    pub vocab_size: usize,
    pub text_width: usize,
    pub text_layers: usize,
    pub text_heads: usize,
    pub activation: Activation,
}

impl ClipConfig {
    /// FarSLIP ViT-B/16: open_clip's `ViT-B-16` configuration with a 248-token context.
    pub fn farslip_vit_b_16() -> Self {
        ClipConfig {
            embed_dim: 512,
            image_size: 224,
            patch_size: 16,
            vision_width: 768,
            vision_layers: 12,
            vision_heads: 12,
            context_length: 248,
            vocab_size: 49_408,
            text_width: 512,
            text_layers: 12,
            text_heads: 8,
            activation: Activation::Gelu,
        }
    }

    fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
}

/// Takes open_clip residual blocks `{prefix}.{i}.{ln_1, attn, ln_2, mlp.c_fc, mlp.c_proj}`.
fn take_blocks(file: &mut TensorFile<'_>, prefix: &str, layers: usize, width: usize, heads: usize, activation: Activation, device: &Device) -> Result<Vec<Block>, WeightsError> {
    (0..layers)
        .map(|i| {
            let name = format!("{prefix}.{i}");
            Ok(Block {
                norm1: take_layer_norm(file, &format!("{name}.ln_1"), width, LAYER_NORM_EPSILON, device)?,
                attention: take_packed_attention(file, &format!("{name}.attn"), width, heads, device)?,
                norm2: take_layer_norm(file, &format!("{name}.ln_2"), width, LAYER_NORM_EPSILON, device)?,
                mlp: Mlp {
                    fc1: file.take_linear(&format!("{name}.mlp.c_fc"), width, 4 * width, device)?,
                    fc2: file.take_linear(&format!("{name}.mlp.c_proj"), 4 * width, width, device)?,
                    activation,
                },
                layer_scale1: None,
                layer_scale2: None,
            })
        })
        .collect()
}

/// The image tower: patch embedding, class token, transformer, class-token pooling.
#[derive(Module, Debug)]
pub struct VisionTower {
    pub patch_embedding: PatchEmbedding,
    pub class_embedding: Param<Tensor<1>>,
    pub positional_embedding: Param<Tensor<2>>,
    pub ln_pre: LayerNorm,
    pub blocks: Vec<Block>,
    pub ln_post: LayerNorm,
    pub proj: Param<Tensor<2>>,
}

impl VisionTower {
    pub fn load(file: &mut TensorFile<'_>, config: &ClipConfig, device: &Device) -> Result<Self, WeightsError> {
        let (width, patch) = (config.vision_width, config.patch_size);
        let tokens = config.grid() * config.grid() + 1;
        Ok(VisionTower {
            patch_embedding: PatchEmbedding::load(file, "visual.conv1", 3, patch, width, false, device)?,
            class_embedding: Param::from_tensor(take_tensor(file, "visual.class_embedding", [width], device)?),
            positional_embedding: Param::from_tensor(take_tensor(file, "visual.positional_embedding", [tokens, width], device)?),
            ln_pre: take_layer_norm(file, "visual.ln_pre", width, LAYER_NORM_EPSILON, device)?,
            blocks: take_blocks(file, "visual.transformer.resblocks", config.vision_layers, width, config.vision_heads, config.activation, device)?,
            ln_post: take_layer_norm(file, "visual.ln_post", width, LAYER_NORM_EPSILON, device)?,
            proj: Param::from_tensor(take_tensor(file, "visual.proj", [width, config.embed_dim], device)?),
        })
    }

    /// Patch embeddings plus class token and positions, after `ln_pre`.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]`, normalised
    /// - returns `[batch, 1 + grid², width]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<3> {
        let tokens = self.patch_embedding.forward(images);

        let [batch, _, model_width] = tokens.dims();
        let class = self.class_embedding.val().reshape([1, 1, model_width]).expand([batch, 1, model_width]);
        let x = Tensor::cat(vec![class, tokens], 1) + self.positional_embedding.val().unsqueeze::<3>();
        self.ln_pre.forward(x)
    }

    /// # Shapes
    /// - `images`: `[batch, 3, size, size]` → `[batch, embed_dim]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.embed(images);
        for block in &self.blocks {
            x = block.forward(x, false);
        }
        let [batch, _, width] = x.dims();
        let class_token = x.slice([0..batch, 0..1]).reshape([batch, width]);
        self.ln_post.forward(class_token).matmul(self.proj.val())
    }
}

/// The text tower with LongCLIP positions, a causal mask and pooling at the end-of-text token.
#[derive(Module, Debug)]
pub struct TextTower {
    #[module(skip)]
    pub token_embedding: TokenTable,
    pub positional_embedding: Param<Tensor<2>>,
    pub positional_embedding_res: Param<Tensor<2>>,
    pub blocks: Vec<Block>,
    pub ln_final: LayerNorm,
    pub text_projection: Param<Tensor<2>>,
}

impl TextTower {
    pub fn load(file: &mut TensorFile<'_>, config: &ClipConfig, device: &Device) -> Result<Self, WeightsError> {
        let (width, context) = (config.text_width, config.context_length);
        Ok(TextTower {
            token_embedding: TokenTable::take(file, "token_embedding.weight", config.vocab_size, width)?,
            positional_embedding: Param::from_tensor(take_tensor(file, "positional_embedding", [context, width], device)?),
            positional_embedding_res: Param::from_tensor(take_tensor(file, "positional_embedding_res", [context, width], device)?),
            blocks: take_blocks(file, "transformer.resblocks", config.text_layers, width, config.text_heads, config.activation, device)?,
            ln_final: take_layer_norm(file, "ln_final", width, LAYER_NORM_EPSILON, device)?,
            text_projection: Param::from_tensor(take_tensor(file, "text_projection", [width, config.embed_dim], device)?),
        })
    }

    /// Token embeddings plus LongCLIP positions: `positional_embedding` on the first
    /// [`LONGCLIP_KEEP`] positions, `positional_embedding_res` after them.
    ///
    /// # Shapes
    /// - `ids`: `[batch, context]` (row-major ids) → `[batch, context, width]`
    pub fn embed(&self, ids: &[i64], batch: usize) -> Result<Tensor<3>, TokenOutOfRange> {
        let device = self.positional_embedding.val().device();
        let tokens = self.token_embedding.lookup(ids, batch, &device)?;
        let [_, context, _] = tokens.dims();
        let keep = LONGCLIP_KEEP.min(context);
        let positions = Tensor::cat(
            vec![self.positional_embedding.val().slice(0..keep), self.positional_embedding_res.val().slice(keep..context)],
            0,
        );
        Ok(tokens + positions.unsqueeze::<3>())
    }

    /// Pools each row at its end-of-text token, the largest id (open_clip's `argmax`).
    ///
    /// Under the causal mask a position attends only to itself and earlier positions, and every
    /// other operation acts per position, so the positions after the last end-of-text token of
    /// the batch cannot change the pooled outputs. The tower runs only up to that token: 12
    /// positions instead of 248 for a short prompt. A prompt that fills the context runs all
    /// 248.
    ///
    /// # Shapes
    /// - `ids`: `[batch, context]` (row-major ids) → `[batch, embed_dim]`
    pub fn forward(&self, ids: &[i64], batch: usize) -> Result<Tensor<2>, TokenOutOfRange> {
        let device = self.positional_embedding.val().device();
        let context = (ids.len() / batch.max(1)).max(1);
        let ends: Vec<usize> = ids.chunks(context).map(argmax).collect();
        let used = ends.iter().max().map_or(context, |&end| end + 1);
        let ids: Vec<i64> = ids.chunks(context).flat_map(|row| row[..used].iter().copied()).collect();

        let mut x = self.embed(&ids, batch)?;
        for block in &self.blocks {
            x = block.forward(x, true);
        }
        let x = self.ln_final.forward(x);

        let rows: Vec<i64> = ends.iter().enumerate().map(|(b, &end)| (b * used + end) as i64).collect();
        let [_, _, width] = x.dims();
        let pooled = x.reshape([batch * used, width]).select(0, Tensor::<1, Int>::from_data(TensorData::new(rows, [batch]), &device));
        Ok(pooled.matmul(self.text_projection.val()))
    }
}

/// Index of the first largest value, as `torch.argmax` returns it.
fn argmax(row: &[i64]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
}

#[cfg(test)]
mod tests;
