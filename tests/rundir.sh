#!/bin/sh
# tests/rundir.sh DIR -- a small synthetic Oasis run directory, the one the
# README's tour and the docs examples (tests/cli/docs.sh) start from:
#   DIR/streams/gul_P1.bin, gul_P2.bin  ground-up loss streams of two processes
#                                       (200 events x 20 items x 10 samples, by evstream gen)
#   DIR/input/occurrence.bin            the 200 events over 100 periods (one occurrence each)
#   DIR/input/periods.bin               the 100 period weights (equal)
#   DIR/input/returnperiods.bin         100, 50, 10, 2
#   DIR/input/quantile.bin              0.05 0.25 0.5 0.75 0.95
#   DIR/input/gulsummaryxref.csv        items 1..20 -> summaries 1..4 (set 1) and 1..2 (set 2)
#   DIR/analysis_settings.json          gul outputs of both sets for `evstream run oasis`
# Deterministic; existing files are replaced.  EVSTREAM names the CLI (default: evstream).
# (evstream gen --run-dir DIR will write such a directory itself.)
set -eu
D=${1:?usage: tests/rundir.sh DIR}
ES=${EVSTREAM:-evstream}
mkdir -p "$D/streams" "$D/input"
for k in 1 2; do
  $ES gen -t gul -e 200 -r 20 -S 10 --seed 7 -p $k/2 -o "$D/streams/gul_P$k.bin"
done
{ echo "item_id,summary_id,summaryset_id"
  i=1; while [ $i -le 20 ]; do echo "$i,$(( (i - 1) % 4 + 1 )),1"; i=$((i + 1)); done
  i=1; while [ $i -le 20 ]; do echo "$i,$(( (i - 1) % 2 + 1 )),2"; i=$((i + 1)); done
} >"$D/input/gulsummaryxref.csv"
lua5.4 - "$D/input" <<'LUA'
local dir = ...
local function put(name, s) local f = assert(io.open(dir .. "/" .. name, "wb")); f:write(s); f:close() end
-- 200 events over 100 periods (the period by a hash), event e on day 741324 + e (2029-11-03 + e days)
local t = {string.pack("<i4i4", 1, 100)}
for e = 1, 200 do t[#t + 1] = string.pack("<i4i4i4", e, (e * 2654435761 >> 7) % 100 + 1, 741324 + e) end
put("occurrence.bin", table.concat(t))
t = {}
for p = 1, 100 do t[#t + 1] = string.pack("<i4d", p, 0.01) end
put("periods.bin", table.concat(t))
put("returnperiods.bin", string.pack("<i4i4i4i4", 100, 50, 10, 2))
put("quantile.bin", string.pack("<fffff", 0.05, 0.25, 0.5, 0.75, 0.95))
LUA
cat >"$D/analysis_settings.json" <<'JSON'
{
    "number_of_samples": 10,
    "gul_output": true,
    "gul_summaries": [
        {
            "id": 1,
            "ord_output": {
                "elt_sample": true, "elt_moment": true, "elt_quantile": true,
                "plt_moment": true, "plt_quantile": true,
                "alt_period": true, "alct_convergence": true, "alct_confidence": 0.95,
                "ept_full_uncertainty_aep": true, "ept_full_uncertainty_oep": true,
                "ept_mean_sample_aep": true, "ept_mean_sample_oep": true,
                "psept_aep": true, "psept_oep": true,
                "return_period_file": true
            }
        },
        {
            "id": 2,
            "ord_output": {"elt_moment": true, "alt_period": true, "ept_full_uncertainty_aep": true}
        }
    ]
}
JSON
