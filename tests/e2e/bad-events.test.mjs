// Bad input catalogue, events (issue 5, item 3): `ndpq ingest` with malformed documents,
// missing fields, bad sizes, unsafe keys and unknown buckets. Each bad event is an error
// naming its event (document N, record M, or the SQS message) and the thing that is wrong;
// the exit status is 3; SQS messages holding one are listed in batchItemFailures; good
// events next to it are still tracked (nothing lost); nothing is tracked for the bad one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'

import {
  sandbox, assertSummary, describeRun, s3Event, s3Record, sqsEvent, eventBridge, snsEnvelope, PAST,
} from './ingest-lib.mjs'
import { spawnSync } from 'node:child_process'
import { countBad, catalogueCount, sandboxEnv, BIN } from './bad-lib.mjs'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** An S3 record with the given object fields (raw: key used as is, size possibly absent or odd). */
function rawRecord({ bucket = 'input', key, size, noBucket, noKey, noSize } = {}) {
  const object = {}
  if (!noKey) object.key = key
  if (!noSize) object.size = size
  const s3 = { s3SchemaVersion: '1.0', object }
  if (!noBucket) s3.bucket = { name: bucket, arn: `arn:aws:s3:::${bucket}` }
  return { eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3 }
}

/**
 * Ingest `bads` (documents: objects or raw strings), each followed by nothing, then one good
 * event; and again with each bad one inside its own SQS message next to a good message.
 * Checks: exit 3, one error per bad document naming it (document i) and matching `message`,
 * the good file tracked, nothing else tracked, the errors in the log and in the ingest report.
 * `sqs: false` skips the SQS round (for documents an SQS body cannot carry).
 */
async function catalogue(t, what, bads, message, { sqs = true, errorsPer = 1 } = {}) {
  countBad(`event: ${what}`, bads.length)
  // round 1: plain documents
  {
    const sb = sandbox(t)
    const good = sb.put(`${PAST}-good.ndjson`)
    sb.put(`${PAST}-x.ndjson`) // exists: only what the bad event says is wrong
    const docs = [...bads.map(d => (typeof d === 'string' ? d : JSON.stringify(d))), JSON.stringify(s3Event([good]))]
    const r = await sb.ingest(docs.join('\n') + '\n')
    const s = assertSummary(r, 3, { processed: 1, errors: bads.length * errorsPer })
    bads.forEach((_, i) => {
      const e = s.errors[i * errorsPer]
      assert.match(e.event, new RegExp(`^document ${i + 1}\\b`), `the error names its document\n${describeRun(r)}`)
      const re = Array.isArray(message) ? message[i] : message
      assert.match(e.message, re, `document ${i + 1}: the message names what is wrong\n${describeRun(r)}`)
      assert.ok(r.stderr.includes(`${e.event}: ${e.message}`) || r.stderr.includes(e.event), `the log names ${e.event}`)
    })
    assert.deepEqual(sb.files().map(f => f.key), [good.key], 'the good event is tracked; nothing for the bad ones')
    const reports = sb.reports('ingest')
    assert.equal(reports.length, 1)
    assert.deepEqual(reports[0].body.errors, s.errors, 'the ingest report lists the same errors')
    assert.equal(sb.manifests().length, 1, 'the good file is batched')
  }
  if (!sqs) return
  // round 2: inside SQS messages (one per bad document) next to a good message
  {
    const sb = sandbox(t)
    const good = sb.put(`${PAST}-good.ndjson`)
    sb.put(`${PAST}-x.ndjson`)
    const messages = bads.map((d, i) => ({ messageId: `m-bad-${i + 1}`, body: typeof d === 'string' ? d : JSON.stringify(d) }))
    messages.push({ messageId: 'm-good', body: s3Event([good]) })
    const r = await sb.ingest([sqsEvent(messages)])
    const s = assertSummary(r, 3, { processed: 1, errors: bads.length * errorsPer, failures: bads.map((_, i) => `m-bad-${i + 1}`) })
    bads.forEach((_, i) => {
      const e = s.errors[i * errorsPer]
      assert.match(e.event, new RegExp(`m-bad-${i + 1}\\b`), `the error names its SQS message: ${e.event}`)
    })
    assert.deepEqual(sb.files().map(f => f.key), [good.key])
  }
}

test('event: malformed JSON documents (garbage, missing comma, not an object, unrecognised) are errors; the rest is processed', async t => {
  await catalogue(t, 'malformed JSON', [
    '{"Records": [ this is not json',
    '{"Records":[{"eventName":"ObjectCreated:Put" "s3":{}}]}',
    '[]',
    '42',
    '{"hello":"world"}',
    '{"Records":[42]}',
    '{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":"nope"}]}',
  ], [/invalid JSON/i, /invalid JSON|expected/i, /not a JSON object/i, /not a JSON object/i, /unrecognised|unknown/i,
    /neither|record/i, /s3|object|bucket/i], { sqs: false })
  // an SQS body that is not JSON, and an SNS envelope whose Message is not JSON
  countBad('event: malformed JSON', 2)
  const sb = sandbox(t)
  const good = sb.put(`${PAST}-good.ndjson`)
  const r = await sb.ingest([sqsEvent([
    { messageId: 'm-notjson', body: 'not json {' },
    { messageId: 'm-sns', body: snsEnvelope('{"Records": [') },
    { messageId: 'm-good', body: s3Event([good]) },
  ])])
  const s = assertSummary(r, 3, { processed: 1, errors: 2, failures: ['m-notjson', 'm-sns'] })
  assert.match(s.errors[0].event, /m-notjson/)
  assert.match(s.errors[0].message, /JSON/i)
  assert.match(s.errors[1].event, /m-sns/)
  assert.match(s.errors[1].message, /JSON/i)
  assert.deepEqual(sb.files().map(f => f.key), [good.key])
})

test('event: a truncated document does not swallow the valid event on the next line', async t => {
  // "one per line or concatenated": after a document that never closes, the next line's
  // event must still be processed — or at least be listed as failed — never silently dropped.
  for (const truncated of [
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"input"}',
    '{"Records": [',
  ]) {
    countBad('event: truncated document')
    const sb = sandbox(t)
    const good = sb.put(`${PAST}-good.ndjson`)
    const r = await sb.ingest(`${truncated}\n${JSON.stringify(s3Event([good]))}\n`)
    const s = assertSummary(r, 3, {})
    assert.match(s.errors[0].event, /^document 1\b/)
    assert.match(s.errors[0].message, /JSON/i)
    assert.deepEqual(sb.files().map(f => f.key), [good.key],
      `the valid event after the truncated document ${JSON.stringify(truncated)} is lost: not tracked, not listed ` +
      `(${s.errors.length} error(s), ${s.processed} processed)\n${describeRun(r)}`)
  }
})

test('event: missing fields (no bucket, no key, no size) are errors naming the field', async t => {
  const key = `${PAST}-x.ndjson`
  await catalogue(t, 'missing field', [
    { Records: [rawRecord({ key, size: 8, noBucket: true })] },
    { Records: [rawRecord({ size: 8, noKey: true })] },
    { Records: [rawRecord({ key, noSize: true })] },
  ], [/bucket/i, /key/i, /size/i])
  // EventBridge too
  const eb = eventBridge(key, 8)
  const noKey = structuredClone(eb); delete noKey.detail.object.key
  const noSize = structuredClone(eb); delete noSize.detail.object.size
  const noBucket = structuredClone(eb); delete noBucket.detail.bucket
  await catalogue(t, 'missing field', [noBucket, noKey, noSize], [/bucket/i, /key/i, /size/i])
})

test('event: a negative size is an error', async t => {
  await catalogue(t, 'negative size', [
    s3Event([{ key: `${PAST}-x.ndjson`, size: -1 }]),
    s3Event([{ key: `${PAST}-x.ndjson`, size: -9007199254740991 }]),
    eventBridge(`${PAST}-x.ndjson`, -5),
  ], /size.*negative|negative.*size/i)
})

test('event: a size larger than 5 TiB is an error (and a size that is not a whole number)', async t => {
  const TiB5 = 5 * 1024 ** 4
  await catalogue(t, 'huge size', [
    s3Event([{ key: `${PAST}-x.ndjson`, size: TiB5 + 1 }]),
    s3Event([{ key: `${PAST}-x.ndjson`, size: 2 ** 53 }]),
    eventBridge(`${PAST}-x.ndjson`, 6 * 1024 ** 4),
  ], /5 TiB/)
  await catalogue(t, 'odd size', [
    `{"Records":[${JSON.stringify(rawRecord({ key: `${PAST}-x.ndjson`, size: 1 })).replace('"size":1', '"size":99999999999999999999999')}]}`,
  ], /JSON|integer|size/i, { sqs: false })
  await catalogue(t, 'odd size', [
    { Records: [rawRecord({ key: `${PAST}-x.ndjson`, size: '8' })] },
    { Records: [rawRecord({ key: `${PAST}-x.ndjson`, size: 1.5 })] },
    { Records: [rawRecord({ key: `${PAST}-x.ndjson`, size: null })] },
  ], /size/i)
})

test('event: keys with "..", NUL (%00) or bad percent-encoding are errors naming the key; nothing is tracked for them', async t => {
  const bad = [
    '../outside.ndjson', 'a/../b.ndjson', '%2E%2E/outside.ndjson', 'a/%2e%2e/%2e%2e/b.ndjson', './a.ndjson', 'a//b.ndjson',
    'a%00b.ndjson', `${PAST}-x.ndjson%00.txt`,
    'a%zzb.ndjson', 'a%e.ndjson', 'trailing%', '%G0.ndjson',
  ]
  const msgs = [
    ...Array(6).fill(/not safe|\.\.|segment/i),
    /NUL/i, /NUL/i,
    /percent/i, /percent/i, /percent/i, /percent/i,
  ]
  await catalogue(t, 'unsafe key', bad.map(k => s3Event([{ key: k, size: 8, rawKey: k }])), msgs)
  // EventBridge keys are not encoded: a raw NUL and raw '..' segments
  await catalogue(t, 'unsafe key', [eventBridge(`a/../../${PAST}-x.ndjson`, 8), eventBridge(`a\u0000b.ndjson`, 8), eventBridge('/abs.ndjson', 8)],
    [/not safe|\.\./i, /NUL|not safe/i, /not safe|absolute/i])
})

test('event: the summary and the ingest report stay valid UTF-8 JSON when a key decodes to invalid UTF-8 (%C0%AF)', async t => {
  const sb = sandbox(t)
  const good = sb.put(`${PAST}-good.ndjson`)
  countBad('event: key decoding to invalid UTF-8')
  const r = await sb.ingest([s3Event([{ key: 'x', size: 8, rawKey: `${PAST}-%C0%AF.ndjson` }]), s3Event([good])])
  assertSummary(r, 3, { processed: 1, errors: 1 })
  // runNdpq decodes stdout leniently; check the raw bytes
  const raw = spawnSync(BIN, ['ingest', '-'], { env: sandboxEnv(sb), input: JSON.stringify(s3Event([{ key: 'x', size: 8, rawKey: `${PAST}-%C0%AF.ndjson` }])) + '\n' })
  assert.equal(raw.status, 3)
  let stdoutOk = true
  try { strictUtf8.decode(raw.stdout) } catch { stdoutOk = false }
  const bad = []
  for (const rep of fs.readdirSync(sb.bucket('manifests') + '/logs/ingest')) {
    try { strictUtf8.decode(fs.readFileSync(`${sb.bucket('manifests')}/logs/ingest/${rep}`)) } catch { bad.push(rep) }
  }
  assert.ok(stdoutOk, `the ingest summary on stdout is not valid UTF-8 (RFC 8259 §8.1): ${raw.stdout.toString('latin1')}`)
  assert.deepEqual(bad, [], 'ingest reports that are not valid UTF-8')
})

test('event: an unknown bucket is an error naming it', async t => {
  await catalogue(t, 'unknown bucket', [
    s3Event([{ key: `${PAST}-x.ndjson`, size: 8, bucket: 'other' }]),
    s3Event([{ key: `${PAST}-x.ndjson`, size: 8, bucket: 'manifests' }]),
    eventBridge(`${PAST}-x.ndjson`, 8, { bucket: 'quarantine' }),
    { Records: [rawRecord({ key: `${PAST}-x.ndjson`, size: 8, bucket: '../input' })] },
  ], [/other/, /manifests/, /quarantine/, /\.\.\/input|bucket/])
  // and one known plus one unknown bucket in the same document: only the unknown one fails
  countBad('event: unknown bucket')
  const sb = sandbox(t)
  const good = sb.put(`${PAST}-good.ndjson`)
  sb.put(`${PAST}-good.ndjson`, '{"a":1}\n', { bucket: 'other' })
  const r = await sb.ingest([{ Records: [s3Record(good.key, good.size, { bucket: 'other' }), s3Record(good.key, good.size)] }])
  const s = assertSummary(r, 3, { processed: 1, errors: 1 })
  assert.match(s.errors[0].event, /document 1, record 1/)
  assert.match(s.errors[0].message, /unknown bucket 'other'/)
  assert.deepEqual(sb.files().map(f => [f.bucket, f.key]), [['input', good.key]])
})

catalogueCount('bad events')
