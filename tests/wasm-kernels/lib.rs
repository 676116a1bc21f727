//! The CPU kernels, compiled on their own for their tests on wasm32.

#[path = "../../src/encoders/kernels.rs"]
pub mod kernels;
