//! Reading a safetensors checkpoint tensor by tensor over range requests, so that the app
//! downloads only the tower a query needs (for example `text_model.*` of a SigLIP checkpoint
//! that also contains the image tower).

use std::collections::BTreeMap;

use safetensors::tensor::{TensorInfo, TensorView};

use super::weights::WeightsError;
use crate::data::range::{RangeError, RangeSource};

/// safetensors' limit on the JSON header (100 MB).
const MAX_HEADER_BYTES: u64 = 100_000_000;
/// Tensors closer than this are fetched in one request.
const MERGE_GAP_BYTES: u64 = 1 << 20;
/// Largest range request while fetching tensors.
const PART_BYTES: u64 = 16 << 20;

/// Errors from reading a remote checkpoint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("{file} is not a safetensors checkpoint: {reason}")]
    Invalid { file: String, reason: String },
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// The header of a remote safetensors file: every tensor's type, shape and byte range.
pub struct RemoteSafetensors<'a, S: RangeSource> {
    source: &'a S,
    tensors: BTreeMap<String, TensorInfo>,
    /// File offset of the first data byte (8 + header length).
    data_start: u64,
}

impl<'a, S: RangeSource> RemoteSafetensors<'a, S> {
    /// Reads and checks the header: two range requests.
    pub async fn open(source: &'a S) -> Result<Self, RemoteError> {
        let file = source.name().to_string();
        let invalid = |reason: String| RemoteError::Invalid { file: file.clone(), reason };
        let length = source.len().await?;
        if length < 8 {
            return Err(invalid(format!("it has only {length} bytes")));
        }
        let prefix = source.read(0, 8).await?;
        let header_length = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes were read"));
        if header_length > MAX_HEADER_BYTES || header_length + 8 > length {
            return Err(invalid(format!("its header length {header_length} does not fit in {length} bytes")));
        }
        let header = source.read(8, 8 + header_length).await?;
        let entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&header).map_err(|e| invalid(format!("its header is not JSON: {e}")))?;
        let data_length = length - 8 - header_length;
        let mut tensors = BTreeMap::new();
        for (name, value) in entries {
            if name == "__metadata__" {
                continue;
            }
            let info: TensorInfo = serde_json::from_value(value).map_err(|e| invalid(format!("tensor {name:?} has an invalid entry: {e}")))?;
            let (start, end) = info.data_offsets;
            let expected = info.shape.iter().product::<usize>() * info.dtype.bitsize() / 8;
            if start > end || end as u64 > data_length || end - start != expected {
                return Err(invalid(format!("tensor {name:?} has byte range {start}..{end}, which does not match its shape {:?} or the file", info.shape)));
            }
            tensors.insert(name, info);
        }
        Ok(RemoteSafetensors { source, tensors, data_start: 8 + header_length })
    }

    /// Names of all tensors in the file.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Fetches the tensors whose names start with one of `prefixes` and returns them as an
    /// in-memory safetensors file, ready for [`super::weights::TensorFile::parse`]. Adjacent
    /// tensors are fetched together; `progress` gets (bytes done, bytes to fetch).
    pub async fn fetch(&self, prefixes: &[&str], progress: &mut dyn FnMut(u64, u64)) -> Result<Vec<u8>, RemoteError> {
        self.fetch_in_parts(prefixes, PART_BYTES, progress).await
    }

    async fn fetch_in_parts(&self, prefixes: &[&str], part_bytes: u64, progress: &mut dyn FnMut(u64, u64)) -> Result<Vec<u8>, RemoteError> {
        let selected: Vec<(&String, &TensorInfo)> = self.tensors.iter().filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p))).collect();
        let mut ranges: Vec<(u64, u64)> = selected.iter().map(|(_, info)| (info.data_offsets.0 as u64, info.data_offsets.1 as u64)).collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 + MERGE_GAP_BYTES => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let total: u64 = merged.iter().map(|(s, e)| e - s).sum();
        let mut done = 0;
        let mut pieces = Vec::with_capacity(merged.len());
        for &(start, end) in &merged {
            // Parts keep each request small, so progress moves and a retry repeats one part only.
            let mut bytes = Vec::with_capacity((end - start) as usize);
            let mut part_start = start;
            while part_start < end {
                let part_end = (part_start + part_bytes).min(end);
                let part = self.source.read(self.data_start + part_start, self.data_start + part_end).await?;
                bytes.extend_from_slice(&part);
                done += part_end - part_start;
                progress(done, total);
                part_start = part_end;
            }
            pieces.push((start, bytes));
        }

        let views: Vec<(String, TensorView<'_>)> = selected
            .iter()
            .map(|(name, info)| {
                let (start, end) = (info.data_offsets.0 as u64, info.data_offsets.1 as u64);
                let (piece_start, bytes) = pieces.iter().rev().find(|(s, _)| *s <= start).expect("every selected range was fetched");
                let data = &bytes[(start - piece_start) as usize..(end - piece_start) as usize];
                let view = TensorView::new(info.dtype, info.shape.clone(), data).expect("sizes were checked in open");
                ((*name).clone(), view)
            })
            .collect();
        safetensors::serialize(views, None).map_err(|e| RemoteError::Invalid { file: self.source.name().to_string(), reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::range::MemorySource;

    #[test]
    fn parts_reassemble_tensors() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/encoders/siglip/tiny.safetensors")).unwrap();
        let source = MemorySource::new("tiny.safetensors", bytes.clone());
        let file = futures::executor::block_on(RemoteSafetensors::open(&source)).unwrap();
        let mut calls = 0;
        let parts = futures::executor::block_on(file.fetch_in_parts(&["text_model."], 1000, &mut |_, _| calls += 1)).unwrap();
        let whole = futures::executor::block_on(file.fetch(&["text_model."], &mut |_, _| {})).unwrap();
        assert_eq!(parts, whole);
        assert!(calls > 100, "{calls} progress calls");

        let original = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let fetched = safetensors::SafeTensors::deserialize(&parts).unwrap();
        for name in fetched.names() {
            assert!(name.starts_with("text_model."), "{name}");
            assert_eq!(fetched.tensor(name).unwrap().data(), original.tensor(name).unwrap().data(), "{name}");
        }
    }
}
