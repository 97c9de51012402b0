-- evstream.tables: the Oasis output tables, once (OUTPUTS.md 4, docs/).
--
--   local tables = require "evstream.tables"
--   evstream.table{path = p, columns = tables.SELT.columns, format = "csv"}
--
-- Each entry: `columns` ({name, printf format} pairs, in order, as
-- evstream.table takes them), `record` (bytes per row of the packed `-E bin`
-- table: int32/float32 fields in column order) and, for the tables that katpy
-- merges, `key` (the sort key columns). `tables.byname` maps the lower-case
-- names (selt, melt, ...) and the kat flags (-s -m -q -S -M -Q) to entries.
local M = {}

local PLT_PREFIX = {{"Period", "%d"}, {"PeriodWeight", "%.6f"}, {"EventId", "%d"}, {"Year", "%d"},
                    {"Month", "%d"}, {"Day", "%d"}, {"Hour", "%d"}, {"Minute", "%d"}, {"SummaryId", "%d"}}

local function plt(rest)
  local cols = {}
  for _, c in ipairs(PLT_PREFIX) do cols[#cols + 1] = c end
  for _, c in ipairs(rest) do cols[#cols + 1] = c end
  return cols
end

M.SELT = {name = "selt", key = {"EventId"}, columns = {
  {"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleId", "%d"}, {"Loss", "%.2f"}, {"ImpactedExposure", "%.2f"}}}
M.MELT = {name = "melt", key = {"EventId"}, columns = {
  {"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleType", "%d"}, {"EventRate", "%.6f"},
  {"ChanceOfLoss", "%.6f"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}, {"MaxLoss", "%.6f"},
  {"FootprintExposure", "%.6f"}, {"MeanImpactedExposure", "%.6f"}, {"MaxImpactedExposure", "%.6f"}}}
M.QELT = {name = "qelt", key = {"EventId"}, columns = {
  {"EventId", "%d"}, {"SummaryId", "%d"}, {"Quantile", "%.6f"}, {"Loss", "%.6f"}}}
M.SPLT = {name = "splt", key = {"EventId", "Period"}, columns = plt{
  {"SampleId", "%d"}, {"Loss", "%.2f"}, {"ImpactedExposure", "%.2f"}}}
M.MPLT = {name = "mplt", key = {"EventId", "Period"}, columns = plt{
  {"SampleType", "%d"}, {"ChanceOfLoss", "%.4f"}, {"MeanLoss", "%.2f"}, {"SDLoss", "%.2f"}, {"MaxLoss", "%.2f"},
  {"FootprintExposure", "%.2f"}, {"MeanImpactedExposure", "%.2f"}, {"MaxImpactedExposure", "%.2f"}}}
M.QPLT = {name = "qplt", key = {"EventId", "Period"}, columns = plt{{"Quantile", "%.2f"}, {"Loss", "%.2f"}}}
M.ALT = {name = "alt", columns = {
  {"SummaryId", "%d"}, {"SampleType", "%d"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}}}
M.ALT_MEANONLY = {name = "alt_meanonly", columns = {{"SummaryId", "%d"}, {"SampleType", "%d"}, {"MeanLoss", "%.6f"}}}
M.ALCT = {name = "alct", columns = {
  {"SummaryId", "%d"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}, {"SampleSize", "%d"}, {"LowerCI", "%.6f"},
  {"UpperCI", "%.6f"}, {"StandardError", "%.6f"}, {"RelativeError", "%.6f"}, {"VarElementHaz", "%.6f"},
  {"StandardErrorHaz", "%.6f"}, {"RelativeErrorHaz", "%.6f"}, {"VarElementVuln", "%.6f"},
  {"StandardErrorVuln", "%.6f"}, {"RelativeErrorVuln", "%.6f"}}}
M.EPT = {name = "ept", columns = {
  {"SummaryId", "%d"}, {"EPCalc", "%d"}, {"EPType", "%d"}, {"ReturnPeriod", "%.6f"}, {"Loss", "%.6f"}}}
M.PSEPT = {name = "psept", columns = {
  {"SummaryId", "%d"}, {"SampleId", "%d"}, {"EPType", "%d"}, {"ReturnPeriod", "%.6f"}, {"Loss", "%.6f"}}}

M.byname = {}
for _, k in ipairs{"SELT", "MELT", "QELT", "SPLT", "MPLT", "QPLT", "ALT", "ALT_MEANONLY", "ALCT", "EPT", "PSEPT"} do
  local t = M[k]
  t.record = 4 * #t.columns
  local names = {}
  for i, c in ipairs(t.columns) do names[i] = c[1] end
  t.header = table.concat(names, ",")
  M.byname[t.name] = t
end
-- katpy's table flags
for flag, k in pairs{["-s"] = "SELT", ["-m"] = "MELT", ["-q"] = "QELT", ["-S"] = "SPLT", ["-M"] = "MPLT",
                     ["-Q"] = "QPLT"} do
  M.byname[flag] = M[k]
end

return M
