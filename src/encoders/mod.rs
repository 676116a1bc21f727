//! Query encoders implemented with burn, and the loading of their weights.

pub mod bands;
pub mod card;
pub mod clean;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert;
pub mod device;
pub mod dinov2;
pub mod farslip;
pub mod kernels;
mod html_entities;
pub mod preprocess;
pub mod query;
pub mod remote;
pub mod satclip;
pub mod satclip_vit;
pub mod siglip;
pub mod tokenize;
pub mod transformer;
pub mod weights;

#[cfg(test)]
mod testing;
