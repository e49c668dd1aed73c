// Dump every layer's output of a TF.js LayersModel, computed by real TF.js,
// for `tfjs-infer diff MODEL INPUT --reference acts.npz`.
//
// Usage: node dump_tfjs_layers.mjs MODEL_DIR INPUT.npy[,INPUT2.npy...] OUT.npz [--layer NAME ...]
//
// MODEL_DIR holds model.json and its weight shards. Each input is a float32
// or int32 .npy file (one per model input, in order). OUT.npz gets one array
// per layer output, named as tfjs-infer names them: the layer's name,
// "outer/inner" for a layer inside a nested model, "name:i" for output i of a
// layer with several outputs (or of a layer called several times). --layer
// keeps only the named ones.
//
// Needs @tensorflow/tfjs (npm install @tensorflow/tfjs@4.22.0, or NODE_PATH).
// It runs the pure-JS CPU backend: tf.model({inputs, outputs}) over the
// layers' symbolic outputs; a nested model is dumped by running it as its own
// model on the value of its input.

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');

async function loadModel(dir) {
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weightSpecs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(readFileSync(join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}

// -- .npy in, .npz out ---------------------------------------------------------

function readNpy(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];  // format version: 1 has a 2-byte header length, 2 and 3 four
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',')
    .map((s) => s.trim()).filter((s) => s).map(Number);
  const body = buf.subarray(start + headerLen);
  const copy = new Uint8Array(body).buffer;  // aligned
  if (descr === '<f4') return tf.tensor(new Float32Array(copy), shape, 'float32');
  if (descr === '<i4') return tf.tensor(new Int32Array(copy), shape, 'int32');
  if (descr === '<f8') return tf.tensor(Float32Array.from(new Float64Array(copy)), shape);
  if (descr === '<i8') {
    return tf.tensor(Int32Array.from(new BigInt64Array(copy), Number), shape, 'int32');
  }
  throw new Error(`${path}: dtype ${descr} (use float32 or int32)`);
}

function npyBytes(values, shape, dtype) {
  const descr = dtype === 'int32' ? '<i4' : '<f4';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// An uncompressed zip (what numpy.savez writes) of name.npy entries.
function writeNpz(path, arrays) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, bytes] of arrays) {
    const fname = Buffer.from(`${name}.npy`, 'utf8');
    const crc = crc32(bytes);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);  // UTF-8 names
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(bytes.length, 18);
    local.writeUInt32LE(bytes.length, 22);
    local.writeUInt16LE(fname.length, 26);
    parts.push(local, fname, bytes);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(bytes.length, 20);
    entry.writeUInt32LE(bytes.length, 24);
    entry.writeUInt16LE(fname.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, fname);
    offset += 30 + fname.length + bytes.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(arrays.length, 8);
  end.writeUInt16LE(arrays.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...parts, dir, end]));
}

// -- walking the layers ----------------------------------------------------------

function asList(x) {
  return Array.isArray(x) ? x : [x];
}

function isModel(layer) {
  return layer instanceof tf.LayersModel;
}

// The calls (nodes) of `layer` that belong to `model`'s graph, in call order.
function layerCalls(model, layer) {
  return layer.inboundNodes.filter((node, k) => model.containerNodes.has(`${layer.name}_ib-${k}`));
}

// Runs `model` on `inputs` (tensors) and appends every layer's outputs, call
// after call, to `acc` (name -> values). A nested model called several times
// is run once per call: its layers get the outputs of every call.
async function collect(model, inputs, prefix, acc) {
  const wanted = [];  // [name, symbolic outputs of all its calls]
  const nested = [];  // [layer, symbolic inputs of each call]
  // A Sequential model wraps a functional one, made when it is built.
  if (model instanceof tf.Sequential && model.model == null) model.build();
  const graph = model instanceof tf.Sequential ? model.model : model;
  for (const layer of graph.layers) {
    const calls = layerCalls(graph, layer);
    wanted.push([prefix + layer.name, calls.flatMap((node) => node.outputTensors)]);
    if (isModel(layer)) nested.push([layer, calls.map((node) => asList(node.inputTensors))]);
  }
  // Each symbolic tensor fetched once; the model's inputs are their values.
  const known = new Map(graph.inputs.map((t, i) => [t, inputs[i]]));
  const fetch = [];
  const all = [...wanted.flatMap(([, outs]) => outs), ...nested.flatMap(([, c]) => c.flat())];
  for (const t of all) if (!known.has(t) && !fetch.includes(t)) fetch.push(t);
  if (fetch.length) {
    const probe = tf.model({ inputs: graph.inputs, outputs: fetch });
    const values = asList(probe.predict(inputs.length === 1 ? inputs[0] : inputs));
    fetch.forEach((t, i) => known.set(t, values[i]));
  }
  for (const [name, outs] of wanted) {
    acc.set(name, [...(acc.get(name) || []), ...outs.map((t) => known.get(t))]);
  }
  for (const [layer, calls] of nested) {
    for (const ins of calls) {
      await collect(layer, ins.map((t) => known.get(t)), `${prefix}${layer.name}/`, acc);
    }
  }
}

// name -> values becomes the dump's names: "name", or "name:i" for several.
function named(acc) {
  const out = new Map();
  for (const [name, values] of acc) {
    if (values.length === 1) out.set(name, values[0]);
    else values.forEach((v, i) => out.set(`${name}:${i}`, v));
  }
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  const only = [];
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--layer') only.push(args[++i]);
    else pos.push(args[i]);
  }
  if (pos.length !== 3) {
    console.error('usage: node dump_tfjs_layers.mjs MODEL_DIR INPUT.npy[,...] OUT.npz [--layer NAME ...]');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  const model = await loadModel(pos[0]);
  const inputs = pos[1].split(',').map(readNpy);
  const acc = new Map();
  await collect(model, inputs, '', acc);
  const acts = named(acc);
  const missing = only.filter((n) => !acts.has(n));
  if (missing.length) throw new Error(`no layer output named ${JSON.stringify(missing)}`);
  const arrays = [];
  for (const [name, t] of acts) {
    if (only.length && !only.includes(name)) continue;
    arrays.push([name, npyBytes(await t.data(), t.shape, t.dtype)]);
  }
  writeNpz(pos[2], arrays);
  console.log(`wrote ${pos[2]}: ${arrays.length} arrays (TF.js ${tf.version.tfjs}, ${tf.getBackend()})`);
}

main().catch((err) => { console.error(err); process.exit(1); });
