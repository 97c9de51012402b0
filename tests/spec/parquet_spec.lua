-- The Parquet side of the Lua API: evstream.table{format = "parquet"},
-- evstream.parquet_info / parquet_read, t:parquet, tables.read.
local evstream = require "evstream"
local tables = require "evstream.tables"
local util = require "util"

local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local COLS = {{"Id", "%d"}, {"Loss", "%.2f"}, {"Mean", "%.4f", f64 = true}, {"Area", "%u"}}

local function write(path, format, extra)
  local opts = {path = path, format = format, columns = COLS}
  for k, v in pairs(extra or {}) do opts[k] = v end
  local t = assert(evstream.table(opts))
  for i = 1, 25 do t:row(i, i * 1.25, i / 3, 4294967295 - i) end
  assert(t:close())
end

describe("parquet tables", function()
  it("write the schema, rows and row groups asked for", function()
    local p = util.tmpname() .. ".parquet"
    write(p, "parquet", {row_group_rows = 10, compression = "zstd"})
    local info = assert(evstream.parquet_info(p))
    assert.are.equal(25, info.rows)
    assert.are.equal(3, info.groups)
    assert.are.equal("zstd", info.codec)
    assert.are.equal("%d,%.2f,%.4f,%u", info.formats)
    assert.are.same({"INT32", "FLOAT", "DOUBLE", "INT32"},
      {info.columns[1].type, info.columns[2].type, info.columns[3].type, info.columns[4].type})
    assert.is_true(info.columns[4].unsigned)
    assert.truthy(info.created_by:match("^evstream version " .. evstream.version:gsub("%.", "%%.") .. "$"))
  end)

  it("read back the values (integers as integers, uint32 as such)", function()
    local p = util.tmpname() .. ".parquet"
    write(p, "parquet")
    local t = assert(evstream.parquet_read(p))
    assert.are.same({"Id", "Loss", "Mean", "Area"}, t.names)
    assert.are.equal(25, #t.rows)
    assert.are.equal(math.type(t.rows[3][1]), "integer")
    assert.are.same({3, 3.75, 1.0, 4294967292}, t.rows[3])
  end)

  it("print through t:parquet as the CSV form", function()
    local p, c, back = util.tmpname() .. ".parquet", util.tmpname() .. ".csv", util.tmpname() .. ".csv"
    write(p, "parquet")
    write(c, "csv")
    local t = assert(evstream.table{path = back, columns = COLS})
    assert(t:parquet(p))
    assert(t:close())
    assert.are.equal(slurp(c), slurp(back))
  end)

  it("are read by tables.read, recognised by their columns", function()
    local p = util.tmpname() .. ".parquet"
    local t = assert(evstream.table{path = p, format = "parquet", columns = tables.EPT.columns})
    t:row(1, 2, 3, 100, 5.5)
    assert(t:close())
    local r = assert(tables.read(p))
    assert.are.equal("ept", r.def.name)
    assert.are.same({1, 2, 3, 100, 5.5}, r.rows[1])
    local nok, err = tables.read(p, {def = tables.SELT})
    assert.is_nil(nok)
    assert.truthy(err:match("not the columns of the selt table"))
  end)

  it("refuse an unknown compression and report bad files as nil, msg", function()
    assert.has_error(function() evstream.table{path = util.tmpname(), format = "parquet", columns = COLS,
      compression = "gzip"} end)
    local p = util.tmpname() .. ".parquet"
    local f = assert(io.open(p, "wb"))
    f:write("PAR1 not really")
    f:close()
    local nok, err = evstream.parquet_info(p)
    assert.is_nil(nok)
    assert.truthy(err:find(p, 1, true) == 1)
    nok, err = evstream.parquet_read(util.tmpname() .. ".missing")
    assert.is_nil(nok)
    assert.truthy(err:match("No such file"))
  end)
end)
