use super::*;

/// Deterministic pseudo-random values in [-1, 1).
fn random_values(seed: u64, count: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..count)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Cosine similarity in f64 straight from the raw vectors.
fn brute_force_cosine(raw: &[f64], dim: usize, query: &[f64]) -> Vec<f64> {
    let query_norm = query.iter().map(|v| v * v).sum::<f64>().sqrt();
    raw.chunks(dim)
        .map(|row| {
            let row_norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            row.iter().zip(query).map(|(a, b)| a * b).sum::<f64>() / (row_norm * query_norm)
        })
        .collect()
}

#[test]
fn cosine_matches_f64_brute_force() {
    let dim = 37;
    let raw = random_values(1, dim * 500);
    let query = random_values(2, dim);
    let expected = brute_force_cosine(&raw, dim, &query);

    let as_f32: Vec<f32> = raw.iter().map(|&v| v as f32 * 3.5).collect();
    let embeddings = Embeddings::from_raw(dim, Storage::F32(as_f32)).unwrap();
    let query_f32: Vec<f32> = query.iter().map(|&v| v as f32).collect();
    let scores = embeddings.cosine_scores(&query_f32).unwrap();
    for (i, (s, e)) in scores.iter().zip(&expected).enumerate() {
        assert!((f64::from(*s) - e).abs() < 1e-5, "row {i}: {s} vs {e}");
    }

    let as_f16: Vec<f16> = raw.iter().map(|&v| f16::from_f64(v)).collect();
    let rounded: Vec<f64> = as_f16.iter().map(|v| v.to_f64()).collect();
    let expected_f16 = brute_force_cosine(&rounded, dim, &query);
    let embeddings = Embeddings::from_raw(dim, Storage::F16(as_f16)).unwrap();
    let scores = embeddings.cosine_scores(&query_f32).unwrap();
    for (i, (s, e)) in scores.iter().zip(&expected_f16).enumerate() {
        // Normalised values are stored as f16 again: about 3 significant digits.
        assert!((f64::from(*s) - e).abs() < 2e-3, "row {i}: {s} vs {e}");
    }
}

#[test]
fn invalid_rows_and_queries_are_rejected() {
    let mut raw = vec![1.0f32; 12];
    raw[5] = f32::NAN;
    let error = Embeddings::from_raw(4, Storage::F32(raw)).unwrap_err();
    assert_eq!(error, SearchError::InvalidRow { row: 1, reason: "value 1 is NaN".to_string() });

    let error = Embeddings::from_raw(2, Storage::F32(vec![1.0, 0.0, 0.0, 0.0])).unwrap_err();
    assert!(matches!(error, SearchError::InvalidRow { row: 1, .. }));

    let embeddings = Embeddings::from_raw(2, Storage::F32(vec![1.0, 0.0])).unwrap();
    assert_eq!(embeddings.cosine_scores(&[1.0]).unwrap_err(), SearchError::DimensionMismatch { expected: 2, actual: 1 });
    assert!(matches!(embeddings.cosine_scores(&[f32::NAN, 1.0]), Err(SearchError::InvalidQuery(_))));
    assert!(matches!(embeddings.cosine_scores(&[0.0, 0.0]), Err(SearchError::InvalidQuery(_))));
}

#[test]
fn permille_rank_follows_reference_formula() {
    assert_eq!(permille_rank(248_719, 7), 1741);
    assert_eq!(permille_rank(100, 7), 1);
    assert_eq!(permille_rank(0, 7), 1);
    assert_eq!(permille_rank(1000, 30), 30);
}

#[test]
fn threshold_matches_sorted_brute_force() {
    let scores: Vec<f32> = random_values(3, 10_000).iter().map(|&v| v as f32).collect();
    let mut sorted: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    for permille in 1..=30 {
        let threshold = permille_threshold(&scores, permille).unwrap();
        let k = (10_000 * permille as usize) / 1000;
        assert_eq!(f64::from(threshold.min_score), sorted[k - 1], "‰ {permille}");
        assert_eq!(threshold.count, sorted.iter().filter(|&&s| s >= sorted[k - 1]).count());
    }
}

#[test]
fn threshold_keeps_ties() {
    let scores = [0.5f32, 0.9, 0.9, 0.9, 0.1];
    let threshold = permille_threshold(&scores, 1).unwrap();
    assert_eq!(threshold.min_score, 0.9);
    assert_eq!(threshold.count, 3);
    assert!(permille_threshold(&[], 7).is_none());
}

#[test]
fn top_k_matches_full_sort() {
    let scores: Vec<f32> = random_values(4, 5000).iter().map(|&v| v as f32).collect();
    let mut expected: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for k in [1, 10, 1000] {
        let hits = top_k(&scores, k);
        assert_eq!(hits.len(), k);
        for (hit, (index, score)) in hits.iter().zip(&expected) {
            assert_eq!((hit.index, hit.score), (*index, *score));
        }
    }
    assert_eq!(top_k(&scores[..3], 10).len(), 3);
    assert!(top_k(&[], 10).is_empty());
}

#[test]
fn nearest_wraps_antimeridian() {
    let lats = [0.0f32, 0.0, 10.0];
    let lons = [179.0f32, -170.0, -179.9];
    // 179.5 W is 1.5 degrees from 179 E, but only 0.4 degrees of longitude from 179.9 W at lat 10.
    let (index, km) = nearest(0.0, -179.5, &lats, &lons).unwrap();
    assert_eq!(index, 0);
    assert!((km - crate::grid::great_circle_km(0.0, -179.5, 0.0, 179.0)).abs() < 1e-9);
    assert_eq!(nearest(9.9, -179.95, &lats, &lons).unwrap().0, 2);
    assert!(nearest(0.0, 0.0, &[], &[]).is_none());
}

fn part(label: &str, vector: &[f64], weight: f32) -> QueryPart {
    QueryPart { label: label.to_string(), vector: vector.iter().map(|&v| v as f32).collect(), weight }
}

#[test]
fn mixed_scores_are_weighted_means_of_cosines() {
    let dim = 29;
    let raw = random_values(11, dim * 300);
    let (text, image, location) = (random_values(12, dim), random_values(13, dim), random_values(14, dim));
    // Raw query vectors of very different lengths: only their directions may count.
    let image: Vec<f64> = image.iter().map(|v| v * 40.0).collect();
    let weights = [0.7f32, 0.2, 0.45];
    let cosines = [brute_force_cosine(&raw, dim, &text), brute_force_cosine(&raw, dim, &image), brute_force_cosine(&raw, dim, &location)];
    let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
    let expected: Vec<f64> = (0..300).map(|row| (0..3).map(|p| f64::from(weights[p]) * cosines[p][row]).sum::<f64>() / total).collect();

    let embeddings = Embeddings::from_raw(dim, Storage::F32(raw.iter().map(|&v| v as f32).collect())).unwrap();
    let parts = [part("text", &text, weights[0]), part("image", &image, weights[1]), part("location", &location, weights[2])];
    let scores = embeddings.mixed_scores(&parts).unwrap();
    for (row, (s, e)) in scores.iter().zip(&expected).enumerate() {
        assert!((f64::from(*s) - e).abs() < 1e-5, "row {row}: {s} vs {e}");
    }

    // One part scores as the plain query; a part with weight 0 is left out.
    let single = embeddings.mixed_scores(&[part("text", &text, 0.3), part("image", &image, 0.0)]).unwrap();
    let plain = embeddings.cosine_scores(&parts[0].vector).unwrap();
    for (row, (s, p)) in single.iter().zip(&plain).enumerate() {
        assert!((s - p).abs() < 1e-6, "row {row}: {s} vs {p}");
    }
}

#[test]
fn mixed_scores_reject_bad_parts() {
    let dim = 8;
    let embeddings = Embeddings::from_raw(dim, Storage::F32(random_values(21, dim * 10).iter().map(|&v| v as f32).collect())).unwrap();
    let good = random_values(22, dim);
    let message = |parts: &[QueryPart]| embeddings.mixed_scores(parts).unwrap_err().to_string();

    assert!(message(&[part("text", &good, 0.0)]).contains("every part of the mixed query has weight 0"));
    assert!(message(&[part("text", &good, f32::NAN)]).contains("the weight of text is NaN"));
    assert!(message(&[part("text", &good, 1.5)]).contains("weights run from 0 to 1"));
    assert_eq!(
        embeddings.mixed_scores(&[part("text", &good, 0.5), part("image", &good[..5], 0.5)]).unwrap_err(),
        SearchError::DimensionMismatch { expected: dim, actual: 5 }
    );
    assert!(message(&[part("image", &vec![0.0; dim], 0.5)]).contains("image: all values are zero"));

    // Opposite parts with equal weights cancel out: every tile scores 0, the mean of +c and −c.
    let opposite: Vec<f64> = good.iter().map(|v| -v).collect();
    let scores = embeddings.mixed_scores(&[part("a", &good, 0.5), part("b", &opposite, 0.5)]).unwrap();
    assert!(scores.iter().all(|&s| s.abs() < 1e-6), "{scores:?}");
}
