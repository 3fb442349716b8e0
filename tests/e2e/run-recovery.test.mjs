// ndpq run: crash recovery at start (issue 4, "Crash recovery"), made deterministic by putting
// the tracking store in the state a crash at a precise moment leaves behind, and a real
// SIGKILL in the alert window. The random version is tests/crash/crash.mjs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'

import {
  sandbox, assertExit, describeRun, assertOutputExactly, hiddenUnder, historyRows, runJobIntervals, utcDate,
  s3Events, outputParquet, readManifests,
} from './run-lib.mjs'

/** A pid that is certainly dead now (a process that ran and was reaped). */
function deadPid() {
  const r = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' })
  return Number(r.stdout.trim())
}

/** `count` full batches (MAX_FILES_PER_MANIFEST files each) made by ndpq ingest; nothing run. */
async function makeBatches(sb, date, count, per) {
  const objs = []
  for (let i = 1; i <= count * per; i++) objs.push(sb.putRecords(`${date}-r${String(i).padStart(2, '0')}.ndjson`, date, 40 + i, { tag: `R${i}` }))
  const r = await sb.run(['ingest', '-'], { input: s3Events(objs) })
  assertExit(r, 0)
  assert.equal(sb.batches().length, count)
  return sb.batches()
}

/** Put a batch back to what a service killed during RunJob leaves: running, owned by `owner`, lease far ahead. */
function forgeRunning(sb, batchId, owner) {
  const far = (Date.now() + 3600_000) * 1000
  sb.sql(`UPDATE executions SET state='running', owner='${owner}', lease_until_us=${far} WHERE batch_id='${batchId}';` +
    `UPDATE batches SET status='processing' WHERE batch_id='${batchId}';` +
    `UPDATE files SET status='processing' WHERE batch_id='${batchId}';`)
}

test('recovery: an execution left running by a dead owner (pid gone, or pid reused) is run again; output replaced, not duplicated', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const [b1, b2] = await makeBatches(sb, today, 2, 3)
  // both complete normally first, so their Parquet parts exist
  assertExit(await sb.run(['run', '--once']), 0)
  const before = outputParquet(sb.output)
  assert.equal(before.length, 2)
  // then the store is put back as if the service died after the jobs had committed their parts
  // but before UpdateStatusCompleted: b1's owner pid is gone, b2's owner pid is alive but is
  // another process (this test runner: same pid, different start time)
  forgeRunning(sb, b1.batch_id, `${os.hostname()}:${deadPid()}:12345`)
  forgeRunning(sb, b2.batch_id, `${os.hostname()}:${process.pid}:1`)
  const r = await sb.run(['run', '--once'], { timeoutMs: 30_000 })
  assertExit(r, 0)
  for (const b of [b1, b2]) {
    const row = sb.sql(`SELECT status FROM batches WHERE batch_id='${b.batch_id}'`)[0]
    assert.equal(row.status, 'completed', `batch ${b.batch_id} completed after recovery\n${describeRun(r)}`)
    const hist = historyRows(sb, b.batch_id)
    assert.ok(hist.some(h => h.state === 'Recovered'), `history of ${b.batch_id} records the recovery`)
    assert.equal(runJobIntervals(hist).length, 2, 'the job ran again')
    assert.equal(sb.sql(`SELECT state FROM executions WHERE batch_id='${b.batch_id}'`)[0].state, 'succeeded')
  }
  assert.equal(sb.sql("SELECT count(*) AS n FROM files WHERE status<>'completed'")[0].n, 0)
  assert.deepEqual(outputParquet(sb.output), before, 'the same part names: replaced, not appended')
  await assertOutputExactly(sb.output, sb.expected.values(), 'after recovery')
  assert.deepEqual(hiddenUnder(sb.output), [])
})

test('recovery: an execution held by another host\'s owner is taken over once its lease has expired', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const [b] = await makeBatches(sb, today, 1, 3)
  forgeRunning(sb, b.batch_id, 'some-other-host:4242:99')
  sb.sql(`UPDATE executions SET lease_until_us=${(Date.now() - 60_000) * 1000} WHERE batch_id='${b.batch_id}'`)
  const r = await sb.run(['run', '--once'], { timeoutMs: 30_000 })
  assertExit(r, 0)
  assert.equal(sb.batches()[0].status, 'completed', describeRun(r))
  assert.ok(historyRows(sb, b.batch_id).some(h => h.state === 'Recovered'))
  await assertOutputExactly(sb.output, sb.expected.values())
})

test('recovery: a manifest that was never written is written at start, then the batch runs', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const [b] = await makeBatches(sb, today, 1, 3)
  const [m] = readManifests(sb.home)
  const original = m.body
  // a crash between the batch's transaction and the manifest write
  fs.rmSync(m.path)
  sb.sql(`UPDATE batches SET manifest_written=0 WHERE batch_id='${b.batch_id}'`)
  const r = await sb.run(['run', '--once'])
  assertExit(r, 0)
  const [m2] = readManifests(sb.home)
  assert.ok(m2, 'the manifest exists again')
  assert.equal(m2.key, m.key)
  assert.deepEqual([...m2.uris].sort(), [...original.fileLocations[0].URIPrefixes].sort(), 'it lists the batch\'s files')
  assert.equal(sb.batches()[0].manifest_written, 1)
  assert.equal(sb.batches()[0].status, 'completed', describeRun(r))
  await assertOutputExactly(sb.output, sb.expected.values())
})

test('recovery: a service killed while sending an alert does not write the alert twice to alerts.jsonl', async t => {
  // ALERT_COMMAND kills its parent (the runner) the first time: after alerts.jsonl was
  // written, before the batch is marked alerted — a SIGKILL at the worst moment.
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', JOB_MAX_ATTEMPTS: '1' } })
  const [b] = await makeBatches(sb, today, 1, 3)
  fs.rmSync(sb.expected.get(`${today}-r01.ndjson`).path)
  const flag = path.join(sb.dir, 'killed-once')
  const out = path.join(sb.dir, 'command.out')
  const env = { ALERT_COMMAND: `cat >> '${out}'; [ -e '${flag}' ] || { touch '${flag}'; kill -9 $PPID; }` }
  const r1 = await sb.run(['run', '--once'], { env })
  assert.equal(r1.signal, 'SIGKILL', `the alert command killed the runner\n${describeRun(r1)}`)
  const r2 = await sb.run(['run', '--once'], { env })
  assertExit(r2, 0)
  assert.equal(sb.batches()[0].status, 'failed')
  const lines = fs.readFileSync(path.join(sb.home, 'alerts.jsonl'), 'utf8').split('\n').filter(Boolean)
  assert.ok(lines.length >= 1, 'the alert was not lost')
  assert.ok(lines.every(l => JSON.parse(l).batch_id === b.batch_id))
  assert.equal(lines.length, 1,
    `one failed batch, one line in alerts.jsonl (got ${lines.length}: the alert was re-sent after the crash)`)
})
