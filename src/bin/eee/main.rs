//! `eee`: the native command-line tool of EarthEmbeddingExplorer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod index;

#[derive(Parser)]
#[command(name = "eee", version, about = "EarthEmbeddingExplorer: Major TOM grid, embedding files, encoders and the demo index")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Major TOM grid look-ups.
    #[command(subcommand)]
    Grid(GridCommand),
    /// Print an embedding as JSON.
    #[command(subcommand)]
    Encode(EncodeCommand),
    /// Build the bundled demo index.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Convert an original checkpoint (PyTorch `.pt`/`.bin`, Lightning `.ckpt` or safetensors)
    /// into per-tower safetensors files that the app reads.
    Convert {
        /// The original checkpoint.
        #[arg(long)]
        input: PathBuf,
        /// Model card (models/*.json): writes one file per tower, `<out-dir>/<tower>.safetensors`.
        #[arg(long, requires = "out_dir", conflicts_with_all = ["keep", "out"])]
        model: Option<PathBuf>,
        /// Folder for the per-tower files of --model.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Without --model: keep the tensors whose names start with this (repeatable).
        #[arg(long, requires = "out")]
        keep: Vec<String>,
        /// Without --model: the output file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Storage type of the output: f16 (half the size) or f32.
        #[arg(long, default_value = "f16", value_parser = ["f16", "f32"])]
        dtype: String,
    },
    /// Embed image chips named by their Major TOM cell (such as 337U_1155R.png) into a
    /// GeoParquet embedding file.
    Index {
        /// PNG or JPEG files named `<cell id>.<extension>`.
        #[arg(required = true, num_args = 1..)]
        images: Vec<PathBuf>,
        /// Model card (models/*.json).
        #[arg(long)]
        model: PathBuf,
        /// Safetensors weights with the checkpoint's key names.
        #[arg(long)]
        weights: PathBuf,
        /// Output GeoParquet file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Search embedding files (local paths or http(s) URLs, read together as one dataset) and
    /// print the top matches as JSON.
    #[command(allow_negative_numbers = true)]
    Search {
        /// GeoParquet embedding files of one dataset.
        #[arg(required = true, num_args = 1..)]
        files: Vec<String>,
        /// Query by an existing tile (cell id such as 337U_1155R).
        #[arg(long, conflicts_with_all = ["lat", "lon", "text", "image"])]
        tile: Option<String>,
        /// Query by a text prompt (needs --model, --weights and --tokenizer).
        #[arg(long, conflicts_with_all = ["lat", "lon", "image"], requires_all = ["model", "weights", "tokenizer"])]
        text: Option<String>,
        /// Query by an image (needs --model and --weights): PNG or JPEG, or a Sentinel-2 GeoTIFF
        /// for SatCLIP.
        #[arg(long, conflicts_with_all = ["lat", "lon"], requires_all = ["model", "weights"])]
        image: Option<PathBuf>,
        /// Model card (models/*.json) for --text and --image.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Tokenizer file for --text: bpe_simple_vocab_16e6.txt.gz (CLIP) or tokenizer.json.
        #[arg(long)]
        tokenizer: Option<PathBuf>,
        /// Query latitude in degrees (needs --lon and --weights).
        #[arg(long, requires_all = ["lon", "weights"])]
        lat: Option<f64>,
        /// Query longitude in degrees.
        #[arg(long)]
        lon: Option<f64>,
        /// Encoder weights (safetensors with the checkpoint's key names): the SatCLIP location
        /// encoder for --lat/--lon, the card's tower for --text and --image.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Number of results.
        #[arg(long, default_value_t = 10)]
        k: usize,
    },
    /// Serve a folder over HTTP with Range support (for the built app).
    Serve {
        #[arg(long, default_value = "dist")]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        address: String,
    },
}

#[derive(Subcommand)]
enum GridCommand {
    /// Print the id of the cell that contains a point.
    #[command(allow_negative_numbers = true)]
    Cell { lat: f64, lon: f64 },
    /// Print the corners and centre of a cell as JSON.
    Bounds { cell: String },
}

#[derive(Subcommand)]
enum EncodeCommand {
    /// Embed a text prompt with a model's text tower.
    Text {
        text: String,
        /// Model card (models/*.json).
        #[arg(long)]
        model: PathBuf,
        /// Safetensors weights with the checkpoint's key names (the checkpoint or the text file
        /// from `eee convert`).
        #[arg(long)]
        weights: PathBuf,
        /// Tokenizer file the card names: bpe_simple_vocab_16e6.txt.gz (CLIP) or tokenizer.json.
        #[arg(long)]
        tokenizer: PathBuf,
    },
    /// Embed an image with a model's image tower: PNG or JPEG, or a 12- or 13-band Sentinel-2
    /// GeoTIFF for SatCLIP.
    Image {
        image: PathBuf,
        /// Model card (models/*.json).
        #[arg(long)]
        model: PathBuf,
        /// Safetensors weights with the checkpoint's key names.
        #[arg(long)]
        weights: PathBuf,
    },
    /// Embed a location with the SatCLIP location encoder.
    #[command(allow_negative_numbers = true)]
    Location {
        lat: f64,
        lon: f64,
        /// Weights: safetensors with `model.location.nnet.*` tensors.
        #[arg(long)]
        weights: PathBuf,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Write the demo index (GeoParquet files and encoder weights) into a folder.
    Build {
        /// Natural Earth land polygons as TopoJSON (npm package world-atlas 2.0.2).
        #[arg(long, default_value = "node_modules/world-atlas/land-50m.json")]
        land: PathBuf,
        #[arg(long, default_value = "public/demo")]
        out: PathBuf,
        /// Seed of the random location-encoder weights.
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Grid(GridCommand::Cell { lat, lon }) => {
            let cell = eee::grid::Grid::core().cell_at(lat, lon).map_err(|e| e.to_string())?;
            println!("{cell}");
            Ok(())
        }
        Command::Grid(GridCommand::Bounds { cell }) => print_bounds(&cell),
        Command::Encode(EncodeCommand::Location { lat, lon, weights }) => {
            let encoder = load_location_encoder(&weights)?;
            let embedding = futures::executor::block_on(encoder.embed(&[(lat, lon)])).map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&embedding[0]).expect("floats serialise"));
            Ok(())
        }
        Command::Encode(EncodeCommand::Text { text, model, weights, tokenizer }) => {
            let card = read_card(&model)?;
            let encoder = eee::encoders::query::TextQueryEncoder::load(&card, &read_file(&weights, "weights")?, &read_file(&tokenizer, "tokenizer")?, &eee::encoders::device::EncoderDevice::cpu())
                .map_err(|e| e.to_string())?;
            print_embedding(futures::executor::block_on(encoder.embed(&text)).map_err(|e| e.to_string())?)
        }
        Command::Encode(EncodeCommand::Image { image, model, weights }) => {
            let card = read_card(&model)?;
            let pixels = eee::encoders::query::decode_query_image(&card, &read_file(&image, "image")?).map_err(|e| format!("{}: {e}", image.display()))?;
            let encoder = eee::encoders::query::ImageQueryEncoder::load(&card, &read_file(&weights, "weights")?, &eee::encoders::device::EncoderDevice::cpu()).map_err(|e| e.to_string())?;
            print_embedding(futures::executor::block_on(encoder.embed(&pixels)).map_err(|e| e.to_string())?)
        }
        Command::Index { images, model, weights, out } => index::build(&read_card(&model)?, &read_file(&weights, "weights")?, &images, &out),
        Command::Convert { input, model, out_dir, keep, out, dtype } => convert(&input, model.zip(out_dir), &keep, out, &dtype),
        Command::Demo(DemoCommand::Build { land, out, seed }) => demo::build(&land, &out, seed),
        Command::Search { files, tile, text, image, model, tokenizer, lat, lon, weights, k } => {
            let query = match (tile, text, image, lat.zip(lon)) {
                (Some(id), ..) => SearchQuery::Tile(id),
                (None, Some(text), ..) => SearchQuery::Text { text, model: model.expect("clap requires --model"), tokenizer: tokenizer.expect("clap requires --tokenizer") },
                (None, None, Some(image), _) => SearchQuery::Image { image, model: model.expect("clap requires --model") },
                (None, None, None, Some(point)) => SearchQuery::Location(point),
                (None, None, None, None) => return Err("give --tile CELL, --text PROMPT, --image FILE, or --lat and --lon".to_string()),
            };
            search(&files, query, weights, k)
        }
        Command::Serve { dir, address } => {
            if !dir.is_dir() {
                return Err(format!("{} is not a folder: build the app first (make build) or pass --dir", dir.display()));
            }
            eee::data::server::StaticServer::run_forever(dir, &address).map_err(|e| format!("serving on {address} failed: {e}"))
        }
    }
}

fn print_bounds(id: &str) -> Result<(), String> {
    let (cell, bounds) = eee::grid::Grid::core().bounds_of_id(id).map_err(|e| e.to_string())?;
    let (lat, lon) = bounds.centre();
    let report = serde_json::json!({
        "cell": cell.to_string(),
        "grid_row_u": cell.row,
        "grid_col_r": cell.col,
        "south": bounds.south,
        "north": bounds.north,
        "west": bounds.west,
        "east": bounds.east,
        "corners": [[bounds.south, bounds.west], [bounds.south, bounds.east], [bounds.north, bounds.east], [bounds.north, bounds.west]],
        "centre": [lat, lon],
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON value serialises"));
    Ok(())
}

fn read_file(path: &PathBuf, description: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {description} {} failed: {e}", path.display()))
}

fn read_card(path: &PathBuf) -> Result<eee::encoders::card::ModelCard, String> {
    eee::encoders::card::ModelCard::from_json(&read_file(path, "model card")?).map_err(|e| format!("{}: {e}", path.display()))
}

fn print_embedding(values: Vec<f32>) -> Result<(), String> {
    println!("{}", serde_json::to_string(&values).expect("floats serialise"));
    Ok(())
}

fn convert(input: &std::path::Path, card: Option<(PathBuf, PathBuf)>, keep: &[String], out: Option<PathBuf>, dtype: &str) -> Result<(), String> {
    use eee::encoders::convert::{StoredType, read_checkpoint, tower_file, write_file, write_tower};
    use eee::encoders::query::{check_image_weights, check_text_weights};

    let stored = if dtype == "f32" { StoredType::F32 } else { StoredType::F16 };
    match (card, out) {
        (Some((model, out_dir)), _) => {
            let card = read_card(&model)?;
            let tensors = read_checkpoint(input).map_err(|e| e.to_string())?;
            // Each file is checked against the card's tower before it is written, so a wrong
            // card fails here and not at the first query.
            let mut files = Vec::new();
            if let Some(text) = &card.towers.text {
                let (bytes, count) = tower_file(&tensors, &text.weights.prefixes, stored, input).map_err(|e| e.to_string())?;
                check_text_weights(&card, &bytes).map_err(|e| format!("{} does not fit the text tower of {}: {e}", input.display(), model.display()))?;
                files.push((bytes, count, out_dir.join("text.safetensors")));
            }
            if let Some(image) = &card.towers.image {
                let (bytes, count) = tower_file(&tensors, &image.weights.prefixes, stored, input).map_err(|e| e.to_string())?;
                check_image_weights(&card, &bytes).map_err(|e| format!("{} does not fit the image tower of {}: {e}", input.display(), model.display()))?;
                files.push((bytes, count, out_dir.join("image.safetensors")));
            }
            for (bytes, count, path) in files {
                write_file(&bytes, &path).map_err(|e| e.to_string())?;
                eprintln!("wrote {count} tensors to {}", path.display());
            }
            Ok(())
        }
        (None, Some(out)) if !keep.is_empty() => {
            let tensors = read_checkpoint(input).map_err(|e| e.to_string())?;
            let count = write_tower(&tensors, keep, stored, input, &out).map_err(|e| e.to_string())?;
            eprintln!("wrote {count} tensors to {}", out.display());
            Ok(())
        }
        _ => Err("give --model CARD --out-dir DIR, or --keep PREFIX --out FILE".to_string()),
    }
}

fn load_location_encoder(weights: &PathBuf) -> Result<eee::encoders::satclip::LocationEncoder, String> {
    let bytes = std::fs::read(weights).map_err(|e| format!("reading weights {} failed: {e}", weights.display()))?;
    eee::encoders::satclip::LocationEncoder::from_safetensors(&bytes, Default::default()).map_err(|e| format!("{}: {e}", weights.display()))
}

enum SearchQuery {
    Tile(String),
    Location((f64, f64)),
    Text { text: String, model: PathBuf, tokenizer: PathBuf },
    Image { image: PathBuf, model: PathBuf },
}

fn search(files: &[String], query: SearchQuery, weights: Option<PathBuf>, k: usize) -> Result<(), String> {
    if !(1..=eee::search::MAX_TOP_K).contains(&k) {
        return Err(format!("--k {k} is not a number of results: use a whole number from 1 to {}", eee::search::MAX_TOP_K));
    }
    use eee::data::geoparquet::{EmbeddingTable, ReadOptions, read_table};
    use eee::data::native::NativeSource;
    use eee::data::range::{RangeSource, Stats};

    let mut tables = Vec::with_capacity(files.len());
    let mut stats = Stats::default();
    for file in files {
        let source = NativeSource::open(file);
        tables.push(futures::executor::block_on(read_table(&source, &ReadOptions::default(), &mut |_, _| {})).map_err(|e| e.to_string())?);
        stats.requests += source.stats().requests;
        stats.bytes += source.stats().bytes;
    }
    let table = EmbeddingTable::concat(tables).map_err(|e| format!("the files do not form one dataset: {e}"))?;
    let weights = || weights.clone().ok_or_else(|| "this query needs --weights".to_string());
    let query = match query {
        SearchQuery::Tile(id) => {
            let index = table.grid_cell.iter().position(|c| *c == id).ok_or_else(|| format!("tile {id} is not in {}", files.join(", ")))?;
            table.embeddings.row(index)
        }
        SearchQuery::Location((lat, lon)) => {
            let encoder = load_location_encoder(&weights()?)?;
            let mut rows = futures::executor::block_on(encoder.embed(&[(lat, lon)])).map_err(|e| e.to_string())?;
            rows.remove(0)
        }
        SearchQuery::Text { text, model, tokenizer } => {
            let card = read_card(&model)?;
            let encoder = eee::encoders::query::TextQueryEncoder::load(&card, &read_file(&weights()?, "weights")?, &read_file(&tokenizer, "tokenizer")?, &eee::encoders::device::EncoderDevice::cpu())
                .map_err(|e| e.to_string())?;
            futures::executor::block_on(encoder.embed(&text)).map_err(|e| e.to_string())?
        }
        SearchQuery::Image { image, model } => {
            let card = read_card(&model)?;
            let pixels = eee::encoders::query::decode_query_image(&card, &read_file(&image, "image")?).map_err(|e| format!("{}: {e}", image.display()))?;
            let encoder = eee::encoders::query::ImageQueryEncoder::load(&card, &read_file(&weights()?, "weights")?, &eee::encoders::device::EncoderDevice::cpu()).map_err(|e| e.to_string())?;
            futures::executor::block_on(encoder.embed(&pixels)).map_err(|e| e.to_string())?
        }
    };
    let scores = table.embeddings.cosine_scores(&query).map_err(|e| e.to_string())?;
    let hits = eee::search::top_k(&scores, k);
    let rows: Vec<serde_json::Value> = hits
        .iter()
        .enumerate()
        .map(|(rank, hit)| {
            serde_json::json!({
                "rank": rank + 1,
                "score": hit.score,
                "grid_cell": table.grid_cell[hit.index],
                "lat": table.lat[hit.index],
                "lon": table.lon[hit.index],
                "product_id": table.product_id[hit.index],
                "timestamp": table.timestamp[hit.index],
            })
        })
        .collect();
    let report = serde_json::json!({"tiles": table.len(), "requests": stats.requests, "bytes": stats.bytes, "results": rows});
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON value serialises"));
    Ok(())
}
