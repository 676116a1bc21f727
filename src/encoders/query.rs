//! Query encoders built from a model card: text (tokenizer + text tower) and image
//! (preprocessing + image tower), each returning one embedding per query.

use burn::prelude::*;

use super::device::EncoderDevice;
use super::bands::{BandStack, decode_sentinel2_tiff};
use super::card::{Architecture, CardError, ModelCard, TokenizerCard, WeightsCard};
use super::preprocess::{ImageError, Pipeline, Rgb8, decode_image, satclip_bands};
use super::tokenize::{Cleaning, FixedLengthTokenizer, TokenizerError};
use super::weights::{TensorFile, WeightsError};
use super::{dinov2, farslip, satclip_vit, siglip};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("{model}: {source}")]
    Weights { model: String, source: WeightsError },
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("model {model} ({architecture}) has no {tower} encoder")]
    Unsupported { model: String, architecture: &'static str, tower: &'static str },
    #[error("the tokenizer gave id {id}, but model {model} has {vocab_size} token embeddings: the card pairs a tokenizer with the wrong model")]
    TokenOutOfRange { model: String, id: i64, vocab_size: usize },
    #[error("image preprocessing gives {found} px, but model {model} takes {expected} px: fix the card's preprocessing size")]
    ImageSize { model: String, expected: usize, found: usize },
    #[error("model {model} takes {expected}")]
    WrongImageKind { model: String, expected: &'static str },
    #[error("reading the embedding back from the compute device failed: {0}")]
    Backend(String),
}

fn architecture_name(architecture: &Architecture) -> &'static str {
    match architecture {
        Architecture::Farslip(_) => "FarSLIP",
        Architecture::Siglip(_) => "SigLIP",
        Architecture::Dinov2(_) => "DINOv2",
        Architecture::SatclipVit(_) => "SatCLIP",
    }
}

/// Opens `weights` restricted to the tower's key prefixes, runs `load`, and checks that every
/// tower tensor was used. `file_prefix` goes before every name the tower loader requests.
fn load_tower<T>(
    card: &ModelCard,
    tower: &WeightsCard,
    weights: &[u8],
    file_prefix: &str,
    target: &EncoderDevice,
    load: impl FnOnce(&mut TensorFile<'_>, &Device) -> Result<T, WeightsError>,
) -> Result<T, QueryError> {
    let with_model = |source| QueryError::Weights { model: card.id.clone(), source };
    let prefixes: Vec<&str> = tower.prefixes.iter().map(|p| p.strip_prefix(file_prefix).unwrap_or(p)).collect();
    let mut file = TensorFile::parse(weights, file_prefix).map_err(with_model)?.restrict(&prefixes).with_tensor_limit(target.tensor_limit);
    let loaded = load(&mut file, &target.device).map_err(with_model)?;
    file.finish().map_err(with_model)?;
    Ok(loaded)
}

async fn read_row(output: Tensor<2>) -> Result<Vec<f32>, QueryError> {
    let data = output.into_data_async().await.map_err(|e| QueryError::Backend(format!("{e:?}")))?;
    data.try_to_vec::<f32>().map_err(|e| QueryError::Backend(format!("{e:?}")))
}

enum TextTower {
    Farslip(farslip::TextTower),
    Siglip(siglip::TextTower),
}

/// Loads the card's text tower; returns it with the number of token embeddings.
fn load_text_tower(card: &ModelCard, weights: &[u8], target: &EncoderDevice) -> Result<(TextTower, usize), QueryError> {
    let tower_card = card.text()?;
    match &card.architecture {
        Architecture::Farslip(config) => Ok((TextTower::Farslip(load_tower(card, &tower_card.weights, weights, "", target, |file, device| farslip::TextTower::load(file, config, device))?), config.vocab_size)),
        Architecture::Siglip(config) => Ok((TextTower::Siglip(load_tower(card, &tower_card.weights, weights, "", target, |file, device| siglip::TextTower::load(file, config, device))?), config.vocab_size)),
        Architecture::Dinov2(_) | Architecture::SatclipVit(_) => Err(QueryError::Unsupported { model: card.id.clone(), architecture: architecture_name(&card.architecture), tower: "text" }),
    }
}

/// Checks that `weights` contains exactly the tensors of the card's text tower, with the
/// shapes the card's architecture needs, by loading the tower once.
pub fn check_text_weights(card: &ModelCard, weights: &[u8]) -> Result<(), QueryError> {
    load_text_tower(card, weights, &EncoderDevice::cpu()).map(|_| ())
}

/// Checks that `weights` contains exactly the tensors of the card's image tower.
pub fn check_image_weights(card: &ModelCard, weights: &[u8]) -> Result<(), QueryError> {
    load_image_tower(card, weights, &EncoderDevice::cpu()).map(|_| ())
}

/// A text query encoder: cleaning and tokenising as the model's reference code does, then the
/// text tower. Embeddings are not normalised.
pub struct TextQueryEncoder {
    model: String,
    tower: TextTower,
    tokenizer: FixedLengthTokenizer,
    vocab_size: usize,
}

impl TextQueryEncoder {
    /// Loads the text tower from `weights` (safetensors with the checkpoint's key names, the
    /// whole checkpoint or only this tower) and the tokenizer file the card names.
    pub fn load(card: &ModelCard, weights: &[u8], tokenizer_file: &[u8], target: &EncoderDevice) -> Result<Self, QueryError> {
        let tower_card = card.text()?;
        let (tower, vocab_size) = load_text_tower(card, weights, target)?;
        let tokenizer = match &tower_card.tokenizer {
            TokenizerCard::ClipBpe { length, .. } => FixedLengthTokenizer::clip_bpe(tokenizer_file, *length)?,
            TokenizerCard::TokenizerJson { length, pad_id, .. } => FixedLengthTokenizer::from_json(tokenizer_file, *length, *pad_id, Cleaning::Whitespace)?,
        };
        Ok(TextQueryEncoder { model: card.id.clone(), tower, tokenizer, vocab_size })
    }

    /// Token ids of `text` as the text tower receives them.
    pub fn tokenize(&self, text: &str) -> Result<Vec<i64>, QueryError> {
        let ids = self.tokenizer.encode(text)?;
        if let Some(&id) = ids.iter().find(|&&id| id < 0 || id as usize >= self.vocab_size) {
            return Err(QueryError::TokenOutOfRange { model: self.model.clone(), id, vocab_size: self.vocab_size });
        }
        Ok(ids)
    }

    pub async fn embed(&self, text: &str) -> Result<Vec<f32>, QueryError> {
        let ids = self.tokenize(text)?;
        self.embed_ids(&ids).await
    }

    /// Runs the text tower on the ids of one text, as [`Self::tokenize`] gives them.
    pub async fn embed_ids(&self, ids: &[i64]) -> Result<Vec<f32>, QueryError> {
        let output = match &self.tower {
            TextTower::Farslip(tower) => tower.forward(ids, 1),
            TextTower::Siglip(tower) => tower.forward(ids, 1),
        };
        let output = output.map_err(|e| QueryError::TokenOutOfRange { model: self.model.clone(), id: e.id, vocab_size: e.vocab_size })?;
        read_row(output).await
    }
}

/// Boxed, because the towers' module structs differ much in size.
enum ImageTower {
    Farslip(Box<farslip::VisionTower>),
    Siglip(Box<siglip::VisionTower>),
    Dinov2(Box<dinov2::Dinov2>),
    SatclipVit(Box<satclip_vit::SatclipVit>),
}

/// A decoded query image: RGB for FarSLIP, SigLIP and DINOv2, Sentinel-2 bands for SatCLIP.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryImage {
    Rgb(Rgb8),
    Bands(BandStack),
}

/// Decodes an image file as the card's image tower takes it: a 12- or 13-band GeoTIFF for
/// SatCLIP, a PNG or JPEG for the others.
pub fn decode_query_image(card: &ModelCard, bytes: &[u8]) -> Result<QueryImage, ImageError> {
    match card.architecture {
        Architecture::SatclipVit(_) => decode_sentinel2_tiff(bytes).map(QueryImage::Bands),
        _ => decode_image(bytes).map(QueryImage::Rgb),
    }
}

/// Loads the card's image tower; returns it with its input size in pixels.
fn load_image_tower(card: &ModelCard, weights: &[u8], target: &EncoderDevice) -> Result<(ImageTower, usize), QueryError> {
    let tower_card = card.image()?;
    Ok(match &card.architecture {
        Architecture::Farslip(config) => (ImageTower::Farslip(Box::new(load_tower(card, &tower_card.weights, weights, "", target, |file, device| farslip::VisionTower::load(file, config, device))?)), config.image_size),
        Architecture::Siglip(config) => (ImageTower::Siglip(Box::new(load_tower(card, &tower_card.weights, weights, "", target, |file, device| siglip::VisionTower::load(file, config, device))?)), config.image_size),
        Architecture::Dinov2(config) => (ImageTower::Dinov2(Box::new(load_tower(card, &tower_card.weights, weights, "", target, |file, device| dinov2::Dinov2::load(file, config, device))?)), config.image_size),
        Architecture::SatclipVit(config) => (
            ImageTower::SatclipVit(Box::new(load_tower(card, &tower_card.weights, weights, satclip_vit::PREFIX, target, |file, device| satclip_vit::SatclipVit::load(file, config, device))?)),
            config.image_size,
        ),
    })
}

/// An image query encoder: the card's preprocessing, then the image tower. Embeddings are
/// not normalised.
pub struct ImageQueryEncoder {
    model: String,
    tower: ImageTower,
    /// The RGB recipe; `None` for SatCLIP's band stacks.
    pipeline: Option<Pipeline>,
    image_size: usize,
    device: Device,
}

impl ImageQueryEncoder {
    pub fn load(card: &ModelCard, weights: &[u8], target: &EncoderDevice) -> Result<Self, QueryError> {
        let tower_card = card.image()?;
        let (tower, image_size) = load_image_tower(card, weights, target)?;
        let pipeline = match (&tower, &tower_card.preprocessing) {
            (ImageTower::SatclipVit(_), _) => None,
            (_, Some(pipeline)) => Some(pipeline.clone()),
            (_, None) => return Err(CardError::NoPreprocessing { model: card.id.clone() }.into()),
        };
        Ok(ImageQueryEncoder { model: card.id.clone(), tower, pipeline, image_size, device: target.device.clone() })
    }

    pub async fn embed(&self, image: &QueryImage) -> Result<Vec<f32>, QueryError> {
        let input = self.prepare(image)?;
        self.embed_prepared(input).await
    }

    /// Runs the card's preprocessing and returns the tower's input tensor on the encoder's device.
    ///
    /// # Shapes
    /// - returns `[1, channels, size, size]`
    pub fn prepare(&self, image: &QueryImage) -> Result<Tensor<4>, QueryError> {
        Ok(match (image, &self.pipeline) {
            (QueryImage::Rgb(rgb), Some(pipeline)) => {
                let (values, side) = pipeline.run(rgb);
                if side != self.image_size || values.len() != 3 * side * side {
                    return Err(QueryError::ImageSize { model: self.model.clone(), expected: self.image_size, found: side });
                }
                Tensor::<4>::from_data(TensorData::new(values, [1, 3, side, side]), &self.device)
            }
            (QueryImage::Bands(stack), None) => {
                let size = self.image_size;
                let values = satclip_bands(&stack.digital_numbers, (stack.height, stack.width), size);
                Tensor::<4>::from_data(TensorData::new(values, [1, stack.digital_numbers.len() / (stack.height * stack.width), size, size]), &self.device)
            }
            (QueryImage::Rgb(_), None) => return Err(QueryError::WrongImageKind { model: self.model.clone(), expected: "a 12- or 13-band Sentinel-2 GeoTIFF" }),
            (QueryImage::Bands(_), Some(_)) => return Err(QueryError::WrongImageKind { model: self.model.clone(), expected: "a PNG or JPEG image" }),
        })
    }

    /// Runs the image tower on the output of [`Self::prepare`].
    pub async fn embed_prepared(&self, input: Tensor<4>) -> Result<Vec<f32>, QueryError> {
        let output = match &self.tower {
            ImageTower::Farslip(tower) => tower.forward(input),
            ImageTower::Siglip(tower) => tower.forward(input),
            ImageTower::Dinov2(tower) => tower.forward(input),
            ImageTower::SatclipVit(tower) => tower.forward(input),
        };
        read_row(output).await
    }
}

#[cfg(test)]
mod tests;
