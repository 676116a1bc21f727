//! `eee index`: embed image chips named by their Major TOM cell into a GeoParquet file with
//! the Major TOM embedding schema, which the app and `eee search` read like the published files.

use std::path::{Path, PathBuf};

use eee::encoders::card::ModelCard;
use eee::encoders::query::ImageQueryEncoder;
use eee::grid::Grid;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::demo::{Tile, batch, schema};

/// Embeds every image named `<cell id>.<extension>`, such as `337U_1155R.png` (PNG or JPEG, or a
/// Sentinel-2 GeoTIFF for SatCLIP), with the card's image tower. Writes one row per image to `out`.
pub fn build(card: &ModelCard, weights: &[u8], images: &[PathBuf], out: &Path) -> Result<(), String> {
    if images.is_empty() {
        return Err("give at least one image file".to_string());
    }
    let encoder = ImageQueryEncoder::load(card, weights, &eee::encoders::device::EncoderDevice::cpu()).map_err(|e| e.to_string())?;
    let grid = Grid::core();
    let mut seen = std::collections::HashMap::new();
    let mut tiles = Vec::with_capacity(images.len());
    let mut embeddings = Vec::with_capacity(images.len());
    let mut names = Vec::with_capacity(images.len());
    for path in images {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let (cell, bounds) = grid
            .bounds_of_id(&stem)
            .map_err(|e| format!("{}: the file name must be a Major TOM cell id such as 337U_1155R.png ({e})", path.display()))?;
        if let Some(first) = seen.insert(cell, path.clone()) {
            return Err(format!("{} and {} are both cell {cell}: give one image per cell", first.display(), path.display()));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("reading {} failed: {e}", path.display()))?;
        let image = eee::encoders::query::decode_query_image(card, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let embedding = futures::executor::block_on(encoder.embed(&image)).map_err(|e| format!("{}: {e}", path.display()))?;
        tiles.push(Tile { cell, south: bounds.south, north: bounds.north, west: bounds.west, east: bounds.east });
        embeddings.push(embedding);
        names.push(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    }

    let file = std::fs::File::create(out).map_err(|e| format!("creating {} failed: {e}", out.display()))?;
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, schema(), Some(properties)).map_err(|e| e.to_string())?;
    writer.write(&batch(&tiles, &embeddings, &format!("{}-", card.id), Some(&names))).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    eprintln!("index: wrote {} ({} tiles, {} values each, model {})", out.display(), tiles.len(), card.embedding_dim, card.id);
    Ok(())
}
