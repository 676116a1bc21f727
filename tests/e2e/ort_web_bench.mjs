// Benchmark of ONNX Runtime Web's wasm backend on the exported encoder towers in headless Chromium.
//
//   python3 dev/bench_onnxruntime.py [--models farslip,dinov2,siglip] --export-dir tests/e2e/artifacts/onnx --skip-timing
//   node tests/e2e/ort_web_bench.mjs --onnx-dir tests/e2e/artifacts/onnx [--runs N] [--threads 1,2]
//
// For each thread count and each tower in DIR/manifest.json, opens a fresh browser context and
// creates an InferenceSession with the 'wasm' execution provider twice: the first creation also
// starts ONNX Runtime Web's wasm module, the second does not. The second session runs once (first
// run) and N more times. The page times each run with performance.now(), from creating the input
// tensor to reading the output. Session creation is timed separately and fetching the model is
// not timed. The first run's output is compared with native ONNX Runtime's output from the export.
// Prints a Markdown table and writes tests/e2e/artifacts/ort_web_bench.json.
//
// The files are served from 127.0.0.1 with the COOP/COEP headers, so that the page is
// cross-origin isolated and ONNX Runtime Web can start worker threads.

import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { artifactPath, launchBrowser, openPage } from './lib.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ORT_PACKAGE_DIR = join(REPO_ROOT, 'node_modules', 'onnxruntime-web');
const USAGE = 'usage: node tests/e2e/ort_web_bench.mjs --onnx-dir DIR [--runs N] [--threads 1,2]';

// The ES module build of onnxruntime-web with only the CPU ('wasm') execution provider. It loads
// ort-wasm-simd-threaded.{mjs,wasm} from ort.env.wasm.wasmPaths.
const ORT_MODULE = 'ort.wasm.min.mjs';

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

// Each page fetches a model of up to 1.7 GB (SigLIP so400m/14 in f32), creates two sessions and
// runs 1 + N times, which can take minutes on a slow or busy machine.
const PAGE_TIMEOUT_MS = 30 * 60_000;

async function main() {
  const options = parseCommandLine();
  const manifest = JSON.parse(readFileSync(join(options.onnxDir, 'manifest.json'), 'utf8'));
  const ortVersion = JSON.parse(readFileSync(join(ORT_PACKAGE_DIR, 'package.json'), 'utf8')).version;

  const server = await startStaticServer({ '/ort/': join(ORT_PACKAGE_DIR, 'dist'), '/onnx/': options.onnxDir });
  let browser;
  const report = {
    date: new Date().toISOString(),
    environment: null,
    model: manifest.model,
    nativeOnnxRuntime: manifest.onnxruntime,
    runs: options.runs,
    results: [],
  };
  try {
    browser = await launchBrowser();
    report.environment = describeEnvironment(browser, ortVersion);
    for (const threads of options.threads) {
      for (const tower of manifest.towers) {
        // Manifests written before dev/bench_onnxruntime.py had --models list only FarSLIP and have no "encoder".
        const label = `${tower.encoder ?? 'farslip'} ${tower.tower}`;
        console.log(`  ${label} tower, ${threads} thread(s): running 1 + ${options.runs} times`);
        const { context, page } = await openPage(browser, `${label}, ${threads} thread(s)`);
        try {
          page.setDefaultTimeout(PAGE_TIMEOUT_MS);
          await page.goto(server.url);
          const result = await page.evaluate(benchmarkTower, {
            ortModuleUrl: `/ort/${ORT_MODULE}`,
            wasmPaths: '/ort/',
            threads,
            runs: options.runs,
            tower,
          });
          report.results.push({ tower: label, input: tower.input, ...result });
        } finally {
          await context.close();
        }
      }
    }
  } finally {
    await browser?.close();
    await server.close();
  }

  const jsonPath = artifactPath('ort_web_bench.json');
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(formatReport(report));
  console.log(`\nRaw measurements: ${jsonPath}`);
}

function parseCommandLine() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'onnx-dir': { type: 'string' },
        runs: { type: 'string', default: '3' },
        threads: { type: 'string', default: '1,2' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    exitWithUsage(error.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values['onnx-dir']) {
    exitWithUsage('--onnx-dir is required');
  }

  const onnxDir = resolve(values['onnx-dir']);
  if (!existsSync(join(onnxDir, 'manifest.json'))) {
    exitWithUsage(`${join(onnxDir, 'manifest.json')} is missing: export the models with \`python3 dev/bench_onnxruntime.py --export-dir ${values['onnx-dir']} --skip-timing\``);
  }
  if (!existsSync(join(ORT_PACKAGE_DIR, 'dist', ORT_MODULE))) {
    exitWithUsage(`${join(ORT_PACKAGE_DIR, 'dist', ORT_MODULE)} is missing: run \`npm install\` in ${REPO_ROOT}`);
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    exitWithUsage(`--runs must be a whole number of at least 1, got ${values.runs}`);
  }
  const threads = values.threads.split(',').map(Number);
  if (threads.some((count) => !Number.isInteger(count) || count < 1)) {
    exitWithUsage(`--threads must be a comma-separated list of whole numbers of at least 1, got ${values.threads}`);
  }
  return { onnxDir, runs, threads };
}

function exitWithUsage(message) {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

function describeEnvironment(browser, ortVersion) {
  const cpus = os.cpus();
  return {
    chromium: browser.version(),
    onnxruntimeWeb: ortVersion,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCores: cpus.length,
    memoryBytes: os.totalmem(),
    loadAverageBefore: os.loadavg(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Static file server

/**
 * Serves GET and HEAD requests for files under `roots` (URL prefix → directory) on 127.0.0.1 at
 * a free port, plus an empty page at `/`. Every response carries the COOP/COEP headers.
 * Returns `{ url, close }`.
 */
async function startStaticServer(roots) {
  const server = createServer((request, response) => {
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }

    const pathname = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    if (pathname === '/') {
      response.writeHead(200, { 'Content-Type': MIME_TYPES['.html'] });
      response.end('<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>ONNX Runtime Web benchmark</title>');
      return;
    }
    const path = resolveUnderRoots(roots, pathname);
    if (path === null || !existsSync(path) || !statSync(path).isFile()) {
      console.log(`  [server] 404 ${pathname}`);
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'Content-Type': MIME_TYPES[extname(path)] ?? 'application/octet-stream',
      'Content-Length': statSync(path).size,
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    createReadStream(path)
      .on('error', (error) => {
        console.log(`  [server] reading ${path} failed: ${error.message}`);
        response.destroy(error);
      })
      .pipe(response);
  });

  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const { port } = server.address();
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolveClose) => server.close(resolveClose));
  };
  return { url: `http://127.0.0.1:${port}/`, close };
}

/** Maps a URL path to a file under one of the roots, or returns null when no root matches or the path leaves its root. */
function resolveUnderRoots(roots, pathname) {
  for (const [prefix, dir] of Object.entries(roots)) {
    if (!pathname.startsWith(prefix)) {
      continue;
    }
    const path = resolve(dir, `.${pathname.slice(prefix.length - 1)}`);
    return path.startsWith(dir + sep) ? path : null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Measurement, run in the page

/**
 * Runs in a fresh page: loads ONNX Runtime Web, fetches one tower's model, input and native
 * output, creates a session with the 'wasm' execution provider twice and times 1 + `runs` runs of
 * the second session. Resolves with the times in ms, the thread count that ONNX Runtime Web used
 * and the largest absolute difference between the first run's output and native ONNX Runtime's.
 */
async function benchmarkTower({ ortModuleUrl, wasmPaths, threads, runs, tower }) {
  const ort = await import(ortModuleUrl);
  // These settings take effect when the first session of the page initialises the wasm module.
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.proxy = false;

  const fetchBytes = async (file) => {
    const response = await fetch(`/onnx/${file}`);
    if (!response.ok) {
      throw new Error(`fetching /onnx/${file} failed with HTTP ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  };
  const typedArrays = { int64: BigInt64Array, float32: Float32Array };
  const toTypedArray = (bytes, dtype) => {
    const TypedArray = typedArrays[dtype];
    if (TypedArray === undefined) {
      throw new Error(`unsupported dtype ${dtype} in manifest.json: the benchmark reads int64 and float32`);
    }
    return new TypedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength / TypedArray.BYTES_PER_ELEMENT);
  };

  // NOTE: ONNX Runtime Web's "Working with Large Models" page gives Chromium's ArrayBuffer limit as
  // about 2 GB and the wasm32 memory limit as 4 GB. The 1.7 GB SigLIP model is under both, but its
  // session also needs the weights in wasm memory, and whether that fits was not tested.
  const fetchStarted = performance.now();
  const modelBytes = await fetchBytes(tower.model);
  const fetchMs = performance.now() - fetchStarted;
  const inputData = toTypedArray(await fetchBytes(tower.input.file), tower.input.dtype);
  const nativeOutput = toTypedArray(await fetchBytes(tower.output.file), tower.output.dtype);

  const createSession = async () => {
    const started = performance.now();
    const created = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
    return [created, performance.now() - started];
  };
  // The first session of the page also starts the wasm module and its worker threads.
  const [firstSession, firstSessionCreateMs] = await createSession();
  await firstSession.release();
  const [session, sessionCreateMs] = await createSession();

  const timesMs = [];
  let firstOutput;
  for (let run = 0; run <= runs; run++) {
    const started = performance.now();
    const input = new ort.Tensor(tower.input.dtype, inputData, tower.input.shape);
    const outputs = await session.run({ [tower.input.name]: input });
    const output = outputs[tower.output.name].data;
    timesMs.push(performance.now() - started);
    firstOutput ??= Float32Array.from(output);
  }
  await session.release();

  if (firstOutput.length !== nativeOutput.length) {
    throw new Error(`${tower.output.name} has ${firstOutput.length} values but ${tower.output.file} has ${nativeOutput.length}: export the models again`);
  }
  let maxAbsDiff = 0;
  for (let i = 0; i < nativeOutput.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(firstOutput[i] - nativeOutput[i]));
  }
  return {
    threadsRequested: threads,
    threadsUsed: ort.env.wasm.numThreads,
    crossOriginIsolated: self.crossOriginIsolated,
    modelBytes: modelBytes.byteLength,
    fetchMs,
    firstSessionCreateMs,
    sessionCreateMs,
    timesMs,
    outputLength: firstOutput.length,
    maxAbsDiffVsNative: maxAbsDiff,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function formatMs(value) {
  return `${Math.round(value)} ms`;
}

function formatReport(report) {
  const { environment } = report;
  const lines = [
    `## ONNX Runtime Web ${environment.onnxruntimeWeb} (wasm), ${report.model}`,
    '',
    `- Chromium ${environment.chromium} (headless, --disable-gpu), Node ${environment.node}, ${environment.platform}`,
    `- CPU: ${environment.cpuModel}, ${environment.cpuCores} cores; memory ${(environment.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
    `- Load average (1, 5, 15 min) before: ${environment.loadAverageBefore.map((load) => load.toFixed(2)).join(', ')}; after: ${os.loadavg().map((load) => load.toFixed(2)).join(', ')}`,
    `- Reference outputs from native ONNX Runtime ${report.nativeOnnxRuntime}; ${report.date}`,
    '',
    `| tower | threads | session creation: first in page (with wasm start-up) / second | first run | median of next ${report.runs} (runs) | max abs diff vs native |`,
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of report.results) {
    const [first, ...next] = result.timesMs;
    const threads = result.threadsUsed === result.threadsRequested ? `${result.threadsUsed}` : `${result.threadsUsed} (requested ${result.threadsRequested})`;
    lines.push(
      `| ${result.tower} (${result.input.shape.join('×')} ${result.input.dtype}) | ${threads} | ${formatMs(result.firstSessionCreateMs)} / ${formatMs(result.sessionCreateMs)} | ${formatMs(first)} | ${formatMs(median(next))} (${next.map(formatMs).join(', ')}) | ${result.maxAbsDiffVsNative.toExponential(1)} |`,
    );
  }
  return lines.join('\n');
}

main().catch((error) => {
  console.error(`error: ${error.stack ?? error}`);
  process.exitCode = 1;
});
