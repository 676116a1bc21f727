//! Element-wise activation kernels for the CPU backend.
//!
//! burn's ndarray backend builds GELU from five tensor operations and evaluates erf per element
//! in f64 (`libm::erf`). These kernels make one pass over the values in f32 with branch-free
//! arithmetic. Natively the compiler vectorises the loops. The app's wasm is built for size
//! (`opt-level = "z"`), which turns the loop vectoriser off, so the loops also have explicit
//! WebAssembly SIMD versions, whose tests also run in Node (`make wasm-kernel-test`). The
//! kernels work on slices: `transformer.rs` applies them to burn tensors on the CPU, and on the
//! WebGPU device the encoders keep burn's own operations.

/// erf(x) = x · P(x²) / Q(x²) on (−4, 4), fitted by `dev/fit_erf.py`; from ±4 on it is ±1, the
/// nearest f32 (|erf(4) − 1| < 1.6e-8). The largest absolute error of this f32 evaluation is
/// 3.3e-7 (tested below against f64 `libm::erf`).
// The first coefficient is the fitted value, one f32 step below 2/√π.
#[allow(clippy::approx_constant)]
const ERF_P: [f32; 6] = [1.128_379, 0.196_244_67, 0.053_466_59, 0.004_003_346, 0.000_288_015_26, 1.974_629_2e-6];
const ERF_Q: [f32; 6] = [1.0, 0.507_248_46, 0.116_474_345, 0.015_443_875, 0.001_216_248_6, 3.747_736e-5];
const ERF_LIMIT: f32 = 4.0;

/// erf in f32; NaN stays NaN.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    // Every branch below is a select, so the loops that call this stay vectorised.
    let clamped = x.clamp(-ERF_LIMIT, ERF_LIMIT);
    let t = clamped * clamped;
    let p = ((((ERF_P[5] * t + ERF_P[4]) * t + ERF_P[3]) * t + ERF_P[2]) * t + ERF_P[1]) * t + ERF_P[0];
    let q = ((((ERF_Q[5] * t + ERF_Q[4]) * t + ERF_Q[3]) * t + ERF_Q[2]) * t + ERF_Q[1]) * t + ERF_Q[0];
    let value = clamped * p / q;
    if x.is_nan() {
        x
    } else if x.abs() >= ERF_LIMIT {
        1f32.copysign(x)
    } else {
        value
    }
}

/// Exact GELU, `x · (1 + erf(x / √2)) / 2`, in place.
pub fn gelu_erf_in_place(values: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let values = simd128::gelu_erf(values);
    for v in values {
        let x = *v;
        *v = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// GELU with the tanh approximation, in place, written as `x · σ(2u)` with
/// `u = √(2/π) · (x + 0.044715 x³)`, since `(1 + tanh u) / 2 = σ(2u)`.
pub fn gelu_tanh_in_place(values: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for v in values {
        let x = *v;
        let u = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
        *v = x / (1.0 + (-2.0 * u).exp());
    }
}

/// `x · σ(1.702 x)`, in place.
pub fn quick_gelu_in_place(values: &mut [f32]) {
    for v in values {
        let x = *v;
        *v = x / (1.0 + (-1.702 * x).exp());
    }
}

/// Below this, exp returns 0 (the true value is under 1.1e-38, the smallest normal f32).
const EXP_FLOOR: f32 = -87.3;
/// ln 2 = 355/512 + LN_2_LOW; n · 355/512 is exact in f32 for |n| < 2¹⁵.
const LN_2_HIGH: f32 = 355.0 / 512.0;
const LN_2_LOW: f32 = -2.121_944_4e-4;
/// Taylor coefficients of e^r, 1/k! for k = 7 down to 2.
const EXP_TAYLOR: [f32; 6] = [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5];

/// exp in f32 for the softmax, whose inputs are at most 0: x = n·ln 2 + r with |r| ≤ ln 2 / 2
/// (ln 2 split in two parts so that n·ln 2 is exact), e^r by its Taylor series to r⁷/7!
/// (truncation error below 1.2e-8 relative), and 2ⁿ built in the exponent bits. The largest
/// relative error is a few f32 steps (tested below). Above 0 it is accurate up to 88, the f32
/// range; NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Rounds to the nearest integer, ties to even, for |y| < 2²²: adding 1.5 · 2²³ leaves no
    // fraction bits. (`round_ties_even` is a library call on x86-64 without SSE4.1.)
    const ROUND: f32 = 12_582_912.0;
    let n = (x.max(EXP_FLOOR) * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * LN_2_HIGH - n * LN_2_LOW;
    let [c7, c6, c5, c4, c3, c2] = EXP_TAYLOR;
    let p = (((((((c7 * r + c6) * r + c5) * r + c4) * r + c3) * r + c2) * r + 1.0) * r) + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) << 23) as u32);
    if x < EXP_FLOOR { 0.0 } else { p * scale }
}

/// `softmax(scale · row)` over each row of `row_length` values, in place.
///
/// With `causal`, the rows are square attention logits `[…, position, position]`: row `i` (of
/// each square) keeps its first `i + 1` values and the rest become 0, as an additive −∞ mask
/// above the diagonal gives.
pub fn softmax_rows_in_place(values: &mut [f32], row_length: usize, scale: f32, causal: bool) {
    for (index, row) in values.chunks_exact_mut(row_length).enumerate() {
        let visible = if causal { index % row_length + 1 } else { row_length };
        let (row, hidden) = row.split_at_mut(visible);
        hidden.fill(0.0);
        let max = lanes::max(row);
        lanes::scale_subtract_and_exp(row, scale, max);
        lanes::multiply(row, 1.0 / lanes::sum(row));
    }
}

/// LayerNorm over each row of `gamma.len()` values, in place: `(x − mean) / √(var + ε) · γ + β`
/// with the biased variance of the centred values.
pub fn layer_norm_rows_in_place(values: &mut [f32], gamma: &[f32], beta: &[f32], epsilon: f32) {
    let width = gamma.len();
    for row in values.chunks_exact_mut(width) {
        let mean = lanes::sum(row) / width as f32;
        let variance = lanes::sum_of_squares_about(row, mean) / width as f32;
        lanes::normalise(row, gamma, beta, mean, 1.0 / (variance + epsilon).sqrt());
    }
}

/// `stream ← stream + update · γ`, with γ (LayerScale) repeated over rows of `γ.len()` values,
/// or `stream + update` without γ.
pub fn add_scaled_rows(stream: &mut [f32], update: &[f32], gamma: Option<&[f32]>) {
    match gamma {
        Some(gamma) => {
            for (row, update) in stream.chunks_exact_mut(gamma.len()).zip(update.chunks_exact(gamma.len())) {
                for ((s, &u), &g) in row.iter_mut().zip(update).zip(gamma) {
                    *s += u * g;
                }
            }
        }
        None => {
            for (s, &u) in stream.iter_mut().zip(update) {
                *s += u;
            }
        }
    }
}

/// The loops of the kernels above. In the browser each runs four values at a time with
/// WebAssembly SIMD and finishes the last one to three values with the scalar code, which is
/// all that runs natively (where the compiler vectorises it). Both do the same operations in the
/// same order, apart from the order of the additions in the sums.
mod lanes {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    use super::simd128;

    pub fn max(row: &[f32]) -> f32 {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let (max, row) = simd128::max(row);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        let max = f32::NEG_INFINITY;
        row.iter().copied().fold(max, f32::max)
    }

    pub fn sum(row: &[f32]) -> f32 {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let (sum, row) = simd128::sum(row);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        let sum = 0.0;
        row.iter().fold(sum, |sum, &v| sum + v)
    }

    pub fn sum_of_squares_about(row: &[f32], mean: f32) -> f32 {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let (sum, row) = simd128::sum_of_squares_about(row, mean);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        let sum = 0.0;
        row.iter().fold(sum, |sum, &v| sum + (v - mean) * (v - mean))
    }

    pub fn multiply(row: &mut [f32], factor: f32) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let row = simd128::multiply(row, factor);
        for v in row {
            *v *= factor;
        }
    }

    pub fn scale_subtract_and_exp(row: &mut [f32], scale: f32, max: f32) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let row = simd128::scale_subtract_and_exp(row, scale, max);
        for v in row {
            *v = super::exp(scale * (*v - max));
        }
    }

    pub fn normalise(row: &mut [f32], gamma: &[f32], beta: &[f32], mean: f32, inverse: f32) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let (row, gamma, beta) = simd128::normalise(row, gamma, beta, mean, inverse);
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inverse * g + b;
        }
    }
}

/// The WebAssembly SIMD loops: each handles the whole groups of four values and returns the rest
/// (at most three values) to the scalar loop. Polynomials are written out: at `opt-level = "z"`
/// a loop over coefficients stays a loop.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    use super::{ERF_LIMIT, ERF_P, ERF_Q, EXP_FLOOR, EXP_TAYLOR, LN_2_HIGH, LN_2_LOW};

    fn load(group: &[f32; 4]) -> v128 {
        // SAFETY: `group` is 16 readable bytes; wasm loads need no alignment.
        unsafe { v128_load(group.as_ptr().cast::<v128>()) }
    }

    fn store(group: &mut [f32; 4], value: v128) {
        // SAFETY: `group` is 16 writable bytes; wasm stores need no alignment.
        unsafe { v128_store(group.as_mut_ptr().cast::<v128>(), value) }
    }

    fn horizontal(value: v128, combine: fn(f32, f32) -> f32) -> f32 {
        let lanes = [f32x4_extract_lane::<0>(value), f32x4_extract_lane::<1>(value), f32x4_extract_lane::<2>(value), f32x4_extract_lane::<3>(value)];
        combine(combine(lanes[0], lanes[1]), combine(lanes[2], lanes[3]))
    }

    /// `((((c₅ t + c₄) t + c₃) t + c₂) t + c₁) t + c₀`
    fn polynomial_5(c: &[f32; 6], t: v128) -> v128 {
        let mut p = f32x4_add(f32x4_mul(f32x4_splat(c[5]), t), f32x4_splat(c[4]));
        p = f32x4_add(f32x4_mul(p, t), f32x4_splat(c[3]));
        p = f32x4_add(f32x4_mul(p, t), f32x4_splat(c[2]));
        p = f32x4_add(f32x4_mul(p, t), f32x4_splat(c[1]));
        f32x4_add(f32x4_mul(p, t), f32x4_splat(c[0]))
    }

    fn erf(x: v128) -> v128 {
        let limit = f32x4_splat(ERF_LIMIT);
        let clamped = f32x4_pmax(f32x4_pmin(x, limit), f32x4_neg(limit));
        let t = f32x4_mul(clamped, clamped);
        let value = f32x4_div(f32x4_mul(clamped, polynomial_5(&ERF_P, t)), polynomial_5(&ERF_Q, t));
        let one_with_sign_of_x = v128_or(f32x4_splat(1.0), v128_and(x, f32x4_splat(-0.0)));
        let value = v128_bitselect(one_with_sign_of_x, value, f32x4_ge(f32x4_abs(x), limit));
        v128_bitselect(x, value, f32x4_ne(x, x))
    }

    fn exp(x: v128) -> v128 {
        let n = f32x4_nearest(f32x4_mul(f32x4_pmax(x, f32x4_splat(EXP_FLOOR)), f32x4_splat(std::f32::consts::LOG2_E)));
        let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN_2_HIGH))), f32x4_mul(n, f32x4_splat(LN_2_LOW)));
        // EXP_TAYLOR runs from r⁷ down to r²: reversed, it is c₅ … c₀ of `polynomial_5`.
        let [c7, c6, c5, c4, c3, c2] = EXP_TAYLOR;
        let p = polynomial_5(&[c2, c3, c4, c5, c6, c7], r);
        let p = f32x4_add(f32x4_mul(f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0)), r), f32x4_splat(1.0));
        let scale = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127)), 23);
        v128_andnot(f32x4_mul(p, scale), f32x4_lt(x, f32x4_splat(EXP_FLOOR)))
    }

    pub fn gelu_erf(values: &mut [f32]) -> &mut [f32] {
        let (groups, rest) = values.as_chunks_mut::<4>();
        for group in groups {
            let x = load(group);
            let e = erf(f32x4_mul(x, f32x4_splat(std::f32::consts::FRAC_1_SQRT_2)));
            store(group, f32x4_mul(f32x4_mul(f32x4_splat(0.5), x), f32x4_add(f32x4_splat(1.0), e)));
        }
        rest
    }

    pub fn max(values: &[f32]) -> (f32, &[f32]) {
        let (groups, rest) = values.as_chunks::<4>();
        let max = groups.iter().fold(f32x4_splat(f32::NEG_INFINITY), |max, group| f32x4_pmax(max, load(group)));
        (horizontal(max, f32::max), rest)
    }

    pub fn sum(values: &[f32]) -> (f32, &[f32]) {
        let (groups, rest) = values.as_chunks::<4>();
        let sum = groups.iter().fold(f32x4_splat(0.0), |sum, group| f32x4_add(sum, load(group)));
        (horizontal(sum, |a, b| a + b), rest)
    }

    pub fn sum_of_squares_about(values: &[f32], mean: f32) -> (f32, &[f32]) {
        let (groups, rest) = values.as_chunks::<4>();
        let mean = f32x4_splat(mean);
        let sum = groups.iter().fold(f32x4_splat(0.0), |sum, group| {
            let d = f32x4_sub(load(group), mean);
            f32x4_add(sum, f32x4_mul(d, d))
        });
        (horizontal(sum, |a, b| a + b), rest)
    }

    pub fn multiply(values: &mut [f32], factor: f32) -> &mut [f32] {
        let (groups, rest) = values.as_chunks_mut::<4>();
        let factor = f32x4_splat(factor);
        for group in groups {
            store(group, f32x4_mul(load(group), factor));
        }
        rest
    }

    pub fn scale_subtract_and_exp(values: &mut [f32], scale: f32, max: f32) -> &mut [f32] {
        let (groups, rest) = values.as_chunks_mut::<4>();
        let (scale, max) = (f32x4_splat(scale), f32x4_splat(max));
        for group in groups {
            store(group, exp(f32x4_mul(scale, f32x4_sub(load(group), max))));
        }
        rest
    }

    pub fn normalise<'a>(values: &'a mut [f32], gamma: &'a [f32], beta: &'a [f32], mean: f32, inverse: f32) -> (&'a mut [f32], &'a [f32], &'a [f32]) {
        let (groups, rest) = values.as_chunks_mut::<4>();
        let (gamma_groups, gamma_rest) = gamma.as_chunks::<4>();
        let (beta_groups, beta_rest) = beta.as_chunks::<4>();
        let (mean, inverse) = (f32x4_splat(mean), f32x4_splat(inverse));
        for ((group, g), b) in groups.iter_mut().zip(gamma_groups).zip(beta_groups) {
            let normalised = f32x4_mul(f32x4_sub(load(group), mean), inverse);
            store(group, f32x4_add(f32x4_mul(normalised, load(g)), load(b)));
        }
        (rest, gamma_rest, beta_rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns every f32 step of 2⁻¹² on [−6, 6].
    fn grid() -> Vec<f32> {
        (-6 * 4096..=6 * 4096).map(|i| i as f32 / 4096.0).collect()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn erf_matches_libm() {
        let worst = grid().into_iter().map(|x| (f64::from(erf(x)) - libm::erf(f64::from(x))).abs()).fold(0.0, f64::max);
        assert!(worst < 4e-7, "largest error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(f32::NAN).is_nan());
        assert_eq!(erf(f32::INFINITY), 1.0);
        assert_eq!(erf(f32::NEG_INFINITY), -1.0);
    }

    /// Checks the three activations against their definitions evaluated in f64.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn activations_match_their_f64_definitions() {
        let inputs = grid();
        type Case = (fn(&mut [f32]), fn(f64) -> f64, f64);
        let cases: [Case; 3] = [
            (gelu_erf_in_place, |x| 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)), 1e-6),
            (gelu_tanh_in_place, |x| 0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh()), 2e-6),
            (quick_gelu_in_place, |x| x / (1.0 + (-1.702 * x).exp()), 2e-6),
        ];
        for (kernel, reference, tolerance) in cases {
            let mut values = inputs.clone();
            kernel(&mut values);
            for (&x, &y) in inputs.iter().zip(&values) {
                let expected = reference(f64::from(x));
                let error = (f64::from(y) - expected).abs();
                assert!(error <= tolerance * expected.abs().max(1.0), "at {x}: {y} against {expected}");
            }
        }
        for kernel in [gelu_erf_in_place, gelu_tanh_in_place, quick_gelu_in_place] {
            let mut values = [f32::NAN, -100.0, 100.0];
            kernel(&mut values);
            assert!(values[0].is_nan());
            assert_eq!(values[1].abs(), 0.0);
            assert_eq!(values[2], 100.0);
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn exp_is_within_a_few_steps_of_f64() {
        for x in (-100 * 1024..=88 * 1024).map(|i| i as f32 / 1024.0) {
            let expected = f64::from(x).exp();
            let got = f64::from(exp(x));
            if x < EXP_FLOOR {
                assert_eq!(got, 0.0, "at {x}");
            } else {
                assert!((got - expected).abs() <= 3e-7 * expected, "at {x}: {got} against {expected}");
            }
        }
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
    }

    /// Softmax of `scale · row` in f64, with −∞ above the diagonal when `causal`.
    fn softmax_f64(values: &[f32], length: usize, scale: f64, causal: bool) -> Vec<f64> {
        values
            .chunks(length)
            .enumerate()
            .flat_map(|(r, row)| {
                let logits: Vec<f64> = row
                    .iter()
                    .enumerate()
                    .map(|(c, &v)| if causal && c > r % length { f64::NEG_INFINITY } else { scale * f64::from(v) })
                    .collect();
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = logits.iter().map(|&l| (l - max).exp()).collect();
                let sum: f64 = exps.iter().sum();
                exps.into_iter().map(move |e| e / sum)
            })
            .collect()
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn softmax_matches_f64() {
        // Two squares of 33 × 33 logits, as two heads.
        let length = 33;
        let inputs: Vec<f32> = (0..2 * length * length).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        for causal in [false, true] {
            let expected = softmax_f64(&inputs, length, 0.125, causal);
            let mut values = inputs.clone();
            softmax_rows_in_place(&mut values, length, 0.125, causal);
            for (got, want) in values.iter().zip(&expected) {
                assert!((f64::from(*got) - want).abs() < 1e-6, "causal {causal}: {got} against {want}");
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn layer_norm_matches_f64() {
        let width = 48;
        let values: Vec<f32> = (0..3 * width).map(|i| ((i * 53 % 97) as f32 - 40.0) / 3.0 + 10.0 * (i / width) as f32).collect();
        let gamma: Vec<f32> = (0..width).map(|i| 0.5 + i as f32 / 10.0).collect();
        let beta: Vec<f32> = (0..width).map(|i| i as f32 - 20.0).collect();
        let mut got = values.clone();
        layer_norm_rows_in_place(&mut got, &gamma, &beta, 1e-5);
        for (row, out) in values.chunks(width).zip(got.chunks(width)) {
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
            let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / width as f64;
            for i in 0..width {
                let want = (f64::from(row[i]) - mean) / (var + 1e-5).sqrt() * f64::from(gamma[i]) + f64::from(beta[i]);
                assert!((f64::from(out[i]) - want).abs() < 1e-5 * want.abs().max(1.0), "{} against {want}", out[i]);
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn residual_add_with_and_without_layer_scale() {
        let mut stream = vec![1.0, 2.0, 3.0, 4.0];
        add_scaled_rows(&mut stream, &[10.0, 20.0, 30.0, 40.0], None);
        assert_eq!(stream, vec![11.0, 22.0, 33.0, 44.0]);
        add_scaled_rows(&mut stream, &[1.0, 1.0, 2.0, 2.0], Some(&[0.5, -1.0]));
        assert_eq!(stream, vec![11.5, 21.0, 34.0, 42.0]);
    }
}
