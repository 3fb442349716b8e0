// Issue 3, "Must show 2": four `ndpq ingest` processes get the same 10,000 events on one
// database, shuffled differently, each event twice in each stream. Every valid file ends up
// in exactly one batch, no batch holds more than MAX files, no batch id repeats, and the
// counts are exact.
//
// The 10,000 files are spread over a past date (orphan mode: all of them get batched), today
// and a future date (full batches only: 3,333 files → 333 batches and 3 pending each). The
// process that tracks the last file of a date runs that date's rules afterwards, so the end
// state is exact whatever the interleaving.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  sandbox, assertSummary, s3Event, sqsEvent, PAST, TODAY, FUTURE, manifestUris, shuffle, readManifests,
  checkBatchesConsistent, describeRun,
} from './ingest-lib.mjs'

const N = 10_000
const PROCS = 4
const MAX = 10
const PER_DATE = { [PAST]: 3334, [TODAY]: 3333, [FUTURE]: 3333 }
const MESSAGES_PER_SQS_EVENT = 10

describe('concurrency: four ingests, the same 10,000 events (each twice, shuffled), one database', () => {
  let sb
  let files // [{key, size, date}]
  let results
  let seconds

  before(async () => {
    sb = sandbox(null, { env: { MAX_FILES_PER_MANIFEST: String(MAX), LOG_LEVEL: 'warn' } })
    files = []
    let i = 0
    for (const [d, n] of Object.entries(PER_DATE)) {
      for (let k = 0; k < n; k++, i++) {
        const key = `load/${d}/part-${d}-${String(i).padStart(5, '0')}.ndjson`
        const body = `{"i":${i}}\n`
        const p = sb.objectPath(key)
        if (k === 0) fs.mkdirSync(path.dirname(p), { recursive: true })
        fs.writeFileSync(p, body)
        files.push({ key, size: Buffer.byteLength(body), date: d })
      }
    }
    assert.equal(files.length, N)
    // one S3 notification per file, carried in SQS events of 10 messages
    const bodies = files.map(f => s3Event([f]))
    const inputs = []
    for (let p = 0; p < PROCS; p++) {
      const order = shuffle([...bodies.keys(), ...bodies.keys()], 7919 * (p + 1))
      const docs = []
      for (let j = 0; j < order.length; j += MESSAGES_PER_SQS_EVENT) {
        docs.push(JSON.stringify(sqsEvent(order.slice(j, j + MESSAGES_PER_SQS_EVENT)
          .map((b, m) => ({ messageId: `p${p}-${j + m}`, body: bodies[b] })))))
      }
      const file = path.join(sb.dir, `events-${p}.json`)
      fs.writeFileSync(file, docs.join('\n') + '\n')
      inputs.push(file)
    }
    const t0 = Date.now()
    results = await Promise.all(inputs.map(f => sb.run(['ingest', f], { timeoutMs: 90_000 })))
    seconds = (Date.now() - t0) / 1000
  })

  test('the four processes succeed, quickly', t => {
    for (const r of results) assertSummary(r, 0, { errors: 0, failures: [], quarantined: 0, ignored: 0 })
    t.diagnostic(`4 × ${2 * N} events in ${seconds.toFixed(1)} s`)
    assert.ok(seconds < 60, `took ${seconds} s`)
  })

  test('counts are exact: processed sums to 10,000, duplicates to 70,000', () => {
    assert.equal(results.reduce((s, r) => s + r.summary.processed, 0), N, results.map(describeRun).join('\n'))
    assert.equal(results.reduce((s, r) => s + r.summary.duplicates, 0), PROCS * 2 * N - N)
    const rows = sb.sql('SELECT status, count(*) AS n FROM files GROUP BY status ORDER BY status')
    assert.deepEqual(rows, [{ status: 'manifested', n: N - 6 }, { status: 'pending', n: 6 }], 'pending + manifested = 10,000')
    const perDate = sb.sql("SELECT date_prefix AS d, status, count(*) AS n FROM files GROUP BY 1, 2 ORDER BY 1, 2")
    assert.deepEqual(perDate, [
      { d: PAST, status: 'manifested', n: 3334 },
      { d: TODAY, status: 'manifested', n: 3330 }, { d: TODAY, status: 'pending', n: 3 },
      { d: FUTURE, status: 'manifested', n: 3330 }, { d: FUTURE, status: 'pending', n: 3 },
    ])
    const keys = new Set(sb.sql('SELECT key FROM files').map(r => r.key))
    assert.equal(keys.size, N)
    for (const f of files) assert.ok(keys.has(f.key), `${f.key} is tracked`)
  })

  test('every valid file is in exactly one batch; no batch holds more than MAX files', () => {
    const bad = sb.sql(`SELECT f.key, f.status, f.batch_id FROM files f LEFT JOIN batches b ON b.batch_id = f.batch_id
      WHERE (f.status = 'manifested') != (b.batch_id IS NOT NULL) OR (f.status = 'pending' AND f.batch_id IS NOT NULL) LIMIT 5`)
    assert.deepEqual(bad, [], 'manifested ⇔ in a batch')
    const sizes = sb.sql(`SELECT b.batch_id, b.file_count, count(f.key) AS n, max(f.date_prefix) AS hi, min(f.date_prefix) AS lo
      FROM batches b LEFT JOIN files f ON f.batch_id = b.batch_id GROUP BY b.batch_id`)
    for (const s of sizes) {
      assert.equal(s.n, s.file_count, `batch ${s.batch_id}: file_count matches its files`)
      assert.ok(s.n >= 1 && s.n <= MAX, `batch ${s.batch_id} holds ${s.n} files`)
      assert.equal(s.lo, s.hi, `batch ${s.batch_id} mixes dates`)
    }
    assert.equal(sizes.reduce((a, s) => a + s.n, 0), N - 6)
    const byReason = sb.sql("SELECT date_prefix AS d, close_reason AS r, count(*) AS n FROM batches WHERE date_prefix != '" + PAST + "' GROUP BY 1, 2 ORDER BY 1, 2")
    assert.deepEqual(byReason, [{ d: TODAY, r: 'full', n: 333 }, { d: FUTURE, r: 'full', n: 333 }], 'today and the future: full batches only')
  })

  test('no batch id repeats; each batch has one manifest and one executions row', () => {
    const ids = sb.sql('SELECT batch_id FROM batches').map(r => r.batch_id)
    assert.equal(new Set(ids).size, ids.length)
    const ex = sb.sql('SELECT batch_id, count(*) AS n FROM executions GROUP BY batch_id')
    assert.equal(ex.length, ids.length)
    assert.ok(ex.every(e => e.n === 1))
    checkBatchesConsistent(sb, { max: MAX })
  })

  test('the manifests\' URIs are disjoint and cover exactly the batched files', () => {
    const manifests = readManifests(sb.bucket('manifests'))
    const uris = manifests.flatMap(m => manifestUris(m.body))
    assert.equal(new Set(uris).size, uris.length, 'no URI in two manifests')
    const batched = sb.sql("SELECT uri FROM files WHERE status = 'manifested'").map(r => r.uri)
    assert.deepEqual([...uris].sort(), batched.sort())
    assert.equal(new Set(manifests.map(m => m.body.batch_id)).size, manifests.length)
  })

  test('each manifest is reported by exactly one of the four invocations', () => {
    const reported = results.flatMap(r => r.summary.manifests)
    const onDisk = readManifests(sb.bucket('manifests')).map(m => m.uri)
    const twice = reported.filter((u, i) => reported.indexOf(u) !== i)
    assert.deepEqual([...new Set(twice)].slice(0, 5), [], `${new Set(twice).size} manifest(s) reported by more than one invocation`)
    assert.deepEqual([...new Set(reported)].sort(), onDisk.sort(), 'every manifest is reported')
    assert.equal(reported.length, onDisk.length)
  })

  after(() => {
    if (sb && !process.env.NDPQ_KEEP_TMP) fs.rmSync(sb.dir, { recursive: true, force: true })
  })
})
