//! Element-wise activation kernels for the CPU backend.
//!
//! burn's ndarray backend builds GELU from five tensor operations and evaluates erf per element
//! in f64 (`libm::erf`), which took about a quarter of FarSLIP's text tower on the CPU. These
//! kernels make one pass over the values in f32 with branch-free arithmetic, which the compiler
//! vectorises (WebAssembly SIMD in the browser). On the WebGPU device the encoders keep burn's
//! own operations.

use burn::prelude::*;

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

/// Applies `kernel` to the tensor's values on the host and returns a tensor of the same shape on
/// the same device. On burn's ndarray backend a tensor that is not shared moves out and back
/// without a copy.
pub fn map_on_host<const D: usize>(x: Tensor<D>, kernel: fn(&mut [f32])) -> Tensor<D> {
    let device = x.device();
    let shape = x.shape();
    let data = x.into_data().convert::<f32>();
    let mut values = match data.try_into_vec::<f32>() {
        Ok(values) => values,
        // `convert` has just made the values f32, so this cannot fail.
        Err(error) => unreachable!("f32 tensor data: {error:?}"),
    };
    kernel(&mut values);
    Tensor::from_data(TensorData::new(values, shape), &device)
}

/// Whether `device` is burn's ndarray (CPU) device, where the kernels above replace burn's
/// element-wise operations.
pub fn runs_on_host(device: &Device) -> bool {
    #[allow(deprecated)] // ndarray is the CPU backend this crate uses
    let cpu = Device::ndarray();
    *device == cpu
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f32 step of 2⁻¹² on [−6, 6], plus the special values.
    fn grid() -> Vec<f32> {
        (-6 * 4096..=6 * 4096).map(|i| i as f32 / 4096.0).collect()
    }

    #[test]
    fn erf_is_within_four_tenths_of_a_millionth_of_libm() {
        let worst = grid().into_iter().map(|x| (f64::from(erf(x)) - libm::erf(f64::from(x))).abs()).fold(0.0, f64::max);
        assert!(worst < 4e-7, "largest error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(f32::NAN).is_nan());
        assert_eq!(erf(f32::INFINITY), 1.0);
        assert_eq!(erf(f32::NEG_INFINITY), -1.0);
    }

    /// The three activations against their definitions evaluated in f64.
    #[test]
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

    #[test]
    fn host_map_keeps_shape_and_device() {
        #[allow(deprecated)]
        let device = Device::ndarray();
        assert!(runs_on_host(&device));
        let x = Tensor::<2>::from_data(TensorData::new(vec![-1.0f32, 0.0, 1.0, 2.0, 3.0, 4.0], [2, 3]), &device);
        let y = map_on_host(x.clone(), gelu_erf_in_place);
        assert_eq!(y.dims(), [2, 3]);
        let expected = burn::tensor::activation::gelu(x).into_data().try_to_vec::<f32>().unwrap();
        for (a, b) in y.into_data().try_to_vec::<f32>().unwrap().iter().zip(&expected) {
            assert!((a - b).abs() < 1e-6, "{a} against {b}");
        }
    }
}
