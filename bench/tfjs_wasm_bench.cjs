// TF.js (wasm backend) side of bench/compare.py, in its own Node process.
//
//   node bench/tfjs_wasm_bench.cjs MODEL_JSON INPUT.bin SHAPE(1x784) DTYPE THREADS ROUNDS IDLE_MS BATCHES(1,32,256)
//
// INPUT.bin holds rows of the model input (raw little-endian float32/int32);
// batches are taken from its first rows (tiled when it has fewer). Prints one
// JSON object: import/load/first-call seconds, batch-1 samples, after-idle
// samples, per-batch seconds, peak RSS, the batch-1 output, the wasm flavour.
// @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm must resolve (NODE_PATH).
"use strict";

const t0 = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - t0) / 1e9;
const fs = require("fs");
const path = require("path");

// VmHWM: getrusage's maxRSS would include the parent's peak (kept across exec).
function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m) return parseInt(m[1], 10) * 1024;
  } catch (e) { /* not Linux */ }
  return process.resourceUsage().maxRSS * 1024;
}

async function main() {
  const [modelJson, inputBin, shapeArg, dtype, threadsArg, roundsArg, idleArg, batchesArg] =
    process.argv.slice(2);
  const tImport0 = now();
  const tf = require("@tensorflow/tfjs");
  const wasm = require("@tensorflow/tfjs-backend-wasm");
  const wasmDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  wasm.setWasmPaths(wasmDir + path.sep);
  const threads = parseInt(threadsArg, 10);
  if (wasm.setThreadsCount) wasm.setThreadsCount(threads);
  await tf.setBackend("wasm");
  await tf.ready();
  const importS = now() - tImport0;

  const rowShape = shapeArg.split("x").map(Number).slice(1);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const raw = fs.readFileSync(inputBin);
  const all = dtype === "int32"
    ? new Int32Array(raw.buffer, raw.byteOffset, raw.length / 4)
    : new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const nRows = all.length / rowSize;
  const batchOf = (n) => {
    const data = dtype === "int32" ? new Int32Array(n * rowSize) : new Float32Array(n * rowSize);
    for (let r = 0; r < n; r++) data.set(all.subarray((r % nRows) * rowSize, (r % nRows + 1) * rowSize), r * rowSize);
    return tf.tensor(data, [n, ...rowShape], dtype);
  };

  // Load the LayersModel from files (tfjs in Node has no file:// handler
  // without tfjs-node): model.json + its shards, concatenated.
  const tLoad0 = now();
  const dir = path.dirname(modelJson);
  const doc = JSON.parse(fs.readFileSync(modelJson, "utf8"));
  const specs = [], parts = [];
  for (const group of doc.weightsManifest) {
    for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
    specs.push(...group.weights);
  }
  const buf = Buffer.concat(parts);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  const model = await tf.loadLayersModel({
    load: async () => ({ modelTopology: doc.modelTopology, weightSpecs: specs, weightData,
                         format: doc.format, generatedBy: doc.generatedBy, convertedBy: doc.convertedBy }),
  });
  const loadS = now() - tLoad0;

  const x1 = batchOf(1);
  const call = (x) => {
    const y = model.predict(x);
    const out = (Array.isArray(y) ? y[0] : y).dataSync();
    tf.dispose(y);
    return out;
  };
  const tFirst = now();
  const first = call(x1);
  const firstS = now() - tFirst;

  const rounds = parseInt(roundsArg, 10);
  const idleMs = parseFloat(idleArg);
  const b1 = [], idle = [];
  for (let i = 0; i < 5; i++) call(x1);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 5; i++) {
      const t = now();
      call(x1);
      b1.push(now() - t);
    }
    await new Promise((res) => setTimeout(res, idleMs));
    const t = now();
    call(x1);
    idle.push(now() - t);
  }
  const batches = {};
  for (const n of batchesArg.split(",").map(Number).filter((n) => n > 1)) {
    const xb = batchOf(n);
    call(xb);
    const samples = [];
    for (let r = 0; r < Math.max(3, Math.min(rounds, 7)); r++) {
      const t = now();
      call(xb);
      samples.push(now() - t);
    }
    batches[n] = samples;
    tf.dispose(xb);
  }
  const flavour = wasm.getThreadsCount ? { threads: wasm.getThreadsCount() } : {};
  process.stdout.write(JSON.stringify({
    tfjs_version: tf.version.tfjs, backend: tf.getBackend(), ...flavour,
    import_s: importS, load_s: loadS, first_s: firstS, b1, idle, batches,
    peak_rss_bytes: peakRss(), output: Array.from(first),
  }));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e));
  process.exit(1);
});
