// Manifest mode (the Glue job): ndpq convert --manifest M.json [-o ROOT] [--date D].
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  assertAllReadersEqual, assertExit, assertNoTempFiles, checkFooter, checkReport, checkTimestamps, describeRun,
  expectTable, fileUri, listParquet, parquetFilesUnder, readMetadata, reportWarnings, run, runOk,
  tmpdir, utcStamp, writeInput,
} from './helpers.mjs'

/** Write a manifest in the original format; groups is a list of URIPrefixes lists. */
function writeManifest(dir, rel, groups, extra = {}) {
  const p = path.join(dir, rel)
  fs.mkdirSync(path.dirname(p), { recursive: true })
  fs.writeFileSync(p, JSON.stringify({ fileLocations: groups.map(g => ({ URIPrefixes: g })), ...extra }))
  return p
}

/** Three small inputs; returns their absolute paths and the records of each. */
function threeInputs(dir) {
  const a = writeInput(dir, 'in/a.ndjson', ['{"f":"a","i":"1"}', '{"f":"a","i":"2"}'])
  const b = writeInput(dir, 'in/b c.ndjson', ['{"f":"b c","i":"1","x":"only b"}'])
  const d = writeInput(dir, 'in/d.ndjson', ['{"f":"d","i":"1"}', '{"f":"d","i":"2"}', '{"f":"d","i":"3"}'])
  return { a, b, d }
}

function expectedFor(entries) {
  const records = []
  const src = []
  for (const p of entries) {
    for (const line of fs.readFileSync(p, 'utf8').split('\n').filter(Boolean)) {
      records.push(JSON.parse(line))
      src.push(fileUri(p))
    }
  }
  return expectTable(records, { source: i => src[i] })
}

test('manifest: file:// URIs and plain paths, -o ROOT and --date → ROOT/merged-parquet-DATE/, rows in manifest order', async t => {
  const dir = tmpdir(t)
  const { a, b, d } = threeInputs(dir)
  const man = writeManifest(dir, 'batch-0001.json',
    [[fileUri(b), a], [fileUri(d)]], // b (URI with %20), a (plain path), then the second group
    { extraField: { ignored: [1, 2] }, version: 3 })
  const before = utcStamp(new Date(Date.now() - 1000))
  const r = await runOk(['convert', '--manifest', man, '-o', 'out', '--date', '2024-05-06'], { cwd: dir })
  const after = utcStamp(new Date(Date.now() + 1000))
  const outDir = path.join(dir, 'out', 'merged-parquet-2024-05-06')
  const parts = listParquet(outDir)
  assert.ok(parts.length >= 1, 'some part written')
  for (const p of parts) assert.match(path.basename(p), /^batch-0001-part-\d+.*\.parquet$/)
  assert.deepEqual(parquetFilesUnder(dir).filter(p => !p.startsWith(outDir)), [], 'nothing written elsewhere')
  const table = await assertAllReadersEqual(outDir, expectedFor([b, a, d]))
  checkTimestamps(table, before, after)
  let offset = 0
  for (const p of parts) {
    const n = Number(readMetadata(p).num_rows)
    const { md } = checkFooter(p, { ...table, rows: table.rows.slice(offset, offset + n) }, { codec: 'snappy' })
    offset += n
    const kv = md.key_value_metadata ?? []
    assert.ok(kv.some(({ key, value }) => `${key}=${value}`.includes('batch-0001')),
      `key-value metadata names the manifest: ${JSON.stringify(kv)}`)
  }
  const rep = r.report
  assert.ok(String(rep.manifest).includes('batch-0001.json'), `report.manifest: ${rep.manifest}`)
  assert.equal(rep.date, '2024-05-06')
  checkReport(rep, {
    dir, files: 3, bytesIn: [a, b, d].reduce((s, p) => s + fs.statSync(p).size, 0),
    records: 6, columns: table.columns, partFiles: parts,
  })
  assertNoTempFiles(dir)
})

test('manifest: the date comes from the manifest path when --date is absent (first YYYY-MM-DD), and --date overrides it', async t => {
  const dir = tmpdir(t)
  const { a } = threeInputs(dir)
  const m1 = writeManifest(dir, 'manifests/2024-03-07/batch.json', [[a]])
  let r = await runOk(['convert', '--manifest', m1, '-o', 'out'], { cwd: dir })
  assert.equal(r.report.date, '2024-03-07')
  assert.equal(listParquet(path.join(dir, 'out/merged-parquet-2024-03-07')).length, 1)

  const m2 = writeManifest(dir, 'manifests/2023-01-02/batch-2024-02-03.json', [[a]])
  r = await runOk(['convert', '--manifest', m2, '-o', 'out'], { cwd: dir })
  assert.equal(r.report.date, '2023-01-02', 'the first date in the path')
  assert.equal(listParquet(path.join(dir, 'out/merged-parquet-2023-01-02')).length, 1)

  r = await runOk(['convert', '--manifest', m1, '-o', 'out2', '--date', '2025-12-31'], { cwd: dir })
  assert.equal(r.report.date, '2025-12-31')
  assert.equal(listParquet(path.join(dir, 'out2/merged-parquet-2025-12-31')).length, 1)
  assert.ok(!fs.existsSync(path.join(dir, 'out2/merged-parquet-2024-03-07')))
})

test('manifest: without a date in the path or --date, the date is today (UTC)', async t => {
  const dir = tmpdir(t)
  const { a } = threeInputs(dir)
  const m = writeManifest(dir, 'nodate.json', [[a]])
  const d0 = new Date().toISOString().slice(0, 10)
  const r = await runOk(['convert', '--manifest', m, '-o', 'out'], { cwd: dir })
  const d1 = new Date().toISOString().slice(0, 10)
  assert.ok([d0, d1].includes(r.report.date), `report.date ${r.report.date}, today is ${d0}`)
  assert.equal(listParquet(path.join(dir, `out/merged-parquet-${r.report.date}`)).length, 1)
})

test('manifest: running the same manifest again replaces its parts (never duplicates a row), and leaves other manifests\' parts alone', async t => {
  const dir = tmpdir(t)
  const lines = []
  for (let i = 0; i < 40_000; i++) lines.push(JSON.stringify({ i: String(i), pad: 'p'.repeat(280) }))
  const big = writeInput(dir, 'big.ndjson', lines) // ~12 MB
  const small = writeInput(dir, 'small.ndjson', ['{"other":"1"}'])
  const m = writeManifest(dir, 'm.json', [[big]])
  const other = writeManifest(dir, 'other.json', [[small]])
  const outDir = path.join(dir, 'out/merged-parquet-2024-01-01')
  const args = extra => ['convert', '--manifest', m, '-o', 'out', '--date', '2024-01-01', ...extra]
  const expected = expectedFor([big])

  await runOk(['convert', '--manifest', other, '-o', 'out', '--date', '2024-01-01'], { cwd: dir })
  const otherParts = listParquet(outDir)
  assert.equal(otherParts.length, 1)

  await runOk(args(['--target-file-mb', '1', '--row-group-mb', '1']), { cwd: dir })
  const mine = () => listParquet(outDir).filter(p => path.basename(p).startsWith('m-part-'))
  const first = mine()
  assert.ok(first.length >= 2, `--target-file-mb 1 --row-group-mb 1 on 12 MB gives several parts (got ${first.length})`)
  await assertAllReadersEqual(first.length === 1 ? first[0] : await subdirOf(t, first), expected)

  // same manifest, same settings: same part names, same rows
  await runOk(args(['--target-file-mb', '1', '--row-group-mb', '1']), { cwd: dir })
  assert.deepEqual(mine(), first)
  await assertAllReadersEqual(await subdirOf(t, mine()), expected)

  // same manifest, fewer parts: stale parts of the earlier run are gone
  await runOk(args([]), { cwd: dir })
  assert.equal(mine().length, 1, `one part with the default target: ${mine().map(p => path.basename(p))}`)
  await assertAllReadersEqual(mine()[0], expected)

  assert.deepEqual(listParquet(outDir).filter(p => !path.basename(p).startsWith('m-part-')), otherParts,
    'the other manifest\'s part is untouched')
  assertNoTempFiles(dir)
})

/** Copy some part files into their own directory so readDir can check them as one batch. */
async function subdirOf(t, files) {
  const sub = tmpdir(t, 'ndpq-parts-')
  for (const f of files) fs.copyFileSync(f, path.join(sub, path.basename(f)))
  return sub
}

test('manifest: an s3:// entry fails with a clear "not supported yet" error and writes nothing', async t => {
  const dir = tmpdir(t)
  const { a } = threeInputs(dir)
  const m = writeManifest(dir, 'm.json', [[a, 's3://some-bucket/in/x.ndjson']])
  const r = await run(['convert', '--manifest', m, '-o', 'out', '--date', '2024-01-01'], { cwd: dir })
  assertExit(r, [1, 2])
  assert.match(r.stderr, /not supported yet/i, describeRun(r))
  assert.ok(r.stderr.includes('s3://some-bucket/in/x.ndjson'), `stderr names the entry\n${describeRun(r)}`)
  if (r.report) assert.notEqual(r.report.status, 'ok')
  assert.deepEqual(parquetFilesUnder(dir), [], 'nothing written')
  assertNoTempFiles(dir)
})

test('manifest: a missing input fails the job (exit 1), names the file in stderr and report, and commits nothing', async t => {
  const dir = tmpdir(t)
  const { a, d } = threeInputs(dir)
  const missing = path.join(dir, 'in/missing-4711.ndjson')
  const m = writeManifest(dir, 'm.json', [[a, fileUri(missing), d]])
  const r = await run(['convert', '--manifest', m, '-o', 'out', '--date', '2024-01-01', '--report', 'rep.json'], { cwd: dir })
  assertExit(r, 1)
  assert.ok(r.stderr.includes('missing-4711.ndjson'), `stderr names the missing file\n${describeRun(r)}`)
  assert.ok(r.report, `a JSON report on stdout\n${describeRun(r)}`)
  assert.notEqual(r.report.status, 'ok')
  assert.ok(String(r.report.error).includes('missing-4711.ndjson'), `report.error names the file: ${r.report.error}`)
  const fileReport = JSON.parse(fs.readFileSync(path.join(dir, 'rep.json'), 'utf8'))
  assert.ok(String(fileReport.error).includes('missing-4711.ndjson'), '--report file names the file too')
  assert.deepEqual(parquetFilesUnder(dir), [], 'nothing written')
  assertNoTempFiles(dir)
})

test('manifest: a failed re-run keeps the parts of the previous successful run', async t => {
  const dir = tmpdir(t)
  const { a, d } = threeInputs(dir)
  const m = writeManifest(dir, 'm.json', [[a, d]])
  const args = ['convert', '--manifest', m, '-o', 'out', '--date', '2024-01-01']
  await runOk(args, { cwd: dir })
  const outDir = path.join(dir, 'out/merged-parquet-2024-01-01')
  const before = listParquet(outDir)
  const expected = expectedFor([a, d])
  fs.unlinkSync(d)
  const r = await run(args, { cwd: dir })
  assertExit(r, 1)
  assert.deepEqual(listParquet(outDir), before)
  await assertAllReadersEqual(outDir, expected)
  assertNoTempFiles(dir)
})

test('manifest: a batch with no records writes nothing and succeeds, with a warning in the report', async t => {
  const dir = tmpdir(t)
  const e1 = writeInput(dir, 'in/empty.ndjson', '')
  const e2 = writeInput(dir, 'in/blank.ndjson', '\n \n\t\r\n')
  const m = writeManifest(dir, 'm.json', [[e1, fileUri(e2)]])
  const r = await run(['convert', '--manifest', m, '-o', 'out', '--date', '2024-01-01'], { cwd: dir })
  assertExit(r, 0)
  assert.equal(r.report?.status, 'ok', describeRun(r))
  assert.equal(r.report.records, 0)
  assert.deepEqual(r.report.parts, [])
  assert.ok(reportWarnings(r.report).length > 0, `a warning in the report: ${r.stdout}`)
  assert.deepEqual(parquetFilesUnder(dir), [], 'nothing written')
  assertNoTempFiles(dir)
})
