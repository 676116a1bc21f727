//! The bundled demo index: Major TOM-schema GeoParquet files for every third row and column of
//! the 10 km grid over land, with embeddings from the SatCLIP location encoder with seeded random
//! (untrained) weights.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::{Float16Builder, ListBuilder};
use arrow_array::{ArrayRef, BinaryArray, Float32Array, Int16Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use eee::data::topo::{LatitudeCrossings, Ring, rings_from_topojson};
use eee::encoders::satclip::{EMBEDDING_DIM, LocationEncoder, random_weights_safetensors};
use eee::grid::{Cell, Grid, utm_epsg};
use half::f16;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

pub const DEFAULT_SEED: u64 = 20240;
/// Keep rows and columns whose signed number is a multiple of this (a 1/9 subsample).
const SUBSAMPLE: i32 = 3;
/// Number of Parquet files; each stays well below the 100 MB file limit of GitHub Pages.
pub const FILE_COUNT: usize = 4;
const ROW_GROUP_ROWS: usize = 16_384;
const ENCODE_BATCH: usize = 4096;
pub const WEIGHTS_FILE: &str = "satclip-demo-weights.safetensors";

/// A tile before encoding.
pub struct Tile {
    pub cell: Cell,
    pub south: f64,
    pub north: f64,
    pub west: f64,
    pub east: f64,
}

/// Samples per cell side for the land test: a cell is land if any of the 3 × 3 points is.
const SAMPLE_FRACTIONS: [f64; 3] = [0.02, 0.5, 0.98];

fn land_tiles(grid: &Grid, rings: &[Ring]) -> Vec<Tile> {
    let mut tiles = Vec::new();
    for row in grid.rows().filter(|r| r.number % SUBSAMPLE == 0) {
        let south = row.latitude;
        let north = south + grid.row_spacing();
        let lines: Vec<LatitudeCrossings> = SAMPLE_FRACTIONS.iter().map(|f| LatitudeCrossings::new(rings, south + f * (north - south))).collect();
        let spacing = row.spacing();
        for (index, &west) in row.longitudes.iter().enumerate() {
            let col = row.first_col + index as i32;
            if col % SUBSAMPLE != 0 {
                continue;
            }
            let is_land = lines.iter().any(|line| SAMPLE_FRACTIONS.iter().any(|f| line.contains(west + f * spacing)));
            if is_land {
                tiles.push(Tile { cell: Cell { row: row.number, col }, south, north, west, east: west + spacing });
            }
        }
    }
    tiles
}

fn polygon_wkb(tile: &Tile) -> Vec<u8> {
    let ring = geo_types::LineString::from(vec![
        (tile.west, tile.south),
        (tile.east, tile.south),
        (tile.east, tile.north),
        (tile.west, tile.north),
        (tile.west, tile.south),
    ]);
    let polygon = geo_types::Polygon::new(ring, vec![]);
    let mut bytes = Vec::new();
    wkb::writer::write_geometry(&mut bytes, &polygon, &Default::default()).expect("writing WKB to memory cannot fail");
    bytes
}

/// Returns the Major TOM embedding schema (the columns of the EarthEmbeddingExplorer files), with
/// f16 embeddings and GeoParquet 1.1 metadata.
pub fn schema() -> Arc<Schema> {
    let embedding = DataType::List(Arc::new(Field::new("item", DataType::Float16, true)));
    let geo = r#"{"version":"1.1.0","primary_column":"geometry","columns":{"geometry":{"encoding":"WKB","geometry_types":["Polygon"],"crs":null}}}"#;
    let metadata: std::collections::HashMap<String, String> = [("geo".to_string(), geo.to_string())].into_iter().collect();
    Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("unique_id", DataType::Utf8, false),
            Field::new("embedding", embedding, false),
            Field::new("timestamp", DataType::Utf8, true),
            Field::new("product_id", DataType::Utf8, true),
            Field::new("grid_cell", DataType::Utf8, false),
            Field::new("grid_row_u", DataType::Int16, false),
            Field::new("grid_col_r", DataType::Int16, false),
            Field::new("geometry", DataType::Binary, false),
            Field::new("centre_lat", DataType::Float32, false),
            Field::new("centre_lon", DataType::Float32, false),
            Field::new("utm_crs", DataType::Utf8, false),
        ],
        metadata,
    ))
}

/// Builds one record batch. `unique_id` is `{id_prefix}{cell}`, and `product_id` comes from
/// `product_ids` when given.
pub fn batch(tiles: &[Tile], embeddings: &[Vec<f32>], id_prefix: &str, product_ids: Option<&[String]>) -> RecordBatch {
    let mut embedding = ListBuilder::new(Float16Builder::new());
    for vector in embeddings {
        embedding.values().append_slice(&vector.iter().map(|&v| f16::from_f32(v)).collect::<Vec<_>>());
        embedding.append(true);
    }
    let centre = |t: &Tile| ((t.south + t.north) / 2.0, (t.west + t.east) / 2.0);
    let ids: Vec<String> = tiles.iter().map(|t| t.cell.to_string()).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(ids.iter().map(|id| format!("{id_prefix}{id}")))),
        Arc::new(embedding.finish()),
        Arc::new(StringArray::from(vec![None::<&str>; tiles.len()])),
        Arc::new(match product_ids {
            Some(names) => StringArray::from_iter_values(names.iter()),
            None => StringArray::from(vec![None::<&str>; tiles.len()]),
        }),
        Arc::new(StringArray::from_iter_values(ids.iter())),
        Arc::new(Int16Array::from_iter_values(tiles.iter().map(|t| t.cell.row as i16))),
        Arc::new(Int16Array::from_iter_values(tiles.iter().map(|t| t.cell.col as i16))),
        Arc::new(BinaryArray::from_iter_values(tiles.iter().map(polygon_wkb))),
        Arc::new(Float32Array::from_iter_values(tiles.iter().map(|t| centre(t).0 as f32))),
        Arc::new(Float32Array::from_iter_values(tiles.iter().map(|t| centre(t).1 as f32))),
        Arc::new(StringArray::from_iter_values(tiles.iter().map(|t| {
            let (lat, lon) = centre(t);
            format!("EPSG:{}", utm_epsg(lat, lon))
        }))),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}

/// Name of demo file `index`.
pub fn file_name(index: usize) -> String {
    format!("satclip-demo-{index}.parquet")
}

pub fn build(land: &Path, out: &Path, seed: u64) -> Result<(), String> {
    let started = Instant::now();
    let text = std::fs::read_to_string(land)
        .map_err(|e| format!("reading the land polygons {} failed: {e}. Run `npm install` (package world-atlas) or pass --land", land.display()))?;
    let rings = rings_from_topojson(&text, "land").map_err(|e| format!("{}: {e}", land.display()))?;
    let grid = Grid::core();
    let tiles = land_tiles(&grid, &rings);
    eprintln!("demo: {} land tiles on every {SUBSAMPLE}rd row and column ({} rings, {:.1} s)", tiles.len(), rings.len(), started.elapsed().as_secs_f64());

    std::fs::create_dir_all(out).map_err(|e| format!("creating {} failed: {e}", out.display()))?;
    let weights = random_weights_safetensors(seed);
    std::fs::write(out.join(WEIGHTS_FILE), &weights).map_err(|e| format!("writing weights failed: {e}"))?;
    let encoder = LocationEncoder::from_safetensors(&weights, Default::default()).map_err(|e| e.to_string())?;

    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).set_max_row_group_row_count(Some(ROW_GROUP_ROWS)).build();
    let per_file = tiles.len().div_ceil(FILE_COUNT);
    let mut sizes = Vec::new();
    for (index, chunk) in tiles.chunks(per_file).enumerate() {
        let path = out.join(file_name(index));
        let file = std::fs::File::create(&path).map_err(|e| format!("creating {} failed: {e}", path.display()))?;
        let mut writer = ArrowWriter::try_new(file, schema(), Some(properties.clone())).map_err(|e| e.to_string())?;
        for part in chunk.chunks(ENCODE_BATCH) {
            let points: Vec<(f64, f64)> = part.iter().map(|t| ((t.south + t.north) / 2.0, (t.west + t.east) / 2.0)).collect();
            let embeddings = futures::executor::block_on(encoder.embed(&points)).map_err(|e| e.to_string())?;
            debug_assert!(embeddings.iter().all(|e| e.len() == EMBEDDING_DIM));
            writer.write(&batch(part, &embeddings, "demo-", None)).map_err(|e| e.to_string())?;
        }
        writer.close().map_err(|e| e.to_string())?;
        let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        eprintln!("demo: wrote {} ({} tiles, {:.1} MB)", path.display(), chunk.len(), size as f64 / 1e6);
        sizes.push(size);
    }
    let report = serde_json::json!({
        "tiles": tiles.len(),
        "seed": seed,
        "land": "Natural Earth 1:50m land (world-atlas 2.0.2, land-50m.json)",
        "subsample": "signed row and column numbers divisible by 3",
        "files": (0..sizes.len()).map(file_name).collect::<Vec<_>>(),
        "bytes": sizes.iter().sum::<u64>(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(out.join("build-report.json"), serde_json::to_string_pretty(&report).expect("JSON value serialises")).map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON value serialises"));
    Ok(())
}
