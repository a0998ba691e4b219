/**
 * Which file format a byte buffer holds, read from its first bytes only (no parsing, no allocation).
 *
 * Every loader calls this when the bytes are not its own format, so a `.pth` handed to
 * `loadSafetensors`, or an ONNX file handed to `loadTorchCheckpoint`, says which loader to use
 * instead of reporting a nonsense header.
 */

export type SniffedFormat =
  | 'safetensors'
  | 'torch-zip'
  | 'torch-legacy'
  | 'onnx'
  | 'png'
  | 'jpeg'
  | 'gzip'
  | 'html'
  | 'unknown';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** ONNX's ModelProto starts with `ir_version` (field 1, varint, a small number) and then another known field. */
function looksLikeOnnx(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0x08) return false;
  const irVersion = bytes[1]!;
  if (irVersion < 1 || irVersion > 0x3f) return false;
  // The next tag: producer_name (0x12), producer_version (0x1a), domain (0x22), model_version (0x28),
  // doc_string (0x32), graph (0x3a), opset_import (0x42), metadata_props (0x72), functions (0x9a 0x01).
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72, 0x9a].includes(bytes[2]!);
}

/** safetensors: an 8-byte little-endian header length that fits in the file, then a JSON object. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  let length = 0;
  for (let i = 7; i >= 0; i--) length = length * 256 + bytes[i]!;
  if (length < 2 || length > bytes.length - 8) return false;
  let i = 8;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x7b; // '{'
}

function looksLikeHtml(bytes: Uint8Array): boolean {
  let i = 0;
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) i = 3; // UTF-8 byte order mark
  while (i < bytes.length && i < 64 && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x3c; // '<': <!DOCTYPE html>, <html>, <?xml ...
}

export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return 'torch-zip';
  // The legacy torch.save format: a protocol-2 pickle whose first object is the magic number 0x1950a86a20f9469cfc6c (LONG1, 10 bytes).
  if (startsWith(bytes, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])) return 'torch-legacy';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip';
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  if (looksLikeOnnx(bytes)) return 'onnx';
  if (looksLikeHtml(bytes)) return 'html';
  return 'unknown';
}

const ADVICE: Record<SniffedFormat, string> = {
  'safetensors': 'a safetensors file: load it with loadSafetensors(bytes)',
  'torch-zip': 'a zip archive, as torch.save writes (PyTorch ≥ 1.6): load it with loadTorchCheckpoint(bytes)',
  'torch-legacy': 'a legacy (pre-1.6) torch.save file: load it with loadTorchCheckpoint(bytes)',
  'onnx': 'an ONNX model: load it with loadOnnx(bytes)',
  'png': 'a PNG image: decode it with decodeImage(bytes)',
  'jpeg': 'a JPEG image: decode it with decodeImage(bytes)',
  'gzip': 'gzip-compressed: decompress it first',
  'html': 'text starting with "<" (an HTML page, perhaps an error page served instead of the file)',
  'unknown': 'not a format sepconv recognises',
};

/**
 * A sentence for a loader's error when the bytes are in another format: "this looks like …: load it
 * with …". Returns null when the bytes look like `expected` (or like nothing known), so the loader
 * goes on to report its own, more precise error.
 */
export function wrongFormatHint(bytes: Uint8Array, expected: SniffedFormat | readonly SniffedFormat[]): string | null {
  const format = sniffFormat(bytes);
  const wanted: readonly SniffedFormat[] = typeof expected === 'string' ? [expected] : expected;
  if (format === 'unknown' || wanted.includes(format)) return null;
  return `this looks like ${ADVICE[format]}`;
}
