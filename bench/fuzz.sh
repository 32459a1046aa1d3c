#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that takes outside input (SharpFuzz + afl++), outside tests/run.sh.
#   bash bench/fuzz.sh [seconds per target] [target…]     (default 60 s; targets: send address envelope data job dsn submission
#   webhook-url)
# Builds bench/fuzz/MailGateway.Fuzz, instruments the gateway's assemblies with SharpFuzz, runs afl-fuzz on each
# target for the budget from the seed corpus in bench/fuzz/corpus/<target>, replays what it found, runs the linear-time
# check on the seeds and prints per target: executions, corpus size, crashes, hangs. Findings stay under
# bench/fuzz/out/<target> (not in git); a crash input becomes a regression test in tests/ (RULES: before the fix).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(send address envelope data job dsn submission webhook-url)

command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: apt-get install afl++" >&2; exit 1; }
(cd bench/fuzz && dotnet tool restore >/dev/null)

work="bench/fuzz/out"
bin="$work/bin"     # instrumented, for afl-fuzz
plain="$work/plain" # not instrumented (instrumented code needs afl's shared memory): replay and the linear check
rm -rf "$bin" "$plain"
mkdir -p "$work"
echo "== building the fuzz targets"
dotnet build bench/fuzz/MailGateway.Fuzz -c Release -o "$plain" -nologo -v q >/dev/null
cp -r "$plain" "$bin"
echo "== instrumenting"
# MimeKit too: the dsn and submission targets are mostly its parser, which the coverage should see.
for dll in MailGateway.Core MailGateway.Api MailGateway.Listener MimeKit; do
  (cd bench/fuzz && dotnet sharpfuzz "../../$bin/$dll.dll" >/dev/null)
done

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1
status=0
summary=()
for target in "${targets[@]}"; do
  out="$work/$target"
  rm -rf "$out"
  echo "== $target: afl-fuzz for ${seconds}s"
  afl-fuzz -i "bench/fuzz/corpus/$target" -o "$out" -V "$seconds" -t 10000 -m none -- dotnet "$bin/MailGateway.Fuzz.dll" "$target" \
    >"$work/$target.log" 2>&1 || { echo "afl-fuzz failed for $target (see $work/$target.log)" >&2; tail -20 "$work/$target.log" >&2; status=1; continue; }
  stats="$out/default/fuzzer_stats"
  execs=$(sed -n 's/^execs_done *: *//p' "$stats")
  corpus=$(sed -n 's/^corpus_count *: *//p' "$stats")
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$out/default/hangs" -type f -name 'id:*' | wc -l)
  linear="linear"
  dotnet "$plain/MailGateway.Fuzz.dll" "$target" --linear "bench/fuzz/corpus/$target"/* >"$work/$target.linear" 2>&1 || { linear="SUPER-LINEAR"; status=1; }
  [ "$crashes" = 0 ] && [ "$hangs" = 0 ] || status=1
  summary+=("$(printf '%-11s %10s execs  corpus %5s  crashes %3s  hangs %3s  %s' "$target" "$execs" "$corpus" "$crashes" "$hangs" "$linear")")
  for f in "$out/default/crashes"/id:* "$out/default/hangs"/id:*; do
    [ -f "$f" ] && echo "   finding: $f"
  done
done
echo "== results (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
