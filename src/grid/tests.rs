use super::*;

/// Reference points and the cells that contain them; the last two appear in published Major TOM
/// files.
const REFERENCE_CELLS: &[(f64, f64, &str)] = &[
    (0.0, 0.0, "1D_1L"),
    (0.05, 0.05, "0U_0R"),
    (30.32, 120.15, "337U_1155R"),
    (40.7128, -74.0060, "453U_625L"),
    (64.4, 16.8, "716U_81R"),
    (-82.73, -178.49, "922D_249L"),
    (27.080163, 119.446303, "301U_1184R"),
];

#[test]
fn reference_points_map_to_published_cells() {
    let grid = Grid::core();
    for &(lat, lon, expected) in REFERENCE_CELLS {
        let cell = grid.cell_at(lat, lon).unwrap();
        assert_eq!(cell.to_string(), expected, "point ({lat}, {lon})");
    }
}

#[test]
fn reference_cells_contain_their_points() {
    let grid = Grid::core();
    for &(lat, lon, id) in REFERENCE_CELLS {
        let (_, bounds) = grid.bounds_of_id(id).unwrap();
        assert!(bounds.south <= lat, "{id}: latitude {lat} south of {bounds:?}");
        assert!(lat <= bounds.north, "{id}: latitude {lat} north of {bounds:?}");
        assert!(bounds.west <= lon, "{id}: longitude {lon} west of {bounds:?}");
        assert!(lon <= bounds.east, "{id}: longitude {lon} east of {bounds:?}");
    }
}

#[test]
fn row_range_is_946d_to_946u() {
    let grid = Grid::core();
    assert_eq!(grid.row_range(), (-946, 946));
    assert_eq!(grid.row_latitude(0), Some(0.0));
    let spacing = 180.0 / 2004.0;
    assert!((grid.row_spacing() - spacing).abs() < 1e-15);
    assert!((grid.row_latitude(946).unwrap() - 946.0 * spacing).abs() < 1e-9);
    assert!(grid.row_latitude(947).is_none());
}

#[test]
fn equator_row_has_4008_columns() {
    let grid = Grid::core();
    let row = grid.row(0).unwrap();
    assert_eq!(row.len(), 4008);
    assert_eq!(row.longitude(0), Some(0.0));
    assert_eq!(row.first_col, -2004);
}

#[test]
fn column_counts_follow_circumference() {
    let grid = Grid::core();
    for row_number in [-946, -500, -1, 0, 1, 337, 946] {
        let row = grid.row(row_number).unwrap();
        let circumference = 2.0 * std::f64::consts::PI * 6378.137 * row.latitude.to_radians().cos();
        assert_eq!(row.len(), (circumference / 10.0).ceil() as usize, "row {row_number}");
        assert!(row.longitudes.windows(2).all(|w| w[0] < w[1]), "row {row_number} not ascending");
    }
}

#[test]
fn cell_id_round_trips() {
    for id in ["0U_0R", "1D_1L", "946U_12R", "946D_249L", "337U_1155R"] {
        let cell: Cell = id.parse().unwrap();
        assert_eq!(cell.to_string(), id);
    }
    let cell: Cell = "922D_249L".parse().unwrap();
    assert_eq!((cell.row, cell.col), (-922, -249));
}

#[test]
fn malformed_cell_ids_are_rejected() {
    for id in ["", "_", "337U", "337U_", "337X_12R", "0D_1R", "1U_0L", "U_1R", "-3U_1R", "1.5U_1R", "1U_1R_2R", "１U_1R"] {
        assert!(matches!(id.parse::<Cell>(), Err(GridError::MalformedCellId(_))), "{id:?} parsed");
    }
}

#[test]
fn cells_outside_grid_are_rejected() {
    let grid = Grid::core();
    let error = grid.bounds_of_id("947U_1R").unwrap_err();
    assert!(matches!(error, GridError::NoSuchCell { .. }));
    assert!(error.to_string().contains("946D to 946U"), "{error}");
    let error = grid.bounds_of_id("946U_400R").unwrap_err();
    assert!(error.to_string().contains("row 946U has columns"), "{error}");
}

#[test]
fn invalid_coordinates_are_rejected() {
    let grid = Grid::core();
    for lat in [85.01, -85.01, 90.0, f64::NAN, f64::INFINITY, -84.99] {
        assert!(matches!(grid.cell_at(lat, 0.0), Err(GridError::LatitudeOutOfRange(_))), "latitude {lat}");
    }
    for lon in [180.01, -180.5, f64::NAN] {
        assert!(matches!(grid.cell_at(0.0, lon), Err(GridError::LongitudeOutOfRange(_))), "longitude {lon}");
    }
    assert!(grid.cell_at(85.0, 0.0).is_ok());
}

#[test]
fn west_of_first_column_wraps_to_last() {
    let grid = Grid::core();
    let cell = grid.cell_at(0.05, -180.0).unwrap();
    let row = grid.row(0).unwrap();
    assert_eq!(cell.col, row.first_col + row.len() as i32 - 1);
}

#[test]
fn random_points_lie_in_their_cells() {
    let grid = Grid::core();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..2000 {
        let lat = -84.9 + 169.8 * next();
        let lon = -179.9 + 359.8 * next();
        let cell = grid.cell_at(lat, lon).unwrap();
        let bounds = grid.bounds(cell).unwrap();
        assert!(bounds.south < lat, "({lat}, {lon}) south of {cell} {bounds:?}");
        assert!(lat <= bounds.north + 1e-9, "({lat}, {lon}) north of {cell} {bounds:?}");
        assert!(bounds.west < lon, "({lat}, {lon}) west of {cell} {bounds:?}");
        assert!(lon <= bounds.east + 1e-9, "({lat}, {lon}) east of {cell} {bounds:?}");
    }
}

#[test]
fn great_circle_distances() {
    assert!(great_circle_km(0.0, 0.0, 0.0, 0.0).abs() < 1e-12);
    // A quarter of a meridian.
    let quarter = great_circle_km(0.0, 0.0, 90.0, 0.0);
    assert!((quarter - MEAN_EARTH_RADIUS_KM * std::f64::consts::FRAC_PI_2).abs() < 1e-6);
    // Across the antimeridian: 179.9 E to 179.9 W is 0.2 degrees of longitude.
    let across = great_circle_km(0.0, 179.9, 0.0, -179.9);
    assert!((across - MEAN_EARTH_RADIUS_KM * 0.2f64.to_radians()).abs() < 1e-6);
}

#[test]
fn utm_zones() {
    assert_eq!(utm_epsg(40.7128, -74.0060), 32618);
    assert_eq!(utm_epsg(-82.73, -178.49), 32701);
    assert_eq!(utm_zone(60.0, 5.0), 32);
    assert_eq!(utm_zone(78.0, 15.0), 33);
}
