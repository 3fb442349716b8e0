// ndpq run --once end to end (issue 4, "Must show 1"): batching, quarantine, conversion,
// statuses and history, then a manual flush that finishes the day.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  sandbox, assertExit, describeRun, makeRecords, assertOutputExactly, outputParquet, hiddenUnder,
  readManifests, checkNoSharedFiles, walk, utcDate, childEnv, BIN,
} from './run-lib.mjs'
import { STRACE } from './bad-lib.mjs'
import { spawnCollect } from './spawn.mjs'

const NOW = '2025-06-15T12:00:00'
const TODAY = '2025-06-15'
const YESTERDAY = '2025-06-14'
const MAIN_STATES = ['UpdateStatusProcessing', 'RunJob', 'UpdateStatusCompleted']
const EXPECTED_MAIN_HISTORY = [
  ['UpdateStatusProcessing', 'entered'], ['UpdateStatusProcessing', 'exited'],
  ['RunJob', 'entered'], ['RunJob', 'exited'],
  ['UpdateStatusCompleted', 'entered'], ['UpdateStatusCompleted', 'exited'],
]

/** The inputs of "Must show 1". Returns {valid: [inputs], today, yesterday, corruptKey, wrongExt, empty}. */
function makeInputs(sb) {
  const today = []
  for (let i = 1; i <= 25; i++) {
    const n = String(i).padStart(2, '0')
    // a few in subdirectories: the service scans the whole input tree
    const key = i % 6 === 0 ? `app/v1/${TODAY}-part-${n}.ndjson` : `${TODAY}-part-${n}.ndjson`
    if (i === 7) {
      // the file with corrupt lines: its good lines are records, its bad ones go to _corrupt_record
      const good = makeRecords(`T${n}`, 4)
      const bad = ['{"id":"T07-broken", "v":', 'this is not JSON at all', '[1,2,3]']
      const lines = [good.lines[0], bad[0], good.lines[1], bad[1], good.lines[2], bad[2], good.lines[3]]
      today.push(sb.put(key, lines, { ids: good.ids, corrupt: bad, date: TODAY }))
    } else {
      today.push(sb.putRecords(key, TODAY, 3 + (i * 7) % 40, { tag: `T${n}` }))
    }
  }
  const yesterday = [1, 2, 3].map(i => sb.putRecords(`${YESTERDAY}-part-0${i}.ndjson`, YESTERDAY, 5 + i, { tag: `Y0${i}` }))
  // invalid: wrong extension (with records that must never reach the output) and empty
  const wrongExt = sb.put(`${TODAY}-wrong.json`, makeRecords('W', 3).lines)
  const empty = sb.put(`${TODAY}-empty.ndjson`, '')
  return { today, yesterday, valid: [...today, ...yesterday], corruptKey: today[6].key, wrongExt, empty }
}

function countsOf(files) {
  const m = new Map()
  for (const f of files) {
    const k = `${f.date_prefix}|${f.status}`
    const c = m.get(k) ?? { date: f.date_prefix, status: f.status, files: 0, bytes: 0 }
    c.files++
    c.bytes += f.size
    m.set(k, c)
  }
  return [...m.values()].sort((a, b) => (a.date + a.status).localeCompare(b.date + b.status))
}

/** The history of each batch (status --batch ID --json) shows the main states in order. */
async function checkCompletedHistory(sb, b) {
  const h = await sb.batch(b.batch_id)
  assert.equal(h.batch_id, b.batch_id)
  assert.equal(h.status, 'completed', `status --batch ${b.batch_id}`)
  assert.equal(h.date, b.date_prefix)
  assert.equal(h.file_count, b.file_count)
  assert.equal(h.error, null, 'a completed batch has no error')
  assert.ok(Array.isArray(h.history) && h.history.length > 0, 'history is a non-empty list')
  for (const e of h.history) {
    assert.match(e.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'history time')
    assert.equal(typeof e.state, 'string')
    assert.ok(['entered', 'exited', 'created'].includes(e.event), `history event ${e.event}`)
  }
  const main = h.history.filter(e => MAIN_STATES.includes(e.state)).map(e => [e.state, e.event])
  assert.deepEqual(main, EXPECTED_MAIN_HISTORY,
    `history of ${b.batch_id}: UpdateStatusProcessing, RunJob, UpdateStatusCompleted in order, once each\n` +
    JSON.stringify(h.history, null, 1))
  const states = h.history.map(e => e.state)
  for (const s of ['Retry', 'UpdateStatusFailed', 'SendFailureAlert', 'ExecutionFailed']) {
    assert.ok(!states.includes(s), `no ${s} in the history of a batch that succeeded at once`)
  }
  // the end state is after UpdateStatusCompleted, never before
  assert.equal(states.at(-1), 'ExecutionSucceeded', `the history of ${b.batch_id} ends in ExecutionSucceeded: ${states.join(', ')}`)
  // times never go backwards
  for (let i = 1; i < h.history.length; i++) assert.ok(h.history[i].time >= h.history[i - 1].time, 'history times ordered')
  return h
}

/** The job report kept for a completed batch matches its files. */
function checkResult(sb, b, byUri) {
  assert.ok(b.result, `batch ${b.batch_id} keeps its job report`)
  const rep = JSON.parse(b.result)
  assert.equal(rep.status, 'ok', `report status of ${b.batch_id}`)
  const uris = sb.sql(`SELECT uri FROM files WHERE batch_id='${b.batch_id}'`).map(f => f.uri)
  const inputs = uris.map(u => byUri.get(u))
  const records = inputs.reduce((s, i) => s + i.ids.length + i.corrupt.length, 0)
  assert.equal(rep.records, records, `report.records of ${b.batch_id}`)
  assert.equal(rep.corrupt_records, inputs.reduce((s, i) => s + i.corrupt.length, 0), `report.corrupt_records of ${b.batch_id}`)
  assert.ok(Array.isArray(rep.parts) && rep.parts.length >= 1, 'report lists the parts')
  for (const p of rep.parts) {
    const abs = path.resolve(sb.home, p.path)
    assert.ok(fs.existsSync(abs), `part ${p.path} of ${b.batch_id} exists`)
    assert.ok(path.basename(abs).startsWith(b.batch_id), `part ${p.path} is named after its batch`)
    assert.equal(path.basename(path.dirname(abs)), `merged-parquet-${b.date_prefix}`, 'part in its date directory')
  }
  const log = path.join(sb.home, 'jobs', `${b.batch_id}-attempt1.json`)
  assert.ok(fs.existsSync(log), `the job's JSON report is kept at ${log}`)
  assert.equal(JSON.parse(fs.readFileSync(log, 'utf8')).status, 'ok')
}

test('pipeline: run --once makes 2 full batches for today, 1 orphan for yesterday, quarantines 2, converts each record exactly once; flush finishes the day', async t => {
  const sb = sandbox(t, { fakeNow: NOW, env: { MAX_FILES_PER_MANIFEST: '10' } })
  const inp = makeInputs(sb)
  const byUri = new Map(inp.valid.map(i => [i.uri, i]))
  const byKey = new Map(inp.valid.map(i => [i.key, i]))

  // ---- first run
  const r1 = await sb.run(['run', '--once'])
  assertExit(r1, 0)

  const files = sb.files()
  assert.equal(files.length, 30, 'every input is tracked once (25 + 3 valid, 2 invalid)')
  const todayFiles = files.filter(f => f.date_prefix === TODAY && byKey.has(f.key))
  const completedToday = todayFiles.filter(f => f.status === 'completed')
  const pendingToday = todayFiles.filter(f => f.status === 'pending')
  assert.equal(completedToday.length, 20, `20 of today's files are done: ${JSON.stringify(countsOf(files))}`)
  assert.equal(pendingToday.length, 5, '5 of today\'s files still wait for a full batch')
  for (const f of pendingToday) assert.equal(f.batch_id, null, `${f.key} pending has no batch`)
  const yFiles = files.filter(f => f.date_prefix === YESTERDAY)
  assert.deepEqual(yFiles.map(f => f.status), ['completed', 'completed', 'completed'], 'yesterday\'s 3 files are done')
  assert.equal(new Set(yFiles.map(f => f.batch_id)).size, 1, 'yesterday\'s files are in one batch')

  // batches
  const batches = sb.batches()
  assert.equal(batches.length, 3, `3 batches: ${JSON.stringify(batches.map(b => [b.batch_id, b.date_prefix, b.close_reason]))}`)
  const tb = batches.filter(b => b.date_prefix === TODAY)
  const yb = batches.filter(b => b.date_prefix === YESTERDAY)
  assert.equal(tb.length, 2, '2 batches for today')
  for (const b of tb) {
    assert.equal(b.file_count, 10, `today's batch ${b.batch_id} is full`)
    assert.equal(b.close_reason, 'full')
    assert.equal(b.status, 'completed')
  }
  assert.equal(yb.length, 1, '1 batch for yesterday')
  assert.equal(yb[0].file_count, 3)
  assert.equal(yb[0].close_reason, 'orphan', 'yesterday\'s leftovers close as an orphan (partial) batch')
  assert.equal(yb[0].status, 'completed')
  for (const e of sb.executions()) assert.equal(e.state, 'succeeded', `execution ${e.batch_id}`)
  for (const f of files.filter(f => f.batch_id)) {
    const b = batches.find(x => x.batch_id === f.batch_id)
    assert.equal(f.status, b.status, `file ${f.key} has its batch's status`)
  }
  assert.deepEqual(checkNoSharedFiles(sb), [], 'no two batches share a file')

  // quarantine: status, reason, sidecar
  const q = files.filter(f => f.status === 'quarantined').sort((a, b) => a.key.localeCompare(b.key))
  assert.deepEqual(q.map(f => f.key), [inp.empty.key, inp.wrongExt.key].sort())
  for (const f of q) {
    assert.equal(f.batch_id, null)
    const side = sb.objectPath(`${f.key}.quarantine.json`, 'quarantine')
    assert.ok(fs.existsSync(side), `sidecar ${side} exists`)
    const body = JSON.parse(fs.readFileSync(side, 'utf8'))
    assert.equal(typeof body.reason, 'string')
    assert.ok(body.reason.length > 0, 'sidecar reason is not empty')
    assert.equal(body.reason, f.reason, 'sidecar reason = tracking store reason')
  }
  assert.match(q.find(f => f.key === inp.wrongExt.key).reason, /extension/i)
  assert.match(q.find(f => f.key === inp.empty.key).reason, /empty|0 bytes/i)

  // status --json
  const st = await sb.status()
  const wantCounts = countsOf(files)
  const gotCounts = [...st.counts].sort((a, b) => (a.date + a.status).localeCompare(b.date + b.status))
  assert.deepEqual(gotCounts, wantCounts, 'status --json counts per date and status')
  assert.deepEqual(
    gotCounts.map(c => [c.date, c.status, c.files]),
    [[YESTERDAY, 'completed', 3], [TODAY, 'completed', 20], [TODAY, 'pending', 5], [TODAY, 'quarantined', 2]])
  assert.deepEqual(st.batches.map(b => [b.batch_id, b.date, b.status, b.file_count, b.close_reason]).sort(),
    batches.map(b => [b.batch_id, b.date_prefix, 'completed', b.file_count, b.close_reason]).sort(), 'status --json batches')
  assert.deepEqual(st.quarantined.map(x => [x.key, x.reason]).sort(), q.map(f => [f.key, f.reason]).sort(),
    'status --json lists the quarantined files with their reasons')
  // the text form says the same
  const text = await sb.run(['status'])
  assertExit(text, 0)
  for (const b of batches) assert.match(text.stdout, new RegExp(`${b.batch_id}\\s+${b.date_prefix}\\s+completed\\s+${b.file_count}\\b`))
  assert.match(text.stdout, new RegExp(`${TODAY}\\s+pending\\s+5\\b`))
  for (const f of q) assert.ok(text.stdout.includes(f.key) && text.stdout.includes(f.reason), `status lists ${f.key} with its reason`)
  const bt = await sb.run(['status', '--batch', batches[0].batch_id])
  assertExit(bt, 0)
  assert.match(bt.stdout, /UpdateStatusProcessing[\s\S]*RunJob[\s\S]*UpdateStatusCompleted/, 'status --batch (text) shows the history')

  // history and job reports
  for (const b of batches) {
    await checkCompletedHistory(sb, b)
    checkResult(sb, b, byUri)
  }

  // outputs: one directory per date, parts named after their batches, nothing half-written
  const dirs = fs.readdirSync(sb.output).sort()
  assert.deepEqual(dirs, [`merged-parquet-${YESTERDAY}`, `merged-parquet-${TODAY}`])
  const parts = outputParquet(sb.output)
  for (const p of parts) {
    assert.ok(batches.some(b => path.basename(p).startsWith(b.batch_id + '-part-')), `${p} belongs to a batch`)
  }
  assert.deepEqual(hiddenUnder(sb.output), [], 'no temporary files left in the output')
  const done = inp.valid.filter(i => files.find(f => f.key === i.key).status === 'completed')
  const d1 = await assertOutputExactly(sb.output, done, 'after the first run')
  assert.equal(d1.ids, done.reduce((s, i) => s + i.ids.length, 0))
  const corruptDone = done.some(i => i.key === inp.corruptKey)
  assert.equal(d1.corruptRows, corruptDone ? 3 : 0, 'corrupt lines are kept in _corrupt_record')

  // a repeat of run --once changes nothing
  const mtimes = parts.map(p => fs.statSync(p).mtimeMs)
  const r2 = await sb.run(['run', '--once'])
  assertExit(r2, 0)
  assert.equal(sb.batches().length, 3, 'a second run --once makes no batch')
  assert.deepEqual(outputParquet(sb.output), parts, 'a second run --once writes nothing')
  assert.deepEqual(parts.map(p => fs.statSync(p).mtimeMs), mtimes, 'completed batches are not run again')

  // ---- flush today and finish
  const fl = await sb.run(['flush', '--date', TODAY])
  assertExit(fl, 0)
  const r3 = await sb.run(['run', '--once'])
  assertExit(r3, 0)
  const files2 = sb.files()
  for (const i of inp.valid) {
    const f = files2.find(x => x.key === i.key)
    assert.equal(f.status, 'completed', `${i.key} is completed after flush + run --once\n${describeRun(r3)}`)
  }
  assert.equal(files2.filter(f => f.status === 'quarantined').length, 2, 'still 2 quarantined files')
  const batches2 = sb.batches()
  assert.equal(batches2.length, 4, 'the flush made one more batch')
  const last = batches2[3]
  assert.equal(last.date_prefix, TODAY)
  assert.equal(last.file_count, 5)
  assert.equal(last.close_reason, 'manual', 'a flush --date batch closes as manual')
  assert.equal(last.status, 'completed')
  await checkCompletedHistory(sb, last)
  checkResult(sb, last, byUri)
  for (const b of batches2.slice(0, 3)) {
    assert.equal(sb.sql(`SELECT count(*) AS n FROM history WHERE batch_id='${b.batch_id}' AND state='RunJob' AND event='entered'`)[0].n, 1,
      `batch ${b.batch_id} ran once only`)
  }
  assert.deepEqual(checkNoSharedFiles(sb), [], 'no two batches share a file')
  assert.equal(readManifests(sb.home).length, 4)
  assert.deepEqual(hiddenUnder(sb.output), [], 'no temporary files left in the output')
  const d2 = await assertOutputExactly(sb.output, inp.valid, 'after flush + run --once')
  assert.equal(d2.corruptRows, 3, 'the 3 corrupt lines are kept in _corrupt_record, once each')
  assert.equal(d2.rows, inp.valid.reduce((s, i) => s + i.ids.length + i.corrupt.length, 0), 'row count')
  // nothing of the invalid inputs reached the output
  assert.ok(!walk(sb.output).some(p => p.includes('wrong') || p.includes('empty')), 'no output from quarantined files')
  const st2 = await sb.status()
  assert.deepEqual(st2.counts.filter(c => c.status === 'pending'), [], 'nothing pending after the flush')
  assert.ok(st2.batches.every(b => b.status === 'completed'), 'every batch completed')
})

test('pipeline: status --batch of an unknown batch fails with a message naming it', async t => {
  const sb = sandbox(t, { fakeNow: NOW })
  sb.putRecords(`${YESTERDAY}-a.ndjson`, YESTERDAY, 2)
  assertExit(await sb.run(['run', '--once']), 0)
  const r = await sb.run(['status', '--batch', 'batch-999999-nope', '--json'])
  assert.notEqual(r.code, 0, describeRun(r))
  assert.match(r.stderr, /batch-999999-nope/)
})

test('pipeline: a batch\'s attempts count its job runs — a batch completed at the first attempt shows 1, not 0', async t => {
  // status shows ATTEMPTS per batch; a batch whose job ran once must not show 0.
  const sb = sandbox(t, { env: { MAX_FILES_PER_MANIFEST: '2', JOB_RETRY_INTERVAL_SECONDS: '0', JOB_MAX_ATTEMPTS: '1' } })
  const date = utcDate(0)
  sb.putRecords(`${date}-a1.ndjson`, date, 3)
  sb.putRecords(`${date}-a2.ndjson`, date, 3)
  assertExit(await sb.run(['run', '--once']), 0)
  const [b] = sb.batches()
  assert.equal(b.status, 'completed')
  const st = await sb.status()
  assert.equal(st.batches[0].attempts, 1, `status --json: attempts of a batch completed at its first attempt (got ${st.batches[0].attempts})`)
  assert.equal((await sb.batch(b.batch_id)).attempts, 1, 'status --batch: attempts')
})

test('pipeline: a job is executed once, by the service or by hand: it puts its heap on huge pages itself (no GLIBC_TUNABLES, no second start)', async t => {
  if (!STRACE) return t.skip('needs strace (to see every execve)')
  const sb = sandbox(t, { fakeNow: NOW, env: { MAX_FILES_PER_MANIFEST: '2' } })
  sb.putRecords(`in/${TODAY}-a.ndjson`, TODAY, 5)
  sb.putRecords(`in/${TODAY}-b.ndjson`, TODAY, 5)
  const log = path.join(sb.dir, 'execve.log')
  const env = childEnv(sb.env)
  delete env.GLIBC_TUNABLES
  const r = await spawnCollect(STRACE, ['-f', '-qq', '-v', '-s', '4096', '-e', 'trace=execve', '-e', 'signal=none', '-o', log, BIN, 'run', '--once'],
    { env })
  assert.equal(r.code, 0, `ndpq run --once under strace\n${r.stderr}`)
  const calls = fs.readFileSync(log, 'utf8').split('\n').filter(l => /execve\(/.test(l) && !/= -1/.test(l))
  const jobs = calls.filter(l => l.includes('"convert"'))
  assert.equal(jobs.length, 1, `one job, executed once:\n${calls.join('\n')}`)
  assert.doesNotMatch(jobs[0], /GLIBC_TUNABLES=/, 'the job\'s environment is the service\'s')
  assert.ok(!calls.some(l => l.includes('/proc/self/exe')), `no execution of /proc/self/exe:\n${calls.join('\n')}`)
  assert.deepEqual(sb.batches().map(b => b.status), ['completed'])
  const log2 = path.join(sb.dir, 'execve2.log')
  const env2 = childEnv({})
  delete env2.GLIBC_TUNABLES
  const r2 = await spawnCollect(STRACE, ['-f', '-qq', '-v', '-s', '4096', '-e', 'trace=execve', '-e', 'signal=none', '-o', log2, BIN, 'convert',
    sb.objectPath(`in/${TODAY}-a.ndjson`), '-o', path.join(sb.dir, 'one.parquet')], { env: env2 })
  assert.equal(r2.code, 0, r2.stderr)
  const calls2 = fs.readFileSync(log2, 'utf8').split('\n').filter(l => /execve\(/.test(l) && !/= -1/.test(l))
  assert.ok(calls2.length >= 1 && !calls2.some(l => l.includes('/proc/self/exe')), `convert by hand, not executed again:\n${calls2.join('\n')}`)
})
