//! Text and image queries: the panel with a prompt field and image upload, drag and drop or
//! paste. It also loads the dataset's model card and the query encoders. Each encoder loads
//! once per card and stays in memory.

use std::rc::Rc;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use super::{State, Timings, now_ms, run_query};
use crate::data::catalog::resolve_url;
use crate::encoders::card::ModelCard;
use crate::encoders::device::{self, EncoderDevice};
use crate::encoders::query::{QueryImage, decode_query_image};
use crate::encoders::query::{ImageQueryEncoder, QueryError, TextQueryEncoder};
use crate::encoders::weights::WeightsError;
use crate::ui::loader::{self, Origin};
use crate::search::MAX_PART_WEIGHT;
use crate::ui::params::{EncoderChoice, Mix, Query};

/// The model card of the current dataset, with the URL its own URLs resolve against.
#[derive(Clone)]
pub(super) struct LoadedCard {
    pub(super) url: String,
    pub(super) card: Rc<ModelCard>,
}

/// Weights download in progress: what is loading, bytes done and expected.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Download {
    pub(super) label: String,
    pub(super) done: u64,
    pub(super) total: u64,
}

fn megabytes(bytes: u64) -> String {
    let value = bytes as f64 / 1e6;
    if value < 10.0 {
        format!("{value:.1} MB")
    } else if value < 1000.0 {
        format!("{value:.0} MB")
    } else {
        format!("{:.1} GB", value / 1e3)
    }
}

/// Loads the dataset's model card, once per URL.
pub(super) async fn card(state: State) -> Result<LoadedCard, String> {
    let Some(dataset) = state.dataset() else { return Err("no dataset is selected".to_string()) };
    let Some(card_url) = dataset.model_card.clone() else {
        return Err(format!("dataset {:?} has no model card, so text and image queries are not available for it; query by location or tile", dataset.id));
    };
    let resolved = resolve_url(&state.catalog_url.get_value(), &card_url);
    let loaded = match state.card.get_value().filter(|loaded| loaded.url == resolved) {
        Some(loaded) => loaded,
        None => {
            let (card, url) = loader::load_card(&state.catalog_url.get_value(), &card_url).await?;
            let loaded = LoadedCard { url, card: Rc::new(card) };
            state.card.set_value(Some(loaded.clone()));
            loaded
        }
    };
    // Datasets can share a card, so the check runs for every dataset, also with a cached card.
    if loaded.card.embedding_dim != dataset.dim {
        return Err(format!(
            "model card {} gives {}-value embeddings but dataset {:?} stores {} values: fix the catalog entry",
            loaded.url, loaded.card.embedding_dim, dataset.id, dataset.dim
        ));
    }
    // A dataset load clears the summary, also when the new dataset has the same card.
    state.card_summary.set(Some(summary(&loaded.card)));
    Ok(loaded)
}

/// Describes the model and what each tower downloads, in one line.
fn summary(card: &ModelCard) -> String {
    format!("Model: {} (downloaded on first use, then cached in this browser)", model_label(card))
}

/// Returns the model's name and each tower's download size.
fn model_label(card: &ModelCard) -> String {
    let mut parts = vec![card.name.clone()];
    if let Some(text) = &card.towers.text {
        parts.push(format!("text encoder {}", megabytes(text.weights.download_bytes)));
    }
    if let Some(image) = &card.towers.image {
        parts.push(format!("image encoder {}", megabytes(image.weights.download_bytes)));
    }
    parts.join(" · ")
}

/// A model in the model picker: its card as the catalog names it, and a label with the
/// download sizes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ModelChoice {
    pub(super) card: String,
    pub(super) label: String,
}

/// Loads every model card the catalog names, for the model picker. The cards are small JSON
/// files; a card that fails to load is listed with the reason.
pub(super) async fn load_model_choices(state: State) {
    let Some(catalog) = state.catalog.get_untracked() else { return };
    let mut cards: Vec<String> = Vec::new();
    for card in catalog.datasets.iter().filter_map(|d| d.model_card.clone()) {
        if !cards.contains(&card) {
            cards.push(card);
        }
    }
    let catalog_url = state.catalog_url.get_value();
    let loaded = futures::future::join_all(cards.iter().map(|card| loader::load_card(&catalog_url, card))).await;
    let choices = cards
        .into_iter()
        .zip(loaded)
        .map(|(card, result)| {
            let label = match result {
                Ok((model, _)) => model_label(&model),
                Err(message) => format!("{card} (its model card could not be loaded: {message})"),
            };
            ModelChoice { card, label }
        })
        .collect();
    state.models.set(choices);
}

async fn tower_bytes(state: State, loaded: &LoadedCard, weights: &crate::encoders::card::WeightsCard, label: String) -> Result<Vec<u8>, String> {
    let total = weights.download_bytes;
    state.download.set(Some(Download { label: label.clone(), done: 0, total }));
    let progress = move |done: u64, total: u64| state.download.set(Some(Download { label: label.clone(), done, total }));
    let result = loader::load_tower(&loaded.url, weights, &progress).await;
    state.download.set(None);
    let (bytes, origin) = result?;
    state.weights_origin.set(Some(origin));
    Ok(bytes)
}

/// The encoders' device with the words the status line uses for it; shared by the queries that
/// wait for its set-up.
pub(super) type PendingDevice = Shared<LocalBoxFuture<'static, (EncoderDevice, String)>>;

/// Returns the text and image encoders' device, set up on first use: WebGPU when the browser has
/// it (unless the link sets `encoder=cpu`), burn's CPU backend otherwise, with the reason.
async fn encoder_device(state: State) -> (EncoderDevice, String) {
    let pending = state.encoder_device.get_value().unwrap_or_else(|| {
        let choice = state.encoder_choice.get_value();
        let pending = async move {
            let cpu = EncoderDevice::cpu();
            match choice {
                EncoderChoice::Cpu => {
                    let label = format!("{} (encoder=cpu in the link)", cpu.label());
                    (cpu, label)
                }
                EncoderChoice::Auto => match device::webgpu().await {
                    Ok(gpu) => {
                        let label = gpu.label();
                        (gpu, label)
                    }
                    Err(reason) => {
                        log::warn!("app: text and image encoders fall back to the CPU: {reason}");
                        let label = format!("{}; WebGPU is not used: {reason}", cpu.label());
                        (cpu, label)
                    }
                },
            }
        }
        .boxed_local()
        .shared();
        state.encoder_device.set_value(Some(pending.clone()));
        pending
    });
    pending.await
}

/// Moves the text and image encoders to the CPU for the rest of the session after WebGPU failed,
/// and drops the encoders loaded on the GPU.
fn fall_back_to_cpu(state: State, reason: &str) {
    log::warn!("app: WebGPU failed, the encoders move to the CPU: {reason}");
    let cpu = EncoderDevice::cpu();
    let label = format!("{}; WebGPU failed: {reason}", cpu.label());
    state.encoder_device.set_value(Some(futures::future::ready((cpu, label)).boxed_local().shared()));
    state.text_encoder.set_value(None);
    state.image_encoder.set_value(None);
}

/// Loads an encoder on the encoders' device. A tower with a tensor above the GPU's buffer limit
/// loads on the CPU instead, and the label gives the reason.
fn load_on_device<T>(target: &EncoderDevice, label: &mut String, load: impl Fn(&EncoderDevice) -> Result<T, QueryError>) -> Result<T, String> {
    match load(target) {
        Err(QueryError::Weights { source: error @ WeightsError::TooLargeForDevice { .. }, .. }) if target.is_gpu() => {
            let cpu = EncoderDevice::cpu();
            *label = format!("{} for this model: {error}", cpu.label());
            load(&cpu).map_err(|e| e.to_string())
        }
        result => result.map_err(|e| e.to_string()),
    }
}

/// Returns the text encoder of the dataset's model and loads it on first use.
async fn text_encoder(state: State) -> Result<(Rc<TextQueryEncoder>, String), String> {
    let loaded = card(state).await?;
    if let Some((url, encoder, label)) = state.text_encoder.get_value()
        && url == loaded.url
    {
        return Ok((encoder, label));
    }
    let tower = loaded.card.text().map_err(|e| e.to_string())?;
    let tokenizer_url = resolve_url(&loaded.url, tower.tokenizer.url());
    let (tokenizer, _) = loader::load_cached_file(&tokenizer_url, "tokenizer").await?;
    let weights = tower_bytes(state, &loaded, &tower.weights, format!("Downloading the {} text encoder", loaded.card.name)).await?;
    // Give the page a chance to paint the status before the synchronous model set-up.
    gloo_timers::future::TimeoutFuture::new(0).await;
    let (target, mut label) = encoder_device(state).await;
    let encoder = load_on_device(&target, &mut label, |target| TextQueryEncoder::load(&loaded.card, &weights, &tokenizer, target))?;
    let encoder = Rc::new(encoder);
    state.text_encoder.set_value(Some((loaded.url.clone(), encoder.clone(), label.clone())));
    Ok((encoder, label))
}

/// Returns the image encoder of the dataset's model and loads it on first use.
async fn image_encoder(state: State) -> Result<(Rc<ImageQueryEncoder>, String), String> {
    let loaded = card(state).await?;
    if let Some((url, encoder, label)) = state.image_encoder.get_value()
        && url == loaded.url
    {
        return Ok((encoder, label));
    }
    let tower = loaded.card.image().map_err(|e| e.to_string())?;
    let weights = tower_bytes(state, &loaded, &tower.weights, format!("Downloading the {} image encoder", loaded.card.name)).await?;
    gloo_timers::future::TimeoutFuture::new(0).await;
    let (target, mut label) = encoder_device(state).await;
    let encoder = Rc::new(load_on_device(&target, &mut label, |target| ImageQueryEncoder::load(&loaded.card, &weights, target))?);
    state.image_encoder.set_value(Some((loaded.url.clone(), encoder.clone(), label.clone())));
    Ok((encoder, label))
}

/// Embeds a text or image query with the dataset's encoder and records the fetch and encode
/// times and the device. Other queries need no encoder here and return an error. When WebGPU
/// fails during the query, the encoders move to the CPU and the query runs again there.
pub(super) async fn embed_query(state: State, query: &Query, timings: &mut Timings) -> Result<Vec<f32>, String> {
    let started = now_ms();
    let image = match query {
        Query::Text(_) => None,
        Query::Image(name) => Some((name, current_image(state, name).ok_or_else(|| format!("the image {name:?} is no longer in memory: choose it again"))?)),
        Query::Location { .. } | Query::Tile(_) | Query::Mixed(_) => return Err("this query kind is not embedded by the text and image encoders".to_string()),
    };
    loop {
        let (result, label) = match (query, &image) {
            (Query::Text(text), _) => {
                let (encoder, label) = text_encoder(state).await?;
                let encoder = &encoder;
                (timed(timings, started, || encoder.tokenize(text), |ids| async move { encoder.embed_ids(&ids).await }).await, label)
            }
            (_, Some((_, image))) => {
                let (encoder, label) = image_encoder(state).await?;
                (timed(timings, started, || encoder.prepare(image), |input| encoder.embed_prepared(input)).await, label)
            }
            _ => unreachable!("only text and image queries get here"),
        };
        let (device, _) = encoder_device(state).await;
        match result {
            Ok(vector) => {
                timings.encoder = Some(label);
                return Ok(vector);
            }
            Err(QueryError::Backend(reason)) if device.is_gpu() => fall_back_to_cpu(state, &reason),
            Err(error) => {
                return Err(match &image {
                    Some((name, _)) => format!("{name}: {error}"),
                    None => error.to_string(),
                });
            }
        }
    }
}

/// Records the fetch time since `started`, then runs `prepare` (tokenising or preprocessing)
/// and the tower, `encode`, and records the time of each.
async fn timed<P, F>(timings: &mut Timings, started: f64, prepare: impl FnOnce() -> Result<P, QueryError>, encode: impl FnOnce(P) -> F) -> Result<Vec<f32>, QueryError>
where
    F: std::future::Future<Output = Result<Vec<f32>, QueryError>>,
{
    timings.fetch = Some(now_ms() - started);
    let prepare_started = now_ms();
    let input = prepare();
    timings.prepare = Some(now_ms() - prepare_started);
    let encode_started = now_ms();
    let result = encode(input?).await;
    timings.encode = Some(now_ms() - encode_started);
    result
}

/// Reads a user's file, decodes it and runs an image query; errors name the file.
async fn submit_file(state: State, file: web_sys::File) {
    let name = file.name();
    let buffer = match JsFuture::from(file.array_buffer()).await {
        Ok(buffer) => buffer,
        Err(error) => {
            state.fail(format!("reading the image {name:?} failed: {error:?}"));
            return;
        }
    };
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    submit_image_bytes(state, name, &bytes).await;
}

pub(super) async fn submit_image_bytes(state: State, name: String, bytes: &[u8]) {
    // The card decides how to read the file: SatCLIP takes Sentinel-2 band stacks.
    let loaded = match card(state).await {
        Ok(loaded) => loaded,
        Err(message) => {
            state.fail(message);
            return;
        }
    };
    match decode_query_image(&loaded.card, bytes) {
        Ok(image) => {
            state.image.set_value(Some((name.clone(), Rc::new(image))));
            run_query(state, Query::Image(name)).await;
        }
        Err(error) => state.fail(format!("the image {name:?} cannot be used: {error}")),
    }
}

/// Fetches an example image named in the catalog and runs it as an image query.
async fn submit_example(state: State, title: String, url: String) {
    let resolved = resolve_url(&state.catalog_url.get_value(), &url);
    match loader::load_cached_file(&resolved, "example image").await {
        Ok((bytes, _)) => {
            let name = resolved.rsplit('/').next().unwrap_or(&title).to_string();
            submit_image_bytes(state, name, &bytes).await;
        }
        Err(message) => state.fail(message),
    }
}

/// Returns the image of the last image query if it is the one named `name`.
fn current_image(state: State, name: &str) -> Option<Rc<QueryImage>> {
    state.image.get_value().filter(|(current, _)| current == name).map(|(_, image)| image)
}

/// Weights of a mixed query: from 0 to this, in these steps.
const WEIGHT_STEP: f32 = 0.05;

/// Renders the mixed-query panel: a weight for each kind of query the dataset takes, over the
/// prompt, the last image and the latitude and longitude fields. Shown when the dataset takes
/// two kinds or more.
#[component]
pub(super) fn MixPanel() -> impl IntoView {
    let state = expect_context::<State>();
    let dataset_takes = move |kind: &str| state.catalog.with(|c| c.as_ref().and_then(|c| c.dataset(&state.dataset_id.get())).is_some_and(|d| d.takes(kind)));
    let kinds = move || ["text", "image", "location"].into_iter().enumerate().filter(|(_, kind)| dataset_takes(kind)).collect::<Vec<_>>();
    let submit = move || {
        match build_mix(state, &kinds()) {
            Ok(mix) => spawn_local(run_query(state, Query::Mixed(mix))),
            Err(message) => state.fail(message),
        }
    };
    view! {
        <Show when=move || { kinds().len() >= 2 }>
            <form class="mix-query" id="mix-query" on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <span>"Mix: "</span>
                {move || kinds().into_iter().map(|(index, kind)| {
                    let source = match kind {
                        "text" => "the prompt",
                        "image" => "the last image",
                        _ => "latitude and longitude",
                    };
                    view! {
                        <label class="mix-weight">{format!("{kind} ({source}) ")}
                            <input type="range" id=format!("mix-{kind}") min="0" max=MAX_PART_WEIGHT.to_string() step=WEIGHT_STEP.to_string()
                                prop:value=move || state.mix_weights.get()[index].to_string()
                                on:input=move |ev| {
                                    if let Ok(value) = event_target_value(&ev).parse::<f32>() {
                                        state.mix_weights.update(|w| w[index] = value.clamp(0.0, MAX_PART_WEIGHT));
                                    }
                                }/>
                            <output>{move || format!("{:.2}", state.mix_weights.get()[index])}</output>
                        </label>
                    }
                }).collect_view()}
                <button id="search-mix" type="submit" disabled=move || state.busy.get()>"Search the mix"</button>
                <span class="hint">" Scores are the weighted mean of each part's cosine similarity."</span>
            </form>
        </Show>
    }
}

/// Builds the mixed query from the inputs; a part with a weight needs its input.
fn build_mix(state: State, kinds: &[(usize, &str)]) -> Result<Mix, String> {
    let weights = state.mix_weights.get_untracked();
    let mut mix = Mix::default();
    for &(index, kind) in kinds {
        let weight = weights[index];
        if weight <= 0.0 {
            continue;
        }
        match kind {
            "text" => {
                let text = state.text_text.get_untracked();
                if text.trim().is_empty() {
                    return Err(format!("the mix gives the text a weight of {weight}, but the prompt is empty: type a description or set its weight to 0"));
                }
                mix.text = Some((text, weight));
            }
            "image" => {
                let Some((name, _)) = state.image.get_value() else {
                    return Err(format!("the mix gives the image a weight of {weight}, but no image is loaded: choose, drop or paste one first, or set its weight to 0"));
                };
                mix.image = Some((name, weight));
            }
            _ => mix.location = Some((super::location_fields(state)?, weight)),
        }
    }
    if mix.text.is_none() && mix.image.is_none() && mix.location.is_none() {
        return Err("every part of the mix has weight 0: move at least one slider above 0".to_string());
    }
    Ok(mix)
}

fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|list| list.get(0))
}

/// Text prompt and image input, shown for datasets whose catalog entry lists those queries.
#[component]
pub(super) fn TextImagePanel() -> impl IntoView {
    let state = expect_context::<State>();
    let supports = move |kind: &str| state.catalog.with(|c| c.as_ref().and_then(|c| c.dataset(&state.dataset_id.get())).is_some_and(|d| d.takes(kind)));
    let dragging = RwSignal::new(false);

    // A pasted image anywhere on the page becomes an image query, when the dataset takes one.
    let paste = window_event_listener(leptos::ev::paste, move |event: web_sys::ClipboardEvent| {
        if !supports("image") {
            return;
        }
        let file = event.clipboard_data().and_then(|data| first_file(data.files()));
        if let Some(file) = file {
            event.prevent_default();
            spawn_local(submit_file(state, file));
        }
    });
    on_cleanup(move || paste.remove());

    view! {
        <Show when=move || supports("text")>
            <form class="text-query" on:submit=move |ev| {
                ev.prevent_default();
                let text = state.text_text.get_untracked();
                if text.trim().is_empty() {
                    state.fail("type a description first, such as \"terraced rice fields\"");
                } else {
                    spawn_local(run_query(state, Query::Text(text)));
                }
            }>
                <label>"Describe a place " <input id="text-query" type="text" size="40" placeholder="a river delta with many channels"
                    prop:value=move || state.text_text.get()
                    on:input=move |ev| state.text_text.set(event_target_value(&ev))/></label>
                <button id="search-text" type="submit" disabled=move || state.busy.get()>"Search text"</button>
            </form>
        </Show>
        <Show when=move || supports("image")>
            <div id="image-drop" class="image-drop" class:dragging=move || dragging.get()
                on:dragover=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(true);
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(false);
                    match first_file(ev.data_transfer().and_then(|data| data.files())) {
                        Some(file) => spawn_local(submit_file(state, file)),
                        None => state.fail("the dropped item is not a file: drop a PNG or JPEG image"),
                    }
                }>
                <label>"Image query: drop, paste or choose a PNG or JPEG (SatCLIP: a 12- or 13-band GeoTIFF) "
                    <input id="image-input" type="file" accept="image/png,image/jpeg,image/tiff,.tif,.tiff"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = first_file(input.files()) {
                                spawn_local(submit_file(state, file));
                            }
                            // Choosing the same file again must fire another change event.
                            input.set_value("");
                        }/>
                </label>
                {move || {
                    let examples = state.catalog.with(|c| c.as_ref().map(|c| c.examples.clone()).unwrap_or_default());
                    (!examples.is_empty()).then(|| view! {
                        <span class="examples">" or try "
                            {examples.into_iter().map(|example| {
                                let (title, url) = (example.title.clone(), example.url.clone());
                                view! {
                                    <button type="button" class="example-image" data-url=example.url.clone()
                                        on:click=move |_| spawn_local(submit_example(state, title.clone(), url.clone()))>
                                        {example.title.clone()}
                                    </button>
                                }
                            }).collect_view()}
                        </span>
                    })
                }}
            </div>
        </Show>
        {move || state.card_summary.get().map(|text| view! { <p class="model-summary" id="model-summary">{text}</p> })}
        {move || state.download.get().map(|d| view! {
            <div class="loading" id="weights-download">
                {format!("{}: {} of {} ", d.label, megabytes(d.done), megabytes(d.total))}
                <progress id="weights-progress" max=d.total.to_string() value=d.done.to_string()></progress>
            </div>
        })}
    }
}

/// Describes, for the status line, the source of the last encoder weights.
pub(super) fn origin_text(origin: Option<Origin>) -> &'static str {
    match origin {
        Some(Origin::Cache) => " · weights from the browser cache",
        Some(Origin::Network) => " · weights downloaded",
        None => "",
    }
}
