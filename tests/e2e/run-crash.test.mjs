// The crash test, short version (issue 4 "Must show 3", issue 5 item 1): tests/crash/crash.mjs
// with 8 SIGKILLs (service alone, service with its jobs, a job alone) while files stream in.
// `make crash-test` runs the same harness with 100 kills. CRASH_SEED picks another seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'

import { ROOT } from './run-lib.mjs'

const HARNESS = path.join(ROOT, 'tests/crash/crash.mjs')

function harness(args, timeoutMs = 90_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARNESS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { err += d })
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err }) })
  })
}

test('crash: 8 SIGKILLs while files stream in — every record exactly once, every file completed or quarantined, no file in two batches', async () => {
  const seed = process.env.CRASH_SEED ?? '20250615'
  const r = await harness(['--kills', '8', '--seed', seed])
  const all = `--- stdout:\n${r.out}\n--- stderr:\n${r.err.slice(-6000)}`
  assert.equal(r.code, 0, `crash harness failed (exit ${r.code} ${r.signal ?? ''})\n${all}`)
  const m = /crash-test: seed=(\d+) kills=(\d+) .*files=(\d+) \(valid=(\d+) .*records=(\d+) rows=(\d+) batches=(\d+).*: OK/.exec(r.out)
  assert.ok(m, `summary line\n${all}`)
  const [, , kills, files, valid, records, rows, batches] = m.map(Number)
  assert.equal(kills, 8, 'all 8 kills happened')
  assert.ok(files >= 20 && valid > 0, `files streamed in (${files})`)
  assert.ok(records > 0 && rows === records, `records checked (${records}, rows ${rows})`)
  assert.ok(batches > 1, `several batches (${batches})`)
})

test('crash: the harness catches a duplicated and a lost Parquet part (self-test)', async () => {
  for (const mode of ['dup', 'lose']) {
    const r = await harness(['--kills', '1', '--seed', '7', '--self-test', mode])
    assert.equal(r.code, 1, `--self-test ${mode} must fail\n${r.out}\n${r.err.slice(-3000)}`)
    assert.match(r.out, /FAILED/)
    assert.match(r.err, mode === 'dup' ? /duplicate id/ : /missing id/)
    const kept = /sandbox kept for inspection: (\S+)/.exec(r.err)
    if (kept) (await import('node:fs')).rmSync(kept[1], { recursive: true, force: true })
  }
})
