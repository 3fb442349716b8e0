// ndpq ingest / flush / status: configuration (env, --config FILE, --set) and the
// per-invocation report under MANIFEST_BUCKET/logs/ingest/ (issue 3, "Configuration", "Report").
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import { sandbox, assertExit, assertSummary, s3Event, PAST, TODAY, listFiles } from './ingest-lib.mjs'

function putMany(sb, d, n, start = 0) {
  return Array.from({ length: n }, (_, i) => sb.put(`${d}/f-${d}-${String(start + i).padStart(4, '0')}.ndjson`))
}

function writeConfig(sb, lines, name = 'ndpq.conf') {
  const p = path.join(sb.dir, name)
  fs.writeFileSync(p, lines.join('\n') + '\n')
  return p
}

test('config: precedence is defaults < --config file < environment < --set', async t => {
  const sb = sandbox(t)
  const conf = writeConfig(sb, ['MAX_FILES_PER_MANIFEST=5', 'MIN_FILES_FOR_PARTIAL_BATCH=2', 'SIZE_TOLERANCE_PERCENT=20'])
  const seen = new Set()
  // run an empty ingest and return the configuration of the one new report it wrote
  const cfgOf = async opts => {
    assertSummary(await sb.ingest('', opts), 0, {})
    const fresh = sb.reports().filter(x => !seen.has(x.key))
    assert.equal(fresh.length, 1, 'exactly one new report per invocation')
    seen.add(fresh[0].key)
    return fresh[0].body.configuration
  }
  let c = await cfgOf({})
  assert.deepEqual([c.MAX_FILES_PER_MANIFEST, c.MIN_FILES_FOR_PARTIAL_BATCH, c.SIZE_TOLERANCE_PERCENT], [10, 1, 10], 'defaults')
  c = await cfgOf({ args: ['--config', conf] })
  assert.deepEqual([c.MAX_FILES_PER_MANIFEST, c.MIN_FILES_FOR_PARTIAL_BATCH, c.SIZE_TOLERANCE_PERCENT], [5, 2, 20], 'file over defaults')
  c = await cfgOf({ args: ['--config', conf], env: { MAX_FILES_PER_MANIFEST: '7' } })
  assert.deepEqual([c.MAX_FILES_PER_MANIFEST, c.MIN_FILES_FOR_PARTIAL_BATCH, c.SIZE_TOLERANCE_PERCENT], [7, 2, 20], 'env over file')
  c = await cfgOf({ args: ['--config', conf, '--set', 'MAX_FILES_PER_MANIFEST=9', '--set', 'SIZE_TOLERANCE_PERCENT=30'],
    env: { MAX_FILES_PER_MANIFEST: '7' } })
  assert.deepEqual([c.MAX_FILES_PER_MANIFEST, c.MIN_FILES_FOR_PARTIAL_BATCH, c.SIZE_TOLERANCE_PERCENT], [9, 2, 30], '--set over env')
})

test('config: the value in effect is the one used (MAX from --set beats env and file in the actual batches)', async t => {
  const sb = sandbox(t)
  const conf = writeConfig(sb, ['MAX_FILES_PER_MANIFEST=2'])
  const r = await sb.ingest([s3Event(putMany(sb, TODAY, 9))],
    { args: ['--config', conf, '--set', 'MAX_FILES_PER_MANIFEST=4'], env: { MAX_FILES_PER_MANIFEST: '3' } })
  assertSummary(r, 0, { processed: 9, manifests: 2 })
  assert.deepEqual(sb.batches().map(b => b.file_count), [4, 4])
})

test('config: the file accepts comments, blank lines, spaces around "=" and quoted values', async t => {
  const sb = sandbox(t)
  const conf = writeConfig(sb, ['# ndpq settings', '', '  MAX_FILES_PER_MANIFEST = 3  ', 'QUARANTINE_BUCKET="rejects"',
    "ALLOWED_EXTENSIONS='.ndjson,.jsonl'", '   # indented comment'])
  const r = await sb.ingest([s3Event([...putMany(sb, TODAY, 3), sb.put(`${TODAY}-x.jsonl`), sb.put(`${TODAY}-y.txt`)])],
    { args: ['--config', conf] })
  assertSummary(r, 0, { processed: 4, quarantined: 1, manifests: 1 })
  const c = sb.reports()[0].body.configuration
  assert.equal(c.MAX_FILES_PER_MANIFEST, 3)
  assert.equal(c.QUARANTINE_BUCKET, 'rejects')
  assert.equal(c.ALLOWED_EXTENSIONS, '.ndjson,.jsonl')
  assert.deepEqual(listFiles(sb.bucket('rejects')), [`${TODAY}-y.txt`, `${TODAY}-y.txt.quarantine.json`])
})

// [description, where ('env' | 'file' | 'set'), settings, the setting the message must name]
const BAD = [
  ['MAX < 1', 'env', { MAX_FILES_PER_MANIFEST: '0' }, 'MAX_FILES_PER_MANIFEST'],
  ['MAX negative', 'set', { MAX_FILES_PER_MANIFEST: '-3' }, 'MAX_FILES_PER_MANIFEST'],
  ['MIN > MAX', 'env', { MAX_FILES_PER_MANIFEST: '3', MIN_FILES_FOR_PARTIAL_BATCH: '5' }, 'MIN_FILES_FOR_PARTIAL_BATCH'],
  ['MIN > MAX across sources', 'file', { MIN_FILES_FOR_PARTIAL_BATCH: '11' }, 'MIN_FILES_FOR_PARTIAL_BATCH'],
  ['MIN < 1', 'set', { MIN_FILES_FOR_PARTIAL_BATCH: '0' }, 'MIN_FILES_FOR_PARTIAL_BATCH'],
  ['tolerance above 100', 'env', { SIZE_TOLERANCE_PERCENT: '101' }, 'SIZE_TOLERANCE_PERCENT'],
  ['tolerance below 0', 'set', { SIZE_TOLERANCE_PERCENT: '-0.5' }, 'SIZE_TOLERANCE_PERCENT'],
  ['tolerance not a number', 'file', { SIZE_TOLERANCE_PERCENT: 'ten' }, 'SIZE_TOLERANCE_PERCENT'],
  ['MAX not a number', 'env', { MAX_FILES_PER_MANIFEST: 'ten' }, 'MAX_FILES_PER_MANIFEST'],
  ['MAX not a whole number', 'set', { MAX_FILES_PER_MANIFEST: '10.5' }, 'MAX_FILES_PER_MANIFEST'],
  ['MAX with trailing junk', 'file', { MAX_FILES_PER_MANIFEST: '10x' }, 'MAX_FILES_PER_MANIFEST'],
  ['MAX empty', 'env', { MAX_FILES_PER_MANIFEST: '' }, 'MAX_FILES_PER_MANIFEST'],
  ['expected size not a number', 'env', { EXPECTED_FILE_SIZE_MB: 'abc' }, 'EXPECTED_FILE_SIZE_MB'],
  ['expected size NaN', 'set', { EXPECTED_FILE_SIZE_MB: 'nan' }, 'EXPECTED_FILE_SIZE_MB'],
  ['expected size negative', 'set', { EXPECTED_FILE_SIZE_MB: '-1' }, 'EXPECTED_FILE_SIZE_MB'],
  ['MAX_BATCH_BYTES negative', 'env', { MAX_BATCH_BYTES: '-1' }, 'MAX_BATCH_BYTES'],
  ['MAX_BATCH_WAIT_SECONDS not a number', 'env', { MAX_BATCH_WAIT_SECONDS: '5m' }, 'MAX_BATCH_WAIT_SECONDS'],
  ['QUARANTINE_MODE not copy/move', 'env', { QUARANTINE_MODE: 'delete' }, 'QUARANTINE_MODE'],
  ['unknown key in the config file', 'file', { MAX_FILES_PER_MANIFES: '10' }, 'MAX_FILES_PER_MANIFES'],
  ['unknown key in --set', 'set', { BATCH_SIZE: '10' }, 'BATCH_SIZE'],
  ['an empty INPUT_BUCKET', 'set', { INPUT_BUCKET: '' }, 'INPUT_BUCKET'],
  ['a bucket name with a slash', 'env', { MANIFEST_BUCKET: '../x' }, 'MANIFEST_BUCKET'],
]

for (const [what, where, settings, names] of BAD) {
  test(`config: ${what} (${where === 'set' ? '--set' : where === 'file' ? '--config file' : 'environment'}) → exit 2 naming ${names}, before anything is done`, async t => {
    const sb = sandbox(t)
    const a = sb.put(`${PAST}-a.ndjson`)
    const bad = sb.put(`${PAST}-bad.txt`)
    const args = []
    let env = {}
    if (where === 'env') env = settings
    if (where === 'set') for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`)
    if (where === 'file') args.push('--config', writeConfig(sb, Object.entries(settings).map(([k, v]) => `${k}=${v}`)))
    for (const cmd of ['ingest', 'flush', 'status']) {
      const r = cmd === 'ingest' ? await sb.ingest([s3Event([a, bad])], { args, env }) : await sb.run([cmd, ...args], { env })
      assertExit(r, 2)
      assert.ok(r.stderr.includes(names), `${cmd}: the message names ${names}: ${r.stderr}`)
      assert.equal(r.stdout, '', `${cmd}: no summary on a configuration error`)
    }
    assert.equal(fs.existsSync(sb.db), false, 'no tracking store was created')
    assert.deepEqual(listFiles(sb.home).filter(f => !f.startsWith('buckets/input/')), [], 'nothing written')
    assert.ok(fs.existsSync(bad.path))
  })
}

test('config: a missing --config file or a line without "=" → exit 2', async t => {
  const sb = sandbox(t)
  const r = await sb.ingest('', { args: ['--config', path.join(sb.dir, 'nope.conf')] })
  assertExit(r, 2)
  assert.match(r.stderr, /nope\.conf/)
  const conf = writeConfig(sb, ['MAX_FILES_PER_MANIFEST=3', 'JUST_A_WORD'])
  const r2 = await sb.ingest('', { args: ['--config', conf] })
  assertExit(r2, 2)
  assert.match(r2.stderr, /:2/, 'names the line')
  assert.equal(fs.existsSync(sb.db), false)
})

test('config: boundary values are accepted (tolerance 0 and 100, MIN = MAX, MAX = 1)', async t => {
  const sb = sandbox(t)
  for (const set of [['SIZE_TOLERANCE_PERCENT=0'], ['SIZE_TOLERANCE_PERCENT=100'],
    ['MAX_FILES_PER_MANIFEST=4', 'MIN_FILES_FOR_PARTIAL_BATCH=4'], ['MAX_FILES_PER_MANIFEST=1']]) {
    const r = await sb.ingest('', { args: set.flatMap(s => ['--set', s]) })
    assertSummary(r, 0, {})
  }
  // MAX=1: every file is its own batch
  const r = await sb.ingest([s3Event(putMany(sb, TODAY, 3))], { args: ['--set', 'MAX_FILES_PER_MANIFEST=1'] })
  assertSummary(r, 0, { processed: 3, manifests: 3 })
})

test('report: every invocation writes MANIFEST_BUCKET/logs/ingest/<report>.json with counts, manifests, errors and the configuration', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2', EXPECTED_FILE_SIZE_MB: '0.5', SIZE_TOLERANCE_PERCENT: '100' } })
  const objs = putMany(sb, PAST, 3)
  const r = await sb.ingest([s3Event([...objs, objs[0], sb.put(`${PAST}-x.txt`), { key: `${PAST}-gone.ndjson`, size: 3 }]), { Event: 's3:TestEvent' }])
  const s = assertSummary(r, 3, { processed: 3, quarantined: 1, duplicates: 1, ignored: 1, manifests: 2, errors: 1 })
  const reps = sb.reports('ingest')
  assert.equal(reps.length, 1)
  assert.match(reps[0].key, /^logs\/ingest\/[^/]+\.json$/)
  const b = reps[0].body
  assert.equal(b.processed, 3)
  assert.equal(b.quarantined, 1)
  assert.equal(b.duplicates, 1)
  assert.equal(b.ignored, 1)
  assert.deepEqual(b.manifests, s.manifests)
  assert.deepEqual(b.errors, s.errors)
  assert.deepEqual(b.batchItemFailures, s.batchItemFailures)
  assert.equal(b.status, 'partial_success')
  assert.equal(typeof b.start_time, 'string')
  assert.equal(typeof b.end_time, 'string')
  assert.equal(b.configuration.MAX_FILES_PER_MANIFEST, 2)
  assert.equal(b.configuration.MIN_FILES_FOR_PARTIAL_BATCH, 1)
  assert.equal(b.configuration.EXPECTED_FILE_SIZE_MB, 0.5)
  assert.equal(b.configuration.SIZE_TOLERANCE_PERCENT, 100)
  assert.equal(b.configuration.INPUT_BUCKET, 'input')
  assert.equal(b.configuration.MANIFEST_BUCKET, 'manifests')
  assert.equal(b.configuration.QUARANTINE_BUCKET, 'quarantine')
})

test('report: status is success / partial_success / failed, and reports made in the same second do not overwrite each other', async t => {
  const sb = sandbox(t)
  assertExit(await sb.ingest([s3Event(putMany(sb, TODAY, 1))]), 0)
  assertExit(await sb.ingest([s3Event([...putMany(sb, TODAY, 1, 1), { key: `${TODAY}-gone.ndjson`, size: 3 }])]), 3)
  assertExit(await sb.ingest([s3Event([{ key: `${TODAY}-gone.ndjson`, size: 3 }])]), 3)
  const reps = sb.reports('ingest')
  assert.equal(reps.length, 3, 'three reports (same fake second)')
  assert.deepEqual(reps.map(x => x.body.status).sort(), ['failed', 'partial_success', 'success'])
})
