//! The burn device that runs the query encoders: the browser's WebGPU adapter when it has one,
//! burn's ndarray backend on the CPU otherwise.
//!
//! WebGPU limits the size of one storage-buffer binding (`maxStorageBufferBindingSize`, 128 MiB
//! by default). [`EncoderDevice::tensor_limit`] carries that limit to the weight loader, which
//! refuses a tensor above it instead of letting the adapter fail later. The token-embedding
//! tables, the only tensors near that size, stay in host memory
//! ([`TokenTable`](super::transformer::TokenTable)).

use burn::prelude::Device;

/// The backend an [`EncoderDevice`] runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// burn's wgpu backend on the browser's WebGPU adapter.
    WebGpu {
        /// The adapter as the browser describes it; empty where the browser withholds it.
        adapter: String,
    },
    /// burn's ndarray backend.
    Cpu,
}

/// A device for the query encoders, with the limit its buffers impose on one tensor.
#[derive(Debug, Clone)]
pub struct EncoderDevice {
    pub device: Device,
    pub backend: Backend,
    /// Largest tensor, in bytes as f32, that one buffer on this device may hold.
    pub tensor_limit: Option<u64>,
}

impl EncoderDevice {
    /// burn's ndarray backend on the CPU; it has no limit on one tensor.
    pub fn cpu() -> Self {
        #[allow(deprecated)] // ndarray is the CPU backend this crate is tested on
        let device = Device::ndarray();
        EncoderDevice { device, backend: Backend::Cpu, tensor_limit: None }
    }

    pub fn is_gpu(&self) -> bool {
        matches!(self.backend, Backend::WebGpu { .. })
    }

    /// Returns the backend's name for the status line.
    pub fn label(&self) -> String {
        match &self.backend {
            Backend::WebGpu { adapter } if adapter.is_empty() => "WebGPU".to_string(),
            Backend::WebGpu { adapter } => format!("WebGPU ({adapter})"),
            Backend::Cpu => "CPU (burn ndarray)".to_string(),
        }
    }
}

/// Sets up burn's wgpu backend on the browser's WebGPU adapter.
///
/// The error message explains, for the status line, why WebGPU cannot be used. The caller then
/// runs the encoders on [`EncoderDevice::cpu`].
#[cfg(target_arch = "wasm32")]
pub async fn webgpu() -> Result<EncoderDevice, String> {
    use burn::tensor::wgpu::WgpuBackend;

    // Without `navigator.gpu` the browser has no WebGPU at all; asking wgpu would only fail later
    // with a less helpful message.
    let navigator = web_sys::window().map(|w| w.navigator()).ok_or("no browser window")?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser does not offer WebGPU (navigator.gpu is missing)".to_string());
    }
    // Request the adapter first: without one, the browser has WebGPU but cannot use a GPU, and
    // this message is plainer than wgpu's error.
    let description = browser_adapter(&gpu).await.ok_or("the browser has no WebGPU adapter: its GPU access is disabled or blocklisted (chrome://gpu gives the reason)")?;
    let (device, setup) = Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_with_setup_async()
        .await
        .map_err(|e| format!("WebGPU set-up failed: {e}"))?;
    let info = setup.adapter.get_info();
    let mut adapter = [info.name.as_str(), info.driver.as_str(), info.driver_info.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if adapter.is_empty() {
        adapter = description;
    }
    let limits = setup.device.limits();
    let tensor_limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
    Ok(EncoderDevice { device, backend: Backend::WebGpu { adapter }, tensor_limit: Some(tensor_limit) })
}

/// Vendor and architecture of the browser's default adapter (`GPUAdapterInfo`), such as
/// "google swiftshader", or `None` when the browser offers no adapter. wgpu leaves its own
/// adapter description empty in the browser.
#[cfg(target_arch = "wasm32")]
async fn browser_adapter(gpu: &wasm_bindgen::JsValue) -> Option<String> {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    let read = |object: &JsValue, key: &str| Reflect::get(object, &key.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let request = Reflect::get(gpu, &"requestAdapter".into()).ok()?.dyn_into::<Function>().ok()?;
    let promise = request.call0(gpu).ok()?.dyn_into::<Promise>().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    if adapter.is_null() || adapter.is_undefined() {
        return None;
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    Some([read(&info, "vendor"), read(&info, "architecture")].into_iter().filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" "))
}
