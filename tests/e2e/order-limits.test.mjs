// Issue 2, Semantics → Order, limits and empty batches: one test per rule.
// (Manifest order of files is in manifest.test.mjs.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'

import {
  BIN, assertAllReadersEqual, assertExit, assertNoTempFiles, convertFile, describeRun, expectTable, fileUri,
  listParquet, readAll, readMetadata, reportWarnings, run, runOk, tmpdir, writeInput, checkReport,
} from './helpers.mjs'

test('order: rows keep the input order (files in command-line order, then line order), at any thread count', async t => {
  const dir = tmpdir(t)
  const names = ['c.ndjson', 'a.ndjson', 'b.ndjson', 'd.ndjson']
  const records = []
  const src = []
  for (const [f, name] of names.entries()) {
    const lines = []
    for (let i = 0; i < 3000; i++) {
      const rec = { f: name, i: String(i), pad: `${f}-${i}-`.padEnd(200, 'x') }
      lines.push(JSON.stringify(rec))
      records.push(rec)
    }
    const uri = fileUri(writeInput(dir, name, lines))
    src.push(...lines.map(() => uri))
  }
  const expected = expectTable(records, { source: i => src[i] })
  for (const threads of ['1', '2', '4']) {
    const { out } = await convertFile(dir, names, {
      out: `t${threads}.parquet`, extra: ['--threads', threads, '--row-group-mb', '1'],
    })
    await assertAllReadersEqual(out, expected)
  }
})

test('threads: each row group is written while its converting thread goes on, and its page buffers go back to the columns that need them (1 and 2 threads)', async t => {
  // --threads 1 hands a finished row group to a writer thread and goes on;
  // with more, the main thread writes every worker's row groups. Either
  // way a column of the worker's next row group takes back its written
  // chunk's buffer, or keeps its first pages apart until the writer is
  // past that chunk. Chunks of several MiB (random text, which snappy
  // cannot shrink) and small ones, a column that skips row groups and one
  // that appears late: every cell read back by every reader.
  const dir = tmpdir(t)
  let seed = 7
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0)
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/'
  const noise = n => { let s = ''; for (let i = 0; i < n; i++) s += alphabet[rnd() >>> 26]; return s }
  const records = []
  const lines = []
  let bytes = 0
  for (let i = 0; bytes < 22_000_000; i++) {
    const rec = { i: String(i), blob: noise(700 + (rnd() % 600)), kind: ['a', 'b', 'c'][i % 3] }
    if (Math.floor(i / 5000) % 2 === 1) rec.every_other = `e${i % 97}`
    if (i > 20000) rec.late = noise(40)
    const line = JSON.stringify(rec)
    records.push(rec)
    lines.push(line)
    bytes += line.length + 1
  }
  const uri = fileUri(writeInput(dir, 'in.ndjson', lines))
  const expected = expectTable(records, { source: uri })
  for (const threads of ['1', '2']) {
    const { out } = await convertFile(dir, ['in.ndjson'], {
      out: `t${threads}.parquet`, extra: ['--threads', threads, '--row-group-mb', '4'],
    })
    const md = await readMetadata(out)
    assert.ok(md.row_groups.length >= 5, `--row-group-mb 4 on 22 MB gives several row groups (got ${md.row_groups.length})`)
    // At 2 threads each worker converts two full splits, so its second
    // row group is built in its first one's buffers.
    const blob = md.row_groups.map(rg => rg.columns.find(c => c.meta_data.path_in_schema.join('.') === 'blob'))
    const full = blob.filter(c => Number(c.meta_data.total_compressed_size) > 2 * 1024 * 1024)
    assert.ok(full.length >= 2 * Number(threads),
      `t${threads}: blob chunks over 2 MiB (buffers that go back to their columns): ${blob.map(c => c.meta_data.total_compressed_size)}`)
    await assertAllReadersEqual(out, expected)
  }
})

test('parts: part k holds the lines that start in the k-th --target-file-mb of input, whatever the thread count', async t => {
  // A rerun (a retry, or another CONVERT_THREADS) replaces each part with
  // the same rows: parts follow fixed input ranges, never how the last
  // round was cut. 80 MB, so 2 and more threads cut a tail (pieces of 8 MiB
  // and up) that does not fall on the 32 MiB ranges.
  const dir = tmpdir(t)
  const RANGE = 32 * 1024 * 1024
  const names = []
  const ranges = [] // per range: [count, first n, last n]
  let at = 0
  let n = 0
  for (let f = 0; f < 8; f++) {
    const lines = []
    let bytes = 0
    while (bytes < 10_000_000) {
      const key = String(n++).padStart(8, '0')
      const line = JSON.stringify({ n: key, pad: `${key}:${'abcdefghij'.repeat(20 + (n % 37))}` })
      const k = Math.floor(at / RANGE)
      ranges[k] ??= [0, key, key]
      ranges[k][0]++
      ranges[k][2] = key
      lines.push(line)
      at += line.length + 1
      bytes += line.length + 1
    }
    names.push(`in-${f}.ndjson`)
    writeInput(dir, names[f], lines)
  }
  assert.equal(ranges.length, 3)
  for (const threads of ['1', '2', '3', '5']) {
    const out = `out-t${threads}`
    const r = await runOk(['convert', '--threads', threads, '--row-group-mb', '16', '--target-file-mb', '32', ...names,
      '-o', out], { cwd: dir })
    const parts = listParquet(path.join(dir, out))
    assert.deepEqual(r.report.parts.map(p => p.rows), ranges.map(x => x[0]), `rows per part at ${threads} threads`)
    assert.equal(parts.length, ranges.length)
    for (const [k, file] of parts.entries()) {
      const md = readMetadata(file)
      assert.equal(Number(md.num_rows), ranges[k][0])
      const stats = md.row_groups.map(g => g.columns.find(c => c.meta_data.path_in_schema[0] === 'n').meta_data.statistics)
      const min = stats.map(s => String(s.min_value)).sort()[0]
      const max = stats.map(s => String(s.max_value)).sort().at(-1)
      assert.deepEqual([min, max], [ranges[k][1], ranges[k][2]], `part ${k} at ${threads} threads: first and last line`)
      for (const g of md.row_groups) assert.ok(Number(g.num_rows) > 0)
    }
  }
})

test('limits: a line of 64 MiB converts', async t => {
  const dir = tmpdir(t)
  const LINE = 64 * 1024 * 1024
  const prefix = '{"big":"'
  const suffix = '"}'
  const value = 'abcdefghijklmnop'.repeat(Math.ceil(LINE / 16)).slice(0, LINE - prefix.length - suffix.length)
  const line = prefix + value + suffix
  assert.equal(Buffer.byteLength(line), LINE)
  const input = writeInput(dir, 'big.ndjson', `{"small":"1"}\n${line}\n{"small":"2"}\n`)
  const { out, report } = await convertFile(dir, ['big.ndjson'])
  await assertAllReadersEqual(out, expectTable(
    [{ small: '1' }, { big: value }, { small: '2' }], { source: fileUri(input) }))
  assert.equal(report.corrupt_records, 0)
})

test('limits: nesting of any depth never crashes (depth 999 converts; 100,000 converts or is a corrupt row)', async t => {
  const dir = tmpdir(t)
  const D = 100_000
  const deepArr = '{"a":' + '['.repeat(D) + ']'.repeat(D) + '}'
  const deepObj = '{"a":' + '{"a":'.repeat(D) + '1' + '}'.repeat(D) + '}'
  const unclosed = '{"a":' + '['.repeat(D)
  const ok = '{"b":' + '['.repeat(998) + '"x"' + ']'.repeat(998) + '}' // 999 levels with the outer object
  const input = writeInput(dir, 'deep.ndjson', [deepArr, deepObj, unclosed, ok, '{"c":"after"}'])
  const r = await run(['convert', 'deep.ndjson', '-o', 'out.parquet'], { cwd: dir })
  assert.equal(r.signal, null, `ndpq crashed with ${r.signal}\n${describeRun(r)}`)
  assertExit(r, 0)
  const all = await readAll(path.join(dir, 'out.parquet'))
  const tbl = await assertAllReadersEqual(path.join(dir, 'out.parquet'), null)
  assert.deepEqual(tbl, all.duckdb)
  const col = name => tbl.columns.indexOf(name)
  const cell = (row, name) => (col(name) < 0 ? null : tbl.rows[row][col(name)])
  assert.equal(tbl.rows.length, 5)
  // the deep lines: either their value (compact text = the text itself here) or a corrupt row
  for (const [row, raw, value] of [[0, deepArr, deepArr.slice(5, -1)], [1, deepObj, deepObj.slice(5, -1)]]) {
    const converted = cell(row, 'a') === value && cell(row, '_corrupt_record') === null
    const corrupt = cell(row, 'a') === null && cell(row, '_corrupt_record') === raw
    assert.ok(converted || corrupt, `row ${row}: neither converted nor a corrupt row`)
  }
  assert.equal(cell(2, '_corrupt_record'), unclosed, 'unclosed deep line is corrupt')
  assert.equal(cell(3, 'b'), ok.slice(5, -1), 'depth 999 converts')
  assert.equal(cell(4, 'c'), 'after')
  assert.equal(cell(4, '_source_file'), fileUri(input))
})

/** Run ndpq, sampling the child's RssAnon (anonymous memory, excludes mapped input files). */
function runSamplingMemory(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let peakKb = 0
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    const sample = () => {
      try {
        const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) peakKb = Math.max(peakKb, Number(m[1]))
      } catch { /* exited */ }
    }
    const timer = setInterval(sample, 5)
    child.on('error', reject)
    child.on('close', code => {
      clearInterval(timer)
      let report = null
      try { report = JSON.parse(stdout) } catch { /* */ }
      resolve({ code, peakKb, stdout, stderr, report, args, signal: null })
    })
  })
}

test('limits: memory is bounded by the row group, not by the input', async t => {
  const dir = tmpdir(t)
  const file = path.join(dir, 'big.ndjson')
  const fd = fs.openSync(file, 'w')
  let rows = 0
  const pad = 'y'.repeat(700)
  for (let chunk = 0; chunk < 240; chunk++) { // ~240 MB
    const lines = []
    for (let i = 0; i < 1000; i++, rows++) {
      lines.push(`{"id":"${rows}","k${rows % 50}":"${rows % 977}","text":"${rows}-${pad}","n":${rows}.5}`)
    }
    fs.writeSync(fd, lines.join('\n') + '\n')
  }
  fs.closeSync(fd)
  const inputMb = fs.statSync(file).size / 1048576
  const r = await runSamplingMemory(['convert', '--threads', '1', '--row-group-mb', '8', 'big.ndjson', '-o', 'out'], dir)
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`)
  assert.equal(r.report.records, rows)
  const written = listParquet(path.join(dir, 'out'))
  assert.equal(written.reduce((s, f) => s + Number(readMetadata(f).num_rows), 0), rows)
  const peakMb = r.peakKb / 1024
  assert.ok(peakMb < inputMb / 3,
    `peak anonymous memory ${peakMb.toFixed(0)} MB for ${inputMb.toFixed(0)} MB of input with --row-group-mb 8`)
})

test('empty batch: no records writes nothing and succeeds, with a warning in the report (directory output)', async t => {
  const dir = tmpdir(t)
  writeInput(dir, 'empty.ndjson', '')
  writeInput(dir, 'blank.ndjson', '\n  \n\r\n')
  const r = await run(['convert', 'empty.ndjson', 'blank.ndjson', '-o', 'outdir'], { cwd: dir })
  assertExit(r, 0)
  assert.equal(r.report?.status, 'ok', describeRun(r))
  checkReport(r.report, { files: 2, records: 0, bytesIn: 6 })
  assert.deepEqual(r.report.parts, [])
  assert.ok(reportWarnings(r.report).length > 0, `a warning in the report: ${r.stdout}`)
  const outdir = path.join(dir, 'outdir')
  assert.deepEqual(fs.existsSync(outdir) ? fs.readdirSync(outdir) : [], [], 'nothing written')
  assertNoTempFiles(dir)
})
