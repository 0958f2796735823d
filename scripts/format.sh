#!/usr/bin/env bash
# Formats every C source and header of the project with the committed .clang-format.
# With --check, changes nothing and exits 1 if a file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
    clang-format --dry-run --Werror $files
else
    clang-format -i $files
fi
