//! Reading Major TOM embedding files (GeoParquet) through a [`RangeSource`].
//!
//! The reader fetches the footer first, decides which columns a query needs (the embedding, the
//! tile centre or its footprint, ids and time), and then fetches only those column chunks. The
//! fetched chunks form a sparse in-memory file that the upstream `parquet` Arrow reader decodes,
//! so the decoding itself is the reference implementation's and the same code runs natively and in
//! the browser.
//!
//! Embeddings are accepted in every layout real writers produce: `list<float16>`, `list<float32>`,
//! `list<float64>`, `large_list`, `fixed_size_list`, and nested `(1, D)` lists. Half floats may be
//! stored with the Parquet `FLOAT16` logical type.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float16Type, Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use bytes::{Buf, Bytes};
use half::f16;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ProjectionMask, parquet_to_arrow_schema};
use parquet::errors::ParquetError;
use parquet::file::metadata::{FooterTail, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};

use super::range::{RangeError, RangeSource};
use crate::search::{Embeddings, SearchError, Storage};

/// Errors from reading an embedding file. Every variant names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("{file} is not a Parquet file ({reason}): check that the URL points at a .parquet file and not at an HTML page or an error message")]
    NotParquet { file: String, reason: String },
    #[error("{file} has no column {column:?}; its columns are: {available}. Pick the dataset entry that matches this file")]
    MissingColumn { file: String, column: String, available: String },
    #[error("column {column:?} of {file} has type {found}, which is not an embedding layout this reader accepts (a list of float16/float32/float64, or a (1, D) nested list)")]
    UnsupportedType { file: String, column: String, found: String },
    #[error("row {row} of {file} has a {found}-dimensional embedding but {expected} dimensions were expected: the file mixes models or does not match the catalog entry")]
    DimensionMismatch { file: String, row: usize, expected: usize, found: usize },
    #[error("row {row} of {file} has no embedding (null): the file is incomplete")]
    NullEmbedding { file: String, row: usize },
    #[error("the embedding in row {row} of {file} is invalid: {reason}")]
    InvalidVector { file: String, row: usize, reason: String },
    #[error("{file} has no tile locations: it needs centre_lat and centre_lon columns or a point or polygon geometry column")]
    NoLocation { file: String },
    #[error("row {row} of {file} has an invalid location: {reason}")]
    InvalidLocation { file: String, row: usize, reason: String },
    #[error("decoding {file} failed: {message}")]
    Decode { file: String, message: String },
}

/// Loaded tiles: normalised embeddings plus the per-tile metadata the app shows.
#[derive(Debug, Clone)]
pub struct EmbeddingTable {
    pub embeddings: Embeddings,
    /// Tile centre latitude and longitude in degrees.
    pub lat: Vec<f32>,
    pub lon: Vec<f32>,
    /// Major TOM cell id, such as `337U_1155R`; empty when the file has no `grid_cell` column.
    pub grid_cell: Vec<String>,
    /// Sentinel-2 product name; empty when absent.
    pub product_id: Vec<String>,
    /// Acquisition time as stored (`YYYYMMDDTHHMMSS` in Major TOM files); empty when absent.
    pub timestamp: Vec<String>,
    /// Whether the file stored half-precision vectors.
    pub half_precision: bool,
}

impl EmbeddingTable {
    pub fn len(&self) -> usize {
        self.lat.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lat.is_empty()
    }

    /// Joins tables of the same dimension (the files of one dataset).
    pub fn concat(tables: Vec<EmbeddingTable>) -> Result<EmbeddingTable, SearchError> {
        let half_precision = tables.iter().all(|t| t.half_precision);
        let mut lat = Vec::new();
        let mut lon = Vec::new();
        let (mut grid_cell, mut product_id, mut timestamp) = (Vec::new(), Vec::new(), Vec::new());
        let mut parts = Vec::new();
        for table in tables {
            lat.extend(table.lat);
            lon.extend(table.lon);
            grid_cell.extend(table.grid_cell);
            product_id.extend(table.product_id);
            timestamp.extend(table.timestamp);
            parts.push(table.embeddings);
        }
        let embeddings = Embeddings::concat(parts)?;
        Ok(EmbeddingTable { embeddings, lat, lon, grid_cell, product_id, timestamp, half_precision })
    }
}

/// Options of [`read_table`]: the column to read and how to fetch it.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub embedding_column: String,
    /// Dimension the catalog promises; `None` accepts any.
    pub expected_dim: Option<usize>,
    /// Largest single range request; bigger column chunks are fetched in parts.
    pub max_request_bytes: u64,
    /// Column chunks closer than this are fetched in one request.
    pub merge_gap_bytes: u64,
    /// Bytes the first read of the file tail requests. Major TOM footers are a few KiB (about
    /// 11 KiB when geopandas writes a full PROJJSON CRS), so one request usually returns the
    /// whole footer, and small files arrive whole.
    pub footer_guess_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            embedding_column: "embedding".to_string(),
            expected_dim: None,
            max_request_bytes: 16 << 20,
            merge_gap_bytes: 64 << 10,
            footer_guess_bytes: 64 << 10,
        }
    }
}

/// A decoded footer with the file length and the tail bytes read to get it.
pub struct Footer {
    pub length: u64,
    pub metadata: Arc<ParquetMetaData>,
    /// Offset of `tail` in the file.
    pub tail_start: u64,
    pub tail: Bytes,
}

/// Reads and decodes the footer (file metadata).
pub async fn read_metadata<S: RangeSource>(source: &S, footer_guess_bytes: u64) -> Result<Footer, DataError> {
    let file = source.name().to_string();
    let not_parquet = |reason: String| DataError::NotParquet { file: file.clone(), reason };
    let length = source.len().await?;
    if length < 12 {
        return Err(not_parquet(format!("it has only {length} bytes")));
    }
    let tail_length = length.min(footer_guess_bytes.max(8));
    let tail = source.read(length - tail_length, length).await?;
    let mut last_eight = [0u8; 8];
    last_eight.copy_from_slice(&tail[tail.len() - 8..]);
    let footer = FooterTail::try_new(&last_eight).map_err(|_| not_parquet("it does not end with the magic bytes PAR1".to_string()))?;
    if footer.is_encrypted_footer() {
        return Err(not_parquet("its footer is encrypted, which this reader does not support".to_string()));
    }
    let metadata_length = footer.metadata_length() as u64;
    if metadata_length + 12 > length {
        return Err(not_parquet(format!("its footer claims {metadata_length} bytes of metadata but the file has {length} bytes")));
    }
    let metadata_bytes = if metadata_length + 8 <= tail_length {
        let end = tail.len() - 8;
        tail.slice(end - metadata_length as usize..end)
    } else {
        source.read(length - 8 - metadata_length, length - 8).await?
    };
    let metadata = ParquetMetaDataReader::decode_metadata(&metadata_bytes).map_err(|e| not_parquet(format!("its metadata is corrupt: {e}")))?;
    Ok(Footer { length, metadata: Arc::new(metadata), tail_start: length - tail_length, tail })
}

/// The columns of a file that a query reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    pub embedding: String,
    pub location: Location,
    /// Optional text columns present in the file: `grid_cell`, `product_id`, `timestamp`.
    pub text: Vec<String>,
}

/// Storage of tile positions in a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Centre,
    /// WKB geometry column; the tile position is the centre of its bounding box.
    Geometry(String),
}

const TEXT_COLUMNS: [&str; 3] = ["grid_cell", "product_id", "timestamp"];

/// Picks the columns to read from the file schema, or explains what is missing.
pub fn plan_columns(file: &str, schema: &Schema, options: &ReadOptions) -> Result<ColumnPlan, DataError> {
    let has = |name: &str| schema.field_with_name(name).is_ok();
    let field = schema.field_with_name(&options.embedding_column).map_err(|_| DataError::MissingColumn {
        file: file.to_string(),
        column: options.embedding_column.clone(),
        available: schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", "),
    })?;
    if !is_embedding_type(field.data_type(), 0) {
        return Err(DataError::UnsupportedType {
            file: file.to_string(),
            column: options.embedding_column.clone(),
            found: field.data_type().to_string(),
        });
    }
    let location = if has("centre_lat") && has("centre_lon") {
        Location::Centre
    } else {
        let geometry = geometry_column(schema).ok_or_else(|| DataError::NoLocation { file: file.to_string() })?;
        Location::Geometry(geometry)
    };
    let text = TEXT_COLUMNS.iter().filter(|c| has(c)).map(|c| c.to_string()).collect();
    Ok(ColumnPlan { embedding: options.embedding_column.clone(), location, text })
}

/// Returns the GeoParquet primary geometry column (from the `geo` metadata), or `geometry`.
fn geometry_column(schema: &Schema) -> Option<String> {
    let primary = schema
        .metadata()
        .get("geo")
        .and_then(|geo| serde_json::from_str::<serde_json::Value>(geo).ok())
        .and_then(|geo| geo.get("primary_column")?.as_str().map(str::to_string));
    let name = primary.unwrap_or_else(|| "geometry".to_string());
    let field = schema.field_with_name(&name).ok()?;
    matches!(field.data_type(), DataType::Binary | DataType::LargeBinary | DataType::BinaryView).then_some(name)
}

fn is_embedding_type(data_type: &DataType, depth: usize) -> bool {
    match data_type {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => depth > 0,
        DataType::List(child) | DataType::LargeList(child) | DataType::FixedSizeList(child, _) => {
            depth < 2 && is_embedding_type(child.data_type(), depth + 1)
        }
        _ => false,
    }
}

/// Byte ranges `(start, end)` of the column chunks of the given root columns, merged.
pub fn column_ranges(metadata: &ParquetMetaData, roots: &[usize], merge_gap: u64) -> Vec<(u64, u64)> {
    let schema = metadata.file_metadata().schema_descr();
    let mut ranges: Vec<(u64, u64)> = metadata
        .row_groups()
        .iter()
        .flat_map(|group| group.columns().iter().enumerate())
        .filter(|(leaf, _)| roots.contains(&schema.get_column_root_idx(*leaf)))
        .map(|(_, column)| {
            let (start, length) = column.byte_range();
            (start, start + length)
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + merge_gap => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// The fetched parts of a file. Reads outside them fail, which would mean the column plan
/// missed a chunk the decoder needs.
struct SparseFile {
    length: u64,
    /// `(start offset, bytes)`, sorted by start and not overlapping.
    pieces: Vec<(u64, Bytes)>,
}

impl SparseFile {
    fn piece(&self, start: u64, length: u64) -> Result<Bytes, ParquetError> {
        let index = self.pieces.partition_point(|(offset, _)| *offset <= start);
        let missing = || ParquetError::General(format!("bytes {start}..{} were not fetched", start + length));
        let (offset, bytes) = self.pieces.get(index.checked_sub(1).ok_or_else(missing)?).ok_or_else(missing)?;
        let relative = (start - offset) as usize;
        if relative + length as usize > bytes.len() {
            return Err(missing());
        }
        Ok(bytes.slice(relative..))
    }
}

impl Length for SparseFile {
    fn len(&self) -> u64 {
        self.length
    }
}

impl ChunkReader for SparseFile {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        Ok(self.piece(start, 0)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        Ok(self.piece(start, length as u64)?.slice(..length))
    }
}

/// Reads an embedding file: footer, then only the needed column chunks. `progress` receives
/// (bytes fetched, bytes to fetch) after each request.
pub async fn read_table<S: RangeSource>(source: &S, options: &ReadOptions, progress: &mut dyn FnMut(u64, u64)) -> Result<EmbeddingTable, DataError> {
    let file = source.name().to_string();
    let Footer { length, metadata, tail_start, tail } = read_metadata(source, options.footer_guess_bytes).await?;
    let file_metadata = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file_metadata.schema_descr(), file_metadata.key_value_metadata())
        .map_err(|e| DataError::NotParquet { file: file.clone(), reason: format!("its schema cannot be read: {e}") })?;
    let plan = plan_columns(&file, &schema, options)?;

    let mut needed = vec![plan.embedding.clone()];
    match &plan.location {
        Location::Centre => needed.extend(["centre_lat".to_string(), "centre_lon".to_string()]),
        Location::Geometry(column) => needed.push(column.clone()),
    }
    needed.extend(plan.text.iter().cloned());
    let root_fields = file_metadata.schema_descr().root_schema().get_fields();
    let roots: Vec<usize> = root_fields.iter().enumerate().filter(|(_, f)| needed.iter().any(|n| n == f.name())).map(|(i, _)| i).collect();

    let ranges = column_ranges(&metadata, &roots, options.merge_gap_bytes);
    if let Some(&(start, end)) = ranges.iter().find(|&&(_, end)| end > length) {
        return Err(DataError::NotParquet { file, reason: format!("its metadata points at bytes {start}..{end} beyond the end of the file ({length} bytes)") });
    }
    let pieces = fetch_ranges(source, &ranges, (tail_start, &tail), options.max_request_bytes, progress).await?;
    let sparse = SparseFile { length, pieces };

    let decode_error = |e: ParquetError| DataError::Decode { file: file.clone(), message: explain_decode_error(e.to_string()) };
    let reader_metadata = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new()).map_err(decode_error)?;
    let mask = ProjectionMask::roots(file_metadata.schema_descr(), roots);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(sparse, reader_metadata)
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()
        .map_err(decode_error)?;

    let mut columns = Columns::default();
    for batch in reader {
        let batch = batch.map_err(|e| DataError::Decode { file: file.clone(), message: explain_decode_error(e.to_string()) })?;
        columns.append(&file, &plan, &batch, options)?;
    }
    columns.finish(&file)
}

/// Adds what to do next to decoder messages about compression codecs.
fn explain_decode_error(message: String) -> String {
    if message.contains("ZSTD") || message.contains("zstd") || message.contains("codec") {
        format!("{message}. The file uses a compression codec this build cannot decode; rewrite it with snappy, or read it with the native `eee` tool")
    } else {
        message
    }
}

/// Fetches each range, in parts of at most `max_request` bytes, and joins the parts. Ranges
/// inside the already fetched tail are taken from it.
async fn fetch_ranges<S: RangeSource>(
    source: &S,
    ranges: &[(u64, u64)],
    (tail_start, tail): (u64, &Bytes),
    max_request: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<(u64, Bytes)>, RangeError> {
    let total: u64 = ranges.iter().map(|(s, e)| e - s).sum();
    let mut done = 0;
    progress(done, total);
    let mut pieces = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges {
        if start >= tail_start {
            pieces.push((start, tail.slice((start - tail_start) as usize..(end - tail_start) as usize)));
            done += end - start;
            progress(done, total);
            continue;
        }
        let mut joined = Vec::with_capacity((end - start) as usize);
        let mut offset = start;
        while offset < end {
            let part_end = end.min(offset + max_request.max(1));
            let part = source.read(offset, part_end).await?;
            joined.extend_from_slice(&part);
            done += part_end - offset;
            offset = part_end;
            progress(done, total);
        }
        pieces.push((start, Bytes::from(joined)));
    }
    Ok(pieces)
}

/// Column values accumulated over record batches.
#[derive(Default)]
struct Columns {
    dim: Option<usize>,
    f16: Vec<f16>,
    f32: Vec<f32>,
    half_precision: Option<bool>,
    lat: Vec<f32>,
    lon: Vec<f32>,
    text: [Vec<String>; 3],
    rows: usize,
}

impl Columns {
    fn append(&mut self, file: &str, plan: &ColumnPlan, batch: &RecordBatch, options: &ReadOptions) -> Result<(), DataError> {
        let embedding = batch.column_by_name(&plan.embedding).expect("projected column is present");
        self.append_embeddings(file, embedding.as_ref(), options)?;
        match &plan.location {
            Location::Centre => {
                let lat = float_column(file, batch, "centre_lat", self.rows)?;
                let lon = float_column(file, batch, "centre_lon", self.rows)?;
                self.lat.extend(lat);
                self.lon.extend(lon);
            }
            Location::Geometry(column) => {
                let array = batch.column_by_name(column).expect("projected column is present");
                for row in 0..array.len() {
                    let (lat, lon) = geometry_centre(array.as_ref(), row).map_err(|reason| DataError::InvalidLocation {
                        file: file.to_string(),
                        row: self.rows + row,
                        reason,
                    })?;
                    self.lat.push(lat as f32);
                    self.lon.push(lon as f32);
                }
            }
        }
        for (slot, name) in TEXT_COLUMNS.iter().enumerate() {
            match batch.column_by_name(name) {
                Some(array) => self.text[slot].extend(text_values(file, name, array)?),
                None => self.text[slot].extend(std::iter::repeat_n(String::new(), batch.num_rows())),
            }
        }
        self.validate_locations(file)?;
        self.rows += batch.num_rows();
        Ok(())
    }

    fn validate_locations(&self, file: &str) -> Result<(), DataError> {
        for row in self.rows..self.lat.len() {
            let (lat, lon) = (self.lat[row], self.lon[row]);
            if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
                return Err(DataError::InvalidLocation {
                    file: file.to_string(),
                    row,
                    reason: format!("latitude {lat}, longitude {lon} is not a point on Earth (latitude within ±90, longitude within ±180)"),
                });
            }
        }
        Ok(())
    }

    fn append_embeddings(&mut self, file: &str, array: &dyn Array, options: &ReadOptions) -> Result<(), DataError> {
        let (dim, values) = flatten(file, array, self.rows)?;
        let expected = self.dim.or(options.expected_dim);
        if let Some(expected) = expected.filter(|&e| e != dim) {
            return Err(DataError::DimensionMismatch { file: file.to_string(), row: self.rows, expected, found: dim });
        }
        self.dim = Some(dim);
        match values {
            FloatValues::F16(v) => {
                self.half_precision = Some(true);
                self.f16.extend(v);
            }
            FloatValues::F32(v) => {
                self.half_precision = Some(false);
                self.f32.extend(v);
            }
        }
        Ok(())
    }

    fn finish(self, file: &str) -> Result<EmbeddingTable, DataError> {
        // A file without rows has no dimension; any non-zero value gives an empty matrix.
        let dim = self.dim.unwrap_or(1);
        let half_precision = self.half_precision.unwrap_or(false);
        let storage = if half_precision { Storage::F16(self.f16) } else { Storage::F32(self.f32) };
        let embeddings = Embeddings::from_raw(dim, storage).map_err(|error| match error {
            SearchError::InvalidRow { row, reason } => DataError::InvalidVector { file: file.to_string(), row, reason },
            other => DataError::Decode { file: file.to_string(), message: other.to_string() },
        })?;
        let [grid_cell, product_id, timestamp] = self.text;
        Ok(EmbeddingTable { embeddings, lat: self.lat, lon: self.lon, grid_cell, product_id, timestamp, half_precision })
    }
}

enum FloatValues {
    F16(Vec<f16>),
    F32(Vec<f32>),
}

/// Offsets and child values of a list-like array.
fn list_parts(array: &dyn Array) -> Option<(Vec<usize>, ArrayRef)> {
    match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            Some((list.value_offsets().iter().map(|&o| o as usize).collect(), list.values().clone()))
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            Some((list.value_offsets().iter().map(|&o| o as usize).collect(), list.values().clone()))
        }
        DataType::FixedSizeList(_, size) => {
            let list = array.as_fixed_size_list();
            let size = *size as usize;
            let first = if list.is_empty() { 0 } else { list.value_offset_at(0) };
            Some(((0..=list.len()).map(|i| first + i * size).collect(), list.values().clone()))
        }
        _ => None,
    }
}

/// Flattens one batch of an embedding column into row-major values, checking that every row
/// has the same dimension. `first_row` numbers rows in messages.
fn flatten(file: &str, array: &dyn Array, first_row: usize) -> Result<(usize, FloatValues), DataError> {
    let unsupported = || DataError::UnsupportedType { file: file.to_string(), column: "embedding".to_string(), found: array.data_type().to_string() };
    let (offsets, child) = list_parts(array).ok_or_else(unsupported)?;
    let rows = array.len();
    if let Some(row) = (0..rows).find(|&i| array.is_null(i)) {
        return Err(DataError::NullEmbedding { file: file.to_string(), row: first_row + row });
    }
    let lengths: Vec<usize> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    let values = child.slice(offsets[0], offsets[rows] - offsets[0]);
    if matches!(child.data_type(), DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)) {
        // A nested (1, D) layout: every row contains exactly one inner vector.
        if let Some(row) = lengths.iter().position(|&l| l != 1) {
            return Err(DataError::InvalidVector {
                file: file.to_string(),
                row: first_row + row,
                reason: format!("it holds {} vectors; a nested embedding must have shape (1, D)", lengths[row]),
            });
        }
        return flatten(file, values.as_ref(), first_row);
    }
    let dim = lengths.first().copied().unwrap_or(1);
    if dim == 0 {
        return Err(DataError::InvalidVector { file: file.to_string(), row: first_row, reason: "it is empty".to_string() });
    }
    if let Some(row) = lengths.iter().position(|&l| l != dim) {
        return Err(DataError::DimensionMismatch { file: file.to_string(), row: first_row + row, expected: dim, found: lengths[row] });
    }
    if values.null_count() > 0 {
        let index = (0..values.len()).find(|&i| values.is_null(i)).unwrap_or(0);
        return Err(DataError::InvalidVector { file: file.to_string(), row: first_row + index / dim, reason: format!("value {} is null", index % dim) });
    }
    let floats = match values.data_type() {
        DataType::Float16 => FloatValues::F16(values.as_primitive::<Float16Type>().values().to_vec()),
        DataType::Float32 => FloatValues::F32(values.as_primitive::<Float32Type>().values().to_vec()),
        DataType::Float64 => FloatValues::F32(values.as_primitive::<Float64Type>().values().iter().map(|&v| v as f32).collect()),
        _ => return Err(unsupported()),
    };
    Ok((dim, floats))
}

/// Reads a numeric column as f32; nulls are rejected.
fn float_column(file: &str, batch: &RecordBatch, name: &str, first_row: usize) -> Result<Vec<f32>, DataError> {
    let array = batch.column_by_name(name).expect("projected column is present");
    let cast = arrow_cast::cast(array, &DataType::Float32).map_err(|_| DataError::InvalidLocation {
        file: file.to_string(),
        row: first_row,
        reason: format!("column {name} has type {}, not a number", array.data_type()),
    })?;
    if let Some(row) = (0..cast.len()).find(|&i| cast.is_null(i)) {
        return Err(DataError::InvalidLocation { file: file.to_string(), row: first_row + row, reason: format!("{name} is null") });
    }
    Ok(cast.as_primitive::<Float32Type>().values().to_vec())
}

/// Reads a column as strings (nulls become empty strings).
fn text_values(file: &str, name: &str, array: &ArrayRef) -> Result<Vec<String>, DataError> {
    let cast = arrow_cast::cast(array, &DataType::Utf8)
        .map_err(|e| DataError::Decode { file: file.to_string(), message: format!("column {name} cannot be read as text: {e}") })?;
    let strings = cast.as_string::<i32>();
    Ok((0..strings.len()).map(|i| if strings.is_null(i) { String::new() } else { strings.value(i).to_string() }).collect())
}

/// Centre of the bounding box of a WKB geometry, as (lat, lon). A box wider than 180° is taken
/// to cross the antimeridian.
fn geometry_centre(array: &dyn Array, row: usize) -> Result<(f64, f64), String> {
    if array.is_null(row) {
        return Err("geometry is null".to_string());
    }
    let bytes: &[u8] = match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().value(row),
        DataType::LargeBinary => array.as_binary::<i64>().value(row),
        DataType::BinaryView => array.as_binary_view().value(row),
        other => return Err(format!("geometry column has type {other}, not WKB binary")),
    };
    let geometry = wkb::reader::read_wkb(bytes).map_err(|e| format!("geometry is not valid WKB: {e}"))?;
    let mut lons = Vec::new();
    let mut lats = Vec::new();
    collect_coords(&geometry, &mut lons, &mut lats)?;
    if lons.is_empty() {
        return Err("geometry is empty".to_string());
    }
    let (lat_min, lat_max) = min_max(&lats);
    let (mut lon_min, mut lon_max) = min_max(&lons);
    if lon_max - lon_min > 180.0 {
        let shifted: Vec<f64> = lons.iter().map(|&l| if l < 0.0 { l + 360.0 } else { l }).collect();
        (lon_min, lon_max) = min_max(&shifted);
    }
    let mut lon = (lon_min + lon_max) / 2.0;
    if lon > 180.0 {
        lon -= 360.0;
    }
    Ok(((lat_min + lat_max) / 2.0, lon))
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

fn collect_coords(geometry: &impl geo_traits::GeometryTrait<T = f64>, lons: &mut Vec<f64>, lats: &mut Vec<f64>) -> Result<(), String> {
    use geo_traits::{CoordTrait, GeometryType, LineStringTrait, MultiPointTrait, MultiPolygonTrait, PointTrait, PolygonTrait};
    let mut push = |x: f64, y: f64| {
        lons.push(x);
        lats.push(y);
    };
    match geometry.as_type() {
        GeometryType::Point(point) => {
            if let Some(c) = point.coord() {
                push(c.x(), c.y());
            }
        }
        GeometryType::MultiPoint(points) => {
            for point in points.points() {
                if let Some(c) = point.coord() {
                    push(c.x(), c.y());
                }
            }
        }
        GeometryType::Polygon(polygon) => {
            if let Some(ring) = polygon.exterior() {
                ring.coords().for_each(|c| push(c.x(), c.y()));
            }
        }
        GeometryType::MultiPolygon(polygons) => {
            for polygon in polygons.polygons() {
                if let Some(ring) = polygon.exterior() {
                    ring.coords().for_each(|c| push(c.x(), c.y()));
                }
            }
        }
        _ => return Err("geometry is not a point or polygon".to_string()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_close_ranges() {
        let merged = {
            let mut ranges = vec![(100u64, 200u64), (0, 50), (210, 300), (10_000, 10_100)];
            ranges.sort_unstable();
            let mut out: Vec<(u64, u64)> = Vec::new();
            for (s, e) in ranges {
                match out.last_mut() {
                    Some(last) if s <= last.1 + 64 => last.1 = last.1.max(e),
                    _ => out.push((s, e)),
                }
            }
            out
        };
        assert_eq!(merged, vec![(0, 300), (10_000, 10_100)]);
    }

    #[test]
    fn sparse_file_rejects_unfetched_bytes() {
        let file = SparseFile { length: 1000, pieces: vec![(100, Bytes::from(vec![7u8; 50])), (500, Bytes::from(vec![9u8; 10]))] };
        assert_eq!(file.get_bytes(110, 10).unwrap(), Bytes::from(vec![7u8; 10]));
        assert_eq!(file.get_bytes(500, 10).unwrap(), Bytes::from(vec![9u8; 10]));
        assert!(file.get_bytes(140, 20).is_err());
        assert!(file.get_bytes(0, 10).is_err());
        assert!(file.get_bytes(505, 10).is_err());
    }
}
