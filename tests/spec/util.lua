-- Shared helpers for the busted specs.
local evstream = require "evstream"
local M = {}

M.bin = (os.getenv("ROOT") or ".") .. "/" .. (os.getenv("BUILD") or "build") .. "/evstream"
M.conf = os.getenv("CONF") or "tests/conformance"

-- Temporary names live in one private directory per busted process, which
-- is removed with everything in it when the Lua state closes (busted exits
-- through os.exit(code, true)): specs append suffixes and make folders under
-- these names, so removing the names alone would leave files behind.
local lfs = require "lfs"
local tmpdir, tmpcount = nil, 0

local function rmtree(path)
  if lfs.symlinkattributes(path, "mode") == "directory" then
    for name in lfs.dir(path) do
      if name ~= "." and name ~= ".." then rmtree(path .. "/" .. name) end
    end
    lfs.rmdir(path)
  else
    os.remove(path)
  end
end

M._cleanup = setmetatable({}, {__gc = function() if tmpdir then rmtree(tmpdir) end end})

function M.tmpname()
  if not tmpdir then
    -- os.tmpname made the name unique as a file; a folder takes its place
    local p = os.tmpname()
    os.remove(p)
    assert(lfs.mkdir(p))
    tmpdir = p
  end
  tmpcount = tmpcount + 1
  return string.format("%s/t%d", tmpdir, tmpcount)
end

function M.readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function M.writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Run a shell command; returns ok, stdout, stderr.
function M.sh(cmd)
  local errf = M.tmpname()
  local p = io.popen(cmd .. " 2>" .. errf, "r")
  local out = p:read("a")
  local ok, _, code = p:close()
  local err = M.readfile(errf)
  os.remove(errf)
  return ok, out, err, code
end

-- A summary stream built by hand: records = {{event, id, exposure, {{sidx, loss}...}}...}
function M.summary_stream(path, n, records, set)
  local w = assert(evstream.stream{path = path, source = 3, agg = 1, len_sample = n, summary_set_id = set or 1})
  for _, r in ipairs(records) do
    w:record(r[1], r[2], r[3])
    for _, p in ipairs(r[4]) do w:pair(p[1], p[2]) end
    w:terminate()
  end
  assert(w:close())
end

return M
