#!/usr/bin/env bash
# A tiny benchmark run (small sizes, one to two minutes): proves `make bench` still runs.
# Needs the machine's PostgreSQL, redis-server and wrk, like `make bench`.
set -euo pipefail

make --no-print-directory .venv/bin/.installed-bench EXTRAS=bench
if ! command -v wrk >/dev/null; then
    echo "bench-smoke: wrk is not installed (apt-get install -y wrk)" >&2
    exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
timeout 150 .venv/bin/python -m benchmarks.run --quick --output "$out/benchmarks.md" >"$out/log" 2>&1 \
    || { cat "$out/log" >&2; exit 1; }
# Every section was measured and rendered.
for section in "## 1. Write path" "## 2. Read path" "## 3. End-to-end" "## 4. Many jobs" "## Targets"; do
    grep -qF "$section" "$out/benchmarks.md" || { echo "bench-smoke: no '$section'" >&2; exit 1; }
done
echo "bench-smoke: ok"
