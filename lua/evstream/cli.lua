-- evstream.cli: option parsing for bundled and user scripts, with --help.
--
--   local opts = cli.parse({...}, {
--     name = "elt", about = "Event loss tables from summary streams.",
--     options = {
--       {"-s", "--selt", arg = "PATH", help = "SELT output"},
--       {"-E", "--format", arg = "csv|bin", default = "csv", choices = {"csv", "bin"}},
--       {"-H", "--noheader", help = "no CSV header"},
--     }})
--
-- Values land under the long name without dashes (opts.selt). Options
-- without `arg` are flags (true when given). `aliases = {"-N", "--old"}`
-- lists older spellings that still work (shown in --help as "also"). `--help` prints the usage and
-- exits 0; a bad option raises "name: message" (exit status 1 under run).
--
-- Errors a user should see -- a missing file, a bad value, a write error --
-- go through die and check: one line "name: message" (the name given to
-- parse), exit status 1 under `evstream run`, no traceback (that is for bugs
-- in the script):
--
--   if not opts.selt then cli.die("nothing to do: give -s (see --help)") end
--   cli.die("bad level '%s' (want numbers in (0,1))", p)   -- string.format
--   local t = cli.check(evstream.table{...})   -- a value, or nil, msg: dies with msg
--   cli.check(t:close())
local M = {}

local script_name -- from the last parse(), for die's prefix

-- Errors are objects whose text is the message: the run host prints those
-- as they are, without a traceback, whatever the text looks like.
local ERR = {__tostring = function(e) return e.msg end}

local RUNTIME_HELP = [[
runtime options (evstream run):
  -i FILE...            input streams (default: stdin)
  --progress            one refreshing progress line on stderr (default when stderr is a terminal)
  --no-progress         no progress line
]]

local function key_of(o)
  return (o[2] or o[1]):gsub("^%-+", ""):gsub("-", "_")
end

-- The script as the user named it: under `evstream run` the host sets
-- evstream.run_script to SCRIPT as typed (a path for a user script, the
-- bundled name for a bundled one); elsewhere (embedded, tests) spec.name.
local function run_name(spec)
  local ev = package.loaded.evstream
  local typed = type(ev) == "table" and ev.run_script
  return type(typed) == "string" and typed ~= "" and typed or spec.name
end

function M.usage(spec)
  local lines = {}
  lines[#lines + 1] = ("usage: evstream run %s [-i FILE...] [options]"):format(run_name(spec))
  if spec.about then lines[#lines + 1] = spec.about end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options:"
  for _, o in ipairs(spec.options) do
    local names = o[1] and o[2] and (o[1] .. ", " .. o[2]) or (o[1] or ("    " .. o[2]))
    if o.arg then names = names .. " " .. o.arg end
    local help = o.help or ""
    if o.default ~= nil then help = help .. (" (default %s)"):format(tostring(o.default)) end
    if o.aliases then help = help .. (" (also %s)"):format(table.concat(o.aliases, ", ")) end
    lines[#lines + 1] = ("  %-22s %s"):format(names, help)
  end
  lines[#lines + 1] = ("  %-22s %s"):format("-h, --help", "this help")
  lines[#lines + 1] = ""
  return table.concat(lines, "\n") .. "\n" .. RUNTIME_HELP
end

-- die(fmt, ...) / die(msg): raise the one-line error "NAME: message";
-- fmt is a string.format pattern only when arguments follow it.
function M.die(fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or tostring(fmt)
  error(setmetatable({msg = script_name and (script_name .. ": " .. msg) or msg}, ERR), 0)
end

-- check(v, ...): v and the values after it when v is true-ish, else die
-- with the message that follows it (the `nil, msg` of a failed call).
function M.check(v, ...)
  if v then return v, ... end
  M.die((...) ~= nil and tostring((...)) or "failed")
end

local function fail(spec, fmt, ...)
  error(("%s: " .. fmt .. " (see --help)"):format(spec.name, ...), 0)
end

function M.parse(args, spec)
  local byname, opts, rest = {}, {}, {}
  script_name = spec.name
  for _, o in ipairs(spec.options) do
    for i = 1, 2 do if o[i] then byname[o[i]] = o end end
    for _, a in ipairs(o.aliases or {}) do byname[a] = o end
    if o.default ~= nil then opts[key_of(o)] = o.default end
  end
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(M.usage(spec))
      io.stdout:flush()
      os.exit(0)
    end
    local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
    local o = byname[name or a]
    if not o then
      if a:sub(1, 1) == "-" and a ~= "-" then fail(spec, "unknown option %s", a) end
      if not spec.positional then fail(spec, "unexpected argument %s", a) end
      rest[#rest + 1] = a
    elseif o.arg then
      local v = inline
      if v == nil then
        i = i + 1
        v = args[i]
      end
      if v == nil then fail(spec, "option %s needs a value (%s)", a, o.arg) end
      if o.choices then
        local ok = false
        for _, c in ipairs(o.choices) do ok = ok or c == v end
        if not ok then fail(spec, "bad value for %s: %s (want %s)", a, v, table.concat(o.choices, "|")) end
      end
      if o.number then
        local n = tonumber(v)
        if not n then fail(spec, "option %s wants a number, got %s", a, v) end
        v = n
      end
      if o.multi then
        opts[key_of(o)] = opts[key_of(o)] or {}
        table.insert(opts[key_of(o)], v)
      else
        opts[key_of(o)] = v
      end
    else
      opts[key_of(o)] = true
    end
    i = i + 1
  end
  return opts, rest
end

return M
