//! Async loading for the app: catalog, dataset files, encoder weights, basemap.

use std::rc::Rc;

use gloo_net::http::Request;

use crate::data::browser::{FetchSource, FetchTransport};
use crate::data::catalog::{Catalog, Dataset, resolve_url};
use crate::data::geoparquet::{EmbeddingTable, ReadOptions, read_table};
use crate::data::range::{RangeSource, Stats};
use crate::data::topo::{Ring, rings_from_topojson};
use crate::encoders::card::{ModelCard, WeightsCard};
use crate::encoders::remote::RemoteSafetensors;
use crate::encoders::satclip::LocationEncoder;

use super::cache;

/// The catalog URL relative to the page, used when the link names none.
pub const DEFAULT_CATALOG: &str = "catalog.json";
pub const BASEMAP_URL: &str = "basemap/land-50m.json";

/// Fetches a whole small file as text, with a message that names the URL on failure.
async fn fetch_text(url: &str, description: &str) -> Result<String, String> {
    let response = Request::get(url).send().await.map_err(|e| format!("loading the {description} from {url} failed: {e}. Check the URL and that the server allows cross-origin requests"))?;
    if !response.ok() {
        return Err(format!("loading the {description} from {url} failed with HTTP {}", response.status()));
    }
    response.text().await.map_err(|e| format!("reading the {description} from {url} failed: {e}"))
}

async fn fetch_bytes(url: &str, description: &str) -> Result<Vec<u8>, String> {
    let response = Request::get(url).send().await.map_err(|e| format!("loading the {description} from {url} failed: {e}. Check the URL and that the server allows cross-origin requests"))?;
    if !response.ok() {
        return Err(format!("loading the {description} from {url} failed with HTTP {}", response.status()));
    }
    response.binary().await.map_err(|e| format!("reading the {description} from {url} failed: {e}"))
}

pub async fn load_catalog(url: &str) -> Result<Catalog, String> {
    let text = fetch_text(url, "catalog").await?;
    Catalog::parse(url, &text).map_err(|e| e.to_string())
}

pub async fn load_basemap() -> Result<Vec<Ring>, String> {
    let text = fetch_text(BASEMAP_URL, "basemap").await?;
    rings_from_topojson(&text, "land").map_err(|e| format!("the basemap {BASEMAP_URL} is invalid: {e}"))
}

/// Result of loading a dataset: the tiles and what it cost.
pub struct LoadedDataset {
    pub table: Rc<EmbeddingTable>,
    pub stats: Stats,
}

/// Loads every file of `dataset`, trying mirrors in order. `progress` receives
/// (bytes done, bytes expected) summed over files as far as they are known.
pub async fn load_dataset(catalog_url: &str, dataset: &Dataset, progress: &dyn Fn(u64, u64)) -> Result<LoadedDataset, String> {
    let options = ReadOptions { expected_dim: Some(dataset.dim), ..ReadOptions::default() };
    let mut tables = Vec::with_capacity(dataset.files.len());
    let mut stats = Stats::default();
    let file_count = dataset.files.len() as u64;
    for (index, file) in dataset.files.iter().enumerate() {
        let mut last_error = String::new();
        let mut loaded = None;
        for location in std::iter::once(&file.url).chain(&file.mirrors) {
            let url = resolve_url(catalog_url, location);
            let source = FetchSource::new(url.clone(), FetchTransport, file.size);
            let mut report = |done: u64, total: u64| {
                // Files are weighted equally: each is 1/file_count of the bar.
                let scaled = (index as u64 * 1000 + done.saturating_mul(1000) / total.max(1)) / file_count.max(1);
                progress(scaled, 1000);
            };
            match read_table(&source, &options, &mut report).await {
                Ok(table) => {
                    let source_stats = source.stats();
                    stats.requests += source_stats.requests;
                    stats.bytes += source_stats.bytes;
                    loaded = Some(table);
                    break;
                }
                Err(error) => {
                    log::warn!("load: {url} failed: {error}");
                    last_error = error.to_string();
                }
            }
        }
        tables.push(loaded.ok_or(last_error)?);
    }
    let table = EmbeddingTable::concat(tables).map_err(|e| format!("the files of dataset {:?} do not fit together: {e}", dataset.id))?;
    Ok(LoadedDataset { table: Rc::new(table), stats })
}

pub async fn load_location_encoder(catalog_url: &str, weights: &str) -> Result<LocationEncoder, String> {
    let url = resolve_url(catalog_url, weights);
    let bytes = fetch_bytes(&url, "location-encoder weights").await?;
    LocationEncoder::from_safetensors(&bytes, crate::encoders::device::EncoderDevice::cpu().device).map_err(|e| format!("{url}: {e}"))
}

/// Loads a model card; returns it with its resolved URL, against which its own URLs resolve.
pub async fn load_card(catalog_url: &str, card: &str) -> Result<(ModelCard, String), String> {
    let url = resolve_url(catalog_url, card);
    let bytes = fetch_bytes(&url, "model card").await?;
    let parsed = ModelCard::from_json(&bytes).map_err(|e| format!("{url}: {e}"))?;
    Ok((parsed, url))
}

/// Source of a download, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Network,
    Cache,
}

/// Fetches a whole file (a tokenizer), from Cache Storage when a previous visit stored it.
pub async fn load_cached_file(url: &str, description: &str) -> Result<(Vec<u8>, Origin), String> {
    if let Some(bytes) = cache::get(url).await {
        return Ok((bytes, Origin::Cache));
    }
    let bytes = fetch_bytes(url, description).await?;
    cache::put(url, &bytes).await;
    Ok((bytes, Origin::Network))
}

/// Cache Storage key of one tower of a weights file: the file URL plus the tower's prefixes.
fn tower_cache_key(url: &str, prefixes: &[String]) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    let encoded: String = form_urlencoded::byte_serialize(prefixes.join(",").as_bytes()).collect();
    format!("{url}{separator}eee-tower={encoded}")
}

/// Fetches the tensors of one tower (only those under its prefixes, by range requests) and
/// returns them as an in-memory safetensors file. Mirrors are tried in order; the result is
/// stored in Cache Storage. `progress` receives (bytes done, bytes to fetch).
pub async fn load_tower(card_url: &str, weights: &WeightsCard, progress: &dyn Fn(u64, u64)) -> Result<(Vec<u8>, Origin), String> {
    let primary = resolve_url(card_url, &weights.url);
    let key = tower_cache_key(&primary, &weights.prefixes);
    if let Some(bytes) = cache::get(&key).await {
        return Ok((bytes, Origin::Cache));
    }
    let prefixes: Vec<&str> = weights.prefixes.iter().map(String::as_str).collect();
    let mut last_error = String::new();
    for location in std::iter::once(&weights.url).chain(&weights.mirrors) {
        let url = resolve_url(card_url, location);
        let source = FetchSource::new(url.clone(), FetchTransport, None);
        let result = async {
            let file = RemoteSafetensors::open(&source).await?;
            file.fetch(&prefixes, &mut |done, total| progress(done, total)).await
        }
        .await;
        match result {
            Ok(bytes) => {
                cache::put(&key, &bytes).await;
                return Ok((bytes, Origin::Network));
            }
            Err(error) => {
                log::warn!("load: weights {url} failed: {error}");
                last_error = format!("loading weights from {url} failed: {error}");
            }
        }
    }
    Err(last_error)
}
