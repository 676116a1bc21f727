//! Reading embedding files written by pyarrow and geopandas (`dev/make_parquet_fixtures.py`).
//! Expected values were read back from each file with pyarrow.

use eee::data::geoparquet::{DataError, EmbeddingTable, ReadOptions, read_table};
use eee::data::range::MemorySource;
use futures::executor::block_on;
use serde::Deserialize;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parquet");

#[derive(Deserialize)]
struct Expected {
    rows: usize,
    dim: usize,
    dtype: String,
    embeddings: Vec<Vec<f64>>,
    centre_lat: Vec<f64>,
    centre_lon: Vec<f64>,
    grid_cell: Option<Vec<String>>,
    product_id: Option<Vec<String>>,
    timestamp: Option<Vec<String>>,
}

fn read(name: &str) -> Result<EmbeddingTable, DataError> {
    let bytes = std::fs::read(format!("{DIR}/{name}.parquet")).unwrap();
    let source = MemorySource::new(format!("{name}.parquet"), bytes);
    block_on(read_table(&source, &ReadOptions::default(), &mut |_, _| {}))
}

fn expected(name: &str) -> Expected {
    let text = std::fs::read_to_string(format!("{DIR}/{name}.expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn normalised(vector: &[f64]) -> Vec<f64> {
    let norm = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
    vector.iter().map(|v| v / norm).collect()
}

fn check_fixture(name: &str) {
    let table = read(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected = expected(name);
    assert_eq!(table.len(), expected.rows, "{name}: rows");
    assert_eq!(table.embeddings.dim(), expected.dim, "{name}: dim");
    assert_eq!(table.half_precision, expected.dtype == "f16", "{name}: dtype");
    // Stored normalised: f16 files keep f16 precision after normalising.
    let tolerance = if table.half_precision { 1e-3 } else { 1e-6 };
    for (row, raw) in expected.embeddings.iter().enumerate() {
        let ours = table.embeddings.row(row);
        for (i, (a, b)) in ours.iter().zip(normalised(raw)).enumerate() {
            assert!((f64::from(*a) - b).abs() < tolerance, "{name}: row {row} value {i}: {a} vs {b}");
        }
    }
    for row in 0..expected.rows {
        assert!((f64::from(table.lat[row]) - expected.centre_lat[row]).abs() < 1e-5, "{name}: lat of row {row}");
        assert!((f64::from(table.lon[row]) - expected.centre_lon[row]).abs() < 1e-5, "{name}: lon of row {row}");
    }
    let text_columns = [(&table.grid_cell, &expected.grid_cell), (&table.product_id, &expected.product_id), (&table.timestamp, &expected.timestamp)];
    for (ours, theirs) in text_columns {
        match theirs {
            Some(values) => assert_eq!(ours, values, "{name}"),
            None => assert!(ours.iter().all(String::is_empty), "{name}: absent column should read as empty"),
        }
    }
}

#[test]
fn list_f32() {
    check_fixture("list_f32");
}

#[test]
fn list_f16_logical_type() {
    check_fixture("list_f16");
}

#[test]
fn fixed_size_list_f32() {
    check_fixture("fixed_size_list_f32");
}

#[test]
fn nested_1xd_f16() {
    check_fixture("nested_1xd_f16");
}

#[test]
fn nested_1xd_f32_large_list() {
    check_fixture("nested_1xd_f32_large");
}

#[test]
fn centre_from_polygon_geometry() {
    check_fixture("geometry_only");
}

#[test]
fn centre_from_point_geometry() {
    check_fixture("point_geometry");
}

#[test]
fn minimal_columns() {
    check_fixture("minimal");
}

#[test]
fn zstd_compression() {
    check_fixture("zstd");
}

#[test]
fn multiple_row_groups() {
    check_fixture("multi_row_group");
}

#[test]
fn f64_embedding() {
    check_fixture("f64_embedding");
}

#[test]
fn missing_embedding_column() {
    let error = read("no_embedding").unwrap_err();
    assert!(matches!(&error, DataError::MissingColumn { column, .. } if column == "embedding"), "{error}");
    let message = error.to_string();
    assert!(message.contains("no_embedding.parquet"), "{message}");
    assert!(message.contains("grid_cell"), "{message}");
}

#[test]
fn ragged_dimensions() {
    let error = read("ragged_dims").unwrap_err();
    assert_eq!(error, DataError::DimensionMismatch { file: "ragged_dims.parquet".to_string(), row: 3, expected: 8, found: 7 });
}

#[test]
fn nan_vector() {
    let error = read("nan_vector").unwrap_err();
    assert!(matches!(&error, DataError::InvalidVector { row: 2, reason, .. } if reason.contains("NaN")), "{error}");
}

#[test]
fn zero_vector() {
    let error = read("zero_vector").unwrap_err();
    assert!(matches!(&error, DataError::InvalidVector { row: 4, .. }), "{error}");
}

#[test]
fn null_embedding() {
    let error = read("null_embedding").unwrap_err();
    assert_eq!(error, DataError::NullEmbedding { file: "null_embedding.parquet".to_string(), row: 1 });
}

#[test]
fn string_embedding() {
    let error = read("string_embedding").unwrap_err();
    assert!(matches!(&error, DataError::UnsupportedType { found, .. } if found.contains("Utf8")), "{error}");
}

#[test]
fn no_location_columns() {
    let error = read("no_location").unwrap_err();
    assert_eq!(error, DataError::NoLocation { file: "no_location.parquet".to_string() });
}

#[test]
fn not_parquet() {
    let error = read("not_parquet").unwrap_err();
    assert!(matches!(&error, DataError::NotParquet { file, .. } if file == "not_parquet.parquet"), "{error}");
}

#[test]
fn truncated_file() {
    let error = read("truncated").unwrap_err();
    assert!(matches!(&error, DataError::NotParquet { .. }), "{error}");
    assert!(error.to_string().contains("truncated.parquet"));
}

#[test]
fn wrong_dimension_for_catalog() {
    let bytes = std::fs::read(format!("{DIR}/list_f32.parquet")).unwrap();
    let source = MemorySource::new("list_f32.parquet", bytes);
    let options = ReadOptions { expected_dim: Some(256), ..ReadOptions::default() };
    let error = block_on(read_table(&source, &options, &mut |_, _| {})).unwrap_err();
    assert_eq!(error, DataError::DimensionMismatch { file: "list_f32.parquet".to_string(), row: 0, expected: 256, found: 8 });
}

#[test]
fn small_file_is_read_in_one_request() {
    let bytes = std::fs::read(format!("{DIR}/list_f32.parquet")).unwrap();
    let source = MemorySource::new("list_f32.parquet", bytes);
    block_on(read_table(&source, &ReadOptions::default(), &mut |_, _| {})).unwrap();
    assert_eq!(eee::data::range::RangeSource::stats(&source).requests, 1);
}

#[test]
fn reads_only_needed_columns() {
    let bytes = std::fs::read(format!("{DIR}/multi_row_group.parquet")).unwrap();
    let total = bytes.len() as u64;
    let source = MemorySource::new("multi_row_group.parquet", bytes);
    let options = ReadOptions { footer_guess_bytes: 1024, merge_gap_bytes: 0, ..ReadOptions::default() };
    let mut reported = (0, 0);
    block_on(read_table(&source, &options, &mut |done, total| reported = (done, total))).unwrap();
    let stats = eee::data::range::RangeSource::stats(&source);
    // The utm_footprint, pixel_bbox, unique_id and grid row/column chunks are never fetched.
    assert!(stats.bytes < total, "fetched {} of {total} bytes", stats.bytes);
    assert_eq!(reported.0, reported.1);
    assert!(reported.1 > 0);
}
