//! A small static file server that honours `Range`, with optional injected faults.
//!
//! `eee serve` uses it to serve the built app, and the tests use it as a loopback server that
//! misbehaves on purpose (ignores ranges, fails, cuts bodies short).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Faults to inject; the default is a well-behaved server.
#[derive(Debug, Default)]
pub struct Faults {
    /// Respond to range requests with 200 and the whole file.
    pub ignore_range: bool,
    /// Respond to this many GET requests with 503 before serving normally.
    pub fail_first: AtomicU32,
    /// Send only half the body of this many range responses.
    pub short_body_first: AtomicU32,
    /// Respond to HEAD with 405.
    pub reject_head: bool,
}

/// Counters of what the server did, for tests.
#[derive(Debug, Default)]
pub struct ServerLog {
    pub requests: AtomicU64,
    pub range_requests: AtomicU64,
}

/// A running server; it stops when the process exits.
pub struct StaticServer {
    pub port: u16,
    pub log: Arc<ServerLog>,
}

impl StaticServer {
    /// Serves `root` on `address` (such as `127.0.0.1:0`) from a background thread.
    pub fn start(root: impl Into<PathBuf>, address: &str, faults: Faults) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address)?;
        let port = listener.local_addr()?.port();
        let root = root.into();
        let faults = Arc::new(faults);
        let log = Arc::new(ServerLog::default());
        let server_log = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, faults, log) = (root.clone(), faults.clone(), server_log.clone());
                std::thread::spawn(move || {
                    if let Err(error) = handle(stream, &root, &faults, &log) {
                        log::debug!("serve: connection ended: {error}");
                    }
                });
            }
        });
        Ok(StaticServer { port, log })
    }

    /// Serves until the process is killed, logging each request to stderr.
    pub fn run_forever(root: impl Into<PathBuf>, address: &str) -> std::io::Result<()> {
        let root = root.into();
        let listener = TcpListener::bind(address)?;
        eprintln!("serving {} at http://{}/", root.display(), listener.local_addr()?);
        let faults = Arc::new(Faults::default());
        let log = Arc::new(ServerLog::default());
        for stream in listener.incoming().flatten() {
            let (root, faults, log) = (root.clone(), faults.clone(), log.clone());
            std::thread::spawn(move || {
                let _ = handle(stream, &root, &faults, &log);
            });
        }
        Ok(())
    }
}

/// Maps a request path to a file under `root`, rejecting `..` and absolute components.
fn resolve(root: &Path, request_path: &str) -> Option<PathBuf> {
    let path = request_path.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut resolved = root.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if resolved.is_dir() {
        resolved.push("index.html");
    }
    Some(resolved)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` against a file of `length` bytes.
/// `Some(None)` means the range cannot be satisfied.
fn parse_range(header: &str, length: u64) -> Option<Option<(u64, u64)>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let range = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (n > 0 && length > 0).then(|| (length.saturating_sub(n), length - 1))
        }
        (first, "") => {
            let first: u64 = first.parse().ok()?;
            (first < length).then_some((first, length - 1))
        }
        (first, last) => {
            let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
            (first <= last && first < length).then_some((first, last.min(length - 1)))
        }
    };
    Some(range)
}

fn handle(stream: TcpStream, root: &Path, faults: &Faults, log: &ServerLog) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut range_header = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("range")
            {
                range_header = Some(value.trim().to_string());
            }
        }
        log.requests.fetch_add(1, Ordering::Relaxed);
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        respond(&mut stream, method, target, range_header.as_deref(), root, faults, log)?;
    }
}

fn write_head(stream: &mut TcpStream, status: &str, headers: &[(&str, String)]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Content-Range, Content-Length\r\nAccept-Ranges: bytes\r\nCache-Control: no-cache\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

fn take_one(counter: &AtomicU32) -> bool {
    counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
}

fn respond(
    stream: &mut TcpStream,
    method: &str,
    target: &str,
    range_header: Option<&str>,
    root: &Path,
    faults: &Faults,
    log: &ServerLog,
) -> std::io::Result<()> {
    let empty = |stream: &mut TcpStream, status: &str| write_head(stream, status, &[("Content-Length", "0".to_string())]);
    if method == "HEAD" && faults.reject_head {
        return empty(stream, "405 Method Not Allowed");
    }
    if method != "GET" && method != "HEAD" {
        return empty(stream, "405 Method Not Allowed");
    }
    if method == "GET" && take_one(&faults.fail_first) {
        return empty(stream, "503 Service Unavailable");
    }
    let Some(path) = resolve(root, target) else {
        return empty(stream, "403 Forbidden");
    };
    let Ok(mut file) = std::fs::File::open(&path) else {
        return empty(stream, "404 Not Found");
    };
    let length = file.metadata()?.len();
    let kind = ("Content-Type", content_type(&path).to_string());
    let range = range_header.filter(|_| !faults.ignore_range).and_then(|h| parse_range(h, length));
    let (status, first, last) = match range {
        Some(None) => {
            let headers = [("Content-Range", format!("bytes */{length}")), ("Content-Length", "0".to_string())];
            return write_head(stream, "416 Range Not Satisfiable", &headers);
        }
        Some(Some((first, last))) => {
            log.range_requests.fetch_add(1, Ordering::Relaxed);
            ("206 Partial Content", first, last)
        }
        None => ("200 OK", 0, length.saturating_sub(1)),
    };
    let count = if length == 0 { 0 } else { last - first + 1 };
    let mut headers = vec![kind, ("Content-Length", count.to_string())];
    if status.starts_with("206") {
        headers.push(("Content-Range", format!("bytes {first}-{last}/{length}")));
    }
    write_head(stream, status, &headers)?;
    if method == "HEAD" {
        return Ok(());
    }
    let cut_short = status.starts_with("206") && take_one(&faults.short_body_first);
    let send = if cut_short { count / 2 } else { count };
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(first))?;
    std::io::copy(&mut file.take(send), stream)?;
    if cut_short {
        // Close the connection so the client sees a body shorter than Content-Length.
        stream.shutdown(std::net::Shutdown::Both)?;
        return Err(std::io::Error::other("body cut short on purpose"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_range_forms() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-200", 100), Some(Some((90, 99))));
        assert_eq!(parse_range("bytes=95-", 100), Some(Some((95, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Some((90, 99))));
        assert_eq!(parse_range("bytes=100-120", 100), Some(None));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }

    #[test]
    fn rejects_paths_outside_root() {
        let root = Path::new("/srv/site");
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/%2e%2e/%2e%2e/etc"), None);
        assert_eq!(resolve(root, "/demo/x.parquet?v=1"), Some(PathBuf::from("/srv/site/demo/x.parquet")));
    }
}
