//! Data access: byte ranges, GeoParquet embedding files and the dataset catalog.

pub mod catalog;
pub mod geoparquet;
pub mod range;
pub mod topo;

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(not(target_arch = "wasm32"))]
pub mod server;
