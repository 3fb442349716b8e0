// Issue 5, item 2: several ingest, flush and run processes on one NDPQ_HOME at
// the same time. SQLite's busy handling must queue them, no update may be
// lost, no file may land in two batches, and no execution may run twice at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  sandbox, utcDate, rng, s3Events, checkNoSharedFiles, assertOutputExactly, historyRows, runJobIntervals,
  describeRun,
} from './run-lib.mjs'

test('concurrency: ingest, flush and run --once processes at once on one home lose nothing and never double-run', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '7', JOB_RETRY_INTERVAL_SECONDS: '0.1' } })
  const dates = [utcDate(-2), utcDate(-1), utcDate(0)]
  const objs = []
  for (let i = 0; i < 150; i++) {
    const date = dates[i % 3]
    objs.push(sb.putRecords(`${date}/f-${String(i).padStart(3, '0')}-${date}.ndjson`, date, 3))
  }
  const rand = rng(11)
  const shuffled = () => {
    const a = [...objs]
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]]
    }
    return s3Events(a.concat(a.slice(0, 40)))
  }
  // Two rounds of three ingests, two flushes and two runs, all started together.
  for (let round = 0; round < 2; round++) {
    const procs = [
      sb.run(['ingest', '-'], { input: shuffled() }),
      sb.run(['ingest', '-'], { input: shuffled() }),
      sb.run(['ingest', '-'], { input: shuffled() }),
      sb.run(['flush']),
      sb.run(['flush']),
      sb.run(['run', '--once']),
      sb.run(['run', '--once']),
    ]
    const results = await Promise.all(procs)
    for (const r of results) assert.ok(r.code === 0, `every process succeeds (SQLite busy handling)\n${describeRun(r)}`)
    // Every event is accounted for: new or a repeat (run --once scans the
    // same bucket at the same time, so which process tracks a file varies).
    for (const r of results.slice(0, 3)) {
      assert.equal(r.json.processed + r.json.duplicates, 190, `each of 190 events counted once\n${describeRun(r)}`)
      assert.deepEqual(r.json.errors, [], describeRun(r))
    }
    const processed = results.slice(0, 3).reduce((s, r) => s + r.json.processed, 0)
    assert.ok(processed <= 150, `no file tracked twice (${processed} new from the ingests)`)
  }
  const fin = await sb.run(['flush', '--date', dates[2]])
  assert.equal(fin.code, 0, describeRun(fin))
  const last = await sb.run(['run', '--once'])
  assert.equal(last.code, 0, describeRun(last))

  const files = sb.files()
  assert.equal(files.length, 150, 'no update lost: every file is tracked')
  assert.deepEqual(files.filter(f => f.status !== 'completed').map(f => `${f.key}: ${f.status}`), [], 'every file completed')
  assert.deepEqual(checkNoSharedFiles(sb), [], 'no two batches share a file')
  for (const b of sb.batches()) {
    const runs = runJobIntervals(historyRows(sb, b.batch_id))
    const ok = runs.filter(r => r.exit === 'job succeeded')
    assert.equal(ok.length, 1, `batch ${b.batch_id} ran to success exactly once: ${JSON.stringify(runs)}`)
    const sorted = runs.filter(r => r.end !== null).sort((x, y) => x.start - y.start)
    for (let i = 1; i < sorted.length; i++)
      assert.ok(sorted[i].start >= sorted[i - 1].end, `batch ${b.batch_id}: two RunJob at once: ${JSON.stringify(sorted)}`)
  }
  await assertOutputExactly(sb.output, [...sb.expected.values()], 'after the concurrent rounds')
})
