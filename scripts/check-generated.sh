#!/usr/bin/env bash
# Fails when proto/gen differs from what `buf generate` produces from proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-generated: not a git checkout, skipped"; exit 0
fi
changes="$(git status --porcelain -- proto/gen)"
if [ -n "$changes" ]; then
  echo "proto/gen is out of date with proto/*.proto — run 'npm run generate' and commit:" >&2
  echo "$changes" >&2
  exit 1
fi
echo "proto/gen matches buf generate"
