// The "Must show 1" cases of issue 2, run once per codec (codec-<name>.test.mjs):
// every output reads back identically, cell for cell, in DuckDB, parquet-wasm (arrow-rs)
// and hyparquet, and its footer is what the profile says.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  META_COLS, assertAllReadersEqual, checkFooter, checkReport, checkTimestamps, convertFile,
  expectTable, fileUri, tmpdir, writeInput, assertNoTempFiles,
} from './helpers.mjs'

/** Deterministic pseudo-random numbers (mulberry32). */
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

const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ' +
  'incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ' +
  'ullamco laboris nisi aliquip ex ea commodo consequat').split(' ')

export function words(rand, nBytes) {
  let s = ''
  while (s.length < nBytes) s += WORDS[Math.floor(rand() * WORDS.length)] + ' '
  return s.slice(0, nBytes)
}

/**
 * Convert `records` (objects of string|null) written as NDJSON lines with JSON.stringify,
 * check every reader against the expected table, the footer and the report.
 * Returns {table, md, pages, dir, out, report}.
 */
export async function roundTrip(t, codec, records, { lines, extra = [], name = 'in.ndjson', expected } = {}) {
  const dir = tmpdir(t)
  const input = writeInput(dir, name, lines ?? records.map(r => JSON.stringify(r)))
  const { out, report, before, after } = await convertFile(dir, [name], { codec, extra })
  const exp = expected ?? expectTable(records, { source: fileUri(input) })
  const table = await assertAllReadersEqual(out, exp)
  checkTimestamps(table, before, after)
  const { md, pages } = checkFooter(out, table, { codec })
  checkReport(report, {
    dir, files: 1, bytesIn: fs.statSync(input).size, records: table.rows.length,
    columns: exp.columns, partFiles: [out],
  })
  assert.deepEqual(fs.readdirSync(dir).sort(), [name, 'out.parquet'].sort(), 'file mode writes exactly one file')
  assertNoTempFiles(dir)
  return { table, md, pages, dir, out, report }
}

export function codecSuite(codec) {
  describe(`codec ${codec}`, () => {
    test(`${codec}: 0 rows (empty input, file mode) → valid 0-row file with only the metadata columns`, async t => {
      const dir = tmpdir(t)
      writeInput(dir, 'empty.ndjson', '')
      const { out, report } = await convertFile(dir, ['empty.ndjson'], { codec })
      const table = await assertAllReadersEqual(out, { columns: META_COLS, rows: [] })
      checkFooter(out, table, { codec })
      checkReport(report, { dir, files: 1, bytesIn: 0, records: 0, columns: META_COLS, partFiles: [out] })
      assertNoTempFiles(dir)
    })

    test(`${codec}: a column that is always null`, async t => {
      const records = [
        { id: '1', n: null },
        { id: '2', n: null, m: null },
        { id: '3' },
        { id: '4', n: null },
      ]
      const { md, table } = await roundTrip(t, codec, records)
      assert.deepEqual(table.columns, ['id', 'm', 'n', ...META_COLS])
      for (const c of [1, 2]) {
        const st = md.row_groups[0].columns[c].meta_data.statistics
        assert.equal(Number(st.null_count), 4, `null_count of ${table.columns[c]}`)
      }
    })

    test(`${codec}: 1,200 columns`, async t => {
      const N = 1200
      const R = 30
      const records = []
      for (let r = 0; r < R; r++) {
        const rec = {}
        for (let j = r; j < N; j += R) rec[`c${j}`] = `v${r}_${j}`
        records.push(rec)
      }
      const all = {}
      for (let j = N - 1; j >= 0; j--) all[`c${j}`] = `all_${j}` // keys written in reverse order
      records.push(all)
      const { table } = await roundTrip(t, codec, records)
      assert.equal(table.columns.length, N + 2)
      // byte order, not numeric: c0, c1, c10, c100, c1000, c1001, ...
      assert.deepEqual(table.columns.slice(0, 6), ['c0', 'c1', 'c10', 'c100', 'c1000', 'c1001'])
    })

    test(`${codec}: a 5 MB value`, async t => {
      const unit = 'The quick brown fox 😀 jumps over the lazy dög \u0000 "quoted" \\ / \n\t'
      const big = unit.repeat(Math.ceil(5_000_000 / Buffer.byteLength(unit)))
      // maxcp: long values of U+10FFFF (bytes F4 8F BF BF): truncated statistics must still bound them
      const records = [
        { big, small: 'a', maxcp: '\u{10FFFF}'.repeat(100) },
        { big: 'short', small: 'b', maxcp: '\u{10FFFF}'.repeat(99) + 'z' },
        { small: 'c', maxcp: '\u{10FFFF}'.repeat(200) },
      ]
      const { table } = await roundTrip(t, codec, records)
      assert.ok(Buffer.byteLength(table.rows[0][0]) >= 5_000_000)
    })

    test(`${codec}: NUL bytes and 4-byte UTF-8 in values and keys`, async t => {
      // keys and values written with JSON escapes (\u0000, surrogate pairs) and raw 4-byte UTF-8
      const lines = [
        '{"k\\u0000ey":"a\\u0000b","😀":"𝄞 raw","\\ud83d\\ude00x":"\\ud834\\udd1e escaped","\\u0000":"\\u0000"}',
        '{"𝄞":"\\u0000\\u0000","k\\u0000ey":"\\ufeffbom first","plain":"x\\u0000"}',
        '{"plain":"😀😀😀","😀":null}',
      ]
      const records = [
        { 'k\u0000ey': 'a\u0000b', '😀': '𝄞 raw', '😀x': '𝄞 escaped', '\u0000': '\u0000' },
        { '𝄞': '\u0000\u0000', 'k\u0000ey': '\ufeffbom first', plain: 'x\u0000' },
        { plain: '😀😀😀', '😀': null },
      ]
      const { table } = await roundTrip(t, codec, records, { lines })
      assert.deepEqual(table.columns.slice(0, -2), ['\u0000', 'k\u0000ey', 'plain', '𝄞', '😀', '😀x'])
    })

    test(`${codec}: dictionary fallback (many distinct long values in one column)`, async t => {
      // hi: 30,000 distinct 300-byte values (9 MB, far past a ~1 MiB dictionary limit) from the start;
      // late: 5 values for 20,000 rows, then 10,000 distinct long ones (the dictionary outgrows
      // its limit part way through the chunk); lo: 5 values throughout.
      const rand = rng(42)
      const records = []
      const cats = ['red', 'green', 'blue', 'cyan', 'magenta']
      for (let i = 0; i < 30_000; i++) {
        records.push({
          id: String(i),
          hi: `${i}:${words(rand, 300)}`,
          late: i < 20_000 ? cats[i % cats.length] : `${i}:${words(rand, 300)}`,
          lo: cats[i % cats.length],
        })
      }
      const { table, pages } = await roundTrip(t, codec, records)
      const col = name => pages.flatMap(rg => rg[table.columns.indexOf(name)])
      const enc = ps => ps.filter(p => p.type !== 'DICTIONARY_PAGE').map(p => p.encoding)
      const fellBack = (name) => {
        const e = enc(col(name))
        const firstPlain = e.indexOf('PLAIN')
        assert.ok(firstPlain >= 0, `${name}: falls back to PLAIN (data page encodings: ${e.join(',')})`)
        assert.ok(e.slice(firstPlain).every(x => x === 'PLAIN'), `${name}: only PLAIN pages after the fallback: ${e.join(',')}`)
        return e
      }
      fellBack('hi')
      // All distinct from the first values: the sample gives up the dictionary
      // before the first page closes, so no chunk carries a dictionary page.
      for (const name of ['hi', 'id']) {
        assert.ok(col(name).every(p => p.type !== 'DICTIONARY_PAGE'), `${name}: no dictionary page`)
        assert.ok(enc(col(name)).every(e => e === 'PLAIN'), `${name}: only PLAIN pages`)
      }
      const late = fellBack('late')
      assert.equal(late.at(-1), 'PLAIN', 'late: its last pages (distinct values) are PLAIN')
      const lo = enc(col('lo'))
      assert.ok(lo.every(e => e === 'RLE_DICTIONARY'), `lo (5 values) stays dictionary-encoded: ${lo.join(',')}`)
      assert.ok(col('lo')[0].type === 'DICTIONARY_PAGE', 'lo: a dictionary page first')
    })

    test(`${codec}: several row groups and pages (--row-group-mb 1 --page-kb 8)`, async t => {
      const rand = rng(7)
      const records = []
      for (let i = 0; i < 15_000; i++) {
        const rec = { id: String(i), text: words(rand, 150 + (i % 50)), cat: `c${i % 3}` }
        if (i % 7 === 0) rec.sparse = `s${i}`
        records.push(rec)
      }
      const { md, pages, table } = await roundTrip(t, codec, records, { extra: ['--row-group-mb', '1', '--page-kb', '8'] })
      assert.ok(md.row_groups.length >= 2, `expected several row groups, got ${md.row_groups.length}`)
      const text = table.columns.indexOf('text')
      for (const [g, rg] of pages.entries()) {
        const data = rg[text].filter(p => p.type === 'DATA_PAGE')
        assert.ok(data.length >= 2, `row group ${g}: column text has ${data.length} data pages, expected several`)
        for (const p of data) {
          assert.ok(p.uncompressed_page_size <= 8 * 1024 + 2048,
            `row group ${g}: a data page of ${p.uncompressed_page_size} bytes with --page-kb 8`)
        }
      }
      const all = pages.flat(2)
      const comp = all.reduce((s, p) => s + p.compressed_page_size, 0)
      const uncomp = all.reduce((s, p) => s + p.uncompressed_page_size, 0)
      if (codec === 'none') assert.equal(comp, uncomp)
      else assert.ok(comp < 0.9 * uncomp, `pages are really compressed with ${codec}: ${comp} vs ${uncomp} bytes`)
    })
  })
}
