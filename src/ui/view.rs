//! Map geometry and colours: an equirectangular view that pans and zooms, and the score ramp.

/// The visible part of the map: centre in degrees and the scale in screen pixels per degree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapView {
    pub centre_lon: f64,
    pub centre_lat: f64,
    pub pixels_per_degree: f64,
    pub width: f64,
    pub height: f64,
}

pub const MAX_PIXELS_PER_DEGREE: f64 = 2000.0;

impl MapView {
    /// Returns a view of the whole world fitted into `width` × `height` pixels.
    pub fn world(width: f64, height: f64) -> Self {
        let pixels_per_degree = (width / 360.0).min(height / 180.0);
        MapView { centre_lon: 0.0, centre_lat: 0.0, pixels_per_degree, width, height }
    }

    fn min_scale(&self) -> f64 {
        (self.width / 360.0).min(self.height / 180.0)
    }

    /// Screen position of (lat, lon).
    pub fn to_screen(&self, lat: f64, lon: f64) -> (f64, f64) {
        let x = self.width / 2.0 + (lon - self.centre_lon) * self.pixels_per_degree;
        let y = self.height / 2.0 - (lat - self.centre_lat) * self.pixels_per_degree;
        (x, y)
    }

    /// (lat, lon) under a screen position, or `None` off the globe.
    pub fn to_geo(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let lon = self.centre_lon + (x - self.width / 2.0) / self.pixels_per_degree;
        let lat = self.centre_lat - (y - self.height / 2.0) / self.pixels_per_degree;
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
    }

    /// Moves the view by a drag of (dx, dy) pixels.
    pub fn pan(&mut self, dx: f64, dy: f64) {
        self.centre_lon -= dx / self.pixels_per_degree;
        self.centre_lat += dy / self.pixels_per_degree;
        self.clamp();
    }

    /// Zooms by `factor` keeping the point under (x, y) fixed.
    pub fn zoom_at(&mut self, x: f64, y: f64, factor: f64) {
        let before_lon = self.centre_lon + (x - self.width / 2.0) / self.pixels_per_degree;
        let before_lat = self.centre_lat - (y - self.height / 2.0) / self.pixels_per_degree;
        self.pixels_per_degree = (self.pixels_per_degree * factor).clamp(self.min_scale(), MAX_PIXELS_PER_DEGREE);
        self.centre_lon = before_lon - (x - self.width / 2.0) / self.pixels_per_degree;
        self.centre_lat = before_lat + (y - self.height / 2.0) / self.pixels_per_degree;
        self.clamp();
    }

    /// Keeps the centre on the globe.
    fn clamp(&mut self) {
        self.centre_lon = self.centre_lon.clamp(-180.0, 180.0);
        self.centre_lat = self.centre_lat.clamp(-90.0, 90.0);
    }
}

/// Viridis colour ramp (matplotlib), sampled at five stops and interpolated linearly.
const VIRIDIS: [[f64; 3]; 5] = [[68.0, 1.0, 84.0], [59.0, 82.0, 139.0], [33.0, 145.0, 140.0], [94.0, 201.0, 98.0], [253.0, 231.0, 37.0]];

/// RGB colour for `t` in [0, 1]; values outside are clamped.
pub fn viridis(t: f64) -> [u8; 3] {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let position = t * (VIRIDIS.len() - 1) as f64;
    let index = (position.floor() as usize).min(VIRIDIS.len() - 2);
    let fraction = position - index as f64;
    let (a, b) = (VIRIDIS[index], VIRIDIS[index + 1]);
    [0, 1, 2].map(|c| (a[c] + (b[c] - a[c]) * fraction).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_and_geo_are_inverse() {
        let mut view = MapView::world(1000.0, 500.0);
        view.zoom_at(700.0, 200.0, 8.0);
        view.pan(33.0, -12.0);
        let (x, y) = view.to_screen(-4.0, -63.0);
        let (lat, lon) = view.to_geo(x, y).unwrap();
        assert!((lat + 4.0).abs() < 1e-9, "latitude {lat}");
        assert!((lon + 63.0).abs() < 1e-9, "longitude {lon}");
    }

    #[test]
    fn zoom_keeps_point_under_cursor() {
        let mut view = MapView::world(1000.0, 500.0);
        let before = view.to_geo(640.0, 120.0).unwrap();
        view.zoom_at(640.0, 120.0, 3.0);
        let after = view.to_geo(640.0, 120.0).unwrap();
        assert!((before.0 - after.0).abs() < 1e-9, "latitude moved");
        assert!((before.1 - after.1).abs() < 1e-9, "longitude moved");
        view.zoom_at(0.0, 0.0, 1e-6);
        assert_eq!(view.pixels_per_degree, MapView::world(1000.0, 500.0).pixels_per_degree);
    }

    #[test]
    fn viridis_ends() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(f64::NAN), [68, 1, 84]);
    }
}
