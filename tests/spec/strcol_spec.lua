-- String columns of evstream.table (issue 25): RFC 4180 quoting in CSV,
-- fixed-width NUL-padded fields in packed rows, and the column-spec error
-- that lists every accepted format.
local evstream = require "evstream"
local U = require "util"

-- Plain Lua: a CSV field as RFC 4180 quotes it (only when needed).
local function csv_field(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

describe("string columns", function()
  it("CSV: quoted only where RFC 4180 needs it, in t:row and t:rows", function()
    local p = U.tmpname() .. ".csv"
    local t = assert(evstream.table{path = p, columns = {{"SummaryId", "%d"}, {"EPType", "%s"}, {"Loss", "%.2f"}}})
    local texts = {"AEP", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "", " spaced "}
    local want = {"SummaryId,EPType,Loss"}
    for i, s in ipairs(texts) do
      t:row(i, s, i / 4)
      want[#want + 1] = ("%d,%s,%.2f"):format(i, csv_field(s), i / 4)
    end
    assert.are.equal(3, t:rows(evstream.vec{7, 8, 9}, {"OEP", "x,y", "z", "ignored"}, 1.5))
    for i, s in ipairs({"OEP", "x,y", "z"}) do want[#want + 1] = ("%d,%s,1.50"):format(6 + i, csv_field(s)) end
    t:rows(10, "AEP", evstream.vec{1, 2})
    want[#want + 1] = "10,AEP,1.00"
    want[#want + 1] = "10,AEP,2.00"
    t:row(11, 42, 0)             -- a number, as Lua prints it
    want[#want + 1] = "11,42,0.00"
    assert(t:close())
    assert.are.equal(table.concat(want, "\n") .. "\n", U.readfile(p))
  end)
  it("binary: a fixed-width NUL-padded field; a longer value is an error, never cut", function()
    local p = U.tmpname() .. ".bin"
    local t = assert(evstream.table{path = p, format = "bin", columns = {{"a", "%d"}, {"s", "%s", width = 4},
      {"d", "%s"}}})
    t:row(1, "AB", "sixteen bytes ok")
    assert.has_error(function() t:row(2, "ABCDE", "x") end,
                     "column 2 (s): 'ABCDE' is 5 bytes, over the column's width of 4 bytes (-E bin)")
    t:rows(evstream.vec{3, 4}, {"WXYZ", ""}, "d")
    assert(t:close())
    local pad = function(s, w) return s .. ("\0"):rep(w - #s) end
    assert.are.equal(string.pack("<i4", 1) .. pad("AB", 4) .. "sixteen bytes ok" ..
                     string.pack("<i4", 3) .. "WXYZ" .. pad("d", 16) ..
                     string.pack("<i4", 4) .. pad("", 4) .. pad("d", 16), U.readfile(p))
  end)
  it("misuse: wrong values, bulk writers, options; the error lists every format", function()
    local t = assert(evstream.table{path = "/dev/null", columns = {{"a", "%s"}, {"b", "%d"}}})
    assert.has_error(function() t:row({}, 1) end, "column 1 (a): string expected, got table")
    assert.has_error(function() t:row("x", "y") end)
    assert.has_error(function() t:rows(evstream.vec{1}, 1) end)
    assert.are.equal(0, t:count())
    t:abort()
    local ok, msg = pcall(evstream.table, {path = "/dev/null", columns = {{"a", "%x"}}})
    assert.is_false(ok)
    assert.are.equal('bad column 1: want {name, format}, format "%d", "%i", "%u", "%f", "%.Nf" (N 0..9), ' ..
                     '"%.Ng" (N 1..17) or "%s"', msg)
    assert.has_error(function() evstream.table{path = "/dev/null", columns = {{"a", "%d", width = 3}}} end,
                     'bad column 1 (a): width is for string columns ("%s")')
    -- t:pairs / t:records refuse a string column
    local s = U.tmpname()
    U.summary_stream(s, 2, {{1, 1, 5, {{1, 2}}}})
    local w = assert(evstream.table{path = "/dev/null", columns = {{"e", "%d"}, {"t", "%s"}}})
    local r = assert(evstream.open{s})
    for ev in r:events() do
      assert.has_error(function() w:pairs(ev, {"event", "loss"}) end)
      assert.has_error(function() w:records(ev, {{"event", "mean"}}) end)
    end
    r:close()
    w:abort()
  end)
end)
