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
-- without `arg` are flags (true when given). Checks of a value, each error
-- one line naming the option:
--   number = true          a number (tonumber), integer = true an integer
--   min = A, max = B       a number in A..B (either bound alone too)
--   choices = {...}        one of these strings
--   list = true            a comma list ("--thresholds 1e4,1e5" -> {1e4, 1e5}),
--                          each item checked as above; empty items are errors
--   required = true        the option must be given (--help still works)
--   multi = true           every occurrence kept, in a list (with list: the
--                          items of all occurrences, in order) `aliases = {"-N", "--old"}`
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

-- "in A..B", ">= A" or "<= B": the range of a numeric option.
local function range_text(o)
  if o.min and o.max then return ("in %s..%s"):format(o.min, o.max) end
  return o.min and (">= %s"):format(o.min) or ("<= %s"):format(o.max)
end

function M.usage(spec)
  local lines = {}
  -- spec.usage: a command line of its own (no stream read, so no runtime options)
  lines[#lines + 1] = spec.usage and ("usage: " .. spec.usage) or
                      ("usage: evstream run %s [-i FILE...] [options]"):format(run_name(spec))
  if spec.about then lines[#lines + 1] = spec.about end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options:"
  for _, o in ipairs(spec.options) do
    local names = o[1] and o[2] and (o[1] .. ", " .. o[2]) or (o[1] or ("    " .. o[2]))
    if o.arg then names = names .. " " .. o.arg end
    local help = o.help or ""
    if o.list then help = help .. " (a comma list)" end
    if o.min or o.max then help = help .. (" (%s)"):format(range_text(o)) end
    if o.required then help = help .. " (required)" end
    if o.default ~= nil then
      local d = type(o.default) == "table" and table.concat(o.default, ",") or tostring(o.default)
      help = help .. (" (default %s)"):format(d)
    end
    if o.aliases then help = help .. (" (also %s)"):format(table.concat(o.aliases, ", ")) end
    lines[#lines + 1] = ("  %-22s %s"):format(names, help)
  end
  lines[#lines + 1] = ("  %-22s %s"):format("-h, --help", "this help")
  lines[#lines + 1] = ""
  return table.concat(lines, "\n") .. "\n" .. (spec.usage and "" or RUNTIME_HELP)
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
  local msg = ("%s: " .. fmt .. " (see --help)"):format(spec.name, ...)
  error((msg:gsub("[\r\n]", " ")), 0) -- one line, whatever the value held
end

-- One value of option o as given after `a` (an item of a list too),
-- checked and converted as o asks.
local function check_value(spec, o, a, v)
  if o.choices then
    local ok = false
    for _, c in ipairs(o.choices) do ok = ok or c == v end
    if not ok then fail(spec, "bad value for %s: %s (want %s)", a, v, table.concat(o.choices, "|")) end
  end
  if not (o.number or o.integer or o.min or o.max) then return v end
  local n = tonumber(v)
  if not n or n ~= n then fail(spec, "option %s wants a number, got %s", a, v) end
  if o.integer and math.type(n) ~= "integer" then
    if n ~= math.floor(n) or n < -2.0 ^ 63 or n >= 2.0 ^ 63 then
      fail(spec, "option %s wants an integer, got %s", a, v)
    end
    n = math.tointeger(n)
  end
  if (o.min and n < o.min) or (o.max and n > o.max) then
    fail(spec, "option %s wants a number %s, got %s", a, range_text(o), v)
  end
  return n
end

-- The value of option o: a checked value, or a checked list of them.
local function option_value(spec, o, a, v)
  if not o.list then return check_value(spec, o, a, v) end
  local items = {}
  for item in (v .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item == "" then fail(spec, "option %s: empty item in the list '%s'", a, v) end
    items[#items + 1] = check_value(spec, o, a, item)
  end
  return items
end

function M.parse(args, spec)
  local byname, opts, rest, given = {}, {}, {}, {}
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
      v = option_value(spec, o, name or a, v)
      local k = key_of(o)
      if o.multi then
        if not given[k] then opts[k] = {} end -- a default gives way to what is given
        if o.list then
          for _, x in ipairs(v) do table.insert(opts[k], x) end
        else
          table.insert(opts[k], v)
        end
      else
        opts[k] = v
      end
      given[k] = true
    else
      opts[key_of(o)] = true
      given[key_of(o)] = true
    end
    i = i + 1
  end
  for _, o in ipairs(spec.options) do
    if o.required and not given[key_of(o)] then
      fail(spec, "option %s is required%s", o[2] or o[1], o.arg and (" (" .. o.arg .. ")") or "")
    end
  end
  return opts, rest
end

return M
