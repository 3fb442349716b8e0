// ndpq ingest: event shapes, keys, per-event errors, exit codes (issue 3, "Command line").
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import {
  sandbox, assertExit, assertSummary, s3Event, s3Record, sqsEvent, eventBridge, snsEnvelope, TEST_EVENT,
  PAST, listFiles, manifestUris, checkBatchesConsistent,
} from './ingest-lib.mjs'

const key = n => `data/${PAST}-part${n}.ndjson`

test('events: Lambda SQS event — each message body is an S3 notification, every object tracked', async t => {
  const sb = sandbox(t)
  const objs = [1, 2, 3].map(n => sb.put(key(n), `{"n":${n}}\n`))
  const ev = sqsEvent([
    { messageId: 'm-1', body: s3Event([objs[0]]) },
    { messageId: 'm-2', body: s3Event([objs[1], objs[2]]) },
  ])
  const r = await sb.ingest([ev])
  assertSummary(r, 0, { processed: 3, quarantined: 0, duplicates: 0, ignored: 0, manifests: 1, errors: 0, failures: [] })
  const rows = sb.files()
  assert.deepEqual(rows.map(f => [f.bucket, f.key, f.size, f.date_prefix, f.status]),
    objs.map(o => ['input', o.key, o.size, PAST, 'manifested']))
  const { manifests } = checkBatchesConsistent(sb)
  assert.deepEqual(r.summary.manifests, [manifests[0].uri])
})

test('events: raw S3 notification (no SQS envelope) is accepted', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  const b = sb.put(key(2))
  const r = await sb.ingest([s3Event([a, b])])
  assertSummary(r, 0, { processed: 2, errors: 0, manifests: 1, failures: [] })
  assert.deepEqual(sb.files().map(f => f.key), [a.key, b.key])
})

test('events: EventBridge "Object Created" is accepted and its key is taken literally (not form-decoded)', async t => {
  const sb = sandbox(t)
  // On EventBridge the key is not form-encoded: '+' and '%41' are literal characters.
  const plus = sb.put(`eb/${PAST}-a+b%41.ndjson`)
  const r = await sb.ingest([eventBridge(plus.key, plus.size)])
  assertSummary(r, 0, { processed: 1, errors: 0, manifests: 1, failures: [] })
  const rows = sb.files()
  assert.equal(rows.length, 1)
  assert.equal(rows[0].key, `eb/${PAST}-a+b%41.ndjson`)
  assert.equal(rows[0].uri, sb.uri(plus.key))
  // The same key in an S3 notification would be decoded (to "a b" + "A"): that object does
  // not exist, so it is an error, proving the two shapes decode differently.
  const r2 = await sb.ingest([s3Event([{ key: plus.key, size: plus.size, rawKey: plus.key }])])
  assertSummary(r2, 3, { processed: 0, errors: 1 })
  assert.match(r2.summary.errors[0].message, /not found|no such/i)
})

test('events: EventBridge events other than "Object Created" are ignored', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  const r = await sb.ingest([eventBridge(a.key, a.size, { detailType: 'Object Deleted' })])
  assertSummary(r, 0, { processed: 0, ignored: 1, errors: 0, manifests: 0 })
  assert.deepEqual(sb.files(), [])
})

test('events: SNS envelope around an S3 notification, raw and inside an SQS message', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  const b = sb.put(key(2))
  const r = await sb.ingest([
    snsEnvelope(s3Event([a])),
    sqsEvent([{ messageId: 'sns-in-sqs', body: snsEnvelope(s3Event([b])) }]),
  ])
  assertSummary(r, 0, { processed: 2, errors: 0, failures: [] })
  assert.deepEqual(sb.files().map(f => f.key), [a.key, b.key])
})

test('events: s3:TestEvent is ignored, raw and inside an SQS message, and is not a failure', async t => {
  const sb = sandbox(t)
  const r = await sb.ingest([TEST_EVENT, sqsEvent([{ messageId: 'test-msg', body: TEST_EVENT }])])
  assertSummary(r, 0, { processed: 0, quarantined: 0, duplicates: 0, ignored: 2, manifests: 0, errors: 0, failures: [] })
  assert.deepEqual(sb.files(), [])
})

test('events: non-ObjectCreated S3 events (ObjectRemoved, Restore) are ignored', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  const b = sb.put(key(2))
  const r = await sb.ingest([
    { Records: [s3Record(a.key, a.size, { eventName: 'ObjectRemoved:Delete' }), s3Record(b.key, b.size)] },
    sqsEvent([{ messageId: 'restore', body: { Records: [s3Record(a.key, a.size, { eventName: 'ObjectRestore:Completed' })] } }]),
  ])
  assertSummary(r, 0, { processed: 1, ignored: 2, errors: 0, failures: [] })
  assert.deepEqual(sb.files().map(f => f.key), [b.key])
})

test('events: all ObjectCreated variants (Put, Post, Copy, CompleteMultipartUpload) are tracked', async t => {
  const sb = sandbox(t)
  const names = ['ObjectCreated:Put', 'ObjectCreated:Post', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload']
  const objs = names.map((_, i) => sb.put(key(i)))
  const r = await sb.ingest([{ Records: objs.map((o, i) => s3Record(o.key, o.size, { eventName: names[i] })) }])
  assertSummary(r, 0, { processed: 4, ignored: 0, errors: 0 })
})

test('events: documents one per line, concatenated without separator, and pretty-printed over many lines', async t => {
  const sb = sandbox(t)
  const objs = [1, 2, 3, 4, 5].map(n => sb.put(key(n)))
  const docs = objs.map(o => s3Event([o]))
  const input = JSON.stringify(docs[0]) + '\n' +
    JSON.stringify(docs[1]) + JSON.stringify(docs[2]) + // concatenated, no whitespace
    '\r\n' + JSON.stringify(docs[3], null, 2) + '\n\n  ' + // pretty-printed, CRLF, blank line
    JSON.stringify(sqsEvent([{ messageId: 'last', body: docs[4] }])) // no final newline
  const r = await sb.ingest(input)
  assertSummary(r, 0, { processed: 5, errors: 0, failures: [] })
  assert.deepEqual(sb.files().map(f => f.key).sort(), objs.map(o => o.key).sort())
})

test('events: ingest reads an EVENTS_FILE argument as well as stdin', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  const file = path.join(sb.dir, 'events.json')
  fs.writeFileSync(file, JSON.stringify(s3Event([a])) + '\n')
  const r = await sb.run(['ingest', file])
  assertSummary(r, 0, { processed: 1, errors: 0 })
  // no argument at all also means stdin
  const b = sb.put(key(2))
  const r2 = await sb.run(['ingest'], { input: JSON.stringify(s3Event([b])) })
  assertSummary(r2, 0, { processed: 1, errors: 0 })
  assert.equal(sb.files().length, 2)
})

test('events: a 13 MB events file is read in 4 MiB pieces: documents across piece ends, pretty-printed ones, one larger than a piece, bad ones and missing objects each count once, in order, from a file and from stdin', async t => {
  const sb = sandbox(t)
  const docs = []
  const errors = [] // [event, message pattern] in document order
  const objs = []
  for (let i = 0; i < 1500; i++) {
    // Every 13th object is missing: its stat fails on the look-up thread.
    const missing = i % 13 === 6
    const o = missing ? { key: `big/${PAST}-gone${i}.ndjson`, size: 8 } : sb.put(`big/${PAST}-f${i}.ndjson`)
    if (!missing) objs.push(o)
    const ev = sqsEvent([{ messageId: `m-${i}`, body: s3Event([o]) }])
    // Padding of varying length moves the piece ends across documents.
    ev.Records[0].messageAttributes = { pad: { stringValue: 'x'.repeat(2000 + (i * 7919) % 9000), dataType: 'String' } }
    if (i === 700) ev.Records[0].messageAttributes.pad.stringValue = 'y'.repeat(5 << 20) // larger than a piece
    docs.push(i % 5 === 0 ? JSON.stringify(ev, null, 2) : JSON.stringify(ev))
    if (missing) errors.push([`m-${i}`, new RegExp(`object input/big/${PAST}-gone${i}.ndjson: .*not found`)])
    if (i % 97 === 0) { docs.push('{"Records": [}'); errors.push([`document ${docs.length}`, /invalid JSON/]) }
  }
  const text = docs.join('\n') + '\n'
  assert.ok(text.length > 12 << 20, `events file of ${text.length} bytes`)
  const file = path.join(sb.dir, 'events.json')
  fs.writeFileSync(file, text)
  const check = (r, processed, duplicates) => {
    assertSummary(r, 3, { processed, errors: errors.length, duplicates })
    assert.equal(r.summary.errors.length, errors.length)
    r.summary.errors.forEach((e, k) => {
      assert.ok(e.event.includes(errors[k][0]), `error ${k}: ${e.event} names ${errors[k][0]}`)
      assert.match(e.message, errors[k][1])
    })
  }
  check(await sb.run(['ingest', file]), objs.length, 0)
  assert.deepEqual(sb.files().map(f => f.key).sort(), objs.map(o => o.key).sort())
  // The same stream through a pipe: every object a repeat, the same errors.
  check(await sb.ingest(text), 0, objs.length)
})

test('events: empty input is a successful no-op (exit 0, zero counts, a report is still written)', async t => {
  const sb = sandbox(t)
  const r = await sb.ingest('')
  assertSummary(r, 0, { processed: 0, quarantined: 0, duplicates: 0, ignored: 0, manifests: 0, errors: 0, failures: [] })
  const reports = sb.reports('ingest')
  assert.equal(reports.length, 1)
  assert.equal(reports[0].body.processed, 0)
  // an SQS event with no records is also fine
  const r2 = await sb.ingest([{ Records: [] }])
  assertSummary(r2, 0, { processed: 0, errors: 0 })
})

test('keys: S3 notification keys are form-decoded (+ → space, %XX → byte, UTF-8)', async t => {
  const sb = sandbox(t)
  const weird = [
    `dir with space/${PAST} a+b.ndjson`, // '+' in the real key is sent as %2B, spaces as '+'
    `ünï/${PAST}-çödé €.ndjson`,
    `p%/${PAST}-100%#?&=.ndjson`,
  ]
  const objs = weird.map(k => sb.put(k))
  const r = await sb.ingest([s3Event(objs)])
  assertSummary(r, 0, { processed: 3, errors: 0, manifests: 1 })
  const rows = sb.files()
  assert.deepEqual(rows.map(f => f.key).sort(), [...weird].sort())
  for (const f of rows) assert.equal(f.uri, sb.uri(f.key), `URI of ${f.key} is the percent-encoded file URI`)
  const [m] = sb.manifests()
  assert.deepEqual(manifestUris(m.body).sort(), weird.map(k => sb.uri(k)).sort())
  // '%20' for a space and lower-case hex are accepted too.
  const lower = sb.put(`${PAST}-ü y.ndjson`)
  const r2 = await sb.ingest([s3Event([{ ...lower, rawKey: `${PAST}-%c3%bc%20y.ndjson` }])])
  assertSummary(r2, 0, { processed: 1, errors: 0 })
  assert.ok(sb.files().some(f => f.key === lower.key))
})

const BAD_KEYS = [
  ['a ".." segment', `data/../${PAST}-x.ndjson`],
  ['a leading ".." that escapes the bucket', `../outside/${PAST}-x.ndjson`],
  ['an encoded ".." segment', `data/%2E%2E/${PAST}-x.ndjson`],
  ['a "." segment', `data/./${PAST}-x.ndjson`],
  ['an empty segment', `data//${PAST}-x.ndjson`],
  ['a leading "/"', `/data/${PAST}-x.ndjson`],
  ['an encoded leading "/"', `%2Fdata/${PAST}-x.ndjson`],
  ['an encoded NUL', `data/${PAST}-x%00.ndjson`],
  ['a raw NUL (\\u0000 in the JSON)', `data/${PAST}-x\u0000.ndjson`],
  ['bad percent-encoding (non-hex)', `data/${PAST}-x%zz.ndjson`],
  ['truncated percent-encoding', `data/${PAST}-x.ndjson%4`],
  ['a lone "%" at the end', `data/${PAST}-x.ndjson%`],
  ['an empty key', ''],
]

for (const [what, raw] of BAD_KEYS) {
  test(`keys: a key with ${what} is an error for that event only`, async t => {
    const sb = sandbox(t)
    // a real file where an escaping key would point, inside and outside the bucket
    fs.mkdirSync(path.join(sb.home, 'buckets', 'outside'), { recursive: true })
    fs.writeFileSync(path.join(sb.home, 'buckets', 'outside', `${PAST}-x.ndjson`), '{"secret":1}\n')
    // the objects the key would resolve to exist, so the error is not just "not found"
    sb.put(`data/${PAST}-x.ndjson`)
    sb.put(`${PAST}-x.ndjson`)
    const good = sb.put(`ok/${PAST}-good.ndjson`)
    const r = await sb.ingest([
      sqsEvent([
        { messageId: 'bad', body: { Records: [s3Record('', 13, { rawKey: raw })] } },
        { messageId: 'good', body: s3Event([good]) },
      ]),
    ])
    assertSummary(r, 3, { processed: 1, quarantined: 0, errors: 1, failures: ['bad'] })
    assert.match(r.summary.errors[0].event, /bad/, 'the error names the SQS message')
    assert.doesNotMatch(r.summary.errors[0].message, /not found/i, 'rejected for the key itself')
    assert.deepEqual(sb.files().map(f => f.key), [good.key], 'only the good key is tracked')
    assert.deepEqual(listFiles(sb.bucket('quarantine')), [], 'nothing was copied')
  })
}

test('keys: an unsafe key in an EventBridge event is an error too', async t => {
  const sb = sandbox(t)
  fs.mkdirSync(path.join(sb.home, 'buckets', 'outside'), { recursive: true })
  fs.writeFileSync(path.join(sb.home, 'buckets', 'outside', `${PAST}-x.ndjson`), '{"secret":1}\n')
  const r = await sb.ingest([eventBridge(`../outside/${PAST}-x.ndjson`, 13), eventBridge(`/abs/${PAST}-x.ndjson`, 13)])
  assertSummary(r, 3, { processed: 0, errors: 2 })
  assert.deepEqual(sb.files(), [])
})

test('keys: a symlink inside the bucket that points outside it is never read or copied', async t => {
  const sb = sandbox(t)
  const secret = path.join(sb.dir, `${PAST}-secret.ndjson`)
  fs.writeFileSync(secret, '')
  fs.mkdirSync(sb.bucket('input'), { recursive: true })
  fs.symlinkSync(secret, sb.objectPath(`${PAST}-link.ndjson`))
  // 0 bytes: if it were read it would be quarantined (copied); it must be an error instead
  const r = await sb.ingest([s3Event([{ key: `${PAST}-link.ndjson`, size: 0 }])])
  assertSummary(r, 3, { processed: 0, quarantined: 0, errors: 1 })
  assert.deepEqual(sb.files(), [])
  assert.deepEqual(listFiles(sb.bucket('quarantine')), [])
})

test('events: an unknown bucket (not INPUT_BUCKET) is an error for that event', async t => {
  const sb = sandbox(t)
  sb.put(key(1), '{"a":1}\n', { bucket: 'other' })
  const good = sb.put(key(2))
  const r = await sb.ingest([sqsEvent([
    { messageId: 'm-other', body: s3Event([{ key: key(1), size: 8, bucket: 'other' }]) },
    { messageId: 'm-good', body: s3Event([good]) },
  ])])
  assertSummary(r, 3, { processed: 1, errors: 1, failures: ['m-other'] })
  assert.match(r.summary.errors[0].message, /other/)
  assert.deepEqual(sb.files().map(f => [f.bucket, f.key]), [['input', good.key]])
  // With INPUT_BUCKET=other the same event is fine.
  const r2 = await sb.ingest([s3Event([{ key: key(1), size: 8, bucket: 'other' }])], { env: { INPUT_BUCKET: 'other' } })
  assertSummary(r2, 0, { processed: 1, errors: 0 })
})

test('events: an object missing from the bucket is an error for that event', async t => {
  const sb = sandbox(t)
  const good = sb.put(key(1))
  const r = await sb.ingest([sqsEvent([
    { messageId: 'm-missing', body: s3Event([{ key: key(9), size: 8 }]) },
    { messageId: 'm-good', body: s3Event([good]) },
  ])])
  assertSummary(r, 3, { processed: 1, errors: 1, failures: ['m-missing'] })
  assert.match(r.summary.errors[0].message, /not found/i)
  assert.deepEqual(sb.files().map(f => f.key), [good.key])
})

test('events: a failed raw S3 notification (no SQS message) is listed in errors but not in batchItemFailures', async t => {
  const sb = sandbox(t)
  const good = sb.put(key(1))
  const r = await sb.ingest([s3Event([{ key: key(9), size: 8 }, good])])
  assertSummary(r, 3, { processed: 1, errors: 1, failures: [] })
  assert.match(r.summary.errors[0].event, /document 1/)
})

test('events: malformed documents and records are errors; the rest of the input is still processed', async t => {
  const sb = sandbox(t)
  const objs = [1, 2, 3].map(n => sb.put(key(n)))
  const input = [
    '{"Records": [ this is not json',
    JSON.stringify(s3Event([objs[0]])),
    JSON.stringify({ hello: 'world' }), // unrecognised document
    JSON.stringify(sqsEvent([
      { messageId: 'm-badbody', body: 'not json either' },
      { messageId: 'm-nosize', body: { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'input' }, object: { key: key(2) } } }] } },
      { messageId: 'm-negsize', body: { Records: [s3Record(key(2), -1)] } },
      { messageId: 'm-ok', body: s3Event([objs[2]]) },
    ])),
    JSON.stringify(s3Event([objs[1]])),
  ].join('\n') + '\n'
  const r = await sb.ingest(input)
  assertSummary(r, 3, { processed: 3, errors: 5, failures: ['m-badbody', 'm-nosize', 'm-negsize'] })
  assert.deepEqual(sb.files().map(f => f.key).sort(), objs.map(o => o.key).sort())
})

test('exit codes: 0 when every event was handled, 3 when some failed, 2 on bad usage', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  assertExit(await sb.ingest([s3Event([a])]), 0)
  assertExit(await sb.ingest([s3Event([{ key: key(7), size: 1 }])]), 3)
  // usage errors: nothing is read or written
  const fresh = sandbox(t)
  for (const args of [['ingest', 'a.json', 'b.json'], ['ingest', '--bogus'], ['ingest', path.join(fresh.dir, 'missing.json')],
    ['flush', '--date', '2025-02-30'], ['flush', '--date', 'yesterday'], ['flush', 'extra'], ['ingest', '--set', 'NOEQUALS'],
    ['status', '--date', '2025-13-01']]) {
    const r = await fresh.run(args)
    assertExit(r, 2)
    assert.match(r.stderr, /usage|must|cannot|unknown|unexpected|KEY=VALUE|one events file/i)
  }
  assert.equal(fs.existsSync(fresh.db), false, 'a usage error creates no state')
  assert.deepEqual(listFiles(fresh.bucket('manifests')), [], 'a usage error writes no report')
})

test('errors: an SQS message with one good and one bad record is retried as a whole; the good record is tracked once', async t => {
  const sb = sandbox(t)
  const a = sb.put(key(1))
  const msg = { messageId: 'mixed', body: s3Event([a, { key: key(2), size: 8 }]) }
  const r = await sb.ingest([sqsEvent([msg])])
  assertSummary(r, 3, { processed: 1, errors: 1, failures: ['mixed'] })
  // the retry (after the missing object arrives) tracks the other record; the good one is a duplicate
  sb.put(key(2))
  const r2 = await sb.ingest([sqsEvent([msg])])
  assertSummary(r2, 0, { processed: 1, duplicates: 1, errors: 0, failures: [] })
  assert.equal(sb.files().length, 2)
})
