#!/usr/bin/env bash
# Fails when a module includes a module listed after it in src/README.md (the module order: a
# module uses only modules listed before it). Unit tests (*_test.cc) may include any module.
#
#   tests/check_module_order.sh [SRC_DIR]     (ctest: module_order, label unit)
set -uo pipefail
SRC="${1:-$(cd "$(dirname "$0")/../src" && pwd)}"
# The order: the first column of src/README.md's module table.
mapfile -t ORDER < <(sed -n 's/^| `\([a-z_]*\)\/` |.*/\1/p' "$SRC/README.md")
if [ "${#ORDER[@]}" -lt 2 ]; then
  echo "check_module_order: no module table in $SRC/README.md" >&2
  exit 2
fi
declare -A RANK
for i in "${!ORDER[@]}"; do RANK[${ORDER[$i]}]=$i; done

problems=0
for module in "${ORDER[@]}"; do
  [ -d "$SRC/$module" ] || { echo "module $module/ is listed in src/README.md but missing"; problems=$((problems + 1)); continue; }
  while IFS= read -r -d '' file; do
    case "$file" in *_test.cc) continue ;; esac
    while IFS= read -r line; do
      used="${line#*\"}"
      used="${used%%/*}"
      [ -n "${RANK[$used]+x}" ] || continue
      if [ "${RANK[$used]}" -gt "${RANK[$module]}" ]; then
        echo "${file#"$SRC"/}: $module/ includes $used/, which src/README.md lists after it: $line"
        problems=$((problems + 1))
      fi
    done < <(grep -E '^#include "[a-z_]+/' "$file")
  done < <(find "$SRC/$module" -type f \( -name '*.h' -o -name '*.cc' \) -print0)
done
for dir in "$SRC"/*/; do
  name="$(basename "$dir")"
  [ -n "${RANK[$name]+x}" ] || { echo "src/$name/ is not in src/README.md's module table"; problems=$((problems + 1)); }
done
if [ "$problems" -gt 0 ]; then
  echo "module order: $problems problem(s)"
  exit 1
fi
echo "module order: ${#ORDER[@]} modules, every include points back up the order"
