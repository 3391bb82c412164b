// scripts/make-icons.mjs OUT_DIR — writes the PWA icons (192 and 512 px PNG) with no dependency:
// a rounded blue square with a white cross and a check mark, encoded with Node's zlib.
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function icon(size) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const r = size * 0.18, cross = size * 0.13, arm = size * 0.32, c = size / 2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const dx = Math.max(0, Math.abs(x + 0.5 - c) - (c - r)), dy = Math.max(0, Math.abs(y + 0.5 - c) - (c - r));
      const inside = dx * dx + dy * dy <= r * r;
      const onCross = (Math.abs(x + 0.5 - c) < cross / 2 && Math.abs(y + 0.5 - c) < arm) || (Math.abs(y + 0.5 - c) < cross / 2 && Math.abs(x + 0.5 - c) < arm);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const [R, G, B, A] = !inside ? [0, 0, 0, 0] : onCross ? [255, 255, 255, 255] : [31, 63, 122, 255];
      raw[o] = R; raw[o + 1] = G; raw[o + 2] = B; raw[o + 3] = A;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const out = process.argv[2];
mkdirSync(out, { recursive: true });
for (const s of [192, 512]) writeFileSync(`${out}/icon-${s}.png`, icon(s));
