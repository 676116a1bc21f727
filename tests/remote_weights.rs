//! Reading one tower of a safetensors checkpoint over HTTP range requests.

use std::sync::atomic::AtomicU32;

use burn::prelude::*;
use eee::data::native::UreqTransport;
use eee::data::range::{HttpRangeSource, RangeSource, RetryPolicy};
use eee::data::server::{Faults, StaticServer};
use eee::encoders::remote::{RemoteError, RemoteSafetensors};
use eee::encoders::siglip::{SiglipConfig, TextTower};
use eee::encoders::weights::TensorFile;
use futures::executor::block_on;
use safetensors::SafeTensors;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn source(server: &StaticServer, path: &str) -> HttpRangeSource<UreqTransport> {
    let url = format!("http://127.0.0.1:{}/{path}", server.port);
    HttpRangeSource::new(url, UreqTransport::default(), None).with_retry(RetryPolicy { max_attempts: 3, first_delay_ms: 1 })
}

fn floats(tensors: &SafeTensors<'_>, key: &str) -> Vec<f32> {
    tensors.tensor(key).unwrap().data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

#[test]
fn text_tower_alone_is_fetched_and_matches_reference() {
    let faults = Faults { fail_first: AtomicU32::new(1), short_body_first: AtomicU32::new(1), ..Faults::default() };
    let server = StaticServer::start(FIXTURES, "127.0.0.1:0", faults).unwrap();
    let source = source(&server, "encoders/siglip/tiny.safetensors");
    let checkpoint = block_on(RemoteSafetensors::open(&source)).unwrap();
    assert!(checkpoint.names().any(|n| n.starts_with("vision_model.")));

    let mut last_progress = (0, 0);
    let bytes = block_on(checkpoint.fetch(&["text_model."], &mut |done, total| last_progress = (done, total))).unwrap();
    assert_eq!(last_progress.0, last_progress.1);
    let file_size = std::fs::metadata(format!("{FIXTURES}/encoders/siglip/tiny.safetensors")).unwrap().len();
    assert!(source.stats().bytes < file_size * 3 / 4, "fetched {} of {file_size} bytes", source.stats().bytes);

    let config = SiglipConfig { width: 64, layers: 2, heads: 4, intermediate: 128, image_size: 28, patch_size: 14, vocab_size: 1000, context_length: 64 };
    let mut file = TensorFile::parse(&bytes, "").unwrap();
    let device = Device::default();
    let text = TextTower::load(&mut file, &config, &device).unwrap();
    file.finish().unwrap();
    assert!(SafeTensors::deserialize(&bytes).unwrap().names().iter().all(|n| n.starts_with("text_model.")));

    let reference_bytes = std::fs::read(format!("{FIXTURES}/encoders/siglip/reference.safetensors")).unwrap();
    let reference = SafeTensors::deserialize(&reference_bytes).unwrap();
    let ids: Vec<i64> = reference.tensor("token_ids").unwrap().data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect();
    let batch = ids.len() / 64;
    let ours: Vec<f32> = text.forward(&ids, batch).unwrap().into_data().try_to_vec().unwrap();
    let expected = floats(&reference, "text_embeds");
    let worst = ours.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "max difference {worst}");
}

#[test]
fn non_safetensors_files_are_rejected() {
    let server = StaticServer::start(FIXTURES, "127.0.0.1:0", Faults::default()).unwrap();
    for path in ["parquet/not_parquet.parquet", "parquet/list_f32.parquet", "tokenizers/corpus.json"] {
        let source = source(&server, path);
        let error = block_on(RemoteSafetensors::open(&source)).err().expect(path);
        assert!(matches!(&error, RemoteError::Invalid { file, .. } if file.ends_with(path)), "{path}: {error}");
    }
}
