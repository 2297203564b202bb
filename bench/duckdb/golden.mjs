// Writes the DuckDB-made parquet file of the version-id golden test
// (cli/testdata/golden/orders_duckdb.parquet) from the golden orders.csv:
// DuckDB's own writer (snappy, its own page layout, nulls in `amount`), so
// the test pins what granary makes of a file it did not write itself. Run
// once; the output is committed and never regenerated casually, as its
// bytes feed pinned ids.
//
//   npm ci --prefix bench/duckdb && node bench/duckdb/golden.mjs
import { DuckDBInstance } from '@duckdb/node-api';

const dir = new URL('../../cli/testdata/golden/', import.meta.url).pathname;
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
await con.run(`COPY (SELECT * FROM read_csv('${dir}orders.csv', header = true) ORDER BY order_id)
  TO '${dir}orders_duckdb.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000)`);
const r = await con.runAndReadAll(`SELECT count(*) AS n, count(amount) AS amounts FROM '${dir}orders_duckdb.parquet'`);
console.log(JSON.stringify(r.getRowObjectsJson()[0]));
