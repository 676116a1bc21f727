//! The Leptos app: query panel, map, threshold, results and status line.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use super::loader::{self, DEFAULT_CATALOG};
use super::map::{self, Layers};
use super::params::{self, EncoderChoice, Mix, Params, Query};
use super::view::MapView;
use crate::data::catalog::{Catalog, Dataset};
use crate::data::geoparquet::EmbeddingTable;
use crate::data::topo::Ring;
use crate::encoders::device::EncoderDevice;
use crate::encoders::satclip::LocationEncoder;
use crate::encoders::query::{ImageQueryEncoder, QueryImage, TextQueryEncoder};
use crate::search::{self, Hit, MAX_TOP_K, PERMILLE_RANGE, QueryPart, Threshold};

mod queries;
use queries::{Download, LoadedCard, MixPanel, TextImagePanel};

const CANVAS_WIDTH: f64 = 1200.0;
const CANVAS_HEIGHT: f64 = 600.0;

/// Mounts the app on `<body>`.
pub fn mount() {
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Info);
    leptos::mount::mount_to_body(App);
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Durations of the stages of the last query, in milliseconds, and what loading the dataset
/// fetched.
#[derive(Debug, Clone, Default, PartialEq)]
struct Timings {
    /// Loading the dataset files.
    load: Option<f64>,
    /// Fetching what the query needs beyond the dataset (encoder weights, once).
    fetch: Option<f64>,
    /// Tokenising the text or preprocessing the image.
    prepare: Option<f64>,
    /// Running the encoder's tower and reading the embedding back.
    encode: Option<f64>,
    score: Option<f64>,
    draw: Option<f64>,
    /// The device the query's encoder ran on, as shown in the status line.
    encoder: Option<String>,
    requests: u64,
    bytes: u64,
}

impl Timings {
    /// Adds the fetch and encode times of one part of a mixed query.
    fn add(&mut self, part: &Timings) {
        let sum = |a: Option<f64>, b: Option<f64>| if a.is_none() && b.is_none() { None } else { Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)) };
        self.fetch = sum(self.fetch, part.fetch);
        self.prepare = sum(self.prepare, part.prepare);
        self.encode = sum(self.encode, part.encode);
        if self.encoder.is_none() {
            self.encoder.clone_from(&part.encoder);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ClickMode {
    Location,
    Tile,
}

/// Signals shared by the components.
#[derive(Clone, Copy)]
struct State {
    catalog_url: StoredValue<String>,
    catalog: RwSignal<Option<Catalog>>,
    dataset_id: RwSignal<String>,
    table: RwSignal<Option<Rc<EmbeddingTable>>, LocalStorage>,
    encoder: StoredValue<Option<(String, Rc<LocationEncoder>)>, LocalStorage>,
    rings: RwSignal<Rc<Vec<Ring>>, LocalStorage>,
    scores: RwSignal<Option<Rc<Vec<f32>>>, LocalStorage>,
    query: RwSignal<Option<Query>>,
    lat_text: RwSignal<String>,
    lon_text: RwSignal<String>,
    text_text: RwSignal<String>,
    /// The image of the last image query, and its file name.
    image: StoredValue<Option<(String, Rc<QueryImage>)>, LocalStorage>,
    /// Weights of the text, image and location parts of a mixed query.
    mix_weights: RwSignal<[f32; 3]>,
    card: StoredValue<Option<LoadedCard>, LocalStorage>,
    card_summary: RwSignal<Option<String>>,
    /// The models of the catalog's datasets, for the model picker.
    models: RwSignal<Vec<queries::ModelChoice>>,
    /// The model card the dataset list is narrowed to; empty for every dataset.
    model_filter: RwSignal<String>,
    /// Loaded encoders: card URL, encoder, and the device label for the status line.
    text_encoder: StoredValue<Option<(String, Rc<TextQueryEncoder>, String)>, LocalStorage>,
    image_encoder: StoredValue<Option<(String, Rc<ImageQueryEncoder>, String)>, LocalStorage>,
    encoder_choice: StoredValue<EncoderChoice>,
    /// The text and image encoders' device, set up once, on the first query that needs it.
    encoder_device: StoredValue<Option<queries::PendingDevice>, LocalStorage>,
    download: RwSignal<Option<Download>>,
    weights_origin: RwSignal<Option<loader::Origin>>,
    permille: RwSignal<u32>,
    k: RwSignal<usize>,
    click_mode: RwSignal<ClickMode>,
    timings: RwSignal<Timings>,
    progress: RwSignal<Option<(u64, u64)>>,
    error: RwSignal<Option<String>>,
    notices: RwSignal<Vec<String>>,
    view: RwSignal<MapView>,
    busy: RwSignal<bool>,
    /// Incremented by every query and every dataset load, so a slow query cannot overwrite a
    /// newer one or score a dataset that has since been replaced.
    generation: StoredValue<u64>,
    /// Incremented by every dataset load, so a slow load cannot overwrite a newer one.
    load_generation: StoredValue<u64>,
    /// A query submitted while the dataset was loading; it runs when the load finishes.
    pending: StoredValue<Option<Query>>,
}

impl State {
    fn dataset(&self) -> Option<Dataset> {
        let id = self.dataset_id.get_untracked();
        self.catalog.with_untracked(|c| c.as_ref().and_then(|c| c.dataset(&id).cloned()))
    }

    fn fail(&self, message: impl Into<String>) {
        let message = message.into();
        log::error!("app: {message}");
        self.error.set(Some(message));
    }

    /// Writes the current query into the address bar, so the link reproduces it.
    fn update_url(&self) {
        let catalog = self.catalog_url.get_value();
        let params = Params {
            catalog: (catalog != DEFAULT_CATALOG).then_some(catalog),
            dataset: Some(self.dataset_id.get_untracked()),
            query: self.query.get_untracked(),
            permille: self.permille.get_untracked(),
            k: self.k.get_untracked(),
            encoder: self.encoder_choice.get_value(),
        };
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&params.to_query_string()));
        }
    }
}

#[component]
fn App() -> impl IntoView {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let (initial, notices) = params::parse(&search);
    let (lat_text, lon_text) = match &initial.query {
        Some(Query::Location { lat, lon }) | Some(Query::Mixed(Mix { location: Some(((lat, lon), _)), .. })) => (lat.to_string(), lon.to_string()),
        _ => (String::new(), String::new()),
    };
    let text_text = match &initial.query {
        Some(Query::Text(text)) | Some(Query::Mixed(Mix { text: Some((text, _)), .. })) => text.clone(),
        _ => String::new(),
    };
    let state = State {
        catalog_url: StoredValue::new(initial.catalog.clone().unwrap_or_else(|| DEFAULT_CATALOG.to_string())),
        catalog: RwSignal::new(None),
        dataset_id: RwSignal::new(initial.dataset.clone().unwrap_or_default()),
        table: RwSignal::new_local(None),
        encoder: StoredValue::new_local(None),
        rings: RwSignal::new_local(Rc::new(Vec::new())),
        scores: RwSignal::new_local(None),
        query: RwSignal::new(None),
        lat_text: RwSignal::new(lat_text),
        lon_text: RwSignal::new(lon_text),
        text_text: RwSignal::new(text_text),
        image: StoredValue::new_local(None),
        mix_weights: RwSignal::new(match &initial.query {
            Some(Query::Mixed(mix)) => [mix.text.as_ref().map_or(0.0, |p| p.1), 0.0, mix.location.map_or(0.0, |p| p.1)],
            _ => [0.5; 3],
        }),
        card: StoredValue::new_local(None),
        card_summary: RwSignal::new(None),
        models: RwSignal::new(Vec::new()),
        model_filter: RwSignal::new(String::new()),
        text_encoder: StoredValue::new_local(None),
        image_encoder: StoredValue::new_local(None),
        encoder_choice: StoredValue::new(initial.encoder),
        encoder_device: StoredValue::new_local(None),
        download: RwSignal::new(None),
        weights_origin: RwSignal::new(None),
        permille: RwSignal::new(initial.permille),
        k: RwSignal::new(initial.k),
        click_mode: RwSignal::new(ClickMode::Location),
        timings: RwSignal::new(Timings::default()),
        progress: RwSignal::new(None),
        error: RwSignal::new(None),
        notices: RwSignal::new(notices),
        view: RwSignal::new(MapView::world(CANVAS_WIDTH, CANVAS_HEIGHT)),
        busy: RwSignal::new(false),
        generation: StoredValue::new(0),
        load_generation: StoredValue::new(0),
        pending: StoredValue::new(None),
    };
    provide_context(state);
    spawn_local(start(state, initial.query));

    view! {
        <header>
            <h1>"EarthEmbeddingExplorer"</h1>
            <p class="tagline">"Where on Earth looks like this? Similarity search over Major TOM embeddings, computed in your browser."</p>
        </header>
        <main>
            <QueryPanel/>
            <Messages/>
            <MapCanvas/>
            <StatusLine/>
            <Results/>
        </main>
    }
}

/// Loads the catalog, the basemap and the dataset, then runs the query from the link.
async fn start(state: State, query: Option<Query>) {
    let catalog_url = state.catalog_url.get_value();
    match loader::load_catalog(&catalog_url).await {
        Ok(catalog) => {
            let requested = state.dataset_id.get_untracked();
            let chosen = if catalog.dataset(&requested).is_some() {
                requested
            } else {
                let fallback = catalog.datasets.iter().find(|d| d.demo).unwrap_or(&catalog.datasets[0]).id.clone();
                if !requested.is_empty() {
                    state.notices.update(|n| n.push(format!("dataset {requested:?} is not in the catalog; showing {fallback:?}")));
                }
                fallback
            };
            state.dataset_id.set(chosen);
            state.catalog.set(Some(catalog));
            spawn_local(queries::load_model_choices(state));
        }
        Err(message) => {
            state.fail(message);
            return;
        }
    }
    match loader::load_basemap().await {
        Ok(rings) => state.rings.set(Rc::new(rings)),
        Err(message) => state.notices.update(|n| n.push(format!("{message}; the map is drawn without coastlines"))),
    }
    load_dataset(state).await;
    // After a failed load the error stays on screen: the link's query has nothing to run on.
    if let Some(query) = query.filter(|_| state.table.with_untracked(Option::is_some)) {
        run_query(state, query).await;
    }
}

async fn load_dataset(state: State) {
    let Some(dataset) = state.dataset() else { return };
    let load_generation = state.load_generation.get_value() + 1;
    state.load_generation.set_value(load_generation);
    // Queries still running belong to the previous dataset.
    state.generation.update_value(|g| *g += 1);
    state.error.set(None);
    state.table.set(None);
    state.scores.set(None);
    state.card_summary.set(None);
    // The status line describes the dataset being loaded, not the previous one.
    state.timings.set(Timings::default());
    state.weights_origin.set(None);
    state.download.set(None);
    let takes_location = dataset.takes("location");
    state.click_mode.set(if takes_location { ClickMode::Location } else { ClickMode::Tile });
    state.busy.set(true);
    state.progress.set(Some((0, 1000)));

    let started = now_ms();
    let progress = move |done: u64, total: u64| state.progress.set(Some((done, total)));
    let result = loader::load_dataset(&state.catalog_url.get_value(), &dataset, &progress).await;
    if state.load_generation.get_value() != load_generation {
        // The user picked another dataset while this one loaded; that load owns the state now.
        return;
    }

    state.progress.set(None);
    state.busy.set(false);
    match result {
        Ok(loaded) => {
            state.timings.set(Timings { load: Some(now_ms() - started), requests: loaded.stats.requests, bytes: loaded.stats.bytes, ..Timings::default() });
            state.table.set(Some(loaded.table));
            if dataset.model_card.is_some() {
                // The card is small; loading it now shows the download sizes before a query.
                if let Err(message) = queries::card(state).await {
                    state.notices.update(|n| n.push(message));
                }
            }
            if let Some(query) = state.pending.get_value() {
                state.pending.set_value(None);
                run_query(state, query).await;
            }
        }
        Err(message) => {
            state.pending.set_value(None);
            state.fail(format!("{message}. The dataset could not be loaded; pick another dataset or fix the catalog entry"));
        }
    }
}

/// Embeds or looks up the query vector, then scores every tile.
async fn run_query(state: State, query: Query) {
    let generation = state.generation.get_value() + 1;
    state.generation.set_value(generation);
    state.error.set(None);
    let Some(table) = state.table.get_untracked() else {
        if state.busy.get_untracked() {
            state.pending.set_value(Some(query));
            state.notices.update(|n| n.push("the dataset is still loading; your query runs when it has loaded".to_string()));
        } else {
            state.fail("no dataset is loaded: pick a dataset in the list above, or fix the catalog named in the link");
        }
        return;
    };
    let Some(dataset) = state.dataset() else { return };
    let loaded = state.timings.get_untracked();
    let mut timings = Timings { load: loaded.load, requests: loaded.requests, bytes: loaded.bytes, ..Timings::default() };

    let parts = match &query {
        Query::Text(_) | Query::Image(_) => queries::embed_query(state, &query, &mut timings).await.map(|vector| vec![single_part(vector)]),
        Query::Tile(id) => match table.grid_cell.iter().position(|c| c == id) {
            Some(index) => Ok(vec![single_part(table.embeddings.row(index))]),
            None => Err(format!("tile {id} is not in dataset {:?}; click a tile on the map or pick one from the results", dataset.id)),
        },
        Query::Location { lat, lon } => embed_location(state, &dataset, (*lat, *lon), &mut timings).await.map(|vector| vec![single_part(vector)]),
        Query::Mixed(mix) => mixed_parts(state, &dataset, mix, &mut timings).await,
    };
    let parts = match parts {
        Ok(parts) => parts,
        Err(message) => {
            state.fail(format!("{message}{}", kept_results(state)));
            return;
        }
    };

    let score_started = now_ms();
    let scores = match table.embeddings.mixed_scores(&parts) {
        Ok(scores) => scores,
        Err(error) => {
            state.fail(format!("{error}{}", kept_results(state)));
            return;
        }
    };
    timings.score = Some(now_ms() - score_started);
    let same_table = state.table.with_untracked(|current| current.as_ref().is_some_and(|t| Rc::ptr_eq(t, &table)));
    if state.generation.get_value() != generation || !same_table {
        return;
    }
    state.timings.set(timings);
    state.query.set(Some(query));
    state.scores.set(Some(Rc::new(scores)));
    state.update_url();
}

/// Wraps a single query vector as one part of weight 1, whose scores are its cosine similarities.
fn single_part(vector: Vec<f32>) -> QueryPart {
    QueryPart { label: "the query".to_string(), vector, weight: 1.0 }
}

/// Embeds a location with the dataset's location encoder.
async fn embed_location(state: State, dataset: &Dataset, (lat, lon): (f64, f64), timings: &mut Timings) -> Result<Vec<f32>, String> {
    let Some(weights) = dataset.location_weights.clone() else {
        return Err(format!(
            "dataset {:?} has no location encoder in this app yet; query by tile instead: set the map click to \"finds tiles like the nearest tile\", or use \"More like this\" on a result",
            dataset.id
        ));
    };
    let fetch_started = now_ms();
    let encoder = location_encoder(state, &weights).await?;
    timings.fetch = Some(timings.fetch.unwrap_or(0.0) + now_ms() - fetch_started);
    let encode_started = now_ms();
    let mut rows = encoder.embed(&[(lat, lon)]).await.map_err(|error| error.to_string())?;
    timings.encode = Some(timings.encode.unwrap_or(0.0) + now_ms() - encode_started);
    timings.encoder.get_or_insert_with(|| EncoderDevice::cpu().label());
    Ok(rows.remove(0))
}

/// Embeds each part of a mixed query that has a weight above 0.
async fn mixed_parts(state: State, dataset: &Dataset, mix: &Mix, timings: &mut Timings) -> Result<Vec<QueryPart>, String> {
    let mut parts = Vec::new();
    let mut add = |label: String, vector: Vec<f32>, weight: f32| parts.push(QueryPart { label, vector, weight });
    if let Some((text, weight)) = mix.text.clone().filter(|(_, w)| *w > 0.0) {
        let mut part_timings = Timings::default();
        let vector = queries::embed_query(state, &Query::Text(text.clone()), &mut part_timings).await?;
        timings.add(&part_timings);
        add(format!("the text {text:?}"), vector, weight);
    }
    if let Some((name, weight)) = mix.image.clone().filter(|(_, w)| *w > 0.0) {
        let mut part_timings = Timings::default();
        let vector = queries::embed_query(state, &Query::Image(name.clone()), &mut part_timings).await?;
        timings.add(&part_timings);
        add(format!("the image {name}"), vector, weight);
    }
    if let Some((point, weight)) = mix.location.filter(|(_, w)| *w > 0.0) {
        let vector = embed_location(state, dataset, point, timings).await?;
        add(format!("the location ({}, {})", point.0, point.1), vector, weight);
    }
    Ok(parts)
}

/// Returns the suffix of a query error message that reports whether earlier results stay on screen.
fn kept_results(state: State) -> &'static str {
    if state.scores.with_untracked(Option::is_some) { "; the previous results are kept" } else { "" }
}

async fn location_encoder(state: State, weights: &str) -> Result<Rc<LocationEncoder>, String> {
    if let Some((url, encoder)) = state.encoder.get_value()
        && url == weights
    {
        return Ok(encoder);
    }
    let encoder = Rc::new(loader::load_location_encoder(&state.catalog_url.get_value(), weights).await?);
    state.encoder.set_value(Some((weights.to_string(), encoder.clone())));
    Ok(encoder)
}

/// Reads the latitude and longitude fields.
fn location_fields(state: State) -> Result<(f64, f64), String> {
    let (lat_text, lon_text) = (state.lat_text.get_untracked(), state.lon_text.get_untracked());
    match (lat_text.trim().parse::<f64>(), lon_text.trim().parse::<f64>()) {
        (Ok(lat), Ok(lon)) if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 => Ok((lat, lon)),
        (Ok(lat), Ok(lon)) if lat.is_finite() && lon.is_finite() => {
            Err(format!("({lat}, {lon}) is not on Earth: latitude must be within ±90 and longitude within ±180"))
        }
        _ => Err(format!("latitude {lat_text:?} and longitude {lon_text:?} must both be numbers in degrees, such as -4 and -63")),
    }
}

/// Parses the latitude/longitude fields and runs a location query.
fn submit_location(state: State) {
    match location_fields(state) {
        Ok((lat, lon)) => spawn_local(run_query(state, Query::Location { lat, lon })),
        Err(message) => state.fail(message),
    }
}

fn threshold(state: State) -> Memo<Option<Threshold>> {
    Memo::new(move |_| {
        let permille = state.permille.get();
        state.scores.with(|scores| scores.as_ref().and_then(|s| search::permille_threshold(s, permille)))
    })
}

fn top_hits(state: State) -> Memo<Vec<Hit>> {
    Memo::new(move |_| {
        let k = state.k.get();
        state.scores.with(|scores| scores.as_ref().map(|s| search::top_k(s, k)).unwrap_or_default())
    })
}

#[component]
fn QueryPanel() -> impl IntoView {
    let state = expect_context::<State>();
    let datasets = move || state.catalog.get().map(|c| c.datasets).unwrap_or_default();
    let is_demo = move || state.catalog.with(|c| c.as_ref().and_then(|c| c.dataset(&state.dataset_id.get())).is_some_and(|d| d.demo));
    let description = move || state.catalog.with(|c| c.as_ref().and_then(|c| c.dataset(&state.dataset_id.get())).map(|d| d.description.clone()).unwrap_or_default());
    let tile_count = move || state.table.with(|t| t.as_ref().map(|t| t.len()));
    let takes_location = move || state.catalog.with(|c| c.as_ref().and_then(|c| c.dataset(&state.dataset_id.get())).is_some_and(|d| d.takes("location")));

    let choose_dataset = move |id: String| {
        state.dataset_id.set(id);
        state.query.set(None);
        state.update_url();
        spawn_local(load_dataset(state));
    };
    let shown_datasets = move || {
        let filter = state.model_filter.get();
        datasets().into_iter().filter(|d| filter.is_empty() || d.model_card.as_deref() == Some(filter.as_str())).collect::<Vec<_>>()
    };

    view! {
        <section class="panel" aria-label="Query">
            <Show when=move || !state.models.with(Vec::is_empty)>
                <label>
                    "Model "
                    <select
                        id="model"
                        prop:value=move || state.model_filter.get()
                        on:change=move |ev| {
                            let card = event_target_value(&ev);
                            state.model_filter.set(card.clone());
                            let current = state.dataset().and_then(|d| d.model_card);
                            if !card.is_empty() && current.as_deref() != Some(card.as_str())
                                && let Some(first) = datasets().into_iter().find(|d| d.model_card.as_deref() == Some(card.as_str()))
                            {
                                choose_dataset(first.id);
                            }
                        }
                    >
                        <option value="">"Any model"</option>
                        {move || state.models.get().into_iter().map(|m| {
                            let selected = m.card == state.model_filter.get_untracked();
                            view! { <option value=m.card.clone() selected=selected>{m.label.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </Show>
            <label>
                "Dataset "
                <select
                    id="dataset"
                    prop:value=move || state.dataset_id.get()
                    on:change=move |ev| choose_dataset(event_target_value(&ev))
                >
                    {move || shown_datasets().into_iter().map(|d| {
                        let selected = d.id == state.dataset_id.get_untracked();
                        view! { <option value=d.id.clone() selected=selected>{d.title.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <span class="tiles">{move || tile_count().map(|n| format!("{n} tiles")).unwrap_or_default()}</span>
            <Show when=is_demo>
                <p class="demo-notice" id="demo-notice">
                    "Demo dataset: its embeddings come from a SatCLIP location encoder with random, untrained weights, so similarity reflects position only, not what the ground looks like."
                </p>
            </Show>
            <p class="description">{description}</p>
            <Show when=takes_location>
                <form class="location" on:submit=move |ev| {
                    ev.prevent_default();
                    submit_location(state);
                }>
                    <label>"Latitude " <input id="lat" type="text" inputmode="decimal" size="9" placeholder="-4.0"
                        prop:value=move || state.lat_text.get()
                        on:input=move |ev| state.lat_text.set(event_target_value(&ev))/></label>
                    <label>"Longitude " <input id="lon" type="text" inputmode="decimal" size="9" placeholder="-63.0"
                        prop:value=move || state.lon_text.get()
                        on:input=move |ev| state.lon_text.set(event_target_value(&ev))/></label>
                    <button id="search-location" type="submit" disabled=move || state.busy.get()>"Search location"</button>
                </form>
                <fieldset class="click-mode">
                    <legend>"A click on the map"</legend>
                    <label><input type="radio" name="click-mode" prop:checked=move || state.click_mode.get() == ClickMode::Location
                        on:change=move |_| state.click_mode.set(ClickMode::Location)/>" searches that location"</label>
                    <label><input type="radio" name="click-mode" id="click-tile" prop:checked=move || state.click_mode.get() == ClickMode::Tile
                        on:change=move |_| state.click_mode.set(ClickMode::Tile)/>" finds tiles like the nearest tile"</label>
                </fieldset>
            </Show>
            <TextImagePanel/>
            <MixPanel/>
            <ThresholdControls/>
        </section>
    }
}

#[component]
fn ThresholdControls() -> impl IntoView {
    let state = expect_context::<State>();
    let threshold = threshold(state);
    let count_text = move || match threshold.get() {
        Some(t) => format!("top {} ‰: {} {} with score ≥ {:.4}", t.permille, t.count, if t.count == 1 { "tile" } else { "tiles" }, t.min_score),
        None => format!("top {} ‰", state.permille.get()),
    };
    view! {
        <div class="threshold">
            <label>
                "Highlight the top "
                <input id="permille" type="range" min=PERMILLE_RANGE.0 max=PERMILLE_RANGE.1 step="1"
                    prop:value=move || state.permille.get().to_string()
                    on:input=move |ev| {
                        if let Ok(value) = event_target_value(&ev).parse::<u32>() {
                            state.permille.set(value.clamp(PERMILLE_RANGE.0, PERMILLE_RANGE.1));
                            state.update_url();
                        }
                    }/>
            </label>
            <output id="threshold-count" data-count=move || threshold.get().map(|t| t.count.to_string()).unwrap_or_default()>{count_text}</output>
            <label>
                " Results "
                <input id="top-k" type="number" min="1" max=MAX_TOP_K.to_string()
                    prop:value=move || state.k.get().to_string()
                    on:change=move |ev| {
                        match event_target_value(&ev).trim().parse::<usize>() {
                            Ok(k) if (1..=MAX_TOP_K).contains(&k) => {
                                state.k.set(k);
                                state.update_url();
                            }
                            _ => {
                                let kept = state.k.get_untracked();
                                state.fail(format!("{:?} is not a number of results: use a whole number from 1 to {MAX_TOP_K}; keeping {kept}", event_target_value(&ev)));
                                // Re-render the field with the kept value.
                                state.k.notify();
                            }
                        }
                    }/>
            </label>
        </div>
    }
}

#[component]
fn Messages() -> impl IntoView {
    let state = expect_context::<State>();
    view! {
        <div class="messages">
            {move || state.error.get().map(|message| view! {
                <div class="error" role="alert" id="error">
                    <span>{message}</span>
                    <button on:click=move |_| state.error.set(None) aria-label="Dismiss">"×"</button>
                </div>
            })}
            {move || state.notices.get().into_iter().map(|notice| view! { <div class="notice">{notice}</div> }).collect_view()}
            {move || state.progress.get().map(|(done, total)| view! {
                <div class="loading">"Loading dataset " <progress id="progress" max=total.to_string() value=done.to_string()></progress></div>
            })}
        </div>
    }
}

#[component]
fn MapCanvas() -> impl IntoView {
    let state = expect_context::<State>();
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let threshold = threshold(state);
    let top = top_hits(state);
    let drag = StoredValue::new(None::<(f64, f64, bool)>);

    Effect::new(move |_| {
        let view = state.view.get();
        let rings = state.rings.get();
        let table = state.table.get();
        let scores = state.scores.get();
        let hits = top.get();
        let threshold = threshold.get();
        let query_point = match state.query.get() {
            Some(Query::Location { lat, lon }) => Some((lat, lon)),
            Some(Query::Mixed(Mix { location: Some((point, weight)), .. })) if weight > 0.0 => Some(point),
            Some(Query::Tile(id)) => table.as_ref().and_then(|t| t.grid_cell.iter().position(|c| *c == id).map(|i| (f64::from(t.lat[i]), f64::from(t.lon[i])))),
            // Text and image queries have no place on the map.
            Some(Query::Text(_) | Query::Image(_) | Query::Mixed(_)) | None => None,
        };
        let Some(canvas) = canvas_ref.get() else { return };
        let started = now_ms();
        let layers = Layers { rings: &rings, table: table.as_deref(), scores: scores.as_deref().map(Vec::as_slice), threshold, top: &hits, query_point };
        if let Err(error) = map::draw(&canvas, &view, &layers) {
            log::error!("map: drawing failed: {error:?}");
        }
        let elapsed = now_ms() - started;
        state.timings.update_untracked(|t| t.draw = Some(elapsed));
        state.timings.notify();
    });

    let to_canvas = move |ev: &web_sys::MouseEvent| -> Option<(f64, f64)> {
        let canvas = canvas_ref.get_untracked()?;
        let scale = CANVAS_WIDTH / f64::from(canvas.client_width().max(1));
        Some((f64::from(ev.offset_x()) * scale, f64::from(ev.offset_y()) * scale))
    };
    let on_click = move |x: f64, y: f64| {
        let Some((lat, lon)) = state.view.get_untracked().to_geo(x, y) else { return };
        match state.click_mode.get_untracked() {
            ClickMode::Location => {
                state.lat_text.set(format!("{lat:.4}"));
                state.lon_text.set(format!("{lon:.4}"));
                submit_location(state);
            }
            ClickMode::Tile => {
                let Some(table) = state.table.get_untracked() else { return };
                if let Some((index, _)) = search::nearest(lat, lon, &table.lat, &table.lon) {
                    spawn_local(run_query(state, Query::Tile(table.grid_cell[index].clone())));
                }
            }
        }
    };

    view! {
        <div class="map">
            <canvas id="map" node_ref=canvas_ref width=CANVAS_WIDTH height=CANVAS_HEIGHT
                aria-label="World map of similarity scores"
                on:mousedown=move |ev| {
                    if let Some((x, y)) = to_canvas(&ev) { drag.set_value(Some((x, y, false))); }
                }
                on:mousemove=move |ev| {
                    let (Some((x0, y0, moved)), Some((x, y))) = (drag.get_value(), to_canvas(&ev)) else { return };
                    let moved = moved || (x - x0).abs() + (y - y0).abs() > 3.0;
                    if moved {
                        state.view.update(|v| v.pan(x - x0, y - y0));
                        drag.set_value(Some((x, y, true)));
                    }
                }
                on:mouseup=move |ev| {
                    let started = drag.get_value();
                    drag.set_value(None);
                    if let (Some((_, _, false)), Some((x, y))) = (started, to_canvas(&ev)) { on_click(x, y); }
                }
                on:mouseleave=move |_| drag.set_value(None)
                on:wheel=move |ev| {
                    ev.prevent_default();
                    if let Some((x, y)) = to_canvas(&ev) {
                        let factor = (-ev.delta_y() * 0.0015).exp();
                        state.view.update(|v| v.zoom_at(x, y, factor));
                    }
                }
            ></canvas>
            <p class="legend">
                "Tiles are coloured by similarity to the query, from dark purple (lowest) to yellow (highest); the top ‰ is red. "
                "Circles number the top 10 results; the cross marks the query. Drag to pan, scroll or use the buttons to zoom."
            </p>
            <div class="map-buttons">
                <button on:click=move |_| state.view.update(|v| v.zoom_at(CANVAS_WIDTH / 2.0, CANVAS_HEIGHT / 2.0, 2.0))>"+"</button>
                <button on:click=move |_| state.view.update(|v| v.zoom_at(CANVAS_WIDTH / 2.0, CANVAS_HEIGHT / 2.0, 0.5))>"−"</button>
                <button on:click=move |_| state.view.set(MapView::world(CANVAS_WIDTH, CANVAS_HEIGHT))>"World"</button>
            </div>
        </div>
    }
}

fn format_ms(value: Option<f64>) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.0} ms"))
}

#[component]
fn StatusLine() -> impl IntoView {
    let state = expect_context::<State>();
    let text = move || {
        let t = state.timings.get();
        format!(
            "dataset: {} requests, {:.1} MB in {} · query: fetch {} · prepare {} · encode {} · score {} · draw {}{}{}",
            t.requests,
            t.bytes as f64 / 1e6,
            format_ms(t.load),
            format_ms(t.fetch),
            format_ms(t.prepare),
            format_ms(t.encode),
            format_ms(t.score),
            format_ms(t.draw),
            t.encoder.map(|label| format!(" · encoder on {label}")).unwrap_or_default(),
            queries::origin_text(state.weights_origin.get()),
        )
    };
    view! { <p class="status" id="status">{text}</p> }
}

/// `YYYYMMDDTHHMMSS` as `YYYY-MM-DD`; other values are shown as stored.
fn format_date(timestamp: &str) -> String {
    let digits = timestamp.as_bytes();
    if timestamp.len() >= 8 && digits[..8].iter().all(u8::is_ascii_digit) {
        format!("{}-{}-{}", &timestamp[0..4], &timestamp[4..6], &timestamp[6..8])
    } else if timestamp.is_empty() {
        "–".to_string()
    } else {
        timestamp.to_string()
    }
}

#[component]
fn Results() -> impl IntoView {
    let state = expect_context::<State>();
    let top = top_hits(state);
    let rows = move || {
        let hits = top.get();
        let Some(table) = state.table.get() else { return Vec::new() };
        hits.iter()
            .enumerate()
            // Scores from another dataset never reach here, but a stale row must not panic.
            .filter(|(_, hit)| hit.index < table.len())
            .map(|(rank, hit)| {
                let i = hit.index;
                let cell = table.grid_cell[i].clone();
                let cell_attribute = cell.clone();
                let query_cell = cell.clone();
                let product = if table.product_id[i].is_empty() { "–".to_string() } else { table.product_id[i].clone() };
                view! {
                    <tr class="result" data-cell-id=cell_attribute data-score=format!("{:.6}", hit.score)>
                        <td>{rank + 1}</td>
                        <td>{format!("{:.4}", hit.score)}</td>
                        <td>{format!("{:.4}", table.lat[i])}</td>
                        <td>{format!("{:.4}", table.lon[i])}</td>
                        <td>{cell}</td>
                        <td>{product}</td>
                        <td>{format_date(&table.timestamp[i])}</td>
                        <td><button class="more-like-this" on:click=move |_| spawn_local(run_query(state, Query::Tile(query_cell.clone())))>"More like this"</button></td>
                    </tr>
                }
            })
            .collect::<Vec<_>>()
    };
    let heading = move || {
        let location = |lat: f64, lon: f64| format!("({lat:.4}, {lon:.4})");
        match state.query.get() {
            Some(Query::Location { lat, lon }) => format!("Tiles most similar to the location {}", location(lat, lon)),
            Some(Query::Tile(id)) => {
                let place = state.table.with(|t| {
                    t.as_ref().and_then(|t| t.grid_cell.iter().position(|c| *c == id).map(|i| location(f64::from(t.lat[i]), f64::from(t.lon[i]))))
                });
                format!("Tiles most similar to tile {id} {}", place.unwrap_or_default())
            }
            Some(Query::Text(text)) => format!("Tiles most similar to the text {text:?}"),
            Some(Query::Image(name)) => format!("Tiles most similar to the image {name}"),
            Some(Query::Mixed(mix)) => format!("Tiles most similar to the mix of {}", mix.describe()),
            None => {
                let dataset = state.catalog.with(|c| c.as_ref().and_then(|c| c.dataset(&state.dataset_id.get()).cloned()));
                let takes = |kind: &str| dataset.as_ref().is_some_and(|d| d.takes(kind));
                let mut ways = Vec::new();
                if takes("location") {
                    ways.push("type a latitude and longitude");
                }
                if takes("text") {
                    ways.push("describe a place");
                }
                if takes("image") {
                    ways.push("give an image");
                }
                ways.push("click the map");
                let mut sentence = ways.join(", ");
                sentence.replace_range(..1, &sentence[..1].to_uppercase());
                format!("{sentence}.")
            }
        }
    };
    view! {
        <section class="results" aria-label="Top matches">
            <h2 id="current-query">{heading}</h2>
            <table id="results">
                <thead><tr><th>"Rank"</th><th>"Score"</th><th>"Latitude"</th><th>"Longitude"</th><th>"Cell"</th><th>"Product"</th><th>"Date"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
