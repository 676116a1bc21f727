//! Model cards: the JSON files in `models/` that record a model's architecture, the location
//! of each tower's weights and tokenizer, and the image preprocessing its index used.
//! SatCLIP's card has its own format and is not read here.
//!
//! A card names its own tensors by key prefix, so one checkpoint file can serve both towers
//! and only the tensors of the requested tower are read.

use serde::Deserialize;

use super::dinov2::Dinov2Config;
use super::farslip::ClipConfig;
use super::preprocess::Pipeline;
use super::satclip_vit::VitConfig;
use super::siglip::SiglipConfig;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CardError {
    #[error("the model card is invalid JSON or misses a field ({0}): compare it with the cards in models/")]
    Invalid(String),
    #[error("model {model} has no {tower} tower: pick a model whose card lists one")]
    NoTower { model: String, tower: &'static str },
    #[error("model {model} is a SatCLIP location-encoder card, which has no text or image tower here: use `eee encode location` with its weights")]
    LocationOnly { model: String },
    #[error("the image tower of model {model} has no preprocessing entry: add the RGB recipe its index used")]
    NoPreprocessing { model: String },
}

/// A model card, as stored in `models/*.json`. Fields other than these document the model
/// for readers and are ignored here.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelCard {
    pub id: String,
    pub name: String,
    pub embedding_dim: usize,
    pub architecture: Architecture,
    pub towers: Towers,
}

/// The architecture with its hyper-parameters, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Architecture {
    /// open_clip CLIP with LongCLIP text positions (FarSLIP).
    Farslip(ClipConfig),
    /// transformers `SiglipModel` key names.
    Siglip(SiglipConfig),
    /// transformers `Dinov2Model` key names; image only.
    Dinov2(Dinov2Config),
    /// SatCLIP's image encoder (timm ViT under `model.visual.`): Sentinel-2 band stacks only.
    SatclipVit(VitConfig),
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Towers {
    pub text: Option<TextTowerCard>,
    pub image: Option<ImageTowerCard>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TextTowerCard {
    pub weights: WeightsCard,
    pub tokenizer: TokenizerCard,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageTowerCard {
    pub weights: WeightsCard,
    /// The RGB recipe the index was built with; see each card's notes for the choice. SatCLIP's
    /// band stacks have a fixed recipe (reflectance = DN / 10⁴, zero B10, bicubic resize) and
    /// no entry here.
    #[serde(default)]
    pub preprocessing: Option<Pipeline>,
}

/// Location of a tower's tensors: a safetensors file (the original checkpoint or the
/// per-tower file `eee convert` writes) and the key prefixes that belong to the tower.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WeightsCard {
    /// URL of the safetensors file, relative to the card's own URL unless absolute.
    pub url: String,
    /// Other URLs of the same file, tried in order when `url` fails.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Keys that belong to this tower start with one of these.
    pub prefixes: Vec<String>,
    /// Bytes that loading the tower downloads (the tower's tensors as stored), shown in the
    /// model picker.
    pub download_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenizerCard {
    /// open_clip's CLIP BPE from `bpe_simple_vocab_16e6.txt.gz`, padded with id 0.
    ClipBpe { url: String, length: usize },
    /// A Hugging Face `tokenizer.json`, padded with `pad_id`.
    TokenizerJson { url: String, length: usize, pad_id: u32 },
}

impl TokenizerCard {
    pub fn url(&self) -> &str {
        match self {
            TokenizerCard::ClipBpe { url, .. } | TokenizerCard::TokenizerJson { url, .. } => url,
        }
    }
}

impl ModelCard {
    pub fn from_json(bytes: &[u8]) -> Result<Self, CardError> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| CardError::Invalid(e.to_string()))?;
        if value.get("architecture").is_none() && value.pointer("/towers/location").is_some() {
            let model = value.get("id").and_then(|id| id.as_str()).unwrap_or_default().to_string();
            return Err(CardError::LocationOnly { model });
        }
        serde_json::from_value(value).map_err(|e| CardError::Invalid(e.to_string()))
    }

    pub fn text(&self) -> Result<&TextTowerCard, CardError> {
        self.towers.text.as_ref().ok_or_else(|| CardError::NoTower { model: self.id.clone(), tower: "text" })
    }

    pub fn image(&self) -> Result<&ImageTowerCard, CardError> {
        self.towers.image.as_ref().ok_or_else(|| CardError::NoTower { model: self.id.clone(), tower: "image" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_cards_are_rejected() {
        let error = ModelCard::from_json(b"not json").unwrap_err();
        assert!(error.to_string().contains("invalid JSON"), "{error}");

        let unknown_kind = br#"{"id": "x", "name": "X", "embedding_dim": 8, "architecture": {"kind": "resnet"}, "towers": {}}"#;
        let error = ModelCard::from_json(unknown_kind).unwrap_err();
        assert!(error.to_string().contains("resnet"), "{error}");

        let missing_size = br#"{"id": "x", "name": "X", "embedding_dim": 8, "architecture": {"kind": "dinov2", "width": 8, "layers": 1, "heads": 1, "patch_size": 14, "trained_grid": 2, "image_size": 28},
            "towers": {"image": {"weights": {"url": "w.safetensors", "prefixes": [""]}, "preprocessing": {"resize": {"squash": 28}, "crop": null, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}}}"#;
        let error = ModelCard::from_json(missing_size).unwrap_err();
        assert!(error.to_string().contains("download_bytes"), "{error}");
    }

    #[test]
    fn location_only_card_gets_its_own_message() {
        let card = br#"{"id": "satclip-location", "name": "X", "embedding_dim": 256, "towers": {"location": {"input": "latitude and longitude"}}}"#;
        let error = ModelCard::from_json(card).unwrap_err();
        assert_eq!(error, CardError::LocationOnly { model: "satclip-location".to_string() });
    }

    #[test]
    fn missing_tower_names_model() {
        let card = br#"{"id": "image-only", "name": "X", "embedding_dim": 8, "architecture": {"kind": "dinov2", "width": 8, "layers": 1, "heads": 1, "patch_size": 14, "trained_grid": 2, "image_size": 28}, "towers": {}}"#;
        let card = ModelCard::from_json(card).unwrap();
        let error = card.text().unwrap_err();
        assert_eq!(error, CardError::NoTower { model: "image-only".to_string(), tower: "text" });
        assert!(card.image().is_err());
    }
}
