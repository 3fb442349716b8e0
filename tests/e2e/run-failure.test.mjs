// ndpq run: failure, retries, alerts and redrive (issue 4, "Must show 2").
//
// These tests use the real clock: NDPQ_FAKE_NOW freezes ndpq's clock, so a retry delay
// would never elapse (see the report of this suite).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'

import {
  sandbox, assertExit, describeRun, assertOutputExactly, hiddenUnder, walk, historyRows, runJobIntervals,
  utcDate, checkNoSharedFiles,
} from './run-lib.mjs'

const RETRY = { JOB_RETRY_INTERVAL_SECONDS: '0.1', JOB_BACKOFF_RATE: '2', JOB_MAX_ATTEMPTS: '3' }

/** An HTTP receiver on 127.0.0.1: records every request; `responses` is a list of status codes to give in turn (then 200). */
async function receiver(t, { responses = [] } = {}) {
  const requests = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', d => chunks.push(d))
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      const code = responses.length ? responses.shift() : 200
      res.writeHead(code, { 'content-type': 'text/plain' })
      res.end(code === 200 ? 'ok' : 'nope')
    })
  })
  await new Promise(res => server.listen(0, '127.0.0.1', res))
  t.after(() => new Promise(res => server.close(res)))
  return { url: `http://127.0.0.1:${server.address().port}/hooks/ndpq`, requests }
}

/**
 * Two batches of 3 files for `date` made by `ndpq ingest` (MAX_FILES_PER_MANIFEST=3): nothing
 * runs yet. Returns {a, b} = [{batch_id, inputs}] (a = the first batch).
 */
async function twoBatches(sb, date) {
  const inputs = []
  for (let i = 1; i <= 6; i++) inputs.push(sb.putRecords(`in/${date}-f${i}.ndjson`, date, 20 + i, { tag: `F${i}` }))
  const events = inputs.map(o => JSON.stringify({
    Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'input' }, object: { key: o.key, size: o.size } } }],
  })).join('\n') + '\n'
  const r = await sb.run(['ingest', '-'], { input: events })
  assertExit(r, 0)
  assert.equal(r.json.manifests.length, 2, `ingest makes 2 full batches\n${describeRun(r)}`)
  const batches = sb.batches()
  assert.equal(batches.length, 2)
  assert.ok(batches.every(b => b.status === 'manifested'), 'nothing ran yet')
  const of = id => sb.sql(`SELECT key FROM files WHERE batch_id='${id}'`).map(f => inputs.find(i => i.key === f.key))
  return batches.map(b => ({ batch_id: b.batch_id, inputs: of(b.batch_id) }))
}

function alertLines(sb) {
  const p = path.join(sb.home, 'alerts.jsonl')
  if (!fs.existsSync(p)) return []
  const text = fs.readFileSync(p, 'utf8')
  assert.ok(text === '' || text.endsWith('\n'), 'alerts.jsonl ends with a newline')
  return text.split('\n').filter(Boolean)
}

function parquetOf(sb, batchId) {
  return walk(sb.bucket('output')).filter(p => path.basename(p).includes(batchId))
}

test('failure: a vanished input is retried per policy, ends failed with one alert (file, webhook, command); redrive completes it without duplicates', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const date = utcDate(0)
  const [A, B] = await twoBatches(sb, date)
  const victim = A.inputs[1]
  const saved = fs.readFileSync(victim.path)
  fs.rmSync(victim.path)

  const hook = await receiver(t)
  const cmdOut = path.join(sb.dir, 'alert-command.out')
  const env = { ...RETRY, ALERT_WEBHOOK_URL: hook.url, ALERT_COMMAND: `cat >> '${cmdOut}'` }
  const r = await sb.run(['run', '--once'], { env })
  assertExit(r, 0)

  // --- batch A failed after 3 attempts; batch B is unaffected
  const ba = sb.batches().find(b => b.batch_id === A.batch_id)
  const bb = sb.batches().find(b => b.batch_id === B.batch_id)
  assert.equal(bb.status, 'completed', 'the other batch completes')
  assert.equal(ba.status, 'failed', `batch A ends failed\n${describeRun(r)}`)
  assert.equal(ba.attempts, 3, 'batch A: 3 attempts in all')
  assert.ok(ba.error.includes(victim.path), `batch error names the missing file: ${ba.error}`)
  for (const f of sb.sql(`SELECT status FROM files WHERE batch_id='${A.batch_id}'`)) assert.equal(f.status, 'failed')

  // --- the execution is reported failed, never succeeded (the original ended in success)
  const ex = sb.executions().find(e => e.batch_id === A.batch_id)
  assert.equal(ex.state, 'failed', 'the execution ends in a failed state')
  assert.equal(ex.attempts, 3)
  const hist = historyRows(sb, A.batch_id)
  const states = hist.map(h => h.state)
  assert.ok(!states.includes('ExecutionSucceeded'), 'a failed execution never records ExecutionSucceeded')
  assert.ok(!states.includes('UpdateStatusCompleted'), 'nor UpdateStatusCompleted')
  assert.equal(states.at(-1), 'ExecutionFailed', `the history ends in ExecutionFailed: ${states.join(', ')}`)
  const st = await sb.status()
  assert.equal(st.batches.find(b => b.batch_id === A.batch_id).status, 'failed', 'status --json shows failed')
  assert.ok(st.counts.some(c => c.status === 'failed' && c.files === 3), 'status --json counts 3 failed files')

  // --- history: 3 RunJob attempts, the retry delays 0.1 s and 0.2 s, then the failure path
  const bj = await sb.batch(A.batch_id)
  assert.equal(bj.status, 'failed')
  assert.equal(bj.attempts, 3)
  assert.ok(bj.error.includes(victim.path))
  const runs = runJobIntervals(hist)
  assert.equal(runs.length, 3, `3 RunJob attempts: ${JSON.stringify(hist, null, 1)}`)
  runs.forEach((x, i) => {
    assert.match(x.detail ?? '', new RegExp(`attempt ${i + 1} of 3`), `RunJob entry ${i + 1} detail`)
    assert.ok(x.end !== null, `RunJob attempt ${i + 1} exited`)
    assert.ok((x.exit ?? '').includes(victim.path), `RunJob attempt ${i + 1} exit names the missing file: ${x.exit}`)
  })
  const retries = hist.filter(h => h.state === 'Retry')
  assert.equal(retries.length, 2, 'two Retry states between three attempts')
  assert.match(retries[0].detail, /retry in 0\.1 ?s/, 'first retry after JOB_RETRY_INTERVAL_SECONDS')
  assert.match(retries[1].detail, /retry in 0\.2 ?s/, 'second retry after interval × JOB_BACKOFF_RATE')
  for (const [i, want] of [[1, 0.1], [2, 0.2]]) {
    const gap = (runs[i].start - runs[i - 1].end) / 1e6
    // (the delay counts from just before RunJob's exit is recorded: allow 20 ms)
    assert.ok(gap >= want - 0.02, `attempt ${i + 1} started ${gap.toFixed(3)} s after attempt ${i} ended; the delay is ${want} s`)
    assert.ok(gap < want + 2, `attempt ${i + 1} started ${gap.toFixed(3)} s after attempt ${i}: far more than ${want} s`)
  }
  const tail = hist.slice(hist.findIndex(h => h.state === 'UpdateStatusFailed')).map(h => [h.state, h.event])
  assert.deepEqual(tail, [['UpdateStatusFailed', 'entered'], ['UpdateStatusFailed', 'exited'],
    ['SendFailureAlert', 'entered'], ['SendFailureAlert', 'exited'], ['ExecutionFailed', 'entered']],
  'after the last attempt: UpdateStatusFailed, then SendFailureAlert, ending failed')
  // each attempt's JSON report is kept
  for (let i = 1; i <= 3; i++) {
    const rep = path.join(sb.home, 'jobs', `${A.batch_id}-attempt${i}.json`)
    assert.ok(fs.existsSync(rep), `report of attempt ${i} kept at ${rep}`)
    const body = JSON.parse(fs.readFileSync(rep, 'utf8'))
    assert.equal(body.status, 'failed')
    assert.ok(body.error.includes(victim.path), `report of attempt ${i} names the missing file`)
  }
  const lastRun = hist.findLastIndex(h => h.state === 'RunJob')
  assert.ok(hist.findIndex(h => h.state === 'UpdateStatusFailed') > lastRun, 'UpdateStatusFailed only after the last attempt')

  // --- exactly one alert everywhere, naming the missing file
  const lines = alertLines(sb)
  assert.equal(lines.length, 1, `exactly one line in alerts.jsonl: ${lines.join('\n')}`)
  const alert = JSON.parse(lines[0])
  assert.equal(alert.batch_id, A.batch_id)
  assert.equal(alert.date_prefix, date)
  assert.equal(alert.attempts, 3)
  assert.ok(alert.error.includes(victim.path), `alert error names the missing file: ${alert.error}`)
  assert.ok(alert.files.includes(victim.uri), 'alert lists the batch files, the missing one included')
  assert.deepEqual([...alert.files].sort(), A.inputs.map(i => i.uri).sort(), 'alert lists the batch files')
  assert.match(alert.manifest_path, new RegExp(`${A.batch_id}\\.json$`), 'alert names the manifest')
  assert.equal(hook.requests.length, 1, `exactly one POST: ${JSON.stringify(hook.requests.map(q => q.body))}`)
  const post = hook.requests[0]
  assert.equal(post.method, 'POST')
  assert.equal(post.url, '/hooks/ndpq')
  assert.match(post.headers['content-type'] ?? '', /application\/json/)
  assert.deepEqual(JSON.parse(post.body), alert, 'the POST carries the same JSON as alerts.jsonl')
  assert.ok(post.body.includes(victim.path.replace(/\//g, '/')), 'the POST names the missing file')
  const cmdLines = fs.readFileSync(cmdOut, 'utf8').split('\n').filter(Boolean)
  assert.equal(cmdLines.length, 1, 'ALERT_COMMAND ran once with the alert on stdin')
  assert.deepEqual(JSON.parse(cmdLines[0]), alert, 'ALERT_COMMAND gets the same JSON')

  // --- nothing of batch A is visible in the output
  assert.deepEqual(parquetOf(sb, A.batch_id), [], 'no file of the failed batch in the output (visible or hidden)')
  assert.deepEqual(hiddenUnder(sb.bucket('output')), [], 'no hidden partial left in the output')
  await assertOutputExactly(sb.output, B.inputs, 'after the failure (only batch B)')

  // --- another run --once: the failed batch stays failed and is not alerted again
  const r2 = await sb.run(['run', '--once'], { env })
  assertExit(r2, 0)
  assert.equal(sb.batches().find(b => b.batch_id === A.batch_id).status, 'failed', 'a failed batch waits for a redrive')
  assert.equal(alertLines(sb).length, 1, 'no second alert line')
  assert.equal(hook.requests.length, 1, 'no second POST')

  // --- restore, redrive, run
  fs.writeFileSync(victim.path, saved)
  const rr = await sb.run(['retry', '--failed'])
  assertExit(rr, 0)
  assert.deepEqual(rr.json, { redriven: 1 }, `retry --failed redrives one batch\n${describeRun(rr)}`)
  assert.equal(sb.batches().find(b => b.batch_id === A.batch_id).status, 'manifested', 'a redriven batch waits to run')
  const r3 = await sb.run(['run', '--once'], { env })
  assertExit(r3, 0)
  const ba2 = sb.batches().find(b => b.batch_id === A.batch_id)
  assert.equal(ba2.status, 'completed', `the redriven batch completes\n${describeRun(r3)}`)
  assert.equal(sb.executions().find(e => e.batch_id === A.batch_id).state, 'succeeded')
  for (const f of sb.sql(`SELECT status FROM files WHERE batch_id='${A.batch_id}'`)) assert.equal(f.status, 'completed')
  const hist2 = historyRows(sb, A.batch_id)
  const redrive = hist2.findIndex(h => h.state === 'Redrive')
  assert.ok(redrive > 0, 'history records the redrive')
  assert.deepEqual(hist2.slice(redrive).filter(h => ['UpdateStatusProcessing', 'RunJob', 'UpdateStatusCompleted'].includes(h.state))
    .map(h => [h.state, h.event]), [['UpdateStatusProcessing', 'entered'], ['UpdateStatusProcessing', 'exited'],
    ['RunJob', 'entered'], ['RunJob', 'exited'], ['UpdateStatusCompleted', 'entered'], ['UpdateStatusCompleted', 'exited']])
  await assertOutputExactly(sb.output, [...A.inputs, ...B.inputs], 'after the redrive')
  assert.deepEqual(hiddenUnder(sb.bucket('output')), [])
  assert.equal(alertLines(sb).length, 1, 'a successful redrive sends no alert')
  assert.equal(hook.requests.length, 1)
  assert.deepEqual(checkNoSharedFiles(sb), [])

  // --- nothing left to redrive; a completed batch cannot be redriven
  const rr2 = await sb.run(['retry', '--failed'])
  assertExit(rr2, 0)
  assert.deepEqual(rr2.json, { redriven: 0 })
  const rr3 = await sb.run(['retry', A.batch_id])
  assert.notEqual(rr3.code, 0, `retry of a completed batch fails\n${describeRun(rr3)}`)
  assert.match(rr3.stderr, new RegExp(A.batch_id))
})

test('failure: ndpq retry BATCH_ID redrives that batch only', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', JOB_RETRY_INTERVAL_SECONDS: '0', JOB_MAX_ATTEMPTS: '1' } })
  const date = utcDate(0)
  const [A, B] = await twoBatches(sb, date)
  const saved = A.inputs.concat(B.inputs).map(i => [i.path, fs.readFileSync(i.path)])
  fs.rmSync(A.inputs[0].path)
  fs.rmSync(B.inputs[2].path)
  assertExit(await sb.run(['run', '--once']), 0)
  assert.deepEqual(sb.batches().map(b => b.status), ['failed', 'failed'])
  assert.equal(alertLines(sb).length, 2, 'one alert per failed batch')
  assert.deepEqual(alertLines(sb).map(l => JSON.parse(l).batch_id).sort(), [A.batch_id, B.batch_id].sort())
  for (const [p, data] of saved) fs.writeFileSync(p, data)
  const rr = await sb.run(['retry', B.batch_id])
  assertExit(rr, 0)
  assert.deepEqual(rr.json, { redriven: 1 })
  assertExit(await sb.run(['run', '--once']), 0)
  const st = Object.fromEntries(sb.batches().map(b => [b.batch_id, b.status]))
  assert.deepEqual(st, { [A.batch_id]: 'failed', [B.batch_id]: 'completed' })
  await assertOutputExactly(sb.output, B.inputs, 'only the redriven batch is converted')
  assert.equal(alertLines(sb).length, 2, 'no new alert')
})

test('failure: a webhook answering 503 is retried until it accepts; the alert is still one line in alerts.jsonl', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', JOB_RETRY_INTERVAL_SECONDS: '0', JOB_MAX_ATTEMPTS: '1' } })
  const date = utcDate(0)
  const [A] = await twoBatches(sb, date)
  fs.rmSync(A.inputs[0].path)
  const hook = await receiver(t, { responses: [503, 503] })
  const r = await sb.run(['run', '--once'], { env: { ALERT_WEBHOOK_URL: hook.url } })
  assertExit(r, 0)
  assert.equal(sb.batches().find(b => b.batch_id === A.batch_id).status, 'failed')
  const lines = alertLines(sb)
  assert.equal(lines.length, 1)
  assert.equal(hook.requests.length, 3, `two 503s then a 200: 3 POSTs\n${describeRun(r)}`)
  for (const q of hook.requests) assert.deepEqual(JSON.parse(q.body), JSON.parse(lines[0]), 'every POST carries the alert')
})

test('failure: an unreachable webhook or a failing ALERT_COMMAND does not lose the alert or stop the runner', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', JOB_RETRY_INTERVAL_SECONDS: '0', JOB_MAX_ATTEMPTS: '1' } })
  const date = utcDate(0)
  const [A, B] = await twoBatches(sb, date)
  fs.rmSync(A.inputs[0].path)
  // a port nobody listens on: take one and close it
  const srv = http.createServer()
  await new Promise(res => srv.listen(0, '127.0.0.1', res))
  const port = srv.address().port
  await new Promise(res => srv.close(res))
  const r = await sb.run(['run', '--once'], {
    env: { ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/x`, ALERT_COMMAND: 'cat >/dev/null; exit 7' },
    timeoutMs: 60_000,
  })
  assertExit(r, 0)
  assert.equal(sb.batches().find(b => b.batch_id === A.batch_id).status, 'failed')
  assert.equal(sb.batches().find(b => b.batch_id === B.batch_id).status, 'completed')
  assert.equal(alertLines(sb).length, 1, 'the alert is in alerts.jsonl')
  assert.equal(JSON.parse(alertLines(sb)[0]).batch_id, A.batch_id)
})

test('failure: retry delays also elapse when NDPQ_FAKE_NOW fixes the clock (run --once must end, not hang)', async t => {
  // NDPQ_FAKE_NOW is how every other suite pins "today"; a retry then waits for a clock that
  // never moves. Expected: the run ends like the real-clock one (A failed after 3 attempts).
  const sb = sandbox(t, { fakeNow: '2025-06-15T12:00:00', env: { MAX_FILES_PER_MANIFEST: '3', ...RETRY } })
  const [A, B] = await twoBatches(sb, '2025-06-15')
  fs.rmSync(A.inputs[0].path)
  const r = await sb.run(['run', '--once'], { timeoutMs: 8000 })
  assert.notEqual(r.signal, 'SIGKILL', `run --once was still running after 8 s (the retry delay never elapses under NDPQ_FAKE_NOW)\n${describeRun(r)}`)
  assertExit(r, 0)
  const st = Object.fromEntries(sb.batches().map(b => [b.batch_id, [b.status, b.attempts]]))
  assert.deepEqual(st, { [A.batch_id]: ['failed', 3], [B.batch_id]: ['completed', st[B.batch_id][1]] })
})

test('failure: run --once gives up (exit 1, naming the error) when the tracking store keeps refusing to start jobs; nothing ran, and the next run completes every batch', async t => {
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3' } })
  const date = utcDate(0)
  const [A, B] = await twoBatches(sb, date)
  // Every claim of an execution is an UPDATE: the store refuses them all.
  sb.sql("CREATE TRIGGER refuse BEFORE UPDATE ON executions BEGIN SELECT RAISE(ABORT, 'the store refuses'); END;")
  const r = await sb.run(['run', '--once'])
  assertExit(r, 1)
  assert.match(r.stderr, /ndpq run: giving up after 20 failed attempts to start jobs: .*the store refuses/, describeRun(r))
  assert.deepEqual(sb.batches().map(b => b.status), ['manifested', 'manifested'], 'nothing ran')
  assert.deepEqual(walk(sb.bucket('output')), [], 'no output')

  sb.sql('DROP TRIGGER refuse')
  const r2 = await sb.run(['run', '--once'])
  assertExit(r2, 0)
  assert.deepEqual(sb.batches().map(b => b.status), ['completed', 'completed'], describeRun(r2))
  await assertOutputExactly(sb.output, [...A.inputs, ...B.inputs])
})
