// Bad input catalogue, manifests (issue 5, item 3): `ndpq convert --manifest` with malformed
// manifests, an empty list, missing files and duplicate entries (docs/FORMATS.md, Manifest).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import { run, tmpdir, writeInput, fileUri } from './helpers.mjs'
import {
  countBad, catalogueCount, outputRows, assertNoParquet, assertNoHidden, records, assertIdsExactly,
  describeRun, assertExit,
} from './bad-lib.mjs'

const D = '2024-01-02'

function manifest(dir, name, body) {
  const p = path.join(dir, name)
  fs.writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body))
  return p
}
const groups = (...lists) => ({ fileLocations: lists.map(l => ({ URIPrefixes: l })) })

/** convert --manifest M -o out --date D in dir. */
function convertManifest(dir, m, extra = []) {
  return run(['convert', '--manifest', m, '-o', 'out', '--date', D, ...extra], { cwd: dir })
}

/** A failed job: exit 1, report failed with `error` matching, nothing written. */
function assertFailedJob(r, dir, error) {
  assertExit(r, 1)
  assert.ok(r.report, `a JSON report on stdout\n${describeRun(r)}`)
  assert.equal(r.report.status, 'failed')
  assert.match(r.report.error ?? '', error, `the error names the problem\n${describeRun(r)}`)
  assert.deepEqual(r.report.parts, [])
  assert.ok(r.stderr.includes(r.report.error), 'the log carries the same error')
  assertNoParquet(path.join(dir, 'out'), 'after a failed job')
  assertNoHidden(path.join(dir, 'out'), 'after a failed job')
}

test('manifest: malformed manifests fail the job (exit 1) with an error naming the manifest or the entry; nothing written', async t => {
  const dir = tmpdir(t)
  const a = writeInput(dir, 'a.ndjson', records('A', 2).text)
  const cases = [
    ['truncated.json', '{"fileLocations": [{"URIPrefixes": [', /truncated\.json.*not valid JSON/],
    ['garbage.json', 'this is not json', /garbage\.json.*not valid JSON/],
    ['zero.json', '', /zero\.json.*not valid JSON/],
    ['array.json', '[]', /array\.json.*fileLocations/],
    ['nolist.json', { fileLocations: 5 }, /nolist\.json.*fileLocations/],
    ['noprefixes.json', { fileLocations: [{}] }, /noprefixes\.json.*URIPrefixes/],
    ['notstring.json', groups([a, 42]), /notstring\.json.*URIPrefixes\[1\]/],
    ['nullentry.json', groups([null]), /nullentry\.json.*URIPrefixes\[0\]/],
    ['emptystr.json', groups(['']), /emptystr\.json.*URIPrefixes\[0\]/],
    ['s3.json', groups(['s3://bucket/key.ndjson']), /s3:\/\/ inputs are not supported yet/],
    ['http.json', groups(['http://example.com/a.ndjson']), /unsupported URI scheme: http:\/\/example\.com\/a\.ndjson/],
    ['badpct.json', groups([`file://${dir}/%zz.ndjson`]), /%zz\.ndjson.*percent/],
    ['nul.json', groups([`file://${dir}/a%00.ndjson`]), /a%00\.ndjson.*NUL/],
    ['host.json', groups([`file://otherhost${a}`]), /otherhost/],
    ['dir.json', groups([dir]), /not a regular file/],
  ]
  countBad('manifest: malformed', cases.length + 2)
  for (const [name, body, error] of cases) {
    const m = manifest(dir, name, body)
    const r = await convertManifest(dir, m)
    assertFailedJob(r, dir, error)
  }
  // the manifest itself missing, or a directory
  assertFailedJob(await convertManifest(dir, path.join(dir, 'nope.json')), dir, /nope\.json.*No such file/)
  fs.mkdirSync(path.join(dir, 'isdir.json'))
  assertFailedJob(await convertManifest(dir, path.join(dir, 'isdir.json')), dir, /isdir\.json/)
})

test('manifest: an empty list succeeds, writes nothing, and the report warns', async t => {
  const dir = tmpdir(t)
  const cases = [groups([]), { fileLocations: [] }, groups([], [])]
  countBad('manifest: empty list', cases.length)
  for (const [i, body] of cases.entries()) {
    const m = manifest(dir, `empty${i}.json`, body)
    const r = await convertManifest(dir, m)
    assertExit(r, 0)
    assert.equal(r.report.status, 'ok')
    assert.equal(r.report.records, 0)
    assert.deepEqual(r.report.parts, [])
    assert.ok(r.report.warnings.length >= 1 && r.report.warnings.some(w => /no records|empty|nothing/i.test(w)),
      `the report warns: ${JSON.stringify(r.report.warnings)}`)
    assertNoParquet(path.join(dir, 'out'))
    assertNoHidden(path.join(dir, 'out'))
  }
})

test('manifest: a missing file fails the job (exit 1) naming the file; nothing committed, earlier output kept', async t => {
  const dir = tmpdir(t)
  const a = records('A', 3)
  const b = records('B', 2)
  const pa = writeInput(dir, 'in/a.ndjson', a.text)
  const pb = writeInput(dir, 'in/b.ndjson', b.text)
  const missing = path.join(dir, 'in', 'gone.ndjson')
  countBad('manifest: missing file', 3)
  for (const entry of [missing, fileUri(missing)]) {
    const m = manifest(dir, 'm.json', groups([pa, entry, pb]))
    const r = await convertManifest(dir, m)
    assertFailedJob(r, dir, new RegExp(`missing input ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  }
  // with an earlier successful output of the same manifest: the failed rerun leaves it as it was
  const m = manifest(dir, 'm.json', groups([pa, pb]))
  assertExit(await convertManifest(dir, m), 0)
  const before = await outputRows(path.join(dir, 'out'))
  assertIdsExactly(before, [...a.ids, ...b.ids])
  manifest(dir, 'm.json', groups([pa, pb, missing]))
  const r = await convertManifest(dir, m)
  assertExit(r, 1)
  assert.ok(r.report.error.includes(missing))
  assertIdsExactly(await outputRows(path.join(dir, 'out')), [...a.ids, ...b.ids], 'the earlier output is intact')
  assertNoHidden(path.join(dir, 'out'))
})

test('manifest: a file listed twice (same entry, in one list or across lists) is read once, with a warning', async t => {
  const dir = tmpdir(t)
  const a = records('A', 3)
  const b = records('B', 2)
  const pa = writeInput(dir, 'in/a.ndjson', a.text)
  const pb = writeInput(dir, 'in/b.ndjson', b.text)
  countBad('manifest: duplicate entries', 5)
  // plain paths; then file:// URIs (each list spelled one way)
  for (const [name, A, B] of [['dups.json', pa, pb], ['dupuris.json', fileUri(pa), fileUri(pb)]]) {
    const m = manifest(dir, name, groups([A, B, A], [B, A]))
    const r = await convertManifest(dir, m)
    assertExit(r, 0)
    const rows = await outputRows(path.join(dir, 'out'))
    assertIdsExactly(rows, [...a.ids, ...b.ids], `${name}: each file once`)
    assert.equal(r.report.records, a.ids.length + b.ids.length)
    assert.equal(r.report.files, 2, 'report.files counts distinct files')
    assert.match(r.stderr, new RegExp(`${name.replace('.', '\\.')}.*(more than once|twice|duplicate)`, 'i'), 'a warning names the manifest')
    fs.rmSync(path.join(dir, 'out'), { recursive: true })
  }
})

test('manifest: one file under equivalent spellings (path, file://, file://localhost/, %-encoded, ./ and //) is read once', async t => {
  const dir = tmpdir(t)
  const a = records('A', 3)
  const pa = writeInput(dir, 'in/a.ndjson', a.text)
  const spellings = [
    pa,
    fileUri(pa),
    `file://localhost${pa}`,
    fileUri(pa).replace('a.ndjson', '%61.ndjson'),
    path.join(dir, 'in') + '/./a.ndjson',
    path.join(dir, 'in') + '//a.ndjson',
  ]
  countBad('manifest: duplicate entries (spellings)', spellings.length - 1)
  const m = manifest(dir, 'spell.json', groups(spellings))
  const r = await convertManifest(dir, m)
  assertExit(r, 0)
  const rows = await outputRows(path.join(dir, 'out'))
  assert.equal(rows.length, a.ids.length,
    `${spellings.length} spellings of one file gave ${rows.length} rows for ${a.ids.length} records ` +
    `(report: files ${r.report.files}, records ${r.report.records}); FORMATS.md: "A file listed twice is read once"`)
})

catalogueCount('bad manifests')
