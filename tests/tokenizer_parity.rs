//! Tokenizer ids against the reference tokenizers on a 320-string corpus (punctuation, Unicode,
//! empty text, text longer than the context), written by `dev/make_tokenizer_fixtures.py`.

use eee::encoders::tokenize::FixedLengthTokenizer;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizers");

fn fixture() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/sentencepiece_ids.json")).unwrap()).unwrap()
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
    let tokenizer = FixedLengthTokenizer::from_json(&json, 64, 1).unwrap();
    let fixture = fixture();
    let entries = fixture["entries"].as_array().unwrap();
    assert!(entries.len() >= 200);
    let mut mismatches = Vec::new();
    for entry in entries {
        let cleaned = entry["open_clip_cleaned"].as_str().unwrap();
        let expected = ids(&entry["t5like_unigram"]["open_clip_hf_t5"]);
        let ours = tokenizer.encode(cleaned).unwrap();
        assert_eq!(ours.len(), 64);
        if ours != expected {
            mismatches.push(format!("{cleaned:?}:\n  ours {ours:?}\n  want {expected:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), entries.len(), mismatches.join("\n"));
}

#[test]
fn invalid_tokenizer_file_is_rejected() {
    assert!(FixedLengthTokenizer::from_json(b"{}", 64, 1).is_err());
    assert!(FixedLengthTokenizer::from_json(b"not json", 64, 1).is_err());
}
