//! The HTTP range reader against a loopback server that misbehaves on purpose.

use std::sync::atomic::{AtomicU32, Ordering};

use eee::data::geoparquet::{ReadOptions, read_table};
use eee::data::native::UreqTransport;
use eee::data::range::{HttpRangeSource, RangeError, RangeSource, RetryPolicy};
use eee::data::server::{Faults, StaticServer};
use futures::executor::block_on;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parquet");

fn serve(faults: Faults) -> StaticServer {
    StaticServer::start(FIXTURES, "127.0.0.1:0", faults).unwrap()
}

fn source(server: &StaticServer, file: &str, known_length: Option<u64>) -> HttpRangeSource<UreqTransport> {
    let url = format!("http://127.0.0.1:{}/{file}", server.port);
    HttpRangeSource::new(url, UreqTransport::default(), known_length).with_retry(RetryPolicy { max_attempts: 3, first_delay_ms: 1 })
}

fn file_bytes(file: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{file}")).unwrap()
}

#[test]
fn partial_content_returns_requested_bytes() {
    let server = serve(Faults::default());
    let source = source(&server, "list_f32.parquet", None);
    let expected = file_bytes("list_f32.parquet");
    assert_eq!(block_on(source.len()).unwrap(), expected.len() as u64);
    let bytes = block_on(source.read(100, 250)).unwrap();
    assert_eq!(&bytes[..], &expected[100..250]);
    assert_eq!(server.log.range_requests.load(Ordering::Relaxed), 1);
}

#[test]
fn whole_body_is_used_when_range_is_ignored() {
    let server = serve(Faults { ignore_range: true, ..Faults::default() });
    let source = source(&server, "list_f32.parquet", None);
    let expected = file_bytes("list_f32.parquet");
    assert_eq!(&block_on(source.read(10, 20)).unwrap()[..], &expected[10..20]);
    // The second read is served from the body kept from the first.
    let requests_before = server.log.requests.load(Ordering::Relaxed);
    assert_eq!(&block_on(source.read(500, 600)).unwrap()[..], &expected[500..600]);
    assert_eq!(server.log.requests.load(Ordering::Relaxed), requests_before);
}

#[test]
fn transient_failures_are_retried() {
    let server = serve(Faults { fail_first: AtomicU32::new(2), ..Faults::default() });
    let source = source(&server, "list_f32.parquet", Some(16_487));
    let expected = file_bytes("list_f32.parquet");
    assert_eq!(&block_on(source.read(0, 64)).unwrap()[..], &expected[..64]);
    assert_eq!(source.stats().requests, 3);
}

#[test]
fn retries_are_bounded() {
    let server = serve(Faults { fail_first: AtomicU32::new(100), ..Faults::default() });
    let source = source(&server, "list_f32.parquet", Some(16_487));
    let error = block_on(source.read(0, 64)).unwrap_err();
    assert!(matches!(error, RangeError::Http { status: 503, attempts: 3, .. }), "{error}");
}

#[test]
fn short_bodies_are_retried() {
    let server = serve(Faults { short_body_first: AtomicU32::new(1), ..Faults::default() });
    let source = source(&server, "list_f32.parquet", Some(16_487));
    let expected = file_bytes("list_f32.parquet");
    assert_eq!(&block_on(source.read(1000, 3000)).unwrap()[..], &expected[1000..3000]);
}

#[test]
fn unsatisfiable_range_is_reported() {
    let server = serve(Faults::default());
    // The catalog claims a size larger than the file.
    let source = source(&server, "list_f32.parquet", Some(1_000_000));
    let error = block_on(source.read(900_000, 900_100)).unwrap_err();
    assert!(matches!(error, RangeError::RangeNotSatisfiable { length: 16_487, .. }), "{error}");
}

#[test]
fn missing_file_is_not_found() {
    let server = serve(Faults::default());
    let source = source(&server, "absent.parquet", None);
    let error = block_on(source.len()).unwrap_err();
    assert!(matches!(error, RangeError::NotFound { status: 404, .. }), "{error}");
    assert!(error.to_string().contains("absent.parquet"));
}

#[test]
fn length_without_head() {
    let server = serve(Faults { reject_head: true, ..Faults::default() });
    let source = source(&server, "list_f32.parquet", None);
    assert_eq!(block_on(source.len()).unwrap(), 16_487);
}

#[test]
fn unreachable_server_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/x.parquet");
    let source = HttpRangeSource::new(url, UreqTransport::default(), Some(100)).with_retry(RetryPolicy { max_attempts: 2, first_delay_ms: 1 });
    let error = block_on(source.read(0, 10)).unwrap_err();
    assert!(matches!(error, RangeError::Network { attempts: 2, .. }), "{error}");
}

#[test]
fn geoparquet_over_http_with_faults() {
    let server = serve(Faults { fail_first: AtomicU32::new(1), short_body_first: AtomicU32::new(1), ..Faults::default() });
    let source = source(&server, "multi_row_group.parquet", None);
    let options = ReadOptions { footer_guess_bytes: 2048, max_request_bytes: 4096, ..ReadOptions::default() };
    let table = block_on(read_table(&source, &options, &mut |_, _| {})).unwrap();
    assert_eq!(table.len(), 30);
    assert_eq!(table.grid_cell[0], "337U_1155R");
}
