//! Polygon rings from TopoJSON (Natural Earth via the npm package `world-atlas`), for the
//! basemap and the demo's land mask.

use geojson::Value;

/// A closed ring of (lon, lat) points in degrees.
pub type Ring = Vec<[f64; 2]>;

/// Reads every polygon ring (outer rings and holes) of the TopoJSON object `object`, made planar
/// with [`planar_ring`].
pub fn rings_from_topojson(text: &str, object: &str) -> Result<Vec<Ring>, String> {
    let topology = text
        .parse::<topojson::TopoJson>()
        .map_err(|e| format!("not valid TopoJSON: {e}"))?
        .try_unwrap_topology()
        .ok_or("the TopoJSON document is not a Topology")?;
    if !topology.list_names().iter().any(|name| name == object) {
        return Err(format!("the topology has no object {object:?}; it has {:?}", topology.list_names()));
    }
    let collection = topojson::to_geojson(&topology, object).map_err(|e| format!("converting {object:?} to GeoJSON failed: {e}"))?;
    let mut rings = Vec::new();
    for feature in collection.features {
        if let Some(geometry) = feature.geometry {
            collect_rings(&geometry.value, &mut rings);
        }
    }
    Ok(rings.into_iter().filter_map(planar_ring).collect())
}

/// Rewrites a spherical ring for a plain longitude/latitude plane.
///
/// `world-atlas` rings cross the antimeridian with a jump of about 360° in longitude, which a
/// planar renderer would draw as a line across the whole map. Longitudes after a jump are shifted
/// by ±360° so the ring stays continuous (it may then extend beyond ±180°). A ring that still does
/// not close encircles a pole (Antarctica): it is closed along that pole. A degenerate ring of
/// that kind, at one latitude (the polar cap Natural Earth adds at −89.999°), is dropped.
pub fn planar_ring(ring: Ring) -> Option<Ring> {
    let first = *ring.first()?;
    let mut offset = 0.0;
    let mut previous = first[0];
    let mut out: Ring = Vec::with_capacity(ring.len() + 3);
    for [lon, lat] in ring {
        let mut unwrapped = lon + offset;
        if unwrapped - previous > 180.0 {
            offset -= 360.0;
            unwrapped -= 360.0;
        } else if unwrapped - previous < -180.0 {
            offset += 360.0;
            unwrapped += 360.0;
        }
        out.push([unwrapped, lat]);
        previous = unwrapped;
    }
    if offset != 0.0 {
        let (low, high) = out.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
        if high - low < 0.01 {
            return None;
        }
        let pole = if low + high < 0.0 { -90.0 } else { 90.0 };
        let last = *out.last()?;
        out.extend([[last[0], pole], [first[0], pole], first]);
    }
    Some(out)
}

/// Longitude shifts at which a planar ring also has to be drawn or tested, because it extends
/// beyond ±180°.
pub fn ring_copies(ring: &Ring) -> impl Iterator<Item = f64> {
    let (west, east) = ring.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
    [0.0, -360.0, 360.0].into_iter().filter(move |&shift| shift == 0.0 || (shift < 0.0 && east > 180.0) || (shift > 0.0 && west < -180.0))
}

fn collect_rings(value: &Value, rings: &mut Vec<Ring>) {
    let convert = |ring: &Vec<Vec<f64>>| ring.iter().filter(|p| p.len() >= 2).map(|p| [p[0], p[1]]).collect::<Ring>();
    match value {
        Value::Polygon(polygon) => rings.extend(polygon.iter().map(convert)),
        Value::MultiPolygon(polygons) => rings.extend(polygons.iter().flatten().map(convert)),
        Value::GeometryCollection(geometries) => geometries.iter().for_each(|g| collect_rings(&g.value, rings)),
        _ => {}
    }
}

/// Point-in-land tests by even-odd crossings along one latitude: the crossings of every ring
/// edge with the line are sorted once, and each longitude is then located by binary search.
pub struct LatitudeCrossings {
    longitudes: Vec<f64>,
}

impl LatitudeCrossings {
    pub fn new(rings: &[Ring], lat: f64) -> Self {
        let mut longitudes = Vec::new();
        for ring in rings {
            for edge in ring.windows(2) {
                let ([x0, y0], [x1, y1]) = (edge[0], edge[1]);
                // Half-open rule so a vertex on the line is counted once.
                if (y0 > lat) != (y1 > lat) {
                    longitudes.push(x0 + (lat - y0) / (y1 - y0) * (x1 - x0));
                }
            }
        }
        longitudes.sort_by(f64::total_cmp);
        LatitudeCrossings { longitudes }
    }

    /// Returns whether `lon` is inside the rings (an odd number of crossings west of it). Rings that
    /// extend beyond ±180° are found at `lon ± 360` too.
    pub fn contains(&self, lon: f64) -> bool {
        let inside = |x: f64| self.longitudes.partition_point(|&c| c < x) % 2 == 1;
        inside(lon) || inside(lon + 360.0) || inside(lon - 360.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_with_hole() {
        let outer = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]];
        let hole = vec![[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]];
        let line = LatitudeCrossings::new(&[outer.clone(), hole], 5.0);
        assert!(line.contains(1.0));
        assert!(!line.contains(5.0));
        assert!(line.contains(9.0));
        assert!(!line.contains(11.0));
        assert!(!LatitudeCrossings::new(&[outer], 12.0).contains(5.0));
    }

    #[test]
    fn antimeridian_ring_is_unwrapped() {
        // An island from 179°E to 179°W, stored with the jump across ±180°.
        let ring = vec![[179.0, -1.0], [-179.0, -1.0], [-179.0, 1.0], [179.0, 1.0], [179.0, -1.0]];
        let planar = planar_ring(ring).unwrap();
        assert_eq!(planar[1], [181.0, -1.0]);
        assert_eq!(planar.first(), planar.last());
        let line = LatitudeCrossings::new(std::slice::from_ref(&planar), 0.0);
        assert!(line.contains(179.5));
        assert!(line.contains(-179.5));
        assert!(!line.contains(0.0));
        assert!(!line.contains(178.0));
        assert_eq!(ring_copies(&planar).collect::<Vec<_>>(), vec![0.0, -360.0]);
    }

    #[test]
    fn polar_ring_is_closed_along_pole() {
        // A coast around the South Pole at 70°S, crossing the antimeridian once.
        let ring: Ring = (0..=36).map(|i| [-180.0 + 10.0 * f64::from(i % 36), -70.0 - f64::from(i % 2)]).collect();
        let planar = planar_ring(ring).unwrap();
        assert_eq!(planar[planar.len() - 2], [-180.0, -90.0]);
        let south = LatitudeCrossings::new(std::slice::from_ref(&planar), -80.0);
        assert!(south.contains(0.0));
        assert!(south.contains(179.0));
        assert!(south.contains(-179.0));
        assert!(!LatitudeCrossings::new(&[planar], -60.0).contains(0.0));
        let cap: Ring = (0..=36).map(|i| [-180.0 + 10.0 * f64::from(i % 36), -89.999]).collect();
        assert!(planar_ring(cap).is_none());
    }

    #[test]
    fn rejects_non_topojson() {
        assert!(rings_from_topojson("{\"type\": \"FeatureCollection\"}", "land").is_err());
        assert!(rings_from_topojson("not json", "land").is_err());
    }
}
