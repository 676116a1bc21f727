//! Polygon rings from TopoJSON (Natural Earth via the npm package `world-atlas`), for the
//! basemap and the demo's land mask.

use geojson::Value;

/// A closed ring of (lon, lat) points in degrees.
pub type Ring = Vec<[f64; 2]>;

/// Reads every polygon ring (outer rings and holes) of the TopoJSON object `object`.
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
    Ok(rings)
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

    /// Whether `lon` is inside the rings (an odd number of crossings west of it).
    pub fn contains(&self, lon: f64) -> bool {
        self.longitudes.partition_point(|&x| x < lon) % 2 == 1
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
    fn rejects_non_topojson() {
        assert!(rings_from_topojson("{\"type\": \"FeatureCollection\"}", "land").is_err());
        assert!(rings_from_topojson("not json", "land").is_err());
    }
}
