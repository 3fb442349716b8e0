// Command line, output modes, report and exit codes of ndpq convert (file mode).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  META_COLS, REPORT_FIELDS, assertAllReadersEqual, assertExit, assertNoTempFiles, checkFooter, checkReport,
  convertFile, describeRun, expectTable, fileUri, listParquet, parquetFilesUnder, readMetadata, run, runOk,
  tmpdir, writeInput,
} from './helpers.mjs'

function smallInputs(dir) {
  const a = writeInput(dir, 'a.ndjson', ['{"k":"a1","n":1}', '{"k":"a2","x":[1, 2]}'])
  const b = writeInput(dir, 'b.ndjson', ['{"k":"b1"}', 'not json'])
  const expected = expectTable([
    { k: 'a1', n: '1' }, { k: 'a2', x: '[1,2]' }, { k: 'b1' }, { _corrupt_record: 'not json' },
  ], { source: i => fileUri(i < 2 ? a : b) })
  return { a, b, expected }
}

test('cli: file mode -o out.parquet writes exactly one file, and a re-run replaces it', async t => {
  const dir = tmpdir(t)
  const { expected } = smallInputs(dir)
  for (let i = 0; i < 2; i++) {
    const { out } = await convertFile(dir, ['a.ndjson', 'b.ndjson'])
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.ndjson', 'b.ndjson', 'out.parquet'])
    await assertAllReadersEqual(out, expected)
  }
})

test('cli: -o DIR writes part files (created if missing); --target-file-mb splits them, rows stay in order', async t => {
  const dir = tmpdir(t)
  const lines = []
  const recs = []
  for (let i = 0; i < 12_000; i++) {
    const rec = { i: String(i), pad: `${i}`.padEnd(250, 'z') }
    lines.push(JSON.stringify(rec))
    recs.push(rec)
  }
  const input = writeInput(dir, 'in.ndjson', lines) // ~3 MB
  const r = await runOk(['convert', '--target-file-mb', '1', 'in.ndjson', '-o', 'deep/parts'], { cwd: dir })
  const outDir = path.join(dir, 'deep/parts')
  const parts = listParquet(outDir)
  assert.ok(parts.length >= 2, `several parts with --target-file-mb 1 on 3 MB (got ${parts.length})`)
  for (const p of parts) assert.match(path.basename(p), /^part-\d{5}\..*parquet$/)
  const table = await assertAllReadersEqual(outDir, expectTable(recs, { source: fileUri(input) }))
  let offset = 0
  for (const p of parts) {
    const n = Number(readMetadata(p).num_rows)
    assert.ok(n > 0, `${path.basename(p)} is not empty`)
    checkFooter(p, { ...table, rows: table.rows.slice(offset, offset + n) }, { codec: 'snappy' })
    offset += n
  }
  checkReport(r.report, {
    dir, files: 1, bytesIn: fs.statSync(input).size, records: recs.length, columns: table.columns, partFiles: parts,
  })
  assertNoTempFiles(dir)
})

test('cli: a missing input fails the job (exit 1), stderr and report name it, and no parquet appears', async t => {
  for (const out of ['out.parquet', 'outdir']) {
    const dir = tmpdir(t)
    smallInputs(dir)
    const r = await run(['convert', 'a.ndjson', 'nope-404.ndjson', 'b.ndjson', '-o', out, '--report', 'rep.json'], { cwd: dir })
    assertExit(r, 1)
    assert.ok(r.stderr.includes('nope-404.ndjson'), `stderr names the missing file\n${describeRun(r)}`)
    assert.ok(r.report, `a JSON report on stdout\n${describeRun(r)}`)
    for (const f of REPORT_FIELDS) assert.ok(f in r.report, `report field ${f} on failure`)
    assert.notEqual(r.report.status, 'ok')
    assert.ok(String(r.report.error).includes('nope-404.ndjson'), `report.error names the file: ${r.report.error}`)
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'rep.json'), 'utf8')).error, r.report.error)
    assert.deepEqual(parquetFilesUnder(dir), [], `no parquet for -o ${out}`)
    assertNoTempFiles(dir)
  }
})

test('cli: an input that cannot be read (a directory) fails the job with exit 1 naming it', async t => {
  const dir = tmpdir(t)
  smallInputs(dir)
  fs.mkdirSync(path.join(dir, 'adir.ndjson'))
  const r = await run(['convert', 'a.ndjson', 'adir.ndjson', '-o', 'out.parquet'], { cwd: dir })
  assertExit(r, 1)
  assert.ok(r.stderr.includes('adir.ndjson'), describeRun(r))
  assert.ok(String(r.report?.error).includes('adir.ndjson'), describeRun(r))
  assert.deepEqual(parquetFilesUnder(dir), [])
  assertNoTempFiles(dir)
})

test('cli: an unknown codec is a configuration error (exit 2), and nothing is written', async t => {
  for (const codec of ['brotli', 'lzo', 'SNAPPY-ish', '']) {
    const dir = tmpdir(t)
    smallInputs(dir)
    const r = await run(['convert', '--compression', codec, 'a.ndjson', '-o', 'out.parquet'], { cwd: dir })
    assertExit(r, 2)
    assert.ok(r.stderr.length > 0, `an error message on stderr\n${describeRun(r)}`)
    assert.deepEqual(parquetFilesUnder(dir), [])
  }
})

test('cli: COMPRESSION_TYPE selects the codec; --compression wins over it; a bad value is exit 2', async t => {
  const dir = tmpdir(t)
  const { expected } = smallInputs(dir)
  const codecOf = f => [...new Set(readMetadata(f).row_groups.flatMap(g => g.columns.map(c => c.meta_data.codec)))]

  let { out } = await convertFile(dir, ['a.ndjson', 'b.ndjson'], { out: 'env.parquet', env: { COMPRESSION_TYPE: 'zstd' } })
  assert.deepEqual(codecOf(out), ['ZSTD'])
  await assertAllReadersEqual(out, expected);

  ({ out } = await convertFile(dir, ['a.ndjson', 'b.ndjson'], { out: 'flag.parquet', codec: 'lz4_raw', env: { COMPRESSION_TYPE: 'gzip' } }))
  assert.deepEqual(codecOf(out), ['LZ4_RAW'])

  ;({ out } = await convertFile(dir, ['a.ndjson', 'b.ndjson'], { out: 'default.parquet' }))
  assert.deepEqual(codecOf(out), ['SNAPPY'], 'the default codec is snappy')

  const r = await run(['convert', 'a.ndjson', '-o', 'bad.parquet'], { cwd: dir, env: { COMPRESSION_TYPE: 'bogus' } })
  assertExit(r, 2)
  assert.ok(!fs.existsSync(path.join(dir, 'bad.parquet')))
})

test('cli: bad usage exits 2 and writes nothing', async t => {
  const dir = tmpdir(t)
  smallInputs(dir)
  const cases = [
    [],
    ['frobnicate'],
    ['convert'],
    ['convert', 'a.ndjson'], //                                 no -o in file mode
    ['convert', '-o', 'out.parquet'], //                        no input
    ['convert', '--no-such-option', 'a.ndjson', '-o', 'out.parquet'],
    ['convert', '--row-group-mb', 'abc', 'a.ndjson', '-o', 'out.parquet'],
    ['convert', '--page-kb', '0', 'a.ndjson', '-o', 'out.parquet'],
    ['convert', '--threads', '-1', 'a.ndjson', '-o', 'out.parquet'],
    ['convert', 'a.ndjson', '-o'],
  ]
  for (const args of cases) {
    const r = await run(args, { cwd: dir })
    assertExit(r, 2)
    assert.ok(r.stderr.length > 0, `a message on stderr\n${describeRun(r)}`)
  }
  const m = path.join(dir, 'm.json')
  fs.writeFileSync(m, JSON.stringify({ fileLocations: [{ URIPrefixes: [path.join(dir, 'a.ndjson')] }] }))
  const r = await run(['convert', '--manifest', m, '-o', 'out', '--date', '2024-02-30'], { cwd: dir })
  assertExit(r, 2) // not a calendar date
  assert.deepEqual(parquetFilesUnder(dir), [])
})

test('cli: --no-metadata-columns leaves out _processing_timestamp and _source_file', async t => {
  const dir = tmpdir(t)
  smallInputs(dir)
  const { out, report } = await convertFile(dir, ['a.ndjson', 'b.ndjson'], { extra: ['--no-metadata-columns'] })
  const expected = expectTable([
    { k: 'a1', n: '1' }, { k: 'a2', x: '[1,2]' }, { k: 'b1' }, { _corrupt_record: 'not json' },
  ], { meta: false })
  const table = await assertAllReadersEqual(out, expected)
  checkFooter(out, table)
  checkReport(report, { dir, files: 2, records: 4, corrupt: 1, columns: expected.columns, partFiles: [out] })
})

test('cli: the JSON report on stdout has every field, consistent with the output; --report writes the same', async t => {
  const dir = tmpdir(t)
  const { a, b, expected } = smallInputs(dir)
  const { out, report, r } = await convertFile(dir, ['a.ndjson', 'b.ndjson'], { extra: ['--report', 'r.json'] })
  assert.doesNotThrow(() => JSON.parse(r.stdout), 'stdout is exactly one JSON document')
  checkReport(report, {
    dir, files: 2, bytesIn: fs.statSync(a).size + fs.statSync(b).size, records: 4, corrupt: 1,
    columns: expected.columns, partFiles: [out],
  })
  assert.equal(report.manifest, null, 'no manifest in file mode')
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')), report)
  assert.ok(r.stderr.length > 0, 'human-readable log lines on stderr')
  assert.deepEqual(expected.columns, ['_corrupt_record', 'k', 'n', 'x', ...META_COLS])
})

test('cli: temporary files are hidden and never left behind', async t => {
  const dir = tmpdir(t)
  smallInputs(dir)
  await runOk(['convert', 'a.ndjson', '-o', 'one.parquet'], { cwd: dir })
  await runOk(['convert', 'a.ndjson', 'b.ndjson', '-o', 'parts'], { cwd: dir })
  const failed = await run(['convert', 'a.ndjson', 'gone.ndjson', '-o', 'parts2'], { cwd: dir })
  assertExit(failed, 1)
  const failed2 = await run(['convert', 'a.ndjson', 'gone.ndjson', '-o', 'two.parquet'], { cwd: dir })
  assertExit(failed2, 1)
  assertNoTempFiles(dir)
  assert.deepEqual(parquetFilesUnder(dir).map(p => path.relative(dir, p)).filter(p => !p.startsWith('parts/')), ['one.parquet'])
})

test('cli: a failure after parts were written commits nothing (no part, no temporary file)', async t => {
  const dir = tmpdir(t)
  const lines = []
  for (let i = 0; i < 40_000; i++) lines.push(JSON.stringify({ i: String(i), pad: 'w'.repeat(200) }))
  writeInput(dir, 'first.ndjson', lines) // ~9 MB: several row groups and parts before the missing file
  const r = await run(['convert', '--row-group-mb', '1', '--target-file-mb', '1', '--threads', '1',
    'first.ndjson', 'vanished-99.ndjson', '-o', 'parts'], { cwd: dir })
  assertExit(r, 1)
  assert.ok(r.stderr.includes('vanished-99.ndjson'), describeRun(r))
  assert.deepEqual(parquetFilesUnder(dir), [], 'no part committed')
  assertNoTempFiles(dir)
})

test('cli: an output file becomes visible only when complete (written under a hidden name, then renamed)', async t => {
  const dir = tmpdir(t)
  const fd = fs.openSync(path.join(dir, 'big.ndjson'), 'w')
  const pad = 'v'.repeat(400)
  for (let c = 0; c < 200; c++) {
    const lines = []
    for (let i = 0; i < 1000; i++) lines.push(`{"c":"${c}","i":"${i}","t":"${c * 1000 + i}${pad}"}`)
    fs.writeSync(fd, lines.join('\n') + '\n')
  }
  fs.closeSync(fd) // ~85 MB
  for (const out of ['one.parquet', 'parts']) {
    const { spawn } = await import('node:child_process')
    const { BIN } = await import('./helpers.mjs')
    const child = spawn(BIN, ['convert', '--threads', '1', '--row-group-mb', '4', '--target-file-mb', '16', 'big.ndjson', '-o', out],
      { cwd: dir, stdio: 'ignore' })
    const seen = new Map() // visible name -> sizes seen while running
    const hidden = new Set()
    let running = true
    const exited = new Promise(resolve => child.on('close', code => { running = false; resolve(code) }))
    const watch = out.endsWith('.parquet') ? dir : path.join(dir, out)
    while (running) {
      try {
        for (const n of fs.readdirSync(watch)) {
          if (n.startsWith('.')) { hidden.add(n); continue }
          if (!n.endsWith('.parquet')) continue
          const size = fs.statSync(path.join(watch, n)).size
          if (!seen.has(n)) seen.set(n, new Set())
          seen.get(n).add(size)
        }
      } catch { /* directory not there yet, or a file renamed under us */ }
      await new Promise(resolve => setImmediate(resolve))
    }
    assert.equal(await exited, 0)
    for (const [n, sizes] of seen) {
      const final = fs.statSync(path.join(watch, n)).size
      assert.deepEqual([...sizes], [final], `${out}: ${n} was visible at sizes ${[...sizes].join(', ')} before its final ${final}`)
    }
    assertNoTempFiles(dir)
    t.diagnostic(`${out}: saw hidden names ${[...hidden].slice(0, 3).join(', ') || '(none)'}; visible ${[...seen.keys()].join(', ') || '(none)'}`)
  }
})
