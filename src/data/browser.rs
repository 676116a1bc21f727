//! Browser transport: `fetch` through gloo-net.

use bytes::Bytes;
use gloo_net::http::{Method, Request, Response};

use super::range::{HttpRangeSource, HttpResponse, Transport, TransportError};

/// `fetch` with plain GET/HEAD requests. The only header sent is `Range`, which is
/// CORS-safelisted for a single `bytes=a-b` range, so no preflight request is needed.
#[derive(Debug, Default, Clone, Copy)]
pub struct FetchTransport;

/// A file on an HTTP server, read from the browser.
pub type FetchSource = HttpRangeSource<FetchTransport>;

fn header_values(response: &Response) -> (Option<String>, Option<u64>) {
    let headers = response.headers();
    let content_range = headers.get("content-range");
    let content_length = headers.get("content-length").and_then(|v| v.parse().ok());
    (content_range, content_length)
}

impl Transport for FetchTransport {
    async fn get(&self, url: &str, range: Option<(u64, u64)>) -> Result<HttpResponse, TransportError> {
        let mut request = Request::get(url);
        if let Some((first, last)) = range {
            request = request.header("Range", &format!("bytes={first}-{last}"));
        }
        let response = request.send().await.map_err(|e| TransportError(e.to_string()))?;
        let (content_range, content_length) = header_values(&response);
        let status = response.status();
        let body = response.binary().await.map_err(|e| TransportError(e.to_string()))?;
        Ok(HttpResponse { status, content_range, content_length, body: Bytes::from(body) })
    }

    async fn head(&self, url: &str) -> Result<HttpResponse, TransportError> {
        let response = Request::get(url).method(Method::HEAD).send().await.map_err(|e| TransportError(e.to_string()))?;
        let (content_range, content_length) = header_values(&response);
        Ok(HttpResponse { status: response.status(), content_range, content_length, body: Bytes::new() })
    }

    async fn sleep_ms(&self, milliseconds: u32) {
        gloo_timers::future::TimeoutFuture::new(milliseconds).await;
    }
}
