//! Text tokenisation through Hugging Face `tokenizers` (the library open_clip's `HFTokenizer`
//! and transformers' fast tokenizers run), with open_clip's text cleaning in front.
//!
//! Two tokenizers are built here:
//! - SigLIP: the model's own `tokenizer.json` (SentencePiece unigram), 64 ids padded with id 1.
//! - CLIP BPE (FarSLIP): open_clip's `SimpleTokenizer`, rebuilt from its merges file
//!   `bpe_simple_vocab_16e6.txt.gz` as a `tokenizers` BPE model.

use std::io::Read;

pub use super::clean::Cleaning;

use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{
    AddedToken, PaddingDirection, PaddingParams, PaddingStrategy, SplitDelimiterBehavior, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenizerError {
    #[error("the tokenizer file is invalid ({0}): use the model's tokenizer.json")]
    Invalid(String),
    #[error("the CLIP BPE merges file is invalid ({0}): use bpe_simple_vocab_16e6.txt.gz from the open-clip-torch package")]
    InvalidMerges(String),
    #[error("tokenising {text:?} failed: {message}")]
    Encode { text: String, message: String },
}

/// A tokenizer that returns exactly `length` ids: truncated on the right (the end-of-sequence
/// id kept last by the post-processor) and padded on the right with `pad_id`.
pub struct FixedLengthTokenizer {
    inner: Tokenizer,
    cleaning: Cleaning,
}

/// Token ids of the CLIP vocabulary's two special tokens.
pub const CLIP_START_OF_TEXT: u32 = 49406;
pub const CLIP_END_OF_TEXT: u32 = 49407;
/// open_clip's `SimpleTokenizer` pre-tokenizer pattern. Python compiles it with
/// `regex.IGNORECASE`, which changes nothing here because the text is already lower case.
const CLIP_PATTERN: &str = r"<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";
/// open_clip reads the merges on lines 1 to 48894 of the file (`merges[1:49152-256-2+1]`).
const CLIP_MERGES: usize = 49152 - 256 - 2;

impl FixedLengthTokenizer {
    /// Loads a `tokenizer.json`; SigLIP uses `length` 64, `pad_id` 1 (the end-of-sequence id)
    /// and [`Cleaning::Whitespace`].
    pub fn from_json(bytes: &[u8], length: usize, pad_id: u32, cleaning: Cleaning) -> Result<Self, TokenizerError> {
        let inner = Tokenizer::from_bytes(bytes).map_err(|e| TokenizerError::Invalid(e.to_string()))?;
        Self::with_fixed_length(inner, length, pad_id, cleaning)
    }

    /// Builds open_clip's CLIP BPE tokenizer from the gzip-compressed merges file
    /// `bpe_simple_vocab_16e6.txt.gz`: rows start with id 49406, end with 49407 and are
    /// padded with id 0. FarSLIP uses `length` 248 (LongCLIP); OpenAI CLIP uses 77.
    pub fn clip_bpe(merges_gz: &[u8], length: usize) -> Result<Self, TokenizerError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(merges_gz)
            .read_to_string(&mut text)
            .map_err(|e| TokenizerError::InvalidMerges(format!("gzip text could not be read: {e}")))?;
        let inner = clip_bpe_tokenizer(&text)?;
        Self::with_fixed_length(inner, length, 0, Cleaning::Lower)
    }

    fn with_fixed_length(mut inner: Tokenizer, length: usize, pad_id: u32, cleaning: Cleaning) -> Result<Self, TokenizerError> {
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
        Ok(FixedLengthTokenizer { inner, cleaning })
    }

    /// Ids of `text` after cleaning, with the model's special tokens added.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>, TokenizerError> {
        let cleaned = self.cleaning.apply(text);
        let encoding = self.inner.encode(cleaned.as_str(), true).map_err(|e| TokenizerError::Encode { text: text.to_string(), message: e.to_string() })?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }
}

/// GPT-2's reversible byte-to-character table (`bytes_to_unicode` in open_clip), in
/// open_clip's order: printable Latin-1 bytes map to themselves, the other 68 bytes to
/// U+0100 onwards.
fn bytes_to_unicode() -> Vec<char> {
    let printable = |b: u32| (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
    let mut table: Vec<char> = (0..256u32).filter(|&b| printable(b)).filter_map(char::from_u32).collect();
    let remaining = 256 - table.len() as u32;
    table.extend((256..256 + remaining).filter_map(char::from_u32));
    table
}

/// Builds open_clip's `SimpleTokenizer` as a `tokenizers` BPE model. The vocabulary is numbered
/// as open_clip numbers it: the 256 byte characters, the same with `</w>`, one token per
/// merge, then the two special tokens.
fn clip_bpe_tokenizer(merges_text: &str) -> Result<Tokenizer, TokenizerError> {
    let lines: Vec<&str> = merges_text.split('\n').skip(1).take(CLIP_MERGES).collect();
    if lines.len() < CLIP_MERGES {
        return Err(TokenizerError::InvalidMerges(format!("it has {} merge lines, expected {CLIP_MERGES}", lines.len())));
    }
    let mut merges = Vec::with_capacity(CLIP_MERGES);
    for (number, line) in lines.iter().enumerate() {
        let Some((left, right)) = line.split_once(' ') else {
            return Err(TokenizerError::InvalidMerges(format!("line {} is not two symbols: {line:?}", number + 2)));
        };
        merges.push((left.to_string(), right.to_string()));
    }

    let bytes: Vec<String> = bytes_to_unicode().into_iter().map(String::from).collect();
    let mut tokens: Vec<String> = bytes.clone();
    tokens.extend(bytes.iter().map(|b| format!("{b}</w>")));
    tokens.extend(merges.iter().map(|(left, right)| format!("{left}{right}")));
    tokens.push("<start_of_text>".into());
    tokens.push("<end_of_text>".into());
    let vocab: tokenizers::models::bpe::Vocab = tokens.into_iter().zip(0u32..).collect();
    if vocab.get("<end_of_text>") != Some(&CLIP_END_OF_TEXT) {
        return Err(TokenizerError::InvalidMerges(format!("it gives {} distinct tokens, expected {}", vocab.len(), CLIP_END_OF_TEXT + 1)));
    }

    let invalid = |e: Box<dyn std::error::Error + Send + Sync>| TokenizerError::InvalidMerges(e.to_string());
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).end_of_word_suffix("</w>".into()).build().map_err(invalid)?;
    let mut tokenizer = Tokenizer::new(bpe);
    // Keep each pattern match as a word (invert) and drop the whitespace between them.
    let split = Split::new(SplitPattern::Regex(CLIP_PATTERN.into()), SplitDelimiterBehavior::Removed, true).map_err(invalid)?;
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![split.into(), ByteLevel::new(false, false, false).into()])));
    let template = TemplateProcessing::builder()
        .try_single("<start_of_text> $A <end_of_text>")
        .map_err(|e| TokenizerError::InvalidMerges(e.to_string()))?
        .special_tokens(vec![("<start_of_text>", CLIP_START_OF_TEXT), ("<end_of_text>", CLIP_END_OF_TEXT)])
        .build()
        .map_err(|e| TokenizerError::InvalidMerges(e.to_string()))?;
    tokenizer.with_post_processor(Some(template));
    // open_clip's pattern matches the special tokens' text, so typed "<end_of_text>" becomes id 49407.
    tokenizer
        .add_special_tokens(vec![AddedToken::from("<start_of_text>", true), AddedToken::from("<end_of_text>", true)])
        .map_err(|e| TokenizerError::InvalidMerges(e.to_string()))?;
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        let table = bytes_to_unicode();
        assert_eq!(table.len(), 256);
        assert_eq!(table[0], '!');
        assert_eq!(table[93], '~');
        // Byte 0 is the first non-printable byte, so it maps to U+0100, after all 188 printable ones.
        assert_eq!(table[188], '\u{100}');
        assert_eq!(table[255], '\u{143}');
    }
}
