#!/usr/bin/env node
// DuckDB side of `make bench`, through @duckdb/node-api.
//
//   node bench/duckdb.mjs describe COLUMNS.json FILE...
//       Union of the top-level keys over ALL lines of ALL files, in DuckDB's
//       order, written to COLUMNS.json as a JSON array of names. Uses
//       read_ndjson(..., union_by_name=true, sample_size=-1, maximum_depth=1)
//       so every line is looked at (no sampling) and nested values are not
//       type-inferred (only the names are needed).
//
//   node bench/duckdb.mjs convert THREADS OUT.parquet COLUMNS.json FILE...
//       The measured conversion:
//         SET threads=N;
//         COPY (SELECT * FROM read_ndjson([FILES], format='newline_delimited',
//                 columns={'k1':'VARCHAR', ...every key...}))
//           TO 'OUT' (FORMAT parquet, COMPRESSION snappy);
//       read_ndjson has no all_varchar option (checked: duckdb_functions()
//       lists no such parameter in 1.5), so every column is made VARCHAR
//       through an explicit columns= map built by `describe`. With columns=
//       given, DuckDB does no sampling / type detection and reads each file
//       once; strings are decoded, numbers and booleans become their text, and
//       objects/arrays become JSON text, the same value rules ndpq follows.
//       If COLUMNS.json is "-", the describe pass runs inside this process
//       first (so it is part of the measured time).
//
//   node bench/duckdb.mjs baseline
//       Loads node + DuckDB and runs SELECT 1: the RSS floor of this harness,
//       so the report can show DuckDB's RSS both raw and minus that floor.
//
//   node bench/duckdb.mjs inspect FILE.parquet
//       Prints {"rows":N,"columns":[...],"row_groups":N} read back with DuckDB.
//
//   node bench/duckdb.mjs verify FILE.parquet META.json COLUMNS.json [REPORT.json]
//        (FILE may be a glob, DIR/*.parquet, for a set of part files)
//       Guards the numbers: FILE.parquet (read back by DuckDB) must have one
//       row per input line (META.json from gen.mjs) and every key that
//       `describe` found as a column; if ndpq's JSON report is given, it must
//       say status ok, records = input lines and corrupt_records = 0 (the
//       generated data has no corrupt line). Prints one line; exits 1 on a
//       mismatch.
//
// @duckdb/node-api is resolved from tests/readers/node_modules (installed by
// scripts/setup.sh); BENCH_NODE_MODULES may point at another node_modules.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

async function loadDuckDB() {
  const nm = process.env.BENCH_NODE_MODULES || path.join(root, 'tests', 'readers', 'node_modules');
  const req = createRequire(path.join(nm, '..', 'noop.js'));
  let resolved;
  try {
    resolved = req.resolve('@duckdb/node-api');
  } catch (e) {
    console.error(`duckdb.mjs: cannot find @duckdb/node-api under ${nm}; run scripts/setup.sh (or set BENCH_NODE_MODULES)`);
    process.exit(3);
  }
  return import(pathToFileURL(resolved).href);
}

const sqlStr = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const fileList = (files) => '[' + files.map((f) => sqlStr(path.resolve(f))).join(', ') + ']';

async function inspect(conn, file) {
  const f = sqlStr(path.resolve(file));
  const rows = await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${f})`);
  const cols = await conn.runAndReadAll(`SELECT DISTINCT name FROM parquet_schema(${f}) WHERE num_children IS NULL OR num_children = 0`);
  const meta = await conn.runAndReadAll(`SELECT count(DISTINCT (file_name, row_group_id)) FROM parquet_metadata(${f})`);
  return {
    rows: Number(rows.getRows()[0][0]),
    columns: cols.getRows().map((r) => r[0]),
    row_groups: Number(meta.getRows()[0][0]),
  };
}

async function describe(conn, files) {
  const q = `DESCRIBE SELECT * FROM read_ndjson(${fileList(files)}, format='newline_delimited', ` +
    `union_by_name=true, sample_size=-1, maximum_depth=1)`;
  const r = await conn.runAndReadAll(q);
  return r.getRowObjectsJson().map((row) => row.column_name);
}

const [mode, ...args] = process.argv.slice(2);
const duck = await loadDuckDB();
const db = await duck.DuckDBInstance.create(':memory:');
const conn = await db.connect();

switch (mode) {
  case 'baseline': {
    const r = await conn.runAndReadAll('SELECT 1 AS one');
    if (Number(r.getRows()[0][0]) !== 1) throw new Error('SELECT 1 failed');
    break;
  }
  case 'describe': {
    const [out, ...files] = args;
    if (!out || !files.length) { console.error('usage: duckdb.mjs describe COLUMNS.json FILE...'); process.exit(2); }
    const cols = await describe(conn, files);
    fs.writeFileSync(out, JSON.stringify(cols) + '\n');
    console.error(`duckdb.mjs: ${cols.length} columns`);
    break;
  }
  case 'convert': {
    const [threads, out, colsPath, ...files] = args;
    if (!threads || !out || !colsPath || !files.length) {
      console.error('usage: duckdb.mjs convert THREADS OUT.parquet COLUMNS.json|- FILE...'); process.exit(2);
    }
    const cols = colsPath === '-' ? await describe(conn, files) : JSON.parse(fs.readFileSync(colsPath, 'utf8'));
    const colMap = '{' + cols.map((c) => `${sqlStr(c)}: 'VARCHAR'`).join(', ') + '}';
    await conn.run(`SET threads=${Number(threads)}`);
    await conn.run(`COPY (SELECT * FROM read_ndjson(${fileList(files)}, format='newline_delimited', columns=${colMap})) ` +
      `TO ${sqlStr(path.resolve(out))} (FORMAT parquet, COMPRESSION snappy)`);
    break;
  }
  case 'inspect': {
    const [file] = args;
    process.stdout.write(JSON.stringify(await inspect(conn, file)) + '\n');
    break;
  }
  case 'verify': {
    const [file, metaPath, colsPath, reportPath] = args;
    if (!file || !metaPath || !colsPath) { console.error('usage: duckdb.mjs verify FILE.parquet META.json COLUMNS.json [REPORT.json]'); process.exit(2); }
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
    const want = JSON.parse(fs.readFileSync(colsPath, 'utf8'));
    const problems = [];
    let got;
    try {
      got = await inspect(conn, file);
    } catch (e) {
      problems.push(`DuckDB cannot read it: ${e.message.split('\n')[0]}`);
    }
    if (got) {
      if (got.rows !== meta.lines) problems.push(`${got.rows} rows, want ${meta.lines} (one per input line)`);
      const have = new Set(got.columns);
      const missing = want.filter((c) => !have.has(c));
      if (missing.length) problems.push(`${missing.length} input keys missing as columns: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    }
    if (reportPath) {
      let rep = null;
      try { rep = JSON.parse(fs.readFileSync(reportPath, 'utf8')); } catch (e) { problems.push(`report ${reportPath} is not JSON: ${e.message}`); }
      if (rep) {
        if (rep.status !== undefined && rep.status !== 'ok') problems.push(`report status ${JSON.stringify(rep.status)}`);
        if (rep.records !== undefined && Number(rep.records) !== meta.lines) problems.push(`report says ${rep.records} records, want ${meta.lines}`);
        if (rep.corrupt_records !== undefined && Number(rep.corrupt_records) !== 0) problems.push(`report says ${rep.corrupt_records} corrupt records on valid input`);
      }
    }
    if (problems.length) {
      console.log(`verify FAILED ${file}: ${problems.join('; ')}`);
      process.exit(1);
    }
    console.log(`verify ok ${path.basename(file)}: ${got.rows} rows, ${got.columns.length} columns, ${got.row_groups} row groups`);
    break;
  }
  default:
    console.error('usage: duckdb.mjs baseline | describe COLUMNS.json FILE... | convert THREADS OUT COLUMNS.json FILE... | inspect FILE.parquet | verify FILE.parquet META.json COLUMNS.json [REPORT.json]');
    process.exit(2);
}
conn.closeSync?.();
db.closeSync?.();
