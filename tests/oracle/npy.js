// npy.js: read and write NumPy .npy files (little-endian, C order) for the
// onnxq test oracle. Arrays are plain objects {type, shape, data} where `type`
// is an onnxruntime-node tensor type name ('float32', 'int64', ...) and `data`
// is the matching typed array (float16 is carried as Uint16Array bits).
'use strict';

const fs = require('fs');
const os = require('os');

const MAGIC = '\x93NUMPY';

// ORT tensor type -> numpy descr, element size, typed array constructor.
const TYPES = {
  float32: { descr: '<f4', size: 4, ctor: Float32Array },
  float64: { descr: '<f8', size: 8, ctor: Float64Array },
  float16: { descr: '<f2', size: 2, ctor: Uint16Array },
  int8: { descr: '|i1', size: 1, ctor: Int8Array },
  uint8: { descr: '|u1', size: 1, ctor: Uint8Array },
  int16: { descr: '<i2', size: 2, ctor: Int16Array },
  uint16: { descr: '<u2', size: 2, ctor: Uint16Array },
  int32: { descr: '<i4', size: 4, ctor: Int32Array },
  uint32: { descr: '<u4', size: 4, ctor: Uint32Array },
  int64: { descr: '<i8', size: 8, ctor: BigInt64Array },
  uint64: { descr: '<u8', size: 8, ctor: BigUint64Array },
  bool: { descr: '|b1', size: 1, ctor: Uint8Array },
};

// numpy descr -> ORT type. '=' (native) is little-endian here; one-byte
// types ignore the byte-order mark.
function typeForDescr(descr) {
  const order = descr[0];
  const kind = descr.slice(1);
  const type = Object.keys(TYPES).find((t) => TYPES[t].descr.slice(1) === kind);
  if (!type || !'<>|='.includes(order)) throw new Error(`unsupported dtype '${descr}'`);
  if (TYPES[type].size > 1 && order !== '<' && order !== '=') {
    throw new Error(`dtype '${descr}' is not little-endian`);
  }
  return type;
}

function product(shape) {
  return shape.reduce((n, d) => n * d, 1);
}

// Pull descr, fortran_order and shape out of the header's Python dict literal.
function parseHeader(text) {
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) throw new Error('header is not a dict literal');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(t);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(t);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(t);
  if (!descr) throw new Error(`unsupported dtype in header ${t}`);
  if (!fortran || !shape) throw new Error(`malformed header ${t}`);
  if (fortran[1] === 'True') throw new Error('fortran_order True is not supported (C order only)');
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const d of dims) {
    if (!/^\d+L?$/.test(d)) throw new Error(`bad shape entry '${d}'`);
  }
  return { descr: descr[1], shape: dims.map((d) => parseInt(d, 10)) };
}

// Decode a whole .npy file held in `buf`; `name` is used in error messages.
function parseNpy(buf, name) {
  const fail = (why) => new Error(`${name}: ${why}`);
  if (buf.length < 10) throw fail(`truncated file (${buf.length} bytes)`);
  if (buf.toString('latin1', 0, 6) !== MAGIC) throw fail('bad magic (not a .npy file)');
  const major = buf[6];
  let headerLen;
  let start;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw fail(`truncated file (${buf.length} bytes)`);
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw fail(`unsupported format version ${major}.${buf[7]}`);
  }
  const dataStart = start + headerLen;
  if (buf.length < dataStart) throw fail(`truncated header (need ${dataStart} bytes, file has ${buf.length})`);
  const text = buf.toString(major === 3 ? 'utf8' : 'latin1', start, dataStart);

  let header;
  let type;
  try {
    header = parseHeader(text);
    type = typeForDescr(header.descr);
  } catch (e) {
    throw fail(e.message);
  }
  const info = TYPES[type];
  const count = product(header.shape);
  const nbytes = count * info.size;
  const have = buf.length - dataStart;
  if (have < nbytes) {
    throw fail(`data too short: shape (${header.shape.join(', ')}) needs ${nbytes} bytes, file has ${have}`);
  }
  if (have > nbytes) throw fail(`${have - nbytes} unexpected bytes after the data`);

  // Copy into a fresh buffer so the typed array is correctly aligned.
  const bytes = new Uint8Array(nbytes);
  bytes.set(buf.subarray(dataStart, dataStart + nbytes));
  return { type, shape: header.shape, data: new info.ctor(bytes.buffer) };
}

// Encode {type, shape (or dims), data} as a .npy file; returns a Buffer.
// `data` may be any typed array whose bytes are the element values.
function formatNpy(arr, name = 'array') {
  const info = TYPES[arr.type];
  if (!info) throw new Error(`${name}: cannot write tensor type '${arr.type}' to .npy`);
  const shape = Array.from(arr.shape || arr.dims, Number);
  const nbytes = product(shape) * info.size;
  const data = arr.data;
  if (!ArrayBuffer.isView(data) || data.byteLength !== nbytes) {
    throw new Error(`${name}: data does not match shape (${shape.join(', ')}) of ${arr.type}`);
  }
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  // Version 1.0 has a 2-byte header length; fall back to 2.0 for huge headers.
  let version = 1;
  let prefix = 10;
  if (dict.length + 1 + 64 > 0xffff) {
    version = 2;
    prefix = 12;
  }
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - prefix - 1, ' ') + '\n';

  const out = Buffer.alloc(total + nbytes);
  out.write(MAGIC, 0, 'latin1');
  out[6] = version;
  out[7] = 0;
  if (version === 1) out.writeUInt16LE(dict.length, 8);
  else out.writeUInt32LE(dict.length, 8);
  out.write(dict, prefix, 'latin1');
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${e.code || e.message})`);
  }
  return parseNpy(buf, file);
}

function writeNpy(file, arr) {
  const buf = formatNpy(arr, file);
  try {
    fs.writeFileSync(file, buf);
  } catch (e) {
    throw new Error(`${file}: cannot write (${e.code || e.message})`);
  }
}

if (os.endianness() !== 'LE') throw new Error('npy.js: only little-endian hosts are supported');

module.exports = { TYPES, typeForDescr, parseNpy, formatNpy, readNpy, writeNpy };
