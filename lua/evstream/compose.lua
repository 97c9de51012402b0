-- evstream.compose: run other scripts' hooks on the same batches.
--
--   local compose = require "evstream.compose"
--   local elt = compose.load("elt", {"-s", "selt.csv", "-m", "melt.csv"})
--   function begin(info) elt.begin(info) end
--   function event(ev)   elt.event(ev) end
--   function finish()    elt.finish() end
--
-- load(name, args) finds the script as `evstream run` does (a file path, or
-- the name of a bundled script), runs its chunk with args as `...` in an
-- environment of its own (globals it defines stay there, nothing of the
-- caller's is touched) and returns its hooks as a table
-- {name, begin, event, finish}; a hook the script lacks is a no-op.
--
-- The chunk sees COMPOSED = true: a script that reads its own inputs when
-- run alone (lec reads its files in finish()) takes batches from its event
-- hook instead.  A script's inputs() hook is called with no inputs at
-- begin: one that then wants files of its own (aal -K) is refused, since a
-- composed script reads what the composing script hands it.
local M = {}

local cli = require "evstream.cli"

local lfs = require "lfs"

local function is_file(p)
  return lfs.attributes(p, "mode") == "file"
end

-- The bundled scripts directory: $EVSTREAM_SCRIPTS, else beside this
-- module's tree (source: lua/evstream/ -> scripts/; installed:
-- share/lua/5.4/evstream/ -> share/evstream/scripts/).
local function scripts_dirs()
  local dirs = {}
  local env = os.getenv("EVSTREAM_SCRIPTS")
  if env and env ~= "" then dirs[#dirs + 1] = env end
  local src = debug.getinfo(1, "S").source
  local here = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$")
  if here then
    dirs[#dirs + 1] = here .. "/../../scripts"
    dirs[#dirs + 1] = here .. "/../../../evstream/scripts"
  end
  return dirs
end

-- The path of script `name`: an existing file, else a bundled script.
function M.find(name)
  if is_file(name) then return name end
  if not name:find("/", 1, true) then
    local file = name:match("%.lua$") and name or (name .. ".lua")
    for _, d in ipairs(scripts_dirs()) do
      if is_file(d .. "/" .. file) then return d .. "/" .. file end
    end
  end
  return nil, ("no such script '%s' (not a file, nor a bundled script)"):format(name)
end

-- cli.die prefixes the name of the last cli.parse; name the module again
-- around its begin and finish, where its user-facing errors are raised.
local function name_errors(name)
  cli.parse({}, {name = name, options = {}})
end

local NOP = function() end

function M.load(name, args)
  local path, err = M.find(name)
  if not path then error(err, 0) end
  local env = setmetatable({COMPOSED = true, arg = {[0] = name, table.unpack(args or {})}}, {__index = _G})
  local chunk, lerr = loadfile(path, "t", env)
  if not chunk then error(lerr, 0) end
  local ret = chunk(table.unpack(args or {}))
  local h = type(ret) == "table" and ret or env
  local label = name:match("([^/]+)$"):gsub("%.lua$", "")
  local m = {name = label}
  local begin, finish = h.begin or NOP, h.finish or NOP
  local own_inputs = h.inputs
  m.begin = function(info, ...)
    name_errors(label)
    if own_inputs then
      local list = own_inputs({})
      if type(list) == "table" and #list > 0 then
        cli.die("composed, it reads the batches it is given: drop the options that name its own inputs (-K)")
      end
    end
    return begin(info, ...)
  end
  m.event = h.event or NOP
  m.has_event = h.event ~= nil
  m.finish = function(...)
    name_errors(label)
    return finish(...)
  end
  name_errors(label)
  return m
end

return M
