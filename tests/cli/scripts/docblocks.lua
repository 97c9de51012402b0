-- docblocks.lua -- the fenced code blocks and the links of Markdown files,
-- for tests/cli/docs.sh.
--
--   lua5.4 docblocks.lua blocks OUTDIR FILE...
--       writes each fenced block of each FILE to OUTDIR/N (its lines, the
--       fence's indentation removed) and prints one line per block:
--       N <tab> FILE <tab> LINE (of the opening fence) <tab> INFO (the info string)
--   lua5.4 docblocks.lua links FILE...
--       checks every relative link [text](path#anchor) outside code: the file
--       exists, and the anchor is a heading of the target (GitHub's slugs).
--       Prints one line per broken link: FILE:LINE: TARGET: why
local mode = arg[1]

local function lines_of(path)
  local f = assert(io.open(path, "r"))
  local t = {}
  for l in f:lines() do t[#t + 1] = l end
  f:close()
  return t
end

-- Each line with its state: inside a fence or not.
local function scan(path, on_block, on_text)
  local ls = lines_of(path)
  local i = 1
  while i <= #ls do
    local indent, ticks, info = ls[i]:match("^(%s*)(```+)%s*(.-)%s*$")
    if ticks then
      local start, body = i, {}
      i = i + 1
      while i <= #ls and not ls[i]:match("^%s*" .. ticks .. "%s*$") do
        local l = ls[i]
        if l:sub(1, #indent) == indent then l = l:sub(#indent + 1) end
        body[#body + 1] = l
        i = i + 1
      end
      if on_block then on_block(start, info, body) end
    elseif on_text then
      on_text(i, ls[i])
    end
    i = i + 1
  end
end

local function slug(h)
  h = h:lower():gsub("[^%w%s_-]", ""):gsub("%s", "-")
  return h
end

local function anchors(path)
  local set, seen = {}, {}
  scan(path, nil, function(_, l)
    local h = l:match("^#+%s+(.-)%s*$")
    if h then
      local s = slug(h)
      if seen[s] then seen[s] = seen[s] + 1; s = s .. "-" .. seen[s] else seen[s] = 0 end
      set[s] = true
    end
  end)
  return set
end

if mode == "blocks" then
  local out, n = arg[2], 0
  for k = 3, #arg do
    scan(arg[k], function(line, info, body)
      n = n + 1
      local f = assert(io.open(("%s/%d"):format(out, n), "w"))
      f:write(table.concat(body, "\n"), "\n")
      f:close()
      io.write(("%d\t%s\t%d\t%s\n"):format(n, arg[k], line, info))
    end)
  end
elseif mode == "links" then
  local cache = {}
  for k = 2, #arg do
    local file = arg[k]
    local dir = file:match("^(.*)/[^/]*$") or "."
    scan(file, nil, function(ln, l)
      l = l:gsub("``.-``", ""):gsub("`[^`]*`", "")          -- no links inside inline code
      for target in l:gmatch("%]%(([^)%s]+)%)") do
        if not target:match("^%a[%w+.-]*:") then            -- http:, https:, mailto: are not checked
          local path, anchor = target:match("^([^#]*)#?(.*)$")
          local full = path == "" and file or (dir .. "/" .. path)
          local f = io.open(full, "r")
          if not f then
            print(("%s:%d: %s: no such file"):format(file, ln, target))
          else
            f:close()
            if anchor ~= "" then
              if not full:match("%.md$") then
                print(("%s:%d: %s: an anchor in a file that is not Markdown"):format(file, ln, target))
              else
                cache[full] = cache[full] or anchors(full)
                if not cache[full][anchor] then
                  print(("%s:%d: %s: no heading with that anchor"):format(file, ln, target))
                end
              end
            end
          end
        end
      end
    end)
  end
else
  io.stderr:write("usage: docblocks.lua blocks OUTDIR FILE... | links FILE...\n")
  os.exit(2)
end
