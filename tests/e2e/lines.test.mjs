// Issue 2, Semantics → Lines: one test per rule.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  assertAllReadersEqual, convertExpect, convertFile, expectTable, fileUri, tmpdir, writeInput, checkReport,
} from './helpers.mjs'

const BOM = Buffer.from([0xef, 0xbb, 0xbf])

test('lines: split on LF only, and one trailing CR is stripped', async t => {
  const content = Buffer.from([
    '{"a":"1"}\r\n', //            CRLF → a=1
    '{"a":"2"}\n', //              LF → a=2
    '{"a":"3"}\r\r\n', //          one CR stripped; the other is whitespace after the object → a=3
    '[3]\r\r\n', //                corrupt: raw line keeps the second CR
    '{"a":"4"}\r{"a":"5"}\n', //   a lone CR does not split lines → one corrupt line
    '[4]\r\n', //                  corrupt: raw line without its CR
    '{"b":"6"}\n',
  ].join(''))
  await convertExpect(t, content, [
    { a: '1' },
    { a: '2' },
    { a: '3' },
    { _corrupt_record: '[3]\r' },
    { _corrupt_record: '{"a":"4"}\r{"a":"5"}' },
    { _corrupt_record: '[4]' },
    { b: '6' },
  ])
})

test('lines: blank and whitespace-only lines are skipped (not records, not corrupt)', async t => {
  const content = '\n\n   \n\t\n{"a":"1"}\n \t \r\n\r\n\t \t\n{"a":"2"}\n\n\n'
  const { table, report } = await convertExpect(t, content, [{ a: '1' }, { a: '2' }])
  assert.ok(!table.columns.includes('_corrupt_record'))
  assert.equal(report.corrupt_records, 0)
})

test('lines: a UTF-8 BOM at the start of each file is skipped', async t => {
  const dir = tmpdir(t)
  const f1 = writeInput(dir, 'bom1.ndjson', Buffer.concat([BOM, Buffer.from('{"a":"1"}\n{"a":"2"}\n')]))
  const f2 = writeInput(dir, 'bom2.ndjson', Buffer.concat([BOM, Buffer.from('\n{"a":"3"}\n')]))
  const f3 = writeInput(dir, 'bom3.ndjson', Buffer.concat([BOM, Buffer.from('[1]\n{"\\ufeffk":"\\ufeffv"}\n')]))
  const { out, report } = await convertFile(dir, ['bom1.ndjson', 'bom2.ndjson', 'bom3.ndjson'])
  const u1 = fileUri(f1)
  const u2 = fileUri(f2)
  const u3 = fileUri(f3)
  const recs = [{ a: '1' }, { a: '2' }, { a: '3' }, { _corrupt_record: '[1]' }, { '\ufeffk': '\ufeffv' }]
  const src = [u1, u1, u2, u3, u3]
  // the BOM of a file is not part of its first line: '[1]' is the raw corrupt line, and the
  // escaped U+FEFF inside JSON strings is data, kept in key and value
  await assertAllReadersEqual(out, expectTable(recs, { source: i => src[i] }))
  assert.equal(report.corrupt_records, 1)
})

test('lines: a last line without LF is still a record', async t => {
  const dir = tmpdir(t)
  const f1 = writeInput(dir, 'a.ndjson', '{"a":"1"}\n{"a":"2"}')
  const f2 = writeInput(dir, 'b.ndjson', '{"a":"3"}\r')
  const f3 = writeInput(dir, 'c.ndjson', '{"a":"4"}\n[x')
  const { out, report } = await convertFile(dir, ['a.ndjson', 'b.ndjson', 'c.ndjson'])
  const src = [f1, f1, f2, f3, f3].map(fileUri)
  await assertAllReadersEqual(out, expectTable(
    [{ a: '1' }, { a: '2' }, { a: '3' }, { a: '4' }, { _corrupt_record: '[x' }], { source: i => src[i] }))
  checkReport(report, { files: 3, records: 5, corrupt: 1 })
})
