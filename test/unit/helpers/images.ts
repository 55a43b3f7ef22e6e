import { deflateSync } from 'node:zlib';

/**
 * Tiny but valid images for the evidence tests, built byte by byte: a baseline 8×8 grey JPEG and a 2×2 RGB PNG,
 * plus the metadata phones add (EXIF with GPS and device model, XMP, ICC, IPTC, comments, trailers).
 */
const seg = (marker: number, body: Buffer) =>
  Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);

/** Marker strings a test looks for: none may survive stripping. */
export const SECRETS = ['Exif', 'FAKEPHONE X9', 'GPS', 'xap/1.0', 'ICC_PROFILE', 'Photoshop', 'Zhang San', 'TRAILER'];

/** A TIFF (big-endian) with IFD0 { Model, GPSInfo → { LatitudeRef N, Latitude 27°37'12" } }. */
export function exifTiff(): Buffer {
  const model = Buffer.from('FAKEPHONE X9\0', 'ascii');
  const b = Buffer.alloc(8 + 2 + 2 * 12 + 4 + model.length + 2 + 2 * 12 + 4 + 24);
  b.write('MM', 0, 'ascii');
  b.writeUInt16BE(42, 2);
  b.writeUInt32BE(8, 4);
  let p = 8;
  const modelAt = 8 + 2 + 24 + 4;
  const gpsAt = modelAt + model.length;
  b.writeUInt16BE(2, p);
  p += 2;
  b.writeUInt16BE(0x0110, p); // Model, ASCII
  b.writeUInt16BE(2, p + 2);
  b.writeUInt32BE(model.length, p + 4);
  b.writeUInt32BE(modelAt, p + 8);
  p += 12;
  b.writeUInt16BE(0x8825, p); // GPSInfo IFD pointer
  b.writeUInt16BE(4, p + 2);
  b.writeUInt32BE(1, p + 4);
  b.writeUInt32BE(gpsAt, p + 8);
  p += 12;
  b.writeUInt32BE(0, p);
  model.copy(b, modelAt);
  p = gpsAt;
  const ratAt = gpsAt + 2 + 24 + 4;
  b.writeUInt16BE(2, p);
  p += 2;
  b.writeUInt16BE(0x0001, p); // GPSLatitudeRef 'N'
  b.writeUInt16BE(2, p + 2);
  b.writeUInt32BE(2, p + 4);
  b.write('N\0', p + 8, 'ascii');
  p += 12;
  b.writeUInt16BE(0x0002, p); // GPSLatitude 3 × RATIONAL
  b.writeUInt16BE(5, p + 2);
  b.writeUInt32BE(3, p + 4);
  b.writeUInt32BE(ratAt, p + 8);
  p += 12;
  b.writeUInt32BE(0, p);
  [27, 1, 37, 1, 12, 1].forEach((v, i) => {
    b.writeUInt32BE(v, ratAt + i * 4);
  });
  return Buffer.concat([b, Buffer.from('GPS', 'ascii')]);
}

const jfif = seg(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
const dqt = seg(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)]));
const sof0 = seg(0xc0, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0]));
const oneCodeTable = (classId: number) =>
  seg(0xc4, Buffer.concat([Buffer.from([classId, 1]), Buffer.alloc(15, 0), Buffer.from([0])]));
const sos = seg(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0]));
// DC difference 0 (code "0"), end of block (code "0"), padded with ones
const scan = Buffer.from([0x3f]);

/** A clean, decodable 8×8 mid-grey baseline JPEG (JFIF). */
export function cleanJpeg(): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    jfif,
    dqt,
    sof0,
    oneCodeTable(0x00),
    oneCodeTable(0x10),
    sos,
    scan,
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** The same JPEG as a phone would save it: EXIF (model, GPS), XMP, ICC, IPTC, a comment and a trailer after EOI. */
export function jpegWithMetadata(): Buffer {
  const exif = seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'ascii'), exifTiff()]));
  const xmp = seg(
    0xe1,
    Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>27,37.2N</exif:GPSLatitude></x:xmpmeta>'),
  );
  const icc = seg(0xe2, Buffer.concat([Buffer.from('ICC_PROFILE\0\x01\x01', 'latin1'), Buffer.alloc(32, 7)]));
  const iptc = seg(0xed, Buffer.from('Photoshop 3.0\0 8BIM by-line Zhang San'));
  const com = seg(0xfe, Buffer.from('Zhang San took this'));
  const clean = cleanJpeg();
  const afterSoi = clean.subarray(2, 2 + jfif.length);
  const rest = clean.subarray(2 + jfif.length);
  return Buffer.concat([
    clean.subarray(0, 2),
    exif,
    afterSoi,
    xmp,
    icc,
    iptc,
    com,
    rest,
    Buffer.from('TRAILER: second picture'),
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const byte of b) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export const PNG_PIXELS = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 10, 20, 30]);
const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ihdr = pngChunk('IHDR', Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]));
const idat = pngChunk('IDAT', deflateSync(PNG_PIXELS));
const iend = pngChunk('IEND', Buffer.alloc(0));
const trns = pngChunk('tRNS', Buffer.from([0, 10, 0, 20, 0, 30]));

/** A clean 2×2 RGB PNG with a tRNS chunk (kept: it affects decoding). */
export function cleanPng(): Buffer {
  return Buffer.concat([PNG_SIG, ihdr, trns, idat, iend]);
}

export function pngWithMetadata(): Buffer {
  return Buffer.concat([
    PNG_SIG,
    ihdr,
    pngChunk('eXIf', exifTiff()),
    pngChunk('iCCP', Buffer.from('ICC_PROFILE\0\0xyz')),
    trns,
    pngChunk('tEXt', Buffer.from('Author\0Zhang San')),
    pngChunk('iTXt', Buffer.from('XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>xap/1.0 GPS</x:xmpmeta>')),
    pngChunk('tIME', Buffer.from([7, 233, 3, 1, 8, 0, 0])),
    idat,
    pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), deflateSync(Buffer.from('Zhang San'))])),
    iend,
  ]);
}

/** Byte-level search, for asserting that a marker string is gone. */
export const contains = (b: Uint8Array, text: string): boolean => Buffer.from(b).includes(Buffer.from(text, 'latin1'));

/** An ISO BMFF box of `type` around `parts`. */
export const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
};
/** a version-0 full box with creation and modification times */
export const timed = (type: string) => {
  const body = Buffer.alloc(24);
  body.writeUInt32BE(0xe1234567, 4);
  body.writeUInt32BE(0xe7654321, 8);
  body.writeUInt32BE(600, 12);
  return box(type, body);
};
export const GPS = '+27.6185+119.0625/';
export const MODEL = 'FAKEPHONE X9';
export const MEDIA = Buffer.from('media samples: frames and audio '.repeat(50));

/** A phone video as it is saved: GPS, model, Apple keys, XMP and recording times around real-looking boxes. */
export function videoWithMetadata(): Buffer {
  const stco = box('stco', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x40]));
  const trak = box(
    'trak',
    timed('tkhd'),
    box('mdia', timed('mdhd'), box('minf', box('stbl', stco))),
    box('meta', Buffer.alloc(4), box('keys', Buffer.from('com.apple.quicktime.model'))),
  );
  const udta = box('udta', box('\xa9xyz', Buffer.from(GPS)), box('\xa9mod', Buffer.from(MODEL)));
  return Buffer.concat([
    box('ftyp', Buffer.from('isom\0\0\0\0isomavc1')),
    box('moov', timed('mvhd'), trak, udta),
    box('mdat', MEDIA),
    box('uuid', Buffer.from('BE7ACFCB97A942E89C71999491E3AFAC<x:xmpmeta>Zhang San</x:xmpmeta>')),
  ]);
}
