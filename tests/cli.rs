//! The `eee` command-line tool, run as a process.

use std::process::Command;

fn eee(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_eee")).args(args).output().unwrap();
    (output.status.success(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
}

#[test]
fn grid_cell_prints_id() {
    let (ok, stdout, _) = eee(&["grid", "cell", "30.32", "120.15"]);
    assert!(ok);
    assert_eq!(stdout.trim(), "337U_1155R");
    let (ok, stdout, _) = eee(&["grid", "cell", "-82.73", "-178.49"]);
    assert!(ok);
    assert_eq!(stdout.trim(), "922D_249L");
}

#[test]
fn grid_bounds_prints_corners() {
    let (ok, stdout, _) = eee(&["grid", "bounds", "1D_1L"]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["grid_row_u"], -1);
    assert_eq!(report["grid_col_r"], -1);
    assert_eq!(report["north"], 0.0);
    assert_eq!(report["east"], 0.0);
    assert!((report["south"].as_f64().unwrap() + 180.0 / 2004.0).abs() < 1e-12);
    assert_eq!(report["corners"].as_array().unwrap().len(), 4);
}

#[test]
fn grid_rejects_bad_input() {
    let (ok, _, stderr) = eee(&["grid", "cell", "86", "10"]);
    assert!(!ok);
    assert!(stderr.contains("latitude 86"), "{stderr}");
    let (ok, _, stderr) = eee(&["grid", "cell", "NaN", "10"]);
    assert!(!ok);
    assert!(stderr.contains("latitude NaN"), "{stderr}");
    let (ok, _, stderr) = eee(&["grid", "bounds", "12X_3R"]);
    assert!(!ok);
    assert!(stderr.contains("malformed"), "{stderr}");
}

#[test]
fn encode_location_prints_embedding() {
    let weights = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/satclip/location_encoder.safetensors");
    let (ok, stdout, stderr) = eee(&["encode", "location", "-4", "-63", "--weights", weights]);
    assert!(ok, "{stderr}");
    let embedding: Vec<f32> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(embedding.len(), 256);
    assert!(embedding.iter().all(|v| v.is_finite()));

    let (ok, _, stderr) = eee(&["encode", "location", "95", "0", "--weights", weights]);
    assert!(!ok);
    assert!(stderr.contains("latitude 95"), "{stderr}");
    let (ok, _, stderr) = eee(&["encode", "location", "0", "0", "--weights", "/nonexistent.safetensors"]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent.safetensors"), "{stderr}");
}

#[test]
fn search_by_tile_ranks_itself_first() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parquet/list_f16.parquet");
    let (ok, stdout, stderr) = eee(&["search", file, "--tile", "716U_81R", "--k", "3"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["tiles"], 6);
    assert_eq!(report["results"][0]["grid_cell"], "716U_81R");
    assert!((report["results"][0]["score"].as_f64().unwrap() - 1.0).abs() < 1e-3);
    assert_eq!(report["results"].as_array().unwrap().len(), 3);

    let (ok, _, stderr) = eee(&["search", file, "--tile", "1U_1R"]);
    assert!(!ok);
    assert!(stderr.contains("tile 1U_1R is not in"), "{stderr}");
}

#[test]
fn search_reads_several_files_as_one_dataset() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parquet");
    let (first, second) = (format!("{dir}/list_f16.parquet"), format!("{dir}/minimal.parquet"));
    let (ok, stdout, stderr) = eee(&["search", &first, &second, "--tile", "337U_1155R", "--k", "2"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["tiles"], 12);
    assert_eq!(report["results"][0]["grid_cell"], "337U_1155R");

    let (ok, _, stderr) = eee(&["search", "/nonexistent/tiles.parquet", "--tile", "1U_1R"]);
    assert!(!ok);
    assert!(stderr.contains("file /nonexistent/tiles.parquet does not exist"), "{stderr}");
}

#[test]
fn serve_rejects_missing_folder() {
    let (ok, _, stderr) = eee(&["serve", "--dir", "/nonexistent/dist", "--address", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/dist is not a folder"), "{stderr}");
}
