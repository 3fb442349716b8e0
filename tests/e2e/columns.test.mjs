// Issue 2, Semantics → Columns (and "keys of any bytes"): one test per rule.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  META_COLS, TS_RE, allStrings, assertAllReadersEqual, checkFooter, checkTimestamps, convertExpect, convertFile,
  expectTable, fileUri, joinLines, sortUtf8, tmpdir, writeInput,
} from './helpers.mjs'

test('columns: data keys and _corrupt_record are sorted by UTF-8 bytes, then the metadata columns', async t => {
  const keys = ['b', 'a', 'B', '_x', 'Z', 'aa', 'a b', 'é', '\uFFFD', '😀', '\uE000', '~', '0', '']
  const expectedOrder = ['', '0', 'B', 'Z', '_corrupt_record', '_x', 'a', 'a b', 'aa', 'b', '~', 'é',
    '\uE000', '\uFFFD', '😀']
  assert.deepEqual(sortUtf8([...keys, '_corrupt_record']), expectedOrder) // (UTF-16 order would put 😀 before \uE000)
  const rec = Object.fromEntries(keys.map((k, i) => [k, `v${i}`]))
  const lines = [JSON.stringify(rec), '{"😀":"last key first line"', '{"a":"only a"}']
  const records = [rec, { _corrupt_record: lines[1] }, { a: 'only a' }]
  const { table } = await convertExpect(t, joinLines(lines), records, { columns: expectedOrder })
  assert.deepEqual(table.columns, [...expectedOrder, ...META_COLS])
})

test('columns: _processing_timestamp is the job start in UTC, one value per job; _source_file is the input\'s file:// URI', async t => {
  const dir = tmpdir(t)
  const f1 = writeInput(dir, 'sub dir/my data é.ndjson', '{"a":"1"}\n{"a":"2"}\n')
  const f2 = writeInput(dir, 'plain.ndjson', '{"a":"3"}\n')
  const { out, before, after } = await convertFile(dir, ['sub dir/my data é.ndjson', 'plain.ndjson'])
  const u1 = fileUri(f1)
  assert.ok(u1.endsWith('/sub%20dir/my%20data%20%C3%A9.ndjson'), u1)
  assert.ok(u1.startsWith('file:///'), u1)
  const src = [u1, u1, fileUri(f2)]
  const table = await assertAllReadersEqual(out,
    expectTable([{ a: '1' }, { a: '2' }, { a: '3' }], { source: i => src[i] }))
  const ts = checkTimestamps(table, before, after)
  assert.match(ts, TS_RE)
  assert.deepEqual(table.columns.slice(-2), META_COLS)
})

test('columns: a data key named like a metadata column is replaced by it, and the report says so', async t => {
  const dir = tmpdir(t)
  const input = writeInput(dir, 'in.ndjson', [
    '{"_source_file":"mine","_processing_timestamp":"2000-01-01 00:00:00.000000","a":"1"}',
    '{"a":"2","_source_file":null}',
  ])
  const { out, report, before, after } = await convertFile(dir, ['in.ndjson'])
  const table = await assertAllReadersEqual(out, expectTable([{ a: '1' }, { a: '2' }], { source: fileUri(input) }))
  checkTimestamps(table, before, after)
  assert.deepEqual(table.columns, ['a', ...META_COLS])
  const notes = allStrings(report).filter(s => s.includes('_source_file') && s !== '_source_file')
  assert.ok(notes.length > 0, `the report says the data key _source_file was replaced: ${JSON.stringify(report)}`)
  const notes2 = allStrings(report).filter(s => s.includes('_processing_timestamp') && s !== '_processing_timestamp')
  assert.ok(notes2.length > 0, `the report says the data key _processing_timestamp was replaced: ${JSON.stringify(report)}`)
})

test('columns: every column is an optional BYTE_ARRAY with the STRING logical type', async t => {
  const lines = [
    '{"s":"x","n":1.5,"b":true,"z":null,"o":{"k":[1]},"a":[1,2]}',
    '{"n":-3,"b":false}',
    '[corrupt',
  ]
  const { out, table } = await convertExpect(t, joinLines(lines), [
    { s: 'x', n: '1.5', b: 'true', z: null, o: '{"k":[1]}', a: '[1,2]' },
    { n: '-3', b: 'false' },
    { _corrupt_record: '[corrupt' },
  ])
  const { md } = checkFooter(out, table)
  for (const leaf of md.schema.slice(1)) {
    assert.equal(leaf.type, 'BYTE_ARRAY')
    assert.equal(leaf.repetition_type, 'OPTIONAL')
    assert.equal(leaf.logical_type?.type, 'STRING')
  }
  assert.equal(md.schema.length - 1, table.columns.length)
})

test('columns: keys of any bytes are kept exactly as column names', async t => {
  const keys = ['', ' ', 'a.b', 'a"b', 'a\\b', '\u0000', '\n', 'tab\there', '😀', 'a/b', '[0]', '$', 'A', 'a',
    'SELECT * FROM t', 'x'.repeat(1000), '\u0001', '\u007f', 'ÿ', '\u2028', '中文', 'k\u0000\u0000', '"', '\\']
  const rec = Object.fromEntries(keys.map((k, i) => [k, `v${i}`]))
  // JSON.stringify escapes control characters (\u0000, \n, \t), quotes and backslashes in keys
  const { table } = await convertExpect(t, JSON.stringify(rec) + '\n', [rec])
  assert.deepEqual(new Set(table.columns.slice(0, -2)), new Set(keys))
  assert.equal(table.columns.length, keys.length + 2)
})
