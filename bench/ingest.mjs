#!/usr/bin/env node
// Ingest throughput for bench/run.sh (issue #3 "Must show 3", issue #6 item 4).
//
//   node bench/ingest.mjs OUT.json
//
// N object-created events (default 100,000), as S3 notifications inside Lambda
// SQS events (10 messages per SQS event, the original's batch size; one object
// per notification), go through `ndpq ingest EVENTS_FILE` into a fresh NDPQ_HOME
// (new state.db, SQLite in WAL mode) for every run. The timed span is the whole
// process: reading and parsing the events, stat of every object, tracking
// inserts with their commits, the batching transactions, writing every manifest
// and the invocation report.
//
// The N objects must exist (ingest stats each one). They are made once, untimed,
// in build/bench-data/ingest-N-DATE/input/ and reused: every fresh home's
// buckets/input is a symlink to that directory (ndpq resolves the bucket's real
// path, so the objects stay inside it). DATE is today's UTC date and is in every
// key, so the batching follows the production path for today: full batches only.
//
// Before a run's numbers count, the state is checked with the sqlite3 CLI (not
// with ndpq): N files tracked, every one of them manifested, N/MAX batches of
// exactly MAX files with one execution each, N/MAX manifest files on disk
// listing N distinct objects, and an ingest summary with N processed and no error.
// Any failure exits 1 and reports no number.
//
// Environment (set by run.sh): NDPQ, BENCH_INGEST_EVENTS (100000),
// BENCH_INGEST_MAX ("200 10"), BENCH_INGEST_REPEAT ("3 1": runs per MAX value,
// or one count for all), BENCH_DATA_ROOT, BENCH_OUT.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawnSync, execFileSync } from 'node:child_process';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const env = process.env;
const NDPQ = env.NDPQ || path.join(ROOT, 'build', 'ndpq');
const N = Number(env.BENCH_INGEST_EVENTS || 100000);
const MAXES = (env.BENCH_INGEST_MAX || '200 10').split(/\s+/).filter(Boolean).map(Number);
// Runs per MAX value: one count for each (default 3 for the production 200, 1
// for the default 10, whose 10,000 fsynced manifests make it slow), or one
// count for all.
const REPEATS = (env.BENCH_INGEST_REPEAT || '3 1').split(/\s+/).filter(Boolean).map(Number);
const repeatOf = (i) => (REPEATS.length === 1 ? REPEATS[0] : REPEATS[i]);
const DATA_ROOT = env.BENCH_DATA_ROOT || path.join(ROOT, 'build', 'bench-data');
const OUT = env.BENCH_OUT || path.join(ROOT, 'build', 'bench');
const MSGS_PER_SQS_EVENT = 10;
const TARGET_EVENTS_PER_S = 50000;
const outPath = process.argv[2] || path.join(OUT, 'ingest.json');

const log = (m) => console.error(`bench: ${m}`);
const die = (m) => { console.error(`bench: ${m}`); process.exit(1); };

if (!Number.isInteger(N) || N < MSGS_PER_SQS_EVENT || N % MSGS_PER_SQS_EVENT) die(`BENCH_INGEST_EVENTS must be a multiple of ${MSGS_PER_SQS_EVENT}, got ${env.BENCH_INGEST_EVENTS}`);
if (!MAXES.length || MAXES.some((m) => !Number.isInteger(m) || m < 1 || N % m)) die(`BENCH_INGEST_MAX must be batch sizes that divide ${N}, got '${env.BENCH_INGEST_MAX}'`);
if (!REPEATS.length || REPEATS.some((r) => !Number.isInteger(r) || r < 1) || (REPEATS.length !== 1 && REPEATS.length !== MAXES.length)) {
  die(`BENCH_INGEST_REPEAT must be one positive count, or one for each of BENCH_INGEST_MAX '${MAXES.join(' ')}'; got '${env.BENCH_INGEST_REPEAT}'`);
}
try { execFileSync('sqlite3', ['-version'], { stdio: 'ignore' }); } catch { die('sqlite3 (the CLI) is missing; run scripts/setup.sh'); }

// ------------------------------------------------------------------ data
const today = new Date().toISOString().slice(0, 10);
const DATA = path.join(DATA_ROOT, `ingest-${N}-${today}`);
const INPUT = path.join(DATA, 'input');
const EVENTS = path.join(DATA, 'events.ndjson');
const HOURS = 24;

// S3 form-encodes keys in notifications: '=' is %3D (ndpq must decode it).
const keyOf = (i) => {
  const h = String(i % HOURS).padStart(2, '0');
  return { dir: `events/dt=${today}/hour=${h}`, name: `app-${today}-${String(i).padStart(7, '0')}.ndjson` };
};
const formEncode = (k) => encodeURIComponent(k).replace(/%2F/g, '/').replace(/%20/g, '+');

function s3Notification(key, size, i) {
  const t = new Date(Date.parse(`${today}T00:00:00Z`) + i * 10).toISOString();
  return {
    Records: [{
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: t,
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AWS:AROAEXAMPLEROLEID:producer' },
      requestParameters: { sourceIPAddress: '10.0.3.17' },
      responseElements: { 'x-amz-request-id': `C3D13FE58DE4${String(i).padStart(8, '0')}`, 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'ndjson-upload',
        bucket: { name: 'input', ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: 'arn:aws:s3:::input' },
        object: { key: formEncode(key), size, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: (0x0055AED6DCD90281E5n + BigInt(i)).toString(16).toUpperCase() },
      },
    }],
  };
}

function sqsMessage(body, i) {
  const id = `${String(i).padStart(8, '0')}-5a2f-4c1e-9d3b-7f0e6a1b2c3d`;
  return {
    messageId: id,
    receiptHandle: `AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a/${Buffer.from(id).toString('base64')}Xp0zGEuT5rzxHwS7WfGJaDYmCSeU0klzlJqqYq8EL3m7oHQd3qhlS1J6K8PuWJ5r0lQmV2mLcZ/PX0dOb+9PwJ+ZZvmPxWmAk3rpbFJ`,
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1749988800000', SenderId: 'AIDAIENQZJOLO23YVJ4VO', ApproximateFirstReceiveTimestamp: '1749988800001' },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:ndjson-events',
    awsRegion: 'us-east-1',
  };
}

// Nothing is deleted before or between the timed runs: old homes and data
// go to TRASH, emptied after the last run. On ext4 without a journal (these
// machines' root) every file created skips the inodes freed in the last
// 60-360 s (recently_deleted), so removing 10,000 manifests just before a
// run made that run's creates scan past them: up to a third of its time,
// spent on the harness's deletions, not on ndpq's work.
const TRASH = path.join(OUT, 'ingest', 'trash');
function toTrash(p) {
  if (!fs.existsSync(p)) return;
  fs.mkdirSync(TRASH, { recursive: true });
  try {
    fs.renameSync(p, path.join(TRASH, `${path.basename(p)}-${process.pid}-${Date.now()}`));
  } catch (e) {
    if (e.code !== 'EXDEV') throw e;
    fs.rmSync(p, { recursive: true, force: true }); // BENCH_DATA_ROOT on another file system
  }
}

function prepare() {
  if (fs.existsSync(path.join(DATA, 'meta.json'))) return JSON.parse(fs.readFileSync(path.join(DATA, 'meta.json'), 'utf8'));
  // Yesterday's copy (other dates) is useless now: drop it, it is N small files.
  for (const d of fs.readdirSync(DATA_ROOT, { withFileTypes: true })) {
    if (d.isDirectory() && d.name.startsWith(`ingest-${N}-`) && d.name !== path.basename(DATA)) toTrash(path.join(DATA_ROOT, d.name));
  }
  log(`making ${N} objects and their events in ${DATA} (untimed, once a day)`);
  const t0 = Date.now();
  toTrash(DATA);
  for (let h = 0; h < HOURS; h++) fs.mkdirSync(path.join(INPUT, keyOf(h).dir), { recursive: true });
  const fd = fs.openSync(EVENTS + '.tmp', 'w');
  let msgs = [], bytes = 0, docs = 0;
  for (let i = 0; i < N; i++) {
    const { dir, name } = keyOf(i);
    const key = `${dir}/${name}`;
    const body = `{"event_id":${i},"event_type":"page_view","ts":"${today}T12:00:00Z"}\n`;
    fs.writeFileSync(path.join(INPUT, key), body);
    msgs.push(sqsMessage(s3Notification(key, Buffer.byteLength(body), i), i));
    if (msgs.length === MSGS_PER_SQS_EVENT) {
      const line = JSON.stringify({ Records: msgs }) + '\n';
      fs.writeSync(fd, line);
      bytes += Buffer.byteLength(line);
      docs++;
      msgs = [];
    }
  }
  fs.closeSync(fd);
  fs.renameSync(EVENTS + '.tmp', EVENTS);
  const meta = { date: today, events: N, sqs_events: docs, messages_per_sqs_event: MSGS_PER_SQS_EVENT, events_file_bytes: bytes };
  fs.writeFileSync(path.join(DATA, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  log(`made ${N} objects, ${docs} SQS events (${(bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return meta;
}

// ------------------------------------------------------------------ one run
const nowMs = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms

// Log lines start with 2025-06-15T12:00:00.123Z; returns ms since the epoch.
const logTime = (line) => Date.parse(line.slice(0, 24));

function sql(db, q) {
  const out = execFileSync('sqlite3', ['-readonly', '-json', db, q], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
}

function check(home, max, summary) {
  const db = path.join(home, 'state.db');
  const bad = [];
  const expectBatches = N / max;
  if (summary.processed !== N) bad.push(`summary.processed ${summary.processed}, expected ${N}`);
  for (const k of ['quarantined', 'duplicates', 'ignored']) if (summary[k] !== 0) bad.push(`summary.${k} ${summary[k]}, expected 0`);
  if (summary.errors?.length) bad.push(`${summary.errors.length} error(s), first: ${JSON.stringify(summary.errors[0])}`);
  if (summary.batchItemFailures?.length) bad.push(`${summary.batchItemFailures.length} batchItemFailures`);
  if (summary.manifests?.length !== expectBatches) bad.push(`summary lists ${summary.manifests?.length} manifests, expected ${expectBatches}`);
  const [f] = sql(db, "SELECT count(*) AS n, count(DISTINCT key) AS keys, sum(status='manifested') AS manifested, " +
    'count(DISTINCT batch_id) AS batches, sum(batch_id IS NULL) AS unbatched, ' +
    `sum(date_prefix='${today}') AS dated FROM files`);
  if (f.n !== N || f.keys !== N) bad.push(`state.db tracks ${f.n} files (${f.keys} keys), expected ${N}`);
  if (f.manifested !== N || f.unbatched !== 0) bad.push(`${f.manifested} files manifested, ${f.unbatched} in no batch, expected ${N} and 0`);
  if (f.dated !== N) bad.push(`${f.dated} files dated ${today}, expected ${N}`);
  const [b] = sql(db, 'SELECT count(*) AS n, min(file_count) AS lo, max(file_count) AS hi, sum(file_count) AS files, ' +
    "sum(manifest_written) AS written, sum(close_reason='full') AS full FROM batches");
  if (b.n !== expectBatches || f.batches !== expectBatches) bad.push(`${b.n} batches (${f.batches} in files), expected ${expectBatches}`);
  if (b.lo !== max || b.hi !== max || b.files !== N) bad.push(`batch sizes ${b.lo}..${b.hi} (sum ${b.files}), expected all ${max}`);
  if (b.written !== expectBatches || b.full !== expectBatches) bad.push(`${b.written} manifests written, ${b.full} closed full, expected ${expectBatches}`);
  const [x] = sql(db, "SELECT count(*) AS n, sum(input IS NOT NULL) AS with_input FROM executions");
  if (x.n !== expectBatches || x.with_input !== expectBatches) bad.push(`${x.n} executions (${x.with_input} with input), expected ${expectBatches}`);
  // The manifests on disk: one per batch, listing every object once.
  const mdir = path.join(home, 'buckets', 'manifests', 'manifests', today);
  const names = fs.existsSync(mdir) ? fs.readdirSync(mdir).filter((n) => n.endsWith('.json') && !n.startsWith('.')) : [];
  if (names.length !== expectBatches) bad.push(`${names.length} manifest files in ${mdir}, expected ${expectBatches}`);
  const uris = new Set();
  let listed = 0;
  for (const n of names) {
    const m = JSON.parse(fs.readFileSync(path.join(mdir, n), 'utf8'));
    for (const u of m.fileLocations[0].URIPrefixes) { uris.add(u); listed++; }
  }
  if (listed !== N || uris.size !== N) bad.push(`manifests list ${listed} URIs (${uris.size} distinct), expected ${N}`);
  return bad;
}

function runOnce(max, rep) {
  const home = path.join(OUT, 'ingest', `home-max${max}-run${rep}`);
  fs.mkdirSync(path.join(home, 'buckets'), { recursive: true });
  fs.symlinkSync(INPUT, path.join(home, 'buckets', 'input'));
  const so = path.join(OUT, 'ingest', `max${max}.stdout`), se = path.join(OUT, 'ingest', `max${max}.stderr`);
  const tf = path.join(OUT, 'ingest', 'time.txt');
  const childEnv = { ...env, NDPQ_HOME: home, MAX_FILES_PER_MANIFEST: String(max), LOG_LEVEL: 'info' };
  for (const k of ['TRACKING_TABLE', 'INPUT_BUCKET', 'MANIFEST_BUCKET', 'OUTPUT_BUCKET', 'QUARANTINE_BUCKET', 'QUARANTINE_MODE',
    'ALLOWED_EXTENSIONS', 'MIN_FILES_FOR_PARTIAL_BATCH', 'EXPECTED_FILE_SIZE_MB', 'MAX_BATCH_BYTES', 'MAX_BATCH_WAIT_SECONDS', 'NDPQ_FAKE_NOW']) delete childEnv[k];
  const ofd = fs.openSync(so, 'w'), efd = fs.openSync(se, 'w');
  const t0 = nowMs();
  const h0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', tf, NDPQ, 'ingest', EVENTS], { env: childEnv, stdio: ['ignore', ofd, efd] });
  const secs = Number(process.hrtime.bigint() - h0) / 1e9;
  fs.closeSync(ofd); fs.closeSync(efd);
  const stderr = fs.readFileSync(se, 'utf8');
  if (r.status !== 0) die(`ndpq ingest exited ${r.status ?? r.signal} (MAX ${max}, run ${rep}):\n${stderr.split('\n').slice(-20).join('\n')}`);
  const rss = Number(fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ')[1]);
  let summary;
  try { summary = JSON.parse(fs.readFileSync(so, 'utf8')); } catch { die(`ndpq ingest printed no JSON summary (MAX ${max})`); }
  const bad = check(home, max, summary);
  if (bad.length) die(`ingest output failed its check (MAX ${max}, run ${rep}); no numbers reported:\n  ${bad.join('\n  ')}`);

  // Phases, from the INFO lines' millisecond timestamps: "read" ends with
  // the line that says the events file was read to its end (every event
  // tracked, and the full batches formed on the way, committed every 10,000 files),
  // "settle" is the rest (the last commit, the last claims, the manifests
  // still to write).
  const lines = stderr.split('\n');
  const readEnd = lines.find((l) => / INFO .*\] ingest: .* read to its end/.test(l));
  const firstBatch = lines.find((l) => / INFO .*\] batch batch-/.test(l));
  const last = lines.find((l) => / INFO .*\] ingest: \d+ processed/.test(l));
  const unexpected = lines.filter((l) => / (WARN|ERROR) /.test(l));
  if (unexpected.length) die(`ndpq ingest logged warnings or errors (MAX ${max}):\n${unexpected.slice(0, 5).join('\n')}`);
  let phases = null;
  if (readEnd && firstBatch && last) {
    const tr = logTime(readEnd), tb = logTime(firstBatch), te = logTime(last);
    phases = { read_s: (tr - t0) / 1000, settle_s: (te - tr) / 1000, first_batch_s: (tb - t0) / 1000, exit_s: secs - (te - t0) / 1000 };
  }
  const res = { max, rep, seconds: secs, events_per_s: N / secs, rss_kib: rss, phases };
  log(`ingest   MAX=${String(max).padEnd(4)} rep=${rep}  ${secs.toFixed(3)} s  ${Math.round(N / secs)} events/s  ${rss} KiB` +
    (phases ? `  (read ${phases.read_s.toFixed(3)} s, settle ${phases.settle_s.toFixed(3)} s, first batch at ${phases.first_batch_s.toFixed(3)} s)` : '') + '  checked');
  return res;
}

// ------------------------------------------------------------------ main
function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

fs.mkdirSync(path.join(OUT, 'ingest'), { recursive: true });
fs.mkdirSync(DATA_ROOT, { recursive: true });
// The last bench's homes (kept for a look) go now; see TRASH.
for (const d of fs.readdirSync(path.join(OUT, 'ingest'))) if (d.startsWith('home-')) toTrash(path.join(OUT, 'ingest', d));
const meta = prepare();
// Warm the page cache (the events file and the objects' inodes), untimed.
fs.readFileSync(EVENTS);
spawnSync('find', [INPUT, '-type', 'f'], { stdio: 'ignore' });

const loadStart = os.loadavg()[0];
const runs = [];
const maxRep = Math.max(...MAXES.map((_, i) => repeatOf(i)));
for (let rep = 1; rep <= maxRep; rep++) {
  // Alternate which batch size goes first, so drifting load hits both alike.
  const order = rep % 2 ? MAXES : [...MAXES].reverse();
  for (const max of order) if (rep <= repeatOf(MAXES.indexOf(max))) runs.push(runOnce(max, rep));
}
const results = MAXES.map((max) => {
  const rs = runs.filter((r) => r.max === max);
  const secs = median(rs.map((r) => r.seconds));
  const ph = rs.every((r) => r.phases) ? Object.fromEntries(['read_s', 'settle_s', 'first_batch_s', 'exit_s'].map((k) => [k, median(rs.map((r) => r.phases[k]))])) : null;
  return {
    max_files_per_manifest: max,
    batches: N / max,
    runs: rs.length,
    seconds_all: rs.map((r) => r.seconds),
    events_per_s_all: rs.map((r) => r.events_per_s),
    seconds_median: secs,
    events_per_s_median: N / secs,
    rss_kib_median: median(rs.map((r) => r.rss_kib)),
    phases_median: ph,
    read_events_per_s: ph ? N / ph.read_s : null,
    meets_target: N / secs >= TARGET_EVENTS_PER_S,
  };
});
const json = {
  events: N,
  sqs_events: meta.sqs_events,
  messages_per_sqs_event: MSGS_PER_SQS_EVENT,
  events_file_bytes: meta.events_file_bytes,
  date: today,
  load: { start: loadStart, end: os.loadavg()[0] },
  target_events_per_s: TARGET_EVENTS_PER_S,
  method: `build/ndpq ingest EVENTS_FILE, timed end to end (process start to exit) into a fresh NDPQ_HOME (new state.db, WAL) per run, nothing deleted before or between the runs; ` +
    `${N} S3 ObjectCreated notifications in ${meta.sqs_events} Lambda SQS events of ${MSGS_PER_SQS_EVENT} messages, one object each, ` +
    `all dated today (full batches only). Phases from the INFO log timestamps (ms): read = start to the line saying the events ` +
    `file was read to its end (parse, stat, tracking inserts and their commits, and the full batches formed as their files are tracked ` +
    `with their manifests written meanwhile), settle = the rest (last commit, last claims, manifests still to write); ` +
    `first batch = start to the first batch line. ` +
    `Every run is checked with sqlite3 and the manifests on disk.`,
  results,
  runs,
};
fs.writeFileSync(outPath, JSON.stringify(json, null, 2) + '\n');
fs.rmSync(TRASH, { recursive: true, force: true });
