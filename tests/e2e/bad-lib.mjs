// Helpers for the bad-input catalogue (tests/e2e/bad-*.test.mjs) and the output-fault tests
// (tests/e2e/faults-*.test.mjs), issue 5 items 3 and 4. Not a test file itself.
//
// Pipeline sandboxes use the real clock (NDPQ_FAKE_NOW would freeze retry delays) and
// files dated DATE, a past date, so `ndpq run --once` closes their batch as an orphan.
// Every sandbox is a fresh NDPQ_HOME (ingest-lib's sandbox), removed afterwards.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

import { sandbox, SETTINGS, BIN, describeRun, assertExit, fileUri, sql } from './ingest-lib.mjs'
import { readAll, hiddenFiles, parquetFilesUnder } from './helpers.mjs'
import { readDuckDB } from '../readers/readers.mjs'
import { spawnCollect as spawnOne } from './spawn.mjs'

export { fileUri, describeRun, assertExit, sql, BIN }

/** A past date: `run --once` flushes its partial batch (close reason orphan). */
export const DATE = '2024-01-02'

/** Fast retries, real clock. */
export const PIPE_ENV = {
  NDPQ_FAKE_NOW: undefined, JOB_RETRY_INTERVAL_SECONDS: '0', JOB_BACKOFF_RATE: '1', JOB_MAX_ATTEMPTS: '2',
  CONVERT_THREADS: '2', MAX_CONCURRENT_RUNS: '2',
}

// ---------------------------------------------------------------------------
// the catalogue count

const tried = []
/** Count `n` bad inputs of kind `what` (printed by catalogueCount). */
export function countBad(what, n = 1) {
  for (let i = 0; i < n; i++) tried.push(what)
}

/** Register, last in a file, a test that prints how many bad inputs the file tried. */
export function catalogueCount(label) {
  test(`${label}: number of bad inputs tried`, t => {
    const by = new Map()
    for (const w of tried) by.set(w, (by.get(w) ?? 0) + 1)
    t.diagnostic(`${label}: ${tried.length} bad inputs tried`)
    for (const [w, n] of by) t.diagnostic(`  ${w}: ${n}`)
    assert.ok(tried.length > 0, 'some bad input was tried')
  })
}

// ---------------------------------------------------------------------------
// pipeline sandbox

/** ingest-lib's sandbox with the pipeline environment, plus pipeline helpers. */
export function pipeline(t, env = {}) {
  const sb = sandbox(t, { env: { ...PIPE_ENV, ...env } })
  sb.output = sb.bucket('output')
  /** `ndpq run --once`; asserts exit 0. */
  sb.runOnce = async (opts = {}) => {
    const r = await sb.run(['run', '--once'], opts)
    assertExit(r, 0)
    return r
  }
  sb.executions = () => sb.sql('SELECT * FROM executions ORDER BY batch_id')
  sb.alerts = () => {
    const p = path.join(sb.home, 'alerts.jsonl')
    if (!fs.existsSync(p)) return []
    return fs.readFileSync(p, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l))
  }
  /** Every job report (jobs/*.json) of a batch, by attempt. */
  sb.jobReports = batchId => {
    const dir = path.join(sb.home, 'jobs')
    if (!fs.existsSync(dir)) return []
    return fs.readdirSync(dir).filter(n => n.startsWith(batchId + '-attempt') && n.endsWith('.json')).sort()
      .map(n => ({ name: n, body: JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) }))
  }
  /** The errors of every ingest invocation report (MANIFEST_BUCKET/logs/ingest/). */
  sb.ingestErrors = () => sb.reports('ingest').flatMap(r => r.body.errors ?? [])
  return sb
}

/** The child environment for a sandbox: the caller's minus every ndpq setting, plus sb.env and env. */
export function sandboxEnv(sb, env = {}) {
  const out = { ...process.env }
  for (const k of SETTINGS) delete out[k]
  Object.assign(out, sb ? sb.env : {}, env)
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k]
  return out
}

/**
 * Run ndpq through `bash -c 'ulimit -f KB; exec ndpq ARGS'` (RLIMIT_FSIZE in KiB). With
 * ignoreXfsz the shell ignores SIGXFSZ first (ignored signals survive exec). Resolves to
 * {code, signal, stdout, stderr, json, report, args}.
 */
export function runLimited(args, { fsizeKB, ignoreXfsz = false, env, cwd, timeoutMs = 120_000 } = {}) {
  const q = s => `'${String(s).replace(/'/g, `'\\''`)}'`
  const script = `${ignoreXfsz ? "trap '' XFSZ; " : ''}ulimit -f ${fsizeKB} && exec ${[BIN, ...args].map(q).join(' ')}`
  return spawnCollect('bash', ['-c', script], { env, cwd, timeoutMs, label: [`[ulimit -f ${fsizeKB}${ignoreXfsz ? ', SIGXFSZ ignored' : ''}]`, ...args] })
}

/** Spawn a command, collect its output. `label` replaces args in describeRun. */
export function spawnCollect(cmd, args, opts = {}) {
  return spawnOne(cmd, args, { ...opts, env: opts.env ?? sandboxEnv(null) })
}

// ---------------------------------------------------------------------------
// reading the output

/**
 * Read one Parquet file with the three readers, assert they agree, and return
 * {columns, rows: [{col: value}]}.
 */
export async function readTable(file) {
  const all = await readAll(file)
  assert.deepEqual(all.hyparquet, all.duckdb, `hyparquet and DuckDB disagree on ${file}`)
  assert.deepEqual(all.wasm, all.duckdb, `parquet-wasm and DuckDB disagree on ${file}`)
  const { columns, rows } = all.duckdb
  return { columns, rows: rows.map(r => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) }
}

/**
 * All rows of every visible Parquet file under dir (each row gets `_part`, its file), read
 * by the three readers — or by DuckDB alone with {fast: true} (large outputs whose format
 * other tests check).
 */
export async function outputRows(dir, { fast = false } = {}) {
  const rows = []
  for (const f of parquetFilesUnder(dir)) {
    let t
    if (fast) {
      const { columns, rows: rr } = await readDuckDB(f)
      t = { columns, rows: rr.map(r => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) }
    } else {
      t = await readTable(f)
    }
    for (const r of t.rows) rows.push({ ...r, _part: f })
  }
  return rows
}

/** Every file under dir (recursively), hidden ones included, relative to dir. */
export function allFiles(dir) {
  const out = []
  const walk = d => {
    if (!fs.existsSync(d)) return
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.push(path.relative(dir, p))
    }
  }
  walk(dir)
  return out.sort()
}

export function assertNoParquet(dir, what = '') {
  const visible = parquetFilesUnder(dir)
  assert.deepEqual(visible, [], `no visible Parquet ${what}: ${visible.join(', ')}`)
}

export function assertNoHidden(dir, what = '') {
  const h = hiddenFiles(dir)
  assert.deepEqual(h, [], `no hidden (temporary) file left ${what}: ${h.join(', ')}`)
}

/** Regular files under `root` (recursively, hidden ones too; symlinks not followed) whose bytes contain `marker`. */
export function filesContaining(root, marker) {
  const m = Buffer.from(marker)
  return allFiles(root).filter(rel => {
    const p = path.join(root, rel)
    try { return fs.lstatSync(p).isFile() && fs.readFileSync(p).includes(m) } catch { return false }
  })
}

// ---------------------------------------------------------------------------
// what a file of arbitrary bytes becomes (docs/FORMATS.md, "Value rules")

const isWs = b => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a
const lossy = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * The lines of `buf` as ndpq reads them: split on LF, one trailing CR stripped, a leading
 * UTF-8 BOM skipped, blank and whitespace-only lines skipped (still numbered).
 * Returns [{line (1-based), bytes}].
 */
export function linesOf(buf) {
  const out = []
  let start = 0
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3
  let n = 0
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start)
    const next = end < 0 ? buf.length : end + 1
    if (end < 0) end = buf.length
    n++
    let b = buf.subarray(start, end)
    if (b.length && b[b.length - 1] === 0x0d) b = b.subarray(0, b.length - 1)
    if (!b.every(isWs)) out.push({ line: n, bytes: b })
    start = next
  }
  return out
}

/** `_corrupt_record` of a corrupt line: its bytes, each invalid UTF-8 sequence → U+FFFD. */
export function corruptText(bytes) {
  return lossy.decode(bytes)
}

/** Deterministic bytes (mulberry32). */
export function randomBytes(n, seed) {
  let a = seed >>> 0
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff
  }
  return out
}

/** n NDJSON records {"id":"<tag>-i","n":"i"}: {text, ids}. */
export function records(tag, n) {
  const ids = []
  let text = ''
  for (let i = 0; i < n; i++) {
    ids.push(`${tag}-${i}`)
    text += `{"id":"${tag}-${i}","n":${i}}\n`
  }
  return { text, ids }
}

/** Assert the rows' ids are exactly `ids` (as multisets: no loss, no duplicate). */
export function assertIdsExactly(rows, ids, what = '') {
  const got = rows.map(r => r.id).filter(v => v !== null && v !== undefined).sort()
  const dup = got.filter((v, i) => i > 0 && got[i - 1] === v)
  assert.deepEqual(dup, [], `duplicated ids ${what}`)
  assert.deepEqual(got, [...ids].sort(), `ids in the output ${what}`)
}

// ---------------------------------------------------------------------------
// root-only file system tricks

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Run a command synchronously; returns {ok, out}. */
export function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() }
}

/**
 * A cleanup list that runs before every after-hook registered later (node runs after-hooks in
 * registration order): call it before creating a sandbox in which something will be mounted,
 * so the unmount comes before the sandbox's removal. Returns add(fn).
 */
export function cleanupFirst(t) {
  const fns = []
  t.after(() => { for (const f of fns.reverse()) f() })
  return fn => fns.push(fn)
}

/**
 * Mount a tmpfs of `size` (e.g. '1m') at dir (created). The unmount is registered with
 * `onCleanup` (from cleanupFirst) or t.after. Returns null when it cannot (not root, mount
 * refused), else {resize(size), umount()}.
 */
export function mountTmpfs(t, dir, size, onCleanup) {
  if (!isRoot) return null
  fs.mkdirSync(dir, { recursive: true })
  const r = sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir])
  if (!r.ok) return null
  let mounted = true
  const m = {
    dir,
    resize: s => { const x = sh('mount', ['-o', `remount,size=${s}`, dir]); assert.ok(x.ok, `remount ${dir}: ${x.out}`) },
    umount: () => { if (mounted) { sh('umount', ['-l', dir]); mounted = false } },
  }
  ;(onCleanup ?? (f => t.after(f)))(() => m.umount())
  return m
}

/**
 * Bind-mount dir onto itself so it can be made read-only (root cannot be stopped by chmod,
 * but a read-only mount stops it: EROFS). Returns null when it cannot, else
 * {ro(), rw(), umount()}. Register before the dir's removal, as for mountTmpfs.
 */
export function bindMount(t, dir, onCleanup) {
  if (!isRoot) return null
  fs.mkdirSync(dir, { recursive: true })
  const r = sh('mount', ['--bind', dir, dir])
  if (!r.ok) return null
  let mounted = true
  const m = {
    dir,
    ro: () => { const x = sh('mount', ['-o', 'remount,bind,ro', dir]); assert.ok(x.ok, `remount ro ${dir}: ${x.out}`) },
    rw: () => { const x = sh('mount', ['-o', 'remount,bind,rw', dir]); assert.ok(x.ok, `remount rw ${dir}: ${x.out}`) },
    umount: () => { if (mounted) { sh('umount', ['-l', dir]); mounted = false } },
  }
  ;(onCleanup ?? (f => t.after(f)))(() => m.umount())
  return m
}

/** Mount points at or under dir (from /proc/self/mounts), deepest first. */
export function mountsUnder(dir) {
  let text = ''
  try { text = fs.readFileSync('/proc/self/mounts', 'utf8') } catch { return [] }
  const unescape = s => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
  return text.split('\n').map(l => unescape(l.split(' ')[1] ?? ''))
    .filter(m => m === dir || m.startsWith(dir + '/')).sort((a, b) => b.length - a.length)
}

/**
 * A temp directory, removed after the test — after unmounting anything still mounted under it
 * (a failed assertion may come before a test's own unmount).
 */
export function scratch(t, prefix = 'ndpq-bad-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.after(() => {
    for (const m of mountsUnder(dir)) sh('umount', ['-l', m])
    if (!process.env.NDPQ_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** strace, if present and allowed to trace here (ptrace may be forbidden). */
export const STRACE = (() => {
  const r = spawnSync('strace', ['-qq', '-o', '/dev/null', 'true'])
  return r.status === 0 ? 'strace' : null
})()

export const sleep = ms => new Promise(res => setTimeout(res, ms))
