//! EarthEmbeddingExplorer: search global satellite-image embeddings (Major TOM) from a browser.
//!
//! - [`grid`]: the Major TOM grid (cell ids, rows, columns, bounds).
//! - [`data`]: range reads over HTTP or files, GeoParquet embedding files, the dataset catalog.
//! - [`search`]: cosine scores, the top-‰ threshold, top-k, nearest tiles.
//! - [`encoders`]: query encoders in burn and their weights.
//! - [`ui`]: the Leptos app (components on wasm32 only) and its URL and map logic.

pub mod data;
pub mod encoders;
pub mod grid;
pub mod search;

pub mod ui;
