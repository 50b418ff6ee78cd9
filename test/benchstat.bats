#!/usr/bin/env bats
# scripts/benchstat.py, the arithmetic of bench.sh and stress.sh: known figures in,
# known medians, quartiles, ratios, CPU per transaction and verdicts out, down to
# the edge cases (no sample, one sample, an even count, a run with no figures, a
# target just met and one missed).

load helpers

setup_file() {
	find_python
}

# rounds FILE LINE...: a rounds file as bench.sh writes it.
rounds() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/$f"
	echo "$BATS_TEST_TMPDIR/$f"
}

@test "median: none, one sample, an odd and an even count, unsorted input" {
	run_ok benchstat median
	assert_eq "$output" "-"
	run_ok benchstat median 7
	assert_eq "$output" 7
	run_ok benchstat median 9 1 5
	assert_eq "$output" 5
	run_ok benchstat median 4 1 3 2
	assert_eq "$output" 2.5
	# rounding a half to a whole number goes to the even one, as printf does
	run_ok benchstat median --format %.0f 12345 12346
	assert_eq "$output" 12346
	# large values keep every digit (awk printed 1.23457e+06)
	run_ok benchstat median 1234567 1234568
	assert_eq "$output" 1234567.5
}

@test "percentile: nearest rank, a list of percentiles, one sample" {
	run_ok benchstat percentile 50,99 $(seq 100 -1 1)
	assert_eq "$output" "50 99"
	run_ok benchstat percentile 50,99 42
	assert_eq "$output" "42 42"
	run_ok benchstat percentile 50
	assert_eq "$output" "-"
}

@test "cv: equal counts give 0, a known spread, none gives -" {
	run_ok benchstat cv 5 5 5 5
	assert_eq "$output" 0.000
	# mean 2, population standard deviation 1
	run_ok benchstat cv 1 3
	assert_eq "$output" 0.500
	run_ok benchstat cv
	assert_eq "$output" "-"
}

@test "verdict: a target just met, one missed, and no figure" {
	run_ok benchstat verdict 0.97 0.97 ge
	assert_eq "$output" met
	run_ok benchstat verdict 0.96 0.97 ge
	assert_eq "$output" MISSED
	run_ok benchstat verdict 150 150 le
	assert_eq "$output" met
	run_ok benchstat verdict 151 150 le
	assert_eq "$output" MISSED
	run_ok benchstat verdict - 150 le
	assert_eq "$output" "-"
	run_ok benchstat verdict '?' 150 le
	assert_eq "$output" "-"
	run_expect 2 benchstat verdict 1 1 gt
}

@test "load: CPU per transaction from prefork-bench's summary and the tick counts" {
	local out="$BATS_TEST_TMPDIR/out" times="$BATS_TEST_TMPDIR/times"
	echo '{"ok":1000,"errors":{"timeout":2,"reset":1},"duration_s":2.0,"tps":500.4,
		"latency_us":{"p50":100,"p99":200}}' >"$out"
	# exit status, then bash's `times`: the shell's CPU, then the load generator's
	printf '0\n0m0.010s 0m0.020s\n0m0.500s 0m0.500s\n' >"$times"
	# machine busy 3 s (300 ticks at 100 Hz) - generator 1 s = 2 s over 1000
	# transactions: 2000 us; the servers' own 50 ticks: 500 us; generator 50 % of 2 s
	run_ok benchstat load --tool prefork-bench --out "$out" --times "$times" \
		--busy 300 --proc 50 --hz 100
	assert_eq "$output" "1000 500 100 200 3 2000.0 500.0 50"
	# no transaction: no CPU per transaction
	echo '{"ok":0,"errors":{"connect":4},"duration_s":0,"tps":0,
		"latency_us":{"p50":0,"p99":0}}' >"$out"
	run_ok benchstat load --tool prefork-bench --out "$out" --times "$times" \
		--busy 300 --proc 50 --hz 100
	assert_eq "$output" "0 0 0 0 4 0.0 0.0 0"
}

@test "load: a lying server and a missing summary count as no figures" {
	local out="$BATS_TEST_TMPDIR/out" times="$BATS_TEST_TMPDIR/times"
	echo '{"ok":10,"errors":{},"duration_s":1,"tps":10,"latency_us":{"p50":1,"p99":1}}' >"$out"
	printf '1\n0m0s 0m0s\n0m0.1s 0m0s\n' >"$times"
	run_ok benchstat load --tool prefork-bench --port 4242 --out "$out" --times "$times" \
		--busy 1 --proc 1 --hz 100
	assert_eq "${lines[0]}" "bench.sh: WARNING: mismatched replies from the server on port 4242: the run counts as no figures"
	assert_eq "${lines[1]}" "0 0 0 0 0 0 0 0"
	: >"$out"
	echo "prefork-bench: cannot connect" >"$BATS_TEST_TMPDIR/err"
	printf '3\n0m0s 0m0s\n0m0s 0m0s\n' >"$times"
	run_ok benchstat load --tool prefork-bench --out "$out" --err "$BATS_TEST_TMPDIR/err" \
		--times "$times" --busy 1 --proc 1 --hz 100
	assert_eq "$output" $'bench.sh: prefork-bench exited 3 without a summary:\nprefork-bench: cannot connect\n0 0 0 0 0 0 0 0'
}

@test "load: echobench's RESULT line, errors summed; no line gives zeros" {
	local out="$BATS_TEST_TMPDIR/out" times="$BATS_TEST_TMPDIR/times"
	printf 'echobench: 127.0.0.1:1 mode=short\nRESULT tps=2000 ok=4000 p50_us=70 p99_us=300 max_us=900 err_connect=1 err_reset=2 err_timeout=0 err_mismatch=0 err_other=0 elapsed=2.000 gen_cpu=0.40\n' >"$out"
	printf '1\n0m0s 0m0s\n0m0.400s 0m0.400s\n' >"$times"
	run_ok benchstat load --tool echobench --out "$out" --times "$times" \
		--busy 200 --proc 40 --hz 100
	assert_eq "$output" "4000 2000 70 300 3 300.0 100.0 40"
	: >"$out"
	run_ok benchstat load --tool echobench --out "$out" --times "$times" \
		--busy 200 --proc 40 --hz 100
	assert_eq "$output" "0 0 0 0 0 0.0 0.0 0"
}

@test "matrix-row: the figures of preforkd and the reference, and their ratios" {
	run_ok benchstat matrix-row 1 16 short 64 "1000 10861 75 275 0 203.1 50.0 40" \
		"1000 12255 67 208 0 192.7 45.0 40"
	assert_eq "$output" "  1   16 short        64 |    10861     75    275    0 203.1 |    12255     67    208 192.7 |  0.89  1.05"
	run_ok benchstat matrix-row 2 1 keepalive 16384 "0 0 0 0 7 0.0 0.0 0" "0 0 0 0 0 0 0 0"
	assert_eq "$output" "  2    1 keepalive 16384 |        0      0      0    7   0.0 |        0      0      0   0.0 |     -     -"
	run_ok benchstat matrix-row 4 64 short 64 "1 9000 80 300 0 12.5 1 1"
	assert_eq "$output" "  4   64 short        64 |     9000     80    300    0  12.5"
}

@test "targets: one round gives its own ratios; a missed rate and CPU say MISSED" {
	local f
	f=$(rounds one "0 pf 9000 11 5 60" "0 nd 10000 10 5 62" "0 ref 10000 10 5 61" \
		"0 ref2 10000 10 5 59")
	run_ok benchstat targets "short, 2 workers, c16" "$f"
	assert_eq "${lines[0]}" "short, 2 workers, c16"
	assert_eq "${lines[1]}" "  preforkd (defaults)            9000    10000  0.90 (0.90-0.90) MISSED  1.10 (1.10-1.10) MISSED  1.00 (1.00-1.00)  60%"
	assert_eq "${lines[2]}" "  --defer-accept 0              10000    10000  1.00 (1.00-1.00) met     1.00 (1.00-1.00) met     1.00 (1.00-1.00)  62%"
	# the control row has no figures and no verdicts, and ends in the empty gen column
	assert_eq "${lines[3]}" "  control: ref2/ref                             1.00 (1.00-1.00)         1.00 (1.00-1.00)         1.00 (1.00-1.00) "
	assert_eq "${#lines[@]}" 4
}

@test "targets: quartiles from 5 rounds, medians of an even count, a round left out" {
	local f i
	: >"$BATS_TEST_TMPDIR/five"
	# preforkd's rates to ref: 0.90 1.00 1.10 1.20 1.30 -> median 1.10, quartiles
	# the 2nd and 4th: 1.00 and 1.20
	for i in 0 1 2 3 4; do
		printf '%s\n' "$i pf $((900 + 100 * i)) 10 5 50" "$i nd 1000 10 5 50" \
			"$i ref 1000 10 5 50" "$i ref2 1000 10 5 50" >>"$BATS_TEST_TMPDIR/five"
	done
	run_ok benchstat targets five "$BATS_TEST_TMPDIR/five"
	assert_match "${lines[1]}" '^  preforkd \(defaults\) +1100 +1000  1\.10 \(1\.00-1\.20\) met '
	# 2 rounds: ratio medians are means of the two; one round of ref completed
	# nothing, so its ratios are left out and said so
	f=$(rounds two "0 pf 1000 10 5 50" "0 nd 1000 10 5 50" "0 ref 1000 10 5 50" \
		"0 ref2 1000 10 5 50" "1 pf 1200 10 5 51" "1 nd 1000 10 5 50" "1 ref 0 0 0 50" \
		"1 ref2 1000 10 5 50")
	run_ok benchstat targets two "$f"
	assert_eq "${lines[1]}" "  preforkd (defaults)            1100      500  1.00 (1.00-1.00) met     1.00 (1.00-1.00) met     1.00 (1.00-1.00)  50%"
	assert_eq "${lines[2]}" "  (1 of 2 ratios left out: a run completed no transaction)"
	# every round without a ratio: no figure, no verdict
	f=$(rounds none "0 pf 0 0 0 0" "0 nd 0 0 0 0" "0 ref 0 0 0 0" "0 ref2 0 0 0 0")
	run_ok benchstat targets none "$f"
	assert_eq "${lines[1]}" "  preforkd (defaults)               0        0     - (---)     -          - (---)     -          - (---)       0%"
	assert_eq "${lines[2]}" "  (1 of 1 ratios left out: a run completed no transaction)"
}

@test "tools: prefork-bench's rate against echobench's, with the verdict" {
	local f
	f=$(rounds tools "0 pb 1000 40" "0 eb 1000 30" "1 eb 1000 34" "1 pb 990 42")
	run_ok benchstat tools "ref_epoll_echo, short, c16" "$f"
	assert_eq "$output" "ref_epoll_echo, short, c16                   995       1000  0.99 (0.99-1.00) MISSED      41%     32%"
}

@test "syscalls and instructions per transaction" {
	cat >"$BATS_TEST_TMPDIR/strace" <<'EOF'
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.004000           2      2000           close
 35.00    0.003500           0      4000       100 recvfrom
 25.00    0.002500           1      2000           accept4
------ ----------- ----------- --------- --------- ----------------
100.00    0.010000           1      8000       100 total
EOF
	run_ok benchstat syscalls preforkd 2000 "$BATS_TEST_TMPDIR/strace"
	assert_eq "$output" "preforkd           close 1.00  recvfrom 2.00  accept4 1.00  = 4.00 syscalls per transaction"
	run_ok benchstat instructions preforkd 1000000 1956000 4000
	assert_eq "$output" "preforkd           239 user-space instructions per transaction"
	run_ok benchstat instructions preforkd 0 1956000 4000
	assert_eq "$output" "preforkd           skipped: callgrind gave no count"
}

# client JSON FILE OK FAILED MISMATCH: a prefork-bench summary.
client() {
	printf '{"ok":%d,"errors":{"connect":0,"reset":%d,"timeout":0,"short":0,"mismatch":%d,"other":0},"duration_s":1.0,"tps":%d.5,"latency_us":{"p50":100,"p99":900}}\n' \
		"$2" "$3" "$4" "$2" >"$1"
}

@test "stress-verdict: a clean run passes, in text and JSON, with stress.sh's own checks in order" {
	local j="$BATS_TEST_TMPDIR/bench.json" c="$BATS_TEST_TMPDIR/checks"
	client "$j" 5000 2 0
	run_ok benchstat stress-client "$j"
	assert_eq "$output" '5000 ok, 2 failed ({"connect":0,"reset":2,"timeout":0,"short":0,"mismatch":0,"other":0}), 5000/s, p99 900 us'
	printf 'workers\tPASS\t4 workers, the target\nserver exit\tPASS\tSIGTERM: exit 0\n' >"$c"
	run_ok benchstat stress-verdict --bench-json "$j" --bench-rc 0 --kills 3 --checks "$c" \
		--totals-before "10 10 0 0 0 0" --totals-after "5010 5009 1 0 0 0"
	assert_eq "$output" "PASS  mismatches   0 mismatched replies
PASS  failures     2 failed <= 3 workers killed
PASS  workers      4 workers, the target
PASS  totals       server accepted 5000 = completed 4999 + errors 1; client completed 5000, server completed within [4997, 5002]
PASS  server exit  SIGTERM: exit 0
verdict: PASS"
	run_ok benchstat stress-verdict --json --bench-json "$j" --bench-rc 0 --kills 3 \
		--checks "$c" --totals-after "5000 4999 1 0 0 0" --target 127.0.0.1:7 --duration 0.5 \
		--concurrency 8 --target-workers 4 --final-workers 4
	assert_eq "$(jq -c '[.pass, .load, .faults.workers_killed, .client.failed, .server, .workers]' <<<"$output")" \
		'[true,{"duration_s":0.5,"concurrency":8,"size":64,"keepalive":false},3,2,{"accepted":5000,"completed":4999,"errors":1},{"target":4,"final":4}]'
	assert_eq "$(jq -r '[.checks[].name] | join(",")' <<<"$output")" "mismatches,failures,workers,totals,server exit"
}

@test "stress-verdict: failures without kills, mismatches, a crashed client and bad books fail" {
	local j="$BATS_TEST_TMPDIR/bench.json"
	client "$j" 100 4 0
	run_expect 1 benchstat stress-verdict --bench-json "$j" --bench-rc 0 --reloads 2 --flaps 4
	assert_contains "$output" "FAIL  failures     4 failed with no worker killed (2 reloads, 4 scaling signals)"
	assert_eq "${lines[-1]}" "verdict: FAIL"
	client "$j" 0 0 7
	printf '=====\nAddressSanitizer: heap-use-after-free\n' >"$BATS_TEST_TMPDIR/err"
	run_expect 1 benchstat stress-verdict --bench-json "$j" --bench-rc 2 \
		--bench-err "$BATS_TEST_TMPDIR/err"
	assert_contains "$output" "FAIL  mismatches   7 mismatched replies"
	assert_contains "$output" "FAIL  client       prefork-bench exited 2: AddressSanitizer: heap-use-after-free"
	assert_contains "$output" "FAIL  progress     no transaction completed"
	client "$j" 100 0 0
	run_expect 1 benchstat stress-verdict --bench-json "$j" --bench-rc 0 --totals-after "101 100 0 0 0 0"
	assert_contains "$output" "FAIL  totals       server books do not balance: accepted 101 != completed 100 + errors 0"
	run_expect 1 benchstat stress-verdict --bench-json "$j" --bench-rc 0 --totals-after "103 100 3 0 0 0"
	assert_contains "$output" "server errors 3 > client failed 0 + killed 0"
	# keep-alive: echoed bytes between (ok - kills) and (ok + failed) transactions
	run_ok benchstat stress-verdict --bench-json "$j" --bench-rc 0 --keepalive 1 --size 10 \
		--totals-after "4 4 0 1000 1000 0"
	assert_contains "$output" "bytes echoed 1000 within [1000, 1000] from client's 100 x 10 B"
	run_expect 1 benchstat stress-verdict --bench-json "$j" --bench-rc 0 --keepalive 1 \
		--size 10 --totals-after "4 4 0 990 990 0"
	assert_contains "$output" "bytes echoed 990 outside [1000, 1000]"
}

@test "stress-client: no summary fails; bad usage exits 2" {
	: >"$BATS_TEST_TMPDIR/empty.json"
	run_expect 1 benchstat stress-client "$BATS_TEST_TMPDIR/empty.json"
	run_expect 2 benchstat no-such-command
	run_expect 2 benchstat targets label "$BATS_TEST_TMPDIR/missing"
	assert_contains "$output" "benchstat.py targets:"
	# the program runs on its own too, by its #! line
	run_ok "$BENCHSTAT" --help
	assert_contains "$output" "stress-verdict"
}

# burst_json FILE FIRST_SLOW: a burst-load.py result, phases 1:1 8:2 1:1, pool
# samples every 0.5 s (t running idle busy); FIRST_SLOW: the two slowest first
# replies of the burst in us.
burst_json() {
	local slow=$2
	cat >"$1" <<JSON
{"phases": [
  {"clients": 1, "seconds": 1, "first_us": [300], "rt_us": [150, 160], "connections": 1,
   "errors": {"connect": 0, "timeout": 0, "reset": 0, "short": 0, "mismatch": 0, "unserved": 0}},
  {"clients": 8, "seconds": 2, "first_us": [$slow, $slow, 300, 300, 300, 300, 300, 300, 300, 300],
   "rt_us": [$(printf '200,%.0s' $(seq 89))200], "connections": 10,
   "errors": {"connect": 0, "timeout": 1, "reset": 0, "short": 0, "mismatch": 0, "unserved": 0}},
  {"clients": 1, "seconds": 1, "first_us": [], "rt_us": [100], "connections": 0,
   "errors": {"connect": 0, "timeout": 0, "reset": 0, "short": 0, "mismatch": 0, "unserved": 0}}],
 "lag_us": [10, 20, 3000],
 "samples": [[0, 2, 2, 0], [0.5, 2, 1, 1], [1.0, 2, 1, 1], [1.5, 8, 0, 8], [2.0, 8, 0, 8],
             [2.5, 8, 0, 8], [3.0, 8, 0, 8], [3.5, 4, 3, 1], [4.0, 3, 2, 1]],
 "sample_failures": 0, "round_trips": 20, "think": 0.05, "size": 64}
JSON
}

@test "burst: a pool's block, its chart, and the adaptive verdict against fixed MAX" {
	local a="$BATS_TEST_TMPDIR/adaptive.json" f="$BATS_TEST_TMPDIR/fixed.json"
	burst_json "$a" 5000
	burst_json "$f" 300
	run_ok benchstat burst-row "adaptive (--workers 2..8)" "$a" --max-workers 8
	assert_eq "${lines[0]}" "adaptive (--workers 2..8)"
	# 100 requests in the burst: 90 x 200, 8 x 300, 2 x 5000 us -> p99 5000 us
	assert_contains "${lines[3]}" "  8 x 2 s          10    200 us    200 us    300 us   5.00 ms   5.00 ms       1 (timeout 1)"
	assert_eq "${lines[5]}" "  pool: 2 to 8 workers; 8 workers reached 0.50 s after the jump; at the end 3 workers (2 idle); client timer lag p99 3.00 ms"
	run_ok benchstat burst-row "fixed 2" "$a" --max-workers 2
	assert_contains "$output" "; at most 2 of the 8 workers needed;"
	run_ok benchstat burst-chart "$a" --every 0.5
	assert_eq "${lines[1]}" "    0.00       1       2  .."
	assert_eq "${lines[2]}" "    0.50       1       2  #."
	assert_eq "${lines[3]}" "    1.00       8       2  #."
	assert_eq "${lines[4]}" "    1.50       8       8  ########"
	# the rows at 2.0 and 2.5 s repeat the one before: folded
	assert_eq "${lines[5]}" "     ..."
	assert_eq "${lines[6]}" "    3.00       1       8  ########"
	assert_eq "${lines[-1]}" "    4.00       1       3  #.."
	run_ok benchstat burst-verdict --fixed-max "$f" --adaptive "$a" --min 2 --max 8
	assert_eq "${lines[0]}" "adaptive p99 during the burst 5.00 ms, fixed 8 300 us: 16.67 x, target <= 1.5 x: MISSED"
	assert_eq "${lines[1]}" "adaptive workers at the end 3, target <= 4 (MIN + 2): met"
	run_ok benchstat burst-verdict --fixed-max "$f" --adaptive "$f" --min 1 --max 8
	assert_contains "${lines[0]}" ": 1.00 x, target <= 1.5 x: met"
	assert_eq "${lines[1]}" "adaptive workers at the end 3, target <= 3 (MIN + 2): met"
	run_ok benchstat burst-verdict --fixed-max "$f" --min 2 --max 8
	assert_contains "$output" "adaptive pool: not available in this build"
}
