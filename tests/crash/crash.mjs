#!/usr/bin/env node
// Crash harness for ndpq (issue 4 "Must show 3", issue 5 item 1).
//
//   node tests/crash/crash.mjs [--kills N] [--seed S] [--keep] [--verbose] [--bin PATH]
//                              [--max-files-per-manifest N] [--min-gap-ms MS] [--max-gap-ms MS]
//                              [--self-test dup|lose]
//
// A producer streams NDJSON files (unique record ids; three dates: two days ago, yesterday,
// today; written under a dot-temporary name and renamed into place, some in subdirectories,
// a few invalid ones that must be quarantined) into the input bucket while `ndpq run` runs
// with a small MAX_FILES_PER_MANIFEST and FLUSH_INTERVAL_SECONDS=1. At random moments
// (seeded) the harness SIGKILLs
//   - the service alone (its jobs die too, by PR_SET_PDEATHSIG),
//   - the service together with its jobs (the whole process group), or
//   - one running job only (the service must retry it),
// and restarts the service each time it killed it. After the last kill the producer stops,
// the service is stopped with SIGTERM (it must exit 0), then `ndpq flush --date TODAY` and
// `ndpq run --once`, in turn, until nothing is left to do. Then it verifies:
//   - with DuckDB, every record id of every valid input appears exactly once across
//     buckets/output/merged-parquet-*/*.parquet (in its date's directory, with its
//     _source_file), and nothing else does;
//   - every tracked file ended completed (valid) or quarantined (invalid), every input was
//     tracked exactly once and no temporary name was tracked;
//   - every batch completed; no two batches share a file (manifests vs tracking store);
//   - no ndpq process is left.
// It prints one summary line and exits 0, or lists the violations and exits 1 (keeping the
// sandbox for inspection). Exit 2 for bad usage.
//
// --self-test tampers with the output before the checks (dup: copies one Parquet part under a
// new name; lose: deletes one), to prove that the checks catch it: the run must then fail.

import fs from 'node:fs'
import path from 'node:path'


// ---------------------------------------------------------------------------
// arguments

function usage(msg) {
  if (msg) console.error(`crash.mjs: ${msg}`)
  console.error('usage: node tests/crash/crash.mjs [--kills N] [--seed S] [--keep] [--verbose] [--bin PATH] ' +
    '[--max-files-per-manifest N] [--min-gap-ms MS] [--max-gap-ms MS] [--self-test dup|lose]')
  process.exit(2)
}

const opts = { kills: 8, seed: 1, keep: false, verbose: false, maxFiles: 4, minGap: 150, maxGap: 1200, selfTest: null }
{
  const a = process.argv.slice(2)
  const num = (i, name) => {
    const v = a[i + 1]
    if (v === undefined || !/^\d+$/.test(v)) usage(`${name} takes a whole number`)
    return Number(v)
  }
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--kills': opts.kills = num(i, '--kills'); i++; break
      case '--seed': opts.seed = num(i, '--seed'); i++; break
      case '--max-files-per-manifest': opts.maxFiles = num(i, a[i]); i++; break
      case '--min-gap-ms': opts.minGap = num(i, a[i]); i++; break
      case '--max-gap-ms': opts.maxGap = num(i, a[i]); i++; break
      case '--self-test':
        if (!['dup', 'lose'].includes(a[i + 1])) usage('--self-test takes dup or lose')
        opts.selfTest = a[++i]
        break
      case '--keep': opts.keep = true; break
      case '--verbose': opts.verbose = true; break
      case '--bin': if (!a[i + 1]) usage('--bin takes a path'); process.env.NDPQ_BIN = path.resolve(a[++i]); break
      case '-h': case '--help': usage()
      // falls through
      default: usage(`unknown argument ${a[i]}`)
    }
  }
  if (opts.maxGap < opts.minGap) usage('--max-gap-ms must be >= --min-gap-ms')
}
// imported after the arguments: run-lib reads NDPQ_BIN (--bin) when it loads
const {
  sandbox, startService, runNdpq, rng: makeRng, utcDate, sleep, childPids, cmdline, makeRecords,
  checkNoSharedFiles, hiddenUnder, processesWith, outputParquet, BIN, ROOT,
} = await import('../e2e/run-lib.mjs')
if (!fs.existsSync(BIN)) usage(`ndpq binary not found at ${BIN} (run make, or set NDPQ_BIN)`)

const log = (...m) => { if (opts.verbose) console.error(`[crash ${((Date.now() - T0) / 1000).toFixed(2)}s]`, ...m) }
const T0 = Date.now()
const rnd = makeRng(opts.seed)
const pick = list => list[Math.floor(rnd() * list.length)]
const between = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1))

// ---------------------------------------------------------------------------
// sandbox and settings

const sb = sandbox(null, { prefix: 'ndpq-crash-' })
const DATES = [utcDate(-2), utcDate(-1), utcDate(0)]
const TODAY = DATES[2]
const ENV = {
  ...sb.env,
  MAX_FILES_PER_MANIFEST: String(opts.maxFiles),
  FLUSH_INTERVAL_SECONDS: '1',
  JOB_RETRY_INTERVAL_SECONDS: '0.2',
  JOB_BACKOFF_RATE: '1.5',
  JOB_MAX_ATTEMPTS: '100', // killed jobs are retried; 100 attempts outlast any run of kills here
  MAX_CONCURRENT_RUNS: '2',
  CONVERT_THREADS: '1',
  LOG_LEVEL: 'info',
}
const serviceLog = path.join(sb.dir, 'service.log')
const violations = []
const violate = msg => { violations.push(msg); log('VIOLATION', msg) }

// ---------------------------------------------------------------------------
// the producer

const produced = [] // {key, uri, date, ids, corrupt, valid}
let producing = true
let fileNo = 0

async function producer() {
  while (producing) {
    fileNo++
    const n = fileNo
    const date = pick(DATES)
    const sub = rnd() < 0.25 ? `feed${n % 5}/` : ''
    const roll = rnd()
    const invalid = roll < 0.03 ? 'empty' : roll < 0.05 ? 'ext' : null
    const base = `${sub}${date}-p${String(n).padStart(6, '0')}`
    const key = invalid === 'ext' ? `${base}.json` : `${base}.ndjson`
    // mostly small files; sometimes big ones, so that kills land while jobs run
    const count = invalid === 'empty' ? 0 : rnd() < 0.08 ? between(4000, 12000) : between(1, 250)
    const { lines, ids } = makeRecords(`f${n}`, count)
    const data = count ? lines.join('\n') + '\n' : ''
    const final = sb.objectPath(key)
    fs.mkdirSync(path.dirname(final), { recursive: true })
    const tmp = path.join(path.dirname(final), `.${path.basename(final)}.tmp`)
    fs.writeFileSync(tmp, data)
    fs.renameSync(tmp, final)
    produced.push({ key, uri: sb.uri(key), date, ids: invalid ? [] : ids, corrupt: [], valid: !invalid })
    await sleep(between(3, 40))
  }
}

// ---------------------------------------------------------------------------
// the service and the kills

let svc = null
let restarts = 0
const kills = { service: 0, group: 0, child: 0 }

function start() {
  svc = startService({ env: ENV, args: ['--grace', '10'], logFile: serviceLog })
  fs.appendFileSync(serviceLog, `--- crash harness: started service pid ${svc.pid}\n`)
  log('started service', svc.pid)
  return svc
}

function runningJobs(pid) {
  return childPids(pid).filter(p => (cmdline(p) ?? []).includes('convert'))
}

/** Check the service did not die on its own; restart it if it did. */
async function checkAlive() {
  if (svc.exit) {
    violate(`the service exited on its own: ${JSON.stringify(svc.exit)} (see ${serviceLog})`)
    start()
    restarts++
  }
}

async function killOnce(k) {
  // a random moment: sometimes right after a start (recovery, start-up scan), mostly later
  const gap = rnd() < 0.2 ? between(10, 120) : between(opts.minGap, opts.maxGap)
  await sleep(gap)
  await checkAlive()
  let mode = pick(['service', 'group', 'child'])
  if (mode === 'child') {
    // wait (a little) for a job to be running, then kill just that job
    const t0 = Date.now()
    let jobs = runningJobs(svc.pid)
    while (!jobs.length && Date.now() - t0 < 2500) {
      await sleep(15)
      await checkAlive()
      jobs = runningJobs(svc.pid)
    }
    if (jobs.length) {
      const victim = pick(jobs)
      log(`kill #${k}: job ${victim} (${(cmdline(victim) ?? []).join(' ').slice(0, 120)})`)
      fs.appendFileSync(serviceLog, `--- crash harness: SIGKILL job ${victim}\n`)
      try { process.kill(victim, 'SIGKILL') } catch { /* it just ended */ }
      kills.child++
      return
    }
    mode = 'service' // no job ran in time: kill the service instead
  }
  const old = svc
  log(`kill #${k}: ${mode} ${old.pid} (jobs: ${runningJobs(old.pid).join(',') || 'none'})`)
  fs.appendFileSync(serviceLog, `--- crash harness: SIGKILL ${mode} ${old.pid}\n`)
  old.kill('SIGKILL', { group: mode === 'group' })
  kills[mode]++
  await old.exited
  if (old.exit.signal !== 'SIGKILL') violate(`service ${old.pid} ended with ${JSON.stringify(old.exit)} before the kill`)
  // sometimes stay down a while: files arrive while the service is down
  if (rnd() < 0.4) await sleep(between(50, 600))
  start()
  restarts++
}

// ---------------------------------------------------------------------------
// verification

function verifyTracking() {
  const files = sb.sql('SELECT key, status, batch_id, date_prefix FROM files')
  const byKey = new Map(files.map(f => [f.key, f]))
  if (byKey.size !== files.length) violate('a key is tracked twice')
  for (const p of produced) {
    const f = byKey.get(p.key)
    if (!f) { violate(`input ${p.key} was never tracked`); continue }
    const want = p.valid ? 'completed' : 'quarantined'
    if (f.status !== want) violate(`input ${p.key} ended ${f.status}, expected ${want}`)
    if (f.date_prefix !== p.date) violate(`input ${p.key} tracked with date ${f.date_prefix}, expected ${p.date}`)
  }
  const known = new Set(produced.map(p => p.key))
  for (const f of files) {
    if (!known.has(f.key)) violate(`tracked key ${f.key} is not an input (a temporary name?)`)
    if (!['completed', 'quarantined'].includes(f.status)) violate(`file ${f.key} ended ${f.status}`)
  }
  const batches = sb.sql('SELECT batch_id, status FROM batches')
  for (const b of batches) if (b.status !== 'completed') violate(`batch ${b.batch_id} ended ${b.status}`)
  const execs = sb.sql('SELECT batch_id, state FROM executions')
  for (const e of execs) if (e.state !== 'succeeded') violate(`execution ${e.batch_id} ended ${e.state}`)
  for (const p of checkNoSharedFiles(sb)) violate(p)
  return { files: files.length, batches: batches.length }
}

/**
 * The output checked in DuckDB, aggregated per input file (it scales to millions of rows):
 * input file n holds ids f<n>-r0 … f<n>-r<count-1>, so per _source_file the rows must be
 * exactly `count`, all distinct, all with tag f<n>, numbered 0 … count-1, all in that
 * file's merged-parquet-DATE directory. Any other source, or a row without an id, is a
 * violation.
 */
async function verifyOutput() {
  const files = outputParquet(sb.output)
  const valid = produced.filter(p => p.valid)
  const want = new Map(valid.map(p => [p.uri, p]))
  let rows = 0
  let ids = 0
  for (const p of valid) ids += p.ids.length
  if (!files.length) {
    violate('output: no Parquet file at all')
    return { ids, rows }
  }
  const con = await duckCon()
  const list = '[' + files.map(f => `'${f.replace(/'/g, "''")}'`).join(',') + ']'
  const r = await con.runAndReadAll(`
    WITH t AS (
      SELECT id, _source_file AS source, regexp_extract(filename, 'merged-parquet-([0-9-]+)/[^/]*$', 1) AS date,
             split_part(id, '-r', 1) AS tag, TRY_CAST(split_part(id, '-r', 2) AS BIGINT) AS k
      FROM read_parquet(${list}, union_by_name=true, filename=true))
    SELECT source, string_agg(DISTINCT date, ',') AS dates, count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS nd,
           count(*) FILTER (WHERE id IS NULL)::BIGINT AS nulls, count(*) FILTER (WHERE k IS NULL)::BIGINT AS badk,
           count(DISTINCT tag)::BIGINT AS ntags, min(tag) AS tag, min(k)::BIGINT AS lo, max(k)::BIGINT AS hi
    FROM t GROUP BY source ORDER BY source`)
  const seen = new Set()
  for (const g of r.getRowObjectsJson()) {
    const n = Number(g.n)
    rows += n
    const p = want.get(g.source)
    if (!p) { violate(`output: ${n} row(s) from ${g.source}, which is not a valid input`); continue }
    seen.add(g.source)
    const count = p.ids.length
    const tag = p.ids[0].split('-r')[0]
    const what = `output: input ${p.key}`
    if (g.dates !== p.date) violate(`${what}: rows in merged-parquet-{${g.dates}}, expected merged-parquet-${p.date}`)
    if (Number(g.nulls) || Number(g.badk)) violate(`${what}: ${g.nulls} row(s) without an id, ${g.badk} with a foreign id`)
    if (Number(g.ntags) !== 1 || g.tag !== tag) violate(`${what}: ids of ${g.ntags} file(s) under its _source_file (${g.tag}…)`)
    if (n > Number(g.nd)) violate(`${what}: duplicate id(s): ${n} rows, ${g.nd} distinct ids`)
    if (Number(g.nd) < count) violate(`${what}: missing id(s): ${g.nd} distinct of ${count}`)
    if (Number(g.nd) > count || Number(g.lo) !== 0 || Number(g.hi) !== count - 1) {
      violate(`${what}: ids numbered ${g.lo}…${g.hi}, expected 0…${count - 1} (${g.nd} distinct)`)
    }
  }
  let missing = 0
  for (const p of valid) {
    if (!seen.has(p.uri)) {
      missing++
      if (missing <= 20) violate(`output: input ${p.key}: missing id(s): none of its ${p.ids.length} record(s) is in the output`)
    }
  }
  if (missing > 20) violate(`output: ${missing - 20} more input(s) missing entirely`)
  return { ids, rows }
}

let duck = null
async function duckCon() {
  if (!duck) {
    const { createRequire } = await import('node:module')
    const req = createRequire(path.join(ROOT, 'tests/readers/package.json'))
    const { DuckDBInstance } = req('@duckdb/node-api')
    const inst = await DuckDBInstance.create(':memory:', { threads: '2' })
    duck = await inst.connect()
  }
  return duck
}

// ---------------------------------------------------------------------------
// main

async function main() {
  console.error(`crash-test: seed ${opts.seed}, ${opts.kills} kill(s), home ${sb.home}`)
  const prod = producer()
  start()
  await sleep(200)
  for (let k = 1; k <= opts.kills; k++) await killOnce(k)
  await sleep(300)
  producing = false
  await prod
  await checkAlive()
  // a clean stop must work after all that
  const stop = await svc.stop({ signal: 'SIGTERM', timeoutMs: 30_000 })
  if (stop.code !== 0) violate(`SIGTERM after the kills: service exited ${JSON.stringify(stop)} (expected 0)`)
  log('stopped; flushing and draining')
  // run until idle: nothing pending, nothing to run. The flush comes before
  // each run: a file that landed just before the stop, its event unseen, is
  // found by the next run's start-up scan and is pending for today, which
  // only a flush (or the orphan timer) closes, as it would in production.
  let rounds = 0
  for (;;) {
    rounds++
    const fl = await runNdpq(['flush', '--date', TODAY], { env: ENV, timeoutMs: 60_000 })
    if (fl.code !== 0) violate(`ndpq flush --date ${TODAY} exited ${fl.code}: ${fl.stderr.slice(-2000)}`)
    const r = await runNdpq(['run', '--once'], { env: ENV, timeoutMs: 120_000 })
    fs.appendFileSync(serviceLog, `--- crash harness: run --once #${rounds} exit ${r.code}\n${r.stderr}`)
    if (r.code !== 0) violate(`run --once #${rounds} exited ${r.code} ${r.signal ?? ''}: ${r.stderr.slice(-2000)}`)
    const left = sb.sql("SELECT (SELECT count(*) FROM files WHERE status NOT IN ('completed','quarantined','failed')) AS files, " +
      "(SELECT count(*) FROM executions WHERE state IN ('pending','running')) AS execs")[0]
    if (left.files === 0 && left.execs === 0) break
    if (rounds >= 4) {
      violate(`still not idle after ${rounds} run --once: ${left.files} file(s) and ${left.execs} execution(s) outstanding`)
      break
    }
  }
  const leftovers = processesWith(sb.home)
  if (leftovers.length) {
    violate(`ndpq processes left running: ${leftovers.map(p => `${p.pid} ${p.argv.join(' ')}`).join('; ')}`)
    for (const p of leftovers) try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ }
  }
  if (opts.selfTest) {
    const parts = outputParquet(sb.output)
    const victim = parts[Math.floor(parts.length / 2)]
    if (opts.selfTest === 'dup') fs.copyFileSync(victim, victim.replace(/\.parquet$/, '-copy.parquet'))
    else fs.rmSync(victim)
    console.error(`crash-test: --self-test ${opts.selfTest}: tampered with ${victim}`)
  }
  const tr = verifyTracking()
  const out = await verifyOutput()
  const hidden = hiddenUnder(sb.output).length
  const alerts = fs.existsSync(path.join(sb.home, 'alerts.jsonl'))
    ? fs.readFileSync(path.join(sb.home, 'alerts.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0
  if (alerts) violate(`${alerts} alert(s) raised: a batch failed (see ${path.join(sb.home, 'alerts.jsonl')})`)
  const valid = produced.filter(p => p.valid).length
  const totalKills = kills.service + kills.group + kills.child
  const secs = ((Date.now() - T0) / 1000).toFixed(1)
  const summary = `crash-test: seed=${opts.seed} kills=${totalKills} (service=${kills.service} group=${kills.group} ` +
    `job=${kills.child}) restarts=${restarts} files=${produced.length} (valid=${valid} quarantined=${produced.length - valid}) ` +
    `records=${out.ids} rows=${out.rows} batches=${tr.batches} hidden_leftovers=${hidden} drain_runs=${rounds} ` +
    `seconds=${secs}: ${violations.length ? `FAILED, ${violations.length} violation(s)` : 'OK, nothing lost or duplicated'}`
  if (violations.length) {
    console.error(`violations:\n  ${violations.slice(0, 60).join('\n  ')}${violations.length > 60 ? `\n  … ${violations.length - 60} more` : ''}`)
    console.error(`sandbox kept for inspection: ${sb.dir} (service log: ${serviceLog})`)
  } else if (!opts.keep) {
    sb.cleanup()
  } else {
    console.error(`sandbox kept: ${sb.dir}`)
  }
  console.log(summary)
  return violations.length ? 1 : 0
}

main().then(code => process.exit(code), async e => {
  console.error(`crash-test: harness error: ${e.stack ?? e}`)
  console.error(`sandbox kept for inspection: ${sb.dir}`)
  process.exit(1)
})
