// Issue 2, Semantics → Corrupt lines are never dropped: one test per rule, and the kinds of
// corruption the issue names.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  assertAllReadersEqual, convertExpect, convertFile, expectTable, fileUri, joinLines,
  reportCorruptEntry, tmpdir, writeInput,
} from './helpers.mjs'

test('corrupt: every kind of invalid line becomes a row with null data columns and the raw line', async t => {
  const corrupt = [
    '{"a":1', //                 unterminated object
    '{"a":"1"}}', //             trailing garbage
    '{"a":"1"} x', //            trailing garbage after whitespace
    '[1,2]', //                  top level is an array
    '"str"', //                  ... a string
    '42', //                     ... a number
    'null', //                   ... null
    'true', //                   ... a literal
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":-Infinity}',
    '{"a":01}', //               leading zero
    '{"a":-01}',
    '{"a":00}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":0x10}',
    '{"a":1e}',
    "{'a':'1'}", //              single quotes
    '{a:"1"}', //                unquoted key
    '{"a":"1",}', //             trailing comma
    '{,"a":"1"}',
    String.raw`{"a":"x\qy"}`, // bad escape
    String.raw`{"a":"\u12"}`, // short \u escape
    String.raw`{"a":"\u12G4"}`,
    '{"a":"tab\there"}', //      raw control character in a string
    '{"a":"\u0001"}', //         raw U+0001 in a string
    '{"a":tru}',
    '{"a":True}',
    '{"a":"unterminated}',
    '{"a" "1"}', //              missing colon
    '{"a":"1" "b":"2"}', //      missing comma
    '{"a":[1,2}', //             mismatched brackets
    '{"a":"1"}\u0000', //        NUL after the object
    '  [1]  ', //                raw line keeps its surrounding spaces
    '{"zz":NaN}', //             keys of corrupt lines do not become columns
    '{"a":"1"} // comment',
  ]
  const lines = ['{"a":"ok1","b":"x"}', ...corrupt, '{"a":"ok2"}', String.raw`{"a":"lone \ud800 ok"}`]
  const records = [
    { a: 'ok1', b: 'x', _corrupt_record: null },
    ...corrupt.map(raw => ({ _corrupt_record: raw })),
    { a: 'ok2' },
    { a: 'lone \uFFFD ok' }, // an unpaired surrogate escape does not make a line corrupt
  ]
  const { table, report } = await convertExpect(t, joinLines(lines), records)
  assert.deepEqual(table.columns, ['_corrupt_record', 'a', 'b', '_processing_timestamp', '_source_file'])
  assert.equal(report.corrupt_records, corrupt.length)
})

test('corrupt: invalid UTF-8 makes a line corrupt, and its bytes become U+FFFD in _corrupt_record', async t => {
  const b = (...parts) => Buffer.concat(parts.map(p => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
  const bad = [
    b('{"a":"', [0xff], '"}'),
    b('{"a":"ok', [0xc3, 0x28], '"}'), //          bad continuation byte
    b('{"', [0xfe], '":"in a key"}'),
    b('{"a":"', [0xf0, 0x9f, 0x98], '"}'), //        truncated 4-byte sequence
    b('{"a":"', [0xc0, 0xaf], '"}'), //              overlong encoding
    b('{"a":"', [0xed, 0xa0, 0x80], '"}'), //        UTF-16 surrogate encoded in UTF-8
    b('{"a":"', [0xf4, 0x90, 0x80, 0x80], '"}'), //  above U+10FFFF
    b('[', [0xff]), //                               invalid UTF-8 and invalid JSON
    b('{"a":"x"}', [0x80]), //                       stray continuation byte after a valid object
  ]
  // U+FFFD per maximal ill-formed subpart (Unicode §3.9, as WHATWG's decoder does)
  const replaced = buf => new TextDecoder('utf-8', { ignoreBOM: true }).decode(buf)
  const lines = [b('{"a":"é😀"}'), ...bad, b('{"a":"fine"}')]
  const records = [{ a: 'é😀' }, ...bad.map(x => ({ _corrupt_record: replaced(x) })), { a: 'fine' }]
  const { report } = await convertExpect(t, joinLines(lines), records)
  assert.equal(report.corrupt_records, bad.length)
  assert.equal(records[2]._corrupt_record, '{"a":"ok\uFFFD("}')
  assert.equal(records[4]._corrupt_record, '{"a":"\uFFFD"}')
})

test('corrupt: _corrupt_record exists only when some line is corrupt', async t => {
  const clean = await convertExpect(t, '{"a":"1"}\n{"b":"2"}\n', [{ a: '1' }, { b: '2' }])
  assert.ok(!clean.table.columns.includes('_corrupt_record'), 'no corrupt line → no _corrupt_record column')
  assert.equal(clean.report.corrupt_records, 0)

  // one corrupt line in the second file of a batch: the column exists, null for every valid row
  const dir = tmpdir(t)
  const f1 = writeInput(dir, 'one.ndjson', '{"a":"1"}\n{"a":"2"}\n')
  const f2 = writeInput(dir, 'two.ndjson', '{"a":"3"}\n{"a":\n')
  const { out, report } = await convertFile(dir, ['one.ndjson', 'two.ndjson'])
  const src = [f1, f1, f2, f2].map(fileUri)
  await assertAllReadersEqual(out, expectTable(
    [{ a: '1' }, { a: '2' }, { a: '3' }, { _corrupt_record: '{"a":' }], { source: i => src[i] }))
  assert.equal(report.corrupt_records, 1)
})

test('corrupt: the report counts corrupt lines and lists the first ones as file:line with the reason', async t => {
  const content = [
    '{"a":"1"}', //  line 1
    '', //           line 2 (blank, still counts as a line)
    '[1]', //        line 3
    '{"a":"2"}', //  line 4
    '{"a":NaN}', //  line 5
  ].join('\n') + '\n'
  const { report } = await convertExpect(t, content, [
    { a: '1' }, { _corrupt_record: '[1]' }, { a: '2' }, { _corrupt_record: '{"a":NaN}' },
  ], { name: 'bad.ndjson' })
  assert.equal(report.corrupt_records, 2)
  for (const line of [3, 5]) {
    const e = reportCorruptEntry(report, 'bad.ndjson', line)
    assert.ok(e, `report names bad.ndjson:${line}: ${JSON.stringify(report)}`)
    assert.match(e.reason, /[a-z]{3}/i, `a reason comes with bad.ndjson:${line}: ${e.entry}`)
  }
  assert.equal(reportCorruptEntry(report, 'bad.ndjson', 4), null, 'line 4 is valid and must not be listed')
})

test('corrupt: many corrupt lines are all kept and counted, and the report lists only the first ones', async t => {
  const N = 20_000
  const lines = []
  const records = []
  for (let i = 0; i < N; i++) {
    if (i % 2) { lines.push(`{"n":${i}`); records.push({ _corrupt_record: `{"n":${i}` }) }
    else { lines.push(`{"n":${i}}`); records.push({ n: String(i) }) }
  }
  const { report } = await convertExpect(t, joinLines(lines), records)
  assert.equal(report.corrupt_records, N / 2)
  const size = JSON.stringify(report).length
  assert.ok(size < 100_000, `report lists only the first corrupt lines, but is ${size} bytes`)
})
