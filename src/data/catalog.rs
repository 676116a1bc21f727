//! The dataset catalog: which embedding files exist, where, and which encoder made them.
//!
//! The app loads `catalog.json` from its own folder unless the `catalog` URL parameter names
//! another. Relative file URLs are resolved against the catalog's URL, so a catalog and its files
//! can be moved together.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub datasets: Vec<Dataset>,
    /// Images offered as image queries, for datasets that take them.
    #[serde(default)]
    pub examples: Vec<ExampleImage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleImage {
    pub title: String,
    /// PNG or JPEG URL, relative to the catalog unless absolute.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Short id used in URLs (`?dataset=…`).
    pub id: String,
    pub title: String,
    /// Model card id, such as `satclip-vit16-l40`.
    pub model: String,
    pub dim: usize,
    /// Storage type of the vectors: `f16` or `f32`.
    pub dtype: String,
    /// Number of tiles, when known; shown before the files load.
    #[serde(default)]
    pub rows: Option<u64>,
    /// True for the bundled demo index, whose embeddings come from untrained weights.
    #[serde(default)]
    pub demo: bool,
    #[serde(default)]
    pub description: String,
    pub files: Vec<DataFile>,
    /// Query kinds the dataset's encoder supports in this app: `location`, `tile`, `text`, `image`.
    #[serde(default)]
    pub queries: Vec<String>,
    /// Location-encoder weights (safetensors with the checkpoint's key names), when location
    /// queries are available.
    #[serde(default)]
    pub location_weights: Option<String>,
    /// Model card (`models/*.json`) of the encoder that made the embeddings, when text or image
    /// queries are available. Its weight and tokenizer URLs are relative to the card.
    #[serde(default)]
    pub model_card: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    pub url: String,
    /// Size in bytes, when known; saves one request.
    #[serde(default)]
    pub size: Option<u64>,
    /// Other URLs serving the same file, tried in order when `url` fails.
    #[serde(default)]
    pub mirrors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalog at {url} is not valid JSON for a catalog: {message}")]
    Parse { url: String, message: String },
    #[error("the catalog at {url} is invalid: {message}")]
    Invalid { url: String, message: String },
}

impl Dataset {
    /// Returns whether the app offers query `kind` (`location`, `tile`, `text`, `image`) on this
    /// dataset. Location-encoder weights imply location queries, also where `queries` omits them.
    pub fn takes(&self, kind: &str) -> bool {
        self.queries.iter().any(|q| q == kind) || (kind == "location" && self.location_weights.is_some())
    }
}

impl Catalog {
    /// Parses and checks a catalog fetched from `url`.
    pub fn parse(url: &str, text: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = serde_json::from_str(text).map_err(|e| CatalogError::Parse { url: url.to_string(), message: e.to_string() })?;
        let invalid = |message: String| CatalogError::Invalid { url: url.to_string(), message };
        if catalog.datasets.is_empty() {
            return Err(invalid("it lists no datasets".to_string()));
        }
        for dataset in &catalog.datasets {
            if dataset.files.is_empty() {
                return Err(invalid(format!("dataset {:?} lists no files", dataset.id)));
            }
            if dataset.dim == 0 || dataset.dim > 65_536 {
                return Err(invalid(format!("dataset {:?} has dimension {}", dataset.id, dataset.dim)));
            }
            if !matches!(dataset.dtype.as_str(), "f16" | "f32") {
                return Err(invalid(format!("dataset {:?} has dtype {:?}; use f16 or f32", dataset.id, dataset.dtype)));
            }
        }
        Ok(catalog)
    }

    pub fn dataset(&self, id: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.id == id)
    }
}

/// Resolves `reference` against `base` (a URL or path of the catalog), as a browser resolves a
/// relative link: absolute URLs stay, `/x` is relative to the origin, other paths to the base's
/// folder.
pub fn resolve_url(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    if let Some(path) = reference.strip_prefix('/') {
        if let Some(scheme_end) = base.find("://") {
            let host_end = base[scheme_end + 3..].find('/').map_or(base.len(), |i| scheme_end + 3 + i);
            return format!("{}/{path}", &base[..host_end]);
        }
        return reference.to_string();
    }
    let base = base.split(['?', '#']).next().unwrap_or(base);
    let folder = match base.rfind('/') {
        Some(i) => &base[..=i],
        None => "",
    };
    format!("{folder}{reference}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_urls() {
        assert_eq!(resolve_url("http://h:8080/app/catalog.json", "demo/a.parquet"), "http://h:8080/app/demo/a.parquet");
        assert_eq!(resolve_url("http://h:8080/app/catalog.json?x=1", "/b.parquet"), "http://h:8080/b.parquet");
        assert_eq!(resolve_url("http://h/app/catalog.json", "https://x.org/f.parquet"), "https://x.org/f.parquet");
        assert_eq!(resolve_url("public/catalog.json", "demo/a.parquet"), "public/demo/a.parquet");
        assert_eq!(resolve_url("catalog.json", "demo/a.parquet"), "demo/a.parquet");
    }

    #[test]
    fn shipped_catalog_is_valid() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/public/catalog.json")).unwrap();
        let catalog = Catalog::parse("catalog.json", &text).unwrap();
        for (id, dim) in [("siglip-249k", 1152), ("farslip-249k", 512), ("satclip-249k", 256), ("dinov2-249k", 1024)] {
            assert_eq!(catalog.dataset(id).map(|d| d.dim), Some(dim), "{id}");
        }
        assert!(catalog.dataset("demo").is_some_and(|d| d.demo));
        assert!(catalog.dataset("demo").is_some_and(|d| d.takes("location") && !d.takes("text")));

        // Each model card the catalog names exists in models/ and matches the dataset.
        for dataset in catalog.datasets.iter().filter(|d| d.model_card.is_some()) {
            let path = format!("{}/{}", env!("CARGO_MANIFEST_DIR"), dataset.model_card.as_ref().unwrap());
            let card = crate::encoders::card::ModelCard::from_json(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(card.embedding_dim, dataset.dim, "{path}");
            assert_eq!(card.id, dataset.model, "{path}");
            assert_eq!(dataset.takes("text"), card.towers.text.is_some(), "{path}");
            assert_eq!(dataset.takes("image"), card.towers.image.is_some(), "{path}");
        }
        assert_eq!(catalog.datasets.iter().filter(|d| d.model_card.is_some()).count(), 4);
    }

    #[test]
    fn invalid_catalogs_are_rejected() {
        assert!(matches!(Catalog::parse("c.json", "<html>"), Err(CatalogError::Parse { .. })));
        assert!(matches!(Catalog::parse("c.json", r#"{"datasets": []}"#), Err(CatalogError::Invalid { .. })));
        let bad_dtype = r#"{"datasets": [{"id": "a", "title": "A", "model": "m", "dim": 4, "dtype": "int8", "files": [{"url": "a.parquet"}]}]}"#;
        let error = Catalog::parse("c.json", bad_dtype).unwrap_err();
        assert!(error.to_string().contains("int8"), "{error}");
    }
}
