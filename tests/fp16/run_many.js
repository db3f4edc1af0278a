// run_many.js: runs many models in ONNX Runtime (CPU) in one process, for
// the fp16 sweep (starting node once per model would dominate its time).
// Reads a JSON list of {"model": M, "inputs": DIR, "out": DIR}; each input
// is DIR/<input name>.npy; writes DIR_out/<sanitized output>.npy and prints
// one line per job: "ok M" or "fail M: reason".
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('../oracle/npy.js');
const ort = require(path.join(__dirname, '../oracle/node_modules/onnxruntime-node'));

async function runOne(job) {
  const session = await ort.InferenceSession.create(job.model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const feeds = {};
  for (const name of session.inputNames) {
    const arr = npy.readNpy(path.join(job.inputs, `${name}.npy`));
    feeds[name] = new ort.Tensor(arr.type, arr.data, arr.shape);
  }
  const res = await session.run(feeds);
  fs.mkdirSync(job.out, { recursive: true });
  for (const name of session.outputNames) {
    const t = res[name];
    if (!t || !t.dims) throw new Error(`output ${name}: not a tensor`);
    npy.writeNpy(path.join(job.out, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy'),
                 { type: t.type, shape: t.dims, data: t.data });
  }
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) {
    try {
      await runOne(job);
      console.log(`ok ${job.model}`);
    } catch (e) {
      console.log(`fail ${job.model}: ${String(e.message).split('\n')[0]}`);
    }
  }
}

main();
