//! Entry point of the browser app; Trunk builds this binary for wasm32.

#[cfg(target_arch = "wasm32")]
fn main() {
    eee::ui::mount();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in a browser: build it with `trunk build` (see the README), or use the `eee` tool natively");
    std::process::exit(2);
}
