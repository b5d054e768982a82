#!/bin/sh
# soak_workers.sh — the kill test of worker processes, for longer.
#
#   bench/soak_workers.sh [--build DIR] [--rounds N] [--minutes M] [--repeat K]
#
# Runs tests/workers_kill_check.py (the suite runs it with 20 rounds) with
# N rounds (default 300) within M minutes (default 60), K times (default
# 1), each time with a new daemon, state folder and seed: kill -9 of one
# worker, of every worker, of the daemon, at random moments, every job's
# hist.json compared byte for byte with an undisturbed `anafs run`'s, then
# the hostile section (tools/wire_peer).  Each run's output goes to
# soak-N.log in a folder under /tmp (printed); a failing run's seed is
# printed (ANAFS_KILL_SEED=SEED replays it).  Exit status: 0 when every run
# passed, 1 when one failed, 77 when the test skipped (no /dev/fuse).
#
# Bounded: each run ends within its --minutes (plus the test's own
# reference runs and its hostile section, under 10 minutes), and is
# killed past M + 15 minutes by timeout(1).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build"
rounds=300
minutes=60
repeat=1
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--minutes) minutes=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "soak_workers.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
for v in "$rounds" "$minutes" "$repeat"; do
	case "$v" in
	''|*[!0-9.]*) echo "soak_workers.sh: '$v' is not a number" >&2; exit 2 ;;
	esac
done
test=$here/tests/workers_kill_check.py
anafs=$build/anafs
peer=$build/tests/wire_peer
data=$here/../shared/data
for f in "$test" "$anafs" "$peer"; do
	if [ ! -e "$f" ]; then
		echo "soak_workers.sh: $f is missing (build first: make -C $build)" >&2
		exit 2
	fi
done
limit=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 900 }')
logs=$(mktemp -d /tmp/anafs-soak-XXXXXX)
echo "soak: $repeat run(s) of $rounds rounds within $minutes min each; logs in $logs"
failed=0
skipped=0
i=1
while [ "$i" -le "$repeat" ]; do
	seed=$((($(date +%s) + i * 7919) % 1000000))
	log=$logs/soak-$i.log
	t0=$(date +%s)
	ANAFS_KILL_SEED=$seed timeout -k 30 "$limit" /usr/bin/python3 "$test" \
		"$anafs" "$data" "$peer" --rounds "$rounds" --minutes "$minutes" >"$log" 2>&1
	rc=$?
	t1=$(date +%s)
	ran=$(grep -c '^round ' "$log" 2>/dev/null || true)
	case $rc in
	0) echo "run $i: passed in $((t1 - t0)) s, $ran kill rounds (seed $seed)" ;;
	77) echo "run $i: skipped: $(tail -1 "$log")"; skipped=1; break ;;
	124|137) echo "run $i: TIMED OUT after $((t1 - t0)) s (seed $seed): see $log"; failed=1 ;;
	*) echo "run $i: FAILED, status $rc, after $ran kill rounds (replay: ANAFS_KILL_SEED=$seed); see $log"
	   grep -E '^FAIL|Traceback' "$log" | cut -c1-300 | head -5
	   failed=1 ;;
	esac
	i=$((i + 1))
done
if [ "$failed" -ne 0 ]; then
	exit 1
fi
if [ "$skipped" -ne 0 ]; then
	exit 77
fi
exit 0
