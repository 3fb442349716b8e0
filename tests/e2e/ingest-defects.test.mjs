// The section-7 defects of the original pipeline that belong to this stage (issue 3): each
// test is named after the defect it rules out (../shared/reference/UPSTREAM.md §7).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  sandbox, assertExit, assertSummary, s3Event, s3Record, sqsEvent, PAST, TODAY, nowPlus, manifestUris,
  checkBatchesConsistent, listFiles, shuffle, runNdpq,
} from './ingest-lib.mjs'

function putMany(sb, d, n, { start = 0, dir = d } = {}) {
  return Array.from({ length: n }, (_, i) => sb.put(`${dir}/f-${d}-${String(start + i).padStart(5, '0')}.ndjson`))
}

const count = (sb, status) => sb.sql(`SELECT count(*) AS n FROM files WHERE status='${status}'`)[0].n

test('defect: lock race — concurrent ingests never share a file', async t => {
  // §7 #1/#25: stale reads let two workers build manifests from the same files. Here four
  // ingests and two flushes run at once on one database, on today's and a past date.
  const MAX = 7
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: String(MAX), LOG_LEVEL: 'warn' } })
  const objs = [...putMany(sb, PAST, 300), ...putMany(sb, TODAY, 300)]
  const docs = objs.map(o => JSON.stringify(s3Event([o])))
  const runs = []
  for (let p = 0; p < 4; p++) {
    const input = shuffle([...docs, ...docs], 1000 + p).join('\n') + '\n'
    runs.push(sb.run(['ingest', '-'], { input }))
  }
  runs.push(sb.flush(), sb.flush({ args: ['--date', PAST] }))
  const results = await Promise.all(runs)
  const ingests = results.slice(0, 4)
  for (const r of ingests) assertSummary(r, 0, { errors: 0, failures: [] })
  for (const r of results.slice(4)) assertSummary(r, 0, { errors: 0 })
  assert.equal(ingests.reduce((s, r) => s + r.summary.processed, 0), 600, 'each file processed exactly once overall')
  assert.equal(ingests.reduce((s, r) => s + r.summary.duplicates, 0), 4 * 1200 - 600)
  const { batches, manifests } = checkBatchesConsistent(sb, { max: MAX })
  const all = manifests.flatMap(m => manifestUris(m.body))
  assert.equal(new Set(all).size, all.length, 'no file is in two manifests')
  // every past-date file is batched; today's files only in full batches
  assert.equal(sb.sql(`SELECT count(*) n FROM files WHERE date_prefix='${PAST}' AND status='manifested'`)[0].n, 300)
  const today = batches.filter(b => b.date_prefix === TODAY)
  assert.ok(today.every(b => b.file_count === MAX && b.close_reason === 'full'), 'today: full batches only')
  assert.equal(today.length, Math.floor(300 / MAX))
  assert.equal(sb.sql(`SELECT count(*) n FROM files WHERE date_prefix='${TODAY}' AND status='pending'`)[0].n, 300 % MAX)
})

test('defect: non-idempotent tracking — a redelivered event never resets a file or adds a row', async t => {
  // §7 #4: redelivery reset status to pending → the file was batched again.
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2' } })
  const [a, b, c] = putMany(sb, TODAY, 3)
  const ev = sqsEvent([{ messageId: 'm1', body: s3Event([a, b]) }, { messageId: 'm2', body: s3Event([c]) }])
  assertSummary(await sb.ingest([ev]), 0, { processed: 3, duplicates: 0, manifests: 1 })
  const before = sb.files()
  assert.deepEqual(before.map(f => f.status), ['manifested', 'manifested', 'pending'])
  // the whole SQS batch is delivered again, twice, later
  const r = await sb.ingest([ev, ev], { env: { NDPQ_FAKE_NOW: nowPlus(120) } })
  assertSummary(r, 0, { processed: 0, duplicates: 6, manifests: 0, errors: 0, failures: [] })
  assert.deepEqual(sb.files(), before, 'no status reset, no new row, no timestamp change')
  assert.equal(sb.batches().length, 1, 'no second batch for the redelivered files')
  assert.equal(sb.manifests().length, 1)
})

test('defect: non-idempotent tracking — a redelivered event for a file quarantined with QUARANTINE_MODE=move is a duplicate, not a failure', async t => {
  const sb = sandbox(t, { env: { QUARANTINE_MODE: 'move' } })
  const bad = sb.put(`${PAST}-bad.txt`, 'oops\n')
  const ev = sqsEvent([{ messageId: 'q1', body: s3Event([bad]) }])
  assertSummary(await sb.ingest([ev]), 0, { quarantined: 1 })
  assert.equal(fs.existsSync(bad.path), false)
  const rows = sb.files()
  // SQS redelivers the same message: the file is tracked, so this is a counted no-op
  const r = await sb.ingest([ev])
  assertSummary(r, 0, { processed: 0, quarantined: 0, duplicates: 1, errors: 0, failures: [] })
  assert.deepEqual(sb.files(), rows)
})

test('defect: non-idempotent tracking — a redelivered event for a quarantined file does not quarantine it again', async t => {
  const sb = sandbox(t)
  const bad = sb.put(`${PAST}-bad.txt`, 'oops\n')
  const ev = s3Event([bad])
  assertSummary(await sb.ingest([ev]), 0, { quarantined: 1 })
  const sidecar = sb.objectPath(bad.key + '.quarantine.json', 'quarantine')
  const first = fs.readFileSync(sidecar, 'utf8')
  const r = await sb.ingest([ev], { env: { NDPQ_FAKE_NOW: nowPlus(3600) } })
  assertSummary(r, 0, { processed: 0, quarantined: 0, duplicates: 1, errors: 0 })
  assert.equal(fs.readFileSync(sidecar, 'utf8'), first, 'the sidecar (reason, time) is not rewritten by a redelivery')
})

test('defect: manifest keys collide within one second', async t => {
  // §7 #17: key = batch-<index restarting at 1>-<second>; two manifests of one date in one
  // second overwrote each other. Here the clock is frozen: every batch is made in the same
  // second, by several invocations, and every one keeps its own manifest.
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const objs = putMany(sb, TODAY, 14)
  assertSummary(await sb.ingest([s3Event(objs.slice(0, 7))]), 0, { manifests: 2 })
  assertSummary(await sb.ingest([s3Event(objs.slice(7))]), 0, { manifests: 2 })
  assertSummary(await sb.flush({ args: ['--date', TODAY] }), 0, { manifests: 1 })
  const { batches, manifests } = checkBatchesConsistent(sb, { max: 3 })
  assert.equal(batches.length, 5)
  assert.equal(new Set(manifests.map(m => m.key)).size, 5, 'five distinct manifest keys')
  assert.ok(manifests.every(m => m.key.startsWith(`manifests/${TODAY}/`)))
  const all = manifests.flatMap(m => manifestUris(m.body))
  assert.deepEqual(all.sort(), objs.map(o => sb.uri(o.key)).sort(), 'all 14 files, each in exactly one manifest')
  assert.equal(new Set(sb.reports('ingest').map(x => x.key)).size, 2, 'reports of the same second do not collide either')
})

test('defect: identity by base name', async t => {
  // §7 #18: file_key was the base name: the same name in another directory was dropped.
  const sb = sandbox(t)
  const name = `${PAST}-part-0001.ndjson`
  const objs = ['a', 'b', 'b/c', `x/${TODAY}`].map(d => sb.put(`${d}/${name}`, `{"dir":"${d}"}\n`))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 4, duplicates: 0, manifests: 1 })
  assert.deepEqual(sb.files().map(f => f.key), objs.map(o => o.key).sort())
  const [m] = sb.manifests()
  assert.deepEqual(manifestUris(m.body).sort(), objs.map(o => sb.uri(o.key)).sort(), 'all four are in the manifest')
  // a later upload of the same name in yet another directory is a new file too
  const e = sb.put(`e/${name}`)
  assertSummary(await sb.ingest([s3Event([e])]), 0, { processed: 1, duplicates: 0 })
  assert.equal(sb.files().length, 5)
})

test('defect: keys not URL-decoded', async t => {
  // §7 #19: keys were used as sent (form-encoded): keys with spaces or specials broke reads
  // and quarantine.
  const sb = sandbox(t)
  const good = sb.put(`uploads/my data/${PAST} report+final (1) ä.ndjson`)
  const bad = sb.put(`uploads/my data/${PAST} notes & more.txt`)
  const ev = s3Event([good, bad])
  const raw = ev.Records.map(r => r.s3.object.key)
  assert.deepEqual(raw, [`uploads/my+data/${PAST}+report%2Bfinal+%281%29+%C3%A4.ndjson`, `uploads/my+data/${PAST}+notes+%26+more.txt`])
  const r = await sb.ingest([sqsEvent([{ messageId: 'enc', body: ev }])])
  assertSummary(r, 0, { processed: 1, quarantined: 1, errors: 0, failures: [], manifests: 1 })
  const rows = sb.files()
  assert.deepEqual(rows.map(f => f.key).sort(), [bad.key, good.key].sort(), 'tracked under the decoded keys')
  assert.equal(rows.find(f => f.key === good.key).uri, sb.uri(good.key))
  const [m] = sb.manifests()
  assert.deepEqual(manifestUris(m.body), [sb.uri(good.key)])
  assert.ok(manifestUris(m.body)[0].endsWith(`/my%20data/${PAST}%20report+final%20(1)%20%C3%A4.ndjson`))
  // quarantine copied to the decoded key
  assert.deepEqual(listFiles(sb.bucket('quarantine')), [bad.key, bad.key + '.quarantine.json'])
})

test('defect: failures swallowed, SQS messages lost', async t => {
  // §7 #20: per-record failures were logged and the whole SQS batch was deleted. Here the
  // failed message is listed in batchItemFailures, the exit code is 3, and the other
  // messages are still processed.
  const sb = sandbox(t)
  const [a, b, c] = putMany(sb, PAST, 3)
  fs.rmSync(b.path) // b's event arrives before the object is readable
  const ev = sqsEvent([
    { messageId: 'ok-1', body: s3Event([a]) },
    { messageId: 'fails', body: s3Event([b]) },
    { messageId: 'ok-2', body: s3Event([c]) },
  ])
  const r = await sb.ingest([ev])
  const s = assertSummary(r, 3, { processed: 2, errors: 1, failures: ['fails'], manifests: 1 })
  assert.match(s.errors[0].event, /fails/)
  assert.match(s.errors[0].message, /not found/i)
  assert.deepEqual(sb.files().map(f => f.key), [a.key, c.key])
  const rep = sb.reports()[0].body
  assert.equal(rep.status, 'partial_success')
  assert.deepEqual(rep.batchItemFailures, [{ itemIdentifier: 'fails' }])
  assert.equal(rep.errors.length, 1)
  // Lambda retries only the listed message; once the object exists it succeeds
  sb.put(b.key)
  const retry = sqsEvent([{ messageId: 'fails', body: s3Event([b]) }])
  assertSummary(await sb.ingest([retry]), 0, { processed: 1, errors: 0, failures: [] })
  assert.equal(sb.files().length, 3)
})

test('defect: failures swallowed — every failed message of a batch is listed once, successes never', async t => {
  const sb = sandbox(t)
  const good = putMany(sb, PAST, 2)
  const ev = sqsEvent([
    { messageId: 'g1', body: s3Event([good[0]]) },
    { messageId: 'x1', body: s3Event([{ key: 'missing-1.ndjson', size: 1 }, { key: 'missing-2.ndjson', size: 1 }]) },
    { messageId: 'x2', body: '{not json' },
    { messageId: 'x3', body: { Records: [s3Record(`../${PAST}.ndjson`, 1, { rawKey: `..%2F${PAST}.ndjson` })] } },
    { messageId: 'x4', body: s3Event([{ key: good[1].key, size: 8, bucket: 'elsewhere' }]) },
    { messageId: 'g2', body: s3Event([good[1]]) },
    { messageId: 'ign', body: { Event: 's3:TestEvent' } },
  ])
  const r = await sb.ingest([ev])
  assertSummary(r, 3, { processed: 2, ignored: 1, errors: 5, failures: ['x1', 'x2', 'x3', 'x4'] })
  assert.equal(r.summary.batchItemFailures.length, 4, 'x1 is listed once although two of its records failed')
})

test('defect: quarantine without a record', async t => {
  // §7 #21: no tracking row, metadata dropped, source kept, counted even without a bucket.
  const sb = sandbox(t, { env: { EXPECTED_FILE_SIZE_MB: '1', SIZE_TOLERANCE_PERCENT: '10' } })
  const small = sb.put(`in/${PAST}-small.ndjson`, '{"a":1}\n')
  const wrong = sb.put(`in/${PAST}-data.csv`, 1048576)
  const r = await sb.ingest([s3Event([small, wrong])])
  assertSummary(r, 0, { processed: 0, quarantined: 2, errors: 0, manifests: 0 })
  const rows = sb.files()
  assert.deepEqual(rows.map(f => [f.key, f.status, f.batch_id]), [[wrong.key, 'quarantined', null], [small.key, 'quarantined', null]])
  assert.match(rows.find(f => f.key === small.key).reason, /^Size 0\.00MB outside expected range 0\.90-1\.10MB$/)
  assert.match(rows.find(f => f.key === wrong.key).reason, /extension/i)
  for (const f of rows) {
    const side = JSON.parse(fs.readFileSync(sb.objectPath(f.key + '.quarantine.json', 'quarantine'), 'utf8'))
    assert.equal(side.reason, f.reason, 'the sidecar carries the reason')
    assert.equal(side.size, f.size)
    assert.equal(side.source, f.uri)
    assert.ok(side.quarantined_at)
  }
  const st = await sb.status()
  assert.deepEqual(st.quarantined.map(q => q.key).sort(), [small.key, wrong.key].sort())
  // without a quarantine bucket the record is still written
  const sb2 = sandbox(t, { env: { QUARANTINE_BUCKET: '' } })
  const z = sb2.put(`${PAST}-zero.ndjson`, '')
  assertSummary(await sb2.ingest([s3Event([z])]), 0, { quarantined: 1 })
  assert.deepEqual(sb2.files().map(f => [f.key, f.status, !!f.reason]), [[z.key, 'quarantined', true]])
  assert.deepEqual((await sb2.status()).quarantined.map(q => q.key), [z.key])
})

test('defect: orphan flush waits for the next upload', async t => {
  // §7 #13: yesterday's leftovers were flushed only as a side effect of a new upload.
  const sb = sandbox(t)
  const objs = putMany(sb, PAST, 3)
  // uploaded yesterday, when PAST was today: a partial batch waits
  assertSummary(await sb.ingest([s3Event(objs)], { env: { NDPQ_FAKE_NOW: `${PAST}T21:00:00` } }), 0, { processed: 3, manifests: 0 })
  assert.equal(count(sb, 'pending'), 3)
  // the next day, with no upload at all, the timer's flush batches them
  const f = await sb.flush({ env: { NDPQ_FAKE_NOW: `${TODAY}T00:00:01` } })
  assertSummary(f, 0, { processed: 0, manifests: 1, errors: 0 })
  assert.deepEqual(sb.batches().map(b => [b.date_prefix, b.file_count, b.close_reason]), [[PAST, 3, 'orphan']])
  assert.equal(count(sb, 'pending'), 0)
  checkBatchesConsistent(sb)
})

test('defect: reads capped at about two batches', async t => {
  // §7 #11/#12: the pending read stopped at ~2×MAX files, so one call made at most ~2 batches.
  const env = { MAX_FILES_PER_MANIFEST: '10' }
  // (a) 35 past-date files pending (they arrived on their own day), one flush
  const sb = sandbox(t, { env })
  assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 35))], { env: { NDPQ_FAKE_NOW: `${PAST}T08:00:00`, MAX_FILES_PER_MANIFEST: '100' } }),
    0, { processed: 35, manifests: 0 })
  assert.equal(count(sb, 'pending'), 35)
  const f = await sb.flush()
  assertSummary(f, 0, { manifests: 4 })
  assert.deepEqual(sb.batches().map(b => b.file_count), [10, 10, 10, 5])
  assert.equal(count(sb, 'pending'), 0)
  checkBatchesConsistent(sb, { max: 10 })
  // (b) 35 past-date files in one ingest call
  const sb2 = sandbox(t, { env })
  assertSummary(await sb2.ingest([s3Event(putMany(sb2, PAST, 35))]), 0, { processed: 35, manifests: 4 })
  assert.deepEqual(sb2.batches().map(b => b.file_count), [10, 10, 10, 5])
  // (c) 95 files for today in one call: 9 full batches, 5 wait
  const sb3 = sandbox(t, { env })
  assertSummary(await sb3.ingest([s3Event(putMany(sb3, TODAY, 95))]), 0, { processed: 95, manifests: 9 })
  assert.equal(count(sb3, 'pending'), 5)
})

test('defect: configuration drift', async t => {
  // §7 #35: nonsense values (4096 "MB", tolerance ≥ 100, MAX < 1, MIN > MAX) were accepted
  // silently and differed between sources. Here they are rejected at start, and each
  // report records the configuration in effect.
  const sb = sandbox(t)
  const a = sb.put(`${PAST}-a.ndjson`)
  for (const [env, name] of [
    [{ MAX_FILES_PER_MANIFEST: '0' }, 'MAX_FILES_PER_MANIFEST'],
    [{ MIN_FILES_FOR_PARTIAL_BATCH: '20' }, 'MIN_FILES_FOR_PARTIAL_BATCH'],
    [{ SIZE_TOLERANCE_PERCENT: '150' }, 'SIZE_TOLERANCE_PERCENT'],
    [{ EXPECTED_FILE_SIZE_MB: '4096MB' }, 'EXPECTED_FILE_SIZE_MB'],
    [{ MAX_FILES_PER_MANIFEST: 'ten' }, 'MAX_FILES_PER_MANIFEST'],
  ]) {
    for (const cmd of ['ingest', 'flush']) {
      const r = cmd === 'ingest' ? await sb.ingest([s3Event([a])], { env }) : await sb.flush({ env })
      assertExit(r, 2)
      assert.ok(r.stderr.includes(name), `${cmd} ${JSON.stringify(env)}: message names ${name}: ${r.stderr}`)
    }
  }
  assert.equal(fs.existsSync(sb.db), false, 'rejected before the tracking store is opened')
  assert.deepEqual(listFiles(sb.bucket('manifests')), [], 'no report for a rejected start')
  // the report holds the merged configuration actually used
  const conf = path.join(sb.dir, 'ndpq.conf')
  fs.writeFileSync(conf, 'MAX_FILES_PER_MANIFEST=4\nEXPECTED_FILE_SIZE_MB=3.5\nQUARANTINE_BUCKET=q-file\n')
  const r = await sb.ingest([s3Event([a])], {
    args: ['--config', conf, '--set', 'MIN_FILES_FOR_PARTIAL_BATCH=2'],
    env: { SIZE_TOLERANCE_PERCENT: '50', EXPECTED_FILE_SIZE_MB: '1' },
  })
  assertSummary(r, 0, { processed: 0, quarantined: 1 })
  const [rep] = sb.reports()
  assert.deepEqual(
    ['MAX_FILES_PER_MANIFEST', 'MIN_FILES_FOR_PARTIAL_BATCH', 'EXPECTED_FILE_SIZE_MB', 'SIZE_TOLERANCE_PERCENT', 'QUARANTINE_BUCKET', 'INPUT_BUCKET', 'MANIFEST_BUCKET']
      .map(k => rep.body.configuration[k]),
    [4, 2, 1, 50, 'q-file', 'input', 'manifests'])
  // ...and matches what was done: 8 bytes is below 1 MiB − 50% (env beat the file's 3.5) → quarantined into q-file
  assert.deepEqual(listFiles(sb.bucket('q-file')), [a.key, a.key + '.quarantine.json'])
})

test('defect: timezone — "today" is the UTC date whatever TZ says', async t => {
  // §7 #14: local dates made today's files look like yesterday's (premature partial batches).
  const utcToday = new Date().toISOString().slice(0, 10)
  for (const tz of ['Pacific/Kiritimati', 'Etc/GMT+12']) {
    const sb = sandbox(t)
    const env = { ...sb.env, NDPQ_FAKE_NOW: undefined, TZ: tz }
    const objs = [sb.put(`nodate-${tz.replace('/', '_')}.ndjson`), sb.put(`${utcToday}-dated.ndjson`)]
    const r = await runNdpq(['ingest', '-'], { env, input: JSON.stringify(s3Event(objs)) })
    assertSummary(r, 0, { processed: 2 })
    if (new Date().toISOString().slice(0, 10) !== utcToday) return // crossed midnight UTC while running
    assert.deepEqual(sb.files().map(f => f.date_prefix), [utcToday, utcToday], `TZ=${tz}`)
    assertSummary(r, 0, { manifests: 0 }) // today's partial batch is not flushed as an orphan
  }
})
