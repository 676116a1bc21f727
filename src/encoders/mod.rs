//! Query encoders implemented with burn, and the loading of their weights.

pub mod dinov2;
pub mod farslip;
pub mod preprocess;
pub mod remote;
pub mod satclip;
pub mod satclip_vit;
pub mod siglip;
pub mod tokenize;
pub mod transformer;
pub mod weights;

#[cfg(test)]
mod testing;
