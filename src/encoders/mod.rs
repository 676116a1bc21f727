//! Query encoders implemented with burn, and the loading of their weights.

pub mod farslip;
pub mod satclip;
pub mod siglip;
pub mod transformer;
pub mod weights;

#[cfg(test)]
mod testing;
