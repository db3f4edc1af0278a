// ort_batch.js: ONNX Runtime 1.30 (tests/oracle's install) over many models
// in one process, for tests that would otherwise start node hundreds of
// times.  Reads a JSON list of jobs {model, inputs: {name: file.npy}, out,
// opt}, runs each model once on the CPU (opt: graph optimizations "all",
// else "disabled"; one thread), writes every output to out/<index>.npy (in
// the session's output order) and prints one JSON line per job:
// {"ok": true, "outputs": [names]} or {"ok": false, "error": "..."}.
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('../oracle/npy.js');
const ort = require('../oracle/node_modules/onnxruntime-node');

async function runJob(job) {
  const session = await ort.InferenceSession.create(job.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: job.opt ? 'all' : 'disabled',
  });
  const feeds = {};
  for (const name of session.inputNames) {
    const file = job.inputs[name];
    if (!file) throw new Error(`input ${name}: no file given`);
    const arr = npy.readNpy(file);
    feeds[name] = new ort.Tensor(arr.type, arr.data, arr.shape);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(job.out, { recursive: true });
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    npy.writeNpy(path.join(job.out, `${i}.npy`), { type: t.type, shape: t.dims, data: t.data });
  });
  const names = session.outputNames.slice();
  await session.release();
  return names;
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) {
    try {
      const outputs = await runJob(job);
      console.log(JSON.stringify({ ok: true, outputs }));
    } catch (e) {
      const msg = String(e && e.message !== undefined ? e.message : e).replace(/\s*\n\s*/g, ' ');
      console.log(JSON.stringify({ ok: false, error: msg }));
    }
  }
}

main().catch((e) => {
  process.stderr.write(`ort_batch.js: ${e.message}\n`);
  process.exitCode = 1;
});
