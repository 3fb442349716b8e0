#!/usr/bin/env node
// Deterministic NDJSON generator for `make bench`.
//
//   node bench/gen.mjs SET MB OUTDIR
//
// SET is one of:
//   events   web-analytics events, ~1 KB a record: strings, exact-text numbers,
//            booleans, nulls, a nested object whose key set depends on the event
//            type, arrays, a padding string; some files add extra keys, and the
//            very last record of the batch carries a key seen nowhere else.
//   wide     records with 100+ keys (160 possible keys, ~130 present in each).
//   longstr  records with a few long string values of 1-20 KB each.
//
// Writes FILES files (env BENCH_FILES, default 20) of about MB/FILES megabytes
// (MB = 10^6 bytes) into OUTDIR, then OUTDIR/meta.json with the file list, the
// total byte count and the total line count. Everything is generated from a
// fixed seed, so the same SET and MB always give the same bytes. The data is
// written to OUTDIR.tmp-PID first and renamed at the end, so an interrupted run
// never leaves a half-made data set behind.

import fs from 'node:fs';
import path from 'node:path';

const [set, mbArg, outDir] = process.argv.slice(2);
if (!set || !mbArg || !outDir) {
  console.error('usage: node bench/gen.mjs events|wide|longstr MB OUTDIR');
  process.exit(2);
}
const MB = Number(mbArg);
if (!(MB > 0)) { console.error(`gen: bad size ${mbArg}`); process.exit(2); }
const NFILES = Number(process.env.BENCH_FILES || 20);
const SEEDS = { events: 0x5eed0001, wide: 0x5eed0002, longstr: 0x5eed0003 };
if (!(set in SEEDS)) { console.error(`gen: unknown data set ${set}`); process.exit(2); }

// ---------------------------------------------------------------- PRNG
// xorshift32 with a fixed seed: fast and reproducible across node versions.
let S = SEEDS[set] >>> 0;
function rnd() { // uint32
  S ^= S << 13; S >>>= 0;
  S ^= S >>> 17;
  S ^= S << 5; S >>>= 0;
  return S;
}
const rf = () => rnd() / 4294967296;            // [0,1)
const ri = (lo, hi) => lo + (rnd() % (hi - lo + 1)); // [lo,hi]
const pick = (a) => a[rnd() % a.length];
const chance = (p) => rf() < p;
const HEX = '0123456789abcdef';
function hex(n) { let s = ''; for (let i = 0; i < n; i++) s += HEX[rnd() & 15]; return s; }
function uuid() { return `${hex(8)}-${hex(4)}-4${hex(3)}-${HEX[8 + (rnd() & 3)]}${hex(3)}-${hex(12)}`; }
const AN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function alnum(n) { let s = ''; for (let i = 0; i < n; i++) s += AN[rnd() % 62]; return s; }

// Raw JSON text, written as is (keeps number text such as "19.90" or "1e3").
class Raw { constructor(t) { this.t = t; } }
const raw = (t) => new Raw(t);
function ser(v) {
  if (v instanceof Raw) return v.t;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(ser).join(',') + ']';
  let s = '{', first = true;
  for (const k in v) {
    if (v[k] === undefined) continue;
    s += (first ? '' : ',') + JSON.stringify(k) + ':' + ser(v[k]);
    first = false;
  }
  return s + '}';
}

// ---------------------------------------------------------------- vocab
const WORDS = ('the of and to in is you that it he was for on are as with his they at be this have from or one had by ' +
  'word but not what all were we when your can said there use an each which she do how their if will up other about out ' +
  'many then them these so some her would make like him into time has look two more write go see number no way could ' +
  'people my than first water been call who oil its now find long down day did get come made may part checkout cart ' +
  'session click scroll render latency payload request response timeout retry cache miss hit token user account order').split(' ');
function words(nchars) {
  let s = '';
  while (s.length < nchars) s += (s ? ' ' : '') + pick(WORDS);
  return s.slice(0, nchars);
}
const EVENT_TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'scroll', 'add_to_cart',
  'purchase', 'search', 'login', 'logout', 'video_play', 'form_submit', 'error'];
const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'curl/8.5.0',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];
const PLACES = [
  ['US', 'New York', 40.7128, -74.006], ['US', 'San Francisco', 37.7749, -122.4194], ['GB', 'London', 51.5074, -0.1278],
  ['DE', 'Berlin', 52.52, 13.405], ['CH', 'Z\u00fcrich', 47.3769, 8.5417], ['BR', 'S\u00e3o Paulo', -23.5505, -46.6333],
  ['JP', '\u6771\u4eac', 35.6762, 139.6503], ['IN', 'Bengaluru', 12.9716, 77.5946], ['FR', 'Paris', 48.8566, 2.3522],
  ['AU', 'Sydney', -33.8688, 151.2093], ['CA', 'Montr\u00e9al', 45.5017, -73.5673], ['NG', 'Lagos', 6.5244, 3.3792],
  ['RU', '\u041c\u043e\u0441\u043a\u0432\u0430', 55.7558, 37.6173], ['MX', 'Ciudad de M\u00e9xico', 19.4326, -99.1332],
  ['KR', '\uc11c\uc6b8', 37.5665, 126.978], ['ZA', 'Cape Town', -33.9249, 18.4241],
];
const PATHS = ['/', '/home', '/products', '/products/42', '/cart', '/checkout', '/search', '/blog/how-to-"quote"',
  '/account/settings', '/help\\faq', '/en/pricing', '/de/preise', '/api/v2/items?page=3&sort=desc'];
const REFS = ['https://www.google.com/', 'https://t.co/abc', 'https://news.ycombinator.com/', 'https://duckduckgo.com/', ''];

const T0 = Date.UTC(2024, 4, 1); // 2024-05-01
function isoTs(ms) { return new Date(ms).toISOString(); }
function fixed(x, d) { return x.toFixed(d); }

// ---------------------------------------------------------------- events
function eventProps(type) {
  switch (type) {
    case 'page_view': return { path: pick(PATHS), title: words(ri(10, 40)), load_ms: ri(50, 4000), referrer: chance(0.3) ? null : pick(REFS) };
    case 'click': return { element: pick(['button', 'a', 'div', 'img']), element_id: 'el-' + hex(6), x: ri(0, 1920), y: ri(0, 1080), text: words(ri(3, 20)) };
    case 'scroll': return { depth_pct: ri(0, 100), direction: pick(['up', 'down']) };
    case 'add_to_cart': return { sku: 'SKU-' + alnum(8), qty: ri(1, 5), price: raw(fixed(rf() * 200, 2)), currency: pick(['USD', 'EUR', 'GBP', 'JPY']) };
    case 'purchase': {
      const n = ri(1, 4), items = [];
      for (let i = 0; i < n; i++) items.push({ sku: 'SKU-' + alnum(8), qty: ri(1, 3), price: raw(fixed(rf() * 200, 2)) });
      return { order_id: uuid(), items, total: raw(fixed(rf() * 800, 2)), coupon: chance(0.7) ? null : alnum(6).toUpperCase(), shipping: { method: pick(['std', 'express']), days: ri(1, 7) } };
    }
    case 'search': return { query: words(ri(5, 40)), results: ri(0, 500), filters: chance(0.5) ? [] : [pick(['price<50', 'in_stock', 'color:red', 'brand:"acme"'])] };
    case 'login': case 'logout': return { method: pick(['password', 'sso', 'oauth:google', 'passkey']), mfa: chance(0.4) };
    case 'video_play': return { video_id: hex(11), position_s: raw(fixed(rf() * 600, 3)), quality: pick(['480p', '720p', '1080p', '4k']), muted: chance(0.2) };
    case 'form_submit': return { form: pick(['signup', 'contact', 'newsletter']), fields: ri(1, 12), valid: chance(0.9) };
    default: return { code: ri(400, 599), message: 'Error: ' + words(ri(10, 60)) + '\n\tat handler (app.js:' + ri(1, 999) + ')', fatal: chance(0.1) };
  }
}

function eventRecord(fileIdx, recIdx, seq, isLastOfBatch) {
  const type = pick(EVENT_TYPES);
  const pl = pick(PLACES);
  const ua = pick(UAS);
  const ts = T0 + fileIdx * 3600000 + recIdx * 37 + ri(0, 36);
  const r = {
    id: uuid(),
    timestamp: isoTs(ts),
    event_type: type,
    user_id: chance(0.1) ? null : ri(1, 5000000),
    session_id: hex(32),
    ip: chance(0.15) ? `2001:db8:${hex(4)}::${hex(4)}` : `${ri(1, 223)}.${ri(0, 255)}.${ri(0, 255)}.${ri(1, 254)}`,
    user_agent: ua,
    country: pl[0],
    city: pl[1],
    lat: raw(fixed(pl[2] + (rf() - 0.5) * 0.2, ri(3, 6))),
    lon: raw(fixed(pl[3] + (rf() - 0.5) * 0.2, ri(3, 6))),
    seq,
    screen_w: pick([375, 390, 414, 768, 1280, 1366, 1440, 1920, 2560]),
    screen_h: pick([667, 844, 896, 1024, 720, 768, 900, 1080, 1440]),
    duration_ms: ri(0, 120000),
    score: chance(0.05) ? raw(`${ri(1, 9)}e${ri(1, 5)}`) : raw(fixed(rf() * 100, 2)),
    is_mobile: ua.includes('Mobile') || ua.includes('iPhone'),
    is_bot: ua.includes('bot') || ua.startsWith('curl'),
    consent: chance(0.2) ? null : chance(0.8),
    referrer: chance(0.4) ? null : pick(REFS),
    props: eventProps(type),
    tags: chance(0.3) ? [] : Array.from({ length: ri(1, 4) }, () => pick(['new', 'returning', 'vip', 'beta', 'a/b', 'promo'])),
    ab: [ri(0, 9), ri(0, 9), chance(0.5)],
    app_version: `${ri(1, 5)}.${ri(0, 20)}.${ri(0, 99)}`,
  };
  // Keys that vary between files.
  if (fileIdx % 4 === 1) { r.experiment_id = 'exp-' + ri(1, 40); r.variant = pick(['control', 'A', 'B']); }
  if (fileIdx % 5 === 2) { r.utm_source = pick(['google', 'newsletter', 'twitter']); r.utm_medium = pick(['cpc', 'email', 'social']); r.utm_campaign = chance(0.5) ? null : 'spring-' + ri(2020, 2024); }
  if (fileIdx % 3 === 0 && fileIdx > 0) { r.device = { os: pick(['iOS', 'Android', 'Windows', 'macOS', 'Linux']), mem_gb: pick([2, 4, 8, 16]), gpu: chance(0.5) ? null : 'gpu-' + hex(4) }; }
  if (fileIdx >= 15) { r.schema_v = 2; r.geo_accuracy_m = raw(fixed(rf() * 1000, 1)); }
  if (fileIdx === 7 && chance(0.01)) r.rare_flag = true;   // sparse key
  if (chance(0.05)) delete r.referrer;                        // absent key (vs null)
  if (isLastOfBatch) r.late_key = 'first seen on the very last line';
  // Padding up to ~1 KB.
  const base = ser(r).length;
  const want = ri(900, 1150);
  r.padding = want > base + 14 ? words(want - base - 14) : '';
  return ser(r);
}

// ---------------------------------------------------------------- wide
const WIDE_KEYS = [];
for (let i = 0; i < 160; i++) WIDE_KEYS.push(`attr_${String(i).padStart(3, '0')}_${['s', 'i', 'f', 'b', 'n', 'e'][i % 6]}`);
function wideRecord(fileIdx, recIdx, seq) {
  let s = '{"id":' + seq + ',"ts":"' + isoTs(T0 + seq * 13) + '"';
  // Files 0-9 use keys 0..139, files 10-19 use keys 20..159; about 90% present.
  const lo = fileIdx < 10 ? 0 : 20, hi = lo + 140;
  for (let k = lo; k < hi; k++) {
    if (!chance(0.9)) continue;
    const key = WIDE_KEYS[k];
    let v;
    switch (k % 6) {
      case 0: v = JSON.stringify(pick(WORDS) + '_' + ri(0, 99)); break;
      case 1: v = String(ri(-100000, 1000000)); break;
      case 2: v = fixed(rf() * 1000 - 500, ri(1, 4)); break;
      case 3: v = chance(0.5) ? 'true' : 'false'; break;
      case 4: v = chance(0.6) ? 'null' : String(ri(0, 9)); break;
      default: v = chance(0.8) ? JSON.stringify(pick(['red', 'green', 'blue', 'cyan', 'magenta'])) : '{"k":' + ri(0, 9) + ',"a":[1,2]}';
    }
    s += ',"' + key + '":' + v;
  }
  return s + '}';
}

// ---------------------------------------------------------------- longstr
function longText(n) {
  // Mostly words, with some random tokens and an occasional escape, so the
  // text compresses about like real log / HTML bodies do.
  let s = '';
  while (s.length < n) {
    const r = rnd() & 15;
    if (r === 0) s += ' ' + alnum(ri(8, 32));
    else if (r === 1) s += '\n';
    else if (r === 2) s += ' "q"';
    else s += ' ' + pick(WORDS);
  }
  return s.slice(0, n);
}
function longstrRecord(fileIdx, recIdx, seq) {
  const r = {
    id: seq,
    ts: isoTs(T0 + seq * 97),
    kind: pick(['html', 'log', 'trace', 'mail']),
    body: longText(ri(1024, 20480)),
    headers: longText(ri(1024, 4096)),
    ok: chance(0.9),
  };
  if (chance(0.5)) r.stack = longText(ri(1024, 16384));
  if (chance(0.3)) r.note = null;
  return ser(r);
}

// ---------------------------------------------------------------- main
const GEN = { events: eventRecord, wide: wideRecord, longstr: longstrRecord }[set];
const perFile = Math.max(1, Math.round(MB * 1e6 / NFILES));
const tmp = `${outDir}.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(tmp, { recursive: true });
const files = [];
let totalBytes = 0, totalLines = 0, seq = 0;
const t0 = Date.now();
for (let f = 0; f < NFILES; f++) {
  const name = `${set}-${String(f).padStart(2, '0')}.ndjson`;
  const fd = fs.openSync(path.join(tmp, name), 'w');
  let bytes = 0, lines = 0, chunk = [], chunkLen = 0;
  while (bytes < perFile) {
    const last = f === NFILES - 1;
    // For events, the last record of the batch gets a unique key; we know it is
    // the last one when it is the record that crosses the size target.
    let line = GEN(f, lines, seq, false);
    if (set === 'events' && last && bytes + Buffer.byteLength(line) + 1 >= perFile) {
      line = GEN(f, lines, seq, true);
    }
    line += '\n';
    const n = Buffer.byteLength(line);
    bytes += n; lines++; seq++;
    chunk.push(line); chunkLen += n;
    if (chunkLen >= 1 << 20) { fs.writeSync(fd, chunk.join('')); chunk = []; chunkLen = 0; }
  }
  if (chunk.length) fs.writeSync(fd, chunk.join(''));
  fs.closeSync(fd);
  files.push({ name, bytes, lines });
  totalBytes += bytes; totalLines += lines;
}
const meta = { set, mb: MB, files: files.map((x) => x.name), per_file: files, bytes: totalBytes, lines: totalLines, generator: 'bench/gen.mjs', seed: SEEDS[set] };
fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
fs.rmSync(outDir, { recursive: true, force: true });
fs.renameSync(tmp, outDir);
console.error(`gen: ${set}: ${NFILES} files, ${(totalBytes / 1e6).toFixed(1)} MB, ${totalLines} lines in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${outDir}`);
