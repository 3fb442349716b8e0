// Prints what a glob of Parquet files holds, read with DuckDB: rows per file,
// corrupt rows kept, and a few sample rows.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../tests/readers/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const glob = process.argv[2];
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const q = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const src = `read_parquet('${glob.replace(/'/g, "''")}', filename=true, union_by_name=true)`;
console.table(await q(`SELECT filename AS parquet_file, count(*) AS rows FROM ${src} GROUP BY 1 ORDER BY 1`));
const cols = (await q(`DESCRIBE SELECT * FROM ${src}`)).map((r) => r.column_name);
if (cols.includes('_corrupt_record'))
  console.table(await q(`SELECT _source_file, _corrupt_record FROM ${src} WHERE _corrupt_record IS NOT NULL`));
console.table(await q(`SELECT id, event_type, revenue, _processing_timestamp FROM ${src} ORDER BY id LIMIT 5`));
