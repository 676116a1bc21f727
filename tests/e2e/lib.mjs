// Shared helpers of the end-to-end test driver (run.mjs) and the benchmark (bench.mjs):
// command-line options, `eee serve` processes, headless Chromium, and an independent reading of
// the demo index with hyparquet.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { chromium } from 'playwright-core';

export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
  '--disable-gpu',
];

/** Loading the demo index, the wasm and the encoder weights can take minutes on a slow machine. */
export const LOAD_TIMEOUT_MS = 180_000;

const SERVER_START_TIMEOUT_MS = 15_000;
const MEAN_EARTH_RADIUS_KM = 6371.0088;

/**
 * Parses `--eee PATH --dist DIR` plus `extraOptions` (node:util parseArgs option specs) and
 * checks that the binary and the built app exist. Exits with status 2 and a usage line on
 * invalid options.
 */
export function parseCommandLine(scriptName, extraOptions = {}, extraUsage = '') {
  const usage = `usage: node tests/e2e/${scriptName} --eee PATH_TO_EEE_BINARY --dist DIST_DIR${extraUsage}`;
  let values;
  try {
    ({ values } = parseArgs({
      options: { eee: { type: 'string' }, dist: { type: 'string' }, help: { type: 'boolean' }, ...extraOptions },
      strict: true,
    }));
  } catch (error) {
    exitWithUsage(error.message, usage);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (!values.eee || !values.dist) {
    exitWithUsage('--eee and --dist are required', usage);
  }

  const eee = resolve(values.eee);
  const dist = resolve(values.dist);
  try {
    accessSync(eee, fsConstants.X_OK);
  } catch {
    exitWithUsage(`the eee binary ${eee} is missing or not executable: build it with \`cargo build --bin eee\``, usage);
  }
  if (!existsSync(join(dist, 'index.html'))) {
    exitWithUsage(`${join(dist, 'index.html')} is missing: build the app with \`make build\``, usage);
  }
  return { ...values, eee, dist };
}

function exitWithUsage(message, usage) {
  console.error(`error: ${message}\n${usage}`);
  process.exit(2);
}

/** Creates tests/e2e/artifacts/ and returns the path of `name` inside it. */
export function artifactPath(name) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

// ---------------------------------------------------------------------------------------------
// `eee serve` processes

const runningServers = new Set();

// Kill servers that are still running when Node exits for any reason, including an uncaught
// exception. 'exit' handlers must be synchronous, which child.kill() is.
process.on('exit', () => {
  for (const child of runningServers) {
    child.kill('SIGKILL');
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`received ${signal}; stopping the servers`);
    process.exit(130);
  });
}

/**
 * Starts `eee serve --dir DIR --address 127.0.0.1:0` and waits for its start-up line
 * `serving DIR at http://127.0.0.1:PORT/`. Returns `{ url, port, stop }`, where `url` ends with a
 * slash.
 */
export async function startServer(eeeBinary, dir) {
  const child = spawn(eeeBinary, ['serve', '--dir', dir, '--address', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  runningServers.add(child);

  // The pipe is drained for the whole run, so that a server that logs to stderr never blocks.
  // The tail is kept for error messages.
  let stderrTail = '';
  const port = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`eee serve --dir ${dir} printed no "serving … at http://127.0.0.1:PORT/" line within ${SERVER_START_TIMEOUT_MS} ms; stderr: ${stderrTail}`));
    }, SERVER_START_TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      const match = /serving .* at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderrTail);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`starting ${eeeBinary} serve failed: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      runningServers.delete(child);
      clearTimeout(timer);
      reject(new Error(`eee serve --dir ${dir} exited (code ${code}, signal ${signal}) before it printed its address; stderr: ${stderrTail}`));
    });
  }).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    child.kill('SIGTERM');
    await exited;
  };
  return { url: `http://127.0.0.1:${port}/`, port, stop };
}

// ---------------------------------------------------------------------------------------------
// Browser

/**
 * Launches headless Debian Chromium. Each context that the caller creates starts empty.
 *
 * By default the GPU is disabled, so the page has `navigator.gpu` but no WebGPU adapter. With
 * `webgpu: true`, Chromium offers WebGPU on its software adapter (SwiftShader), which needs
 * `--enable-unsafe-webgpu` on Linux.
 */
export async function launchBrowser({ webgpu = false } = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (\`make browser-deps\`)`);
  }
  const args = webgpu ? [...CHROMIUM_ARGS.filter((arg) => arg !== '--disable-gpu'), '--enable-unsafe-webgpu'] : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}

/**
 * Opens a page in a new browser context and prints the page's console errors and uncaught
 * exceptions to stdout, prefixed with `label`. Close the returned context when done.
 */
export async function openPage(browser, label) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') {
      console.log(`  [${label}: browser console error] ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => {
    console.log(`  [${label}: uncaught exception in page] ${error.message}`);
  });
  return { context, page };
}

/**
 * Waits until the results table has rows or the app shows an error. Throws with the error text
 * in the second case, and with the status line on timeout.
 */
export async function waitForResultRows(page, timeoutMs = LOAD_TIMEOUT_MS) {
  try {
    await page.waitForFunction(
      () => document.querySelector('table#results tbody tr.result') || document.querySelector('#error'),
      undefined,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch (error) {
    const status = await page.locator('p#status').textContent({ timeout: 1000 }).catch(() => '(no status line)');
    throw new Error(`no result rows and no error within ${timeoutMs} ms (${error.message.split('\n')[0]}); status line: ${status}`);
  }
  const errorText = await page.evaluate(() => document.querySelector('#error')?.textContent ?? null);
  if (errorText !== null) {
    throw new Error(`the app shows an error instead of results: ${errorText}`);
  }
}

/** Returns the result rows as `{ cellId, score }` in table order. */
export async function readResultRows(page) {
  return page.$$eval('table#results tbody tr.result', (rows) =>
    rows.map((row) => ({ cellId: row.getAttribute('data-cell-id'), score: Number(row.getAttribute('data-score')) })),
  );
}

// ---------------------------------------------------------------------------------------------
// Demo index, read independently of the app

/**
 * Returns the paths of the demo dataset's Parquet files, as listed by DIST/catalog.json with URLs
 * relative to it.
 */
export function demoFilePaths(dist) {
  const demo = readDemoCatalogEntry(dist);
  return demo.files.map((file) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(file.url)) {
      throw new Error(`the demo file URL ${file.url} in ${join(dist, 'catalog.json')} is absolute; the tests expect URLs relative to the catalog`);
    }
    const path = join(dist, file.url);
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: build the demo index with \`make build\``);
    }
    return path;
  });
}

/** Returns the entry with id "demo" from DIST/catalog.json. */
export function readDemoCatalogEntry(dist) {
  const catalogPath = join(dist, 'catalog.json');
  const catalog = JSON.parse(readFileSync(catalogPath, 'utf8'));
  const demo = catalog.datasets?.find((dataset) => dataset.id === 'demo');
  if (!demo || !Array.isArray(demo.files) || demo.files.length === 0) {
    throw new Error(`${catalogPath} has no dataset "demo" with files`);
  }
  return demo;
}

/** Returns the total number of rows of the Parquet files, from their footers. */
export async function parquetRowCount(paths) {
  let rows = 0;
  for (const path of paths) {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
    rows += Number(metadata.num_rows);
  }
  return rows;
}

/** Reads grid_cell, centre_lat and centre_lon of every row of the Parquet files. */
export async function readTileCentres(paths) {
  const tiles = [];
  for (const path of paths) {
    const rows = await parquetReadObjects({
      file: await asyncBufferFromFile(path),
      columns: ['grid_cell', 'centre_lat', 'centre_lon'],
    });
    for (const row of rows) {
      tiles.push({ cell: row.grid_cell, lat: Number(row.centre_lat), lon: Number(row.centre_lon) });
    }
  }
  return tiles;
}

/** Great-circle distance in km between two points given in degrees (haversine formula). */
export function haversineKm(lat1, lon1, lat2, lon2) {
  const toRadians = Math.PI / 180;
  const phi1 = lat1 * toRadians;
  const phi2 = lat2 * toRadians;
  const dPhi = phi2 - phi1;
  const dLambda = (lon2 - lon1) * toRadians;
  const a = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  return 2 * MEAN_EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Finds the tile whose centre is nearest to (lat, lon). Returns `{ cell, distanceKm }` and the
 * runner-up as `second`, so that a failure message can show how close the two were.
 */
export function nearestTile(tiles, lat, lon) {
  let best = null;
  let second = null;
  for (const tile of tiles) {
    const distanceKm = haversineKm(lat, lon, tile.lat, tile.lon);
    if (!best || distanceKm < best.distanceKm) {
      second = best;
      best = { cell: tile.cell, distanceKm };
    } else if (!second || distanceKm < second.distanceKm) {
      second = { cell: tile.cell, distanceKm };
    }
  }
  if (!best) {
    throw new Error('no tiles to search');
  }
  return { ...best, second };
}

/** Number of tiles in the top ‰ of `tileCount` tiles before ties: max(1, floor(n · ‰ / 1000)). */
export function permilleRank(tileCount, permille) {
  return Math.max(1, Math.floor((tileCount * permille) / 1000));
}

export function sleep(milliseconds) {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, milliseconds));
}
