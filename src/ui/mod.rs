//! The browser app: URL parameters and map geometry (plain Rust, tested natively), and the
//! Leptos components with their data loading (wasm32 only).

pub mod params;
pub mod view;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod cache;
#[cfg(target_arch = "wasm32")]
mod loader;
#[cfg(target_arch = "wasm32")]
mod map;

#[cfg(target_arch = "wasm32")]
pub use app::mount;
