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
  it("lists: comma lists of numbers or choices, checked item by item", function()
    local sp = {name = "ex", options = {
      {"-t", "--thresholds", arg = "T,...", list = true, number = true, min = 0, default = {1e6}},
      {"-k", "--kinds", arg = "K,...", list = true, choices = {"aep", "oep"}, multi = true},
    }}
    assert.are.same({1e4, 1e5}, cli.parse({"--thresholds", "1e4,1e5"}, sp).thresholds)
    assert.are.same({2.5}, cli.parse({"--thresholds=2.5"}, sp).thresholds)
    assert.are.same({1e6}, cli.parse({}, sp).thresholds)
    assert.are.same({7, 8}, cli.parse({"-t", " 7 , 8 "}, sp).thresholds)
    assert.are.same({"aep", "oep", "aep"}, cli.parse({"-k", "aep,oep", "--kinds", "aep"}, sp).kinds)
    assert.has_error(function() cli.parse({"-t", "1e4,,5"}, sp) end,
                     "ex: option -t: empty item in the list '1e4,,5' (see --help)")
    assert.has_error(function() cli.parse({"-t", "1e4,x"}, sp) end, "ex: option -t wants a number, got x (see --help)")
    assert.has_error(function() cli.parse({"-t", "1,-2"}, sp) end,
                     "ex: option -t wants a number >= 0, got -2 (see --help)")
    assert.has_error(function() cli.parse({"-k", "aep,xep"}, sp) end, "ex: bad value for -k: xep (want aep|oep) (see --help)")
    assert.matches("%(a comma list%) %(>= 0%) %(default 1000000%.0%)", cli.usage(sp))
  end)
  it("required options and numeric ranges, each error one line", function()
    local sp = {name = "ex", options = {
      {"-p", "--periods", arg = "P", integer = true, min = 1, required = true},
      {"-q", "--level", arg = "Q", number = true, min = 0, max = 1},
      {"-s", "--seed", arg = "S", integer = true},
    }}
    local o = cli.parse({"-p", "10", "-q", "0.5", "-s", "1e3"}, sp)
    assert.are.same({periods = 10, level = 0.5, seed = 1000}, o)
    assert.are.equal("integer", math.type(o.seed))
    assert.has_error(function() cli.parse({"-q", "0.5"}, sp) end, "ex: option --periods is required (P) (see --help)")
    assert.has_error(function() cli.parse({"-p", "0"}, sp) end, "ex: option -p wants a number >= 1, got 0 (see --help)")
    assert.has_error(function() cli.parse({"-p", "2.5"}, sp) end, "ex: option -p wants an integer, got 2.5 (see --help)")
    assert.has_error(function() cli.parse({"-p", "3", "--level=1.5"}, sp) end,
                     "ex: option --level wants a number in 0..1, got 1.5 (see --help)")
    assert.has_error(function() cli.parse({"-p", "3", "-q", "x\ny"}, sp) end,
                     "ex: option -q wants a number, got x y (see --help)")
    assert.matches("%(required%)", cli.usage(sp))
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
