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
