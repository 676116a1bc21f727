//! The query as URL parameters, so that a link reproduces a search:
//! `?dataset=demo&lat=-4&lon=-63&permille=7&k=10`, or `&tile=337U_1155R` or `&text=…` instead
//! of a location. A mixed query adds a weight to each part: `&text=…&text_weight=0.6&lat=…&lon=…
//! &location_weight=0.4`. Images are not put in the link.

use crate::search::{DEFAULT_PERMILLE, DEFAULT_TOP_K, MAX_PART_WEIGHT, MAX_TOP_K, PERMILLE_RANGE};

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Location { lat: f64, lon: f64 },
    Tile(String),
    Text(String),
    /// An image the user gave, named by its file name; the pixels stay in memory.
    Image(String),
    /// A weighted mix of a text, an image and a location.
    Mixed(Mix),
}

/// The parts of a mixed query with their weights (0 to [`MAX_PART_WEIGHT`]); a part that is
/// `None` is not in the mix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mix {
    pub text: Option<(String, f32)>,
    /// The image of the last image query, by file name.
    pub image: Option<(String, f32)>,
    pub location: Option<((f64, f64), f32)>,
}

impl Mix {
    /// Describes the mix in words, such as `text "glacier" × 0.6 + location (46.5, 8) × 0.4`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((text, weight)) = &self.text {
            parts.push(format!("text {text:?} × {weight}"));
        }
        if let Some((name, weight)) = &self.image {
            parts.push(format!("image {name} × {weight}"));
        }
        if let Some(((lat, lon), weight)) = &self.location {
            parts.push(format!("location ({lat}, {lon}) × {weight}"));
        }
        parts.join(" + ")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Catalog URL; `None` means the catalog shipped with the app.
    pub catalog: Option<String>,
    pub dataset: Option<String>,
    pub query: Option<Query>,
    pub permille: u32,
    pub k: usize,
    pub encoder: EncoderChoice,
}

/// Device choice for the text and image encoders, from `encoder=` in the link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EncoderChoice {
    /// WebGPU when the browser has it, the CPU otherwise.
    #[default]
    Auto,
    /// Always the CPU, for a GPU driver that misbehaves or to compare results.
    Cpu,
}

impl Default for Params {
    fn default() -> Self {
        Params { catalog: None, dataset: None, query: None, permille: DEFAULT_PERMILLE, k: DEFAULT_TOP_K, encoder: EncoderChoice::Auto }
    }
}

/// Parses a query string (with or without the leading `?`). Invalid values are dropped or
/// clamped, and each one yields a message for the user.
pub fn parse(search: &str) -> (Params, Vec<String>) {
    let mut params = Params::default();
    let mut messages = Vec::new();
    let (mut lat, mut lon, mut tile, mut text) = (None, None, None, None);
    let (mut text_weight, mut location_weight) = (None, None);
    // A coordinate that is present but not a number has been reported already.
    let mut unreadable = false;
    for (key, value) in form_urlencoded::parse(search.trim_start_matches('?').as_bytes()) {
        let value = value.trim().to_string();
        match key.as_ref() {
            "catalog" if !value.is_empty() => params.catalog = Some(value),
            "dataset" if !value.is_empty() => params.dataset = Some(value),
            "lat" => {
                lat = parse_number(&key, &value, &mut messages);
                unreadable |= lat.is_none();
            }
            "lon" => {
                lon = parse_number(&key, &value, &mut messages);
                unreadable |= lon.is_none();
            }
            "tile" if !value.is_empty() => tile = Some(value),
            "text" if !value.is_empty() => text = Some(value),
            "text_weight" => text_weight = parse_weight(&key, &value, &mut messages),
            "location_weight" => location_weight = parse_weight(&key, &value, &mut messages),
            "encoder" => match value.as_str() {
                "cpu" => params.encoder = EncoderChoice::Cpu,
                "auto" | "" => params.encoder = EncoderChoice::Auto,
                _ => messages.push(format!("encoder={value:?} in the link is not one of auto and cpu; using auto")),
            },
            "permille" => {
                if let Some(number) = parse_number(&key, &value, &mut messages) {
                    let clamped = number.round().clamp(f64::from(PERMILLE_RANGE.0), f64::from(PERMILLE_RANGE.1)) as u32;
                    if f64::from(clamped) != number {
                        messages.push(format!("permille={value} in the link is outside {}–{}; using {clamped}", PERMILLE_RANGE.0, PERMILLE_RANGE.1));
                    }
                    params.permille = clamped;
                }
            }
            "k" => {
                if let Some(number) = parse_number(&key, &value, &mut messages) {
                    let clamped = number.round().clamp(1.0, MAX_TOP_K as f64) as usize;
                    if clamped as f64 != number {
                        messages.push(format!("k={value} in the link is not a whole number from 1 to {MAX_TOP_K}; using {clamped}"));
                    }
                    params.k = clamped;
                }
            }
            _ => {}
        }
    }
    if text_weight.is_some() || location_weight.is_some() {
        let location = match (lat, lon) {
            (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => Some((lat, lon)),
            (Some(lat), Some(lon)) => {
                messages.push(format!("the location ({lat}, {lon}) in the link is not on Earth (latitude within ±90, longitude within ±180); it was left out of the mix"));
                None
            }
            _ => None,
        };
        let mix = Mix { text: text.zip(text_weight), image: None, location: location.zip(location_weight) };
        let weights: Vec<f32> = mix.text.iter().map(|p| p.1).chain(mix.location.iter().map(|p| p.1)).collect();
        if weights.is_empty() {
            messages.push("the link gives weights for a mixed query but not the text or location they weigh; it was ignored".to_string());
        } else if weights.iter().all(|&w| w == 0.0) {
            messages.push("text_weight and location_weight in the link give every part of the mixed query weight 0; it was ignored. Set a weight above 0".to_string());
        } else {
            params.query = Some(Query::Mixed(mix));
        }
        return (params, messages);
    }
    params.query = match (tile, text, lat, lon) {
        (Some(tile), _, _, _) => Some(Query::Tile(tile)),
        (None, Some(text), _, _) => Some(Query::Text(text)),
        (None, None, Some(lat), Some(lon)) => {
            if lat.abs() > 90.0 || lon.abs() > 180.0 {
                messages.push(format!("the location ({lat}, {lon}) in the link is not on Earth (latitude within ±90, longitude within ±180); it was ignored"));
                None
            } else {
                Some(Query::Location { lat, lon })
            }
        }
        (None, None, Some(_), None) | (None, None, None, Some(_)) if !unreadable => {
            messages.push("the link has only one of lat and lon; a location needs both".to_string());
            None
        }
        (None, None, _, _) => None,
    };
    (params, messages)
}

fn parse_weight(key: &str, value: &str, messages: &mut Vec<String>) -> Option<f32> {
    let number = parse_number(key, value, messages)?;
    let clamped = number.clamp(0.0, f64::from(MAX_PART_WEIGHT));
    if clamped != number {
        messages.push(format!("{key}={value} in the link is outside 0–{MAX_PART_WEIGHT}; using {clamped}"));
    }
    Some(clamped as f32)
}

fn parse_number(key: &str, value: &str, messages: &mut Vec<String>) -> Option<f64> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Some(number),
        _ => {
            messages.push(format!("{key}={value:?} in the link is not a number; it was ignored"));
            None
        }
    }
}

impl Params {
    /// Builds the query string (with a leading `?`) for these parameters.
    pub fn to_query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if let Some(catalog) = &self.catalog {
            out.append_pair("catalog", catalog);
        }
        if let Some(dataset) = &self.dataset {
            out.append_pair("dataset", dataset);
        }
        match &self.query {
            Some(Query::Location { lat, lon }) => {
                out.append_pair("lat", &format!("{lat}"));
                out.append_pair("lon", &format!("{lon}"));
            }
            Some(Query::Tile(tile)) => {
                out.append_pair("tile", tile);
            }
            Some(Query::Text(text)) => {
                out.append_pair("text", text);
            }
            Some(Query::Mixed(mix)) => {
                if let Some((text, weight)) = &mix.text {
                    out.append_pair("text", text);
                    out.append_pair("text_weight", &weight.to_string());
                }
                if let Some(((lat, lon), weight)) = &mix.location {
                    out.append_pair("lat", &format!("{lat}"));
                    out.append_pair("lon", &format!("{lon}"));
                    out.append_pair("location_weight", &weight.to_string());
                }
            }
            Some(Query::Image(_)) | None => {}
        }
        out.append_pair("permille", &self.permille.to_string());
        out.append_pair("k", &self.k.to_string());
        if self.encoder == EncoderChoice::Cpu {
            out.append_pair("encoder", "cpu");
        }
        format!("?{}", out.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_link_round_trips() {
        let (params, messages) = parse("?dataset=demo&lat=-4&lon=-63&permille=12&k=25");
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(params.query, Some(Query::Location { lat: -4.0, lon: -63.0 }));
        assert_eq!((params.permille, params.k), (12, 25));
        let (again, _) = parse(&params.to_query_string());
        assert_eq!(again, params);
    }

    #[test]
    fn text_link_round_trips() {
        let (params, messages) = parse("?dataset=farslip-249k&text=terraced+rice+fields+%26+rivers");
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(params.query, Some(Query::Text("terraced rice fields & rivers".to_string())));
        let (again, _) = parse(&params.to_query_string());
        assert_eq!(again, params);
        let (params, _) = parse("text=glacier&tile=337U_1155R");
        assert_eq!(params.query, Some(Query::Tile("337U_1155R".to_string())));
    }

    #[test]
    fn image_query_stays_out_of_link() {
        let params = Params { query: Some(Query::Image("chip.png".to_string())), ..Params::default() };
        assert!(!params.to_query_string().contains("chip"));
    }

    #[test]
    fn mixed_link_round_trips() {
        let (params, messages) = parse("?dataset=satclip&text=glacier&text_weight=0.6&lat=46.5&lon=8&location_weight=0.4");
        assert!(messages.is_empty(), "{messages:?}");
        let mix = Mix { text: Some(("glacier".to_string(), 0.6)), image: None, location: Some(((46.5, 8.0), 0.4)) };
        assert_eq!(params.query, Some(Query::Mixed(mix.clone())));
        assert_eq!(parse(&params.to_query_string()).0, params);
        assert_eq!(mix.describe(), "text \"glacier\" × 0.6 + location (46.5, 8) × 0.4");

        // The image part stays out of the link.
        let with_image = Params { query: Some(Query::Mixed(Mix { image: Some(("chip.png".to_string(), 0.5)), ..mix })), ..Params::default() };
        assert!(!with_image.to_query_string().contains("chip"));
    }

    #[test]
    fn bad_mixed_links_are_reported() {
        let (params, messages) = parse("?text=glacier&text_weight=3");
        assert_eq!(params.query, Some(Query::Mixed(Mix { text: Some(("glacier".to_string(), 1.0)), ..Mix::default() })));
        assert_eq!(messages, ["text_weight=3 in the link is outside 0–1; using 1"]);
        let (params, messages) = parse("?location_weight=0.5&lat=100&lon=0");
        assert_eq!(params.query, None);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("not on Earth"), "{messages:?}");
        assert!(messages[1].contains("weights for a mixed query"), "{messages:?}");
        let (params, messages) = parse("?text=forest&text_weight=0");
        assert_eq!(params.query, None);
        assert!(messages[0].contains("every part of the mixed query weight 0"), "{messages:?}");
    }

    #[test]
    fn encoder_choice_round_trips() {
        let (params, messages) = parse("?dataset=siglip&text=forest&encoder=cpu");
        assert_eq!((params.encoder, messages.len()), (EncoderChoice::Cpu, 0));
        assert!(params.to_query_string().ends_with("&encoder=cpu"), "{}", params.to_query_string());
        assert_eq!(parse(&params.to_query_string()).0, params);
        let (params, messages) = parse("?encoder=gpu");
        assert_eq!(params.encoder, EncoderChoice::Auto);
        assert_eq!(messages, ["encoder=\"gpu\" in the link is not one of auto and cpu; using auto"]);
        assert!(!Params::default().to_query_string().contains("encoder"));
    }

    #[test]
    fn tile_takes_precedence() {
        let (params, _) = parse("tile=337U_1155R&lat=1&lon=2&catalog=https%3A%2F%2Fexample.org%2Fc.json");
        assert_eq!(params.query, Some(Query::Tile("337U_1155R".to_string())));
        assert_eq!(params.catalog.as_deref(), Some("https://example.org/c.json"));
    }

    #[test]
    fn bad_values_are_reported() {
        let (params, messages) = parse("lat=abc&lon=5&permille=99&k=0");
        assert_eq!(params.query, None);
        assert_eq!(params.permille, 30);
        assert_eq!(params.k, 1);
        // lat=abc is reported once, not again as a location missing its latitude.
        assert_eq!(messages.len(), 3, "{messages:?}");
        let (params, messages) = parse("lat=95&lon=5");
        assert_eq!(params.query, None);
        assert!(messages[0].contains("not on Earth"));
        let (_, messages) = parse("lat=NaN&lon=5");
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("not a number"));
        let (params, messages) = parse("lat=1&k=2.5");
        assert_eq!(params.k, 3);
        assert!(messages.iter().any(|m| m.contains("only one of lat and lon")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("not a whole number")), "{messages:?}");
    }
}
