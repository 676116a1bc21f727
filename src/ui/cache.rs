//! Cache Storage for downloaded encoder weights and tokenizers, so that a second visit loads
//! them without the network. Failures only cost a download: they are logged, not raised,
//! because private windows and some embedding pages have no Cache Storage.

use js_sys::{ArrayBuffer, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, Response};

/// Cache name; a new version drops nothing, but entries of older versions are not read.
const CACHE_NAME: &str = "eee-weights-v1";

async fn open() -> Result<Cache, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let caches = window.caches()?;
    let cache = JsFuture::from(caches.open(CACHE_NAME)).await?;
    cache.dyn_into::<Cache>()
}

/// Bytes stored under `key`, or `None` when absent or when Cache Storage is unavailable.
pub async fn get(key: &str) -> Option<Vec<u8>> {
    let lookup = async {
        let cache = open().await?;
        let found = JsFuture::from(cache.match_with_str(key)).await?;
        if found.is_undefined() {
            return Ok::<_, JsValue>(None);
        }
        let response: Response = found.dyn_into()?;
        let buffer: ArrayBuffer = JsFuture::from(response.array_buffer()?).await?.dyn_into()?;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    };
    match lookup.await {
        Ok(bytes) => bytes,
        Err(error) => {
            log::warn!("cache: reading {key} failed: {error:?}");
            None
        }
    }
}

/// Stores `bytes` under `key`; a failure (quota, no Cache Storage) is logged.
pub async fn put(key: &str, bytes: &[u8]) {
    let store = async {
        let cache = open().await?;
        let body = Uint8Array::from(bytes);
        let response = Response::new_with_opt_buffer_source(Some(&body))?;
        let promise: Promise = cache.put_with_str(key, &response);
        JsFuture::from(promise).await?;
        Ok::<_, JsValue>(())
    };
    if let Err(error) = store.await {
        log::warn!("cache: storing {key} ({} bytes) failed: {error:?}", bytes.len());
    }
}
