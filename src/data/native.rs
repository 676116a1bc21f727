//! Native range sources: local files and HTTP through `ureq`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use super::range::{Counters, HttpRangeSource, HttpResponse, RangeError, RangeSource, Stats, Transport, TransportError};

/// A local file.
pub struct FileSource {
    path: PathBuf,
    name: String,
    counters: Counters,
}

impl FileSource {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name = path.display().to_string();
        FileSource { path, name, counters: Counters::default() }
    }

    fn io_error(&self, error: std::io::Error) -> RangeError {
        if error.kind() == std::io::ErrorKind::NotFound {
            RangeError::FileNotFound { path: self.name.clone() }
        } else {
            RangeError::Io { url: self.name.clone(), message: error.to_string() }
        }
    }
}

impl RangeSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn len(&self) -> Result<u64, RangeError> {
        std::fs::metadata(&self.path).map(|m| m.len()).map_err(|e| self.io_error(e))
    }

    async fn read(&self, start: u64, end: u64) -> Result<Bytes, RangeError> {
        let length = self.len().await?;
        if end > length || start > end {
            return Err(RangeError::OutOfBounds { url: self.name.clone(), start, end, length });
        }
        let mut file = File::open(&self.path).map_err(|e| self.io_error(e))?;
        file.seek(SeekFrom::Start(start)).map_err(|e| self.io_error(e))?;
        let mut buffer = vec![0u8; (end - start) as usize];
        file.read_exact(&mut buffer).map_err(|e| self.io_error(e))?;
        self.counters.record(buffer.len() as u64);
        Ok(Bytes::from(buffer))
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

/// Blocking HTTP client for the command-line tool and native tests.
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl Default for UreqTransport {
    fn default() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        UreqTransport { agent }
    }
}

impl UreqTransport {
    fn convert(&self, mut response: ureq::http::Response<ureq::Body>) -> Result<HttpResponse, TransportError> {
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_range = header("content-range");
        let content_length = header("content-length").and_then(|v| v.parse().ok());
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| TransportError(e.to_string()))?;
        Ok(HttpResponse { status, content_range, content_length, body: Bytes::from(body) })
    }
}

impl Transport for UreqTransport {
    async fn get(&self, url: &str, range: Option<(u64, u64)>) -> Result<HttpResponse, TransportError> {
        let mut request = self.agent.get(url);
        if let Some((first, last)) = range {
            request = request.header("Range", &format!("bytes={first}-{last}"));
        }
        let response = request.call().map_err(|e| TransportError(e.to_string()))?;
        self.convert(response)
    }

    async fn head(&self, url: &str) -> Result<HttpResponse, TransportError> {
        let mut response = self.agent.head(url).call().map_err(|e| TransportError(e.to_string()))?;
        // A HEAD response has no body; only the headers matter.
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_range = header("content-range");
        let content_length = header("content-length").and_then(|v| v.parse().ok());
        let status = response.status().as_u16();
        let _ = response.body_mut();
        Ok(HttpResponse { status, content_range, content_length, body: Bytes::new() })
    }

    async fn sleep_ms(&self, milliseconds: u32) {
        std::thread::sleep(Duration::from_millis(u64::from(milliseconds)));
    }
}

/// A local path or an `http(s)://` URL.
pub enum NativeSource {
    File(FileSource),
    Http(HttpRangeSource<UreqTransport>),
}

impl NativeSource {
    pub fn open(location: &str) -> Self {
        if location.starts_with("http://") || location.starts_with("https://") {
            NativeSource::Http(HttpRangeSource::new(location, UreqTransport::default(), None))
        } else {
            NativeSource::File(FileSource::new(location))
        }
    }
}

impl RangeSource for NativeSource {
    fn name(&self) -> &str {
        match self {
            NativeSource::File(s) => s.name(),
            NativeSource::Http(s) => s.name(),
        }
    }

    async fn len(&self) -> Result<u64, RangeError> {
        match self {
            NativeSource::File(s) => s.len().await,
            NativeSource::Http(s) => s.len().await,
        }
    }

    async fn read(&self, start: u64, end: u64) -> Result<Bytes, RangeError> {
        match self {
            NativeSource::File(s) => s.read(start, end).await,
            NativeSource::Http(s) => s.read(start, end).await,
        }
    }

    fn stats(&self) -> Stats {
        match self {
            NativeSource::File(s) => s.stats(),
            NativeSource::Http(s) => s.stats(),
        }
    }
}
