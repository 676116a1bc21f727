//! The Major TOM grid: cell ids, rows, columns and bounds.
//!
//! Major TOM (Francis & Czerkawski, 2024, <https://github.com/ESA-PhiLab/Major-TOM>) covers the
//! Earth between 85°S and 85°N with points about 10 km apart. Rows are a latitude lattice with
//! spacing 180/2004 degrees that contains latitude 0; every row has its own longitude lattice
//! with `ceil(circumference / 10 km)` points that contains longitude 0. Each grid point is the
//! bottom-left corner of its cell. A cell id is `{row}_{col}`, for example `337U_1155R`: rows are
//! counted up (`U`) from the equator or down (`D`) below it, columns right (`R`) from Greenwich or
//! left (`L`) of it.
//!
//! The lattices are computed with the same floating-point operations as the reference
//! `Grid` class (`np.linspace`, then `np.mod`), so that points lying on grid lines fall into the
//! same cell as in the published data.

use std::f64::consts::PI;
use std::fmt;

/// Equatorial radius of the WGS84 ellipsoid in km, as used by Major TOM.
pub const EARTH_RADIUS_KM: f64 = 6378.137;
/// Grid spacing of Major TOM Core in km.
pub const SPACING_KM: f64 = 10.0;
/// Rows exist only for latitudes within ±85°.
pub const MAX_ABS_LATITUDE: f64 = 85.0;

/// Errors from grid look-ups. Each message names the rejected value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    #[error("latitude {0} is outside the Major TOM grid: use a value between -85 and 85 degrees")]
    LatitudeOutOfRange(f64),
    #[error("longitude {0} is invalid: use a value between -180 and 180 degrees")]
    LongitudeOutOfRange(f64),
    #[error(
        "cell id {0:?} is malformed: expected ROW_COL such as 337U_1155R (row: number + U/D, column: number + R/L)"
    )]
    MalformedCellId(String),
    #[error("cell id {id:?} does not exist: {reason}")]
    NoSuchCell { id: String, reason: String },
}

/// A grid cell, identified by its signed row and column numbers.
///
/// `row` is positive for `U` rows and negative for `D` rows; `col` is positive for `R` columns
/// and negative for `L` columns. These are the `grid_row_u` and `grid_col_r` columns of Major
/// TOM files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cell {
    pub row: i32,
    pub col: i32,
}

/// Latitude/longitude bounds of a cell in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub south: f64,
    pub north: f64,
    pub west: f64,
    pub east: f64,
}

impl Bounds {
    /// Returns the centre (lat, lon) of the bounds.
    pub fn centre(&self) -> (f64, f64) {
        ((self.south + self.north) / 2.0, (self.west + self.east) / 2.0)
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (row_number, row_side) = if self.row >= 0 { (self.row, 'U') } else { (-self.row, 'D') };
        let (col_number, col_side) = if self.col >= 0 { (self.col, 'R') } else { (-self.col, 'L') };
        write!(f, "{row_number}{row_side}_{col_number}{col_side}")
    }
}

impl std::str::FromStr for Cell {
    type Err = GridError;

    /// Parses a cell id such as `337U_1155R`. Only the syntax is checked here; use
    /// [`Grid::bounds`] to check that the cell exists.
    fn from_str(id: &str) -> Result<Self, GridError> {
        let malformed = || GridError::MalformedCellId(id.to_string());
        let (row_part, col_part) = id.trim().split_once('_').ok_or_else(malformed)?;
        let row = parse_signed(row_part, 'U', 'D').ok_or_else(malformed)?;
        let col = parse_signed(col_part, 'R', 'L').ok_or_else(malformed)?;
        Ok(Cell { row, col })
    }
}

/// Parses `12U` as 12 and `12D` as -12; zero only exists on the positive side (`0U`, `0R`).
fn parse_signed(part: &str, positive: char, negative: char) -> Option<i32> {
    let side = part.chars().last()?;
    let digits = &part[..part.len() - side.len_utf8()];
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: i32 = digits.parse().ok()?;
    if side == positive {
        Some(number)
    } else if side == negative && number > 0 {
        Some(-number)
    } else {
        None
    }
}

/// Evaluates `np.mod(np.linspace(-half, half, count + 1)[:-1], 2 * half) - half` at index `i`,
/// with the same floating-point operations.
fn lattice_value(i: usize, count: usize, half: f64) -> f64 {
    // numpy's linspace: step = (stop - start) / (num - 1), value = i * step + start.
    let step = (2.0 * half) / count as f64;
    let y = i as f64 * step + (-half);
    // numpy's floored modulo: fmod, then add the divisor when the signs differ.
    let wrapped = if y < 0.0 { y + 2.0 * half } else { y };
    wrapped - half
}

/// Signed index (0 at the value 0) of the lattice point produced at linspace position `i`.
fn signed_lattice_index(i: usize, count: usize, half: f64) -> i64 {
    let step = (2.0 * half) / count as f64;
    let y = i as f64 * step + (-half);
    if y < 0.0 { i as i64 } else { i as i64 - count as i64 }
}

/// One grid row: its latitude and its longitude lattice in ascending order.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: i32,
    pub latitude: f64,
    /// Column longitudes in ascending order.
    pub longitudes: Vec<f64>,
    /// Signed column number of `longitudes[0]`.
    pub first_col: i32,
}

impl Row {
    /// Number of columns in this row.
    pub fn len(&self) -> usize {
        self.longitudes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.longitudes.is_empty()
    }

    /// Longitude of the signed column `col`, if the row has it.
    pub fn longitude(&self, col: i32) -> Option<f64> {
        let index = usize::try_from(col - self.first_col).ok()?;
        self.longitudes.get(index).copied()
    }

    /// Longitude spacing of this row in degrees.
    pub fn spacing(&self) -> f64 {
        360.0 / self.longitudes.len() as f64
    }

    /// Signed number of the last column whose longitude is strictly less than `lon`. A point
    /// west of the first column belongs to the last column, which wraps across ±180°.
    fn column_of(&self, lon: f64) -> i32 {
        let position = self.longitudes.partition_point(|&x| x < lon);
        let index = if position == 0 { self.longitudes.len() - 1 } else { position - 1 };
        self.first_col + index as i32
    }
}

/// The Major TOM grid at a given spacing. [`Grid::core`] is the 10 km grid of Major TOM Core.
#[derive(Debug, Clone)]
pub struct Grid {
    spacing_km: f64,
    /// Latitudes of the rows within ±85°, ascending.
    row_latitudes: Vec<f64>,
    /// Signed number of `row_latitudes[0]`.
    first_row: i32,
    /// Number of rows on the whole pole-to-pole lattice.
    lattice_rows: usize,
}

impl Grid {
    /// Builds the 10 km grid of Major TOM Core.
    pub fn core() -> Self {
        Self::new(SPACING_KM)
    }

    /// Builds the grid for a point spacing in km.
    pub fn new(spacing_km: f64) -> Self {
        let arc_pole_to_pole = PI * EARTH_RADIUS_KM;
        let lattice_rows = (arc_pole_to_pole / spacing_km).ceil() as usize;
        let mut rows: Vec<(i64, f64)> = (0..lattice_rows)
            .map(|i| (signed_lattice_index(i, lattice_rows, 90.0), lattice_value(i, lattice_rows, 90.0)))
            .filter(|&(_, lat)| (-MAX_ABS_LATITUDE..=MAX_ABS_LATITUDE).contains(&lat))
            .collect();
        rows.sort_by(|a, b| a.1.total_cmp(&b.1));
        let first_row = rows.first().map_or(0, |r| r.0 as i32);
        Grid {
            spacing_km,
            row_latitudes: rows.into_iter().map(|r| r.1).collect(),
            first_row,
            lattice_rows,
        }
    }

    /// Signed numbers of the southernmost and northernmost rows (−946 and 946 for Core).
    pub fn row_range(&self) -> (i32, i32) {
        (self.first_row, self.first_row + self.row_latitudes.len() as i32 - 1)
    }

    /// Latitude spacing of the rows in degrees.
    pub fn row_spacing(&self) -> f64 {
        180.0 / self.lattice_rows as f64
    }

    /// Latitude of the signed row `row`, if the grid has it.
    pub fn row_latitude(&self, row: i32) -> Option<f64> {
        let index = usize::try_from(row - self.first_row).ok()?;
        self.row_latitudes.get(index).copied()
    }

    /// Returns the row with signed number `row`, with its longitude lattice.
    pub fn row(&self, row: i32) -> Option<Row> {
        let latitude = self.row_latitude(row)?;
        let radius_at_latitude = EARTH_RADIUS_KM * (latitude * PI / 180.0).cos();
        let circumference = 2.0 * PI * radius_at_latitude;
        let count = (circumference / self.spacing_km).ceil() as usize;
        let mut columns: Vec<(i64, f64)> = (0..count)
            .map(|i| (signed_lattice_index(i, count, 180.0), lattice_value(i, count, 180.0)))
            .collect();
        columns.sort_by(|a, b| a.1.total_cmp(&b.1));
        Some(Row {
            number: row,
            latitude,
            first_col: columns[0].0 as i32,
            longitudes: columns.into_iter().map(|c| c.1).collect(),
        })
    }

    /// Iterates over all rows from south to north.
    pub fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        let (first, last) = self.row_range();
        (first..=last).filter_map(|r| self.row(r))
    }

    /// Returns the cell that contains the point (`lat`, `lon`) in degrees.
    ///
    /// The row is the last one whose latitude is strictly less than `lat`. The column is the last
    /// one of that row whose longitude is strictly less than `lon`. So a point on a grid line
    /// belongs to the cell below or left of it: (0, 0) is in `1D_1L`.
    pub fn cell_at(&self, lat: f64, lon: f64) -> Result<Cell, GridError> {
        if !lat.is_finite() || lat.abs() > MAX_ABS_LATITUDE {
            return Err(GridError::LatitudeOutOfRange(lat));
        }
        if !lon.is_finite() || lon.abs() > 180.0 {
            return Err(GridError::LongitudeOutOfRange(lon));
        }
        let position = self.row_latitudes.partition_point(|&x| x < lat);
        if position == 0 {
            // South of the southernmost row (between 85°S and 84.97°S): no cell covers it.
            return Err(GridError::LatitudeOutOfRange(lat));
        }
        let row = self.row(self.first_row + position as i32 - 1).expect("row index is in range");
        Ok(Cell { row: row.number, col: row.column_of(lon) })
    }

    /// Returns the bounds of `cell`, or an error if the grid has no such cell.
    ///
    /// The north edge is the next row's latitude; the east edge is the next column's longitude
    /// (180° for the last column).
    /// These are grid-lattice bounds: the footprints stored in Major TOM files are the
    /// authority for drawing the imaged area.
    pub fn bounds(&self, cell: Cell) -> Result<Bounds, GridError> {
        let no_such_cell = |reason: String| GridError::NoSuchCell { id: cell.to_string(), reason };
        let (first, last) = self.row_range();
        let row = self.row(cell.row).ok_or_else(|| {
            no_such_cell(format!("rows run from {} to {}", Cell { row: first, col: 0 }.row_name(), Cell { row: last, col: 0 }.row_name()))
        })?;
        let west = row.longitude(cell.col).ok_or_else(|| {
            let first_col = Cell { row: 0, col: row.first_col }.col_name();
            let last_col = Cell { row: 0, col: row.first_col + row.len() as i32 - 1 }.col_name();
            no_such_cell(format!("row {} has columns {first_col} to {last_col}", cell.row_name()))
        })?;
        // The edges are the neighbouring lattice values, so that adjacent cells share them exactly.
        let north = self.row_latitude(cell.row + 1).unwrap_or(row.latitude + self.row_spacing());
        let east = row.longitude(cell.col + 1).unwrap_or(180.0);
        Ok(Bounds { south: row.latitude, north, west, east })
    }

    /// Parses a cell id and returns its bounds.
    pub fn bounds_of_id(&self, id: &str) -> Result<(Cell, Bounds), GridError> {
        let cell: Cell = id.parse()?;
        Ok((cell, self.bounds(cell)?))
    }
}

impl Cell {
    /// Row part of the id, such as `337U`.
    pub fn row_name(&self) -> String {
        let id = self.to_string();
        id.split('_').next().unwrap_or_default().to_string()
    }

    /// Column part of the id, such as `1155R`.
    pub fn col_name(&self) -> String {
        let id = self.to_string();
        id.split('_').nth(1).unwrap_or_default().to_string()
    }
}

/// Mean Earth radius in km for great-circle distances.
pub const MEAN_EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two points given in degrees (haversine formula).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * MEAN_EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// UTM zone number (1–60) of a point, with the Norway and Svalbard exceptions.
pub fn utm_zone(lat: f64, lon: f64) -> u32 {
    if (56.0..64.0).contains(&lat) && (3.0..12.0).contains(&lon) {
        return 32;
    }
    if (72.0..84.0).contains(&lat) && lon >= 0.0 {
        if lon < 9.0 {
            return 31;
        } else if lon < 21.0 {
            return 33;
        } else if lon < 33.0 {
            return 35;
        } else if lon < 42.0 {
            return 37;
        }
    }
    let zone = ((lon + 180.0) / 6.0).floor() as i64 + 1;
    zone.clamp(1, 60) as u32
}

/// EPSG code of the WGS84 / UTM projection for a point: 326zz north, 327zz south.
pub fn utm_epsg(lat: f64, lon: f64) -> u32 {
    let base = if lat >= 0.0 { 32600 } else { 32700 };
    base + utm_zone(lat, lon)
}

#[cfg(test)]
mod tests;
