// Helpers for the end-to-end tests of `ndpq ingest`, `ndpq flush` and `ndpq status`
// (tests/e2e/ingest-*.test.mjs). Not a test file itself.
//
// The binary is ROOT/build/ndpq, or $NDPQ_BIN. Every test gets a fresh temporary NDPQ_HOME
// (removed afterwards unless NDPQ_KEEP_TMP=1). "Now" is fixed with NDPQ_FAKE_NOW, so
// "today" and "a past date" are deterministic: by default now is NOW below.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { spawnCollect } from './spawn.mjs'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = process.env.NDPQ_BIN ? path.resolve(process.env.NDPQ_BIN) : path.join(ROOT, 'build/ndpq')

export const NOW = '2025-06-15T12:00:00'
export const TODAY = '2025-06-15'
export const PAST = '2025-06-14'
export const FUTURE = '2025-06-16'

/** Every setting ndpq reads from the environment: none may leak in from the caller. */
export const SETTINGS = [
  'NDPQ_HOME', 'TRACKING_TABLE', 'INPUT_BUCKET', 'MANIFEST_BUCKET', 'OUTPUT_BUCKET', 'QUARANTINE_BUCKET',
  'QUARANTINE_MODE', 'ALLOWED_EXTENSIONS', 'COMPRESSION_TYPE', 'LOG_LEVEL', 'MAX_FILES_PER_MANIFEST',
  'MIN_FILES_FOR_PARTIAL_BATCH', 'EXPECTED_FILE_SIZE_MB', 'SIZE_TOLERANCE_PERCENT', 'MAX_BATCH_BYTES',
  'MAX_BATCH_WAIT_SECONDS', 'JOB_RETRY_INTERVAL_SECONDS', 'JOB_BACKOFF_RATE', 'JOB_MAX_ATTEMPTS',
  'JOB_TIMEOUT_SECONDS', 'MAX_CONCURRENT_RUNS', 'FLUSH_INTERVAL_SECONDS', 'ALERT_WEBHOOK_URL', 'ALERT_COMMAND',
  'CONVERT_THREADS', 'NDPQ_FAKE_NOW',
]

export const SUMMARY_FIELDS = ['processed', 'quarantined', 'duplicates', 'ignored', 'manifests', 'errors',
  'batchItemFailures']

// ---------------------------------------------------------------------------
// the sandbox: one NDPQ_HOME with its buckets

/**
 * A fresh NDPQ_HOME for test t. Returns an object with:
 *   home, dir (its parent, for files outside the home), bucket(name) → dir path,
 *   put(key, content, {bucket}) → {key, size, path}, env (base environment),
 *   run(args, opts) → result (see runNdpq), sql(query) → rows, db path.
 */
export function sandbox(t, { now = NOW, env = {} } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`ndpq binary not found at ${BIN} (run make, or set NDPQ_BIN)`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndpq-ingest-'))
  if (t && !process.env.NDPQ_KEEP_TMP) t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const home = path.join(dir, 'home')
  fs.mkdirSync(path.join(home, 'buckets', 'input'), { recursive: true })
  const sb = {
    dir,
    home,
    db: path.join(home, 'state.db'),
    env: { NDPQ_HOME: home, NDPQ_FAKE_NOW: now, ...env },
    bucket: name => path.join(home, 'buckets', name),
    objectPath: (key, bucket = 'input') => path.join(home, 'buckets', bucket, key),
    uri: (key, bucket = 'input') => fileUri(path.join(home, 'buckets', bucket, key)),
    /** Create an object. content: string/Buffer, or a number = size in bytes (sparse file). */
    put(key, content = '{"a":1}\n', { bucket = 'input' } = {}) {
      const p = path.join(home, 'buckets', bucket, key)
      fs.mkdirSync(path.dirname(p), { recursive: true })
      if (typeof content === 'number') {
        fs.writeFileSync(p, '')
        fs.truncateSync(p, content)
      } else {
        fs.writeFileSync(p, content)
      }
      return { key, size: fs.statSync(p).size, path: p, bucket }
    },
    run: (args, opts = {}) => runNdpq(args, { ...opts, env: { ...sb.env, ...(opts.env ?? {}) } }),
    /** ndpq ingest with `events` (a string, or a list of documents joined by newlines) on stdin. */
    ingest: (events, opts = {}) => sb.run(['ingest', ...(opts.args ?? []), '-'],
      { ...opts, input: Array.isArray(events) ? events.map(d => (typeof d === 'string' ? d : JSON.stringify(d))).join('\n') + '\n' : events }),
    flush: (opts = {}) => sb.run(['flush', ...(opts.args ?? [])], opts),
    status: async (opts = {}) => {
      const r = await sb.run(['status', '--json', ...(opts.args ?? [])], opts)
      assertExit(r, 0)
      return JSON.parse(r.stdout)
    },
    sql: query => sql(path.join(home, 'state.db'), query),
    files: () => sql(path.join(home, 'state.db'), 'SELECT * FROM files ORDER BY key'),
    batches: () => sql(path.join(home, 'state.db'), 'SELECT * FROM batches ORDER BY seq'),
    manifests: (bucket = 'manifests') => readManifests(path.join(home, 'buckets', bucket)),
    reports: (kind = 'ingest', bucket = 'manifests') => readReports(path.join(home, 'buckets', bucket), kind),
  }
  return sb
}

// ---------------------------------------------------------------------------
// running ndpq

/**
 * Run ndpq. Resolves to {code, signal, stdout, stderr, summary, args}; summary is stdout
 * parsed as JSON, or null. Settings are taken only from opts.env (never from the caller's
 * environment).
 */
export function runNdpq(args, { env = {}, input, timeoutMs = 120_000, cwd } = {}) {
  const childEnv = { ...process.env }
  for (const k of SETTINGS) delete childEnv[k]
  Object.assign(childEnv, env)
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k]
  return spawnCollect(BIN, args, { env: childEnv, cwd, timeoutMs, input })
}

export function describeRun(r) {
  const cut = s => (s.length > 3000 ? s.slice(0, 3000) + `…(${s.length} chars)` : s)
  return `ndpq ${r.args.map(a => JSON.stringify(a)).join(' ')} → exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}\n` +
    `--- stderr:\n${cut(r.stderr)}\n--- stdout:\n${cut(r.stdout)}`
}

export function assertExit(r, code) {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}\n${describeRun(r)}`)
}

/**
 * Assert the exit code and the summary: every field present with the right type, and
 * the given fields equal. `manifests` may be a number (the count); `errors` may be a number
 * (the count); `failures` is the list of itemIdentifiers (in any order).
 */
export function assertSummary(r, code, expect = {}) {
  assertExit(r, code)
  const s = r.summary
  assert.ok(s && typeof s === 'object', `stdout is not one JSON summary\n${describeRun(r)}`)
  for (const f of SUMMARY_FIELDS) assert.ok(f in s, `summary lacks ${f}\n${describeRun(r)}`)
  for (const f of ['processed', 'quarantined', 'duplicates', 'ignored']) {
    assert.equal(typeof s[f], 'number', `summary.${f} is a number`)
  }
  for (const f of ['manifests', 'errors', 'batchItemFailures']) assert.ok(Array.isArray(s[f]), `summary.${f} is a list`)
  for (const e of s.errors) {
    assert.equal(typeof e.event, 'string', 'errors[].event is a string')
    assert.equal(typeof e.message, 'string', 'errors[].message is a string')
  }
  for (const f of s.batchItemFailures) assert.equal(typeof f.itemIdentifier, 'string')
  for (const f of ['processed', 'quarantined', 'duplicates', 'ignored']) {
    if (f in expect) assert.equal(s[f], expect[f], `summary.${f}\n${describeRun(r)}`)
  }
  if ('manifests' in expect) {
    if (typeof expect.manifests === 'number') assert.equal(s.manifests.length, expect.manifests, `number of manifests\n${describeRun(r)}`)
    else assert.deepEqual([...s.manifests].sort(), [...expect.manifests].sort(), `summary.manifests\n${describeRun(r)}`)
  }
  if ('errors' in expect) {
    assert.equal(s.errors.length, expect.errors, `number of errors\n${describeRun(r)}`)
  }
  if ('failures' in expect) {
    assert.deepEqual(s.batchItemFailures.map(f => f.itemIdentifier).sort(), [...expect.failures].sort(),
      `batchItemFailures\n${describeRun(r)}`)
  }
  return s
}

// ---------------------------------------------------------------------------
// events

/** S3 notification form-encoding of a key: space → '+', reserved bytes → %XX, '/' kept. */
export function formEncode(key) {
  return key.split('/').map(s => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+')).join('/')
}

/** One S3 notification record. `rawKey` is used as-is (already encoded) when given. */
export function s3Record(key, size, { bucket = 'input', eventName = 'ObjectCreated:Put', rawKey } = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2025-06-15T12:00:00.000Z',
    eventName,
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'ndjson-upload',
      bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
      object: { key: rawKey ?? formEncode(key), size, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
    },
  }
}

/** An S3 notification document for objects [{key, size, ...}]. */
export function s3Event(objects) {
  return { Records: objects.map(o => s3Record(o.key, o.size, o)) }
}

/** A Lambda SQS event: messages [{messageId, body}] (body: object or string). */
export function sqsEvent(messages) {
  return {
    Records: messages.map(m => ({
      messageId: m.messageId,
      receiptHandle: 'AQEB' + m.messageId,
      body: typeof m.body === 'string' ? m.body : JSON.stringify(m.body),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1749988800000' },
      messageAttributes: {},
      md5OfBody: '00000000000000000000000000000000',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:ndjson-events',
      awsRegion: 'us-east-1',
    })),
  }
}

/** An EventBridge "Object Created" event (keys are not form-encoded there). */
export function eventBridge(key, size, { bucket = 'input', detailType = 'Object Created' } = {}) {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '123456789012',
    time: '2025-06-15T12:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key, size, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '00617F08299329D189' },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      reason: 'PutObject',
    },
  }
}

/** An SNS notification envelope around a message (object or string). */
export function snsEnvelope(message) {
  return {
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:ndjson-events',
    Subject: 'Amazon S3 Notification',
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    Timestamp: '2025-06-15T12:00:00.000Z',
    SignatureVersion: '1',
  }
}

export const TEST_EVENT = {
  Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2025-06-15T12:00:00.000Z', Bucket: 'input',
  RequestId: '5582815E1AEA5ADF', HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
}

// ---------------------------------------------------------------------------
// inspecting the result

/** file:// URI of an absolute path, percent-encoding everything outside RFC 3986 pchar and '/'. */
export function fileUri(absPath) {
  const keep = /[A-Za-z0-9\-._~/!$&'()*+,;=:@]/
  let s = 'file://'
  for (const b of Buffer.from(absPath)) {
    const ch = String.fromCharCode(b)
    s += b < 0x80 && keep.test(ch) ? ch : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return s
}

/** Rows of a query, via the sqlite3 CLI in JSON mode. */
export function sql(db, query) {
  const out = execFileSync('sqlite3', ['-json', db, query], { encoding: 'utf8', maxBuffer: 256 << 20 })
  return out.trim() ? JSON.parse(out) : []
}

function walk(dir) {
  const out = []
  if (!fs.existsSync(dir)) return out
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p))
    else out.push(p)
  }
  return out.sort()
}

/** Every file under dir, as paths relative to dir (sorted). */
export function listFiles(dir) {
  return walk(dir).map(p => path.relative(dir, p))
}

/** The manifests in a manifest bucket dir: [{key, path, uri, body}] sorted by key. */
export function readManifests(bucketDir) {
  return walk(path.join(bucketDir, 'manifests'))
    .map(p => ({ key: path.relative(bucketDir, p), path: p, uri: fileUri(p), body: JSON.parse(fs.readFileSync(p, 'utf8')) }))
}

/** The reports under MANIFEST_BUCKET/logs/<kind>/: [{key, body}]. */
export function readReports(bucketDir, kind = 'ingest') {
  return walk(path.join(bucketDir, 'logs', kind))
    .map(p => ({ key: path.relative(bucketDir, p), body: JSON.parse(fs.readFileSync(p, 'utf8')) }))
}

/** The URIs listed by a manifest body. */
export function manifestUris(body) {
  assert.ok(Array.isArray(body.fileLocations) && body.fileLocations.length === 1,
    `manifest has one fileLocations entry: ${JSON.stringify(body)}`)
  assert.ok(Array.isArray(body.fileLocations[0].URIPrefixes), 'fileLocations[0].URIPrefixes is a list')
  return body.fileLocations[0].URIPrefixes
}

/** Deterministic shuffle (mulberry32). */
export function shuffle(arr, seed) {
  let a = seed >>> 0
  const rnd = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...arr]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** ISO string of NDPQ_FAKE_NOW plus `seconds`, in the NDPQ_FAKE_NOW format. */
export function nowPlus(seconds, base = NOW) {
  return new Date(Date.parse(base + 'Z') + seconds * 1000).toISOString().slice(0, 19)
}

/**
 * Cross-check everything ndpq keeps about batches: every batch row has a manifest on disk
 * at MANIFEST_BUCKET/manifests/DATE/BATCH_ID.json whose body matches the batch row and whose
 * URIs are exactly the files the tracking store puts in that batch; every manifest on disk
 * belongs to a batch; each batch has an executions row. Returns {batches, manifests}.
 */
export function checkBatchesConsistent(sb, { manifestBucket = 'manifests', max } = {}) {
  const batches = sb.batches()
  const manifests = readManifests(sb.bucket(manifestBucket))
  const byKey = new Map(manifests.map(m => [m.key, m]))
  const files = sb.sql("SELECT uri, size, batch_id, status, date_prefix FROM files WHERE batch_id IS NOT NULL")
  const execs = new Map(sb.sql('SELECT * FROM executions').map(e => [e.batch_id, e]))
  assert.equal(new Set(batches.map(b => b.batch_id)).size, batches.length, 'batch ids are unique')
  assert.equal(manifests.length, batches.length, `one manifest per batch: ${manifests.map(m => m.key).join(', ')}`)
  for (const b of batches) {
    const key = `manifests/${b.date_prefix}/${b.batch_id}.json`
    assert.equal(b.manifest_key, key, 'batch manifest_key')
    assert.equal(b.manifest_written, 1, `batch ${b.batch_id} manifest_written`)
    const m = byKey.get(key)
    assert.ok(m, `manifest ${key} exists`)
    assert.equal(b.manifest_uri, m.uri, `batch ${b.batch_id} manifest_uri`)
    const mine = files.filter(f => f.batch_id === b.batch_id)
    const uris = manifestUris(m.body)
    assert.deepEqual([...uris].sort(), mine.map(f => f.uri).sort(), `manifest ${key} lists exactly its batch's files`)
    assert.equal(new Set(uris).size, uris.length, `manifest ${key} lists no file twice`)
    assert.equal(m.body.batch_id, b.batch_id)
    assert.equal(m.body.date_prefix, b.date_prefix)
    assert.equal(m.body.file_count, uris.length, `manifest ${key} file_count`)
    assert.equal(b.file_count, uris.length, `batch ${b.batch_id} file_count`)
    assert.equal(m.body.total_bytes, mine.reduce((s, f) => s + f.size, 0), `manifest ${key} total_bytes`)
    assert.equal(m.body.close_reason, b.close_reason)
    assert.match(m.body.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/)
    for (const f of mine) assert.equal(f.date_prefix, b.date_prefix, 'a batch holds files of its own date only')
    if (max !== undefined) assert.ok(uris.length <= max, `batch ${b.batch_id} holds ${uris.length} > MAX ${max} files`)
    assert.ok(uris.length >= 1, 'no empty batch')
    const ex = execs.get(b.batch_id)
    assert.ok(ex, `executions row for ${b.batch_id}`)
    const input = JSON.parse(ex.input)
    assert.equal(input.manifest_path, m.uri, 'execution input manifest_path')
    assert.equal(input.date_prefix, b.date_prefix, 'execution input date_prefix')
    assert.equal(input.file_count, uris.length, 'execution input file_count')
    assert.equal(input.batch_id, b.batch_id, 'execution input batch_id')
    assert.equal(typeof input.timestamp, 'string', 'execution input timestamp')
  }
  assert.equal(execs.size, batches.length, 'one executions row per batch')
  return { batches, manifests }
}
