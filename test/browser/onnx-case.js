// Shared by onnx-page.js (in the browser) and run.mjs (in Node): the model's input and a hash of outputs.

/** The input of the ONNX page's model: [1, 3, 32, 32], deterministic. */
export function onnxInput() {
  const data = new Float32Array(3 * 32 * 32);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 0.8;
  return { shape: [1, 3, 32, 32], data };
}

/** FNV-1a over the bytes of a Float32Array: equal hashes mean bitwise equal outputs. */
export function hashFloats(data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}
