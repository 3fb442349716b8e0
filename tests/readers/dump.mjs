#!/usr/bin/env node
// Debugging aid: print what each reader sees in a Parquet file (or a directory of them).
//   node tests/readers/dump.mjs FILE.parquet|DIR [--meta] [--pages] [--full]
// Prints one JSON object per reader: {"reader": ..., "columns": [...], "rows": [[...]]}
// then a line saying whether the readers agree. --meta adds the footer metadata,
// --pages the page headers of every column chunk, --full prints values over 1000
// characters whole.
import fs from 'node:fs'
import { readAll, readDir, diffTables, readMetadata, readPageHeaders, listParquet } from './readers.mjs'

const args = process.argv.slice(2)
const target = args.find(a => !a.startsWith('--'))
if (!target) {
  console.error('usage: node tests/readers/dump.mjs FILE.parquet|DIR [--meta] [--pages] [--full]')
  process.exit(2)
}
const isDir = fs.statSync(target).isDirectory()
const all = isDir ? await readDir(target) : await readAll(target)
const names = ['duckdb', 'hyparquet', 'wasm']
const full = args.includes('--full')
const cut = v => (typeof v === 'string' && v.length > 1000 && !full
  ? `${v.slice(0, 200)}…[${v.length} UTF-16 units, ${Buffer.byteLength(v)} bytes; --full shows all]` : v)
for (const name of names) {
  const rows = all[name].rows.map(r => r.map(cut))
  console.log(JSON.stringify({ reader: name, columns: all[name].columns, rows }))
}
let agree = true
for (const name of names.slice(1)) {
  const d = diffTables(all.duckdb, all[name], `${name} vs duckdb`)
  if (d) { agree = false; console.log(`DIFFER: ${d}`) }
}
if (agree) console.log(`readers agree: ${all.duckdb.columns.length} columns, ${all.duckdb.rows.length} rows`)

const replacer = (k, v) => {
  if (typeof v === 'bigint') return Number(v)
  if (v && v.type === 'Buffer' && Array.isArray(v.data)) return { hex: Buffer.from(v.data).toString('hex') }
  return v
}
const files = isDir ? listParquet(target) : [target]
for (const f of files) {
  if (args.includes('--meta')) console.log(JSON.stringify({ file: f, metadata: readMetadata(f) }, replacer, 1))
  if (args.includes('--pages')) console.log(JSON.stringify({ file: f, pages: readPageHeaders(f) }, replacer))
}
process.exitCode = agree ? 0 : 1
