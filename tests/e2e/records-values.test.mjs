// Issue 2, Semantics → Records and Values as strings: one test per rule.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'

import {
  assertAllReadersEqual, checkFooter, convertExpect, convertFile, expectTable, fileUri, joinLines, listParquet,
  readMetadata, reportMentionsLine, runOk, tmpdir, writeInput,
} from './helpers.mjs'

test('records: each line must be one strict JSON object; whitespace around it is allowed', async t => {
  const lines = [
    '  {"a":"1"}  ',
    '\t{ "a" : "2" }\t',
    '{"a":"3"} {"a":"4"}',
    '[{"a":"5"}]',
    '"x"',
    '{"a":"6",}',
    '{}',
  ]
  await convertExpect(t, joinLines(lines), [
    { a: '1' },
    { a: '2' },
    { _corrupt_record: '{"a":"3"} {"a":"4"}' },
    { _corrupt_record: '[{"a":"5"}]' },
    { _corrupt_record: '"x"' },
    { _corrupt_record: '{"a":"6",}' },
    {}, // an empty object is a valid record with every column null
  ])
})

test('records: the column set is the union over the whole batch (a key first seen on line 120,000)', async t => {
  const N = 120_005
  const lines = []
  const records = []
  for (let i = 1; i <= N; i++) {
    if (i === 120_000) {
      lines.push(`{"id":"${i}","late":"yes"}`)
      records.push({ id: String(i), late: 'yes' })
    } else {
      lines.push(`{"id":"${i}"}`)
      records.push({ id: String(i) })
    }
  }
  const { table, report } = await convertExpect(t, lines.join('\n') + '\n', records)
  assert.deepEqual(table.columns.slice(0, 2), ['id', 'late'])
  assert.equal(report.records, N)
})

test('values: a JSON string becomes its decoded text, escapes resolved', async t => {
  const lines = [
    String.raw`{"s":"q\"b\\s\/f\bf\fn\nr\rt\tu"}`,
    String.raw`{"s":"\u00e9\u00C9\u20ac\ud83d\ude00 raw é€😀"}`,
    String.raw`{"s":"nul\u0000byte","e":""}`,
    String.raw`{"s":"\u0041\u0062\u007f\u0001"}`,
  ]
  await convertExpect(t, joinLines(lines), [
    { s: 'q"b\\s/f\bf\fn\nr\rt\tu' },
    { s: 'éÉ€😀 raw é€😀' },
    { s: 'nul\u0000byte', e: '' },
    { s: 'Ab\u007f\u0001' },
  ])
})

test('values: runs of non-Latin text (2-, 3- and 4-byte UTF-8) are kept whole, with and without escapes; a bad sequence inside one makes the line corrupt', async t => {
  const run = 'Привет мир, 中文字符串テキスト, Ελληνικά, עברית, 😀🎉 ' + '漢字'.repeat(40)
  const records = [
    { s: run },
    { s: `${run}\n"${run}"\t${run}` },
    { s: `a${run}` + '\u00e9\u4e2d', k: `${run}` },
    { s: '\ud7ff\ue000\uffff' + '퟿' + '中' },
  ]
  const lines = records.map(r => JSON.stringify(r))
  const bad = Buffer.concat([Buffer.from('{"s":"' + run), Buffer.from([0xED, 0xA0, 0x80]), Buffer.from('中"}')])
  const content = Buffer.concat([Buffer.from(joinLines(lines)), bad, Buffer.from('\n')])
  const dir = tmpdir(t)
  const input = writeInput(dir, 'in.ndjson', content)
  const { out, report } = await convertFile(dir, ['in.ndjson'])
  assert.equal(report.records, 5)
  assert.equal(report.corrupt_records, 1)
  assert.ok(reportMentionsLine(report, 'in.ndjson', 5), 'the corrupt line is reported as line 5')
  const table = await assertAllReadersEqual(out, null)
  const col = name => table.columns.indexOf(name)
  for (const [i, r] of records.entries()) {
    assert.equal(table.rows[i][col('s')], r.s, `row ${i}: s`)
    if (r.k) assert.equal(table.rows[i][col('k')], r.k, `row ${i}: k`)
    assert.equal(table.rows[i][col('_corrupt_record')], null)
  }
  assert.equal(table.rows[4][col('s')], null)
  assert.equal(table.rows[4][col('_corrupt_record')], bad.toString('utf8'), 'kept, the bad sequence as U+FFFD')
  assert.equal(table.rows[4][col('_source_file')], fileUri(input))
})

test('values: an unpaired surrogate escape becomes U+FFFD, and the line is not corrupt', async t => {
  const lines = [
    String.raw`{"s":"\ud83d"}`,
    String.raw`{"s":"\ude00"}`,
    String.raw`{"s":"x\ud83dy"}`,
    String.raw`{"s":"\ud83d\u0041"}`,
    String.raw`{"s":"\ud83d\ud83d\ude00"}`,
    String.raw`{"s":"\ude00\ud83d"}`,
    String.raw`{"k\udc00":"key too"}`,
  ]
  const { table, report } = await convertExpect(t, joinLines(lines), [
    { s: '\uFFFD' },
    { s: '\uFFFD' },
    { s: 'x\uFFFDy' },
    { s: '\uFFFDA' },
    { s: '\uFFFD😀' },
    { s: '\uFFFD\uFFFD' },
    { 'k\uFFFD': 'key too' },
  ])
  assert.ok(!table.columns.includes('_corrupt_record'))
  assert.equal(report.corrupt_records, 0)
})

test('values: a number keeps its exact text (1.50 stays "1.50", 1e3 stays "1e3")', async t => {
  const line = '{"a":1.50,"b":1e3,"c":-0,"d":1E+2,"e":-12.5e-3,"f":0,' +
    '"g":123456789012345678901234567890,"h":0.1,"i":1E-7,"j":-0.0,"k":100,"l":1.0e+00}'
  await convertExpect(t, line + '\n', [{
    a: '1.50', b: '1e3', c: '-0', d: '1E+2', e: '-12.5e-3', f: '0',
    g: '123456789012345678901234567890', h: '0.1', i: '1E-7', j: '-0.0', k: '100', l: '1.0e+00',
  }])
})

test('values: true and false become "true" and "false"', async t => {
  await convertExpect(t, '{"t":true,"f":false}\n{"t":"true","f":false}\n', [
    { t: 'true', f: 'false' },
    { t: 'true', f: 'false' },
  ])
})

test('values: null becomes a Parquet null, and so does an absent key (the string "null" stays a string)', async t => {
  const { table } = await convertExpect(t, '{"a":null,"b":"x"}\n{"b":"y"}\n{"a":"null","b":null}\n', [
    { a: null, b: 'x' },
    { b: 'y' },
    { a: 'null', b: null },
  ])
  assert.equal(table.rows[0][0], null)
  assert.equal(table.rows[2][0], 'null')
})

test('values: objects and arrays become their JSON text with whitespace outside strings removed', async t => {
  const lines = [
    String.raw`{"o": { "k" : [ 1 , 2.50 , true , null , { "s" : "a b\tc" } ] , "e" : { } , "arr" : [ ] } }`,
    String.raw`{"o":[ "x , y" , "\u00e9\"" , "é😀" , -0 , 1e3 , "\/" , "\ud83d" ]}`,
    '{"o":{\t"a"\r:\r1 ,\t"b" : [ [ ] , { } ] }}',
    '{"o":{"a":1,"a":2}}',
    '{"o":[]}',
    '{"o":{  }}',
    String.raw`{"o":{"k  k":"  spaced  ","n":{"m":[1,{"z":"{ }"}]}}}`,
  ]
  await convertExpect(t, joinLines(lines), [
    { o: String.raw`{"k":[1,2.50,true,null,{"s":"a b\tc"}],"e":{},"arr":[]}` },
    { o: String.raw`["x , y","\u00e9\"","é😀",-0,1e3,"\/","\ud83d"]` },
    { o: '{"a":1,"b":[[],{}]}' },
    { o: '{"a":1,"a":2}' }, // nested duplicates are kept: the text is not re-serialised
    { o: '[]' },
    { o: '{}' },
    { o: String.raw`{"k  k":"  spaced  ","n":{"m":[1,{"z":"{ }"}]}}` },
  ])
})

test('values: if a key repeats in one object, the last one wins', async t => {
  const lines = [
    '{"a":"1","b":"x","a":"2"}',
    '{"a":"1","a":null}',
    '{"a":null,"a":"3"}',
    '{"a":{"x":1},"b":"y","a":[2]}',
    '{"a":"1","a":"2","a":"3"}',
  ]
  await convertExpect(t, joinLines(lines), [
    { a: '2', b: 'x' },
    { a: null },
    { a: '3' },
    { a: '[2]', b: 'y' },
    { a: '3' },
  ])
})

test('records: a key first seen in the last row group is a column of every row group and every part', async t => {
  const dir = tmpdir(t)
  const records = []
  for (let i = 0; i < 40_000; i++) records.push({ i: String(i), pad: `${i}`.padEnd(280, 'q') })
  records.push({ i: 'last', late: 'only here' })
  // ~12 MB: several row groups and parts even if the 1 MiB targets are overshot by a few MiB
  const input = writeInput(dir, 'in.ndjson', records.map(r => JSON.stringify(r)))
  const expected = expectTable(records, { source: fileUri(input) })

  // one file, several row groups
  await runOk(['convert', '--row-group-mb', '1', 'in.ndjson', '-o', 'one.parquet'], { cwd: dir })
  const one = path.join(dir, 'one.parquet')
  const table = await assertAllReadersEqual(one, expected)
  const { md } = checkFooter(one, table)
  assert.ok(md.row_groups.length >= 2, `several row groups with --row-group-mb 1 (got ${md.row_groups.length})`)

  // several parts: each has the whole batch's columns
  await runOk(['convert', '--row-group-mb', '1', '--target-file-mb', '1', 'in.ndjson', '-o', 'parts'], { cwd: dir })
  const parts = listParquet(path.join(dir, 'parts'))
  assert.ok(parts.length >= 2, `several parts with --target-file-mb 1 (got ${parts.length})`)
  for (const p of parts) {
    assert.deepEqual(readMetadata(p).schema.slice(1).map(e => e.name), expected.columns, `columns of ${path.basename(p)}`)
  }
  await assertAllReadersEqual(path.join(dir, 'parts'), expected)
})
