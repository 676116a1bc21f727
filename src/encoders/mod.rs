//! Query encoders implemented with burn, and the loading of their weights.

pub mod satclip;
pub mod weights;
