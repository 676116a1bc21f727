//! Similarity search over an embedding matrix: cosine scores, the top-‰ threshold, top-k and
//! nearest-tile look-ups.
//!
//! Stored Major TOM embeddings are raw model outputs, so the matrix is L2-normalised once when it
//! is loaded ([`Embeddings::from_raw`]). A score is then the dot product with the normalised query.

use half::f16;

use crate::grid::great_circle_km;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("query vector has {actual} dimensions but the dataset has {expected}: use an encoder that matches the dataset")]
    DimensionMismatch { expected: usize, actual: usize },
    #[error("query vector is invalid: {0}")]
    InvalidQuery(String),
    #[error("{0}")]
    InvalidMix(String),
    #[error("row {row} of the embedding matrix is invalid: {reason}")]
    InvalidRow { row: usize, reason: String },
}

/// Row-major storage of L2-normalised vectors in the precision of the source file.
#[derive(Debug, Clone)]
pub enum Storage {
    F16(Vec<f16>),
    F32(Vec<f32>),
}

/// An L2-normalised embedding matrix with `len()` rows of `dim` values.
#[derive(Debug, Clone)]
pub struct Embeddings {
    dim: usize,
    storage: Storage,
}

/// Checks a raw vector and returns its L2 norm, or why it cannot be normalised.
pub fn checked_norm(vector: impl Iterator<Item = f32>) -> Result<f64, String> {
    let mut sum = 0.0f64;
    for (i, value) in vector.enumerate() {
        if !value.is_finite() {
            return Err(format!("value {i} is {value}"));
        }
        sum += f64::from(value) * f64::from(value);
    }
    if sum == 0.0 {
        return Err("all values are zero, so it has no direction".to_string());
    }
    Ok(sum.sqrt())
}

impl Embeddings {
    /// Normalises raw row-major vectors. `raw.len()` must be a multiple of `dim`; every row must
    /// be finite and non-zero.
    pub fn from_raw(dim: usize, raw: Storage) -> Result<Self, SearchError> {
        let storage = match raw {
            Storage::F32(mut values) => {
                for (row, chunk) in values.chunks_mut(dim).enumerate() {
                    let norm = checked_norm(chunk.iter().copied()).map_err(|reason| SearchError::InvalidRow { row, reason })?;
                    chunk.iter_mut().for_each(|v| *v = (f64::from(*v) / norm) as f32);
                }
                Storage::F32(values)
            }
            Storage::F16(mut values) => {
                for (row, chunk) in values.chunks_mut(dim).enumerate() {
                    let norm = checked_norm(chunk.iter().map(|v| v.to_f32())).map_err(|reason| SearchError::InvalidRow { row, reason })?;
                    chunk.iter_mut().for_each(|v| *v = f16::from_f64(v.to_f64() / norm));
                }
                Storage::F16(values)
            }
        };
        Ok(Embeddings { dim, storage })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Joins matrices of the same dimension; mixed precisions are joined as f32.
    pub fn concat(parts: Vec<Embeddings>) -> Result<Self, SearchError> {
        let dim = parts.first().map_or(1, |p| p.dim);
        if let Some(part) = parts.iter().find(|p| p.dim != dim) {
            return Err(SearchError::DimensionMismatch { expected: dim, actual: part.dim });
        }
        let all_half = parts.iter().all(|p| matches!(p.storage, Storage::F16(_)));
        let storage = if all_half {
            Storage::F16(parts.into_iter().flat_map(|p| match p.storage {
                Storage::F16(v) => v,
                Storage::F32(_) => unreachable!("all parts are f16"),
            }).collect())
        } else {
            Storage::F32(parts.into_iter().flat_map(|p| match p.storage {
                Storage::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
                Storage::F32(v) => v,
            }).collect())
        };
        Ok(Embeddings { dim, storage })
    }

    pub fn len(&self) -> usize {
        let values = match &self.storage {
            Storage::F16(v) => v.len(),
            Storage::F32(v) => v.len(),
        };
        values.checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `index` as f32 values (normalised).
    pub fn row(&self, index: usize) -> Vec<f32> {
        let range = index * self.dim..(index + 1) * self.dim;
        match &self.storage {
            Storage::F16(v) => v[range].iter().map(|x| x.to_f32()).collect(),
            Storage::F32(v) => v[range].to_vec(),
        }
    }

    /// Cosine similarity of every row with `query` (a raw vector; it is normalised here).
    pub fn cosine_scores(&self, query: &[f32]) -> Result<Vec<f32>, SearchError> {
        if query.len() != self.dim {
            return Err(SearchError::DimensionMismatch { expected: self.dim, actual: query.len() });
        }
        let norm = checked_norm(query.iter().copied()).map_err(SearchError::InvalidQuery)?;
        let query: Vec<f32> = query.iter().map(|&v| (f64::from(v) / norm) as f32).collect();
        let scores = match &self.storage {
            Storage::F32(values) => values.chunks_exact(self.dim).map(|row| dot(row, &query)).collect(),
            Storage::F16(values) => {
                let mut buffer = vec![0.0f32; self.dim];
                values
                    .chunks_exact(self.dim)
                    .map(|row| {
                        half::slice::HalfFloatSliceExt::convert_to_f32_slice(row, &mut buffer);
                        dot(&buffer, &query)
                    })
                    .collect()
            }
        };
        Ok(scores)
    }
}

/// One part of a mixed query: its raw embedding and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPart {
    pub label: String,
    pub vector: Vec<f32>,
    pub weight: f32,
}

/// The largest weight of one part of a mixed query; weights run from 0 to this.
pub const MAX_PART_WEIGHT: f32 = 1.0;

impl Embeddings {
    /// Scores of a mixed query: for each row, the weighted mean of its cosine similarities with
    /// the parts, `Σ wᵢ cos(qᵢ, x) / Σ wᵢ`.
    ///
    /// A score stays on the cosine scale from −1 to 1, and a query of one part scores as that
    /// part alone, so scores compare across single and mixed queries. The mean is computed in
    /// one pass, as the dot product of each row with `Σ (wᵢ / Σ wᵢ) q̂ᵢ`.
    pub fn mixed_scores(&self, parts: &[QueryPart]) -> Result<Vec<f32>, SearchError> {
        let mut total = 0.0f64;
        for part in parts {
            if !(part.weight.is_finite() && (0.0..=MAX_PART_WEIGHT).contains(&part.weight)) {
                return Err(SearchError::InvalidMix(format!("the weight of {} is {}; weights run from 0 to {MAX_PART_WEIGHT}", part.label, part.weight)));
            }
            total += f64::from(part.weight);
        }
        if total == 0.0 {
            return Err(SearchError::InvalidMix("every part of the mixed query has weight 0: give at least one part a weight above 0".to_string()));
        }
        let mut mix = vec![0.0f64; self.dim];
        for part in parts.iter().filter(|p| p.weight > 0.0) {
            if part.vector.len() != self.dim {
                return Err(SearchError::DimensionMismatch { expected: self.dim, actual: part.vector.len() });
            }
            let norm = checked_norm(part.vector.iter().copied()).map_err(|reason| SearchError::InvalidQuery(format!("{}: {reason}", part.label)))?;
            let scale = f64::from(part.weight) / total / norm;
            mix.iter_mut().zip(&part.vector).for_each(|(m, &v)| *m += scale * f64::from(v));
        }
        let length = mix.iter().map(|v| v * v).sum::<f64>().sqrt();
        if length == 0.0 {
            // The parts cancel out: every row is equally similar to the mix.
            return Ok(vec![0.0; self.len()]);
        }
        let direction: Vec<f32> = mix.iter().map(|&v| v as f32).collect();
        Ok(self.cosine_scores(&direction)?.into_iter().map(|score| (f64::from(score) * length) as f32).collect())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise the loop.
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (x, y) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a[chunks..].iter().zip(&b[chunks..]).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Range of the top-‰ slider, in tiles per thousand.
pub const PERMILLE_RANGE: (u32, u32) = (1, 30);
/// Default of the top-‰ slider (0.7 % of the tiles).
pub const DEFAULT_PERMILLE: u32 = 7;
/// Default and maximum length of the top-k list.
pub const DEFAULT_TOP_K: usize = 10;
pub const MAX_TOP_K: usize = 1000;

/// Number of tiles the top-‰ threshold aims to keep: `max(1, floor(n · ‰ / 1000))`.
pub fn permille_rank(tile_count: usize, permille: u32) -> usize {
    ((tile_count as u64 * u64::from(permille)) / 1000).max(1) as usize
}

/// The score cut-off of the top ‰ and the number of tiles at or above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub permille: u32,
    /// The k-th largest score, k = [`permille_rank`].
    pub min_score: f32,
    /// Tiles with a score ≥ `min_score`; more than k when scores tie.
    pub count: usize,
}

/// Computes the top-‰ threshold with EarthEmbeddingExplorer's semantics: keep every score ≥ the
/// k-th largest. Returns `None` for an empty score list.
pub fn permille_threshold(scores: &[f32], permille: u32) -> Option<Threshold> {
    if scores.is_empty() {
        return None;
    }
    let permille = permille.clamp(PERMILLE_RANGE.0, PERMILLE_RANGE.1);
    let k = permille_rank(scores.len(), permille).min(scores.len());
    let mut work = scores.to_vec();
    let (_, kth, _) = work.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let min_score = *kth;
    let count = scores.iter().filter(|&&s| s >= min_score).count();
    Some(Threshold { permille, min_score, count })
}

/// A ranked result: row index and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub index: usize,
    pub score: f32,
}

/// Returns the `k` highest scores in descending order, equal scores ordered by row index.
pub fn top_k(scores: &[f32], k: usize) -> Vec<Hit> {
    let k = k.min(scores.len());
    if k == 0 {
        return Vec::new();
    }
    let order = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
    let mut hits: Vec<Hit> = scores.iter().enumerate().map(|(index, &score)| Hit { index, score }).collect();
    if k < hits.len() {
        hits.select_nth_unstable_by(k - 1, order);
        hits.truncate(k);
    }
    hits.sort_unstable_by(order);
    hits
}

/// Index of the point nearest to (`lat`, `lon`) by great-circle distance, with the distance in km.
pub fn nearest(lat: f64, lon: f64, lats: &[f32], lons: &[f32]) -> Option<(usize, f64)> {
    lats.iter()
        .zip(lons)
        .map(|(&la, &lo)| great_circle_km(lat, lon, f64::from(la), f64::from(lo)))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests;
