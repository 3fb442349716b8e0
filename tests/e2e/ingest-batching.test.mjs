// ndpq ingest / flush: batching rules, manifests, execution records, repair, status
// (issue 3, "Batching" and "Manifest, trigger, report, configuration, status").
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'

import {
  sandbox, assertExit, assertSummary, s3Event, sqsEvent, PAST, TODAY, FUTURE, nowPlus, manifestUris,
  checkBatchesConsistent, listFiles, fileUri,
} from './ingest-lib.mjs'

/** n files for date d, named so they sort in creation order; content of `bytes` bytes. */
function putMany(sb, d, n, { prefix = 'f', bytes = 8, start = 0 } = {}) {
  return Array.from({ length: n }, (_, i) => {
    const body = ('{"i":' + (start + i) + '}').padEnd(bytes - 1, ' ') + '\n'
    return sb.put(`${d}/${prefix}-${d}-${String(start + i).padStart(5, '0')}.ndjson`, body)
  })
}

const count = (sb, status, date) => sb.sql(
  `SELECT count(*) AS n FROM files WHERE status='${status}'${date ? ` AND date_prefix='${date}'` : ''}`)[0].n

const reasons = sb => sb.batches().map(b => [b.date_prefix, b.file_count, b.close_reason])

test('batching: for today only full batches of MAX_FILES_PER_MANIFEST are made; the rest waits', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const objs = putMany(sb, TODAY, 7)
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 7, manifests: 2 })
  assert.deepEqual(reasons(sb), [[TODAY, 3, 'full'], [TODAY, 3, 'full']])
  assert.equal(count(sb, 'pending', TODAY), 1)
  assert.equal(count(sb, 'manifested', TODAY), 6)
  // the oldest files go first
  const pend = sb.sql("SELECT key FROM files WHERE status='pending'")
  assert.deepEqual(pend.map(p => p.key), [objs[6].key])
  // two more files complete the third batch
  const more = putMany(sb, TODAY, 2, { start: 7 })
  assertSummary(await sb.ingest([s3Event(more)]), 0, { processed: 2, manifests: 1 })
  assert.deepEqual(reasons(sb).map(x => x[2]), ['full', 'full', 'full'])
  assert.equal(count(sb, 'pending'), 0)
  checkBatchesConsistent(sb, { max: 3 })
})

test('batching: a future date is treated like today (full batches only, never flushed as an orphan)', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const objs = putMany(sb, FUTURE, 4)
  assertSummary(await sb.ingest([s3Event(objs)]), 0, { processed: 4, manifests: 1 })
  assert.deepEqual(reasons(sb), [[FUTURE, 3, 'full']])
  const f = await sb.flush()
  assertSummary(f, 0, { manifests: 0 })
  assert.equal(count(sb, 'pending', FUTURE), 1)
})

test('batching: a past date (orphan mode) is batched as soon as MIN_FILES_FOR_PARTIAL_BATCH files are pending', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', MIN_FILES_FOR_PARTIAL_BATCH: '3' } })
  const objs = putMany(sb, PAST, 3)
  assertSummary(await sb.ingest([s3Event(objs.slice(0, 2))]), 0, { processed: 2, manifests: 0 })
  assert.equal(count(sb, 'pending', PAST), 2, 'fewer than MIN: nothing yet')
  assertSummary(await sb.ingest([s3Event(objs.slice(2))]), 0, { processed: 1, manifests: 1 })
  assert.deepEqual(reasons(sb), [[PAST, 3, 'orphan']])
  assert.equal(count(sb, 'pending'), 0)
  checkBatchesConsistent(sb)
})

test('batching: a past date is cut into batches of up to MAX; a remainder below MIN waits', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '5', MIN_FILES_FOR_PARTIAL_BATCH: '3' } })
  const objs = putMany(sb, PAST, 12)
  assertSummary(await sb.ingest([s3Event(objs)]), 0, { processed: 12, manifests: 2 })
  assert.deepEqual(reasons(sb), [[PAST, 5, 'full'], [PAST, 5, 'full']])
  assert.equal(count(sb, 'pending', PAST), 2)
  // with the default MIN (1) the remainder is flushed
  const sb2 = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '5' } })
  assertSummary(await sb2.ingest([s3Event(putMany(sb2, PAST, 12))]), 0, { processed: 12, manifests: 3 })
  assert.deepEqual(reasons(sb2), [[PAST, 5, 'full'], [PAST, 5, 'full'], [PAST, 2, 'orphan']])
  checkBatchesConsistent(sb2, { max: 5 })
})

test('batching: MAX_BATCH_BYTES closes a batch early when its files reach that size (reason "bytes")', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', MAX_BATCH_BYTES: '100' } })
  const objs = putMany(sb, TODAY, 7, { bytes: 40 })
  assertSummary(await sb.ingest([s3Event(objs)]), 0, { processed: 7, manifests: 2 })
  // 40+40 = 80 < 100; +40 = 120 ≥ 100 → 3 files per batch; the last file (40 B) waits
  assert.deepEqual(reasons(sb), [[TODAY, 3, 'bytes'], [TODAY, 3, 'bytes']])
  assert.deepEqual(sb.batches().map(b => b.total_bytes), [120, 120])
  assert.equal(count(sb, 'pending'), 1)
  // exactly reaching the limit closes too, and one file above the limit is a batch on its own
  const sb2 = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', MAX_BATCH_BYTES: '100' } })
  const exact = putMany(sb2, TODAY, 2, { bytes: 50 })
  const big = putMany(sb2, TODAY, 1, { bytes: 150, prefix: 'g' })
  assertSummary(await sb2.ingest([s3Event(exact)]), 0, { manifests: 1 })
  assertSummary(await sb2.ingest([s3Event(big)]), 0, { manifests: 1 })
  assert.deepEqual(reasons(sb2), [[TODAY, 2, 'bytes'], [TODAY, 1, 'bytes']])
  checkBatchesConsistent(sb2)
})

test('batching: MAX_BATCH_WAIT_SECONDS flushes a partial batch whose oldest file waited that long (reason "age", needs MIN)', async t => {
  const env = { MAX_FILES_PER_MANIFEST: '10', MIN_FILES_FOR_PARTIAL_BATCH: '2', MAX_BATCH_WAIT_SECONDS: '600' }
  const sb = sandbox(t, { env })
  const objs = putMany(sb, TODAY, 3)
  assertSummary(await sb.ingest([s3Event(objs.slice(0, 2))]), 0, { processed: 2, manifests: 0 })
  // 599 s later: not yet (a new file arrives; the rules run for today)
  assertSummary(await sb.ingest([s3Event(objs.slice(2))], { env: { NDPQ_FAKE_NOW: nowPlus(599) } }), 0, { processed: 1, manifests: 0 })
  assertSummary(await sb.flush({ env: { NDPQ_FAKE_NOW: nowPlus(599) } }), 0, { manifests: 0 })
  assert.equal(count(sb, 'pending'), 3)
  // 600 s after the oldest file: the whole partial batch closes
  assertSummary(await sb.flush({ env: { NDPQ_FAKE_NOW: nowPlus(600) } }), 0, { manifests: 1 })
  assert.deepEqual(reasons(sb), [[TODAY, 3, 'age']])
  checkBatchesConsistent(sb)

  // fewer than MIN files never close by age
  const sb2 = sandbox(t, { env })
  assertSummary(await sb2.ingest([s3Event(putMany(sb2, TODAY, 1))]), 0, { processed: 1 })
  assertSummary(await sb2.flush({ env: { NDPQ_FAKE_NOW: nowPlus(6 * 3600) } }), 0, { manifests: 0 })
  assert.equal(count(sb2, 'pending'), 1)

  // off by default
  const sb3 = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10' } })
  assertSummary(await sb3.ingest([s3Event(putMany(sb3, TODAY, 3))]), 0, { processed: 3 })
  assertSummary(await sb3.flush({ env: { NDPQ_FAKE_NOW: nowPlus(11 * 3600) } }), 0, { manifests: 0 })
  assert.equal(count(sb3, 'pending'), 3)
})

test('batching: the age rule also runs at ingest time for the dates it touched', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', MAX_BATCH_WAIT_SECONDS: '60' } })
  const objs = putMany(sb, TODAY, 2)
  assertSummary(await sb.ingest([s3Event(objs.slice(0, 1))]), 0, { manifests: 0 })
  assertSummary(await sb.ingest([s3Event(objs.slice(1))], { env: { NDPQ_FAKE_NOW: nowPlus(60) } }), 0, { manifests: 1 })
  assert.deepEqual(reasons(sb), [[TODAY, 2, 'age']])
})

test('flush: applies the orphan rule to every pending past date, leaves today and future dates alone', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10' } })
  // each day's files arrive on their own day, so they stay pending (fewer than MAX)
  const days = ['2025-06-12', '2025-06-13', '2025-06-14', TODAY]
  for (const d of days) {
    assertSummary(await sb.ingest([s3Event(putMany(sb, d, 4))], { env: { NDPQ_FAKE_NOW: `${d}T23:00:00` } }), 0,
      { processed: 4, manifests: 0 })
  }
  assertSummary(await sb.ingest([s3Event(putMany(sb, FUTURE, 2))]), 0, { processed: 2, manifests: 0 })
  const f = await sb.flush()
  assertSummary(f, 0, { processed: 0, manifests: 3, errors: 0 })
  assert.deepEqual(reasons(sb), [['2025-06-12', 4, 'orphan'], ['2025-06-13', 4, 'orphan'], ['2025-06-14', 4, 'orphan']])
  assert.equal(count(sb, 'pending', TODAY), 4)
  assert.equal(count(sb, 'pending', FUTURE), 2)
  checkBatchesConsistent(sb)
  // flushing again is a no-op
  assertSummary(await sb.flush(), 0, { manifests: 0 })
  assert.equal(sb.batches().length, 3)
  // the flush report is written under logs/flush/
  const rep = sb.reports('flush')
  assert.equal(rep.length, 2)
  assert.ok(rep.some(x => x.body.manifests.length === 3))
})

test('flush: MIN_FILES_FOR_PARTIAL_BATCH also applies to the orphan flush', async t => {
  const sb = sandbox(t, { env: { MIN_FILES_FOR_PARTIAL_BATCH: '3' } })
  assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 2))], { env: { NDPQ_FAKE_NOW: `${PAST}T10:00:00` } }), 0, { processed: 2 })
  assertSummary(await sb.flush(), 0, { manifests: 0 })
  assert.equal(count(sb, 'pending'), 2)
})

test('flush --date D closes D\'s partial batch (reason "manual"), even when D is today', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', MIN_FILES_FOR_PARTIAL_BATCH: '5' } })
  assertSummary(await sb.ingest([s3Event(putMany(sb, TODAY, 23))]), 0, { processed: 23, manifests: 2 })
  assertSummary(await sb.ingest([s3Event(putMany(sb, FUTURE, 2))]), 0, { processed: 2, manifests: 0 })
  assertSummary(await sb.flush(), 0, { manifests: 0 })
  const f = await sb.flush({ args: ['--date', TODAY] })
  assertSummary(f, 0, { manifests: 1 })
  assert.deepEqual(reasons(sb), [[TODAY, 10, 'full'], [TODAY, 10, 'full'], [TODAY, 3, 'manual']])
  assert.equal(count(sb, 'pending', TODAY), 0)
  assert.equal(count(sb, 'pending', FUTURE), 2, 'other dates are untouched')
  // a date with nothing pending: a no-op
  assertSummary(await sb.flush({ args: ['--date', '2025-01-01'] }), 0, { manifests: 0 })
  checkBatchesConsistent(sb, { max: 10 })
})

test('flush --date D on a past date closes the remainder below MIN too', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', MIN_FILES_FOR_PARTIAL_BATCH: '5' } })
  assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 2))]), 0, { processed: 2, manifests: 0 })
  assertSummary(await sb.flush({ args: ['--date', PAST] }), 0, { manifests: 1 })
  assert.deepEqual(reasons(sb).map(x => x.slice(0, 2)), [[PAST, 2]])
  assert.equal(count(sb, 'pending'), 0)
})

test('batching: the rules loop until nothing qualifies (25 files today, MAX 10 → 2 batches in one call)', async t => {
  const sb = sandbox(t)
  assertSummary(await sb.ingest([s3Event(putMany(sb, TODAY, 25))]), 0, { processed: 25, manifests: 2 })
  assert.deepEqual(reasons(sb), [[TODAY, 10, 'full'], [TODAY, 10, 'full']])
  assert.equal(count(sb, 'pending'), 5)
})

test('batching: one input touching several dates batches each date separately', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '4' } })
  const objs = [...putMany(sb, '2025-06-10', 5), ...putMany(sb, '2025-06-11', 3), ...putMany(sb, TODAY, 9)]
  const r = await sb.ingest([s3Event(objs.reverse())])
  assertSummary(r, 0, { processed: 17, manifests: 5 })
  assert.deepEqual(reasons(sb).sort(), [['2025-06-10', 1, 'orphan'], ['2025-06-10', 4, 'full'], ['2025-06-11', 3, 'orphan'],
    [TODAY, 4, 'full'], [TODAY, 4, 'full']].sort())
  checkBatchesConsistent(sb, { max: 4 })
})

test('manifest: MANIFEST_BUCKET/manifests/DATE/BATCH_ID.json with fileLocations[0].URIPrefixes and batch fields', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const objs = [sb.put(`in/${PAST}-a b.ndjson`, '{"a":1}\n'), sb.put(`in/${PAST}-c.ndjson`, '{"a":22}\n'),
    sb.put(`in/${PAST}-ü.ndjson`, '{"a":333}\n')]
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 3, manifests: 1 })
  const [b] = sb.batches()
  const key = `manifests/${PAST}/${b.batch_id}.json`
  assert.deepEqual(listFiles(sb.bucket('manifests')).filter(k => k.startsWith('manifests/')), [key])
  const path = sb.objectPath(key, 'manifests')
  assert.deepEqual(r.summary.manifests, [fileUri(path)], 'summary lists the manifest URI')
  const body = JSON.parse(fs.readFileSync(path, 'utf8'))
  assert.deepEqual([...manifestUris(body)].sort(), objs.map(o => sb.uri(o.key)).sort())
  assert.deepEqual(body, {
    fileLocations: [{ URIPrefixes: manifestUris(body) }],
    batch_id: b.batch_id,
    date_prefix: PAST,
    file_count: 3,
    total_bytes: 8 + 9 + 10,
    created_at: body.created_at,
    close_reason: 'full',
  })
  assert.match(body.created_at, /^2025-06-15T12:00:00(\.0+)?(Z|\+00:00)$/, 'created_at is now (UTC)')
  for (const u of manifestUris(body)) assert.match(u, /^file:\/\/\/[A-Za-z0-9\-._~/!$&'()*+,;=:@%]+$/, 'percent-encoded file URI')
  assert.ok(manifestUris(body).some(u => u.endsWith(`/buckets/input/in/${PAST}-a%20b.ndjson`)))
  assert.ok(manifestUris(body).some(u => u.endsWith(`/buckets/input/in/${PAST}-%C3%BC.ndjson`)))
  checkBatchesConsistent(sb)
})

test('trigger: each batch gets an executions row with manifest_path, date_prefix, file_count, batch_id, timestamp', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2' } })
  assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 5))]), 0, { manifests: 3 })
  const ex = sb.sql('SELECT * FROM executions ORDER BY batch_id')
  assert.equal(ex.length, 3)
  const batches = sb.batches()
  for (const e of ex) {
    const b = batches.find(x => x.batch_id === e.batch_id)
    assert.ok(b)
    assert.equal(e.state, 'pending')
    const input = JSON.parse(e.input)
    assert.deepEqual(Object.keys(input).sort(), ['batch_id', 'date_prefix', 'file_count', 'manifest_path', 'timestamp'])
    assert.equal(input.manifest_path, b.manifest_uri)
    assert.equal(input.file_count, b.file_count)
  }
  checkBatchesConsistent(sb)
})

test('manifest: MANIFEST_BUCKET names the bucket for manifests and reports', async t => {
  const sb = sandbox(t, { env: { MANIFEST_BUCKET: 'mf' } })
  const r = await sb.ingest([s3Event(putMany(sb, PAST, 2))])
  assertSummary(r, 0, { manifests: 1 })
  assert.equal(sb.manifests('mf').length, 1)
  assert.equal(sb.reports('ingest', 'mf').length, 1)
  assert.deepEqual(listFiles(sb.bucket('manifests')), [])
  assert.ok(r.summary.manifests[0].includes('/buckets/mf/manifests/'))
  checkBatchesConsistent(sb, { manifestBucket: 'mf' })
})

test('manifest: batch ids never repeat, across runs and even when the database is recreated next to old manifests', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2' } })
  const ids = []
  for (let run = 0; run < 3; run++) {
    assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 4, { start: run * 4 }))]), 0, { manifests: 2 })
  }
  ids.push(...sb.batches().map(b => b.batch_id))
  assert.equal(new Set(ids).size, 6)
  const old = sb.manifests().map(m => [m.key, fs.readFileSync(m.path, 'utf8')])
  assert.equal(old.length, 6)
  // restart from an empty tracking store with the same buckets
  fs.rmSync(sb.db)
  for (const s of ['-wal', '-shm']) fs.rmSync(sb.db + s, { force: true })
  assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 4, { start: 100 }))]), 0, { manifests: 2 })
  const fresh = sb.batches().map(b => b.batch_id)
  for (const id of fresh) assert.ok(!ids.includes(id), `batch id ${id} reused after a restart`)
  for (const [k, body] of old) assert.equal(fs.readFileSync(sb.objectPath(k, 'manifests'), 'utf8'), body, `old manifest ${k} untouched`)
  assert.equal(sb.manifests().length, 8)
})

for (const via of ['ingest', 'flush']) {
  test(`repair: a batch whose manifest was not written is repaired by the next ${via}`, async t => {
    const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
    assertSummary(await sb.ingest([s3Event(putMany(sb, PAST, 5))]), 0, { manifests: 2 })
    const [b1, b2] = sb.batches()
    const m = sb.manifests().find(x => x.body.batch_id === b2.batch_id)
    const original = fs.readFileSync(m.path, 'utf8')
    // simulate a crash between the claiming commit and the manifest write
    sb.sql(`UPDATE batches SET manifest_written=0 WHERE batch_id='${b2.batch_id}'`)
    fs.rmSync(m.path)
    const r = via === 'ingest' ? await sb.ingest('') : await sb.flush()
    assertSummary(r, 0, { processed: 0, manifests: [m.uri], errors: 0 })
    assert.equal(fs.readFileSync(m.path, 'utf8'), original, 'the same manifest is written again')
    assert.equal(sb.batches().find(x => x.batch_id === b2.batch_id).manifest_written, 1)
    assert.equal(sb.batches().length, 2, 'no new batch')
    assert.ok(b1)
    checkBatchesConsistent(sb)
    // once repaired it is not written again
    const r2 = via === 'ingest' ? await sb.ingest('') : await sb.flush()
    assertSummary(r2, 0, { manifests: 0 })
  })
}

test('repair: a manifest write that fails is reported as a failure, and the next flush writes it', async t => {
  const sb = sandbox(t)
  fs.mkdirSync(sb.bucket('manifests'), { recursive: true })
  fs.writeFileSync(sb.objectPath('manifests', 'manifests'), 'not a directory') // manifests/ cannot be created
  const objs = putMany(sb, PAST, 2)
  const r = await sb.ingest([s3Event(objs)])
  assert.notEqual(r.code, 0, 'the invocation did not fully succeed')
  assert.ok(r.summary, 'a summary is still printed')
  assert.equal(r.summary.processed, 2, 'the files are tracked (durably)')
  assert.deepEqual(r.summary.manifests, [])
  assert.equal(r.summary.errors.length, 1, `the manifest failure is listed in errors, once: ${r.stdout}`)
  const [rep] = sb.reports()
  assert.notEqual(rep.body.status, 'success', 'the report does not claim success')
  const [b] = sb.batches()
  assert.equal(b.manifest_written, 0, 'the batch row says its manifest is not written yet')
  // the store is fixed; the timer's flush repairs the batch
  fs.rmSync(sb.objectPath('manifests', 'manifests'))
  const f = await sb.flush()
  assertSummary(f, 0, { manifests: 1, errors: 0 })
  checkBatchesConsistent(sb)
})

test('status: counts per date and status, open and recent batches with reasons, --date filter', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  assertSummary(await sb.ingest([s3Event([...putMany(sb, PAST, 4), ...putMany(sb, TODAY, 5), sb.put(`${TODAY}-x.txt`)])]), 0,
    { processed: 9, quarantined: 1, manifests: 3 })
  const st = await sb.status()
  assert.deepEqual(st.counts, [
    { date: PAST, status: 'manifested', files: 4, bytes: 32 },
    { date: TODAY, status: 'manifested', files: 3, bytes: 24 },
    { date: TODAY, status: 'pending', files: 2, bytes: 16 },
    { date: TODAY, status: 'quarantined', files: 1, bytes: 8 },
  ])
  assert.equal(st.batches.length, 3)
  assert.deepEqual(st.batches.map(b => [b.date, b.file_count, b.close_reason, b.status]).sort(),
    [[PAST, 3, 'full', 'manifested'], [PAST, 1, 'orphan', 'manifested'], [TODAY, 3, 'full', 'manifested']].sort())
  const one = await sb.status({ args: ['--date', PAST] })
  assert.deepEqual(one.counts, [{ date: PAST, status: 'manifested', files: 4, bytes: 32 }])
  assert.equal(one.batches.length, 2)
  assert.deepEqual(one.quarantined, [])
  const text = await sb.run(['status'])
  assertExit(text, 0)
  for (const b of st.batches) assert.ok(text.stdout.includes(b.batch_id), 'text status lists the batches')
})

/** Every batch's manifest URIs, batch after batch in id order: the claim order. */
function claimOrder(sb) {
  const { batches, manifests } = checkBatchesConsistent(sb)
  const byKey = new Map(manifests.map(m => [m.key, m]))
  return batches.slice().sort((a, b) => a.seq - b.seq)
    .flatMap(b => manifestUris(byKey.get(`manifests/${b.date_prefix}/${b.batch_id}.json`).body))
}

/** n files of a past date ingested at once with env's batch limits: every
 * batch closes for `reason`, nothing stays pending, and the manifests list
 * every file once, oldest first, in batch order. */
async function claimsAll(t, env, n, { bytes, manifests, reason }) {
  const sb = sandbox(t, { env })
  const objs = putMany(sb, PAST, n, bytes ? { bytes } : undefined)
  assertSummary(await sb.ingest([s3Event(objs)]), 0, { processed: n, manifests })
  assert.deepEqual(new Set(reasons(sb).map(r => `${r[1]} ${r[2]}`)), new Set([reason]))
  assert.equal(count(sb, 'pending'), 0)
  assert.deepEqual(claimOrder(sb), objs.map(o => fileUri(o.path)))
}

test('batching: claims read pending files a transaction at a time; a window that runs short is committed and read again', async t => {
  // 10,500 files, 300 a batch: a claim transaction reads 10,000 at once, so
  // after 33 batches 100 are left in its window, fewer than a batch; those
  // 33 commit, and the next transaction reads on.
  await claimsAll(t, { MAX_FILES_PER_MANIFEST: '300' }, 10500, { manifests: 35, reason: '300 full' })
})

test('batching: more batches than one transaction takes (MAX_BATCH_BYTES) all come out, in order', async t => {
  // 40-byte files, a batch closed once it reaches 100 bytes: 3 files a
  // batch, 100 batches, more than the 64 a claim transaction makes.
  await claimsAll(t, { MAX_FILES_PER_MANIFEST: '10', MAX_BATCH_BYTES: '100' }, 300,
    { bytes: 40, manifests: 100, reason: '3 bytes' })
})

test('batching: a transaction that claims exactly its 64 batches reads on and finds nothing left (an empty read)', async t => {
  // 128 files at 2 a batch: 64 batches fill the first claim transaction,
  // which commits; the next one reads the pending files and gets none.
  await claimsAll(t, { MAX_FILES_PER_MANIFEST: '2' }, 128, { manifests: 64, reason: '2 full' })
})

test('batching: a long invocation claims its full batches as it goes (every 10,000 tracked files), the same batches as at the end', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '1000', LOG_LEVEL: 'debug' } })
  const objs = putMany(sb, TODAY, 10050)
  const docs = []
  for (let i = 0; i < objs.length; i += 50) docs.push(s3Event(objs.slice(i, i + 50)))
  const r = await sb.ingest(docs)
  assertSummary(r, 0, { processed: 10050, manifests: 10 })
  // The first claims come after the first 10,000 files commit, before the rest are tracked.
  const lines = r.stderr.split('\n')
  const firstBatch = lines.findIndex(l => / batch batch-\S+: 1000 file\(s\) for /.test(l))
  const tracked = key => lines.findIndex(l => l.includes(`tracked input/${key} for ${TODAY}`))
  assert.ok(firstBatch > tracked(objs[9999].key), 'claimed after the 10,000th file was tracked')
  assert.ok(tracked(objs[10000].key) > firstBatch, 'claimed before the 10,001st file was tracked')
  // Ten full batches of consecutive files, oldest first; the last 50 wait.
  const batches = sb.batches()
  assert.deepEqual(reasons(sb), Array(10).fill([TODAY, 1000, 'full']))
  const byBatch = new Map(batches.map((b, i) => [b.batch_id, i]))
  const files = sb.files()
  for (const f of files) {
    const i = Number(f.key.slice(-12, -7))
    if (i < 10000) assert.equal(byBatch.get(f.batch_id), Math.floor(i / 1000), `${f.key} in batch ${Math.floor(i / 1000)}`)
    else assert.deepEqual([f.status, f.batch_id], ['pending', null], `${f.key} waits`)
  }
  assert.equal(count(sb, 'pending', TODAY), 50)
  checkBatchesConsistent(sb, { max: 1000 })
})

test('batching: a batch formed as files are tracked goes back to pending when its transaction commits unfilled; the next one, and the next invocation, go on with it', async t => {
  // 10,050 files at 300 a batch: the first transaction (10,000 files) records
  // 33 full batches as they fill; the 100 files of the 34th go back to
  // pending at its commit. The next transaction starts from them and adds
  // 50; those 150 wait too.
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '300' } })
  const objs = putMany(sb, TODAY, 10050)
  const docs = []
  for (let i = 0; i < objs.length; i += 50) docs.push(s3Event(objs.slice(i, i + 50)))
  assertSummary(await sb.ingest(docs), 0, { processed: 10050, manifests: 33, errors: 0 })
  assert.deepEqual(reasons(sb), Array(33).fill([TODAY, 300, 'full']))
  assert.deepEqual(sb.sql("SELECT count(*) AS n, count(batch_id) AS b FROM files WHERE status='pending'"), [{ n: 150, b: 0 }])
  assert.deepEqual(sb.sql('SELECT (SELECT count(*) FROM executions) AS e, (SELECT count(*) FROM history) AS h'),
    [{ e: 33, h: 33 }], 'one execution and one history row per batch, none for a batch that did not close')
  assert.deepEqual(claimOrder(sb), objs.slice(0, 9900).map(o => fileUri(o.path)))
  const waiting = sb.sql("SELECT key FROM files WHERE status='pending' ORDER BY created_us, key").map(f => f.key)
  assert.deepEqual(waiting, objs.slice(9900).map(o => o.key))

  // 150 more: the 150 waiting head the next batch, oldest first.
  const more = putMany(sb, TODAY, 150, { start: 10050 })
  assertSummary(await sb.ingest([s3Event(more)]), 0, { processed: 150, manifests: 1, errors: 0 })
  assert.deepEqual(reasons(sb), Array(34).fill([TODAY, 300, 'full']))
  assert.equal(count(sb, 'pending'), 0)
  assert.deepEqual(claimOrder(sb), [...objs, ...more].map(o => fileUri(o.path)))
  checkBatchesConsistent(sb, { max: 300 })
})

test('batching: when recording a batch fails mid-transaction, none of the transaction\'s events commit and all are reported for retry; the retry tracks and batches each file once', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const objs = putMany(sb, TODAY, 7)
  const ev = sqsEvent(objs.map((o, i) => ({ messageId: `m${i}`, body: s3Event([o]) })))
  // The store refuses the second batch's history row: the first batch was
  // recorded in the same transaction, and must not survive either.
  assertExit(await sb.run(['status']), 0) // creates the store
  sb.sql("CREATE TRIGGER refuse BEFORE INSERT ON history WHEN (SELECT count(*) FROM history) >= 1 " +
    "BEGIN SELECT RAISE(ABORT, 'the store refuses'); END;")
  const r = await sb.ingest([ev])
  // m0..m5 were in the failed transaction; m6 came after, in a new one.
  const failed = objs.slice(0, 6).map((_, i) => `m${i}`)
  const s = assertSummary(r, 3, { processed: 1, manifests: 0, failures: failed })
  assert.ok(s.errors.every(e => /the store refuses/.test(e.message)), JSON.stringify(s.errors))
  assert.deepEqual(sb.sql('SELECT (SELECT count(*) FROM batches) AS b, (SELECT count(*) FROM executions) AS e'),
    [{ b: 0, e: 0 }], 'no batch committed')
  assert.deepEqual(sb.files().map(f => [f.key, f.status, f.batch_id]), [[objs[6].key, 'pending', null]])
  assert.deepEqual(listFiles(sb.bucket('manifests')).filter(k => k.startsWith('manifests/')), [], 'no manifest')

  // Lambda sends the failed messages again.
  sb.sql('DROP TRIGGER refuse')
  const retry = sqsEvent(failed.map(id => ({ messageId: id, body: s3Event([objs[Number(id.slice(1))]]) })))
  assertSummary(await sb.ingest([retry]), 0, { processed: 6, manifests: 2, errors: 0, failures: [] })
  assert.deepEqual(reasons(sb), [[TODAY, 3, 'full'], [TODAY, 3, 'full']])
  // Claim order is (time tracked, key, bucket); the sandbox's clock stands
  // still, so m6, tracked first, still sorts after the others.
  assert.deepEqual(claimOrder(sb), objs.slice(0, 6).map(o => fileUri(o.path)))
  assert.deepEqual(sb.sql("SELECT key FROM files WHERE status='pending'").map(f => f.key), [objs[6].key])
  assert.equal(sb.files().length, 7)
  checkBatchesConsistent(sb, { max: 3 })
})

test('batching: files that do not come in claim order are not formed into batches as they are tracked, but still claimed after every 10,000 tracked files', async t => {
  // The sandbox's clock stands still, so claim order is key order; the keys
  // come in descending order, so no file follows the one before it.
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '1000', LOG_LEVEL: 'debug' } })
  const objs = putMany(sb, TODAY, 10050).reverse()
  const docs = []
  for (let i = 0; i < objs.length; i += 50) docs.push(s3Event(objs.slice(i, i + 50)))
  const r = await sb.ingest(docs)
  assertSummary(r, 0, { processed: 10050, manifests: 10, errors: 0 })
  const lines = r.stderr.split('\n')
  const firstBatch = lines.findIndex(l => / batch batch-\S+: 1000 file\(s\) for /.test(l))
  const tracked = key => lines.findIndex(l => l.includes(`tracked input/${key} for ${TODAY}`))
  assert.ok(firstBatch > tracked(objs[9999].key), 'claimed after the 10,000th file was tracked')
  assert.ok(tracked(objs[10000].key) > firstBatch, 'claimed before the 10,001st file was tracked')
  // The first 10,000 tracked, in key order, make the ten batches; the last 50 wait.
  assert.deepEqual(reasons(sb), Array(10).fill([TODAY, 1000, 'full']))
  assert.deepEqual(claimOrder(sb), objs.slice(0, 10000).reverse().map(o => fileUri(o.path)))
  assert.deepEqual(sb.sql("SELECT key FROM files WHERE status='pending' ORDER BY key").map(f => f.key),
    objs.slice(10000).reverse().map(o => o.key))
  checkBatchesConsistent(sb, { max: 1000 })
})
