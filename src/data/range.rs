//! Byte-range reads from local files and HTTP servers.
//!
//! [`RangeSource`] is the one interface the Parquet reader uses. [`HttpRangeSource`] implements
//! the HTTP protocol once, over a small platform [`Transport`] (browser `fetch` or a native
//! client). It sends a plain `GET` with `Range: bytes=a-b` and no other custom header, so browsers
//! need no CORS preflight. It copes with servers that ignore the range (200 with the whole body),
//! reject it (416) or cut the body short.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

/// Errors from range reads. Every variant names the file or URL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RangeError {
    #[error("{url} was not found (HTTP {status}): check the URL in the catalog or pick a mirror")]
    NotFound { url: String, status: u16 },
    #[error("{url} failed with HTTP {status} after {attempts} attempt(s): try again later or pick a mirror")]
    Http { url: String, status: u16, attempts: u32 },
    #[error(
        "{url} could not be reached after {attempts} attempt(s) ({message}): check the network and the URL; in a browser, the server must also allow cross-origin requests (CORS)"
    )]
    Network { url: String, message: String, attempts: u32 },
    #[error("file {path} does not exist: check the path")]
    FileNotFound { path: String },
    #[error("{url} rejected the byte range {start}-{end} (HTTP 416): the file is shorter than its catalog entry or index says ({length} bytes known)")]
    RangeNotSatisfiable { url: String, start: u64, end: u64, length: u64 },
    #[error("{url} returned {received} bytes for the range {start}-{end} after {attempts} attempt(s): the server or a proxy cut the response short")]
    ShortBody { url: String, start: u64, end: u64, received: u64, attempts: u32 },
    #[error("{url} does not report its size: the server sent no Content-Length or Content-Range; add the size to the catalog entry")]
    UnknownLength { url: String },
    #[error("byte range {start}-{end} is outside {url}, which has {length} bytes")]
    OutOfBounds { url: String, start: u64, end: u64, length: u64 },
    #[error("reading {url} failed: {message}")]
    Io { url: String, message: String },
}

/// Requests and bytes fetched by a source, for the status line and the benchmarks.
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    pub bytes: u64,
}

impl Counters {
    pub fn record(&self, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        Stats { requests: self.requests.load(Ordering::Relaxed), bytes: self.bytes.load(Ordering::Relaxed) }
    }
}

/// Random access to the bytes of one file.
#[allow(async_fn_in_trait, clippy::len_without_is_empty)]
pub trait RangeSource {
    /// Returns the URL or path, for messages.
    fn name(&self) -> &str;

    /// Size of the file in bytes.
    async fn len(&self) -> Result<u64, RangeError>;

    /// Reads the bytes `start..end` (end exclusive).
    async fn read(&self, start: u64, end: u64) -> Result<Bytes, RangeError>;

    /// Requests and bytes fetched so far.
    fn stats(&self) -> Stats;
}

/// One HTTP response, reduced to what the range protocol needs.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// The `Content-Range` header, if the platform exposes it.
    pub content_range: Option<String>,
    /// The `Content-Length` header.
    pub content_length: Option<u64>,
    pub body: Bytes,
}

/// A failure below HTTP: DNS, connection, CORS, an aborted body.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportError(pub String);

/// The platform's HTTP client.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends `GET url`, with `Range: bytes=first-last` when `range` is given (both inclusive).
    async fn get(&self, url: &str, range: Option<(u64, u64)>) -> Result<HttpResponse, TransportError>;

    /// Sends `HEAD url`.
    async fn head(&self, url: &str) -> Result<HttpResponse, TransportError>;

    /// Waits before a retry.
    async fn sleep_ms(&self, milliseconds: u32);
}

/// Retry policy for transient failures (network errors, HTTP 408, 429 and 5xx, short bodies).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Delay before the second attempt; it doubles for each later one.
    pub first_delay_ms: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, first_delay_ms: 250 }
    }
}

/// Parses the total size from a `Content-Range: bytes a-b/total` header.
pub fn content_range_total(header: &str) -> Option<u64> {
    let (_, total) = header.trim().strip_prefix("bytes")?.rsplit_once('/')?;
    total.trim().parse().ok()
}

/// Parses the first byte position from a `Content-Range: bytes a-b/total` header.
fn content_range_start(header: &str) -> Option<u64> {
    let range = header.trim().strip_prefix("bytes")?.trim().split('/').next()?;
    range.split('-').next()?.trim().parse().ok()
}

fn is_transient(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// A file on an HTTP server, read with range requests.
pub struct HttpRangeSource<T: Transport> {
    url: String,
    transport: T,
    retry: RetryPolicy,
    /// Size from the catalog or from the first response.
    length: Mutex<Option<u64>>,
    /// The whole file, kept once a server has ignored a range and sent everything.
    whole_body: Mutex<Option<Bytes>>,
    counters: Counters,
}

enum Attempt {
    Done(Bytes),
    Retry(RangeError),
}

impl<T: Transport> HttpRangeSource<T> {
    /// Creates a source for `url`. A `known_length` (from a catalog) saves a `HEAD` request.
    pub fn new(url: impl Into<String>, transport: T, known_length: Option<u64>) -> Self {
        HttpRangeSource {
            url: url.into(),
            transport,
            retry: RetryPolicy::default(),
            length: Mutex::new(known_length),
            whole_body: Mutex::new(None),
            counters: Counters::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn cached_whole_body(&self) -> Option<Bytes> {
        self.whole_body.lock().ok()?.clone()
    }

    fn remember_length(&self, length: u64) {
        if let Ok(mut known) = self.length.lock() {
            known.get_or_insert(length);
        }
    }

    fn known_length(&self) -> Option<u64> {
        self.length.lock().ok().and_then(|l| *l)
    }

    /// Runs `attempt` up to `max_attempts` times with exponential back-off.
    async fn with_retries<F, Fut>(&self, mut attempt: F) -> Result<Bytes, RangeError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Result<Attempt, RangeError>>,
    {
        let mut delay = self.retry.first_delay_ms;
        let mut number = 1;
        loop {
            match attempt(number).await? {
                Attempt::Done(bytes) => return Ok(bytes),
                Attempt::Retry(error) if number >= self.retry.max_attempts => return Err(error),
                Attempt::Retry(error) => {
                    log::warn!("range: retrying {} after attempt {number}: {error}", self.url);
                    self.transport.sleep_ms(delay).await;
                    delay = delay.saturating_mul(2);
                    number += 1;
                }
            }
        }
    }

    /// Sends one GET of `start..end` and classifies the outcome as success, a retryable failure
    /// or a final error.
    async fn attempt_read(&self, start: u64, end: u64, attempts: u32) -> Result<Attempt, RangeError> {
        let url = self.url.clone();
        let response = match self.transport.get(&url, Some((start, end - 1))).await {
            Ok(response) => response,
            Err(TransportError(message)) => return Ok(Attempt::Retry(RangeError::Network { url, message, attempts })),
        };
        self.counters.record(response.body.len() as u64);
        let status = response.status;
        match status {
            206 => {
                if let Some(total) = response.content_range.as_deref().and_then(content_range_total) {
                    self.remember_length(total);
                }
                let starts_right = response.content_range.as_deref().and_then(content_range_start).is_none_or(|s| s == start);
                let requested = (end - start) as usize;
                if !starts_right || response.body.len() < requested {
                    let received = response.body.len() as u64;
                    return Ok(Attempt::Retry(RangeError::ShortBody { url, start, end, received, attempts }));
                }
                Ok(Attempt::Done(response.body.slice(..requested)))
            }
            200 => {
                // The server ignored the range and sent the whole file: keep it for later reads.
                let body = response.body;
                if let Some(declared) = response.content_length.filter(|&l| l != body.len() as u64) {
                    let received = body.len() as u64;
                    log::warn!("range: {url} declared {declared} bytes but sent {received}");
                    return Ok(Attempt::Retry(RangeError::ShortBody { url, start, end, received, attempts }));
                }
                log::warn!("range: {url} ignores Range requests; using the whole body of {} bytes", body.len());
                self.remember_length(body.len() as u64);
                if let Ok(mut cache) = self.whole_body.lock() {
                    *cache = Some(body.clone());
                }
                slice_whole(&url, &body, start, end).map(Attempt::Done)
            }
            416 => {
                let length = response.content_range.as_deref().and_then(content_range_total).or(self.known_length()).unwrap_or(0);
                Err(RangeError::RangeNotSatisfiable { url, start, end, length })
            }
            404 | 410 => Err(RangeError::NotFound { url, status }),
            s if is_transient(s) => Ok(Attempt::Retry(RangeError::Http { url, status, attempts })),
            _ => Err(RangeError::Http { url, status, attempts }),
        }
    }

    /// Finds the size with `HEAD`, or failing that with a one-byte range request.
    async fn discover_length(&self) -> Result<u64, RangeError> {
        let url = self.url.clone();
        if let Ok(response) = self.transport.head(&url).await {
            self.counters.record(0);
            match response.status {
                200 | 204 => {
                    if let Some(length) = response.content_length {
                        return Ok(length);
                    }
                }
                404 | 410 => return Err(RangeError::NotFound { url, status: response.status }),
                _ => {}
            }
        }
        // Some hosts reject HEAD or omit Content-Length: ask for one byte and read the total.
        let response = self
            .transport
            .get(&url, Some((0, 0)))
            .await
            .map_err(|TransportError(message)| RangeError::Network { url: url.clone(), message, attempts: 1 })?;
        self.counters.record(response.body.len() as u64);
        match response.status {
            206 => response.content_range.as_deref().and_then(content_range_total).ok_or(RangeError::UnknownLength { url }),
            200 => {
                let length = response.body.len() as u64;
                if let Ok(mut cache) = self.whole_body.lock() {
                    *cache = Some(response.body);
                }
                Ok(length)
            }
            404 | 410 => Err(RangeError::NotFound { url, status: response.status }),
            status => Err(RangeError::Http { url, status, attempts: 1 }),
        }
    }
}

fn slice_whole(url: &str, body: &Bytes, start: u64, end: u64) -> Result<Bytes, RangeError> {
    let length = body.len() as u64;
    if end > length {
        return Err(RangeError::OutOfBounds { url: url.to_string(), start, end, length });
    }
    Ok(body.slice(start as usize..end as usize))
}

impl<T: Transport> RangeSource for HttpRangeSource<T> {
    fn name(&self) -> &str {
        &self.url
    }

    async fn len(&self) -> Result<u64, RangeError> {
        if let Some(length) = self.known_length() {
            return Ok(length);
        }
        let length = self.discover_length().await?;
        self.remember_length(length);
        Ok(length)
    }

    async fn read(&self, start: u64, end: u64) -> Result<Bytes, RangeError> {
        if end <= start {
            return Ok(Bytes::new());
        }
        if let Some(body) = self.cached_whole_body() {
            return slice_whole(&self.url, &body, start, end);
        }
        if let Some(length) = self.known_length().filter(|&l| end > l) {
            return Err(RangeError::OutOfBounds { url: self.url.clone(), start, end, length });
        }
        self.with_retries(|attempts| self.attempt_read(start, end, attempts)).await
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

/// An in-memory file, for tests and for files the user drops into the page.
pub struct MemorySource {
    name: String,
    bytes: Bytes,
    counters: Counters,
}

impl MemorySource {
    pub fn new(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        MemorySource { name: name.into(), bytes: bytes.into(), counters: Counters::default() }
    }
}

impl RangeSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn len(&self) -> Result<u64, RangeError> {
        Ok(self.bytes.len() as u64)
    }

    async fn read(&self, start: u64, end: u64) -> Result<Bytes, RangeError> {
        let bytes = slice_whole(&self.name, &self.bytes, start, end)?;
        self.counters.record(bytes.len() as u64);
        Ok(bytes)
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}
