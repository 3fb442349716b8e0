// Helpers for the end-to-end tests of `ndpq run` / `ndpq retry` / `ndpq status --batch`
// (tests/e2e/run-*.test.mjs) and for the crash harness (tests/crash/crash.mjs).
// Not a test file itself.
//
// The binary is ROOT/build/ndpq, or $NDPQ_BIN. Every sandbox is a fresh temporary NDPQ_HOME,
// removed afterwards unless NDPQ_KEEP_TMP=1. Background services started here are killed
// (whole process group, SIGKILL) when their test ends, and when this node process exits.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { fileUri } from './helpers.mjs'
import { spawnCollect } from './spawn.mjs'

export { fileUri }

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = process.env.NDPQ_BIN ? path.resolve(process.env.NDPQ_BIN) : path.join(ROOT, 'build/ndpq')

// DuckDB comes from the test readers' node_modules (tests/readers/).
const requireReaders = createRequire(path.join(ROOT, 'tests/readers/package.json'))
const { DuckDBInstance } = requireReaders('@duckdb/node-api')

/** Every setting ndpq reads from the environment: none may leak in from the caller. */
export const SETTINGS = [
  'NDPQ_HOME', 'TRACKING_TABLE', 'INPUT_BUCKET', 'MANIFEST_BUCKET', 'OUTPUT_BUCKET', 'QUARANTINE_BUCKET',
  'QUARANTINE_MODE', 'ALLOWED_EXTENSIONS', 'COMPRESSION_TYPE', 'LOG_LEVEL', 'MAX_FILES_PER_MANIFEST',
  'MIN_FILES_FOR_PARTIAL_BATCH', 'EXPECTED_FILE_SIZE_MB', 'SIZE_TOLERANCE_PERCENT', 'MAX_BATCH_BYTES',
  'MAX_BATCH_WAIT_SECONDS', 'JOB_RETRY_INTERVAL_SECONDS', 'JOB_BACKOFF_RATE', 'JOB_MAX_ATTEMPTS',
  'JOB_TIMEOUT_SECONDS', 'MAX_CONCURRENT_RUNS', 'FLUSH_INTERVAL_SECONDS', 'ALERT_WEBHOOK_URL', 'ALERT_COMMAND',
  'CONVERT_THREADS', 'NDPQ_FAKE_NOW',
]

/** The child environment: the caller's, minus every ndpq setting, plus `env` (undefined deletes). */
export function childEnv(env = {}) {
  const out = { ...process.env }
  for (const k of SETTINGS) delete out[k]
  Object.assign(out, env)
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k]
  return out
}

export const sleep = ms => new Promise(res => setTimeout(res, ms))

/** UTC calendar date YYYY-MM-DD, `days` days from now (real clock). */
export function utcDate(days = 0, base = Date.now()) {
  return new Date(base + days * 86400_000).toISOString().slice(0, 10)
}

/** Deterministic PRNG (mulberry32): returns a function giving floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---------------------------------------------------------------------------
// processes

const live = new Set()
function killAllLive() {
  for (const h of live) {
    try { process.kill(-h.pid, 'SIGKILL') } catch { /* gone */ }
    try { process.kill(h.pid, 'SIGKILL') } catch { /* gone */ }
  }
}
process.on('exit', killAllLive)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killAllLive(); process.exit(130) })
}

/**
 * Run ndpq to completion. Resolves to {code, signal, stdout, stderr, json, ms, args};
 * json is stdout parsed as JSON, or null. `env` is the complete ndpq environment.
 */
export function runNdpq(args, { env = {}, input, timeoutMs = 120_000, cwd } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`ndpq binary not found at ${BIN} (run make, or set NDPQ_BIN)`)
  return spawnCollect(BIN, args, { env: childEnv(env), cwd, timeoutMs, input })
}

export function describeRun(r) {
  const cut = s => (s.length > 4000 ? s.slice(0, 1500) + `\n…(${s.length} chars)…\n` + s.slice(-2000) : s)
  return `ndpq ${r.args.map(a => JSON.stringify(a)).join(' ')} → exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}` +
    ` after ${r.ms} ms\n--- stderr:\n${cut(r.stderr)}\n--- stdout:\n${cut(r.stdout)}`
}

export function assertExit(r, code) {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}\n${describeRun(r)}`)
}

/**
 * Start `ndpq run ARGS` in the background, in its own process group (so the service and its
 * jobs can be killed together). stderr goes to `logFile` when given, else is kept in memory
 * (h.log()). Returns a handle: {pid, child, exited (promise of {code, signal}), exit, log(),
 * kill(signal, {group}), stop({signal, timeoutMs})}.
 */
export function startService({ env = {}, args = [], logFile } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`ndpq binary not found at ${BIN} (run make, or set NDPQ_BIN)`)
  const errFd = logFile ? fs.openSync(logFile, 'a') : 'pipe'
  const child = spawn(BIN, ['run', ...args], {
    env: childEnv(env), stdio: ['ignore', logFile ? errFd : 'ignore', errFd], detached: true,
  })
  if (logFile) fs.closeSync(errFd)
  const chunks = []
  if (!logFile) child.stderr.on('data', d => chunks.push(d))
  const h = {
    pid: child.pid,
    child,
    exit: null,
    startedAt: Date.now(),
    log: () => (logFile ? fs.readFileSync(logFile, 'utf8') : Buffer.concat(chunks).toString('utf8')),
  }
  h.exited = new Promise(res => child.on('exit', (code, signal) => {
    live.delete(h)
    h.exit = { code, signal, at: Date.now() }
    res(h.exit)
  }))
  child.on('error', () => {})
  live.add(h)
  h.kill = (signal = 'SIGKILL', { group = false } = {}) => {
    try { process.kill(group ? -h.pid : h.pid, signal) } catch { /* already gone */ }
  }
  /** Send `signal` and wait for the exit; SIGKILL the group after timeoutMs. Returns {code, signal, ms}. */
  h.stop = async ({ signal = 'SIGTERM', timeoutMs = 10_000 } = {}) => {
    if (h.exit) return { ...h.exit, ms: 0 }
    const t0 = Date.now()
    h.kill(signal)
    let timer
    const timedOut = new Promise(res => { timer = setTimeout(() => res('timeout'), timeoutMs) })
    const r = await Promise.race([h.exited, timedOut])
    clearTimeout(timer)
    if (r === 'timeout') {
      h.kill('SIGKILL', { group: true })
      await h.exited
      return { code: null, signal: 'timeout', ms: Date.now() - t0 }
    }
    return { ...r, ms: Date.now() - t0 }
  }
  return h
}

/** PIDs of the direct children of `pid` (from /proc). */
export function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** The command line of a process, or null. */
export function cmdline(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) } catch { return null }
}

/** Poll `fn` (sync or async) until it returns a truthy value; returns it. Throws after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 15_000, intervalMs = 50, what = 'condition', detail } = {}) {
  const t0 = Date.now()
  let last
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() - t0 > timeoutMs) {
      const extra = detail ? `\n${typeof detail === 'function' ? detail() : detail}` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`)
    }
    await sleep(intervalMs)
  }
}

// ---------------------------------------------------------------------------
// tracking store

/** Rows of a query, via the sqlite3 CLI in JSON mode (waits on a busy database). */
export function sql(db, query) {
  const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 20000', db, query],
    { encoding: 'utf8', maxBuffer: 512 << 20 })
  return out.trim() ? JSON.parse(out) : []
}

// ---------------------------------------------------------------------------
// inputs

/**
 * Lines of an NDJSON file with `n` records, ids `${tag}-r${i}`; returns {lines, ids}.
 * `pad` adds that many bytes of filler per record.
 */
export function makeRecords(tag, n, { pad = 0 } = {}) {
  const lines = []
  const ids = []
  const filler = pad ? 'x'.repeat(pad) : undefined
  for (let i = 0; i < n; i++) {
    const id = `${tag}-r${i}`
    ids.push(id)
    const rec = { id, n: i, tag }
    if (filler) rec.pad = filler
    if (i % 3 === 0) rec.nested = { k: i, list: [1, 'two', null] }
    lines.push(JSON.stringify(rec))
  }
  return { lines, ids }
}

// ---------------------------------------------------------------------------
// the sandbox: one NDPQ_HOME with its buckets

/**
 * A fresh NDPQ_HOME. `t` is the node:test context (cleanup) or null (caller cleans up).
 * Returns {dir, home, db, env, bucket(name), input, output, put, putAtomic, run, sql, status,
 * batch, service, expected}. `expected` maps an input key to what it must produce:
 * {key, uri, date, ids, corrupt} (filled by put/putAtomic for valid inputs).
 */
export function sandbox(t, { fakeNow, env = {}, prefix = 'ndpq-run-' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  const home = path.join(dir, 'home')
  fs.mkdirSync(path.join(home, 'buckets', 'input'), { recursive: true })
  const services = []
  const sb = {
    dir,
    home,
    db: path.join(home, 'state.db'),
    env: { NDPQ_HOME: home, ...(fakeNow ? { NDPQ_FAKE_NOW: fakeNow } : {}), ...env },
    bucket: name => path.join(home, 'buckets', name),
    get input() { return path.join(home, 'buckets', 'input') },
    get output() { return path.join(home, 'buckets', 'output') },
    objectPath: (key, bucket = 'input') => path.join(home, 'buckets', bucket, key),
    uri: (key, bucket = 'input') => fileUri(path.join(home, 'buckets', bucket, key)),
    expected: new Map(),
    /**
     * Write an input object directly (open, write, close). content: array of lines (LF joined,
     * final LF), a string or a Buffer. With {ids, date} it is registered in sb.expected.
     */
    put(key, content, { ids, corrupt = [], date, bucket = 'input' } = {}) {
      const p = path.join(home, 'buckets', bucket, key)
      fs.mkdirSync(path.dirname(p), { recursive: true })
      const data = Array.isArray(content) ? content.join('\n') + '\n' : content
      fs.writeFileSync(p, data)
      const o = { key, path: p, size: fs.statSync(p).size, uri: fileUri(p), date, ids, corrupt, bucket }
      if (ids) sb.expected.set(key, o)
      return o
    },
    /** Like put, but written to a dot-temporary name in the same directory, then renamed into place. */
    putAtomic(key, content, opts = {}) {
      const p = path.join(home, 'buckets', opts.bucket ?? 'input', key)
      fs.mkdirSync(path.dirname(p), { recursive: true })
      const tmp = path.join(path.dirname(p), `.${path.basename(p)}.${process.pid}.tmp`)
      const data = Array.isArray(content) ? content.join('\n') + '\n' : content
      fs.writeFileSync(tmp, data)
      fs.renameSync(tmp, p)
      const o = { key, path: p, size: fs.statSync(p).size, uri: fileUri(p), date: opts.date, ids: opts.ids,
        corrupt: opts.corrupt ?? [], bucket: opts.bucket ?? 'input' }
      if (opts.ids) sb.expected.set(key, o)
      return o
    },
    /** A valid input of `n` records for `date`: key, ids registered. */
    putRecords(key, date, n, opts = {}) {
      const { lines, ids } = makeRecords(opts.tag ?? key.replace(/[^A-Za-z0-9]+/g, '_'), n, opts)
      return (opts.atomic ? sb.putAtomic : sb.put)(key, lines, { ids, date, bucket: opts.bucket })
    },
    run: (args, opts = {}) => runNdpq(args, { ...opts, env: { ...sb.env, ...(opts.env ?? {}) } }),
    sql: query => sql(path.join(home, 'state.db'), query),
    files: () => sql(path.join(home, 'state.db'), 'SELECT * FROM files ORDER BY key'),
    batches: () => sql(path.join(home, 'state.db'), 'SELECT * FROM batches ORDER BY seq'),
    executions: () => sql(path.join(home, 'state.db'), 'SELECT * FROM executions ORDER BY batch_id'),
    async status(args = []) {
      const r = await sb.run(['status', '--json', ...args])
      assertExit(r, 0)
      assert.ok(r.json, `status --json prints JSON\n${describeRun(r)}`)
      return r.json
    },
    /** `ndpq status --batch ID --json`. */
    async batch(id) {
      const r = await sb.run(['status', '--batch', id, '--json'])
      assertExit(r, 0)
      assert.ok(r.json, `status --batch --json prints JSON\n${describeRun(r)}`)
      return r.json
    },
    /** Start `ndpq run` (no --once) on this home; killed when the test ends. */
    service(opts = {}) {
      const h = startService({ ...opts, env: { ...sb.env, ...(opts.env ?? {}) } })
      services.push(h)
      return h
    },
    /** Kill every service of this sandbox (group SIGKILL) and wait for them. */
    async killServices() {
      for (const h of services) if (!h.exit) h.kill('SIGKILL', { group: true })
      await Promise.all(services.map(h => h.exited))
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
  if (t) {
    t.after(async () => {
      await sb.killServices()
      if (!process.env.NDPQ_KEEP_TMP) sb.cleanup()
      else console.error(`# kept ${dir}`)
    })
  }
  return sb
}

// ---------------------------------------------------------------------------
// outputs

/** Visible *.parquet files under OUTPUT/merged-parquet-DATE/ (sorted). */
export function outputParquet(outputDir) {
  const out = []
  if (!fs.existsSync(outputDir)) return out
  for (const d of fs.readdirSync(outputDir, { withFileTypes: true })) {
    if (!d.isDirectory() || !d.name.startsWith('merged-parquet-')) continue
    for (const f of fs.readdirSync(path.join(outputDir, d.name))) {
      if (f.endsWith('.parquet') && !f.startsWith('.')) out.push(path.join(outputDir, d.name, f))
    }
  }
  return out.sort()
}

/** Every file and directory under dir (absolute paths), recursively. */
export function walk(dir) {
  const out = []
  if (!fs.existsSync(dir)) return out
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    out.push(p)
    if (e.isDirectory()) out.push(...walk(p))
  }
  return out.sort()
}

/** Names under dir that start with '.' (temporary files left behind), recursively. */
export function hiddenUnder(dir) {
  return walk(dir).filter(p => path.basename(p).startsWith('.'))
}

let duck = null
async function duckdb() {
  if (!duck) {
    duck = (async () => {
      const instance = await DuckDBInstance.create(':memory:', { threads: '2' })
      return instance.connect()
    })()
  }
  return duck
}

const sqlStr = s => `'${s.replace(/'/g, "''")}'`

/**
 * Every row of every visible Parquet file under OUTPUT/merged-parquet-DATE/, read with DuckDB:
 * [{id, corrupt, source, file, dir}] (corrupt = _corrupt_record, source = _source_file,
 * file = the Parquet path, dir = its merged-parquet-DATE directory name).
 */
export async function readOutputRows(outputDir) {
  const files = outputParquet(outputDir)
  if (files.length === 0) return []
  const con = await duckdb()
  const list = '[' + files.map(sqlStr).join(',') + ']'
  const desc = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${list}, union_by_name=true)`)
  const cols = new Set(desc.getRows().map(r => r[0]))
  const pick = c => (cols.has(c) ? `"${c}"` : 'NULL')
  const r = await con.runAndReadAll(
    `SELECT ${pick('id')} AS id, ${pick('_corrupt_record')} AS corrupt, ${pick('_source_file')} AS source, ` +
    `filename AS file FROM read_parquet(${list}, union_by_name=true, filename=true)`)
  return r.getRowObjectsJson().map(o => ({ ...o, dir: path.basename(path.dirname(o.file)) }))
}

/**
 * Compare the output rows with the expected inputs (an iterable of {key, uri, date, ids, corrupt}):
 * every expected id exactly once and nothing else, in merged-parquet-DATE of its input, with
 * _source_file = its input's URI; corrupt lines (exact text) exactly once each, from their input.
 * Returns a list of problems (empty when all is well) and counts.
 */
export function diffOutput(rows, expectedInputs) {
  const want = new Map() // id → input
  const wantCorrupt = new Map() // `${uri}\n${text}` → count
  let nIds = 0
  for (const inp of expectedInputs) {
    for (const id of inp.ids) {
      if (want.has(id)) throw new Error(`test bug: id ${id} is used twice`)
      want.set(id, inp)
      nIds++
    }
    for (const c of inp.corrupt ?? []) {
      const k = `${inp.uri}\n${c}`
      wantCorrupt.set(k, (wantCorrupt.get(k) ?? 0) + 1)
    }
  }
  const seen = new Map()
  const problems = []
  const more = (list, msg) => { if (list.length < 25) list.push(msg) }
  let corruptRows = 0
  for (const row of rows) {
    if (row.id === null || row.id === undefined) {
      if (row.corrupt === null || row.corrupt === undefined) {
        more(problems, `row with neither id nor _corrupt_record in ${row.file}`)
        continue
      }
      corruptRows++
      const k = `${row.source}\n${row.corrupt}`
      const n = wantCorrupt.get(k)
      if (!n) more(problems, `unexpected or duplicated corrupt row ${JSON.stringify(row.corrupt)} from ${row.source} in ${row.file}`)
      else wantCorrupt.set(k, n - 1)
      continue
    }
    const inp = want.get(row.id)
    if (!inp) {
      more(problems, `unexpected id ${row.id} in ${row.file}`)
      continue
    }
    const c = (seen.get(row.id) ?? 0) + 1
    seen.set(row.id, c)
    if (c === 2) more(problems, `duplicate id ${row.id} (from ${inp.key}) in ${row.file}`)
    if (row.source !== inp.uri) more(problems, `id ${row.id}: _source_file ${row.source}, expected ${inp.uri}`)
    if (inp.date && row.dir !== `merged-parquet-${inp.date}`) {
      more(problems, `id ${row.id} of ${inp.key} is in ${row.dir}, expected merged-parquet-${inp.date}`)
    }
  }
  let missing = 0
  for (const [id, inp] of want) {
    if (!seen.has(id)) {
      missing++
      more(problems, `missing id ${id} (from ${inp.key})`)
    }
  }
  let dups = 0
  for (const c of seen.values()) if (c > 1) dups += c - 1
  for (const [k, n] of wantCorrupt) if (n > 0) more(problems, `missing corrupt line ${JSON.stringify(k.split('\n')[1])} of ${k.split('\n')[0]}`)
  if (missing) problems.push(`${missing} id(s) missing in all`)
  if (dups) problems.push(`${dups} duplicate row(s) in all`)
  return { problems, ids: nIds, rows: rows.length, corruptRows }
}

/** Assert the output holds exactly the records of `inputs`; returns the counts. */
export async function assertOutputExactly(outputDir, inputs, what = 'output') {
  const rows = await readOutputRows(outputDir)
  const d = diffOutput(rows, inputs)
  assert.deepEqual(d.problems, [], `${what}: ${d.problems.length} problem(s) reading ${outputParquet(outputDir).length} ` +
    `Parquet file(s) with DuckDB:\n  ${d.problems.join('\n  ')}`)
  return d
}

// ---------------------------------------------------------------------------
// manifests and history

/** Manifests on disk: [{key, path, uri, body, uris}]. */
export function readManifests(home, bucket = 'manifests') {
  const root = path.join(home, 'buckets', bucket)
  return walk(path.join(root, 'manifests'))
    .filter(p => p.endsWith('.json') && fs.statSync(p).isFile())
    .map(p => {
      const body = JSON.parse(fs.readFileSync(p, 'utf8'))
      return { key: path.relative(root, p), path: p, uri: fileUri(p), body, uris: body.fileLocations?.[0]?.URIPrefixes ?? [] }
    })
}

/**
 * No two batches share a file: every URI is listed by at most one manifest, and each
 * batch's files (tracking store) are exactly its manifest's URIs. Returns problems.
 */
export function checkNoSharedFiles(sb) {
  const problems = []
  const manifests = readManifests(sb.home)
  const owner = new Map()
  for (const m of manifests) {
    for (const u of m.uris) {
      if (owner.has(u)) problems.push(`${u} is in two manifests: ${owner.get(u)} and ${m.key}`)
      owner.set(u, m.key)
    }
  }
  const batches = sb.batches()
  const files = sb.sql('SELECT uri, batch_id FROM files WHERE batch_id IS NOT NULL')
  const byBatch = new Map()
  for (const f of files) {
    if (!byBatch.has(f.batch_id)) byBatch.set(f.batch_id, [])
    byBatch.get(f.batch_id).push(f.uri)
  }
  const mByKey = new Map(manifests.map(m => [m.key, m]))
  for (const b of batches) {
    const m = mByKey.get(b.manifest_key)
    const mine = (byBatch.get(b.batch_id) ?? []).sort()
    if (!m) { problems.push(`batch ${b.batch_id}: manifest ${b.manifest_key} missing`); continue }
    if (JSON.stringify([...m.uris].sort()) !== JSON.stringify(mine)) {
      problems.push(`batch ${b.batch_id}: manifest lists ${m.uris.length} file(s), tracking store ${mine.length}`)
    }
    if (b.file_count !== mine.length) problems.push(`batch ${b.batch_id}: file_count ${b.file_count}, files ${mine.length}`)
  }
  if (manifests.length !== batches.length) problems.push(`${manifests.length} manifests for ${batches.length} batches`)
  return problems
}

/** History rows of a batch straight from the store: [{ts_us, state, event, detail}] in order. */
export function historyRows(sb, batchId) {
  return sb.sql(`SELECT ts_us, state, event, detail FROM history WHERE batch_id='${batchId}' ORDER BY id`)
}

/**
 * RunJob intervals of a batch from its history: [{start, end, detail}] (microseconds);
 * end is null for an entry that never exited. Throws on an exit without an entry.
 */
export function runJobIntervals(hist) {
  const out = []
  let open = null
  for (const h of hist) {
    if (h.state !== 'RunJob') continue
    if (h.event === 'entered') {
      if (open) out.push(open)
      open = { start: h.ts_us, end: null, detail: h.detail }
    } else if (h.event === 'exited') {
      if (!open) throw new Error(`RunJob exited without an entry: ${JSON.stringify(h)}`)
      open.end = h.ts_us
      open.exit = h.detail
      out.push(open)
      open = null
    }
  }
  if (open) out.push(open)
  return out
}

/** S3 notification documents (one per line) for objects [{key, size, bucket}], for `ndpq ingest -`. */
export function s3Events(objs) {
  return objs.map(o => JSON.stringify({
    Records: [{
      eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: o.bucket ?? 'input' }, object: { key: o.key.split('/').map(encodeURIComponent).join('/'), size: o.size } },
    }],
  })).join('\n') + '\n'
}

/** Every process whose command line contains `needle` (from /proc): [{pid, argv}]. */
export function processesWith(needle) {
  const out = []
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const argv = cmdline(Number(d))
    if (argv && argv.some(a => a.includes(needle))) out.push({ pid: Number(d), argv })
  }
  return out
}
