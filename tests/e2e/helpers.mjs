// Shared helpers for ndpq's end-to-end tests (node --test tests/e2e/).
//
// The binary is ROOT/build/ndpq, or $NDPQ_BIN (e.g. an ASan build). Every test works in
// its own temporary directory, removed afterwards unless NDPQ_KEEP_TMP=1.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { spawnCollect } from './spawn.mjs'
import { fileURLToPath } from 'node:url'

import {
  assertAllReadersEqual, readAll, readDir, readMetadata, readPageHeaders, listParquet, show,
} from '../readers/readers.mjs'

export { assertAllReadersEqual, readAll, readDir, readMetadata, readPageHeaders, listParquet, show }

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = process.env.NDPQ_BIN ? path.resolve(process.env.NDPQ_BIN) : path.join(ROOT, 'build/ndpq')

export const CODECS = ['snappy', 'zstd', 'gzip', 'lz4_raw', 'none']
/** Codec name as it appears in the Parquet footer (hyparquet's spelling). */
export const FOOTER_CODEC = { snappy: 'SNAPPY', zstd: 'ZSTD', gzip: 'GZIP', lz4_raw: 'LZ4_RAW', none: 'UNCOMPRESSED' }

export const META_COLS = ['_processing_timestamp', '_source_file']
export const TS_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/

// ---------------------------------------------------------------------------
// temp dirs

/** A fresh temp directory, removed after the test (t is the node:test context). */
export function tmpdir(t, prefix = 'ndpq-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  if (t && !process.env.NDPQ_KEEP_TMP) {
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  }
  return dir
}

/** Write an NDJSON file. `content` is a string, a Buffer, or an array of lines (joined with LF, final LF added). */
export function writeInput(dir, name, content) {
  const p = path.join(dir, name)
  fs.mkdirSync(path.dirname(p), { recursive: true })
  let data = content
  if (Array.isArray(content)) data = content.map(l => (Buffer.isBuffer(l) ? l : Buffer.from(l))).reduce(
    (acc, l) => { acc.push(l, Buffer.from('\n')); return acc }, [])
  if (Array.isArray(data)) data = Buffer.concat(data)
  fs.writeFileSync(p, data)
  return p
}

// ---------------------------------------------------------------------------
// running ndpq

/**
 * Run ndpq with args (array) in cwd. Resolves to
 * {code, signal, stdout, stderr, report, ms}; report is stdout parsed as JSON, or null.
 */
export function run(args, { cwd = process.cwd(), env = {}, timeoutMs = 180_000, removeEnv = [] } = {}) {
  if (!fs.existsSync(BIN)) {
    throw new Error(`ndpq binary not found at ${BIN} (run make, or set NDPQ_BIN)`)
  }
  const childEnv = { ...process.env, ...env }
  // the original's variable must not leak in from the caller's environment
  if (!('COMPRESSION_TYPE' in env)) delete childEnv.COMPRESSION_TYPE
  for (const k of removeEnv) delete childEnv[k]
  return spawnCollect(BIN, args, { cwd, env: childEnv, timeoutMs })
}

/** One-line description of a run, for assertion messages. */
export function describeRun(r) {
  const cut = s => (s.length > 1500 ? s.slice(0, 1500) + `…(${s.length} chars)` : s)
  return `ndpq ${r.args.map(a => JSON.stringify(a)).join(' ')} → exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}\n` +
    `--- stderr:\n${cut(r.stderr)}\n--- stdout:\n${cut(r.stdout)}`
}

/** Assert a run exited with `code` (a number or a list of allowed numbers). */
export function assertExit(r, code) {
  const ok = Array.isArray(code) ? code.includes(r.code) : r.code === code
  assert.ok(ok, `expected exit ${JSON.stringify(code)}, got ${r.code}\n${describeRun(r)}`)
}

/** Run and assert exit 0 and a JSON report with status "ok". */
export async function runOk(args, opts) {
  const r = await run(args, opts)
  assertExit(r, 0)
  assert.ok(r.report, `stdout is not one JSON report\n${describeRun(r)}`)
  assert.equal(r.report.status, 'ok', `report status\n${describeRun(r)}`)
  return r
}

/**
 * Convert `inputs` (paths) into dir/out.parquet with codec; asserts success.
 * Returns {out, r, report, before, after} (job start/end bounds as timestamps strings).
 */
export async function convertFile(dir, inputs, { codec, out = 'out.parquet', extra = [], env } = {}) {
  const args = ['convert', ...(codec ? ['--compression', codec] : []), ...extra, ...inputs, '-o', out]
  const before = utcStamp(new Date(Date.now() - 1000))
  const r = await runOk(args, { cwd: dir, env })
  const after = utcStamp(new Date(Date.now() + 1000))
  return { out: path.resolve(dir, out), r, report: r.report, before, after }
}

// ---------------------------------------------------------------------------
// expectations

/** file:// URI of an absolute path, percent-encoding everything outside RFC 3986 pchar and '/'. */
export function fileUri(absPath) {
  const keep = /[A-Za-z0-9\-._~/!$&'()*+,;=:@]/
  let s = 'file://'
  for (const b of Buffer.from(absPath)) {
    const ch = String.fromCharCode(b)
    s += b < 0x80 && keep.test(ch) ? ch : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return s
}

/** "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (microseconds from the millisecond clock). */
export function utcStamp(d) {
  return d.toISOString().replace('T', ' ').replace('Z', '') + '000'
}

/** Sort column names by their UTF-8 bytes. */
export function sortUtf8(names) {
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/**
 * Build the expected table from records given as objects (key → string|null) in row order.
 * Column set = union of keys (+ _corrupt_record if any record has it), sorted by UTF-8 bytes,
 * then the metadata columns: _processing_timestamp must match TS_RE, _source_file
 * is `source` (a string, or a function of the row index) unless meta === false.
 */
export function expectTable(records, { source, meta = true, columns } = {}) {
  const keys = new Set()
  for (const rec of records) for (const k of Object.keys(rec)) keys.add(k)
  const dataCols = columns ?? sortUtf8([...keys])
  const cols = meta ? [...dataCols, ...META_COLS] : dataCols
  const rows = records.map((rec, i) => {
    const row = dataCols.map(k => (rec[k] === undefined ? null : rec[k]))
    if (meta) row.push(TS_RE, typeof source === 'function' ? source(i) : source)
    return row
  })
  return { columns: cols, rows }
}

/**
 * Check the metadata columns of a table: one _processing_timestamp for all rows, within
 * [before, after]; returns that timestamp.
 */
export function checkTimestamps(table, before, after) {
  const c = table.columns.indexOf('_processing_timestamp')
  assert.ok(c >= 0, 'no _processing_timestamp column')
  assert.equal(c, table.columns.length - 2, '_processing_timestamp must be the second-to-last column')
  const values = new Set(table.rows.map(r => r[c]))
  assert.ok(values.size <= 1, `_processing_timestamp differs between rows: ${[...values].slice(0, 3).join(', ')}`)
  const ts = [...values][0]
  if (ts !== undefined) {
    assert.match(ts, TS_RE)
    if (before) assert.ok(ts >= before, `_processing_timestamp ${ts} is before the job started (${before})`)
    if (after) assert.ok(ts <= after, `_processing_timestamp ${ts} is after the job ended (${after})`)
  }
  return ts
}

/** All strings anywhere inside a JSON value. */
export function allStrings(v, out = []) {
  if (typeof v === 'string') out.push(v)
  else if (Array.isArray(v)) v.forEach(x => allStrings(x, out))
  else if (v && typeof v === 'object') Object.values(v).forEach(x => allStrings(x, out))
  return out
}

/** Count of a report field that may be a number or a list. */
export function countOf(v) {
  return Array.isArray(v) ? v.length : v
}

export const REPORT_FIELDS = ['manifest', 'date', 'files', 'bytes_in', 'records', 'corrupt_records',
  'columns', 'parts', 'seconds', 'status', 'error']

/**
 * Check a success report against what is on disk: every field present, parts match the
 * files (path, rows, bytes), counts as given.
 */
export function checkReport(report, { dir, files, bytesIn, records, corrupt = 0, columns, partFiles }) {
  for (const f of REPORT_FIELDS) assert.ok(f in report, `report lacks field ${f}: ${JSON.stringify(report)}`)
  assert.equal(report.status, 'ok')
  assert.equal(report.error, null, 'report.error must be null on success')
  if (files !== undefined) assert.equal(countOf(report.files), files, 'report.files')
  if (bytesIn !== undefined) assert.equal(report.bytes_in, bytesIn, 'report.bytes_in')
  if (records !== undefined) assert.equal(report.records, records, 'report.records')
  assert.equal(report.corrupt_records, corrupt, 'report.corrupt_records')
  if (columns !== undefined) {
    if (Array.isArray(report.columns)) assert.deepEqual(report.columns, columns, 'report.columns')
    else assert.equal(report.columns, columns.length, 'report.columns')
  }
  assert.equal(typeof report.seconds, 'number', 'report.seconds')
  assert.ok(report.seconds >= 0)
  assert.ok(Array.isArray(report.parts), 'report.parts is a list')
  if (partFiles) {
    const listed = report.parts.map(p => path.resolve(dir ?? '.', p.path)).sort()
    assert.deepEqual(listed, [...partFiles].sort(), 'report.parts paths = the files written')
    for (const p of report.parts) {
      const abs = path.resolve(dir ?? '.', p.path)
      assert.equal(p.bytes, fs.statSync(abs).size, `report.parts bytes of ${p.path}`)
      assert.equal(p.rows, Number(readMetadata(abs).num_rows), `report.parts rows of ${p.path}`)
    }
    if (records !== undefined) assert.equal(report.parts.reduce((s, p) => s + p.rows, 0), records)
  }
}

/** Names in a directory that start with '.', recursively (temporary files left behind). */
export function hiddenFiles(dir) {
  const out = []
  if (!fs.existsSync(dir)) return out
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.name.startsWith('.')) out.push(p)
    if (e.isDirectory()) out.push(...hiddenFiles(p))
  }
  return out
}

/** All *.parquet files under dir, recursively (visible ones). */
export function parquetFilesUnder(dir) {
  const out = []
  if (!fs.existsSync(dir)) return out
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...parquetFilesUnder(p))
    else if (e.name.endsWith('.parquet')) out.push(p)
  }
  return out.sort()
}

export function assertNoTempFiles(dir) {
  const h = hiddenFiles(dir)
  assert.deepEqual(h, [], `temporary (dot) files left behind: ${h.join(', ')}`)
}

/**
 * Footer checks that every ndpq output must pass:
 * magic, version 1, created_by "ndpq version X.Y.Z (build H)", flat schema of optional
 * BYTE_ARRAY STRING/UTF8 leaves, codec of every chunk, num_values, statistics with an exact
 * null_count and min/max that bound the values (unsigned byte order), column_orders,
 * page types (v1 data pages, at most one PLAIN dictionary page, first), and
 * sizes adding up. `table` is the canonical table read from the file.
 */
export function checkFooter(file, table, { codec } = {}) {
  const md = readMetadata(file)
  assert.equal(md.head_magic, 'PAR1')
  assert.equal(md.tail_magic, 'PAR1')
  assert.equal(md.version, 1, 'FileMetaData.version')
  assert.match(md.created_by ?? '', /^ndpq version \d+\.\d+\.\d+ \(build [^)]+\)$/, 'created_by')
  const [root, ...leaves] = md.schema
  assert.equal(root.num_children, leaves.length, 'root num_children')
  assert.equal(root.type, undefined, 'root has no type')
  assert.deepEqual(leaves.map(l => l.name), table.columns, 'schema names')
  for (const l of leaves) {
    assert.equal(l.type, 'BYTE_ARRAY', `type of ${show(l.name)}`)
    assert.equal(l.repetition_type, 'OPTIONAL', `repetition of ${show(l.name)}`)
    assert.equal(l.logical_type?.type, 'STRING', `logical type of ${show(l.name)}`)
    assert.equal(l.converted_type, 'UTF8', `converted type of ${show(l.name)}`)
    assert.equal(l.num_children, undefined)
  }
  assert.equal(Number(md.num_rows), table.rows.length, 'num_rows')
  assert.deepEqual(md.column_orders, leaves.map(() => 'TYPE_DEFINED_ORDER'), 'column_orders')
  const pages = readPageHeaders(file, md)
  let rowStart = 0
  for (const [g, rg] of md.row_groups.entries()) {
    const n = Number(rg.num_rows)
    assert.equal(rg.columns.length, leaves.length, `row group ${g} column count`)
    for (const [c, cc] of rg.columns.entries()) {
      const m = cc.meta_data
      const where = `row group ${g} column ${show(leaves[c].name)}`
      assert.ok(m, `${where}: meta_data missing`)
      assert.deepEqual(m.path_in_schema, [leaves[c].name], `${where} path_in_schema`)
      assert.equal(m.type, 'BYTE_ARRAY')
      if (codec) assert.equal(m.codec, FOOTER_CODEC[codec], `${where} codec`)
      assert.equal(Number(m.num_values), n, `${where} num_values`)
      const values = table.rows.slice(rowStart, rowStart + n).map(r => r[c])
      const present = values.filter(v => v !== null).map(v => Buffer.from(v))
      const st = m.statistics
      assert.ok(st, `${where}: no statistics`)
      assert.equal(st.null_count === undefined ? undefined : Number(st.null_count), n - present.length,
        `${where} statistics.null_count`)
      if (present.length) {
        const min = present.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b))
        const max = present.reduce((a, b) => (Buffer.compare(a, b) >= 0 ? a : b))
        if (st.min_value !== undefined) {
          assert.ok(Buffer.compare(st.min_value, min) <= 0, `${where}: min_value ${show(st.min_value.toString())} > min`)
          if (st.is_min_value_exact !== false) assert.ok(st.min_value.equals(min), `${where}: exact min_value wrong`)
        }
        if (st.max_value !== undefined) {
          assert.ok(Buffer.compare(st.max_value, max) >= 0, `${where}: max_value ${show(st.max_value.toString())} < max`)
          if (st.is_max_value_exact !== false) assert.ok(st.max_value.equals(max), `${where}: exact max_value wrong`)
        }
      }
      // pages
      const ps = pages[g][c]
      const dict = ps.filter(p => p.type === 'DICTIONARY_PAGE')
      assert.ok(dict.length <= 1, `${where}: ${dict.length} dictionary pages`)
      if (dict.length) {
        assert.equal(ps[0].type, 'DICTIONARY_PAGE', `${where}: dictionary page is not first`)
        assert.equal(dict[0].encoding, 'PLAIN', `${where}: dictionary page encoding`)
        assert.equal(Number(m.dictionary_page_offset), ps[0].offset, `${where}: dictionary_page_offset`)
      }
      const data = ps.filter(p => p.type !== 'DICTIONARY_PAGE')
      assert.ok(data.length >= 1, `${where}: no data page`)
      assert.equal(Number(m.data_page_offset), data[0].offset, `${where}: data_page_offset`)
      for (const p of data) {
        assert.equal(p.type, 'DATA_PAGE', `${where}: page type ${p.type} (only v1 data pages)`)
        assert.ok(['PLAIN', 'RLE_DICTIONARY'].includes(p.encoding), `${where}: data page encoding ${p.encoding}`)
        if (p.encoding === 'RLE_DICTIONARY') assert.ok(dict.length, `${where}: RLE_DICTIONARY page without dictionary`)
        assert.equal(p.definition_level_encoding, 'RLE', `${where}: definition level encoding`)
        assert.equal(m.encodings.includes(p.encoding), true, `${where}: encodings list lacks ${p.encoding}`)
      }
      assert.equal(data.reduce((s, p) => s + Number(p.num_values), 0), n, `${where}: page num_values sum`)
      const comp = ps.reduce((s, p) => s + p.compressed_page_size, 0)
      const uncomp = ps.reduce((s, p) => s + p.uncompressed_page_size, 0)
      if (codec === 'none') {
        for (const p of ps) assert.equal(p.compressed_page_size, p.uncompressed_page_size, `${where}: uncompressed page sizes differ`)
      }
      assert.ok(Number(m.total_compressed_size) >= comp, `${where}: total_compressed_size`)
      assert.ok(Number(m.total_uncompressed_size) >= uncomp, `${where}: total_uncompressed_size`)
    }
    rowStart += n
  }
  assert.equal(rowStart, table.rows.length, 'row groups cover all rows')
  return { md, pages }
}

/** Warnings of a report: the strings of its `warnings` list (or `warning` field). */
export function reportWarnings(report) {
  const w = report.warnings ?? report.warning ?? []
  return allStrings(w)
}

/**
 * Where the report points at file:line — as a "…name:line…reason" string, or as an object
 * with file (or path/source) and line — returns {entry, reason}; null when it does not.
 */
export function reportCorruptEntry(report, fileName, line) {
  const tag = `${fileName}:${line}`
  const str = allStrings(report).find(s => s.includes(tag) && !/\d/.test(s[s.indexOf(tag) + tag.length] ?? ''))
  if (str) return { entry: str, reason: str.slice(str.indexOf(tag) + tag.length).replace(/^[\s:,;()-]+/, '') }
  let found = null
  const walk = v => {
    if (found) return
    if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') {
      const f = v.file ?? v.path ?? v.source
      if (typeof f === 'string' && f.endsWith(fileName) && Number(v.line) === line) {
        found = { entry: JSON.stringify(v), reason: String(v.reason ?? v.message ?? v.error ?? '') }
      } else Object.values(v).forEach(walk)
    }
  }
  walk(report)
  return found
}

export function reportMentionsLine(report, fileName, line) {
  return reportCorruptEntry(report, fileName, line) !== null
}

/**
 * Write `content`, convert it to out.parquet (snappy unless codec given), and assert that
 * all readers read exactly `records` (objects of string|null; `_corrupt_record` included
 * where a line is corrupt), with metadata columns for the input, the footer profile, and
 * a consistent report. Returns {table, report, dir, input, out, r}.
 */
export async function convertExpect(t, content, records, { name = 'in.ndjson', extra = [], codec, columns } = {}) {
  const dir = tmpdir(t)
  const input = writeInput(dir, name, content)
  const { out, report, before, after, r } = await convertFile(dir, [name], { codec, extra })
  const exp = expectTable(records, { source: fileUri(input), columns })
  const table = await assertAllReadersEqual(out, exp)
  checkTimestamps(table, before, after)
  checkFooter(out, table, { codec })
  const corrupt = records.filter(rec => typeof rec._corrupt_record === 'string').length
  checkReport(report, {
    dir, files: 1, bytesIn: fs.statSync(input).size, records: records.length, corrupt,
    columns: exp.columns, partFiles: [out],
  })
  return { table, report, dir, input, out, r }
}

/** Lines (strings or Buffers) joined with LF, each followed by LF. */
export function joinLines(lines) {
  return Buffer.concat(lines.flatMap(l => [Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from('\n')]))
}
