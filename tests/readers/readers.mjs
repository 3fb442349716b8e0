// Independent Parquet readers for ndpq's end-to-end tests.
//
// Every output that ndpq writes is read back by three unrelated implementations:
//   duckdb    - DuckDB's C++ reader (@duckdb/node-api)
//   hyparquet - a pure JavaScript reader (hyparquet + hyparquet-compressors)
//   wasm      - arrow-rs compiled to WebAssembly (parquet-wasm), decoded with apache-arrow
// and each result is normalised to one canonical form:
//   { columns: [name, ...], rows: [[string | null, ...], ...] }
// in file column order and file row order.
//
// Strings are compared exactly. All three libraries would normally turn bytes into
// JS strings with a default TextDecoder, which silently replaces invalid UTF-8 and
// strips a leading U+FEFF. Here every value is taken as raw bytes and decoded with a
// fatal, BOM-keeping decoder, so a byte the writer got wrong fails the test instead of
// being papered over.

import fs from 'node:fs'
import path from 'node:path'
import assert from 'node:assert/strict'

import { DuckDBInstance } from '@duckdb/node-api'
import { parquetMetadata, parquetRead } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js'
import { parquetHeader } from 'hyparquet/src/column.js'
import { readParquet } from 'parquet-wasm'
import { tableFromIPC } from 'apache-arrow'
import { ByteBuffer, Encoding as FbEncoding } from 'flatbuffers'

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Decode bytes as UTF-8 exactly; throws on invalid UTF-8, keeps a leading BOM. */
export function decodeUtf8Exact(bytes, what = 'value') {
  try {
    return strictDecoder.decode(bytes)
  } catch {
    const hex = Buffer.from(bytes.subarray(0, 64)).toString('hex')
    throw new Error(`invalid UTF-8 in ${what} (first bytes: ${hex})`)
  }
}

// Arrow JS reads field names through flatbuffers, whose default TextDecoder drops a
// leading U+FEFF; decode those strings exactly instead.
ByteBuffer.prototype.__string = function (offset, optEncoding) {
  offset += this.readInt32(offset)
  const length = this.readInt32(offset)
  offset += 4
  const bytes = this.bytes_.subarray(offset, offset + length)
  return optEncoding === FbEncoding.UTF8_BYTES ? bytes : decodeUtf8Exact(bytes, 'Arrow schema string')
}

/** Column names straight from the footer's Thrift (hyparquet's decoder drops a leading BOM). */
function footerColumnNames(ab) {
  const view = new DataView(ab)
  const len = view.getUint32(ab.byteLength - 8, true)
  const raw = deserializeTCompactProtocol({ view, offset: ab.byteLength - 8 - len })
  return raw.field_2.slice(1).map(e => decodeUtf8Exact(e.field_4, 'column name'))
}

// ---------------------------------------------------------------------------
// DuckDB

let duckdbConnection = null
async function duckdb() {
  if (!duckdbConnection) {
    duckdbConnection = (async () => {
      const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
      return instance.connect()
    })()
  }
  return duckdbConnection
}

function sqlString(s) {
  if (s.includes('\0')) throw new Error('path contains NUL')
  return `'${s.replace(/'/g, "''")}'`
}

export async function readDuckDB(file) {
  const con = await duckdb()
  const src = sqlString(path.resolve(file))
  // Column names straight from the footer (a SELECT would rename "a"/"A" clashes to a_1).
  // encode() hands back the exact bytes: node-api's VARCHAR conversion drops a leading BOM.
  const schema = await con.runAndReadAll(
    `SELECT encode(name), type, converted_type FROM parquet_schema(${src})`)
  const schemaRows = schema.getRows().slice(1) // first row is the root element
  const columns = schemaRows.map(r => decodeUtf8Exact(r[0].bytes, 'DuckDB column name'))
  const described = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${src})`)
  const types = described.getRows().map(r => r[1])
  const bad = types.findIndex(t => t !== 'VARCHAR')
  if (bad >= 0) {
    throw new Error(`DuckDB reads column ${JSON.stringify(columns[bad])} as ${types[bad]}, not VARCHAR`)
  }
  if (types.length !== columns.length) {
    throw new Error(`DuckDB: parquet_schema lists ${columns.length} leaves, SELECT * has ${types.length}`)
  }
  const result = await con.runAndReadAll(`SELECT encode(COLUMNS(*)) FROM read_parquet(${src})`)
  const rows = result.getRows().map((row, r) => row.map((v, c) =>
    v === null ? null : decodeUtf8Exact(v.bytes, `DuckDB row ${r} column ${c}`)))
  return { columns, rows }
}

// ---------------------------------------------------------------------------
// hyparquet

const hyparquetParsers = {
  stringFromBytes: bytes => bytes && decodeUtf8Exact(bytes, 'hyparquet value'),
}

function fileArrayBuffer(file) {
  const buf = fs.readFileSync(file)
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
}

export async function readHyparquet(file) {
  const ab = fileArrayBuffer(file)
  const metadata = parquetMetadata(ab)
  const columns = footerColumnNames(ab)
  if (columns.length !== metadata.schema.length - 1) throw new Error('hyparquet: nested schema')
  let rows = []
  if (Number(metadata.num_rows) > 0) {
    await parquetRead({
      file: ab,
      metadata,
      compressors,
      parsers: hyparquetParsers,
      rowFormat: 'array',
      onComplete: data => { rows = data },
    })
  }
  rows = rows.map(row => Array.from(row, v => (v === undefined ? null : v)))
  for (const [r, row] of rows.entries()) {
    if (row.length !== columns.length) {
      throw new Error(`hyparquet row ${r} has ${row.length} cells, schema has ${columns.length} columns`)
    }
    for (const [c, v] of row.entries()) {
      if (v !== null && typeof v !== 'string') {
        throw new Error(`hyparquet row ${r} column ${JSON.stringify(columns[c])} is ${typeof v}, not a string`)
      }
    }
  }
  return { columns, rows }
}

// ---------------------------------------------------------------------------
// parquet-wasm (arrow-rs) + apache-arrow

function arrowColumnValues(vector, name) {
  const out = []
  for (const data of vector.data) {
    const tid = data.type.typeId
    // 5 = Utf8, 20 = LargeUtf8: decode the raw buffers ourselves (Arrow JS would strip a BOM).
    if (tid === 5 || tid === 20) {
      const { valueOffsets, values } = data
      for (let i = 0; i < data.length; i++) {
        if (!data.getValid(i)) { out.push(null); continue }
        const start = Number(valueOffsets[i])
        const end = Number(valueOffsets[i + 1])
        out.push(decodeUtf8Exact(values.subarray(start, end), `wasm column ${JSON.stringify(name)}`))
      }
    } else {
      throw new Error(`parquet-wasm reads column ${JSON.stringify(name)} as ${data.type}, not Utf8`)
    }
  }
  return out
}

export async function readWasm(file) {
  const bytes = new Uint8Array(fs.readFileSync(file))
  const wasmTable = readParquet(bytes)
  const table = tableFromIPC(wasmTable.intoIPCStream())
  const columns = table.schema.fields.map(f => f.name)
  const values = columns.map((name, c) => arrowColumnValues(table.getChildAt(c), name))
  const rows = []
  for (let r = 0; r < table.numRows; r++) rows.push(values.map(col => col[r]))
  return { columns, rows }
}

// ---------------------------------------------------------------------------
// All readers

export const READERS = { duckdb: readDuckDB, hyparquet: readHyparquet, wasm: readWasm }

async function runReader(name, fn, file) {
  try {
    return await fn(file)
  } catch (e) {
    const err = new Error(`${name} failed to read ${file}: ${e.message}`)
    err.cause = e
    throw err
  }
}

/** Read one Parquet file with every reader: {duckdb, hyparquet, wasm}. */
export async function readAll(file) {
  const out = {}
  for (const [name, fn] of Object.entries(READERS)) out[name] = await runReader(name, fn, file)
  return out
}

/** Visible (not dot-prefixed) *.parquet files of a directory, sorted by name. */
export function listParquet(dir) {
  return fs.readdirSync(dir)
    .filter(n => n.endsWith('.parquet') && !n.startsWith('.'))
    .sort()
    .map(n => path.join(dir, n))
}

/** Read all *.parquet files of a directory (sorted by name) with every reader, rows concatenated. */
export async function readDir(dir) {
  const files = listParquet(dir)
  if (files.length === 0) throw new Error(`no *.parquet files in ${dir}`)
  const out = { files }
  for (const [name, fn] of Object.entries(READERS)) {
    let acc = null
    for (const f of files) {
      const t = await runReader(name, fn, f)
      if (acc === null) acc = { columns: t.columns, rows: [...t.rows] }
      else {
        const d = firstDiff(acc.columns, t.columns)
        if (d !== null) {
          throw new Error(`${name}: schema of ${path.basename(f)} differs from ${path.basename(files[0])} ` +
            `at column ${d}: ${show(acc.columns[d])} vs ${show(t.columns[d])} ` +
            `(${acc.columns.length} vs ${t.columns.length} columns)`)
        }
        for (const row of t.rows) acc.rows.push(row)
      }
    }
    out[name] = acc
  }
  return out
}

// ---------------------------------------------------------------------------
// Comparison

/** Short printable form of a cell: JSON-escaped, long values cut, with their length. */
export function show(v) {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (v instanceof RegExp) return `/${v.source}/`
  if (typeof v === 'function') return `<predicate ${v.name || 'anonymous'}>`
  const s = String(v)
  if (s.length <= 120) return JSON.stringify(s)
  // show where it is likely to differ too: head and tail
  return `${JSON.stringify(s.slice(0, 60))}…${JSON.stringify(s.slice(-40))} (${s.length} UTF-16 units, ` +
    `${Buffer.byteLength(s)} bytes)`
}

function cellMatches(expected, actual) {
  if (expected instanceof RegExp) return typeof actual === 'string' && expected.test(actual)
  if (typeof expected === 'function') return expected(actual) === true
  return expected === actual
}

function firstDiff(a, b, match = (x, y) => x === y) {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (i >= a.length || i >= b.length || !match(a[i], b[i])) return i
  }
  return null
}

function describeStringDiff(e, a) {
  if (typeof e !== 'string' || typeof a !== 'string' || (e.length <= 120 && a.length <= 120)) return ''
  let i = 0
  while (i < e.length && i < a.length && e[i] === a[i]) i++
  return ` (first difference at UTF-16 index ${i}: expected ${show(e.slice(i, i + 20))}, ` +
    `got ${show(a.slice(i, i + 20))}; lengths ${e.length} vs ${a.length})`
}

/**
 * Compare a table to the expected one; return null when equal, or a message naming the
 * first differing column name, row count or cell. Cells of `expected` may be a string,
 * null, a RegExp or a predicate function.
 */
export function diffTables(expected, actual, label = 'actual') {
  const ce = firstDiff(expected.columns, actual.columns, cellMatches)
  if (ce !== null) {
    return `${label}: columns differ at index ${ce}: expected ${show(expected.columns[ce])}, ` +
      `got ${show(actual.columns[ce])} (expected ${expected.columns.length} columns, got ` +
      `${actual.columns.length}; expected starts ${JSON.stringify(expected.columns.slice(0, 8))}, ` +
      `got ${JSON.stringify(actual.columns.slice(0, 8))})`
  }
  for (let r = 0; r < Math.min(expected.rows.length, actual.rows.length); r++) {
    const er = expected.rows[r]
    const ar = actual.rows[r]
    if (er.length !== ar.length) {
      return `${label}: row ${r} has ${ar.length} cells, expected ${er.length}`
    }
    for (let c = 0; c < er.length; c++) {
      if (!cellMatches(er[c], ar[c])) {
        return `${label}: row ${r}, column ${c} ${show(expected.columns[c])}: expected ${show(er[c])}, ` +
          `got ${show(ar[c])}${describeStringDiff(er[c], ar[c])}`
      }
    }
  }
  if (expected.rows.length !== actual.rows.length) {
    const n = Math.min(expected.rows.length, actual.rows.length)
    const extra = expected.rows.length > n ? `first missing row: ${JSON.stringify(expected.rows[n]).slice(0, 300)}`
      : `first extra row: ${JSON.stringify(actual.rows[n]).slice(0, 300)}`
    return `${label}: expected ${expected.rows.length} rows, got ${actual.rows.length}; ${extra}`
  }
  return null
}

/**
 * Read `target` (a .parquet file, or a directory of them) with every reader, and assert
 * that all readers agree with each other and with `expected` ({columns, rows}).
 * Returns the canonical table (the DuckDB one, identical to the others).
 */
export async function assertAllReadersEqual(target, expected) {
  const isDir = fs.statSync(target).isDirectory()
  const all = isDir ? await readDir(target) : await readAll(target)
  const problems = []
  const names = Object.keys(READERS)
  for (const name of names.slice(1)) {
    const d = diffTables(all[names[0]], all[name], `${name} vs ${names[0]}`)
    if (d) problems.push(d)
  }
  if (expected) {
    for (const name of names) {
      const d = diffTables(expected, all[name], name)
      if (d) problems.push(d)
    }
  }
  if (problems.length) {
    assert.fail(`${target}:\n  ` + problems.join('\n  '))
  }
  return all[names[0]]
}

// ---------------------------------------------------------------------------
// Footer metadata and page headers

/**
 * Parquet footer metadata as parsed by hyparquet's parquetMetadata, plus
 * `column_orders` (which hyparquet does not expose) from the raw Thrift.
 * Statistics min/max values are returned as raw Buffers (unsigned byte order
 * can be checked with Buffer.compare). Also `file_size`.
 */
export function readMetadata(file) {
  const ab = fileArrayBuffer(file)
  const md = parquetMetadata(ab, { parsers: { stringFromBytes: b => b && Buffer.from(b) } })
  const view = new DataView(ab)
  const len = view.getUint32(ab.byteLength - 8, true)
  const raw = deserializeTCompactProtocol({ view, offset: ab.byteLength - 8 - len })
  md.column_orders = raw.field_7?.map(o => (o.field_1 !== undefined ? 'TYPE_DEFINED_ORDER' : 'UNKNOWN'))
  md.file_size = ab.byteLength
  md.head_magic = Buffer.from(ab, 0, 4).toString('latin1')
  md.tail_magic = Buffer.from(ab, ab.byteLength - 4, 4).toString('latin1')
  return md
}

/**
 * Page headers of every column chunk: result[rowGroup][column] is a list of
 * {offset, type, uncompressed_page_size, compressed_page_size, num_values, encoding,
 *  definition_level_encoding}. Walks the chunk from its first page to its end.
 */
export function readPageHeaders(file, md = readMetadata(file)) {
  const ab = fileArrayBuffer(file)
  const view = new DataView(ab)
  return md.row_groups.map(rg => rg.columns.map(cc => {
    const m = cc.meta_data
    const start = Number(m.dictionary_page_offset ?? m.data_page_offset)
    const end = start + Number(m.total_compressed_size)
    const pages = []
    let offset = start
    while (offset < end) {
      const reader = { view, offset }
      const h = parquetHeader(reader)
      const dp = h.data_page_header || h.dictionary_page_header || h.data_page_header_v2 || {}
      pages.push({
        offset,
        type: h.type,
        uncompressed_page_size: h.uncompressed_page_size,
        compressed_page_size: h.compressed_page_size,
        num_values: dp.num_values,
        encoding: dp.encoding,
        definition_level_encoding: h.data_page_header?.definition_level_encoding,
      })
      offset = reader.offset + h.compressed_page_size
      if (pages.length > 1e6) throw new Error('runaway page walk')
    }
    if (offset !== end) {
      throw new Error(`column ${m.path_in_schema.join('.')}: pages end at ${offset}, chunk ends at ${end}`)
    }
    return pages
  }))
}
