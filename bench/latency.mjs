#!/usr/bin/env node
// End-to-end latency for bench/run.sh (issue #4 "Must show 4", issue #6 item 5).
//
//   node bench/latency.mjs HOME SERVICE_PID SERVICE_LOG DATA_DIR OUT.json
//
// run.sh starts `ndpq run` (the service, not --once) on the fresh NDPQ_HOME
// HOME with MAX_FILES_PER_MANIFEST=10, and stops it afterwards (SIGTERM, with
// a trap for every way out). This script lands the files and measures.
//
// Each round lands a new batch of 10 files of about 10 MB each (the events set
// of gen.mjs, in DATA_DIR), named lat-DATE-rR-fNN.ndjson so each round has fresh
// keys for today. Untimed: every file is written under a dot-temp name in
// buckets/input/ (ignored by the watcher) and fsynced, so no writeback lands in
// the timed window; 9 are renamed into place and the service has tracked them
// (checked with sqlite3), then the service is left idle for a moment.
// Timed: from just before the 10th file's rename to the first non-hidden
// .parquet of the batch being visible in buckets/output/merged-parquet-DATE/
// (readdir every 2 ms; ndpq writes parts under hidden names and renames them at
// the end of the job, so this is the moment a reader can see the data). The
// tracking store's commit (UpdateStatusCompleted) comes a little later and is
// reported too, from the execution history's microsecond timestamps, with the
// steps in between (tracked, batch closed, job started, job exited).
//
// Every round is checked before its number counts: the batch holds exactly
// the round's 10 files, ends completed after one attempt, and its job report
// says status ok, records = the files' lines, no corrupt record.
//
// Environment: BENCH_LATENCY_ROUNDS (5), BENCH_LATENCY_TIMEOUT_S (120).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const [home, pidArg, serviceLog, dataDir, outPath] = process.argv.slice(2);
if (!outPath) { console.error('usage: node bench/latency.mjs HOME SERVICE_PID SERVICE_LOG DATA_DIR OUT.json'); process.exit(2); }
const env = process.env;
const ROUNDS = Number(env.BENCH_LATENCY_ROUNDS || 5);
const TIMEOUT_MS = Number(env.BENCH_LATENCY_TIMEOUT_S || 120) * 1000;
const FILES = 10;
const TARGET_S = 1;
const POLL_MS = 2;
const pid = Number(pidArg);
const db = path.join(home, 'state.db');
const input = path.join(home, 'buckets', 'input');

const log = (m) => console.error(`bench: ${m}`);
function die(m) {
  console.error(`bench: ${m}`);
  try { console.error(`bench: last lines of the service log ${serviceLog}:\n${fs.readFileSync(serviceLog, 'utf8').trim().split('\n').slice(-15).join('\n')}`); } catch { /* none */ }
  process.exit(1);
}
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) die('BENCH_LATENCY_ROUNDS must be a positive integer');

const sab = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(sab, 0, 0, ms);
const nowMs = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms
const median = (xs) => { const a = [...xs].sort((x, y) => x - y); const n = a.length; return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2; };

function alive() {
  try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}
function sql(q) {
  const out = execFileSync('sqlite3', ['-readonly', '-json', db, q], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
}
const esc = (s) => s.replaceAll("'", "''");
function waitFor(what, fn, ms = TIMEOUT_MS, every = 20) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (!alive()) die(`the service (pid ${pid}) died while waiting for ${what}`);
    if (Date.now() > end) die(`timed out after ${ms / 1000} s waiting for ${what}`);
    sleep(every);
  }
}

// Source data: 10 files of about 10 MB.
const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'meta.json'), 'utf8'));
const src = meta.per_file.slice(0, FILES);
if (src.length !== FILES) die(`${dataDir} has ${src.length} files, need ${FILES}`);
for (const f of src) fs.readFileSync(path.join(dataDir, f.name)); // page cache
const linesIn = src.reduce((a, f) => a + f.lines, 0);
const bytesIn = src.reduce((a, f) => a + f.bytes, 0);

waitFor('the service to start (its "ndpq run: home" log line)', () => {
  try { return /INFO .*ndpq run: home /.test(fs.readFileSync(serviceLog, 'utf8')); } catch { return false; }
}, 30000);

const loadStart = os.loadavg()[0];
const rounds = [];
for (let r = 1; r <= ROUNDS; r++) {
  const today = new Date().toISOString().slice(0, 10);
  const names = src.map((_, i) => `lat-${today}-r${r}-f${String(i).padStart(2, '0')}.ndjson`);
  const tmps = names.map((n) => path.join(input, `.${n}.tmp`));
  // Untimed: write every file under its dot-temp name and fsync it.
  for (let i = 0; i < FILES; i++) {
    fs.copyFileSync(path.join(dataDir, src[i].name), tmps[i]);
    const fd = fs.openSync(tmps[i], 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  for (let i = 0; i < FILES - 1; i++) fs.renameSync(tmps[i], path.join(input, names[i]));
  const like = `lat-${today}-r${r}-%`;
  waitFor(`the service to track the first ${FILES - 1} files of round ${r}`,
    () => sql(`SELECT count(*) AS n FROM files WHERE key LIKE '${like}' AND status='pending'`)[0].n === FILES - 1);
  sleep(300); // let the service go back to waiting

  const outDir = path.join(home, 'buckets', 'output', `merged-parquet-${today}`);
  const list = () => { try { return fs.readdirSync(outDir).filter((n) => n.endsWith('.parquet') && !n.startsWith('.')); } catch { return []; } };
  const before = new Set(list());

  // Timed: the 10th file lands.
  const t0 = nowMs();
  fs.renameSync(tmps[FILES - 1], path.join(input, names[FILES - 1]));
  let seen = null, t1 = 0;
  const end = t0 + TIMEOUT_MS;
  for (;;) {
    const fresh = list().filter((n) => !before.has(n));
    if (fresh.length) { t1 = nowMs(); seen = fresh; break; }
    if (nowMs() > end) die(`round ${r}: no Parquet in ${outDir} ${TIMEOUT_MS / 1000} s after the 10th file landed`);
    sleep(POLL_MS);
  }
  const visible = (t1 - t0) / 1000;

  // Untimed: the commit in the tracking store, the steps, the checks.
  const lastKey = names[FILES - 1];
  const [{ batch_id: batch }] = waitFor(`round ${r}'s batch`, () => {
    const rows = sql(`SELECT batch_id FROM files WHERE key='${esc(lastKey)}' AND batch_id IS NOT NULL`);
    return rows.length ? rows : null;
  });
  const [b] = waitFor(`batch ${batch} to finish`, () => {
    const rows = sql(`SELECT * FROM batches WHERE batch_id='${esc(batch)}' AND status IN ('completed','failed')`);
    return rows.length ? rows : null;
  });
  const bad = [];
  if (b.status !== 'completed') bad.push(`batch ${batch} is ${b.status}: ${b.error}`);
  if (b.attempts > 1) bad.push(`batch ${batch} took ${b.attempts} attempts`);
  const files = sql(`SELECT key, status, created_us FROM files WHERE batch_id='${esc(batch)}' ORDER BY key`);
  if (files.length !== FILES || files.some((f, i) => f.key !== names[i] || f.status !== 'completed')) {
    bad.push(`batch ${batch} holds ${files.map((f) => `${f.key}:${f.status}`).join(', ')}; expected exactly round ${r}'s ${FILES} files, completed`);
  }
  if (!seen.every((n) => n.startsWith(batch))) bad.push(`new Parquet ${seen.join(', ')} is not batch ${batch}'s`);
  const reportPath = path.join(home, 'jobs', `${batch}-attempt1.json`);
  let rep = null;
  try { rep = JSON.parse(fs.readFileSync(reportPath, 'utf8')); } catch (e) { bad.push(`job report ${reportPath}: ${e.message}`); }
  if (rep && (rep.status !== 'ok' || rep.records !== linesIn || rep.corrupt_records !== 0)) {
    bad.push(`job report: status ${rep.status}, records ${rep.records} (expected ${linesIn}), corrupt ${rep.corrupt_records}`);
  }
  if (rep && rep.parts?.some((p) => !fs.existsSync(p.path))) bad.push('a part named in the job report is missing');
  if (bad.length) die(`round ${r} failed its check; no numbers reported:\n  ${bad.join('\n  ')}`);

  // Steps, all on the same wall clock as t0 (ms since the epoch).
  const hist = sql(`SELECT ts_us, state, event FROM history WHERE batch_id='${esc(batch)}' ORDER BY id`);
  const at = (state, event) => { const h = hist.find((x) => x.state === state && x.event === event); return h ? h.ts_us / 1000 : null; };
  const rel = (ms) => (ms === null ? null : (ms - t0) / 1000);
  const tracked = files.find((f) => f.key === lastKey).created_us / 1000;
  const partCtime = Math.min(...seen.map((n) => Number(fs.statSync(path.join(outDir, n), { bigint: true }).ctimeNs) / 1e6));
  const steps = {
    tracked_s: rel(tracked),                                   // the 10th file's row inserted
    batch_closed_s: rel(b.created_us / 1000),                  // the full batch claimed
    job_started_s: rel(at('RunJob', 'entered')),              // ndpq convert --manifest spawned
    parquet_renamed_s: rel(partCtime),                         // the part's rename (its ctime; kernel tick resolution)
    parquet_visible_s: visible,                                // seen by the poller
    job_exited_s: rel(at('RunJob', 'exited')),                 // the service reaped the job
    committed_s: rel(at('UpdateStatusCompleted', 'exited')),   // batch + files completed in state.db
  };
  const round = { round: r, batch_id: batch, seconds: visible, committed_seconds: steps.committed_s, job_seconds: rep.seconds, parts: seen.length, steps };
  rounds.push(round);
  const f3 = (x) => (x === null ? '-' : x.toFixed(3));
  const ms = (x) => (x === null ? '-' : (x * 1000).toFixed(1));
  log(`latency  round ${r}  ${f3(visible)} s to Parquet visible, ${f3(steps.committed_s)} s to committed  ` +
    `(ms after the rename: tracked ${ms(steps.tracked_s)}, batch ${ms(steps.batch_closed_s)}, job start ${ms(steps.job_started_s)}; ` +
    `convert ${f3(rep.seconds)} s in the job)  checked`);
}

const pick = (k) => rounds.map((x) => x.steps[k]).filter((v) => v !== null);
const result = {
  rounds: ROUNDS,
  files_per_batch: FILES,
  bytes_per_batch: bytesIn,
  lines_per_batch: linesIn,
  target_seconds: TARGET_S,
  poll_ms: POLL_MS,
  load: { start: loadStart, end: os.loadavg()[0] },
  seconds_all: rounds.map((x) => x.seconds),
  seconds_median: median(rounds.map((x) => x.seconds)),
  committed_seconds_all: rounds.map((x) => x.committed_seconds),
  committed_seconds_median: median(pick('committed_s')),
  steps_median: Object.fromEntries(Object.keys(rounds[0].steps).map((k) => [k, pick(k).length ? median(pick(k)) : null])),
  job_seconds_median: median(rounds.map((x) => x.job_seconds)),
  meets_target: median(rounds.map((x) => x.seconds)) < TARGET_S,
  method: `ndpq run (the service) on a fresh NDPQ_HOME, MAX_FILES_PER_MANIFEST=10; per round, ${FILES} new files of ~10 MB ` +
    `(gen.mjs events) written under dot-temp names and fsynced, 9 renamed into buckets/input/ and tracked, then the 10th renamed. ` +
    `Latency = 10th rename to the batch's first non-hidden .parquet in buckets/output/merged-parquet-DATE/ (readdir every ${POLL_MS} ms). ` +
    `committed = to UpdateStatusCompleted exited in the execution history. Each round's batch, statuses and job report are checked.`,
  per_round: rounds,
};
fs.writeFileSync(outPath, JSON.stringify(result, null, 2) + '\n');
