// End-to-end tests of the built app in headless Chromium.
//
//   node tests/e2e/run.mjs --eee PATH_TO_EEE_BINARY --dist DIST_DIR
//
// Serves DIST_DIR with `eee serve`, runs each test in a fresh browser context, prints PASS or
// FAIL per test and exits with status 1 if any test failed (2 for invalid options or set-up).
// Screenshots go to tests/e2e/artifacts/.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import {
  LOAD_TIMEOUT_MS,
  artifactPath,
  demoFilePaths,
  launchBrowser,
  nearestTile,
  openPage,
  parquetRowCount,
  parseCommandLine,
  permilleRank,
  readDemoCatalogEntry,
  readResultRows,
  readTileCentres,
  sleep,
  startServer,
  waitForResultRows,
} from './lib.mjs';

/** Failing loads give up after a few fast retries, so an error message should appear quickly. */
const ERROR_TIMEOUT_MS = 60_000;
const UI_TIMEOUT_MS = 10_000;

// Map colours, from src/ui/map.rs: the top ‰ is drawn opaque in this exact colour.
const TOP_PERMILLE_RGB = [230, 25, 75];
const OCEAN_RGB = [0xdd, 0xe7, 0xef];
const LAND_RGB = [0xf3, 0xf1, 0xea];
// Pixels whose max − min channel difference is at most this count as grey. That covers ocean,
// land, coastline and the black labels. Viridis tiles, blended over the basemap at alpha 215/255,
// differ by about 50 or more.
const GREY_MAX_CHROMA = 40;
const MIN_HIGHLIGHTED_PIXELS = 50;
const MIN_COLOURED_PIXELS = 1000;

// Nothing listens on port 9 (discard) of the loopback address, and Chromium blocks the port too.
const UNREACHABLE_URL = 'http://127.0.0.1:9/missing.parquet';

async function main() {
  const options = parseCommandLine('run.mjs', { only: { type: 'string', default: '' } }, ' [--only WORDS_IN_TEST_NAME]');
  const demoPaths = demoFilePaths(options.dist);
  const demo = {
    paths: demoPaths,
    rowCount: await parquetRowCount(demoPaths),
    tiles: await readTileCentres(demoPaths),
    catalogEntry: readDemoCatalogEntry(options.dist),
  };
  console.log(`demo index: ${demo.rowCount} tiles in ${demoPaths.length} files`);

  const server = await startServer(options.eee, options.dist);
  console.log(`app served at ${server.url}`);
  let browser;
  let failures = 0;
  try {
    browser = await launchBrowser();
    console.log(`Chromium ${browser.version()}`);
    const environment = { browser, server, options, demo };
    const tests = [
      ['location query ranks the nearest tile first', testLocationQuery],
      ['bad datasets show a message and the app keeps working', testBadDatasets],
      ['text and image queries fall back to the CPU without a WebGPU adapter', (environment) => testTextAndImageQueries(environment, 'cpu')],
      ['text and image queries run the encoders on WebGPU (software adapter)', (environment) => testTextAndImageQueries(environment, 'webgpu')],
    ].filter(([name]) => name.includes(options.only));
    for (const [name, body] of tests) {
      const passed = await runTest(name, () => body(environment));
      failures += passed ? 0 : 1;
    }
    console.log(`\n${tests.length - failures} passed, ${failures} failed`);
  } finally {
    await browser?.close();
    await server.stop();
  }
  process.exitCode = failures === 0 ? 0 : 1;
}

/** Runs one test, prints its result and returns whether it passed. */
async function runTest(name, body) {
  console.log(`\n▶ ${name}`);
  const started = performance.now();
  try {
    await body();
    console.log(`PASS ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    console.log(`FAIL ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    console.log(indent(error.stack ?? String(error)));
    return false;
  }
}

function indent(text) {
  return text.replace(/^/gm, '    ');
}

// ---------------------------------------------------------------------------------------------
// A. Location query

async function testLocationQuery({ browser, server, demo }) {
  const { context, page } = await openPage(browser, 'location query');
  try {
    const [lat, lon] = [-4, -63];
    await page.goto(`${server.url}?dataset=demo&lat=${lat}&lon=${lon}&permille=7&k=10`);
    await waitForResultRows(page, LOAD_TIMEOUT_MS);

    const rows = await readResultRows(page);
    const nearest = nearestTile(demo.tiles, lat, lon);
    assert.equal(rows.length, 10, `expected 10 result rows for k=10, got ${rows.length}`);
    assert.equal(
      rows[0].cellId,
      nearest.cell,
      `the first result should be the demo tile nearest to (${lat}, ${lon}): ${nearest.cell} at ${nearest.distanceKm.toFixed(2)} km ` +
        `(next nearest ${nearest.second?.cell} at ${nearest.second?.distanceKm.toFixed(2)} km); results: ${formatRows(rows)}`,
    );
    for (let i = 1; i < rows.length; i++) {
      assert.ok(rows[i].score <= rows[i - 1].score, `scores are not descending at rank ${i + 1}: ${formatRows(rows)}`);
    }
    assert.ok(Number.isFinite(rows[0].score), `the first score ${rows[0].score} is not a number`);
    assert.ok(rows[0].score <= 1.0001, `the first score ${rows[0].score} exceeds 1, so it is not a cosine similarity`);

    await checkMapColours(page);
    await page.screenshot({ path: artifactPath('location-query.png'), fullPage: true });

    await checkPermilleSlider(page, demo.rowCount);
    await page.screenshot({ path: artifactPath('slider-20.png'), fullPage: true });
  } finally {
    await context.close();
  }
}

function formatRows(rows) {
  return rows.map((row) => `${row.cellId}=${row.score}`).join(', ');
}

/** Counts top-‰ pixels and other coloured pixels on the map and checks that both are present. */
/**
 * Checks that the browser's ranking and scores equal those of `eee search` with `searchArgs` on
 * the same index. Both score the same f16 vectors, so a score difference comes from the query
 * embedding alone.
 */
async function assertMatchesNative(eee, rows, searchArgs, label) {
  const { stdout } = await promisify(execFile)(eee, ['search', ...searchArgs, '--k', String(rows.length)]);
  const native = JSON.parse(stdout).results;
  assert.deepEqual(rows.map((row) => row.cellId), native.map((row) => row.grid_cell), `${label}: browser and native rankings differ: ${formatRows(rows)}`);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(Math.abs(rows[i].score - native[i].score) < 1e-4, `${label} rank ${i + 1}: browser score ${rows[i].score}, native ${native[i].score}`);
  }
  const largest = Math.max(...rows.map((row, i) => Math.abs(row.score - native[i].score)));
  console.log(`  ${label}: largest score difference from eee search ${largest.toExponential(1)}`);
  return native;
}

async function checkMapColours(page) {
  // Drawing runs in an effect after the results render, so the counts are polled briefly.
  let counts;
  const deadline = performance.now() + UI_TIMEOUT_MS;
  do {
    counts = await page.$eval(
      'canvas#map',
      (canvas, { top, ocean, land, greyMaxChroma }) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        const same = (r, g, b, rgb) => r === rgb[0] && g === rgb[1] && b === rgb[2];
        let highlighted = 0;
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
          if (same(r, g, b, top)) {
            highlighted++;
          } else if (!same(r, g, b, ocean) && !same(r, g, b, land) && Math.max(r, g, b) - Math.min(r, g, b) > greyMaxChroma) {
            coloured++;
          }
        }
        return { highlighted, coloured, width: canvas.width, height: canvas.height };
      },
      { top: TOP_PERMILLE_RGB, ocean: OCEAN_RGB, land: LAND_RGB, greyMaxChroma: GREY_MAX_CHROMA },
    );
    if (counts.highlighted > MIN_HIGHLIGHTED_PIXELS && counts.coloured > MIN_COLOURED_PIXELS) {
      break;
    }
    await sleep(250);
  } while (performance.now() < deadline);

  assert.deepEqual([counts.width, counts.height], [1200, 600], 'the map canvas should be 1200×600 pixels');
  assert.ok(
    counts.highlighted > MIN_HIGHLIGHTED_PIXELS,
    `the map has ${counts.highlighted} pixels in the top-‰ colour rgb(${TOP_PERMILLE_RGB}); expected more than ${MIN_HIGHLIGHTED_PIXELS}`,
  );
  assert.ok(
    counts.coloured > MIN_COLOURED_PIXELS,
    `the map has ${counts.coloured} score-coloured pixels (not ocean, land or grey); expected more than ${MIN_COLOURED_PIXELS}`,
  );
}

/** Checks the top-‰ count at 7 ‰, moves the slider to 20 ‰ and checks the count and the URL. */
async function checkPermilleSlider(page, rowCount) {
  const countLocator = page.locator('#threshold-count');
  await page
    .waitForFunction(() => document.querySelector('#threshold-count')?.getAttribute('data-count'), undefined, { timeout: UI_TIMEOUT_MS })
    .catch(() => {}); // The assertion below reports a missing count as 0.
  const initialCount = Number(await countLocator.getAttribute('data-count'));
  // NOTE: tied scores at the cut-off make the app's count larger than this rank, which fails
  // the strict check below.
  const expectedAt7 = permilleRank(rowCount, 7);
  assert.equal(initialCount, expectedAt7, permilleCountMessage(7, rowCount, initialCount, expectedAt7));

  await page.$eval('#permille', (slider) => {
    slider.value = '20';
    slider.dispatchEvent(new Event('input', { bubbles: true }));
  });
  const expectedAt20 = permilleRank(rowCount, 20);
  await page
    .waitForFunction((expected) => document.querySelector('#threshold-count')?.getAttribute('data-count') === String(expected), expectedAt20, {
      timeout: UI_TIMEOUT_MS,
    })
    .catch(() => {}); // The assertion below reports the count that the app shows.
  const countAt20 = Number(await countLocator.getAttribute('data-count'));
  assert.equal(countAt20, expectedAt20, permilleCountMessage(20, rowCount, countAt20, expectedAt20));

  assert.match(page.url(), /[?&]permille=20(&|$)/, `the page URL should contain permille=20 after moving the slider: ${page.url()}`);
}

function permilleCountMessage(permille, rowCount, actual, expected) {
  const tieHint = actual > expected ? ' A larger count can come from tied scores at the cut-off.' : '';
  return `top ${permille} ‰ of ${rowCount} tiles: the app counts ${actual}, expected max(1, floor(N·${permille}/1000)) = ${expected}.${tieHint}`;
}

// ---------------------------------------------------------------------------------------------
// B. Bad datasets

async function testBadDatasets({ browser, server, options, demo }) {
  const catalogDir = await mkdtemp(join(tmpdir(), 'eee-e2e-catalog-'));
  let catalogServer;
  let context;
  try {
    await writeFile(join(catalogDir, 'notes.parquet'), 'this is not parquet\n');
    await writeFile(join(catalogDir, 'catalog.json'), JSON.stringify(badCatalog(server.url, demo.catalogEntry), null, 2));
    catalogServer = await startServer(options.eee, catalogDir).catch((error) => {
      throw new Error(`starting the second server for the test catalog failed: ${error.message}`);
    });

    let page;
    ({ context, page } = await openPage(browser, 'bad datasets'));
    const catalogUrl = `${catalogServer.url}catalog.json`;
    await page.goto(`${server.url}?catalog=${encodeURIComponent(catalogUrl)}&dataset=unreachable`);

    const unreachableError = await waitForErrorText(page, (text) => text.length > 0, ERROR_TIMEOUT_MS, 'an error for dataset "unreachable"');
    assert.ok(unreachableError.includes('127.0.0.1:9/missing.parquet'), `the error for dataset "unreachable" should name ${UNREACHABLE_URL}: ${unreachableError}`);
    await page.screenshot({ path: artifactPath('bad-dataset.png'), fullPage: true });

    // The previous error stays until the next one replaces it, so wait for the new text.
    await page.selectOption('#dataset', 'not-parquet');
    const notParquetError = await waitForErrorText(page, (text) => text.includes('notes.parquet'), ERROR_TIMEOUT_MS, 'an error naming notes.parquet');
    assert.ok(notParquetError.includes('not a Parquet file'), `the error for dataset "not-parquet" should say "not a Parquet file": ${notParquetError}`);

    await page.selectOption('#dataset', 'demo');
    await waitForDatasetLoaded(page);
    const [lat, lon] = [51.5, -0.12];
    await page.fill('#lat', String(lat));
    await page.fill('#lon', String(lon));
    await page.click('#search-location');
    await waitForResultRows(page, LOAD_TIMEOUT_MS);
    const rows = await readResultRows(page);
    const nearest = nearestTile(demo.tiles, lat, lon);
    assert.ok(rows.length > 0, 'no result rows after the search on the demo dataset');
    assert.equal(
      rows[0].cellId,
      nearest.cell,
      `the first result should be the demo tile nearest to (${lat}, ${lon}): ${nearest.cell} at ${nearest.distanceKm.toFixed(2)} km ` +
        `(next nearest ${nearest.second?.cell} at ${nearest.second?.distanceKm.toFixed(2)} km); results: ${formatRows(rows)}`,
    );
    await page.screenshot({ path: artifactPath('recovered.png'), fullPage: true });

    await page.fill('#lat', 'abc');
    await page.click('#search-location');
    const invalidInputError = await waitForErrorText(page, (text) => text.length > 0, UI_TIMEOUT_MS, 'an error for latitude "abc"');
    assert.ok(invalidInputError.includes('numbers'), `the error for latitude "abc" should say that the fields must be numbers: ${invalidInputError}`);
    const rowsAfterInvalidInput = await readResultRows(page);
    assert.deepEqual(
      rowsAfterInvalidInput.map((row) => row.cellId),
      rows.map((row) => row.cellId),
      'the previous results should stay after an invalid latitude',
    );
  } finally {
    await context?.close();
    await catalogServer?.stop();
    await rm(catalogDir, { recursive: true, force: true });
  }
}

/**
 * A catalog with an unreachable file, a text file named .parquet, and the demo with absolute URLs
 * on the main server (the catalog itself is served from a second server).
 */
function badCatalog(mainServerUrl, demoEntry) {
  const mainCatalogUrl = `${mainServerUrl}catalog.json`;
  const absolute = (url) => new URL(url, mainCatalogUrl).href;
  const common = { model: demoEntry.model, dim: 256, dtype: 'f16' };
  return {
    datasets: [
      { id: 'unreachable', title: 'Unreachable file', ...common, files: [{ url: UNREACHABLE_URL }] },
      { id: 'not-parquet', title: 'Text file named .parquet', ...common, files: [{ url: 'notes.parquet' }] },
      {
        id: 'demo',
        title: 'Demo with absolute URLs',
        ...common,
        demo: true,
        location_weights: absolute(demoEntry.location_weights),
        files: demoEntry.files.map((file) => ({ url: absolute(file.url) })),
      },
    ],
  };
}

/** Waits until `#error` shows text that satisfies `accept`, and returns that text. */
async function waitForErrorText(page, accept, timeoutMs, description) {
  const deadline = performance.now() + timeoutMs;
  let text = null;
  while (performance.now() < deadline) {
    text = await page.evaluate(() => document.querySelector('#error')?.textContent ?? null);
    if (text !== null && accept(text)) {
      return text;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; #error shows: ${text ?? '(no #error element)'}`);
}

/** Waits until the progress bar is gone and the location form is enabled. */
async function waitForDatasetLoaded(page) {
  await page
    .waitForFunction(
      () => {
        const latInput = document.querySelector('#lat');
        const searchButton = document.querySelector('#search-location');
        return !document.querySelector('#progress') && latInput && !latInput.disabled && searchButton && !searchButton.disabled;
      },
      undefined,
      { timeout: LOAD_TIMEOUT_MS, polling: 100 },
    )
    .catch(async (error) => {
      const status = await page.locator('p#status').textContent().catch(() => '(no status line)');
      throw new Error(`the demo dataset did not finish loading within ${LOAD_TIMEOUT_MS} ms (${error.message.split('\n')[0]}); status line: ${status}`);
    });
}

// ---------------------------------------------------------------------------------------------
// C. Text and image queries on a tiny SigLIP (test fixtures), against the native encoders

const REPOSITORY = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENCODER_FIXTURES = join(REPOSITORY, 'tests/fixtures/encoders');
const EXAMPLES = resolve(REPOSITORY, '../shared/examples');
/** The real 13-band Sentinel-2 chip of the preprocessing fixtures. */
const S2_CHIP = join(REPOSITORY, 'tests/fixtures/preprocess/s2_chip.tif');
/** Example image → the cell it is indexed under. */
const INDEXED_EXAMPLES = { example1: '337U_1155R', example2: '418U_669L', example3: '45D_699L' };
const TEXT_PROMPT = 'Terraced rice fields &amp; a river';
/** A prompt that ftfy and html.unescape change before CLIP's BPE tokenises it. */
const CLIP_PROMPT = 'donâ€™t miss the “curly” quotes &amp; ＦＵＬＬＷＩＤＴＨ sea ice';

const CLIP_VOCABULARY_SIZE = 49408;

/**
 * Returns the row of the tiny FarSLIP token table that CLIP id `id` maps to, as
 * dev/make_encoder_fixtures.py maps them. Pad 0 stays 0, start of text 49406 becomes 998, end of
 * text 49407 becomes 999, and any other id becomes 1 + id % 997.
 */
function tinyRow(id) {
  if (id === 0) {
    return 0;
  }
  if (id === 49406) {
    return 998;
  }
  if (id === 49407) {
    return 999;
  }
  return 1 + (id % 997);
}

/**
 * Returns the tiny FarSLIP safetensors file with its 1000-row token table spread over the real
 * CLIP ids by `tinyRow`, so real tokenizer output gives the tiny model's outputs.
 */
async function spreadTinyVocabulary(path) {
  const bytes = await readFile(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const data = bytes.subarray(8 + headerLength);

  const spread = {};
  const chunks = [];
  let offset = 0;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      continue;
    }
    let chunk = data.subarray(info.data_offsets[0], info.data_offsets[1]);
    let shape = info.shape;
    if (name === 'token_embedding.weight') {
      assert.equal(info.dtype, 'F32', `the tiny token table should be F32, not ${info.dtype}`);
      const rowBytes = shape[1] * 4;
      const table = Buffer.alloc(CLIP_VOCABULARY_SIZE * rowBytes);
      for (let id = 0; id < CLIP_VOCABULARY_SIZE; id++) {
        const row = tinyRow(id);
        chunk.copy(table, id * rowBytes, row * rowBytes, (row + 1) * rowBytes);
      }
      chunk = table;
      shape = [CLIP_VOCABULARY_SIZE, shape[1]];
    }
    spread[name] = { dtype: info.dtype, shape, data_offsets: [offset, offset + chunk.length] };
    chunks.push(chunk);
    offset += chunk.length;
  }

  // safetensors pads the JSON header with spaces to a multiple of 8 bytes.
  let headerText = JSON.stringify(spread);
  headerText += ' '.repeat((8 - (headerText.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(headerText)));
  return Buffer.concat([length, Buffer.from(headerText, 'utf8'), ...chunks]);
}

/**
 * Copies the tiny `model`'s card and weights into `dir/model/` and indexes the example images
 * with them (`eee index`). Returns the card, the catalog entry and the CLI model arguments.
 */
async function prepareTinyModel(eee, dir, model, queries, sources = INDEXED_EXAMPLES, extension = 'png') {
  const run = promisify(execFile);
  const card = JSON.parse(await readFile(join(ENCODER_FIXTURES, model, 'card.json'), 'utf8'));
  await mkdir(join(dir, model), { recursive: true });
  if (queries.includes('text') && model === 'farslip') {
    // The real CLIP tokenizer, with the tiny token table spread over its 49,408 ids.
    card.architecture.vocab_size = CLIP_VOCABULARY_SIZE;
    card.towers.text.tokenizer.url = 'bpe_simple_vocab_16e6.txt.gz';
    await copyFile(join(REPOSITORY, 'public/vocab/bpe_simple_vocab_16e6.txt.gz'), join(dir, model, 'bpe_simple_vocab_16e6.txt.gz'));
    await writeFile(join(dir, model, 'tiny.safetensors'), await spreadTinyVocabulary(join(ENCODER_FIXTURES, model, 'tiny.safetensors')));
  } else {
    if (queries.includes('text')) {
      // The SigLIP fixture's tokenizer: a small SentencePiece model trained for the tests.
      card.towers.text.tokenizer.url = 'tokenizer.json';
      await copyFile(join(REPOSITORY, 'tests/fixtures/tokenizers/t5like_unigram.tokenizer.json'), join(dir, model, 'tokenizer.json'));
    }
    await copyFile(join(ENCODER_FIXTURES, model, 'tiny.safetensors'), join(dir, model, 'tiny.safetensors'));
  }
  await writeFile(join(dir, model, 'card.json'), JSON.stringify(card, null, 2));
  const images = [];
  for (const [source, cell] of Object.entries(sources)) {
    const path = join(dir, model, `${cell}.${extension}`);
    await copyFile(extension === 'png' ? join(EXAMPLES, `${source}.png`) : source, path);
    images.push(path);
  }
  const modelArgs = ['--model', join(dir, model, 'card.json'), '--weights', join(dir, model, 'tiny.safetensors')];
  await run(eee, ['index', ...modelArgs, '--out', join(dir, model, 'index.parquet'), ...images]);
  const entry = {
    id: `tiny-${model}`,
    title: `Three example images, ${card.name}`,
    model: card.id,
    dim: card.embedding_dim,
    dtype: 'f16',
    queries,
    model_card: `${model}/card.json`,
    files: [{ url: `${model}/index.parquet` }],
  };
  return { card, entry, modelArgs };
}

/**
 * Indexes the three example images with `eee index` and each tiny model, and serves the
 * datasets, model cards, weights and tokenizer from a second server. In the browser, an uploaded
 * image must find its own tile with a score of about 1 for SigLIP, FarSLIP and DINOv2, and a
 * SigLIP text query must give the ranking and scores of `eee search --text`. A file that is not
 * an image must get a message naming it, and a second visit must load the weights from Cache
 * Storage. A mixed query must score each tile as the weighted mean of its native text and image
 * scores, and the model picker must list each model with its download sizes.
 *
 * `backend` is 'cpu' for the default browser, which has no WebGPU adapter, so the app must fall
 * back to the CPU and announce it; 'webgpu' for a browser with Chromium's software WebGPU adapter.
 */
async function testTextAndImageQueries({ browser: defaultBrowser, server, options }, backend) {
  const dir = await mkdtemp(join(tmpdir(), 'eee-e2e-encoders-'));
  let modelServer;
  let context;
  const browser = backend === 'webgpu' ? await launchBrowser({ webgpu: true }) : defaultBrowser;
  try {
    const run = promisify(execFile);
    const siglip = await prepareTinyModel(options.eee, dir, 'siglip', ['tile', 'text', 'image']);
    const farslip = await prepareTinyModel(options.eee, dir, 'farslip', ['tile', 'text', 'image']);
    const dinov2 = await prepareTinyModel(options.eee, dir, 'dinov2', ['tile', 'image']);
    // SatCLIP takes Sentinel-2 band stacks: the 13-band chip near cell 418U_669L.
    const satclip = await prepareTinyModel(options.eee, dir, 'satclip', ['tile', 'image'], { [S2_CHIP]: '418U_669L' }, 'tif');
    const modelArgs = siglip.modelArgs;
    const catalog = {
      datasets: [siglip.entry, farslip.entry, dinov2.entry, satclip.entry],
      examples: [{ title: 'Example 3', url: `siglip/${INDEXED_EXAMPLES.example3}.png` }],
    };
    await writeFile(join(dir, 'catalog.json'), JSON.stringify(catalog, null, 2));
    modelServer = await startServer(options.eee, dir);
    const link = `${server.url}?catalog=${encodeURIComponent(`${modelServer.url}catalog.json`)}&dataset=tiny-siglip&k=3`;

    let page;
    ({ context, page } = await openPage(browser, 'text and image queries'));
    const weightRequests = [];
    page.on('request', (request) => {
      if (request.url().includes('tiny.safetensors')) {
        weightRequests.push(request.url());
      }
    });
    await page.goto(link);
    await page.waitForSelector('#model-summary', { timeout: LOAD_TIMEOUT_MS });

    // The dataset takes no location queries, so the location form is not offered.
    assert.equal(await page.$('#lat'), null, 'the latitude field should be hidden on a dataset without location queries');

    // Image query: example2 through the browser's encoder finds the tile eee index stored for it.
    await page.setInputFiles('#image-input', join(EXAMPLES, 'example2.png'));
    await waitForHeading(page, 'example2.png');
    let rows = await readResultRows(page);
    assert.equal(rows[0].cellId, INDEXED_EXAMPLES.example2, `the uploaded example2.png should rank its own tile first: ${formatRows(rows)}`);
    assert.ok(rows[0].score > 0.999, `the image's own tile should score about 1 (f16 storage), got ${rows[0].score}`);
    await assertMatchesNative(options.eee, rows, [join(dir, 'siglip/index.parquet'), '--image', join(EXAMPLES, 'example2.png'), ...modelArgs], 'SigLIP image');
    assert.ok(weightRequests.length > 0, 'the image encoder weights were not requested');
    const deviceStatus = await page.locator('p#status').textContent();
    if (backend === 'webgpu') {
      assert.ok(deviceStatus.includes('encoder on WebGPU'), `the status line should say the encoder ran on WebGPU: ${deviceStatus}`);
    } else {
      assert.ok(deviceStatus.includes('encoder on CPU (burn ndarray); WebGPU is not used: the browser has no WebGPU adapter'), `the status line should announce the CPU fallback: ${deviceStatus}`);
    }
    await page.screenshot({ path: artifactPath(`image-query-${backend}.png`), fullPage: true });

    // Text query: the browser's ranking and scores equal the native encoder's.
    await page.fill('#text-query', TEXT_PROMPT);
    await page.click('#search-text');
    await waitForHeading(page, TEXT_PROMPT);
    rows = await readResultRows(page);
    const native = await assertMatchesNative(options.eee, rows, [
      join(dir, 'siglip/index.parquet'), '--text', TEXT_PROMPT, ...modelArgs, '--tokenizer', join(dir, 'siglip/tokenizer.json'),
    ], 'SigLIP text');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('text'), TEXT_PROMPT, `the link should carry the prompt: ${page.url()}`);
    await page.screenshot({ path: artifactPath(`text-query-${backend}.png`), fullPage: true });

    // Mixed query, 0.7 × the prompt + 0.3 × the last image (example2.png): each tile's score is
    // the weighted mean of its native text and image scores. The dataset has 3 tiles, so k=3
    // gives every tile's score.
    const weights = { text: 0.7, image: 0.3 };
    for (const [kind, weight] of Object.entries(weights)) {
      await page.$eval(`#mix-${kind}`, (input, value) => {
        input.value = String(value);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }, weight);
    }
    await page.click('#search-mix');
    await waitForHeading(page, 'the mix of');
    rows = await readResultRows(page);
    const nativeImage = JSON.parse((await run(options.eee, [
      'search', join(dir, 'siglip/index.parquet'), '--image', join(EXAMPLES, 'example2.png'), ...modelArgs, '--k', '3',
    ])).stdout).results;
    const scoreOf = (results, cell) => results.find((row) => row.grid_cell === cell).score;
    const expectedMix = native
      .map((row) => ({ cell: row.grid_cell, score: (weights.text * row.score + weights.image * scoreOf(nativeImage, row.grid_cell)) / (weights.text + weights.image) }))
      .sort((a, b) => b.score - a.score);
    assert.deepEqual(rows.map((row) => row.cellId), expectedMix.map((row) => row.cell), `mixed ranking differs from the weighted native scores: ${formatRows(rows)}`);
    for (let i = 0; i < rows.length; i++) {
      assert.ok(Math.abs(rows[i].score - expectedMix[i].score) < 1e-4, `mix rank ${i + 1}: browser score ${rows[i].score}, expected ${expectedMix[i].score}`);
    }
    const mixUrl = new URL(page.url());
    assert.equal(mixUrl.searchParams.get('text_weight'), '0.7', `the link should carry the text weight: ${page.url()}`);
    assert.ok(!page.url().includes('example2'), `the link should not name the image: ${page.url()}`);
    await page.screenshot({ path: artifactPath(`mixed-query-${backend}.png`), fullPage: true });

    // A file that is not an image: a message names it, and the results stay.
    await page.setInputFiles('#image-input', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    const imageError = await waitForErrorText(page, (text) => text.includes('notes.png'), UI_TIMEOUT_MS, 'an error naming notes.png');
    assert.ok(imageError.length > 'notes.png'.length, `the error should say what is wrong: ${imageError}`);
    assert.equal((await readResultRows(page)).length, rows.length, 'the previous results should stay after an unusable image');

    // An example image offered by the catalog (after dismissing the message above).
    await page.click('#error button');
    await page.click('button.example-image');
    await waitForHeading(page, `${INDEXED_EXAMPLES.example3}.png`);
    rows = await readResultRows(page);
    assert.equal(rows[0].cellId, INDEXED_EXAMPLES.example3, `the example image should rank its own tile first: ${formatRows(rows)}`);

    // Pasting and dropping an image run the same query as the file input.
    const example1Bytes = (await readFile(join(EXAMPLES, 'example1.png'))).toString('base64');
    for (const [how, name] of [['paste', 'pasted.png'], ['drop', 'dropped.png']]) {
      await page.evaluate(({ data, how, name }) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: 'image/png' }));
        const event = how === 'paste'
          ? new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true })
          : new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true });
        (how === 'paste' ? document.body : document.querySelector('#image-drop')).dispatchEvent(event);
      }, { data: example1Bytes, how, name });
      await waitForHeading(page, name);
      rows = await readResultRows(page);
      assert.equal(rows[0].cellId, INDEXED_EXAMPLES.example1, `example1.png given by ${how} as ${name} should rank its own tile first: ${formatRows(rows)}`);
    }

    // The FarSLIP and DINOv2 image towers in the browser.
    for (const { card, entry, modelArgs: towerArgs } of [farslip, dinov2]) {
      await page.selectOption('#dataset', entry.id);
      await page.waitForFunction((name) => (document.querySelector('#model-summary')?.textContent ?? '').includes(name), card.name, { timeout: LOAD_TIMEOUT_MS });
      await page.setInputFiles('#image-input', join(EXAMPLES, 'example1.png'));
      await waitForHeading(page, 'example1.png');
      rows = await readResultRows(page);
      assert.equal(rows[0].cellId, INDEXED_EXAMPLES.example1, `${card.name}: example1.png should rank its own tile first: ${formatRows(rows)}`);
      assert.ok(rows[0].score > 0.999, `${card.name}: the image's own tile should score about 1 (f16 storage), got ${rows[0].score}`);
      await assertMatchesNative(options.eee, rows, [join(dir, entry.id.replace('tiny-', ''), 'index.parquet'), '--image', join(EXAMPLES, 'example1.png'), ...towerArgs], card.name);
    }

    // FarSLIP's text tower with the real CLIP tokenizer (ftfy, HTML unescaping, BPE) in wasm.
    await page.selectOption('#dataset', farslip.entry.id);
    await page.waitForFunction((name) => (document.querySelector('#model-summary')?.textContent ?? '').includes(name), farslip.card.name, { timeout: LOAD_TIMEOUT_MS });
    await page.fill('#text-query', CLIP_PROMPT);
    await page.click('#search-text');
    await waitForHeading(page, CLIP_PROMPT);
    rows = await readResultRows(page);
    await assertMatchesNative(options.eee, rows, [
      join(dir, 'farslip/index.parquet'), '--text', CLIP_PROMPT, ...farslip.modelArgs, '--tokenizer', join(dir, 'farslip/bpe_simple_vocab_16e6.txt.gz'),
    ], 'FarSLIP text');

    // SatCLIP in the browser: the GeoTIFF finds its own tile, and a PNG gets a message.
    await page.selectOption('#dataset', satclip.entry.id);
    await page.waitForFunction((name) => (document.querySelector('#model-summary')?.textContent ?? '').includes(name), satclip.card.name, { timeout: LOAD_TIMEOUT_MS });
    await page.setInputFiles('#image-input', S2_CHIP);
    await waitForHeading(page, 's2_chip.tif');
    rows = await readResultRows(page);
    assert.equal(rows[0].cellId, '418U_669L', `the GeoTIFF should rank its own tile first: ${formatRows(rows)}`);
    assert.ok(rows[0].score > 0.999, `the GeoTIFF's own tile should score about 1 (f16 storage), got ${rows[0].score}`);
    await assertMatchesNative(options.eee, rows, [join(dir, 'satclip/index.parquet'), '--image', S2_CHIP, ...satclip.modelArgs], 'SatCLIP GeoTIFF');
    await page.setInputFiles('#image-input', join(EXAMPLES, 'example1.png'));
    const bandsError = await waitForErrorText(page, (text) => text.includes('example1.png'), UI_TIMEOUT_MS, 'an error naming example1.png');
    assert.ok(bandsError.includes('13-band'), `a PNG on SatCLIP should ask for a band GeoTIFF: ${bandsError}`);
    await page.click('#error button');

    // Back on the first dataset, whose card is already loaded, the model summary shows again.
    await page.selectOption('#dataset', siglip.entry.id);
    await page.waitForFunction((name) => (document.querySelector('#model-summary')?.textContent ?? '').includes(name), siglip.card.name, { timeout: LOAD_TIMEOUT_MS });

    // The model picker lists each model with the download sizes from its card, and choosing
    // one narrows the dataset list to that model's datasets.
    const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
    const expectedLabels = [siglip, farslip, dinov2, satclip].map(({ card }) => [
      card.name,
      ...(card.towers.text ? [`text encoder ${megabytes(card.towers.text.weights.download_bytes)}`] : []),
      `image encoder ${megabytes(card.towers.image.weights.download_bytes)}`,
    ].join(' · '));
    const modelLabels = await page.$$eval('#model option', (options) => options.map((option) => option.textContent));
    assert.deepEqual(modelLabels, ['Any model', ...expectedLabels], 'the model picker should list every model with its download sizes');
    await page.selectOption('#model', dinov2.entry.model_card);
    await page.waitForFunction((name) => (document.querySelector('#model-summary')?.textContent ?? '').includes(name), dinov2.card.name, { timeout: LOAD_TIMEOUT_MS });
    assert.equal(await page.$eval('#dataset', (select) => select.value), dinov2.entry.id, 'choosing a model should select its dataset');
    assert.deepEqual(await page.$$eval('#dataset option', (options) => options.map((option) => option.value)), [dinov2.entry.id], 'the dataset list should show only that model\'s datasets');
    await page.selectOption('#model', '');
    assert.equal((await page.$$('#dataset option')).length, 4, '"Any model" should list every dataset again');

    // Second visit in the same browser profile: the weights come from Cache Storage. On the
    // WebGPU browser the link sets encoder=cpu, which the status line confirms.
    weightRequests.length = 0;
    await page.goto(backend === 'webgpu' ? `${link}&encoder=cpu` : link);
    await page.waitForSelector('#model-summary', { timeout: LOAD_TIMEOUT_MS });
    await page.setInputFiles('#image-input', join(EXAMPLES, 'example1.png'));
    await waitForHeading(page, 'example1.png');
    rows = await readResultRows(page);
    assert.equal(rows[0].cellId, INDEXED_EXAMPLES.example1, `after reload, example1.png should rank its own tile first: ${formatRows(rows)}`);
    assert.deepEqual(weightRequests, [], 'the second visit should read the weights from Cache Storage, not the network');
    const status = await page.locator('p#status').textContent();
    assert.ok(status.includes('weights from the browser cache'), `the status line should say the weights came from the cache: ${status}`);
    if (backend === 'webgpu') {
      assert.ok(status.includes('encoder on CPU (burn ndarray) (encoder=cpu in the link)'), `the link's encoder=cpu should move the encoder to the CPU: ${status}`);
    }
  } finally {
    await context?.close();
    if (browser !== defaultBrowser) {
      await browser.close();
    }
    await modelServer?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits until the results heading names `text` and result rows are shown. */
async function waitForHeading(page, text) {
  await page
    .waitForFunction(
      (expected) => (document.querySelector('#current-query')?.textContent ?? '').includes(expected) || document.querySelector('#error'),
      text,
      { timeout: LOAD_TIMEOUT_MS, polling: 100 },
    )
    .catch(async (error) => {
      const status = await page.locator('p#status').textContent().catch(() => '(no status line)');
      throw new Error(`the results heading did not name ${JSON.stringify(text)} within ${LOAD_TIMEOUT_MS} ms (${error.message.split('\n')[0]}); status line: ${status}`);
    });
  await waitForResultRows(page);
}

main().catch((error) => {
  console.error(`error: ${error.stack ?? error}`);
  process.exitCode = 2;
});
