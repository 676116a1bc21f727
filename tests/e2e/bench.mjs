// Benchmark of the built app on the demo index in headless Chromium.
//
//   node tests/e2e/bench.mjs --eee PATH_TO_EEE_BINARY --dist DIST_DIR [--cold-runs N]
//
// Measures four things on the demo index:
//   1. a cold location query, from navigation start to the first result row, in a fresh browser
//      context each run;
//   2. repeated location queries on the loaded page;
//   3. requests and response bytes from the server for both;
//   4. the size of the wasm and the JS glue, raw and brotli-compressed.
// Prints a Markdown table and writes tests/e2e/artifacts/bench.json.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';

import {
  LOAD_TIMEOUT_MS,
  artifactPath,
  demoFilePaths,
  launchBrowser,
  openPage,
  parquetRowCount,
  parseCommandLine,
  sleep,
  startServer,
  waitForResultRows,
} from './lib.mjs';

const COLD_URL_QUERY = '?dataset=demo&lat=-4&lon=-63&permille=7&k=10';
// Points far apart, so that each query changes the first result.
const REPEATED_QUERY_POINTS = [
  [10, 20],
  [48.85, 2.35],
  [-33.87, 151.21],
  [40, -100],
  [-15, -50],
];
const REPEATED_QUERY_TIMEOUT_MS = 60_000;
const NETWORK_QUIET_MS = 300;
const NETWORK_QUIET_TIMEOUT_MS = 30_000;

async function main() {
  const options = parseCommandLine('bench.mjs', { 'cold-runs': { type: 'string', default: '3' } }, ' [--cold-runs N]');
  const coldRuns = Number(options['cold-runs']);
  if (!Number.isInteger(coldRuns) || coldRuns < 1) {
    console.error(`error: --cold-runs must be a whole number of at least 1, got ${options['cold-runs']}`);
    process.exit(2);
  }
  const demoRows = await parquetRowCount(demoFilePaths(options.dist));
  const assets = measureAssets(options.dist);

  const server = await startServer(options.eee, options.dist);
  let browser;
  const report = { date: new Date().toISOString(), environment: null, demo: { tiles: demoRows }, cold: [], repeated: [], assets };
  try {
    browser = await launchBrowser();
    report.environment = describeEnvironment(browser);
    for (let run = 0; run < coldRuns; run++) {
      const { context, page } = await openPage(browser, `bench run ${run + 1}`);
      try {
        const network = recordNetwork(page, server.url);
        report.cold.push(await measureColdQuery(page, network, `${server.url}${COLD_URL_QUERY}`));
        if (run === 0) {
          report.repeated = await measureRepeatedQueries(page, network);
        }
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser?.close();
    await server.stop();
  }

  const jsonPath = artifactPath('bench.json');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(formatReport(report));
  console.log(`\nRaw measurements: ${jsonPath}`);
}

function describeEnvironment(browser) {
  const cpus = os.cpus();
  return {
    chromium: browser.version(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Network accounting

/**
 * Counts the requests that the page sends to `serverUrl` and their response body sizes, grouped
 * by `recorder.phase` at the time each request started. Requests to other hosts are not counted.
 */
function recordNetwork(page, serverUrl) {
  const recorder = { phase: 'cold', inFlight: 0, phases: {} };
  const phaseOfRequest = new WeakMap();
  const totalsOf = (phase) => (recorder.phases[phase] ??= { requests: 0, failed: 0, responseBodyBytes: 0, responseHeaderBytes: 0 });

  page.on('request', (request) => {
    if (!request.url().startsWith(serverUrl)) {
      return;
    }
    phaseOfRequest.set(request, recorder.phase);
    recorder.inFlight++;
  });
  page.on('requestfinished', async (request) => {
    const phase = phaseOfRequest.get(request);
    if (phase === undefined) {
      return;
    }
    try {
      // responseBodySize is the body as sent, before content decoding.
      const sizes = await request.sizes();
      const totals = totalsOf(phase);
      totals.requests++;
      totals.responseBodyBytes += sizes.responseBodySize;
      totals.responseHeaderBytes += sizes.responseHeadersSize;
    } catch (error) {
      console.log(`  sizes of ${request.url()} are unavailable: ${error.message}`);
      totalsOf(phase).requests++;
    } finally {
      recorder.inFlight--;
    }
  });
  page.on('requestfailed', (request) => {
    const phase = phaseOfRequest.get(request);
    if (phase === undefined) {
      return;
    }
    console.log(`  request failed: ${request.url()}: ${request.failure()?.errorText}`);
    totalsOf(phase).requests++;
    totalsOf(phase).failed++;
    recorder.inFlight--;
  });
  recorder.totals = totalsOf;
  return recorder;
}

/** Waits until no counted request has been in flight for NETWORK_QUIET_MS. */
async function waitForNetworkQuiet(recorder) {
  const deadline = performance.now() + NETWORK_QUIET_TIMEOUT_MS;
  let quietSince = null;
  while (performance.now() < deadline) {
    if (recorder.inFlight > 0) {
      quietSince = null;
    } else {
      quietSince ??= performance.now();
      if (performance.now() - quietSince >= NETWORK_QUIET_MS) {
        return;
      }
    }
    await sleep(50);
  }
  throw new Error(`${recorder.inFlight} request(s) still in flight after ${NETWORK_QUIET_TIMEOUT_MS} ms`);
}

// ---------------------------------------------------------------------------------------------
// Measurements

/**
 * Loads the app with a location query in the URL and measures the time from navigation start
 * until a result row is shown and the status line has a draw time. Also returns the stages from
 * the status line and the network totals.
 */
async function measureColdQuery(page, network, url) {
  // A MutationObserver installed before the app starts stamps the first moment both conditions
  // hold. performance.now() in the page counts from navigation start.
  await page.addInitScript(() => {
    const isDone = () =>
      document.querySelector('table#results tbody tr.result') && /draw \d+(\.\d+)? ms/.test(document.querySelector('p#status')?.textContent ?? '');
    const observer = new MutationObserver(() => {
      if (isDone()) {
        window.__eeeFirstResultMs = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  });

  network.phase = 'cold';
  await page.goto(url);
  await waitForResultRows(page, LOAD_TIMEOUT_MS);
  await page.waitForFunction(() => window.__eeeFirstResultMs !== undefined, undefined, { timeout: LOAD_TIMEOUT_MS });
  const firstResultMs = await page.evaluate(() => window.__eeeFirstResultMs);
  await waitForNetworkQuiet(network);
  // The map is drawn in an effect after the rows, so the status line is read after a pause.
  await sleep(200);
  const status = await page.locator('p#status').textContent();
  return { firstResultMs, status, stages: parseStatusLine(status), network: { ...network.totals('cold') } };
}

/** Runs one location query per point on the loaded page and times each until the first row changes. */
async function measureRepeatedQueries(page, network) {
  const results = [];
  for (const [index, [lat, lon]] of REPEATED_QUERY_POINTS.entries()) {
    const phase = `repeat-${index + 1}`;
    network.phase = phase;
    const timing = await page.evaluate(timeLocationQuery, { lat, lon, timeoutMs: REPEATED_QUERY_TIMEOUT_MS });
    await waitForNetworkQuiet(network);
    await sleep(200);
    const status = await page.locator('p#status').textContent();
    results.push({ lat, lon, ...timing, status, stages: parseStatusLine(status), network: { ...network.totals(phase) } });
  }
  network.phase = 'after';
  return results;
}

/**
 * Runs in the page: types (lat, lon) into the form, submits it and resolves with the time until
 * the first result row shows another cell. Rejects when the app shows an error.
 */
function timeLocationQuery({ lat, lon, timeoutMs }) {
  const firstCell = () => document.querySelector('table#results tbody tr.result')?.getAttribute('data-cell-id') ?? null;
  const setInput = (selector, value) => {
    const input = document.querySelector(selector);
    input.value = String(value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const existingError = document.querySelector('#error')?.textContent;
  if (existingError !== undefined) {
    return Promise.reject(new Error(`the app shows an error before the query: ${existingError}`));
  }

  const before = firstCell();
  return new Promise((resolve, reject) => {
    let observer;
    let started;
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`the first result did not change from ${before} within ${timeoutMs} ms of searching (${lat}, ${lon})`));
    }, timeoutMs);
    observer = new MutationObserver(() => {
      const error = document.querySelector('#error')?.textContent;
      const cell = firstCell();
      if (error !== undefined) {
        reject(new Error(`searching (${lat}, ${lon}) failed: ${error}`));
      } else if (cell !== null && cell !== before) {
        resolve({ ms: performance.now() - started, firstCellBefore: before, firstCell: cell });
      } else {
        return;
      }
      observer.disconnect();
      clearTimeout(timer);
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    setInput('#lat', lat);
    setInput('#lon', lon);
    started = performance.now();
    document.querySelector('#search-location').click();
  });
}

/**
 * Parses the status line, e.g. `dataset: 24 requests, 82.9 MB in 2100 ms · query: fetch 12 ms ·
 * prepare – · encode 9 ms · score 145 ms · draw 112 ms · …`, into milliseconds per stage (`load` is the
 * dataset) and the app's own request and byte counts.
 * Stages shown as "–" are missing from the result.
 */
function parseStatusLine(text) {
  const stages = {};
  for (const match of text.matchAll(/\b(fetch|prepare|encode|score|draw) (\d+(?:\.\d+)?) ms/g)) {
    stages[`${match[1]}Ms`] = Number(match[2]);
  }
  const load = /MB in (\d+(?:\.\d+)?) ms/.exec(text);
  if (load) {
    stages.loadMs = Number(load[1]);
  }
  const counts = /(\d+) requests?, (\d+(?:\.\d+)?) MB/.exec(text);
  if (counts) {
    stages.appRequests = Number(counts[1]);
    stages.appMegabytes = Number(counts[2]);
  }
  return stages;
}

/** Sizes of the wasm modules and JS files at the top of DIST, raw and brotli-compressed (quality 11). */
function measureAssets(dist) {
  const files = readdirSync(dist).filter((name) => name.endsWith('.wasm') || name.endsWith('.js'));
  if (!files.some((name) => name.endsWith('.wasm'))) {
    throw new Error(`${dist} has no .wasm file: build the app with \`make build\``);
  }
  return files.sort().map((name) => {
    const bytes = readFileSync(join(dist, name));
    const brotli = brotliCompressSync(bytes, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 11,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    });
    return { file: name, kind: name.endsWith('.wasm') ? 'wasm' : 'JS glue', rawBytes: bytes.length, brotliBytes: brotli.length };
  });
}

// ---------------------------------------------------------------------------------------------
// Report

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function formatMs(value) {
  return value === undefined ? '–' : `${Math.round(value)} ms`;
}

function formatBytes(bytes) {
  if (bytes >= 1e6) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }
  if (bytes >= 1e3) {
    return `${(bytes / 1e3).toFixed(1)} kB`;
  }
  return `${bytes} B`;
}

function formatStages(stages) {
  return ['load', 'fetch', 'encode', 'score', 'draw'].map((stage) => `${stage} ${formatMs(stages[`${stage}Ms`])}`).join(' · ');
}

/** Median of one stage over several runs, or undefined when no run reported it. */
function medianStage(runs, key) {
  const values = runs.map((run) => run.stages[key]).filter((value) => value !== undefined);
  return values.length ? median(values) : undefined;
}

function formatReport(report) {
  const { environment, cold, repeated, assets } = report;
  const lines = [
    '## EarthEmbeddingExplorer benchmark',
    '',
    `- Chromium ${environment.chromium} (headless, --disable-gpu), Node ${environment.node}, ${environment.platform}`,
    `- CPU: ${environment.cpuModel}, ${environment.cpuCores} cores; memory ${(environment.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
    `- Demo index: ${report.demo.tiles} tiles, served from 127.0.0.1 by \`eee serve\`; ${report.date}`,
    '',
    '| Measurement | Value |',
    '| --- | --- |',
  ];
  const row = (name, value) => lines.push(`| ${name} | ${value} |`);

  const coldTimes = cold.map((run) => run.firstResultMs);
  row(
    `Cold query: navigation start → first result row (median of ${cold.length})`,
    `${formatMs(median(coldTimes))} (runs: ${coldTimes.map(formatMs).join(', ')})`,
  );
  const coldStages = Object.fromEntries(['loadMs', 'fetchMs', 'encodeMs', 'scoreMs', 'drawMs'].map((key) => [key, medianStage(cold, key)]));
  row('Cold query: stages from the status line (median)', formatStages(coldStages));
  row('Cold query: requests to the server (per run)', cold.map((run) => `${run.network.requests} (${run.network.failed} failed)`).join(', '));
  row('Cold query: response bodies (per run)', cold.map((run) => formatBytes(run.network.responseBodyBytes)).join(', '));
  if (cold[0].stages.appRequests !== undefined) {
    row('Cold query: requests and bytes in the status line (run 1)', `${cold[0].stages.appRequests} requests, ${cold[0].stages.appMegabytes} MB`);
  }

  const repeatTimes = repeated.map((query) => query.ms);
  row(
    `Repeated query: search → first row changes (median of ${repeated.length})`,
    `${formatMs(median(repeatTimes))} (runs: ${repeatTimes.map(formatMs).join(', ')})`,
  );
  const repeatStages = Object.fromEntries(['loadMs', 'fetchMs', 'encodeMs', 'scoreMs', 'drawMs'].map((key) => [key, medianStage(repeated, key)]));
  row('Repeated query: stages from the status line (median)', formatStages(repeatStages));
  const repeatRequests = repeated.map((query) => query.network.requests);
  const repeatBytes = repeated.map((query) => query.network.responseBodyBytes);
  row('Repeated query: requests to the server (per query)', repeatRequests.join(', '));
  row('Repeated query: response bodies (per query)', repeatBytes.map(formatBytes).join(', '));

  for (const asset of assets) {
    row(`${asset.kind} \`${asset.file}\`: raw / brotli 11`, `${formatBytes(asset.rawBytes)} / ${formatBytes(asset.brotliBytes)} (${asset.rawBytes} / ${asset.brotliBytes} bytes)`);
  }
  return lines.join('\n');
}

main().catch((error) => {
  console.error(`error: ${error.stack ?? error}`);
  process.exitCode = 1;
});
