#!/usr/bin/env bash
# CLI behaviour of the clgan binary, as TAP: exit codes and messages for bad
# input, and a small real run end to end (outputs, sample, corrupt checkpoint).
# usage: test_cli.sh CLGAN_BINARY SOURCE_ROOT
set -u
clgan=$1
root=$2
tiny=$root/tests/configs/tiny.yaml
tiny_plain=$root/tests/configs/tiny-plain.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$work/err" | head -20; }

# expect NAME EXIT_CODE NEEDLE -- COMMAND...: runs COMMAND, checks its exit
# code and that stderr (or stdout) contains NEEDLE.
expect() {
  local name=$1 code=$2 needle=$3
  shift 4
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    echo "exit code $rc, expected $code" >>"$work/err"
    not_ok "$name"
  elif ! grep -qF -- "$needle" "$work/err" "$work/out"; then
    echo "output lacks: $needle" >>"$work/err"
    not_ok "$name"
  else
    ok "$name"
  fi
}

has_device=1
OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-} "$clgan" devices >/dev/null 2>&1 || has_device=0

# --- help and version
expect "clgan --help" 0 "usage: clgan COMMAND" -- "$clgan" --help
expect "clgan --version" 0 "clgan " -- "$clgan" --version
expect "train --help" 0 "--set KEY=VALUE" -- "$clgan" train --help
expect "sample --help" 0 "usage: clgan sample" -- "$clgan" sample --help
expect "devices --help" 0 "usage" -- "$clgan" devices --help
expect "check --help" 0 "usage: clgan check" -- "$clgan" check --help
expect "no command" 2 "usage" -- "$clgan"
expect "unknown command" 2 "unknown command 'trian'" -- "$clgan" trian

# --- bad flags
expect "unknown train flag" 2 "unknown option '--epochs'" -- "$clgan" train "$tiny" --epochs 3
expect "missing flag value" 2 "needs a value" -- "$clgan" train "$tiny" --out
expect "bad backend" 2 "--backend must be 'opencl' or 'ref'" -- "$clgan" train "$tiny" --backend cuda
expect "no config" 2 "no CONFIG" -- "$clgan" train --backend ref
expect "unknown devices flag" 2 "unknown option '--x'" -- "$clgan" devices --x
expect "unknown check flag" 2 "unknown option '--full'" -- "$clgan" check --full
expect "sample without -n" 2 "-n N is required" -- "$clgan" sample "$work/x.clgan"
expect "sample bad -n" 2 "whole number" -- "$clgan" sample "$work/x.clgan" -n ten

# --- bad configs and overrides
expect "missing config file" 2 "cannot read config" -- "$clgan" train "$work/nope.yaml" --backend ref
printf 'train:\n  batch_size: [1\n' >"$work/syntax.yaml"
expect "YAML syntax error has file:line:col" 2 "syntax.yaml:" -- "$clgan" train "$work/syntax.yaml"
printf 'train:\n  batchsize: 10\n' >"$work/typo.yaml"
expect "unknown key suggests the right one" 2 "batch_size" -- "$clgan" train "$work/typo.yaml"
printf 'train:\n  batch_size: 0\n' >"$work/zero.yaml"
expect "batch size 0 is out of range" 2 "train.batch_size" -- "$clgan" train "$work/zero.yaml"
printf 'data:\n  std: -1\n' >"$work/std.yaml"
expect "negative std is out of range" 2 "data.std" -- "$clgan" train "$work/std.yaml"
expect "bad --set key" 2 "train.epoch" -- "$clgan" train "$tiny" --set train.epoch=3
expect "bad --set value" 2 "train.epochs" -- "$clgan" train "$tiny" --set train.epochs=abc
expect "--set without =" 2 "train.epochs" -- "$clgan" train "$tiny" --set train.epochs
expect "bad --seed" 2 "train.seed" -- "$clgan" train "$tiny" --seed -4
expect "duplicate run names" 2 "same name" -- "$clgan" train "$tiny" "$tiny" --backend ref

# --- device selection
if [ "$has_device" = 1 ]; then
  expect "devices lists 0:0" 0 "0:0" -- "$clgan" devices
  expect "device that does not exist" 2 "9:9" -- "$clgan" train "$tiny" --device 9:9 --out "$work/r"
  expect "device name that matches nothing" 2 "no-such-gpu" -- \
    "$clgan" train "$tiny" --device no-such-gpu --out "$work/r"
  expect "CLGAN_DEVICE is honoured" 2 "CLGAN_DEVICE" -- \
    env CLGAN_DEVICE=7:7 "$clgan" train "$tiny" --out "$work/r"
else
  for t in "devices lists 0:0" "device that does not exist" "device name that matches nothing" \
    "CLGAN_DEVICE is honoured"; do
    n=$((n + 1)); echo "ok $n - $t # SKIP no OpenCL device"
  done
fi
expect "no OpenCL driver at all" 1 "ICD" -- env OCL_ICD_VENDORS="$work/none" "$clgan" devices

# --- a real run, on the ref backend (always available)
out=$work/runs
expect "train two configs" 0 "comparison" -- \
  "$clgan" train "$tiny" "$tiny_plain" --backend ref --out "$out" --seed 3
missing=""
for f in tiny/config.yaml tiny/history.csv tiny/metrics.json tiny/densities.csv tiny/plot.png \
  tiny/checkpoint.clgan tiny-plain/metrics.json comparison.png summary.md; do
  [ -s "$out/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "run writes every output"; else
  echo "missing:$missing" >"$work/err"; not_ok "run writes every output"; fi
if grep -q '"w1"' "$out/tiny/metrics.json" && grep -q 'seed: 3' "$out/tiny/config.yaml" &&
  [ "$(grep -c . "$out/tiny/history.csv")" -ge 4 ] && grep -q 'tiny-plain' "$out/summary.md"; then
  ok "outputs hold the metrics, the resolved seed, history rows and the summary"
else
  cp "$out/tiny/config.yaml" "$work/err"; not_ok "outputs hold the metrics, the resolved seed, history rows and the summary"
fi
if ls "$out"/tiny/*.tmp >/dev/null 2>&1; then
  echo "temporary files left" >"$work/err"; not_ok "no temporary files left"
else ok "no temporary files left"; fi
expect "resolved config loads again" 0 "W1" -- \
  "$clgan" train "$out/tiny/config.yaml" --backend ref --out "$work/again" --set name=again -q

expect "sample 25 values" 0 "" -- "$clgan" sample "$out/tiny/checkpoint.clgan" -n 25 --backend ref -q
if [ "$(grep -cE '^-?[0-9.]+(e[-+]?[0-9]+)?$' "$work/out")" = 25 ]; then ok "sample prints 25 numbers"; else
  cp "$work/out" "$work/err"; not_ok "sample prints 25 numbers"; fi
head -c 300 "$out/tiny/checkpoint.clgan" >"$work/cut.clgan"
expect "truncated checkpoint is refused" 2 "cut.clgan" -- \
  "$clgan" sample "$work/cut.clgan" -n 3 --backend ref
echo "not a checkpoint" >"$work/junk.clgan"
expect "foreign file is refused" 2 "not a clgan checkpoint" -- \
  "$clgan" sample "$work/junk.clgan" -n 3 --backend ref

# --- resume, interruption and divergence, on the ref backend
rs=$work/resume
expect "train the whole run" 0 "W1" -- "$clgan" train "$tiny" --backend ref --out "$rs/whole" -q
expect "train half of it" 0 "30 steps" -- \
  "$clgan" train "$tiny" --backend ref --out "$rs/half" -q --set train.max_steps=30
half=$rs/half/tiny/checkpoint.clgan
cp "$half" "$work/half.clgan"
cp "$rs/half/tiny/history.csv" "$work/half.csv"
expect "resume with another seed is refused" 2 "train.seed is 42 in the checkpoint and 3 now" -- \
  "$clgan" train --resume "$half" --seed 3 --set train.max_steps=60
expect "resume past the run's end is refused" 2 "past the end of this run" -- \
  "$clgan" train --resume "$half" --set train.max_steps=20
expect "resume of a truncated checkpoint is refused" 2 "truncated" -- \
  "$clgan" train --resume "$work/cut.clgan"
expect "resume takes at most one CONFIG" 2 "at most one CONFIG" -- \
  "$clgan" train --resume "$half" "$tiny" "$tiny_plain"
if cmp -s "$half" "$work/half.clgan" && cmp -s "$rs/half/tiny/history.csv" "$work/half.csv" &&
  ! ls "$rs"/half/tiny/*.tmp >/dev/null 2>&1; then ok "a refused resume changes nothing"; else
  echo "the half run's files changed" >"$work/err"; not_ok "a refused resume changes nothing"; fi
expect "resume with a CONFIG into another folder" 0 "60 steps" -- \
  "$clgan" train "$tiny" --resume "$half" --backend ref --out "$rs/other" -q
expect "resume in place to the end" 0 "60 steps" -- \
  "$clgan" train --resume "$half" --set train.max_steps=60 -q
same_run() { # same_run NAME DIR_A DIR_B: checkpoint and history bit for bit, metrics but timing
  if cmp "$2/checkpoint.clgan" "$3/checkpoint.clgan" >"$work/err" 2>&1 &&
    cmp "$2/history.csv" "$3/history.csv" >>"$work/err" 2>&1 &&
    diff <(grep -v '_s"' "$2/metrics.json") <(grep -v '_s"' "$3/metrics.json") >>"$work/err"; then
    ok "$1"; else not_ok "$1"; fi
}
same_run "resumed in place = uninterrupted (checkpoint, history, metrics)" "$rs/whole/tiny" "$rs/half/tiny"
same_run "resumed with a CONFIG = uninterrupted" "$rs/whole/tiny" "$rs/other/tiny"

# A long run stopped by a signal: exit 128 + signal, a checkpoint that
# loads, and a resume that ends where an unstopped run of as many steps ends.
# bg_train DIR: starts a long run in the background (job control on, so
# SIGINT is not ignored) and waits until its training loop runs.
bg_train() {
  set -m
  "$clgan" train "$tiny" --backend ref --out "$1" -q --set train.epochs=100000 \
    --set train.max_steps=0 >"$work/out" 2>"$work/err" &
  pid=$!
  set +m
  for _ in $(seq 1 200); do [ -e "$1/tiny/history.csv.tmp" ] && break; sleep 0.05; done
  sleep 1
}
for sig in TERM INT; do
  code=143; [ "$sig" = INT ] && code=130
  bg_train "$rs/sig$sig"
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  if [ "$rc" = "$code" ] && grep -q "interrupted at step .*resume with: clgan train --resume" "$work/err"
  then ok "SIG$sig stops with $code and says how to resume"; else
    echo "exit code $rc, expected $code" >>"$work/err"; not_ok "SIG$sig stops with $code and says how to resume"; fi
done
stopped=$(sed -n 's/.*interrupted at step \([0-9]*\) .*/\1/p' "$work/err")
end=$((${stopped:-0} + 50))
expect "the interrupted run's checkpoint loads" 0 "" -- \
  "$clgan" sample "$rs/sigINT/tiny/checkpoint.clgan" -n 3 -q
expect "resume after SIGINT completes" 0 "$end steps" -- \
  "$clgan" train --resume "$rs/sigINT/tiny/checkpoint.clgan" --set train.max_steps=$end -q
expect "the same run without a stop" 0 "$end steps" -- "$clgan" train "$tiny" --backend ref \
  --out "$rs/nostop" -q --set train.epochs=100000 --set train.max_steps=$end
same_run "stopped at step ${stopped:-?} and resumed = never stopped" "$rs/nostop/tiny" "$rs/sigINT/tiny"

expect "a diverging run names the step and the network" 1 \
  "training diverged at step 20: generator weights are not finite" -- \
  "$clgan" train "$tiny" --backend ref --out "$rs/nan" --set train.optimizer.lr=1e30 -q
if [ ! -e "$rs/nan/tiny/checkpoint.clgan" ] && [ -s "$rs/nan/tiny/history.csv" ]; then
  ok "a diverged run writes no checkpoint from bad state"; else
  echo "checkpoint written or history missing" >"$work/err"
  not_ok "a diverged run writes no checkpoint from bad state"; fi

# --- the same run on the OpenCL device
if [ "$has_device" = 1 ]; then
  expect "train on the OpenCL device" 0 "W1" -- "$clgan" train "$tiny" --out "$work/cl" -q
  expect "sample on the OpenCL device" 0 "" -- "$clgan" sample "$work/cl/tiny/checkpoint.clgan" -n 5 -q
  expect "train half on the OpenCL device" 0 "30 steps" -- \
    "$clgan" train "$tiny" --out "$work/clhalf" -q --set train.max_steps=30
  expect "resume on the OpenCL device" 0 "60 steps" -- \
    "$clgan" train --resume "$work/clhalf/tiny/checkpoint.clgan" --set train.max_steps=60 -q
  same_run "resumed on the OpenCL device = uninterrupted" "$work/cl/tiny" "$work/clhalf/tiny"
else
  for t in "train on the OpenCL device" "sample on the OpenCL device" \
    "train half on the OpenCL device" "resume on the OpenCL device" \
    "resumed on the OpenCL device = uninterrupted"; do
    n=$((n + 1)); echo "ok $n - $t # SKIP no OpenCL device"
  done
fi

# --- the conformance check on the OpenCL device (the large MBD case is
# skipped: test_check runs the full check)
if [ "$has_device" = 1 ]; then
  expect "check --quick passes on the OpenCL device" 0 "checks passed" -- "$clgan" check --quick
  expect "check on a device that does not exist" 2 "9:9" -- "$clgan" check --quick --device 9:9
else
  for t in "check --quick passes on the OpenCL device" "check on a device that does not exist"; do
    n=$((n + 1)); echo "ok $n - $t # SKIP no OpenCL device"
  done
fi

# --- no stale or half outputs, and bad input found before training
stale=$work/stale
"$clgan" train "$tiny" --backend ref --out "$stale" -q >/dev/null 2>&1
expect "a diverging rerun fails" 1 "diverged" -- \
  "$clgan" train "$tiny" --backend ref --out "$stale" -q --set train.optimizer.lr=1e30
if [ -e "$stale/tiny/metrics.json" ] || [ -e "$stale/tiny/plot.png" ] ||
  [ -e "$stale/tiny/checkpoint.clgan" ]; then
  ls "$stale/tiny" >"$work/err"; not_ok "a failed rerun leaves no older results beside it"
else ok "a failed rerun leaves no older results beside it"; fi
printf 'name: bad-device\ndevice:\n  backend: opencl\n  select: no-such-gpu\n' >"$work/baddev.yaml"
if [ "$has_device" = 1 ]; then
  expect "a bad device in the last config stops before the first run" 2 "baddev.yaml" -- \
    "$clgan" train "$tiny" "$work/baddev.yaml" --out "$work/bd" -q
  if [ -e "$work/bd/tiny" ]; then
    echo "first run trained" >"$work/err"; not_ok "nothing trained before the device error"
  else ok "nothing trained before the device error"; fi
else
  for t in "a bad device in the last config stops before the first run" \
    "nothing trained before the device error"; do
    n=$((n + 1)); echo "ok $n - $t # SKIP no OpenCL device"
  done
fi
expect "eval.range without the target is refused up front" 2 "eval.range" -- \
  "$clgan" train "$tiny" --backend ref --out "$work/er" --set "eval.range=[100, 101]"
expect "sample count must be digits" 2 "whole number" -- \
  "$clgan" sample "$out/tiny/checkpoint.clgan" -n " -1" --backend ref
expect "sample reports a failed write" 1 "standard output" -- \
  sh -c "\"\$0\" sample \"\$1\" -n 100000 --backend ref -q > /dev/full" "$clgan" "$out/tiny/checkpoint.clgan"
expect "short option cluster names the bad option" 2 "unknown option '-x'" -- \
  "$clgan" train "$tiny" -qx
if [ "$has_device" = 1 ]; then
  expect "a dataset larger than the device is refused before allocating" 2 "does not fit" -- \
    "$clgan" train "$tiny" --out "$work/big" -q --set data.size=2000000000
  expect "a kernel build failure prints the options and the build log" 1 "CL_PROGRAM_BUILD_LOG" -- \
    env CLGAN_CL_BUILD_OPTIONS=-Dfloat=clgan_undefined_type "$clgan" train "$tiny" --out "$work/bf" -q
  if grep -qF -- "-cl-std=CL1.2 -Dfloat=clgan_undefined_type" "$work/err"; then
    ok "the build failure names the options"
  else not_ok "the build failure names the options"; fi
else
  for t in "a dataset larger than the device is refused" "a kernel build failure prints the log" \
    "the build failure names the options"; do
    n=$((n + 1)); echo "ok $n - $t # SKIP no OpenCL device"
  done
fi

echo "1..$n"
[ "$failed" = 0 ]
