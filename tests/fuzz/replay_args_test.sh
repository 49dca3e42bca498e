#!/usr/bin/env bash
# The replay driver's bad command lines (replay_main.cpp): each exits 2 with a one-line error naming
# the option or path. Usage: replay_args_test.sh FUZZ_BINARY CORPUS_DIR
set -uo pipefail
bin=$1
corpus=$2
fail=0
expect() {  # expect MESSAGE ARGS...
  local msg=$1
  shift
  local err rc
  err=$("$bin" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -ne 2 ] || ! grep -qF -- "$msg" <<<"$err" || [ "$(grep -c . <<<"$err")" -ne 1 ]; then
    echo "FAIL: $* -> exit $rc, stderr: $err (want exit 2 and one line with: $msg)"
    fail=1
  else
    echo "ok: $* -> $err"
  fi
}
expect "replay: --mutate: not a number >= 0: abc" --mutate abc "$corpus"
expect "replay: --seed: not a number >= 0: 12x" --seed 12x "$corpus"
expect "replay: --seed: not a number >= 0: -3" --seed -3 "$corpus"
expect "replay: --only: not a number >= 0: -1" --only -1 "$corpus"
expect "replay: --mutate: not a number >= 0: " --mutate "" "$corpus"
expect "replay: --only needs a value" "$corpus" --only
expect "replay: /nonexistent/x: no such file or folder" /nonexistent/x
expect "replay: no inputs given"
exit $fail
