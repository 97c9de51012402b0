// check.mjs -- the independent reader of tests/cli/parquet.sh: hyparquet
// (pure JavaScript, not our code) reads a Parquet table evstream wrote.
//
//   node check.mjs FILE.parquet                  schema, then rows as JSON lines
//   node check.mjs FILE.parquet FILE.bin SCHEMA  compare with the -E bin form
//
// SCHEMA is "Name:INT32,Name:FLOAT,..." (the reference dtypes: oasis_int is
// INT32, oasis_float FLOAT).  The -E bin form is packed little-endian rows
// in the same columns; it is byte-identical to the reference's .bin, so a
// match says the Parquet file holds the reference's values, as read by
// someone else's reader.  Prints "ok N rows" or the first difference and
// exits 1.  The column chunk statistics are checked against the values.
import { readFileSync } from 'node:fs'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

const [path, binPath, schemaArg] = process.argv.slice(2)
const buf = readFileSync(path)
const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
const meta = parquetMetadata(file)
const cols = meta.schema.slice(1).map(s => ({ name: s.name, type: s.type, rep: s.repetition_type }))
const rows = await parquetReadObjects({ file, compressors })

function fail(msg) {
  console.log(`not ok: ${path}: ${msg}`)
  process.exit(1)
}

if (!binPath) {
  console.log(`created_by ${meta.created_by}`)
  for (const c of cols) console.log(`column ${c.name} ${c.type} ${c.rep}`)
  for (const r of rows) console.log(JSON.stringify(cols.map(c => r[c.name])))
  process.exit(0)
}

const want = schemaArg.split(',').map(s => { const [name, type] = s.split(':'); return { name, type } })
const got = cols.map(c => `${c.name}:${c.type}`).join(',')
if (got !== schemaArg) fail(`schema ${got}, want ${schemaArg}`)
for (const c of cols) if (c.rep !== 'REQUIRED') fail(`column ${c.name} is ${c.rep}`)
if (!/^evstream version /.test(meta.created_by || '')) fail(`created_by ${meta.created_by}`)

const bin = readFileSync(binPath)
const width = want.reduce((n, c) => n + (c.type === 'DOUBLE' ? 8 : 4), 0)
if (bin.length % width) fail(`${binPath}: not whole rows`)
const n = bin.length / width
if (rows.length !== n) fail(`${rows.length} rows, the bin form has ${n}`)
let off = 0
for (let i = 0; i < n; i++) {
  for (const c of want) {
    let v
    if (c.type === 'INT32') { v = bin.readInt32LE(off); off += 4 }
    else if (c.type === 'DOUBLE') { v = bin.readDoubleLE(off); off += 8 }
    else { v = bin.readFloatLE(off); off += 4 }
    const p = rows[i][c.name]
    if (!(p === v || (Number.isNaN(p) && Number.isNaN(v))))
      fail(`row ${i + 1}, column ${c.name}: ${p}, the bin form has ${v}`)
  }
}
// Column chunk statistics: null_count 0, min/max those of the group's values
// (NaN left out; a zero bound may be -0 / +0).
let first = 0
for (const [g, rg] of meta.row_groups.entries()) {
  const count = Number(rg.num_rows)
  for (const [k, c] of want.entries()) {
    const st = rg.columns[k].meta_data.statistics
    if (!st || st.null_count !== 0n) fail(`row group ${g}, column ${c.name}: no statistics or nulls`)
    let lo = Infinity, hi = -Infinity
    for (let i = first; i < first + count; i++) {
      const v = rows[i][c.name]
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
    const has = lo <= hi
    if (has ? !(st.min_value == lo && st.max_value == hi) : st.min_value !== undefined)
      fail(`row group ${g}, column ${c.name}: statistics ${st.min_value}..${st.max_value}, values ${lo}..${hi}`)
  }
  first += count
}
console.log(`ok ${n} rows`)
