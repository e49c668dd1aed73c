// Times LayersModel.predict of a converted model (bench/.models/<name>_tfjs)
// on TF.js's wasm backend in Node; prints one JSON line:
//   {"backend": "wasm", "threads": n, "ms": {"<batch>": median ms, ...}, "max_abs_err": e}
// Usage (run from a folder where @tensorflow/tfjs and -backend-wasm resolve,
// e.g. tests/fixtures after `npm install`, or with NODE_PATH):
//   node bench/tfjs_wasm_bench.mjs MODEL_DIR SAMPLE_JSON BATCH[,BATCH...] ROUNDS
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

// Resolve the packages from the working directory (or NODE_PATH), not from bench/.
const require = createRequire(path.join(process.cwd(), 'bench.cjs'));
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');

const [dir, inputJson, batchesArg, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 10);

function folderHandler(d) {
  return {
    load: async () => {
      const modelJSON = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs = [];
        const buffers = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(fs.readFileSync(path.join(d, p)));
        }
        const all = Buffer.concat(buffers);
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

await tf.setBackend('wasm');
await tf.ready();
const model = await tf.loadLayersModel(folderHandler(dir));
const sample = JSON.parse(fs.readFileSync(inputJson, 'utf8'));  // {shape, x, y}
const x1 = tf.tensor(sample.x, sample.shape);
const got = model.predict(x1);
const ref = sample.y;
const data = await got.data();
let err = 0;
for (let i = 0; i < data.length; i++) err = Math.max(err, Math.abs(data[i] - ref[i]));
tf.dispose([got]);

const out = {};
for (const b of batchesArg.split(',').map(Number)) {
  const reps = Array(b).fill(0).map(() => x1.slice([0], [1]));
  const xb = tf.concat(reps);
  tf.dispose(reps);
  for (let i = 0; i < 2; i++) (await model.predict(xb).data(), null);
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    const y = model.predict(xb);
    await y.data();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    y.dispose();
  }
  times.sort((a, b2) => a - b2);
  out[b] = times[Math.floor(times.length / 2)];
  xb.dispose();
}
const threads = tf.wasm && tf.wasm.getThreadsCount ? tf.wasm.getThreadsCount() : 1;
console.log(JSON.stringify({ backend: tf.getBackend(), threads, ms: out, max_abs_err: err }));
