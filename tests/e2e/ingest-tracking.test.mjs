// ndpq ingest: tracking identity, validation, quarantine and date_prefix (issue 3,
// "Tracking and validation", "Quarantine", "date_prefix", "Status lifecycle").
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'

import {
  sandbox, assertSummary, s3Event, sqsEvent, PAST, TODAY, NOW, nowPlus, listFiles,
} from './ingest-lib.mjs'

const NOW_US = Date.parse(NOW + 'Z') * 1000

test('tracking: a file row holds date_prefix, key, URI, size, status, created/updated times, batch id and reason', async t => {
  const sb = sandbox(t)
  const a = sb.put(`in/${TODAY}-a.ndjson`, '{"a":1}\n{"a":2}\n')
  const r = await sb.ingest([s3Event([a])])
  assertSummary(r, 0, { processed: 1, manifests: 0 })
  const [row] = sb.files()
  assert.deepEqual(row, {
    bucket: 'input', key: a.key, uri: sb.uri(a.key), size: 16, date_prefix: TODAY, status: 'pending',
    reason: null, batch_id: null, created_us: NOW_US, updated_us: NOW_US,
  })
})

test('tracking: a repeated event for a tracked file is a counted no-op (same input and a later input)', async t => {
  const sb = sandbox(t)
  const a = sb.put(`in/${TODAY}-a.ndjson`)
  const b = sb.put(`in/${TODAY}-b.ndjson`)
  const r = await sb.ingest([s3Event([a, b]), s3Event([a]), sqsEvent([{ messageId: 'x', body: s3Event([b]) }])])
  assertSummary(r, 0, { processed: 2, duplicates: 2, errors: 0 })
  const before = sb.files()
  assert.equal(before.length, 2)
  const r2 = await sb.ingest([s3Event([a, b])], { env: { NDPQ_FAKE_NOW: nowPlus(3600) } })
  assertSummary(r2, 0, { processed: 0, duplicates: 2, errors: 0, manifests: 0 })
  assert.deepEqual(sb.files(), before, 'rows unchanged (not even updated_us)')
})

test('tracking: identity is bucket + full key — the same key in two input buckets is two files', async t => {
  const sb = sandbox(t)
  const k = `in/${PAST}-a.ndjson`
  sb.put(k, '{"a":1}\n', { bucket: 'input' })
  sb.put(k, '{"a":1}\n', { bucket: 'input2' })
  assertSummary(await sb.ingest([s3Event([{ key: k, size: 8 }])]), 0, { processed: 1 })
  const r = await sb.ingest([s3Event([{ key: k, size: 8, bucket: 'input2' }])], { env: { INPUT_BUCKET: 'input2' } })
  assertSummary(r, 0, { processed: 1, duplicates: 0 })
  const rows = sb.sql('SELECT bucket, key, uri FROM files ORDER BY bucket')
  assert.deepEqual(rows, [
    { bucket: 'input', key: k, uri: sb.uri(k, 'input') },
    { bucket: 'input2', key: k, uri: sb.uri(k, 'input2') },
  ])
})

test('validation: the key must end in an allowed extension (default .ndjson, case-sensitive)', async t => {
  const sb = sandbox(t)
  const objs = ['a.json', 'b.NDJSON', 'c.ndjson.gz', 'd.ndjsonx', 'e.ndjson'].map(n => sb.put(`in/${PAST}-${n}`))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 1, quarantined: 4, errors: 0 })
  const rows = sb.files()
  assert.deepEqual(rows.map(f => [f.key.slice(14), f.status]),
    [['a.json', 'quarantined'], ['b.NDJSON', 'quarantined'], ['c.ndjson.gz', 'quarantined'], ['d.ndjsonx', 'quarantined'], ['e.ndjson', 'manifested']])
  for (const f of rows.filter(f => f.status === 'quarantined')) {
    assert.match(f.reason, /extension.*\.ndjson/i)
    assert.equal(f.batch_id, null)
  }
})

test('validation: ALLOWED_EXTENSIONS takes a comma-separated list', async t => {
  const sb = sandbox(t, { env: { ALLOWED_EXTENSIONS: '.ndjson, .jsonl' } })
  const objs = ['a.ndjson', 'b.jsonl', 'c.json'].map(n => sb.put(`${PAST}-${n}`))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 2, quarantined: 1 })
  assert.deepEqual(sb.files().map(f => f.status), ['manifested', 'manifested', 'quarantined'])
})

test('validation: a 0-byte file is always invalid (no expected size set)', async t => {
  const sb = sandbox(t)
  const z = sb.put(`${PAST}-empty.ndjson`, '')
  const r = await sb.ingest([s3Event([z])])
  assertSummary(r, 0, { processed: 0, quarantined: 1, manifests: 0 })
  const [row] = sb.files()
  assert.equal(row.status, 'quarantined')
  assert.match(row.reason, /empty|0 bytes/i)
})

test('validation: EXPECTED_FILE_SIZE_MB ± SIZE_TOLERANCE_PERCENT in MiB, bounds inclusive (3.5 ± 10% → 3,303,015…4,037,017 bytes)', async t => {
  const sb = sandbox(t, { env: { EXPECTED_FILE_SIZE_MB: '3.5', SIZE_TOLERANCE_PERCENT: '10' } })
  const sizes = [3303014, 3303015, 3670016, 4037017, 4037018]
  const objs = sizes.map(s => sb.put(`sz/${PAST}-${s}.ndjson`, s))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 3, quarantined: 2, errors: 0 })
  const st = Object.fromEntries(sb.files().map(f => [f.size, [f.status, f.reason]]))
  assert.deepEqual(st[3303014], ['quarantined', 'Size 3.15MB outside expected range 3.15-3.85MB'])
  assert.deepEqual(st[4037018], ['quarantined', 'Size 3.85MB outside expected range 3.15-3.85MB'])
  for (const s of [3303015, 3670016, 4037017]) assert.deepEqual(st[s], ['manifested', null], `${s} bytes is accepted`)
})

test('validation: the dev configuration (E=10, T=99) accepts 104,858…20,866,662 bytes', async t => {
  const sb = sandbox(t, { env: { EXPECTED_FILE_SIZE_MB: '10', SIZE_TOLERANCE_PERCENT: '99' } })
  const sizes = [104857, 104858, 20866662, 20866663]
  const objs = sizes.map(s => sb.put(`sz/${PAST}-${s}.ndjson`, s))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 2, quarantined: 2 })
  const st = Object.fromEntries(sb.files().map(f => [f.size, f.status]))
  assert.deepEqual(st, { 104857: 'quarantined', 104858: 'manifested', 20866662: 'manifested', 20866663: 'quarantined' })
})

test('quarantine: an invalid file is copied under the same key with a <key>.quarantine.json sidecar; the source stays', async t => {
  const sb = sandbox(t)
  const bad = sb.put(`deep/dir/${PAST}-bad.json`, '{"x":1}\n')
  const r = await sb.ingest([s3Event([bad])])
  assertSummary(r, 0, { processed: 0, quarantined: 1, errors: 0, manifests: 0 })
  assert.deepEqual(listFiles(sb.bucket('quarantine')), [`deep/dir/${PAST}-bad.json`, `deep/dir/${PAST}-bad.json.quarantine.json`])
  assert.equal(fs.readFileSync(sb.objectPath(bad.key, 'quarantine'), 'utf8'), '{"x":1}\n', 'copy has the same bytes')
  assert.ok(fs.existsSync(bad.path), 'QUARANTINE_MODE=copy keeps the source')
  const side = JSON.parse(fs.readFileSync(sb.objectPath(bad.key + '.quarantine.json', 'quarantine'), 'utf8'))
  assert.match(side.reason, /extension/i)
  assert.equal(side.source, sb.uri(bad.key), 'sidecar source is the original object URI')
  assert.equal(side.size, 8)
  assert.equal(side.quarantined_at, '2025-06-15T12:00:00.000000Z', 'sidecar time is "now"')
  const [row] = sb.files()
  assert.equal(row.status, 'quarantined')
  assert.equal(row.reason, side.reason, 'the same reason in the tracking store and the sidecar')
})

test('quarantine: QUARANTINE_MODE=move removes the source after the copy', async t => {
  const sb = sandbox(t, { env: { QUARANTINE_MODE: 'move' } })
  const bad = sb.put(`${PAST}-bad.txt`, 'hello\n')
  const good = sb.put(`${PAST}-good.ndjson`)
  const r = await sb.ingest([s3Event([bad, good])])
  assertSummary(r, 0, { processed: 1, quarantined: 1, errors: 0 })
  assert.equal(fs.existsSync(bad.path), false, 'source moved away')
  assert.ok(fs.existsSync(good.path), 'valid files are never moved')
  assert.deepEqual(listFiles(sb.bucket('quarantine')), [`${PAST}-bad.txt`, `${PAST}-bad.txt.quarantine.json`])
  assert.equal(fs.readFileSync(sb.objectPath(bad.key, 'quarantine'), 'utf8'), 'hello\n')
  const side = JSON.parse(fs.readFileSync(sb.objectPath(bad.key + '.quarantine.json', 'quarantine'), 'utf8'))
  assert.equal(side.size, 6)
  assert.deepEqual(sb.files().map(f => f.status), ['quarantined', 'manifested'])
})

test('quarantine: with QUARANTINE_BUCKET empty the file is still recorded as quarantined with its reason (--set and env)', async t => {
  for (const how of ['set', 'env']) {
    const sb = sandbox(t)
    const bad = sb.put(`${PAST}-bad.csv`, 'a,b\n')
    const opts = how === 'set' ? { args: ['--set', 'QUARANTINE_BUCKET='] } : { env: { QUARANTINE_BUCKET: '' } }
    const r = await sb.ingest([s3Event([bad])], opts)
    assertSummary(r, 0, { processed: 0, quarantined: 1, errors: 0 })
    const [row] = sb.files()
    assert.equal(row.status, 'quarantined', how)
    assert.match(row.reason, /extension/i, how)
    assert.ok(fs.existsSync(bad.path), `${how}: source untouched`)
    assert.deepEqual(listFiles(sb.bucket('quarantine')), [], `${how}: nothing copied`)
    assert.equal(sb.reports()[0].body.configuration.QUARANTINE_BUCKET, '', `${how}: report shows the empty bucket`)
  }
  // QUARANTINE_MODE=move with no bucket to move to: the source must stay
  const sb = sandbox(t, { env: { QUARANTINE_BUCKET: '', QUARANTINE_MODE: 'move' } })
  const bad = sb.put(`${PAST}-bad.csv`, 'a,b\n')
  assertSummary(await sb.ingest([s3Event([bad])]), 0, { quarantined: 1 })
  assert.ok(fs.existsSync(bad.path), 'move without a quarantine bucket keeps the source')
  assert.equal(sb.files()[0].status, 'quarantined')
})

test('quarantine: a failed copy is an error for that event (retried), and nothing is recorded until it succeeds', async t => {
  const sb = sandbox(t)
  fs.mkdirSync(sb.bucket('input'), { recursive: true })
  fs.writeFileSync(sb.bucket('quarantine'), 'not a directory') // the quarantine bucket is unusable
  const bad = sb.put(`${PAST}-bad.txt`)
  const good = sb.put(`${PAST}-good.ndjson`)
  const ev = sqsEvent([{ messageId: 'q', body: s3Event([bad]) }, { messageId: 'g', body: s3Event([good]) }])
  const r = await sb.ingest([ev])
  assertSummary(r, 3, { processed: 1, quarantined: 0, errors: 1, failures: ['q'] })
  assert.match(r.summary.errors[0].message, /quarantine/i)
  assert.deepEqual(sb.files().map(f => f.key), [good.key], 'no row for the file that could not be quarantined')
  // the bucket is repaired; the retried message quarantines it
  fs.rmSync(sb.bucket('quarantine'))
  const r2 = await sb.ingest([sqsEvent([{ messageId: 'q', body: s3Event([bad]) }])])
  assertSummary(r2, 0, { quarantined: 1, errors: 0, failures: [] })
  assert.deepEqual(listFiles(sb.bucket('quarantine')), [bad.key, bad.key + '.quarantine.json'])
  assert.equal(sb.files().find(f => f.key === bad.key).status, 'quarantined')
})

test('quarantine: QUARANTINE_BUCKET names the destination bucket', async t => {
  const sb = sandbox(t, { env: { QUARANTINE_BUCKET: 'rejects' } })
  const bad = sb.put(`${PAST}-bad.txt`)
  assertSummary(await sb.ingest([s3Event([bad])]), 0, { quarantined: 1 })
  assert.deepEqual(listFiles(sb.bucket('rejects')), [`${PAST}-bad.txt`, `${PAST}-bad.txt.quarantine.json`])
  assert.deepEqual(listFiles(sb.bucket('quarantine')), [])
})

test('quarantine: ndpq status lists quarantined files with their reasons and counts them per date', async t => {
  const sb = sandbox(t)
  const bad = sb.put(`${PAST}-bad.txt`)
  const empty = sb.put(`${PAST}-empty.ndjson`, '')
  assertSummary(await sb.ingest([s3Event([bad, empty])]), 0, { quarantined: 2 })
  const st = await sb.status()
  assert.deepEqual(st.quarantined.map(q => [q.bucket, q.key, q.size]).sort(),
    [['input', bad.key, 8], ['input', empty.key, 0]].sort())
  for (const q of st.quarantined) assert.ok(q.reason && q.reason.length > 0, 'reason shown')
  assert.deepEqual(st.counts, [{ date: PAST, status: 'quarantined', files: 2, bytes: 8 }])
  const text = await sb.run(['status'])
  assert.equal(text.code, 0)
  assert.match(text.stdout, /extension/i)
})

test('date_prefix: the first valid calendar date in the file name', async t => {
  const sb = sandbox(t)
  const cases = {
    'x/2025-02-30_2025-03-01.ndjson': '2025-03-01', // Feb 30 is not a date: the next one is taken
    'x/data-2024-02-29-leap.ndjson': '2024-02-29',
    'x/2023-02-29-2023-03-01.ndjson': '2023-03-01', // 2023 is not a leap year
    'x/9999-99-99-then-2025-01-02.ndjson': '2025-01-02',
    'x/2025-1-2-no-2025-01-03.ndjson': '2025-01-03',
    'x/a2025-06-01b2025-06-02.ndjson': '2025-06-01',
  }
  const objs = Object.keys(cases).map(k => sb.put(k))
  assertSummary(await sb.ingest([s3Event(objs)]), 0, { processed: objs.length })
  const got = Object.fromEntries(sb.files().map(f => [f.key, f.date_prefix]))
  assert.deepEqual(got, cases)
})

test('date_prefix: the file name wins over the directories; else the first date in the rest of the key', async t => {
  const sb = sandbox(t)
  const cases = {
    '2025-01-01/sub/2025-02-02-f.ndjson': '2025-02-02', // name first
    'raw/2025-01-05/2025-01-06/f.ndjson': '2025-01-05', // no date in the name: first in the key
    'raw/2025-13-01/2025-01-07/f.ndjson': '2025-01-07', // month 13 is skipped
    'raw/dt=2025-01-08/part-0001.ndjson': '2025-01-08',
  }
  const objs = Object.keys(cases).map(k => sb.put(k))
  assertSummary(await sb.ingest([s3Event(objs)]), 0, { processed: objs.length })
  assert.deepEqual(Object.fromEntries(sb.files().map(f => [f.key, f.date_prefix])), cases)
})

test('date_prefix: no valid date in the key → today\'s UTC date (NDPQ_FAKE_NOW), with a warning', async t => {
  const sb = sandbox(t, { now: '2025-12-31T23:59:59' })
  const objs = ['nodate/file.ndjson', 'bad/2025-02-31/x.ndjson'].map(k => sb.put(k))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 2 })
  assert.deepEqual(sb.files().map(f => f.date_prefix), ['2025-12-31', '2025-12-31'])
  assert.match(r.stderr, /today|no date/i)
  // today's files are not orphans: nothing is batched
  assert.equal(sb.batches().length, 0)
})

test('tracking: a store made before the partial indexes is upgraded on open, and its pending files still batch', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2' } })
  const a = sb.put(`in/${TODAY}-a.ndjson`)
  const b = sb.put(`in/${TODAY}-b.ndjson`)
  assertSummary(await sb.ingest([s3Event([a])]), 0, { processed: 1, manifests: 0 })
  // The indexes of earlier versions: every file in both.
  sb.sql('DROP INDEX files_pending; DROP INDEX files_quarantined; DROP INDEX files_by_batch;' +
    ' CREATE INDEX files_status_date ON files(status, date_prefix, created_us);' +
    ' CREATE INDEX files_batch ON files(batch_id);')
  assertSummary(await sb.ingest([s3Event([b])]), 0, { processed: 1, manifests: 1 })
  const idx = sb.sql("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='files' AND sql IS NOT NULL ORDER BY name")
  assert.deepEqual(idx.map(r => r.name), ['files_by_batch', 'files_pending', 'files_quarantined'])
  const [batch] = sb.batches()
  assert.equal(batch.file_count, 2)
  assert.deepEqual(sb.files().map(f => [f.key, f.status, f.batch_id]),
    [[a.key, 'manifested', batch.batch_id], [b.key, 'manifested', batch.batch_id]])
})

test('tracking: a new store has 16 KiB pages; a store made with 4 KiB pages keeps them and its files still batch', async t => {
  const fresh = sandbox(t)
  const f = fresh.put(`in/${TODAY}-f.ndjson`)
  assertSummary(await fresh.ingest([s3Event([f])]), 0, { processed: 1 })
  assert.deepEqual(fresh.sql('PRAGMA page_size'), [{ page_size: 16384 }])
  assert.deepEqual(fresh.sql('PRAGMA journal_mode'), [{ journal_mode: 'wal' }])

  const old = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2' } })
  // A store as earlier versions made it: SQLite's default 4 KiB pages, WAL.
  old.sql('PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE before_16k(x);')
  const a = old.put(`in/${TODAY}-a.ndjson`)
  const b = old.put(`in/${TODAY}-b.ndjson`)
  assertSummary(await old.ingest([s3Event([a, b])]), 0, { processed: 2, manifests: 1 })
  assert.deepEqual(old.sql('PRAGMA page_size'), [{ page_size: 4096 }])
  const [batch] = old.batches()
  assert.equal(batch.file_count, 2)
  assert.deepEqual(old.files().map(x => [x.key, x.status, x.batch_id]),
    [[a.key, 'manifested', batch.batch_id], [b.key, 'manifested', batch.batch_id]])
})
