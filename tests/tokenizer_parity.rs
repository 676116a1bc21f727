//! Tokenizer ids against the reference tokenizers on a 320-string corpus (punctuation, Unicode,
//! empty text, text longer than the context), written by `dev/make_tokenizer_fixtures.py`.

use eee::encoders::tokenize::{Cleaning, FixedLengthTokenizer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizers");

/// open_clip's merges file, which `make` extracts from the open-clip-torch wheel.
const CLIP_VOCAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public/vocab/bpe_simple_vocab_16e6.txt.gz");

fn fixture(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()).unwrap()
}

fn ids(value: &serde_json::Value) -> Vec<i64> {
    value.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect()
}

/// SigLIP as EarthEmbeddingExplorer tokenises it (open_clip `HFTokenizer`, 64 ids, pad 1), on
/// a small SentencePiece model trained with the `sentencepiece` package, because the real SigLIP
/// vocabulary is in no package registry.
#[test]
fn siglip_ids_match_open_clip() {
    let json = std::fs::read(format!("{DIR}/t5like_unigram.tokenizer.json")).unwrap();
    let tokenizer = FixedLengthTokenizer::from_json(&json, 64, 1, Cleaning::Whitespace).unwrap();
    let fixture = fixture("sentencepiece_ids.json");
    let entries = fixture["entries"].as_array().unwrap();
    assert!(entries.len() >= 200);
    let mut mismatches = Vec::new();
    for entry in entries {
        let text = entry["text"].as_str().unwrap();
        let cleaned = entry["open_clip_cleaned"].as_str().unwrap();
        assert_eq!(Cleaning::Whitespace.apply(text), cleaned, "cleaning {text:?}");
        let expected = ids(&entry["t5like_unigram"]["open_clip_hf_t5"]);
        let ours = tokenizer.encode(text).unwrap();
        assert_eq!(ours.len(), 64);
        if ours != expected {
            mismatches.push(format!("{text:?}:\n  ours {ours:?}\n  want {expected:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), entries.len(), mismatches.join("\n"));
}

#[test]
fn invalid_tokenizer_file_is_rejected() {
    assert!(FixedLengthTokenizer::from_json(b"{}", 64, 1, Cleaning::Whitespace).is_err());
    assert!(FixedLengthTokenizer::from_json(b"not json", 64, 1, Cleaning::Whitespace).is_err());
}

fn clip_vocab() -> Vec<u8> {
    std::fs::read(CLIP_VOCAB).unwrap_or_else(|e| panic!("{CLIP_VOCAB}: {e}; run `make {}` first", "public/vocab/bpe_simple_vocab_16e6.txt.gz"))
}

/// FarSLIP's CLIP BPE tokenizer (open_clip `SimpleTokenizer`, 248 ids, pad 0) against
/// `open_clip.tokenize`, including ftfy's and html.unescape's cleaning of the raw text.
#[test]
fn clip_ids_match_open_clip() {
    let fixture = fixture("clip_bpe.json");
    let length = fixture["context_length"].as_u64().unwrap() as usize;
    let tokenizer = FixedLengthTokenizer::clip_bpe(&clip_vocab(), length).unwrap();
    let entries = fixture["entries"].as_array().unwrap();
    assert!(entries.len() >= 200);
    let mut cleaning_mismatches = Vec::new();
    let mut id_mismatches = Vec::new();
    for entry in entries {
        let text = entry["text"].as_str().unwrap();
        let cleaned = entry["cleaned"].as_str().unwrap();
        if Cleaning::Lower.apply(text) != cleaned {
            cleaning_mismatches.push(format!("{text:?}: ours {:?}, want {cleaned:?}", Cleaning::Lower.apply(text)));
        }

        let expected = ids(&entry["ids"]);
        let row = tokenizer.encode(text).unwrap();
        assert_eq!(row.len(), length);
        let used = &row[..expected.len().min(length)];
        let padding = &row[expected.len().min(length)..];
        if used != expected.as_slice() || padding.iter().any(|&id| id != 0) {
            id_mismatches.push(format!("{text:?}:\n  ours {used:?}\n  want {expected:?}"));
        }
        if let Some(padded) = entry.get("padded_row") {
            assert_eq!(row, ids(padded), "padded row of {text:?}");
        }
    }
    assert!(cleaning_mismatches.is_empty(), "{} of {} cleaned differently:\n{}", cleaning_mismatches.len(), entries.len(), cleaning_mismatches.join("\n"));
    assert!(id_mismatches.is_empty(), "{} of {} differ:\n{}", id_mismatches.len(), entries.len(), id_mismatches.join("\n"));
}

#[test]
fn clip_truncation_keeps_end_token_last() {
    let tokenizer = FixedLengthTokenizer::clip_bpe(&clip_vocab(), 8).unwrap();
    let row = tokenizer.encode("one two three four five six seven eight nine ten").unwrap();
    assert_eq!(row.len(), 8);
    assert_eq!(row[0], 49406);
    assert_eq!(row[7], 49407);
}

#[test]
fn invalid_merges_file_is_rejected() {
    let error = FixedLengthTokenizer::clip_bpe(b"not gzip", 77).err().unwrap();
    assert!(error.to_string().contains("bpe_simple_vocab_16e6.txt.gz"), "{error}");

    let mut short = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut short, b"#version: 0.2\na b\n").unwrap();
    let error = FixedLengthTokenizer::clip_bpe(&short.finish().unwrap(), 77).err().unwrap();
    assert!(error.to_string().contains("merge lines"), "{error}");
}
