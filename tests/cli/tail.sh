# CLI tests of the bundled tail script, on hand-computed fixtures.
. "$(dirname "$0")/lib.sh"
S=$T_TMP
mk() { lua5.4 tests/cli/scripts/mkstream.lua; }
# N = 2; S1: event losses (sample means) 20, 40, 50 with sd 14.142136, 0, 70.710678; S2: 2 with sd 2.828427
printf 'H 3 1 2 1\nR 1 1 10\nP 1 10\nP 2 30\nT\nR 1 2 10\nP 1 4\nT\nR 2 1 10\nP 1 40\nP 2 40\nT\nR 3 1 10\nP -1 5\nP 2 100\nT\n' | mk >"$S/t.bin"
es run tail -i "$S/t.bin" -l 0.5,0.9 -t 0.1 -o "$S/tail.csv"
is "$(sed -n 1p "$S/tail.csv")" "SummaryId,Events,MeanLoss,SDLoss,CV,VaR_0.5,TVaR_0.5,VaR_0.9,TVaR_0.9,RelError,SamplesNeeded,Converged" "tail: header names the levels"
# mean (20+40+50)/3; sd sqrt(233.33); VaR_0.5 = 40, TVaR = (40+50)/2; VaR_0.9 = 40 + 0.8*10;
# RelError sqrt((200+0+5000)/2)/110 = 0.463547; needed ceil(2*(0.463547/0.1)^2) = 43
is "$(sed -n 2p "$S/tail.csv")" "1,3,36.666668,15.275252,0.416598,40.000000,45.000000,48.000000,50.000000,0.463547,43,0" "tail: summary 1 (hand-computed)"
is "$(sed -n 3p "$S/tail.csv")" "2,1,2.000000,0.000000,0.000000,2.000000,2.000000,2.000000,2.000000,1.000000,200,0" "tail: summary 2, a single event (hand-computed)"
# converged: 4 samples all equal -> no sampling error
printf 'H 3 1 4 1\nR 7 3 1\nP 1 5\nP 2 5\nP 3 5\nP 4 5\nT\n' | mk >"$S/c.bin"
out=$(es run tail -i "$S/c.bin" -l 0.99 -H)
is "$out" "3,1,5.000000,0.000000,0.000000,5.000000,5.000000,0.000000,1,1" "tail: equal samples have converged"
es run tail -i "$S/c.bin" -l 1.5 2>"$S/err"; rc=$?
is "$rc" 1 "tail: bad level exits 1"
like "$(cat "$S/err")" "tail: bad level '1.5'" "tail: bad level message"
es gen -t loss -o "$S/loss.bin"
es run tail -i "$S/loss.bin" 2>"$S/err"; rc=$?
like "$(cat "$S/err")" "tail: input is a loss stream" "tail: wrong stream type"
# the same run in two partitions gives the same table
es gen -e 30 -r 4 -s 10 --seed 5 -o "$S/g.bin"
es gen -e 30 -r 4 -s 10 --seed 5 -p 1/2 -o "$S/g1.bin"; es gen -e 30 -r 4 -s 10 --seed 5 -p 2/2 -o "$S/g2.bin"
es run tail -i "$S/g.bin" -o "$S/a.csv"; es run tail -i "$S/g1.bin" "$S/g2.bin" -o "$S/b.csv"
same_file "$S/a.csv" "$S/b.csv" "tail: partitions give the table of the whole run"
done_testing
