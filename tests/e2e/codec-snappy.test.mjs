// Must show 1 of issue 2 with --compression snappy: see codec-cases.mjs.
import { codecSuite } from './codec-cases.mjs'

codecSuite('snappy')

import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { roundTrip, rng, words } from './codec-cases.mjs'

test('snappy: pages that do not compress are stored as snappy literals after a try, and every reader reads them', async t => {
  const rand = rng(11)
  const records = []
  for (let i = 0; i < 6000; i++) {
    // Random hex after a shared prefix: snappy saves a few percent, less than an eighth.
    records.push({ id: 'key-' + crypto.createHash('sha256').update(`id-${i}`).digest('hex'), text: words(rand, 40) })
  }
  // 16 KiB pages: the id column (64 hex digits a value) makes about 26 of them.
  const { pages, table } = await roundTrip(t, 'snappy', records, { extra: ['--page-kb', '16'] })
  assert.equal(table.rows.length, 6000)
  const [idPages, textPages] = [0, 1].map(c => pages.flatMap(rg => rg[c]).filter(p => p.type === 'DATA_PAGE'))
  // A stored page: the varint length, then a tag of 1-3 bytes and up to 64 KiB of bytes.
  const varint = n => (n < 1 << 7 ? 1 : n < 1 << 14 ? 2 : n < 1 << 21 ? 3 : 4)
  const storedSize = n => varint(n) + Math.ceil(n / 65536) * 3 + n - (n % 65536 && n % 65536 <= 256 ? (n % 65536 <= 60 ? 2 : 1) : 0)
  const stored = p => p.compressed_page_size === storedSize(p.uncompressed_page_size)
  assert.ok(idPages.length > 20, `${idPages.length} id pages`)
  assert.equal(stored(idPages[0]), false, 'the first page is compressed')
  const nStored = idPages.filter(stored).length
  assert.ok(nStored >= idPages.length - 4, `${nStored} of ${idPages.length} id pages stored`)
  assert.ok(textPages.every(p => p.compressed_page_size < p.uncompressed_page_size / 2), 'text pages compressed')
})
