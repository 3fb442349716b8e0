// Bad input catalogue, configuration and command line (issue 5, item 3): values out of range
// (command-line options and settings, through --set, the environment and --config files),
// unknown options for every command, and an unknown command. Each exits 2 with a message
// naming the option or setting (and the file and line), and touches nothing: no state
// database, no bucket, no output.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import { sandbox, runNdpq, describeRun } from './ingest-lib.mjs'
import { countBad, catalogueCount, allFiles } from './bad-lib.mjs'

const COMMANDS = ['convert', 'ingest', 'flush', 'status', 'run', 'retry']

/** Escape for a RegExp. */
const re = s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Run `args` in a fresh NDPQ_HOME (cwd = its parent, which holds a.ndjson); assert exit 2,
 * stderr matching every pattern of `names`, nothing on stdout, and nothing created.
 */
async function assertUsage(t, args, names, { env = {}, what } = {}) {
  countBad(what)
  const sb = sandbox(t, { env })
  fs.writeFileSync(path.join(sb.dir, 'a.ndjson'), '{"a":1}\n')
  const before = allFiles(sb.dir)
  const r = await runNdpq(args, { env: sb.env, cwd: sb.dir, timeoutMs: 20_000 })
  assert.equal(r.code, 2, `exit 2 for ${JSON.stringify(args)} ${JSON.stringify(env)}\n${describeRun(r)}`)
  for (const n of names) assert.match(r.stderr, n instanceof RegExp ? n : new RegExp(re(n)), `stderr names ${n}\n${describeRun(r)}`)
  assert.equal(r.stdout, '', `nothing on stdout\n${describeRun(r)}`)
  assert.deepEqual(allFiles(sb.dir), before, `a usage error creates nothing\n${describeRun(r)}`)
  return r
}

/** A harmless invocation of each command (what follows the bad option). */
const TAIL = {
  convert: ['a.ndjson', '-o', 'out.parquet'],
  ingest: ['-'],
  flush: [],
  status: [],
  run: ['--once'],
  retry: ['--failed'],
}

test('config: command-line values out of range exit 2 naming the option and the value', async t => {
  const cases = [
    ['convert', '--threads', '0'], ['convert', '--threads', '1025'], ['convert', '--threads', '-1'],
    ['convert', '--threads', 'abc'], ['convert', '--threads', '99999999999999999999'], ['convert', '--threads', '2x'],
    ['convert', '--page-kb', '0'], ['convert', '--page-kb', '1048577'],
    ['convert', '--row-group-mb', '0'], ['convert', '--row-group-mb', '1025'],
    ['convert', '--target-file-mb', '0'], ['convert', '--target-file-mb', '-5'],
    ['convert', '--compression', 'brotli'], ['convert', '--compression', ''],
    ['convert', '--date', '2024-02-30'], ['convert', '--date', 'yesterday'],
    ['flush', '--date', '2025-13-01'], ['status', '--date', '2025-00-10'],
    ['run', '--grace', '-1'], ['run', '--grace', 'abc'], ['run', '--grace', '86401'],
  ]
  for (const [cmd, opt, value] of cases) {
    // the codec message names the codec rather than the option
    const names = [opt === '--compression' ? /compression|codec/ : opt, value === '' ? /''|empty|must/ : `'${value}'`]
    await assertUsage(t, [cmd, opt, value, ...TAIL[cmd]], names, { what: 'option out of range' })
  }
})

// setting, bad value, what the message must mention
const SETTINGS_OUT_OF_RANGE = [
  ['MAX_FILES_PER_MANIFEST', '0'], ['MAX_FILES_PER_MANIFEST', '1000001'], ['MAX_FILES_PER_MANIFEST', 'ten'],
  ['SIZE_TOLERANCE_PERCENT', '150'], ['SIZE_TOLERANCE_PERCENT', '-1'],
  ['JOB_MAX_ATTEMPTS', '0'], ['JOB_MAX_ATTEMPTS', '101'],
  ['JOB_BACKOFF_RATE', '0'], ['JOB_RETRY_INTERVAL_SECONDS', '-1'], ['JOB_TIMEOUT_SECONDS', '-1'],
  ['MAX_CONCURRENT_RUNS', '1025'], ['CONVERT_THREADS', '-1'], ['CONVERT_THREADS', '1025'],
  ['FLUSH_INTERVAL_SECONDS', '0'], ['EXPECTED_FILE_SIZE_MB', '-1'], ['MAX_BATCH_BYTES', '-1'],
  ['MAX_BATCH_WAIT_SECONDS', '-1'], ['MIN_FILES_FOR_PARTIAL_BATCH', '0'],
  ['QUARANTINE_MODE', 'shred'], ['LOG_LEVEL', 'loud'], ['COMPRESSION_TYPE', 'brotli'],
  ['ALLOWED_EXTENSIONS', ''], ['INPUT_BUCKET', '../x'], ['OUTPUT_BUCKET', 'a/b'], ['MANIFEST_BUCKET', ''],
]

test('config: settings out of range via --set exit 2 naming the setting and the value, for every command', async t => {
  for (const [i, [key, value]] of SETTINGS_OUT_OF_RANGE.entries()) {
    const cmd = COMMANDS[i % COMMANDS.length] // spread the cases over the commands
    await assertUsage(t, [cmd, '--set', `${key}=${value}`, ...TAIL[cmd]], [key, value === '' ? /empty|must|''/ : value],
      { what: 'setting out of range (--set)' })
  }
  // a relation between two settings
  await assertUsage(t, ['ingest', '--set', 'MAX_FILES_PER_MANIFEST=5', '--set', 'MIN_FILES_FOR_PARTIAL_BATCH=6', '-'],
    ['MIN_FILES_FOR_PARTIAL_BATCH', 'MAX_FILES_PER_MANIFEST'], { what: 'setting out of range (--set)' })
  // an unknown setting, and --set without '='
  for (const cmd of COMMANDS) {
    await assertUsage(t, [cmd, '--set', 'NO_SUCH_SETTING=1', ...TAIL[cmd]], ['NO_SUCH_SETTING'], { what: 'unknown setting' })
  }
  await assertUsage(t, ['ingest', '--set', 'NOEQUALS', '-'], ['NOEQUALS'], { what: 'unknown setting' })
})

test('config: settings out of range in the environment exit 2 naming the variable', async t => {
  for (const [i, [key, value]] of SETTINGS_OUT_OF_RANGE.slice(0, 12).entries()) {
    const cmd = COMMANDS[(i + 3) % COMMANDS.length]
    await assertUsage(t, [cmd, ...TAIL[cmd]], [key, value], { env: { [key]: value }, what: 'setting out of range (environment)' })
  }
})

test('config: a bad --config file exits 2 naming the file and the line', async t => {
  const cases = [
    ['# comment\nMAX_FILES_PER_MANIFEST=5\n\nJOB_MAX_ATTEMPTS=0\n', [/bad\.conf:4/, 'JOB_MAX_ATTEMPTS']],
    ['SIZE_TOLERANCE_PERCENT=150\n', [/bad\.conf:1/, 'SIZE_TOLERANCE_PERCENT']],
    ['garbage line\n', [/bad\.conf:1/, /KEY=VALUE/]],
    ['A=1\n', [/bad\.conf:1/, /unknown/i, 'A']],
    ['LOG_LEVEL=info\nUNKNOWN_KEY=2\n', [/bad\.conf:2/, 'UNKNOWN_KEY']],
  ]
  for (const [i, [text, names]] of cases.entries()) {
    const cmd = COMMANDS[i % COMMANDS.length]
    countBad('config file')
    const sb = sandbox(t)
    const conf = path.join(sb.dir, 'bad.conf')
    fs.writeFileSync(conf, text)
    const r = await runNdpq([cmd, '--config', conf, ...TAIL[cmd]], { env: sb.env, cwd: sb.dir, timeoutMs: 20_000 })
    assert.equal(r.code, 2, describeRun(r))
    for (const n of names) assert.match(r.stderr, n instanceof RegExp ? n : new RegExp(re(n)), describeRun(r))
    assert.equal(fs.existsSync(sb.db), false, 'no state created')
  }
  // a config file that does not exist
  await assertUsage(t, ['flush', '--config', '/nonexistent/ndpq.conf'], ['/nonexistent/ndpq.conf'], { what: 'config file' })
})

test('config: a --config path that is a directory (or unreadable) is an error, not an empty configuration', async t => {
  for (const cmd of ['status', 'ingest']) {
    const sb = sandbox(t)
    const confDir = path.join(sb.dir, 'conf.d')
    fs.mkdirSync(confDir)
    await assertUsage(t, [cmd, '--config', confDir, ...TAIL[cmd]], [confDir], { what: 'config file' })
  }
})

test('config: unknown options of every command exit 2 naming the option', async t => {
  for (const cmd of COMMANDS) {
    for (const opt of ['--bogus-opt', '-Z', '--threads=' /* for non-convert commands, or an empty value for convert */]) {
      if (cmd === 'convert' && opt === '--threads=') continue
      await assertUsage(t, [cmd, opt, ...TAIL[cmd]], [cmd, opt.replace(/=$/, '')], { what: 'unknown option' })
    }
  }
  // options missing their value (at the end of the line)
  for (const [cmd, opt] of [['convert', '-o'], ['convert', '--compression'], ['convert', '--threads'], ['ingest', '--set'],
    ['flush', '--date'], ['status', '--batch'], ['run', '--grace'], ['retry', '--config']]) {
    await assertUsage(t, [cmd, 'a.ndjson', opt].filter(x => cmd === 'convert' || x !== 'a.ndjson'), [cmd, opt], { what: 'option missing its value' })
  }
})

test('config: an unknown command (or none) exits 2 naming it', async t => {
  for (const name of ['frobnicate', 'CONVERT', 'conv', '--bogus', 'help-me', '']) {
    const r = await assertUsage(t, name === '' ? [] : [name], name === '' ? [/usage/i] : [`'${name}'`], { what: 'unknown command' })
    if (name !== '') assert.match(r.stderr, /unknown command/i, describeRun(r))
  }
})

catalogueCount('bad configuration and command line')
