//! Text tokenisation through Hugging Face `tokenizers` (the library open_clip's `HFTokenizer`
//! and transformers' fast tokenizers run), loading the model's own `tokenizer.json`.

use tokenizers::{PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenizerError {
    #[error("the tokenizer file is invalid ({0}): use the model's tokenizer.json")]
    Invalid(String),
    #[error("tokenising {text:?} failed: {message}")]
    Encode { text: String, message: String },
}

/// A tokenizer that returns exactly `length` ids: truncated on the right (the end-of-sequence
/// id kept last by the post-processor) and padded on the right with `pad_id`.
pub struct FixedLengthTokenizer {
    inner: Tokenizer,
}

impl FixedLengthTokenizer {
    /// Loads a `tokenizer.json`; SigLIP uses `length` 64 and `pad_id` 1 (the end-of-sequence id).
    pub fn from_json(bytes: &[u8], length: usize, pad_id: u32) -> Result<Self, TokenizerError> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| TokenizerError::Invalid(e.to_string()))?;
        let pad_token = inner.id_to_token(pad_id).ok_or_else(|| TokenizerError::Invalid(format!("it has no token with id {pad_id}")))?;
        inner
            .with_truncation(Some(TruncationParams { max_length: length, strategy: TruncationStrategy::LongestFirst, stride: 0, direction: TruncationDirection::Right }))
            .map_err(|e| TokenizerError::Invalid(e.to_string()))?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(length),
            direction: PaddingDirection::Right,
            pad_to_multiple_of: None,
            pad_id,
            pad_type_id: 0,
            pad_token,
        }));
        Ok(FixedLengthTokenizer { inner })
    }

    /// Ids of `text`, with the model's special tokens added.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, TokenizerError> {
        let encoding = self.inner.encode(text, true).map_err(|e| TokenizerError::Encode { text: text.to_string(), message: e.to_string() })?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }
}

/// open_clip's `clean='whitespace'` step after `ftfy` and HTML unescaping: runs of Unicode
/// whitespace become one space, and the ends are trimmed.
pub fn clean_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_runs_collapse() {
        assert_eq!(clean_whitespace("  a\t\tb\n c\u{3000}d  "), "a b c d");
        assert_eq!(clean_whitespace("   "), "");
    }
}
