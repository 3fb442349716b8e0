// ndpq run as a long-running service (issue 4, "The service" and "Retries"): watching the
// input tree, the start-up scan, the flush timer, shutdown, job timeouts, the concurrency
// limit and leases between two runners.
//
// These tests use the real clock (UTC dates computed here): the timer, the age rule and the
// retry delays need time to pass, and NDPQ_FAKE_NOW freezes ndpq's clock.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'

import {
  sandbox, assertExit, describeRun, assertOutputExactly, hiddenUnder, historyRows, runJobIntervals, utcDate,
  waitFor, sleep, s3Events, childPids, cmdline, processesWith, checkNoSharedFiles, makeRecords,
} from './run-lib.mjs'

/** Status of every file by key. */
function statusByKey(sb) {
  if (!fs.existsSync(sb.db)) return new Map()
  try {
    return new Map(sb.sql('SELECT key, status FROM files').map(f => [f.key, f.status]))
  } catch (e) {
    if (/no such table/.test(e.message)) return new Map() // the service is creating the schema
    throw e
  }
}

/** Wait until every given key is tracked with `status`. */
async function waitStatus(sb, svc, keys, status = 'completed', timeoutMs = 20_000) {
  return waitFor(() => {
    if (svc?.exit) throw new Error(`the service exited (${JSON.stringify(svc.exit)}):\n${svc.log()}`)
    const m = statusByKey(sb)
    return keys.every(k => m.get(k) === status)
  }, {
    timeoutMs,
    intervalMs: 100,
    what: `${keys.length} file(s) to be ${status}`,
    detail: () => `files: ${JSON.stringify([...statusByKey(sb)])}\n--- service log:\n${svc ? svc.log() : ''}`,
  })
}

/** Wait until the service has started (its first log line). */
async function started(svc) {
  await waitFor(() => {
    if (svc.exit) throw new Error(`the service exited (${JSON.stringify(svc.exit)}):\n${svc.log()}`)
    return /ndpq run: home/.test(svc.log())
  }, { what: 'the service to start', timeoutMs: 10_000, detail: () => svc.log() })
}

async function stopOk(svc, { maxMs = 5000 } = {}) {
  const r = await svc.stop({ signal: 'SIGTERM', timeoutMs: maxMs + 5000 })
  assert.equal(r.code, 0, `SIGTERM: the service exits 0 (got ${JSON.stringify(r)})\n${svc.log()}`)
  assert.ok(r.ms <= maxMs, `SIGTERM: the service exited after ${r.ms} ms (limit ${maxMs})`)
  return r
}

/** Make a hung job: the batch's manifest is replaced by a FIFO nobody writes (reading it blocks). */
function hangManifest(sb, batchId) {
  const b = sb.sql(`SELECT manifest_key FROM batches WHERE batch_id='${batchId}'`)[0]
  const p = path.join(sb.bucket('manifests'), b.manifest_key)
  const saved = fs.readFileSync(p)
  fs.rmSync(p)
  execMkfifo(p)
  return { path: p, restore: () => { fs.rmSync(p); fs.writeFileSync(p, saved) } }
}

function execMkfifo(p) {
  // node has no mkfifo; the coreutils one is always there
  const r = spawnSync('mkfifo', [p])
  assert.equal(r.status, 0, `mkfifo ${p}: ${r.stderr}`)
}
test('service: start-up scan, rename into place, write+close, new subdirectories and moved-in directories are all converted without a restart', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', FLUSH_INTERVAL_SECONDS: '1' } })
  // there before the start: found by the start-up scan
  const boot = [1, 2, 3].map(i => sb.putRecords(`${today}-boot-${i}.ndjson`, today, 10 + i, { tag: `B${i}` }))
  const svc = sb.service()
  await waitStatus(sb, svc, boot.map(o => o.key))

  const keys = []
  // 1. written under a dot-temporary name, then renamed into place
  for (let i = 1; i <= 3; i++) keys.push(sb.putRecords(`${today}-renamed-${i}.ndjson`, today, 20 + i, { tag: `R${i}`, atomic: true }).key)
  // a non-dot temporary suffix renamed into place
  {
    const { lines, ids } = makeRecords('P1', 7)
    const fin = sb.objectPath(`${today}-part-suffix.ndjson`)
    fs.writeFileSync(fin + '.part', lines.join('\n') + '\n')
    await sleep(200)
    assert.equal(statusByKey(sb).get(`${today}-part-suffix.ndjson.part`), undefined, 'a .part temporary name is ignored')
    fs.renameSync(fin + '.part', fin)
    sb.expected.set(`${today}-part-suffix.ndjson`, { key: `${today}-part-suffix.ndjson`, uri: sb.uri(`${today}-part-suffix.ndjson`), date: today, ids, corrupt: [] })
    keys.push(`${today}-part-suffix.ndjson`)
  }
  // 2. plain write + close, one written slowly: it must be taken only once closed, whole
  {
    const { lines, ids } = makeRecords('S1', 50)
    const text = lines.join('\n') + '\n'
    const key = `${today}-slow.ndjson`
    const fd = fs.openSync(sb.objectPath(key), 'w')
    fs.writeSync(fd, text.slice(0, 333))
    await sleep(700)
    assert.equal(statusByKey(sb).get(key), undefined, 'a file still open for writing is not tracked yet')
    fs.writeSync(fd, text.slice(333))
    fs.closeSync(fd)
    sb.expected.set(key, { key, uri: sb.uri(key), date: today, ids, corrupt: [] })
    keys.push(key)
  }
  keys.push(sb.putRecords(`${today}-plain-1.ndjson`, today, 9, { tag: 'W1' }).key)
  // 3. a new subdirectory tree created after the start, with files at each level (renamed
  // into place: a plain write into a brand-new directory races with the directory scan, see
  // the test 'a file still being written when its new directory is scanned' below)
  keys.push(sb.putRecords(`new/${today}-sub-1.ndjson`, today, 4, { tag: 'N1', atomic: true }).key)
  keys.push(sb.putRecords(`new/a/b/${today}-sub-2.ndjson`, today, 5, { tag: 'N2', atomic: true }).key)
  keys.push(sb.putRecords(`new/a/${today}-sub-3.ndjson`, today, 6, { tag: 'N3', atomic: true }).key)
  // 4. a directory filled elsewhere and moved into the bucket in one rename
  {
    const outside = path.join(sb.dir, 'staging', 'batch7')
    fs.mkdirSync(outside, { recursive: true })
    for (let i = 1; i <= 3; i++) {
      const { lines, ids } = makeRecords(`M${i}`, 3 + i)
      fs.writeFileSync(path.join(outside, `${today}-moved-${i}.ndjson`), lines.join('\n') + '\n')
      const key = `moved/${today}-moved-${i}.ndjson`
      sb.expected.set(key, { key, uri: sb.uri(key), date: today, ids, corrupt: [] })
      keys.push(key)
    }
    fs.renameSync(outside, path.join(sb.input, 'moved'))
  }
  // a dot-file that is never renamed is never tracked
  sb.put(`.${today}-hidden.ndjson`, makeRecords('H', 2).lines)
  sb.put(`${today}-editor.ndjson~`, makeRecords('E', 2).lines)

  assert.equal(keys.length + boot.length, 15, 'test set-up: 15 files, 5 full batches')
  await waitStatus(sb, svc, keys)
  assert.equal(svc.exit, null, 'the service is still running')
  const tracked = sb.files().map(f => f.key).sort()
  assert.deepEqual(tracked, [...boot.map(o => o.key), ...keys].sort(), 'exactly the final names are tracked, no temporary name')
  for (const f of sb.files()) assert.equal(f.size, fs.statSync(sb.objectPath(f.key)).size, `${f.key} tracked with its final size`)
  assert.equal(sb.batches().length, 5)
  assert.ok(sb.batches().every(b => b.close_reason === 'full' && b.status === 'completed'))
  await assertOutputExactly(sb.output, sb.expected.values(), 'service output')
  assert.deepEqual(hiddenUnder(sb.output), [])
  assert.deepEqual(checkNoSharedFiles(sb), [])
  // logs: one line per event, no payload dumps
  const log = svc.log()
  for (const inp of sb.expected.values()) {
    assert.ok(!log.includes(inp.ids[0] + '"'), `the log does not dump records (found ${inp.ids[0]})`)
  }
  assert.ok(!log.includes('"nested"'), 'the log does not dump record payloads')
  await stopOk(svc)
})

test('service: a file still being written when its new directory is scanned is taken only once closed, whole', async t => {
  // A directory appears in the bucket (here: moved in) while a file inside it is still open
  // for writing. The directory scan must not take the half-written file: the records written
  // after the scan would be lost (the close event is then a "repeat" of a tracked key).
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '1', FLUSH_INTERVAL_SECONDS: '1' } })
  const svc = sb.service()
  await started(svc)
  const stage = path.join(sb.dir, 'stage', 'incoming')
  fs.mkdirSync(stage, { recursive: true })
  const { lines, ids } = makeRecords('G', 40)
  const text = lines.join('\n') + '\n'
  const fd = fs.openSync(path.join(stage, `${today}-growing.ndjson`), 'w')
  fs.writeSync(fd, text.slice(0, 500))
  fs.renameSync(stage, path.join(sb.input, 'incoming'))
  await sleep(800) // the service has seen the new directory and scanned it
  fs.writeSync(fd, text.slice(500))
  fs.closeSync(fd)
  const key = `incoming/${today}-growing.ndjson`
  sb.expected.set(key, { key, uri: sb.uri(key), date: today, ids, corrupt: [] })
  await sleep(1500)
  const f = sb.sql(`SELECT status, size, reason FROM files WHERE key='${key}'`)[0]
  assert.ok(f, 'the file is tracked')
  assert.equal(f.size, Buffer.byteLength(text), `tracked with its final size (status ${f.status}, reason ${f.reason})\n${svc.log()}`)
  await waitStatus(sb, svc, [key])
  await assertOutputExactly(sb.output, sb.expected.values(), 'the whole file, once')
  await stopOk(svc)
})

test('service: files that arrive while it is down are picked up by the start-up scan', async t => {
  const today = utcDate(0)
  const yesterday = utcDate(-1)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', FLUSH_INTERVAL_SECONDS: '1' } })
  const first = [1, 2, 3].map(i => sb.putRecords(`${today}-a${i}.ndjson`, today, 5, { tag: `A${i}` }))
  let svc = sb.service()
  await waitStatus(sb, svc, first.map(o => o.key))
  await stopOk(svc)
  // while it is down
  const down = [
    ...[1, 2, 3].map(i => sb.putRecords(`later/${today}-b${i}.ndjson`, today, 6, { tag: `D${i}`, atomic: true })),
    ...[1, 2].map(i => sb.putRecords(`${yesterday}-c${i}.ndjson`, yesterday, 7, { tag: `Y${i}` })),
  ]
  svc = sb.service()
  await waitStatus(sb, svc, down.map(o => o.key))
  const yb = sb.batches().filter(b => b.date_prefix === yesterday)
  assert.equal(yb.length, 1)
  assert.equal(yb[0].close_reason, 'orphan', 'yesterday\'s files are flushed at start-up as an orphan batch')
  await assertOutputExactly(sb.output, sb.expected.values(), 'after the restart')
  await stopOk(svc)
})

test('service: the timer flushes a past date\'s leftovers, and aged files, with no new upload', async t => {
  const today = utcDate(0)
  const yesterday = utcDate(-1)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '10', FLUSH_INTERVAL_SECONDS: '1', MAX_BATCH_WAIT_SECONDS: '3' } })
  const svc = sb.service()
  await started(svc)
  await sleep(300)

  // (1) A file of yesterday that was tracked as pending while yesterday was "today" — the state
  // at midnight. It is tracked by a separate `ndpq ingest` whose clock says yesterday, in a
  // bucket the service does not watch, so the service gets no event for it: only its timer
  // can flush it.
  const left = sb.putRecords(`${yesterday}-left.ndjson`, yesterday, 12, { tag: 'L', bucket: 'side' })
  const ri = await sb.run(['ingest', '-'], {
    input: s3Events([{ key: left.key, size: left.size, bucket: 'side' }]),
    env: { INPUT_BUCKET: 'side', NDPQ_FAKE_NOW: `${yesterday}T12:00:00` },
  })
  assertExit(ri, 0)
  assert.equal(ri.json.processed, 1)
  assert.equal(ri.json.manifests.length, 0, 'yesterday\'s file was pending when tracked')
  const t0 = Date.now()
  await waitStatus(sb, svc, [left.key], 'completed', 10_000)
  const dt = Date.now() - t0
  const yb = sb.batches().filter(b => b.date_prefix === yesterday)
  assert.equal(yb.length, 1)
  assert.equal(yb[0].close_reason, 'orphan')
  assert.ok(dt < 4000, `flushed by the 1 s timer, took ${dt} ms`)
  // The round's summary line comes after its report is written, which may
  // be after the batch's job is done: wait for it rather than race it.
  await waitFor(() => /flush: /.test(svc.log()), {
    timeoutMs: 5000, what: 'the log to show the timer flush', detail: () => svc.log(),
  })

  // (2) The age rule: a lone file of today waits MAX_BATCH_WAIT_SECONDS, then the timer closes it.
  const lone = sb.putRecords(`${today}-lone.ndjson`, today, 8, { tag: 'O' })
  const t1 = Date.now()
  await waitStatus(sb, svc, [lone.key], 'pending', 5000)
  await waitStatus(sb, svc, [lone.key], 'completed', 10_000)
  const dt1 = Date.now() - t1
  const ob = sb.batches().find(b => b.date_prefix === today)
  assert.equal(ob.close_reason, 'age')
  assert.ok(dt1 >= 2500, `closed after MAX_BATCH_WAIT_SECONDS=3 (took ${dt1} ms)`)
  assert.ok(dt1 < 7000, `closed soon after MAX_BATCH_WAIT_SECONDS=3 (took ${dt1} ms)`)
  await assertOutputExactly(sb.output, sb.expected.values(), 'timer output')
  await stopOk(svc)
})

test('service: SIGTERM exits 0 at once when idle, and within --grace with a hung job, handing the execution back', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '1', FLUSH_INTERVAL_SECONDS: '1' } })
  let svc = sb.service()
  await started(svc)
  await stopOk(svc, { maxMs: 2000 })

  const a = sb.putRecords(`${today}-hang.ndjson`, today, 5, { tag: 'H' })
  assertExit(await sb.run(['ingest', '-'], { input: s3Events([a]) }), 0)
  const [b] = sb.batches()
  const fifo = hangManifest(sb, b.batch_id)
  svc = sb.service({ args: ['--grace', '1'] })
  await waitFor(() => sb.sql(`SELECT state FROM executions WHERE batch_id='${b.batch_id}'`)[0]?.state === 'running',
    { what: 'the job to start', detail: () => svc.log() })
  const jobs = await waitFor(() => {
    const j = childPids(svc.pid).filter(p => (cmdline(p) ?? []).includes('convert'))
    return j.length ? j : null
  }, { what: 'the job process', detail: () => svc.log() })
  await sleep(300)
  const r = await svc.stop({ signal: 'SIGTERM', timeoutMs: 10_000 })
  assert.equal(r.code, 0, `exit 0 after SIGTERM (${JSON.stringify(r)})\n${svc.log()}`)
  assert.ok(r.ms >= 800, `the running job was given the grace period (exited after ${r.ms} ms)`)
  assert.ok(r.ms < 4000, `exited within the 1 s grace period (after ${r.ms} ms)`)
  for (const p of jobs) assert.equal(cmdline(p), null, `job ${p} is gone after the shutdown`)
  const ex = sb.sql(`SELECT state, attempts FROM executions WHERE batch_id='${b.batch_id}'`)[0]
  assert.equal(ex.state, 'pending', 'the interrupted execution is handed back')
  assert.equal(ex.attempts, 0, 'an interrupted attempt is not counted')
  assert.equal(sb.batches()[0].status, 'manifested')
  assert.match(historyRows(sb, b.batch_id).at(-1).detail ?? '', /shutdown/i)
  // it runs again later
  fifo.restore()
  assertExit(await sb.run(['run', '--once']), 0)
  assert.equal(sb.batches()[0].status, 'completed')
  await assertOutputExactly(sb.output, sb.expected.values())
})

test('service: JOB_TIMEOUT_SECONDS kills a hung job (retried, then failed); with MAX_CONCURRENT_RUNS=1 the others wait for the slot and none fails', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, {
    env: {
      MAX_FILES_PER_MANIFEST: '1', FLUSH_INTERVAL_SECONDS: '1', JOB_TIMEOUT_SECONDS: '1', JOB_MAX_ATTEMPTS: '2',
      JOB_RETRY_INTERVAL_SECONDS: '0.1', MAX_CONCURRENT_RUNS: '1',
    },
  })
  const hung = sb.putRecords(`${today}-hung.ndjson`, today, 5, { tag: 'H' })
  assertExit(await sb.run(['ingest', '-'], { input: s3Events([hung]) }), 0)
  const hb = sb.batches()[0].batch_id
  const fifo = hangManifest(sb, hb)
  sb.expected.delete(hung.key)
  // batches queued behind the hung one
  const others = [1, 2, 3].map(i => sb.putRecords(`${today}-ok-${i}.ndjson`, today, 30, { tag: `K${i}` }))
  const t0 = Date.now()
  const svc = sb.service()
  await waitFor(() => sb.sql(`SELECT status FROM batches WHERE batch_id='${hb}'`)[0].status === 'failed',
    { what: 'the hung batch to fail', timeoutMs: 15_000, detail: () => svc.log() })
  const dt = Date.now() - t0
  assert.ok(dt >= 1900, `two attempts of 1 s each (took ${dt} ms)`)
  assert.ok(dt < 8000, `timeouts enforced (took ${dt} ms)`)
  const bh = sb.sql(`SELECT status, attempts, error FROM batches WHERE batch_id='${hb}'`)[0]
  assert.equal(bh.attempts, 2)
  assert.match(bh.error, /timed out|timeout/i, 'the error says the job timed out')
  const runs = runJobIntervals(historyRows(sb, hb))
  assert.equal(runs.length, 2)
  for (const x of runs) {
    const s = (x.end - x.start) / 1e6
    assert.ok(s >= 0.9 && s < 3, `a hung attempt is killed after about 1 s (${s.toFixed(2)} s)`)
    assert.match(x.exit ?? '', /timed out|timeout/i)
  }
  assert.deepEqual(processesWith(fifo.path), [], 'no hung job process is left')
  await waitStatus(sb, svc, others.map(o => o.key), 'completed', 15_000)
  assert.equal(svc.exit, null, 'the service survives the hung job')
  // queued, never failed for lack of a slot; and never two jobs at once
  const all = []
  for (const b of sb.batches()) {
    const r = runJobIntervals(historyRows(sb, b.batch_id))
    if (b.batch_id !== hb) {
      assert.equal(b.status, 'completed')
      assert.equal(r.length, 1, `batch ${b.batch_id} ran once (queued, not failed)`)
      assert.match(r[0].exit ?? '', /succeeded/)
    }
    all.push(...r.map(x => ({ ...x, batch: b.batch_id })))
  }
  all.sort((x, y) => x.start - y.start)
  for (let i = 1; i < all.length; i++) {
    assert.ok(all[i].start >= all[i - 1].end,
      `MAX_CONCURRENT_RUNS=1: ${all[i].batch} started before ${all[i - 1].batch} ended`)
  }
  await assertOutputExactly(sb.output, sb.expected.values())
  await stopOk(svc)
})

test('run --once: MAX_CONCURRENT_RUNS=1 queues executions — all complete at the first attempt, one at a time', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2', MAX_CONCURRENT_RUNS: '1' } })
  for (let i = 1; i <= 12; i++) sb.putRecords(`${today}-q${String(i).padStart(2, '0')}.ndjson`, today, 2000, { tag: `Q${i}` })
  const r = await sb.run(['run', '--once'])
  assertExit(r, 0)
  const batches = sb.batches()
  assert.equal(batches.length, 6)
  const all = []
  for (const b of batches) {
    assert.equal(b.status, 'completed')
    const x = runJobIntervals(historyRows(sb, b.batch_id))
    assert.equal(x.length, 1, `batch ${b.batch_id}: one attempt`)
    all.push(...x.map(y => ({ ...y, batch: b.batch_id })))
  }
  all.sort((a, b) => a.start - b.start)
  for (let i = 1; i < all.length; i++) {
    assert.ok(all[i].start >= all[i - 1].end, `${all[i].batch} started while ${all[i - 1].batch} was running`)
  }
  await assertOutputExactly(sb.output, sb.expected.values())
})

test('two run --once processes on one NDPQ_HOME never run an execution twice', async t => {
  const today = utcDate(0)
  const yesterday = utcDate(-1)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2', MAX_CONCURRENT_RUNS: '2', CONVERT_THREADS: '1' } })
  for (let i = 1; i <= 40; i++) {
    const d = i % 4 === 0 ? yesterday : today
    sb.putRecords(`${d}-two-${String(i).padStart(2, '0')}.ndjson`, d, 300 + (i * 37) % 900, { tag: `X${i}` })
  }
  // the store exists first (two first opens of a fresh store at the same instant can fail
  // with "database is locked", reported separately); then both ingest the same bucket,
  // batch, and run, at the same time
  assertExit(await sb.run(['status']), 0)
  const [r1, r2] = await Promise.all([sb.run(['run', '--once']), sb.run(['run', '--once'])])
  assertExit(r1, 0)
  assertExit(r2, 0)
  const batches = sb.batches()
  assert.ok(batches.length >= 20, `${batches.length} batches`)
  assert.deepEqual(checkNoSharedFiles(sb), [], 'no file in two batches')
  const files = sb.files()
  assert.equal(files.length, 40, 'each file tracked once')
  assert.ok(files.every(f => f.status === 'completed'), `every file completed: ${JSON.stringify(files.filter(f => f.status !== 'completed'))}`)
  for (const b of batches) {
    assert.equal(b.status, 'completed', `batch ${b.batch_id}`)
    const hist = historyRows(sb, b.batch_id)
    const runs = runJobIntervals(hist)
    const ok = runs.filter(x => /succeeded/.test(x.exit ?? ''))
    assert.equal(ok.length, 1, `batch ${b.batch_id}: exactly one successful RunJob exit\n${JSON.stringify(hist, null, 1)}`)
    assert.equal(runs.length, 1, `batch ${b.batch_id}: one RunJob in all (nothing failed)`)
    runs.sort((x, y) => x.start - y.start)
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i].start >= runs[i - 1].end, `batch ${b.batch_id}: overlapping RunJob`)
    assert.equal(hist.filter(h => h.state === 'UpdateStatusCompleted' && h.event === 'entered').length, 1,
      `batch ${b.batch_id} completed once`)
  }
  // from their logs: between them the two runners completed each batch once
  const done = [r1, r2].map(r => {
    const m = /(\d+) completed, (\d+) failed/.exec(r.stderr)
    assert.ok(m, `summary line in the log\n${describeRun(r)}`)
    assert.equal(Number(m[2]), 0, 'no failure')
    return Number(m[1])
  })
  if (process.env.NDPQ_TEST_VERBOSE) console.error(`# runner 1 completed ${done[0]}, runner 2 completed ${done[1]}`)
  assert.equal(done[0] + done[1], batches.length, `the two runners completed each batch once between them (${done})`)
  await assertOutputExactly(sb.output, sb.expected.values(), 'two runners')
  assert.deepEqual(hiddenUnder(sb.output), [])
})

test('two services on one NDPQ_HOME while files stream in: each execution runs once, no file in two batches', async t => {
  const today = utcDate(0)
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '3', FLUSH_INTERVAL_SECONDS: '1', MAX_CONCURRENT_RUNS: '2', CONVERT_THREADS: '1' } })
  // the second starts once the first has created the store: two first opens of a fresh
  // store at the same instant can fail with "database is locked" (reported separately)
  const s1 = sb.service()
  await started(s1)
  const s2 = sb.service()
  await started(s2)
  const keys = []
  for (let i = 1; i <= 30; i++) {
    keys.push(sb.putRecords(`${i % 2 ? 'x/' : ''}${today}-s${String(i).padStart(2, '0')}.ndjson`, today, 200 + (i * 131) % 1800,
      { tag: `S${i}`, atomic: i % 3 !== 0 }).key)
    await sleep(20)
  }
  await waitStatus(sb, s1, keys, 'completed', 30_000)
  assert.equal(s2.exit, null, 'the second service is still running')
  const files = sb.files()
  assert.equal(files.length, 30, 'each file tracked once')
  assert.deepEqual(checkNoSharedFiles(sb), [], 'no file in two batches')
  const batches = sb.batches()
  assert.equal(batches.length, 10)
  for (const b of batches) {
    assert.equal(b.status, 'completed')
    const hist = historyRows(sb, b.batch_id)
    const runs = runJobIntervals(hist)
    assert.equal(runs.length, 1, `batch ${b.batch_id} ran once\n${JSON.stringify(hist, null, 1)}`)
    assert.match(runs[0].exit ?? '', /succeeded/)
    assert.equal(hist.filter(h => h.state === 'UpdateStatusCompleted' && h.event === 'entered').length, 1)
  }
  await assertOutputExactly(sb.output, sb.expected.values(), 'two services')
  await stopOk(s1)
  await stopOk(s2)
})
