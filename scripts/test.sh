#!/usr/bin/env bash
# Installs everything, checks the rules (layer contracts, lint, types of the pure core), then runs
# every test (unit and integration; integration needs root). Every step runs even when an earlier
# one fails, so one run shows everything; the exit status is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
failed=()
check() {  # check NAME COMMAND...: run it, remember a failure
  local name=$1
  shift
  echo "== $name: $*" >&2
  "$@" || failed+=("$name")
}
# lint-imports analyses the packages it imports: this checkout's, whatever .venv was installed from
check "import contracts" env PYTHONPATH="$PWD" .venv/bin/lint-imports  # [tool.importlinter] in pyproject.toml
check "ruff" .venv/bin/ruff check .                              # [tool.ruff]
check "mypy (pure core)" .venv/bin/mypy                          # [tool.mypy] files
echo "== pytest" >&2
.venv/bin/python -m pytest -ra "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  rc=1
fi
[ "$rc" = 0 ] || failed+=("pytest")
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  [ "$rc" = 0 ] && rc=1
fi
exit "$rc"
