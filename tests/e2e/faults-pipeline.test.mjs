// Output faults through the pipeline (issue 5, item 4): `ndpq run --once` whose batch job
// cannot write its output — RLIMIT_FSIZE, a full output bucket (tiny tmpfs), a read-only
// output bucket — retries, then fails the batch with the job's error (status, alert), with no
// Parquet visible; once the space is back, `ndpq retry --failed` + `run --once` completes
// it with every record exactly once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'

import {
  DATE, pipeline, runLimited, sandboxEnv, outputRows, assertNoParquet, assertNoHidden, assertIdsExactly,
  records, randomBytes, mountTmpfs, bindMount, cleanupFirst, isRoot, describeRun, assertExit,
} from './bad-lib.mjs'
import { hiddenFiles } from './helpers.mjs'

/** A batch of two files for DATE: a large one (~10 MB, ~7 MB of Parquet) and a small one. */
function inputs(sb) {
  const n = 200_000
  const rnd = randomBytes(n * 16, 7)
  const big = { ids: [], text: '' }
  const parts = []
  for (let i = 0; i < n; i++) {
    big.ids.push(`B-${i}`)
    parts.push(`{"id":"B-${i}","v":"${rnd.subarray(i * 16, i * 16 + 16).toString('hex')}"}\n`)
  }
  sb.put(`in/${DATE}-big.ndjson`, parts.join(''))
  const small = records('S', 5)
  sb.put(`in/${DATE}-small.ndjson`, small.text)
  return [...big.ids, ...small.ids]
}

/**
 * After a failed `run --once`: the single batch failed after 2 attempts with an error
 * matching `error`, both files failed, one alert with the same error, no Parquet visible.
 * Returns the batch.
 */
function assertBatchFailed(sb, r, error) {
  const bs = sb.batches()
  assert.equal(bs.length, 1, `one batch\n${describeRun(r)}`)
  const b = bs[0]
  assert.equal(b.status, 'failed', `the batch fails (error: ${b.error})\n${describeRun(r)}`)
  assert.equal(b.attempts, 2, 'retried up to JOB_MAX_ATTEMPTS=2')
  assert.match(b.error ?? '', error, `the batch error says why\n${describeRun(r)}`)
  assert.deepEqual(sb.files().map(f => f.status), ['failed', 'failed'], 'its files are failed (accounted for)')
  const alerts = sb.alerts()
  assert.equal(alerts.length, 1, 'one alert')
  assert.equal(alerts[0].batch_id, b.batch_id)
  assert.match(alerts[0].error, error, 'the alert carries the error')
  assert.equal(sb.executions()[0].state, 'failed')
  assertNoParquet(sb.output, 'of the failed batch')
  return b
}

/** Redrive the failed batch and run it: completed, every id once, nothing hidden left. */
async function redriveAndCheck(sb, ids) {
  const rr = await sb.run(['retry', '--failed'])
  assertExit(rr, 0)
  assert.deepEqual(rr.summary, { redriven: 1 }, describeRun(rr))
  const r = await sb.runOnce()
  const b = sb.batches()[0]
  assert.equal(b.status, 'completed', `the redriven batch completes\n${describeRun(r)}`)
  assert.deepEqual(sb.files().map(f => f.status), ['completed', 'completed'])
  assertIdsExactly(await outputRows(sb.output, { fast: true }), ids, 'after the redrive')
  assertNoHidden(sb.output, 'after the redrive')
  assert.equal(sb.alerts().length, 1, 'no new alert')
}

// The limit is the whole service's: the part file (~7 MB) must pass it, and
// the tracking store's WAL must not. A run --once writes 1-1.5 MiB of WAL
// in 16 KiB pages (the store checkpoints at 32 MiB), so 4 MiB leaves room.
const FSIZE_KB = 4096

test('pipeline fsize: a job hitting RLIMIT_FSIZE is retried, then its batch fails with no Parquet visible; the redrive completes it once', async t => {
  const sb = pipeline(t)
  const ids = inputs(sb)
  const r = await runLimited(['run', '--once'], { fsizeKB: FSIZE_KB, env: sandboxEnv(sb) })
  assert.equal(r.code, 0, describeRun(r))
  const b = assertBatchFailed(sb, r, /File too large|signal 25|SIGXFSZ/)
  t.diagnostic(`batch error under RLIMIT_FSIZE: ${b.error}`)
  await redriveAndCheck(sb, ids)
})

test('pipeline fsize: the failure says "File too large" (EFBIG), not a signal, and leaves no temp file in the output', async t => {
  const sb = pipeline(t)
  inputs(sb)
  const r = await runLimited(['run', '--once'], { fsizeKB: FSIZE_KB, env: sandboxEnv(sb) })
  assert.equal(r.code, 0, describeRun(r))
  const b = sb.batches()[0]
  assert.equal(b.status, 'failed')
  const hidden = hiddenFiles(sb.output).map(p => path.relative(sb.output, p))
  const reports = sb.jobReports(b.batch_id)
  t.diagnostic(`error: ${b.error}; job reports: ${reports.length}; left in the output: ${hidden.join(', ') || 'nothing'}`)
  assert.match(b.error, /File too large/, 'the batch error (and the alert) should carry the write error (EFBIG), naming the part')
  assert.equal(reports.length, 2, 'each attempt leaves its JSON report')
  assert.deepEqual(hidden, [], 'the failed job leaves no temp part behind')
})

test('pipeline full disk: an output bucket on a 1 MiB tmpfs fails the batch ("No space left on device"); grown, the redrive completes it once', async t => {
  const cleanup = cleanupFirst(t) // unmount before the sandbox is removed
  const sb = pipeline(t)
  const fsys = mountTmpfs(t, sb.output, '1m', cleanup)
  if (!fsys) return t.skip(isRoot ? 'mount -t tmpfs refused here' : 'needs root to mount a tmpfs')
  const ids = inputs(sb)
  const r = await sb.runOnce()
  const b = assertBatchFailed(sb, r, /No space left on device/)
  assert.ok(b.error.includes(sb.output), `the error names the part: ${b.error}`)
  const reports = sb.jobReports(b.batch_id)
  assert.equal(reports.length, 2)
  for (const rep of reports) assert.match(rep.body.error, /No space left on device/)
  assertNoHidden(sb.output, 'after the failed attempts')
  fsys.resize('64m')
  await redriveAndCheck(sb, ids)
})

test('pipeline read-only: a read-only output bucket fails the batch (EROFS); writable again, the redrive completes it once', async t => {
  const cleanup = cleanupFirst(t)
  const sb = pipeline(t)
  const ro = bindMount(t, sb.output, cleanup)
  if (!ro) return t.skip(isRoot ? 'mount --bind refused here' : 'needs root for a read-only bind mount')
  const ids = inputs(sb)
  ro.ro()
  const r = await sb.runOnce()
  assertBatchFailed(sb, r, /Read-only file system/)
  ro.rw()
  await redriveAndCheck(sb, ids)
})
