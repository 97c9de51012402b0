-- evstream.cli: option parsing for scripts.
local cli = require "evstream.cli"

local spec = {
  name = "demo",
  options = {
    {"-s", "--selt", arg = "PATH", help = "selt"},
    {"-E", "--format", arg = "csv|bin", default = "csv", choices = {"csv", "bin"}},
    {"-H", "--noheader"},
    {"-n", "--count", arg = "N", number = true},
    {"-x", "--extra", arg = "V", multi = true},
  },
}

describe("cli.parse", function()
  it("parses short and long options, flags and defaults", function()
    local o = cli.parse({"-s", "a.csv", "-H", "--count=3", "-x", "1", "-x", "2"}, spec)
    assert.are.same({selt = "a.csv", format = "csv", noheader = true, count = 3, extra = {"1", "2"}}, o)
  end)
  it("checks choices, numbers and values", function()
    assert.has_error(function() cli.parse({"-E", "xml"}, spec) end, "demo: bad value for -E: xml (want csv|bin) (see --help)")
    assert.has_error(function() cli.parse({"--count", "x"}, spec) end, "demo: option --count wants a number, got x (see --help)")
    assert.has_error(function() cli.parse({"-s"}, spec) end, "demo: option -s needs a value (PATH) (see --help)")
    assert.has_error(function() cli.parse({"-q"}, spec) end, "demo: unknown option -q (see --help)")
    assert.has_error(function() cli.parse({"stray"}, spec) end, "demo: unexpected argument stray (see --help)")
  end)
  it("writes a usage text with every option", function()
    local u = cli.usage(spec)
    assert.matches("usage: evstream run demo", u)
    assert.matches("%-s, %-%-selt PATH", u)
    assert.matches("default csv", u)
    assert.matches("%-%-no%-progress", u)
  end)
end)

describe("cli.die and cli.check", function()
  local function err_of(f, ...)
    local ok, e = pcall(f, ...)
    assert.is_false(ok)
    return e
  end
  it("raise one line prefixed with the script name, without a position", function()
    cli.parse({}, spec)
    assert.are.equal("demo: nothing to do", tostring(err_of(cli.die, "nothing to do")))
    assert.are.equal("demo: bad level 'x' (2)", tostring(err_of(cli.die, "bad level '%s' (%d)", "x", 2)))
    assert.are.equal("demo: 100% sure", tostring(err_of(cli.die, "100% sure")))   -- no arguments: not a format
    assert.are.equal("demo: in.csv:7: bad field", tostring(err_of(cli.die, "in.csv:7: bad field")))
  end)
  it("check passes values through and dies with the message of nil, msg", function()
    cli.parse({}, spec)
    assert.are.same({1, 2, 3}, {cli.check(1, 2, 3)})
    assert.are.equal("demo: no such file", tostring(err_of(cli.check, nil, "no such file")))
    assert.are.equal("demo: failed", tostring(err_of(cli.check, false)))
  end)
end)
