// Latency of the query encoders (full size, random weights) in the built app, in headless
// Chromium, on burn's CPU backend (wasm) and on WebGPU (Chromium's software adapter). FarSLIP
// runs its text and image towers; SigLIP and DINOv2 their image towers, because SigLIP's real
// tokenizer is not available here.
//
//   node tests/e2e/encoder_bench.mjs --eee PATH_TO_EEE_BINARY --dist DIST_DIR [--runs N] [--backends cpu,webgpu]
//       [--models farslip,siglip,siglip-text,dinov2,tiny-farslip,tiny-siglip,tiny-dinov2]
//
// The script writes a checkpoint per model with random f16 values under the real key names of
// the towers it runs (tests/fixtures/encoders/*/full_keys.json) and indexes the three example images with it
// (`eee index`). It serves the dataset and the app on 127.0.0.1 and runs N + 1 text and N + 1
// image queries in each browser. It reads two times from the status line: "prepare" (tokenising
// or preprocessing) and "encode" (the tower and reading the embedding back). The first query of each kind also
// compiles the GPU kernels, so it is reported apart from the median of the others. Prints a
// Markdown table and writes tests/e2e/artifacts/encoder_bench.json.

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { LOAD_TIMEOUT_MS, artifactPath, launchBrowser, openPage, parseCommandLine, startServer } from './lib.mjs';

const REPOSITORY = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = resolve(REPOSITORY, '../shared/examples');
const CELLS = { example1: '337U_1155R', example2: '418U_669L', example3: '45D_699L' };
// The models: card in models/ or fixture folder, whether the text tower runs, and whether the
// image queries run (default true). The tiny test fixtures run with their own weights; SigLIP's
// text towers with the SentencePiece tokenizer trained for the tests, because the real one is not
// available here (the tower always runs its 64 positions, whatever the ids). The tiny FarSLIP's
// token table does not cover CLIP's vocabulary, so its text tower is left out. The full-size
// SigLIP's two towers do not fit in one page's 4 GiB of wasm memory together, so `siglip` runs
// the image tower and `siglip-text` the text tower (its index still needs the image tower).
const MODELS = {
  farslip: { card: 'farslip-vit-b-16.json', text: true },
  siglip: { card: 'siglip-so400m-patch14-384.json', text: false },
  'siglip-text': { card: 'siglip-so400m-patch14-384.json', text: true, image: false },
  dinov2: { card: 'dinov2-large.json', text: false },
  'tiny-farslip': { fixture: 'farslip', text: false },
  'tiny-siglip': { fixture: 'siglip', text: true },
  'tiny-dinov2': { fixture: 'dinov2', text: false },
};
// Random weights of this spread keep every activation finite through every block.
const WEIGHT_SCALE = 0.02;

async function main() {
  const options = parseCommandLine(
    'encoder_bench.mjs',
    { runs: { type: 'string', default: '3' }, backends: { type: 'string', default: 'cpu,webgpu' }, models: { type: 'string', default: 'farslip' } },
    ' [--runs N] [--backends cpu,webgpu] [--models farslip,siglip,siglip-text,dinov2,tiny-farslip,tiny-siglip,tiny-dinov2]',
  );
  const runs = Number(options.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`error: --runs must be a whole number of at least 1, got ${options.runs}`);
    process.exit(2);
  }
  const backends = options.backends.split(',');
  if (backends.length === 0 || !backends.every((backend) => backend === 'cpu' || backend === 'webgpu')) {
    console.error(`error: --backends takes cpu, webgpu or both, separated by a comma; got ${options.backends}`);
    process.exit(2);
  }
  const models = options.models.split(',');
  const unknown = models.filter((model) => !(model in MODELS));
  if (unknown.length > 0) {
    console.error(`error: --models takes ${Object.keys(MODELS).join(', ')}, separated by commas; got ${options.models}`);
    process.exit(2);
  }

  const dir = await mkdtemp(join(os.tmpdir(), 'eee-encoder-bench-'));
  const servers = [];
  const results = [];
  try {
    const datasets = [];
    const labels = {};
    for (const model of models) {
      const { entry, card } = await prepareModel(options.eee, dir, model);
      datasets.push(entry);
      labels[model] = {
        text: card.towers.text && 'text (short prompt)',
        longText: card.towers.text && `text (prompt filling ${card.towers.text.tokenizer.length} tokens)`,
        image: `image (${card.architecture.image_size} px)`,
      };
    }
    await writeFile(join(dir, 'catalog.json'), JSON.stringify({ datasets }, null, 2));
    servers.push(await startServer(options.eee, options.dist), await startServer(options.eee, dir));
    const [app, data] = servers;

    for (const backend of backends) {
      const browser = await launchBrowser({ webgpu: backend === 'webgpu' });
      try {
        for (const model of models) {
          const { context, page } = await openPage(browser, `encoder bench (${model}, ${backend})`);
          await page.goto(`${app.url}?catalog=${encodeURIComponent(`${data.url}catalog.json`)}&dataset=${model}-bench&k=3`);
          await page.waitForSelector('#model-summary', { timeout: LOAD_TIMEOUT_MS });
          const timings = {};
          if (MODELS[model].text) {
            // A short prompt, and one long enough to fill the context: FarSLIP's causal text
            // tower stops at the end-of-text token, so only the second runs all positions.
            timings[labels[model].text] = await timeQueries(page, runs, async (i) => {
              const prompt = `a river delta with many channels, take ${i}`;
              await page.fill('#text-query', prompt);
              await page.click('#search-text');
              return prompt;
            });
            timings[labels[model].longText] = await timeQueries(page, runs, async (i) => {
              const start = `take ${i}: a river delta with many channels`;
              await page.fill('#text-query', `${start}, ${Array(60).fill('terraced rice fields beside a braided river').join(', ')}`);
              await page.click('#search-text');
              return start;
            });
          }
          if (MODELS[model].image !== false) {
            timings[labels[model].image] = await timeQueries(page, runs, async (i) => {
              const name = Object.keys(CELLS)[i % 3];
              await page.setInputFiles('#image-input', join(EXAMPLES, `${name}.png`));
              return `${name}.png`;
            });
          }
          const status = await page.locator('p#status').textContent();
          const device = status.match(/encoder on ([^·]+)/)?.[1].trim() ?? 'unknown';
          for (const [tower, times] of Object.entries(timings)) {
            results.push({ model, backend, device, tower, ...times });
          }
          await context.close();
        }
      } finally {
        await browser.close();
      }
    }

    const chromium = await (async () => {
      const browser = await launchBrowser();
      const version = browser.version();
      await browser.close();
      return version;
    })();

    const report = { runs, chromium, cpu: os.cpus()[0]?.model, cores: os.cpus().length, results };
    await writeFile(artifactPath('encoder_bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`Full-size towers with random f16 weights; Chromium ${chromium}; ${report.cores} × ${report.cpu}\n`);
    console.log('| model | tower | device | encode: first query | encode: median of next ' + runs + ' | prepare: median |');
    console.log('|---|---|---|---|---|---|');
    for (const row of results) {
      console.log(`| ${row.model} | ${row.tower} | ${row.device} | ${row.first} ms | ${row.median} ms (${row.rest.join(', ')}) | ${row.prepareMedian} ms |`);
    }
  } finally {
    for (const server of servers) {
      await server.stop();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `runs + 1` queries started by `submit(i)`, which returns what the results heading will
 * name, and reads each prepare and encode time from the status line.
 */
async function timeQueries(page, runs, submit) {
  const times = [];
  const prepare = [];
  for (let i = 0; i <= runs; i++) {
    const named = await submit(i);
    await page.waitForFunction(
      (expected) => (document.querySelector('#current-query')?.textContent ?? '').includes(expected) || document.querySelector('#error'),
      named,
      { timeout: LOAD_TIMEOUT_MS * 2, polling: 100 },
    );
    const error = await page.$('#error');
    if (error) {
      throw new Error(`query ${JSON.stringify(named)} failed: ${await error.textContent()}`);
    }
    const status = await page.locator('p#status').textContent();
    const encode = status.match(/encode (\d+) ms/);
    if (!encode) {
      throw new Error(`no encode time in the status line: ${status}`);
    }
    times.push(Number(encode[1]));
    prepare.push(Number(status.match(/prepare (\d+) ms/)?.[1]));
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rest = times.slice(1);
  return { first: times[0], median: median(rest), rest, prepareMedian: median(prepare.slice(1)) };
}

/** Writes the checkpoint, the card, the tokenizer and the index of `model` under `dir/model`;
 * returns its catalog entry and card. */
async function prepareModel(eee, dir, model) {
  const { card: cardFile, fixture, text } = MODELS[model];
  const modelDir = join(dir, model);
  await mkdir(join(modelDir, 'chips'), { recursive: true });
  const fixtureDir = fixture && join(REPOSITORY, 'tests/fixtures/encoders', fixture);
  const card = JSON.parse(await readFile(fixture ? join(fixtureDir, 'card.json') : join(REPOSITORY, 'models', cardFile), 'utf8'));
  if (!fixture) {
    card.name = `${card.name} (random weights)`;
  }
  if (!text) {
    delete card.towers.text;
  }
  const prefixes = [];
  for (const tower of Object.values(card.towers)) {
    tower.weights.url = 'random.safetensors';
    tower.weights.mirrors = [];
    prefixes.push(...tower.weights.prefixes);
  }
  if (text && card.towers.text.tokenizer.kind !== 'clip_bpe') {
    card.towers.text.tokenizer.url = 'tokenizer.json';
    await copyFile(join(REPOSITORY, 'tests/fixtures/tokenizers/t5like_unigram.tokenizer.json'), join(modelDir, 'tokenizer.json'));
  } else if (text) {
    card.towers.text.tokenizer.url = 'bpe_simple_vocab_16e6.txt.gz';
    await copyFile(join(REPOSITORY, 'public/vocab/bpe_simple_vocab_16e6.txt.gz'), join(modelDir, 'bpe_simple_vocab_16e6.txt.gz'));
  }
  await writeFile(join(modelDir, 'card.json'), JSON.stringify(card, null, 2));
  if (fixture) {
    await copyFile(join(fixtureDir, 'tiny.safetensors'), join(modelDir, 'random.safetensors'));
  } else {
    const keys = JSON.parse(await readFile(join(REPOSITORY, `tests/fixtures/encoders/${model.replace('-text', '')}/full_keys.json`), 'utf8'));
    await writeFile(join(modelDir, 'random.safetensors'), randomSafetensors(keys.filter(([name]) => prefixes.some((prefix) => name.startsWith(prefix)))));
  }

  const images = [];
  for (const [name, cell] of Object.entries(CELLS)) {
    const path = join(modelDir, 'chips', `${cell}.png`);
    await copyFile(join(EXAMPLES, `${name}.png`), path);
    images.push(path);
  }
  const modelArgs = ['--model', join(modelDir, 'card.json'), '--weights', join(modelDir, 'random.safetensors')];
  await promisify(execFile)(eee, ['index', ...modelArgs, '--out', join(modelDir, 'index.parquet'), ...images], { maxBuffer: 1 << 24 });
  const entry = {
    id: `${model}-bench`,
    title: `Three example images, ${card.name} (benchmark)`,
    model: card.id,
    dim: card.embedding_dim,
    dtype: 'f16',
    queries: text ? ['tile', 'text', 'image'] : ['tile', 'image'],
    model_card: `${model}/card.json`,
    files: [{ url: `${model}/index.parquet` }],
  };
  return { entry, card };
}

/** Builds a safetensors file with `keys` ([name, shape] pairs) as f16, uniform in ±WEIGHT_SCALE. */
function randomSafetensors(keys) {
  let offset = 0;
  const header = {};
  for (const [name, shape] of keys) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'F16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (headerText.length % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const file = Buffer.alloc(8 + headerBytes.length + offset);
  file.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(file, 8);
  const values = new Uint16Array(file.buffer, file.byteOffset + 8 + headerBytes.length, offset / 2);
  // A fixed seed, so every run times the same weights.
  let state = 20240;
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    values[i] = halfBits(((state / 2 ** 32) * 2 - 1) * WEIGHT_SCALE);
  }
  return file;
}

/** IEEE half-precision bits of a small finite `value` (|value| < 65504), rounded to nearest. */
function halfBits(value) {
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude < 2 ** -24) {
    return sign;
  }
  if (magnitude < 2 ** -14) {
    return sign | Math.round(magnitude / 2 ** -24);
  }
  const exponent = Math.floor(Math.log2(magnitude));
  const mantissa = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  return mantissa === 1024 ? sign | ((exponent + 16) << 10) : sign | ((exponent + 15) << 10) | mantissa;
}

main().catch((error) => {
  console.error(`error: ${error.stack ?? error}`);
  process.exitCode = 2;
});
