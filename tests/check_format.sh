#!/usr/bin/env bash
# Fails when a C++ file of the project differs from what clang-format makes of it with the
# repository's .clang-format (the house style). Fix with: clang-format -i <files it names>.
#
#   tests/check_format.sh [REPO_DIR]     (ctest: format, label unit)
set -uo pipefail
ROOT="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$ROOT" || exit 2
if ! command -v clang-format >/dev/null 2>&1; then
  echo "check_format: clang-format not found (apt-get install clang-format)" >&2
  exit 2
fi
mapfile -t FILES < <(find src bench fuzz tests -path '*/node_modules' -prune -o \( -name '*.cc' -o -name '*.h' \) -print | sort)
bad=()
for f in "${FILES[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "check_format: ${#bad[@]} of ${#FILES[@]} files differ from clang-format's layout:"
  printf '  %s\n' "${bad[@]}"
  echo "fix: clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: ${#FILES[@]} files formatted"
