// Bad input catalogue, files (issue 5, item 3): each case through `ndpq convert` and/or the
// pipeline (`ndpq run --once`). Every case checks a clear error naming the thing, a non-zero
// exit where the command fails, and that nothing is lost: every record that can be read is
// in the output or in _corrupt_record; a file that cannot be used is quarantined, or its
// batch fails with a reason (and an alert); failed events are listed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { execFileSync } from 'node:child_process'

import {
  DATE, pipeline, countBad, catalogueCount, readTable, outputRows, assertNoParquet, assertNoHidden,
  filesContaining, linesOf, corruptText, randomBytes, records, assertIdsExactly, describeRun, assertExit,
  fileUri, scratch,
} from './bad-lib.mjs'
import { s3Event, assertSummary } from './ingest-lib.mjs'
import { run, tmpdir, writeInput } from './helpers.mjs'

/** Expected rows of a file whose every non-blank line is corrupt (binary data). */
function allCorrupt(buf) {
  return linesOf(buf).map(l => corruptText(l.bytes))
}

/** The single completed batch of a sandbox, and its job report. */
function onlyBatch(sb, status) {
  const b = sb.batches()
  assert.equal(b.length, 1, `one batch: ${JSON.stringify(b)}`)
  if (status) assert.equal(b[0].status, status, `batch status (error: ${b[0].error})`)
  const reps = sb.jobReports(b[0].batch_id)
  return { batch: b[0], report: reps.at(-1)?.body, reports: reps }
}

// ---------------------------------------------------------------------------

test('file: an empty file is quarantined by the pipeline with its reason; convert writes no rows and says so', async t => {
  // pipeline: size 0 fails validation → quarantined (copy + sidecar), never batched
  const sb = pipeline(t)
  const empty = sb.put(`in/${DATE}-empty.ndjson`, '')
  const good = records('G', 3)
  sb.put(`in/${DATE}-good.ndjson`, good.text)
  countBad('file: empty')
  const r = await sb.runOnce()
  const f = sb.files().find(x => x.key === empty.key)
  assert.ok(f, `the empty file is tracked\n${describeRun(r)}`)
  assert.equal(f.status, 'quarantined', 'the empty file is quarantined')
  assert.match(f.reason ?? JSON.stringify(f), /empty|0 bytes/i, 'with a reason saying it is empty')
  assert.equal(f.batch_id, null, 'never in a batch')
  const side = JSON.parse(fs.readFileSync(sb.objectPath(`${empty.key}.quarantine.json`, 'quarantine'), 'utf8'))
  assert.match(side.reason, /empty|0 bytes/i)
  assert.equal(side.source, sb.uri(empty.key), 'the sidecar names the file')
  assert.ok(fs.existsSync(sb.objectPath(empty.key, 'quarantine')), 'the file is copied to quarantine')
  assert.match(r.stderr, new RegExp(`quarantined.*${empty.key}.*(empty|0 bytes)`, 'i'), 'the log names the file and why')
  const st = await sb.status()
  assert.ok(st.quarantined.some(q => q.key === empty.key && /empty|0 bytes/i.test(q.reason)), 'status lists it')
  const { batch } = onlyBatch(sb, 'completed')
  assert.equal(batch.file_count, 1)
  assertIdsExactly(await outputRows(sb.output), good.ids)

  // convert: an empty file is a valid, empty input; file mode writes a 0-row part, dir mode nothing
  const dir = tmpdir(t)
  writeInput(dir, 'empty.ndjson', '')
  const c1 = await run(['convert', 'empty.ndjson', '-o', 'out.parquet'], { cwd: dir })
  assertExit(c1, 0)
  assert.equal(c1.report.files, 1)
  assert.equal(c1.report.records, 0)
  assert.equal(c1.report.bytes_in, 0)
  assert.equal((await readTable(path.join(dir, 'out.parquet'))).rows.length, 0)
  const c2 = await run(['convert', 'empty.ndjson', '-o', 'outdir'], { cwd: dir })
  assertExit(c2, 0)
  assert.ok(c2.report.warnings.some(w => /no records/i.test(w)), `the report warns: ${c2.stdout}`)
  assertNoParquet(path.join(dir, 'outdir'))
})

test('file: a 100 MiB single line converts, its value intact', async t => {
  const dir = tmpdir(t)
  const N = 100 * 1024 * 1024
  // a varied (not constant) value: 64 printable ASCII characters in a shifting pattern
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'
  const block = Buffer.alloc(4096)
  for (let i = 0; i < block.length; i++) block[i] = alphabet.charCodeAt((i * 7 + (i >> 6)) % 64)
  const value = Buffer.alloc(N)
  for (let o = 0; o < N; o += block.length) block.copy(value, o, 0, Math.min(block.length, N - o))
  const file = path.join(dir, 'huge.ndjson')
  fs.writeFileSync(file, Buffer.concat([Buffer.from('{"id":"1","big":"'), value, Buffer.from('"}\n{"id":"2","big":"small"}\n')]))
  countBad('file: huge line')
  const r = await run(['convert', 'huge.ndjson', '-o', 'out.parquet'], { cwd: dir })
  assertExit(r, 0)
  assert.equal(r.report.status, 'ok')
  assert.equal(r.report.records, 2)
  assert.equal(r.report.corrupt_records, 0)
  assert.equal(r.report.bytes_in, fs.statSync(file).size)
  const table = await readTable(path.join(dir, 'out.parquet'))
  assert.equal(table.rows.length, 2)
  assert.equal(table.rows[0].id, '1')
  assert.equal(table.rows[0].big.length, N, 'the 100 MiB value has its full length')
  assert.ok(table.rows[0].big === value.toString('latin1'), 'the 100 MiB value is byte-for-byte the input')
  assert.equal(table.rows[1].big, 'small')
})

test('file: invalid UTF-8 lines become corrupt rows (U+FFFD), through the pipeline; valid lines and the batch are intact', async t => {
  const sb = pipeline(t)
  const b = (...parts) => Buffer.concat(parts.map(p => Buffer.from(p)))
  const bad = [
    b('{"id":"x1","v":"', [0xff], '"}'),
    b('{"id":"x2","v":"', [0xc0, 0xaf], '"}'), //       overlong
    b('{"id":"x3","v":"', [0xed, 0xa0, 0x80], '"}'), // encoded surrogate
    b('{"', [0xfe], '":"key"}'), //                     in a key
    b('{"id":"x5","v":"', [0xf0, 0x9f, 0x98]), //       truncated sequence, last line, no LF, no closing
  ]
  const good = ['{"id":"u1","v":"é😀"}', '{"id":"u2","v":"fine"}']
  const content = Buffer.concat([b(good[0], '\n'), bad[0], b('\n'), bad[1], b('\n'), b(good[1], '\n'),
    bad[2], b('\n'), bad[3], b('\n'), bad[4]])
  const obj = sb.put(`${DATE}-utf8.ndjson`, content)
  countBad('file: invalid UTF-8', bad.length)
  await sb.runOnce()
  const { report } = onlyBatch(sb, 'completed')
  const rows = await outputRows(sb.output)
  assert.deepEqual(rows.filter(r => r._corrupt_record === null).map(r => [r.id, r.v]), [['u1', 'é😀'], ['u2', 'fine']])
  assert.deepEqual(rows.filter(r => r._corrupt_record !== null).map(r => r._corrupt_record), bad.map(corruptText),
    'each invalid line is kept, invalid sequences replaced by U+FFFD')
  for (const r of rows) assert.equal(r._source_file, obj.uri ?? sb.uri(obj.key))
  assert.equal(report.corrupt_records, bad.length)
  assert.equal(report.records, rows.length)
  const lines = report.corrupt_samples.filter(s => s.file === sb.uri(obj.key)).map(s => s.line)
  assert.deepEqual(lines, [2, 3, 5, 6, 7], 'the report names each corrupt line of the file')
  assert.ok(report.corrupt_samples.some(s => /utf-?8/i.test(s.reason)), `a reason names UTF-8: ${JSON.stringify(report.corrupt_samples)}`)
})

test('file: binary data (random bytes with NULs) converts to corrupt rows only, every line kept', async t => {
  const dir = tmpdir(t)
  const data = randomBytes(64 * 1024, 5)
  // make sure there are NULs, LFs and CRLFs in it
  for (let i = 100; i < data.length; i += 997) data[i] = 0
  for (let i = 50; i < data.length; i += 311) data[i] = 0x0a
  data[400] = 0x0d; data[401] = 0x0a
  assert.ok(data.includes(0))
  writeInput(dir, 'bin.ndjson', data)
  countBad('file: binary data')
  const r = await run(['convert', 'bin.ndjson', '-o', 'out.parquet'], { cwd: dir })
  assertExit(r, 0)
  const expected = allCorrupt(data)
  assert.ok(expected.length > 100)
  const table = await readTable(path.join(dir, 'out.parquet'))
  assert.deepEqual(table.columns, ['_corrupt_record', '_processing_timestamp', '_source_file'],
    'no data column comes out of binary data')
  assert.deepEqual(table.rows.map(x => x._corrupt_record), expected, 'every non-blank line is a corrupt row, raw (U+FFFD for invalid UTF-8, NULs kept)')
  assert.ok(table.rows.some(x => x._corrupt_record.includes('\u0000')), 'NUL bytes are kept')
  assert.equal(r.report.records, expected.length)
  assert.equal(r.report.corrupt_records, expected.length)
  assert.equal(r.report.bytes_in, data.length)
  assert.ok(r.report.corrupt_samples.length > 0 && r.report.corrupt_samples.every(s => s.file === fileUri(path.join(dir, 'bin.ndjson'))))
})

test('file: gzip data named .ndjson becomes corrupt rows, not a crash (pipeline)', async t => {
  const sb = pipeline(t)
  const inner = records('Z', 200)
  const gz = zlib.gzipSync(Buffer.from(inner.text), { level: 9 })
  const obj = sb.put(`${DATE}-packed.ndjson`, gz)
  const good = records('G', 2)
  sb.put(`${DATE}-good.ndjson`, good.text)
  countBad('file: gzip named .ndjson')
  const r = await sb.runOnce()
  const { report } = onlyBatch(sb, 'completed')
  const rows = await outputRows(sb.output)
  const mine = rows.filter(x => x._source_file === sb.uri(obj.key))
  const expected = allCorrupt(gz)
  assert.deepEqual(mine.map(x => x._corrupt_record), expected, `every line of the gzip bytes is a corrupt row\n${describeRun(r)}`)
  assert.ok(mine.every(x => x.id === null))
  assertIdsExactly(rows.filter(x => x._source_file !== sb.uri(obj.key)), good.ids, 'of the good file')
  assert.equal(report.corrupt_records, expected.length)
  assert.equal(report.records, rows.length)
  assert.ok(report.corrupt_samples.some(s => s.file === sb.uri(obj.key) && s.line === linesOf(gz)[0].line))
})

test('file: a truncated last line ({"a":1 at EOF) is a corrupt record named by file and line', async t => {
  // convert
  const dir = tmpdir(t)
  writeInput(dir, 'trunc.ndjson', '{"a":"1"}\n{"a":"2"}\n{"a":1')
  countBad('file: truncated last line')
  const r = await run(['convert', 'trunc.ndjson', '-o', 'out.parquet'], { cwd: dir })
  assertExit(r, 0)
  const table = await readTable(path.join(dir, 'out.parquet'))
  assert.deepEqual(table.rows.map(x => [x.a, x._corrupt_record]), [['1', null], ['2', null], [null, '{"a":1']])
  assert.equal(r.report.corrupt_records, 1)
  assert.deepEqual(r.report.corrupt_samples.map(s => [s.file, s.line]), [[fileUri(path.join(dir, 'trunc.ndjson')), 3]])
  assert.match(r.report.corrupt_samples[0].reason, /\w{4}/)
  assert.match(r.stderr, /trunc\.ndjson:3/, 'the log names file:line')

  // pipeline
  const sb = pipeline(t)
  const obj = sb.put(`${DATE}-trunc.ndjson`, '{"id":"t1"}\n{"id":"t2","v":')
  await sb.runOnce()
  const { report } = onlyBatch(sb, 'completed')
  const rows = await outputRows(sb.output)
  assert.deepEqual(rows.map(x => [x.id, x._corrupt_record]), [['t1', null], [null, '{"id":"t2","v":']])
  assert.deepEqual(report.corrupt_samples.map(s => [s.file, s.line]), [[sb.uri(obj.key), 2]])
})

test('file: a file deleted between its event and its job → batch retried, then failed naming the path (report, status, alert); nothing visible', async t => {
  const sb = pipeline(t, { JOB_MAX_ATTEMPTS: '2' })
  const a = records('A', 4)
  const b = records('B', 3)
  const oa = sb.put(`${DATE}-a.ndjson`, a.text)
  const ob = sb.put(`${DATE}-b.ndjson`, b.text)
  // the events arrive (ingest makes the orphan batch at once), then b disappears
  const ri = await sb.ingest([s3Event([oa, ob])])
  assertSummary(ri, 0, { processed: 2, manifests: 1 })
  fs.rmSync(ob.path)
  countBad('file: deleted before its job')
  const r = await sb.runOnce()
  const { batch, reports } = onlyBatch(sb, 'failed')
  assert.equal(batch.attempts, 2, 'retried up to JOB_MAX_ATTEMPTS')
  assert.ok(batch.error.includes(ob.path), `the batch error names the missing file: ${batch.error}`)
  assert.equal(reports.length, 2, 'one job report per attempt')
  for (const rep of reports) {
    assert.equal(rep.body.status, 'failed')
    assert.ok(rep.body.error.includes(ob.path), `${rep.name} names the missing file: ${rep.body.error}`)
    assert.deepEqual(rep.body.parts, [])
  }
  assert.deepEqual(sb.files().map(f => [f.key, f.status]), [[oa.key, 'failed'], [ob.key, 'failed']], 'both files are failed, none lost')
  const alerts = sb.alerts()
  assert.equal(alerts.length, 1, 'one alert')
  assert.equal(alerts[0].batch_id, batch.batch_id)
  assert.ok(alerts[0].error.includes(ob.path), `the alert names the missing file: ${alerts[0].error}`)
  assert.deepEqual([...alerts[0].files].sort(), [sb.uri(oa.key), sb.uri(ob.key)].sort())
  assert.match(r.stderr, new RegExp(`${batch.batch_id}.*failed`), 'the log says the batch failed')
  assertNoParquet(sb.output, 'of the failed batch')
  assertNoHidden(sb.output)

  // the file comes back: a redrive converts both, once
  sb.put(ob.key, b.text)
  const rr = await sb.run(['retry', '--failed'])
  assertExit(rr, 0)
  await sb.runOnce()
  onlyBatch(sb, 'completed')
  assertIdsExactly(await outputRows(sb.output), [...a.ids, ...b.ids])
})

test('file: a file changed between its event and its job → the job converts the current content, counts consistent', async t => {
  const sb = pipeline(t)
  const a = records('A', 5)
  const b = records('B', 6)
  const c = records('C', 4)
  const oa = sb.put(`${DATE}-appended.ndjson`, a.text)
  const ob = sb.put(`${DATE}-truncated.ndjson`, b.text)
  const oc = sb.put(`${DATE}-emptied.ndjson`, c.text)
  assertSummary(await sb.ingest([s3Event([oa, ob, oc])]), 0, { processed: 3, manifests: 1 })
  // appended: two more records; truncated: cut in the middle of its 3rd line; emptied: 0 bytes
  const extra = records('A+', 2)
  fs.appendFileSync(oa.path, extra.text)
  const bLines = b.text.split('\n')
  const cut = bLines[0].length + 1 + bLines[1].length + 1 + 7
  fs.truncateSync(ob.path, cut)
  fs.truncateSync(oc.path, 0)
  countBad('file: changed before its job', 3)
  const r = await sb.runOnce()
  const { batch, report } = onlyBatch(sb, 'completed')
  const rows = await outputRows(sb.output)
  const of = o => rows.filter(x => x._source_file === sb.uri(o.key))
  assertIdsExactly(of(oa), [...a.ids, ...extra.ids], 'appended file: all of its current records')
  assertIdsExactly(of(ob).filter(x => x._corrupt_record === null), b.ids.slice(0, 2), 'truncated file: its complete lines')
  assert.deepEqual(of(ob).filter(x => x._corrupt_record !== null).map(x => x._corrupt_record), [bLines[2].slice(0, 7)],
    'truncated file: the cut line is a corrupt record')
  assert.deepEqual(of(oc), [], 'emptied file: no rows')
  const now = [oa, ob, oc].reduce((s, o) => s + fs.statSync(o.path).size, 0)
  assert.equal(report.bytes_in, now, 'the job report counts the bytes it read (current sizes)')
  assert.equal(report.records, rows.length, 'report.records = rows in the output')
  assert.equal(report.parts.reduce((s, p) => s + p.rows, 0), rows.length)
  assert.equal(report.corrupt_records, 1)
  const eventBytes = oa.size + ob.size + oc.size
  assert.equal(batch.total_bytes, eventBytes, 'the batch keeps the sizes of the events')
  assert.deepEqual(sb.files().map(f => f.status), ['completed', 'completed', 'completed'])
  t.diagnostic(`changed files: the job read ${now} bytes (current content); the tracking store and manifest keep ` +
    `the event sizes (${eventBytes} bytes). Appended records are converted, a cut line becomes a corrupt record, ` +
    `an emptied file gives no rows — and nothing flags the change (${describeRun(r).split('\n')[0]})`)
})

test('file: a symlink in the input bucket that escapes it is never read (scan and events): an error per event, the target nowhere', async t => {
  const sb = pipeline(t, { COMPRESSION_TYPE: 'none' }) // uncompressed, so a leaked value would be found by a byte search
  const MARK = 'TOPSECRET-4f1c9a'
  const outside = path.join(sb.dir, 'outside')
  fs.mkdirSync(outside)
  const secret = path.join(outside, `${DATE}-secret.ndjson`)
  fs.writeFileSync(secret, `{"id":"${MARK}","pw":"${MARK}"}\n`)
  fs.mkdirSync(sb.bucket('input'), { recursive: true })
  fs.symlinkSync(secret, sb.objectPath(`${DATE}-abs-link.ndjson`)) //                   absolute target
  fs.symlinkSync(path.relative(sb.bucket('input'), secret), sb.objectPath(`${DATE}-rel-link.ndjson`)) // relative
  fs.symlinkSync(outside, sb.objectPath('dirlink')) //                                   a directory link
  const good = records('G', 2)
  sb.put(`${DATE}-good.ndjson`, good.text)
  const keys = [`${DATE}-abs-link.ndjson`, `${DATE}-rel-link.ndjson`, `dirlink/${DATE}-secret.ndjson`]
  countBad('file: escaping symlink', keys.length)

  // explicit events: one error each, naming the key; exit 3
  const ri = await sb.ingest(keys.map(k => s3Event([{ key: k, size: 40 }])))
  const s = assertSummary(ri, 3, { processed: 0, quarantined: 0, errors: keys.length })
  keys.forEach((k, i) => {
    assert.match(s.errors[i].event, new RegExp(`document ${i + 1}`))
    assert.ok(s.errors[i].message.includes(k), `the error names the key ${k}: ${s.errors[i].message}`)
    assert.match(s.errors[i].message, /outside/i)
  })

  // the service's scan: the same errors, in its log and in the ingest report
  const r = await sb.runOnce()
  for (const k of keys) {
    assert.ok(r.stderr.split('\n').some(l => l.includes(k) && /outside/.test(l)), `the log names ${k}\n${describeRun(r)}`)
    assert.ok(sb.ingestErrors().some(e => e.message.includes(k)), `an ingest report lists ${k}`)
  }
  assert.deepEqual(sb.files().map(f => f.key), [`${DATE}-good.ndjson`], 'only the real file is tracked')
  onlyBatch(sb, 'completed')
  assertIdsExactly(await outputRows(sb.output), good.ids)
  assert.deepEqual(filesContaining(sb.home, MARK), [], 'the target\'s content appears nowhere under NDPQ_HOME')
})

test('file: a file replaced by an escaping symlink between its event and its job is never read', async t => {
  const sb = pipeline(t, { COMPRESSION_TYPE: 'none', JOB_MAX_ATTEMPTS: '1' })
  const MARK = 'TOPSECRET-77e0b2'
  const secret = path.join(sb.dir, `${DATE}-secret.ndjson`)
  fs.writeFileSync(secret, `{"id":"${MARK}"}\n`)
  const good = records('G', 2)
  const og = sb.put(`${DATE}-good.ndjson`, good.text)
  const ov = sb.put(`${DATE}-victim.ndjson`, records('V', 2).text)
  assertSummary(await sb.ingest([s3Event([og, ov])]), 0, { processed: 2, manifests: 1 })
  fs.rmSync(ov.path)
  fs.symlinkSync(secret, ov.path)
  countBad('file: symlink swapped in before its job')
  const r = await sb.runOnce()
  const leaked = filesContaining(sb.home, MARK)
  const b = sb.batches()[0]
  assert.deepEqual(leaked, [], `the symlink's target was read by the job: its content is in ${leaked.join(', ')} ` +
    `(batch ${b.status}, error ${b.error})\n${describeRun(r)}`)
  assert.equal(b.status, 'failed', 'the batch fails')
  assert.ok((b.error ?? '').includes(ov.path) || (b.error ?? '').includes(ov.key), `the error names the file: ${b.error}`)
  assertNoParquet(sb.output)
})

test('file: a FIFO or a directory named .ndjson is not a regular file: an error per event, and convert fails naming it', async t => {
  const sb = pipeline(t)
  fs.mkdirSync(sb.bucket('input'), { recursive: true })
  execFileSync('mkfifo', [sb.objectPath(`${DATE}-fifo.ndjson`)])
  fs.mkdirSync(sb.objectPath(`${DATE}-dir.ndjson`))
  const good = sb.put(`${DATE}-good.ndjson`)
  countBad('file: not a regular file', 3)
  const ri = await sb.ingest([s3Event([{ key: `${DATE}-fifo.ndjson`, size: 8 }]), s3Event([{ key: `${DATE}-dir.ndjson`, size: 8 }]), s3Event([good])],
    { timeoutMs: 20_000 })
  const s = assertSummary(ri, 3, { processed: 1, errors: 2 })
  assert.match(s.errors[0].message, new RegExp(`${DATE}-fifo\\.ndjson.*not a regular file`))
  assert.match(s.errors[1].message, new RegExp(`${DATE}-dir\\.ndjson.*not a regular file`))
  // the service's scan does not hang on the FIFO
  await sb.runOnce({ timeoutMs: 20_000 })
  assert.deepEqual(sb.files().map(f => [f.key, f.status]), [[good.key, 'completed']])

  const dir = scratch(t)
  execFileSync('mkfifo', [path.join(dir, 'p.ndjson')])
  const c = await run(['convert', 'p.ndjson', '-o', 'out.parquet'], { cwd: dir, timeoutMs: 20_000 })
  assertExit(c, 1)
  assert.equal(c.report.status, 'failed')
  assert.match(c.report.error, /p\.ndjson.*not a regular file/)
  assertNoParquet(dir)
  assertNoHidden(dir)
})

catalogueCount('bad files')
