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

    let (ok, _, stderr) = eee(&["search", file, "--tile", "716U_81R", "--k", "0"]);
    assert!(!ok);
    assert!(stderr.contains("--k 0"), "{stderr}");
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

const ENCODERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/encoders");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples");

/// Reads a reference row from `<model>/queries.safetensors` (written by dev/make_query_fixtures.py).
fn query_reference(model: &str, name: &str) -> Vec<f32> {
    let bytes = std::fs::read(format!("{ENCODERS}/{model}/queries.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = tensors.tensor(name).unwrap();
    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("eee-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn encode_image_matches_transformers() {
    let card = format!("{ENCODERS}/dinov2/card.json");
    let weights = format!("{ENCODERS}/dinov2/tiny.safetensors");
    let (ok, stdout, stderr) = eee(&["encode", "image", &format!("{EXAMPLES}/example2.png"), "--model", &card, "--weights", &weights]);
    assert!(ok, "{stderr}");
    let ours: Vec<f32> = serde_json::from_str(&stdout).unwrap();
    let expected = query_reference("dinov2", "image_example2");
    assert_eq!(ours.len(), expected.len());
    assert!(cosine(&ours, &expected) >= 0.9999, "cosine {}", cosine(&ours, &expected));

    let (ok, _, stderr) = eee(&["encode", "image", &format!("{ENCODERS}/dinov2/card.json"), "--model", &card, "--weights", &weights]);
    assert!(!ok);
    assert!(stderr.contains("card.json"), "{stderr}");
}

#[test]
fn encode_text_matches_transformers() {
    let card = format!("{ENCODERS}/siglip/card.json");
    let weights = format!("{ENCODERS}/siglip/tiny.safetensors");
    let tokenizer = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizers/t5like_unigram.tokenizer.json");
    let bytes = std::fs::read(format!("{ENCODERS}/siglip/queries.safetensors")).unwrap();
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let description: serde_json::Value = serde_json::from_str(&metadata.metadata().as_ref().unwrap()["fixture"]).unwrap();
    let prompt = description["prompts"][1].as_str().unwrap();

    let (ok, stdout, stderr) = eee(&["encode", "text", prompt, "--model", &card, "--weights", &weights, "--tokenizer", tokenizer]);
    assert!(ok, "{stderr}");
    let ours: Vec<f32> = serde_json::from_str(&stdout).unwrap();
    let expected = query_reference("siglip", "text_1");
    assert!(cosine(&ours, &expected) >= 0.9999, "cosine {}", cosine(&ours, &expected));

    // DINOv2 has no text tower.
    let (ok, _, stderr) = eee(&["encode", "text", "a glacier", "--model", &format!("{ENCODERS}/dinov2/card.json"), "--weights", &weights, "--tokenizer", tokenizer]);
    assert!(!ok);
    assert!(stderr.contains("no text tower"), "{stderr}");
}

#[test]
fn convert_pickle_then_encode() {
    let out = scratch_dir("convert");
    let card = format!("{ENCODERS}/farslip/card.json");
    let out_dir = out.to_str().unwrap();
    let (ok, _, stderr) = eee(&["convert", "--input", &format!("{ENCODERS}/farslip/tiny.pt"), "--model", &card, "--out-dir", out_dir]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("text.safetensors"), "{stderr}");
    assert!(stderr.contains("image.safetensors"), "{stderr}");

    let image_weights = out.join("image.safetensors");
    let (ok, stdout, stderr) = eee(&["encode", "image", &format!("{EXAMPLES}/example1.png"), "--model", &card, "--weights", image_weights.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let ours: Vec<f32> = serde_json::from_str(&stdout).unwrap();
    // f16 weights: the embedding stays within a cosine of 0.999 of open_clip's f32 output.
    let cos = cosine(&ours, &query_reference("farslip", "image_example1"));
    assert!(cos >= 0.999, "cosine {cos}");

    // The text file alone does not contain the image tower.
    let (ok, _, stderr) = eee(&["encode", "image", &format!("{EXAMPLES}/example1.png"), "--model", &card, "--weights", out.join("text.safetensors").to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("visual."), "{stderr}");

    // A Lightning checkpoint with --keep.
    let satclip = out.join("satclip-image.safetensors");
    let (ok, _, stderr) = eee(&["convert", "--input", &format!("{ENCODERS}/satclip/tiny.ckpt"), "--keep", "model.visual.", "--out", satclip.to_str().unwrap(), "--dtype", "f32"]);
    assert!(ok, "{stderr}");
    let converted = std::fs::read(&satclip).unwrap();
    let original = std::fs::read(format!("{ENCODERS}/satclip/tiny.safetensors")).unwrap();
    let (converted, original) = (safetensors::SafeTensors::deserialize(&converted).unwrap(), safetensors::SafeTensors::deserialize(&original).unwrap());
    assert_eq!(converted.len(), original.len());
    for (name, view) in original.tensors() {
        assert_eq!(converted.tensor(&name).unwrap().data(), view.data(), "{name}");
    }

    let (ok, _, stderr) = eee(&["convert", "--input", &card, "--keep", "x", "--out", satclip.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("card.json"), "{stderr}");

    // The wrong card: the FarSLIP pickle does not fit DINOv2's tower, and nothing is written.
    let wrong_dir = out.join("wrong");
    let (ok, _, stderr) = eee(&["convert", "--input", &format!("{ENCODERS}/farslip/tiny.pt"), "--model", &format!("{ENCODERS}/dinov2/card.json"), "--out-dir", wrong_dir.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("does not fit the image tower"), "{stderr}");
    assert!(!wrong_dir.exists());
}

#[test]
fn index_images_then_search() {
    let dir = scratch_dir("index");
    let cells = ["337U_1155R", "418U_669L", "45D_699L"];
    let mut images = Vec::new();
    for (cell, example) in cells.iter().zip(["example1", "example2", "example3"]) {
        let path = dir.join(format!("{cell}.png"));
        std::fs::copy(format!("{EXAMPLES}/{example}.png"), &path).unwrap_or_else(|e| panic!("copying {EXAMPLES}/{example}.png: {e}"));
        images.push(path.to_str().unwrap().to_string());
    }
    let card = format!("{ENCODERS}/dinov2/card.json");
    let weights = format!("{ENCODERS}/dinov2/tiny.safetensors");
    let out = dir.join("index.parquet");
    let mut args = vec!["index", "--model", &card, "--weights", &weights, "--out", out.to_str().unwrap()];
    args.extend(images.iter().map(String::as_str));
    let (ok, _, stderr) = eee(&args);
    assert!(ok, "{stderr}");

    let (ok, stdout, stderr) = eee(&["search", out.to_str().unwrap(), "--tile", "418U_669L", "--k", "3"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["tiles"], 3);
    assert_eq!(report["results"][0]["grid_cell"], "418U_669L");
    assert_eq!(report["results"][0]["product_id"], "418U_669L.png");

    // The same image through the same encoder finds its own tile; the index stores f16.
    let (ok, stdout, stderr) = eee(&["search", out.to_str().unwrap(), "--image", &format!("{EXAMPLES}/example3.png"), "--model", &card, "--weights", &weights, "--k", "1"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["results"][0]["grid_cell"], "45D_699L");
    assert!(report["results"][0]["score"].as_f64().unwrap() > 0.999, "{stdout}");

    let duplicate = dir.join("copy");
    std::fs::create_dir_all(&duplicate).unwrap();
    let second = duplicate.join("337U_1155R.png");
    std::fs::copy(&images[0], &second).unwrap();
    let (ok, _, stderr) = eee(&["index", "--model", &card, "--weights", &weights, "--out", out.to_str().unwrap(), &images[0], second.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("are both cell 337U_1155R"), "{stderr}");

    let bad = dir.join("not-a-cell.png");
    std::fs::copy(format!("{EXAMPLES}/example1.png"), &bad).unwrap();
    let (ok, _, stderr) = eee(&["index", "--model", &card, "--weights", &weights, "--out", out.to_str().unwrap(), bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("not-a-cell.png"), "{stderr}");
}
