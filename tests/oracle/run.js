// run.js: test oracle for onnxq. Runs an ONNX model in ONNX Runtime (CPU)
// on .npy inputs and writes every output as DIR/<output name>.npy, so the C
// tests can compare their results with ORT's. With --bench N it also times
// N runs (after 2 warm-ups) and prints "ort_median_ms=X ort_min_ms=Y".
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('./npy.js');
let ort; // loaded in main() so that a broken install is reported in one line

const USAGE =
  'usage: node run.js MODEL.onnx --out DIR [--threads N] [--no-opt] [--bench N]\n' +
  '                   [--input NAME=FILE.npy ...] [--inputs DIR]';

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { model: null, out: null, threads: 1, opt: true, bench: 0, inputs: null, pairs: [] };
  const count = (flag, v, min) => {
    if (!/^\d+$/.test(v || '') || Number(v) < min) throw new UsageError(`${flag} needs an integer >= ${min}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '-h' || a === '--help') opts.help = true;
    else if (a === '--out') opts.out = value();
    else if (a === '--threads') opts.threads = count(a, value(), 1);
    else if (a === '--bench') opts.bench = count(a, value(), 1);
    else if (a === '--no-opt') opts.opt = false;
    else if (a === '--inputs') opts.inputs = value();
    else if (a === '--input') {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new UsageError(`--input wants NAME=FILE.npy, got '${v}'`);
      opts.pairs.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (opts.model === null) opts.model = a;
    else throw new UsageError(`unexpected argument '${a}'`);
  }
  if (opts.help) return opts;
  if (opts.model === null) throw new UsageError('no model given');
  if (opts.out === null && !opts.bench) throw new UsageError('--out DIR is required');
  return opts;
}

// Output names become file names: anything outside [A-Za-z0-9._-] -> '_'.
function sanitize(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

// Map each model input name to the .npy file that feeds it.
function inputFiles(session, opts) {
  const files = new Map();
  for (const [name, file] of opts.pairs) {
    if (!session.inputNames.includes(name)) {
      throw new Error(`--input ${name}: model has no such input (inputs: ${session.inputNames.join(', ')})`);
    }
    files.set(name, file);
  }
  for (const name of session.inputNames) {
    if (files.has(name)) continue;
    const file = opts.inputs === null ? null : path.join(opts.inputs, `${name}.npy`);
    if (file === null || !fs.existsSync(file)) {
      throw new Error(`input ${name}: missing` + (file ? ` (no file ${file})` : ' (give --input or --inputs)'));
    }
    files.set(name, file);
  }
  return files;
}

// Read every input file into an ort.Tensor; errors name the input and file.
function loadFeeds(session, files) {
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const file = files.get(name);
    try {
      const arr = npy.readNpy(file);
      const meta = session.inputMetadata[i];
      if (meta && meta.isTensor && meta.type !== arr.type) {
        throw new Error(`${file}: model wants ${meta.type}, file holds ${arr.type}`);
      }
      feeds[name] = new ort.Tensor(arr.type, arr.data, arr.shape);
    } catch (e) {
      throw new Error(`input ${name}: ${e.message}`);
    }
  });
  return feeds;
}

function writeOutputs(session, results, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const used = new Map();
  for (const name of session.outputNames) {
    const file = sanitize(name) + '.npy';
    if (used.has(file)) throw new Error(`outputs '${used.get(file)}' and '${name}' both map to ${file}`);
    used.set(file, name);
    const t = results[name];
    if (!t || !t.dims) throw new Error(`output ${name}: not a tensor`);
    npy.writeNpy(path.join(dir, file), { type: t.type, shape: t.dims, data: t.data });
  }
}

async function bench(session, feeds, n) {
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return `ort_median_ms=${median.toFixed(3)} ort_min_ms=${times[0].toFixed(3)}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new Error(`cannot load onnxruntime-node: ${e.message}`);
  }
  if (!fs.existsSync(opts.model)) throw new Error(`${opts.model}: no such model file`);
  let session;
  try {
    session = await ort.InferenceSession.create(opts.model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: opts.opt ? 'all' : 'disabled',
    });
  } catch (e) {
    throw new Error(`${opts.model}: cannot load model: ${e.message}`);
  }
  const feeds = loadFeeds(session, inputFiles(session, opts));
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    throw new Error(`${opts.model}: run failed: ${e.message}`);
  }
  if (opts.out !== null) writeOutputs(session, results, opts.out);
  if (opts.bench) console.log(await bench(session, feeds, opts.bench));
  await session.release();
}

main().catch((e) => {
  // Exactly one line on stderr, whatever the message looks like.
  const msg = String(e && e.message !== undefined ? e.message : e).replace(/\s*\n\s*/g, ' ').trim();
  process.stderr.write(`run.js: ${msg}${e instanceof UsageError ? ' (see --help)' : ''}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
