#!/usr/bin/env bash
# The lock analysis is really on (make thread-safety): with the flags of the thread-safety
# preset (cmake/chromahouse.cmake), clang accepts guarded members touched under their locks and
# refuses the same code without them — for a plain Mutex and for a collection's data lock.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cxx=${CLANGXX:-clang++}
if ! command -v "$cxx" >/dev/null; then
  echo "thread_safety: $cxx is missing (make deps installs clang)"
  exit 1
fi
flags=(-std=c++20 -fsyntax-only -I"$root/src" -isystem /usr/include/postgresql -Wthread-safety
  -Wthread-safety-beta -Werror=thread-safety -Werror=thread-safety-beta)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

probe() {  # probe NAME LOCKED(1/0)
  local lock_line="" read_line=""
  if [ "$2" = 1 ]; then
    lock_line="MutexLock lock(mu_);"
    read_line="LoadedCollection::ReadLock read(c);"
  fi
  cat >"$tmp/$1.cc" <<CC
#include "collection/loaded_collection.h"
#include "common/mutex.h"
namespace chromahouse {
class Counter {
 public:
  void Add() { $lock_line ++n_; }
 private:
  Mutex mu_;
  int n_ GUARDED_BY(mu_) = 0;
};
size_t Size(const LoadedCollection& c) { $read_line return c.store().size(); }
}  // namespace chromahouse
CC
  "$cxx" "${flags[@]}" "$tmp/$1.cc" 2>"$tmp/$1.err"
}

if ! probe locked 1; then
  cat "$tmp/locked.err"
  echo "thread_safety: code holding its locks was refused"
  exit 1
fi
if probe unlocked 0; then
  echo "thread_safety: a guarded member written without its lock compiled: the analysis is off"
  exit 1
fi
for want in "writing variable 'n_' requires holding mutex 'mu_'" \
  "calling function 'store' requires holding mutex 'c.data_mu_'"; do
  if ! grep -q "$want" "$tmp/unlocked.err"; then
    cat "$tmp/unlocked.err"
    echo "thread_safety: expected the error: $want"
    exit 1
  fi
done
echo "thread_safety: locked code compiles, the two unlocked accesses are errors"
