#!/usr/bin/env bash
# Validates the container files without a container engine (none runs on the build machines):
#
#   1. docker-compose.yml: `docker-compose config` (Debian 12's docker-compose 1.29, which checks
#      the file against the Compose schema), then the rendered file: every environment variable
#      of the chromahouse service is one the server reads (src/config/config.cc), both services
#      share the ClickHouse credentials, depends_on waits for a healthy ClickHouse, health checks,
#      ports, the ClickHouse data volume, a pinned ClickHouse image; and, when the built server is
#      at hand, the server itself accepts that environment (its configuration is parsed and
#      validated; it is stopped before it could serve anything).
#   2. Dockerfile: the build stage installs exactly the Makefile's APT_PACKAGES minus the ones
#      listed in NOT_IN_IMAGE_BUILD below (with the reason for each); the runtime stage installs no
#      -dev package, installs curl for its HEALTHCHECK, runs as a non-root user, EXPOSEs 8000 and
#      starts `chromahouse run`; every package of both stages exists in Debian 12 (apt-cache; skipped
#      when the apt lists are missing or this is not Debian 12); every shared library the built
#      server links comes from a package of the runtime stage (or of the base image).
#   3. .dockerignore keeps build trees, node_modules and .git out of the build context.
#
# Usage (from anywhere; ctest runs it as `docker_validate`):
#   tests/docker/validate.sh [--binary build/chromahouse]
# --binary defaults to build/chromahouse when it exists; without a binary, the checks that need
# one are skipped. Exit status 0 when every check passed, 1 otherwise (each problem is printed as
# a FAIL line, the last line counts them).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

BINARY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || { echo "validate.sh: --binary needs a path" >&2; exit 2; }
              BINARY="$2"; shift 2 ;;
    --binary=*) BINARY="${1#--binary=}"; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "validate.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$BINARY" ] && [ -x "$ROOT/build/chromahouse" ]; then BINARY="$ROOT/build/chromahouse"; fi

# Packages of the Makefile's APT_PACKAGES that the Dockerfile's build stage does not install,
# each with its reason. A package added to the Makefile must go either into the build stage or
# here; an entry here that the Makefile no longer lists is reported (as a note) to be removed.
NOT_IN_IMAGE_BUILD=(
  libgtest-dev          # unit and integration tests (the image configures CHROMAHOUSE_BUILD_TESTS=OFF)
  libgmock-dev          # unit tests
  clickhouse-server     # integration tests and the embedded mode; in containers ClickHouse is its own service
  clickhouse-client     # integration tests
  zookeeper             # the ClickHouse cluster test (tests/cluster)
  postgresql-15         # catalog tests start their own PostgreSQL; in containers PostgreSQL is its own service
  clang                 # libFuzzer targets (make fuzz)
  libclang-rt-14-dev    # libFuzzer runtime (make fuzz)
  llvm                  # llvm-symbolizer for sanitizer reports (make asan, make fuzz)
  libhnswlib-dev        # the hnswlib baseline of index_bench (make bench); the image builds only chromahouse
  docker-compose        # this test
  git                   # a development tool; the build does not call it
  curl                  # developers' and tests' HTTP client (the runtime stage has its own, for the health check)
  ca-certificates       # HTTPS for developers' tools; the build downloads nothing
  procps                # ps, pkill, free for developers and the tests
  uuid-dev              # not linked by anything (src/common/uuid.cc makes UUIDs itself)
)
# Packages every Debian 12 image has (libc6 depends on libgcc-s1): the runtime stage need not name them.
BASE_IMAGE_PACKAGES=(libc6 libgcc-s1)

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok:   $*"; }
skip() { echo "skip: $*"; }
note() { echo "note: $*"; }
section() { echo; echo "== $*"; }
indent() { sed 's/^/      /'; }

# Words of stdin (blank- or newline-separated), one per line, sorted, unique.
sorted_words() { tr -s ' \t' '\n' | sed '/^$/d' | LC_ALL=C sort -u; }
# The lines of $1 as one space-separated line.
join_words() { sorted_words <<<"$1" | paste -sd ' ' -; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/chromahouse-docker-validate.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

for f in docker-compose.yml Dockerfile .dockerignore Makefile src/config/config.cc; do
  [ -f "$f" ] || { echo "FAIL: $ROOT/$f is missing"; echo "1 problem(s)"; exit 1; }
done

# ---------------------------------------------------------------------------------------------
section "docker-compose.yml"

# A Python with PyYAML for reading the rendered file (docker-compose itself depends on one).
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' >/dev/null 2>&1; then PY="$p"; break; fi
done

COMPOSE=()
if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
fi

# Renders the file with a clean environment: only the given NAME=value pairs are set, and an
# empty --env-file keeps a developer's .env out of the result.
: >"$TMP/empty.env"
render() {
  env -i PATH="$PATH" HOME="$TMP" "$@" \
    "${COMPOSE[@]}" --env-file "$TMP/empty.env" -f "$ROOT/docker-compose.yml" \
    --project-directory "$ROOT" config
}

# Environment variables the server reads: every CHROMA_*/CHROMAHOUSE_* name in the settings table
# (with the older aliases) and CHROMAHOUSE_CONFIG (read by main.cc).
KNOWN_ENV="$(grep -ohE '"CHROMA(HOUSE)?_[A-Z0-9_]+"' src/config/config.cc src/server/main.cc |
  tr -d '"' | LC_ALL=C sort -u | tr '\n' ' ')"
if [ -z "$KNOWN_ENV" ]; then fail "found no environment variable names in src/config/config.cc"; fi

rendered=0
if [ ${#COMPOSE[@]} -eq 0 ]; then
  fail "docker-compose not found: apt-get install docker-compose (listed in the Makefile's APT_PACKAGES)"
else
  echo "using: $("${COMPOSE[@]}" version 2>/dev/null | head -n 1)"
  if out="$(env -i PATH="$PATH" HOME="$TMP" "${COMPOSE[@]}" --env-file "$TMP/empty.env" \
              -f "$ROOT/docker-compose.yml" --project-directory "$ROOT" config -q 2>&1)"; then
    ok "${COMPOSE[*]} config -q accepts docker-compose.yml"
  else
    fail "${COMPOSE[*]} config -q rejects docker-compose.yml:"; indent <<<"$out"
  fi
  if render >"$TMP/default.yml" 2>"$TMP/render.err"; then
    rendered=1
    if [ -s "$TMP/render.err" ]; then
      fail "rendering docker-compose.yml with no variables set prints warnings:"
      indent <"$TMP/render.err"
    fi
  else
    fail "cannot render docker-compose.yml:"; indent <"$TMP/render.err"
  fi
  # The same with the variables a deployment sets (.env), to check they reach both services.
  if render CLICKHOUSE_USER=validate_user CLICKHOUSE_PASSWORD=validate-password \
        CHROMA_SERVER_AUTHN_PROVIDER=token CHROMA_SERVER_AUTHN_CREDENTIALS=validate-token \
        >"$TMP/custom.yml" 2>"$TMP/render.err"; then :; else
    fail "cannot render docker-compose.yml with CLICKHOUSE_USER/PASSWORD set:"
    indent <"$TMP/render.err"; rendered=0
  fi
fi

if [ "$rendered" = 1 ] && [ -z "$PY" ]; then
  fail "no python3 with PyYAML (python3-yaml, a dependency of docker-compose) to read the rendered file"
elif [ "$rendered" = 1 ]; then
  # Prints "ok: ..." / "FAIL: ..." lines and "ENV\tNAME=value" lines for the server check below.
  "$PY" - "$TMP/default.yml" "$TMP/custom.yml" "$KNOWN_ENV" >"$TMP/compose-checks.txt" <<'PYEOF'
import re, sys, yaml

default_file, custom_file, known = sys.argv[1], sys.argv[2], set(sys.argv[3].split())
out = []
def ok(msg): out.append("ok:   " + msg)
def fail(msg): out.append("FAIL: " + msg)

def load(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}

def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):  # NAME=value list form
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}

def hc_words(service):  # the words of the check, also of a CMD-SHELL string
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        test = [test]
    return " ".join(str(w) for w in (test or [])).split()

doc = load(default_file)
services = doc.get("services") or {}
for name in ("clickhouse", "chromahouse"):
    if name not in services:
        fail(f"no service '{name}'")
if "clickhouse" not in services or "chromahouse" not in services:
    print("\n".join(out)); sys.exit(0)
ch, app = services["clickhouse"], services["chromahouse"]
app_env = env_of(app)

# 1. Every variable of the chromahouse service is one the server reads.
unknown = sorted(k for k in app_env if k not in known)
if unknown:
    fail("chromahouse service sets environment variables the server does not read "
         f"(src/config/config.cc): {', '.join(unknown)}")
else:
    ok(f"the chromahouse service's {len(app_env)} environment variables are all read by the server")

# 2. The server talks to the clickhouse service over HTTP, with the credentials ClickHouse gets.
url = app_env.get("CHROMAHOUSE_CLICKHOUSE_URL", "")
m = re.fullmatch(r"https?://([^/:]+):(\d+)/?", url)
if not m:
    fail(f"CHROMAHOUSE_CLICKHOUSE_URL is '{url}', expected http://<service>:<port>")
elif m.group(1) not in services or m.group(2) != "8123":
    fail(f"CHROMAHOUSE_CLICKHOUSE_URL {url} does not name the clickhouse service's HTTP port 8123")
else:
    ok(f"CHROMAHOUSE_CLICKHOUSE_URL={url}")

image = str(ch.get("image", ""))
tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
if not image.startswith("clickhouse/clickhouse-server"):
    fail(f"clickhouse service image is '{image}', expected the official clickhouse/clickhouse-server")
elif not re.fullmatch(r"\d+\.\d+(\.\d+)*(-alpine)?", tag):
    fail(f"clickhouse image '{image}' is not pinned to a release (e.g. :26.8)")
else:
    ok(f"clickhouse image {image}")

custom = load(custom_file).get("services", {})
for label, d in (("default", services), ("with CLICKHOUSE_USER/PASSWORD set", custom)):
    ce, ae = env_of(d["clickhouse"]), env_of(d["chromahouse"])
    pairs = [("CLICKHOUSE_USER", "CHROMAHOUSE_CLICKHOUSE_USER"),
             ("CLICKHOUSE_PASSWORD", "CHROMAHOUSE_CLICKHOUSE_PASSWORD")]
    bad = [f"{a}={ce.get(a)!r} vs {b}={ae.get(b)!r}" for a, b in pairs if ce.get(a) != ae.get(b)]
    if bad:
        fail(f"ClickHouse credentials differ between the services ({label}): {'; '.join(bad)}")
    elif not ce.get("CLICKHOUSE_PASSWORD"):
        fail(f"clickhouse service has no CLICKHOUSE_PASSWORD ({label}): the image would keep its "
             "default user to connections from inside its container")
    else:
        ok(f"both services use the same ClickHouse user and password ({label})")
cenv = env_of(custom["chromahouse"])
if cenv.get("CHROMAHOUSE_CLICKHOUSE_PASSWORD") != "validate-password" or \
   cenv.get("CHROMA_SERVER_AUTHN_PROVIDER") != "token":
    fail("variables set for docker-compose (CLICKHOUSE_PASSWORD, CHROMA_SERVER_AUTHN_PROVIDER) "
         "do not reach the chromahouse service unchanged")
else:
    ok("variables from the shell / .env reach the chromahouse service unchanged")

# 3. Start order and health checks.
dep = app.get("depends_on") or {}
cond = dep.get("clickhouse", {}).get("condition") if isinstance(dep, dict) else None
if cond != "service_healthy":
    fail("chromahouse must depend on clickhouse with condition: service_healthy "
         f"(found {dep!r})")
else:
    ok("chromahouse starts once clickhouse is healthy")
chw = hc_words(ch)
if not chw or not any("8123/ping" in w for w in chw) and "clickhouse-client" not in " ".join(chw):
    fail(f"clickhouse healthcheck should probe :8123/ping or run clickhouse-client (found {chw})")
else:
    ok("clickhouse healthcheck: " + " ".join(chw))

# 4. chromahouse: port mapping, health check on the listen port, build from the Dockerfile.
port = app_env.get("CHROMA_PORT", "8000")
targets = []
for p in app.get("ports") or []:
    if isinstance(p, dict):
        targets.append((str(p.get("published", "")), str(p.get("target", ""))))
    else:
        parts = str(p).split("/")[0].split(":")
        targets.append((parts[-2] if len(parts) > 1 else "", parts[-1]))
if ("8000", port) not in targets:
    fail(f"chromahouse should publish 8000 -> {port} (CHROMA_PORT); ports: {targets}")
else:
    ok(f"chromahouse publishes 8000 -> {port}")
aw = hc_words(app)
if not aw or "curl" not in aw or not any(f":{port}/api/v2/healthcheck" in w for w in aw):
    fail(f"chromahouse healthcheck should curl :{port}/api/v2/healthcheck (found {aw})")
else:
    ok("chromahouse healthcheck: " + " ".join(aw))
build = app.get("build") or {}
if isinstance(build, str):
    build = {"context": build}
if not build or build.get("dockerfile", "Dockerfile") != "Dockerfile":
    fail(f"chromahouse should be built from the Dockerfile (build: {build!r})")
else:
    ok("chromahouse is built from the Dockerfile")

# 5. ClickHouse's data on a named volume.
vols = []
for v in ch.get("volumes") or []:
    if isinstance(v, dict):
        vols.append((v.get("type", "volume"), str(v.get("source", "")), str(v.get("target", ""))))
    else:
        parts = str(v).split(":")
        src, dst = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        vols.append(("bind" if src.startswith(("/", ".", "~")) else "volume", src, dst))
data = [v for v in vols if v[2].rstrip("/") == "/var/lib/clickhouse"]
named = doc.get("volumes") or {}
if not data:
    fail("no volume for /var/lib/clickhouse in the clickhouse service")
elif data[0][0] == "volume" and data[0][1] not in named:
    fail(f"volume '{data[0][1]}' is not declared under the top-level volumes")
else:
    ok(f"ClickHouse data in {data[0][0]} '{data[0][1]}' -> /var/lib/clickhouse")

ul = ((ch.get("ulimits") or {}).get("nofile") or {})
soft = ul.get("soft") if isinstance(ul, dict) else ul
if not soft or int(soft) < 262144:
    fail(f"clickhouse ulimits.nofile should be 262144 as ClickHouse documents (found {ul!r})")
else:
    ok("clickhouse ulimits nofile 262144")

print("\n".join(out))
for k, v in sorted(app_env.items()):
    print(f"ENV\t{k}={v}")
PYEOF
  py_status=$?
  grep -v $'^ENV\t' "$TMP/compose-checks.txt"
  while IFS= read -r line; do
    case "$line" in FAIL:*) failures=$((failures + 1)) ;; esac
  done <"$TMP/compose-checks.txt"
  if [ "$py_status" -ne 0 ]; then fail "reading the rendered docker-compose.yml failed (status $py_status)"; fi

  # The server itself parses and validates that environment (configuration errors exit with status 2
  # at once, before anything else happens). Started with --port 0 in case a ClickHouse were
  # reachable under the service's name; stopped after 2-3 s, while it still waits for ClickHouse.
  if [ -z "$BINARY" ]; then
    skip "server check of the compose environment: no built server (build/chromahouse or --binary)"
  elif [ ! -x "$BINARY" ]; then
    fail "--binary $BINARY is not an executable"
  else
    mapfile -t app_env < <(sed -n 's/^ENV\t//p' "$TMP/compose-checks.txt")
    # Signals are blocked while the server waits for ClickHouse: timeout's SIGTERM is followed by
    # SIGKILL a second later.
    { env -i PATH="$PATH" "${app_env[@]}" timeout -k 1 2 "$BINARY" run --port 0 >"$TMP/server.out" 2>&1; } 2>/dev/null
    st=$?
    if [ "$st" -eq 2 ] || grep -q '^chromahouse: ' "$TMP/server.out"; then
      fail "the server rejects the chromahouse service's environment:"
      indent <"$TMP/server.out" | head -n 5
    else
      ok "the server accepts the chromahouse service's environment (${#app_env[@]} variables)"
    fi
  fi
fi

# ---------------------------------------------------------------------------------------------
section "Dockerfile"

# The Makefile's APT_PACKAGES, as make itself expands it (a one-line rule printing it is added
# from stdin; nothing else runs), else read with sed.
makefile_packages() {
  if command -v make >/dev/null 2>&1; then
    # shellcheck disable=SC2016  # $(APT_PACKAGES) is for make
    printf 'validate-print-apt-packages:\n\t@echo $(APT_PACKAGES)\n' |
      env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make -s --no-print-directory -f Makefile -f - validate-print-apt-packages 2>/dev/null &&
      return 0
  fi
  sed -n '/^APT_PACKAGES[[:space:]]*:\{0,1\}=/,/[^\\]$/p' Makefile |
    sed 's/^APT_PACKAGES[[:space:]]*:\{0,1\}=//; s/\\$//'
}
MAKE_PKGS="$(makefile_packages | sorted_words)"
if [ -z "$MAKE_PKGS" ]; then fail "could not read APT_PACKAGES from the Makefile"; fi

# The Dockerfile as logical instructions ("stage<TAB>INSTRUCTION<TAB>arguments"): continuation
# lines joined, comments dropped; stage counts the FROM lines from 1.
awk '
  /^[[:space:]]*#/ { next }
  {
    line = $0
    if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, " ", line); buf = buf line; next }
    buf = buf line
    gsub(/[[:space:]]+/, " ", buf); sub(/^ /, "", buf); sub(/ $/, "", buf)
    if (buf != "") {
      instr = toupper(buf); sub(/ .*/, "", instr)
      args = buf; sub(/^[^ ]+ ?/, "", args)
      if (instr == "FROM") stage++
      print stage "\t" instr "\t" args
    }
    buf = ""
  }' Dockerfile >"$TMP/dockerfile.tsv"

STAGES="$(awk -F'\t' '$2 == "FROM"' "$TMP/dockerfile.tsv" | wc -l)"
if [ "$STAGES" -lt 2 ]; then
  fail "the Dockerfile should have two stages (build, runtime); it has $STAGES"
fi
LAST="$STAGES"
stage_from() { awk -F'\t' -v s="$1" '$1 == s && $2 == "FROM" { print $3 }' "$TMP/dockerfile.tsv"; }
stage_args() { awk -F'\t' -v s="$1" -v i="$2" '$1 == s && $2 == i { print $3 }' "$TMP/dockerfile.tsv"; }
# Packages of the apt-get install commands of a stage (options and =version suffixes dropped).
stage_packages() {
  stage_args "$1" RUN | sed 's/&&/\n/g; s/||/\n/g; s/;/\n/g; s/|/\n/g' |
    awk '{
      for (i = 1; i <= NF; i++) if ($i == "apt-get" || $i == "apt") break
      for (j = i + 1; j <= NF && $j ~ /^-/; j++) ;
      if (i > NF || $j != "install") next
      for (k = j + 1; k <= NF; k++) if ($k !~ /^-/) { p = $k; sub(/=.*/, "", p); print p }
    }' | sorted_words
}

BUILD_FROM="$(stage_from 1)"; RUNTIME_FROM="$(stage_from "$LAST")"
case "${BUILD_FROM%% *}" in
  debian:12|debian:12@*|debian:bookworm|debian:bookworm@*) ok "build stage: FROM $BUILD_FROM" ;;
  *) fail "build stage should start FROM debian:12 (Debian 12, as the Makefile); found '$BUILD_FROM'" ;;
esac
case "${RUNTIME_FROM%% *}" in
  debian:12-slim*|debian:bookworm-slim*|debian:12|debian:12@*|debian:bookworm|debian:bookworm@*)
    ok "runtime stage: FROM $RUNTIME_FROM" ;;
  *) fail "runtime stage should start FROM debian:12-slim or debian:bookworm-slim; found '$RUNTIME_FROM'" ;;
esac

# Build stage packages = Makefile packages - NOT_IN_IMAGE_BUILD.
BUILD_PKGS="$(stage_packages 1)"
EXCLUDED="$(printf '%s\n' "${NOT_IN_IMAGE_BUILD[@]}" | sorted_words)"
EXPECTED="$(LC_ALL=C comm -23 <(echo "$MAKE_PKGS") <(echo "$EXCLUDED"))"
missing="$(LC_ALL=C comm -23 <(echo "$EXPECTED") <(echo "$BUILD_PKGS") | tr '\n' ' ')"
extra="$(LC_ALL=C comm -13 <(echo "$EXPECTED") <(echo "$BUILD_PKGS") | tr '\n' ' ')"
if [ -z "$BUILD_PKGS" ]; then
  fail "found no apt-get install in the Dockerfile's build stage"
elif [ -n "${missing// /}" ] || [ -n "${extra// /}" ]; then
  [ -z "${missing// /}" ] || fail "build stage lacks Makefile packages: $missing(install them in the Dockerfile, or list them in NOT_IN_IMAGE_BUILD in $0 with the reason)"
  [ -z "${extra// /}" ] || fail "build stage installs packages the Makefile does not list: $extra(the Makefile's APT_PACKAGES is the one list of Debian packages)"
else
  ok "build stage installs the Makefile's build packages: $(join_words "$BUILD_PKGS")"
fi
stale="$(LC_ALL=C comm -23 <(echo "$EXCLUDED") <(echo "$MAKE_PKGS") | tr '\n' ' ')"
[ -z "${stale// /}" ] || note "NOT_IN_IMAGE_BUILD names packages the Makefile does not list (remove them here): $stale"

build_run="$(stage_args 1 RUN)"
if grep -q 'cmake --preset release' <<<"$build_run" && grep -q -- '--target chromahouse' <<<"$build_run"; then
  ok "build stage: cmake --preset release, target chromahouse"
else
  fail "build stage should configure with 'cmake --preset release' and build '--target chromahouse'"
fi

# Runtime stage.
RUNTIME_PKGS="$(stage_packages "$LAST")"
dev="$(grep -E -- '-dev$' <<<"$RUNTIME_PKGS" | tr '\n' ' ')"
[ -z "$dev" ] || fail "runtime stage installs -dev packages: $dev"
grep -qx curl <<<"$RUNTIME_PKGS" || fail "runtime stage should install curl (its HEALTHCHECK uses it)"
[ -n "$RUNTIME_PKGS" ] && [ -z "$dev" ] && ok "runtime stage installs: $(join_words "$RUNTIME_PKGS")"

user="$(stage_args "$LAST" USER | tail -n 1)"
case "${user%%:*}" in
  ""|root|0) fail "runtime stage should switch to a non-root USER (found '${user:-none}')" ;;
  *) ok "runtime stage runs as user '$user'" ;;
esac
if stage_args "$LAST" EXPOSE | grep -qw 8000; then ok "EXPOSE 8000"; else fail "runtime stage should EXPOSE 8000"; fi
entry="$(stage_args "$LAST" ENTRYPOINT | tail -n 1)"
if [ "$(tr -d ' ' <<<"$entry")" = '["chromahouse","run"]' ]; then
  ok "ENTRYPOINT $entry"
else
  fail "ENTRYPOINT should be [\"chromahouse\", \"run\"] (found '$entry')"
fi
if stage_args "$LAST" CMD | tr -d ' ",' | grep -q -- '--host0.0.0.0' ||
   stage_args "$LAST" ENV | grep -q 'CHROMA_HOST=0.0.0.0'; then
  ok "the server listens on 0.0.0.0 in the container"
else
  fail "the runtime stage should run the server with --host 0.0.0.0 (CMD) or CHROMA_HOST=0.0.0.0"
fi
hc="$(stage_args "$LAST" HEALTHCHECK | tail -n 1)"
if grep -q curl <<<"$hc" && grep -q '/api/v2/healthcheck' <<<"$hc"; then
  ok "HEALTHCHECK curls /api/v2/healthcheck"
else
  fail "runtime stage should have a HEALTHCHECK that curls /api/v2/healthcheck (found '${hc:-none}')"
fi

# Packages of both stages exist in Debian 12.
debian12=0
if [ -r /etc/os-release ] && grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then debian12=1; fi
if ! command -v apt-cache >/dev/null 2>&1 || [ "$debian12" = 0 ]; then
  skip "package existence: this machine is not Debian 12 with apt-cache"
elif ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  skip "package existence: no apt lists (run apt-get update)"
else
  # One apt-cache call (it prints the records of the packages it knows, whatever the others).
  all_pkgs="$(printf '%s\n%s\n' "$BUILD_PKGS" "$RUNTIME_PKGS" | sorted_words)"
  mapfile -t all_pkgs_list <<<"$all_pkgs"
  found="$(apt-cache show --no-all-versions "${all_pkgs_list[@]}" 2>/dev/null |
    sed -n 's/^Package: //p' | sorted_words)"
  absent="$(LC_ALL=C comm -23 <(echo "$all_pkgs") <(echo "$found") | paste -sd ' ' -)"
  if [ -n "${absent// /}" ]; then
    fail "not in Debian 12's package lists: $absent"
  else
    ok "every package of both stages is in Debian 12 (${#all_pkgs_list[@]} packages)"
  fi
fi

# The built server's shared libraries (DT_NEEDED) come from runtime-stage or base-image packages.
if [ -z "$BINARY" ]; then
  skip "shared libraries: no built server (build/chromahouse or --binary)"
elif ! command -v dpkg >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1 ||
     ! command -v ldd >/dev/null 2>&1; then
  skip "shared libraries: needs dpkg, readelf and ldd"
elif [ ! -x "$BINARY" ]; then
  fail "--binary $BINARY is not an executable"
else
  needed="$(readelf -d "$BINARY" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')"
  allowed="$(printf '%s\n' "$RUNTIME_PKGS" "${BASE_IMAGE_PACKAGES[@]}" | sorted_words)"
  uncovered=""
  libs="$(ldd "$BINARY")"
  for lib in $needed; do
    path="$(echo "$libs" | awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 }')"
    if [ -z "$path" ] || [ "$path" = "not" ]; then uncovered="$uncovered $lib(not found by ldd)"; continue; fi
    pkg="$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null)"
    pkg="${pkg%%:*}"
    if [ -z "$pkg" ]; then uncovered="$uncovered $lib(no Debian package owns $path)"; continue; fi
    grep -qx "$pkg" <<<"$allowed" || uncovered="$uncovered $lib($pkg)"
  done
  if [ -n "$uncovered" ]; then
    fail "libraries of $BINARY that the runtime stage does not install:$uncovered"
  else
    ok "the runtime stage provides all $(wc -w <<<"$needed") shared libraries $BINARY links"
  fi
fi

# ---------------------------------------------------------------------------------------------
section ".dockerignore"
ignored="$(sed 's/#.*//; s/[[:space:]]*$//' .dockerignore | sed '/^$/d')"
lacking=""
for want in .git build 'build-*' '**/node_modules' bench/results; do
  grep -qxF -- "$want" <<<"$ignored" || lacking="$lacking $want"
done
if [ -n "$lacking" ]; then
  fail ".dockerignore should exclude:$lacking"
else
  ok ".dockerignore excludes .git, build trees, node_modules, bench/results"
fi

echo
if [ "$failures" -gt 0 ]; then
  echo "$failures problem(s) in the container files (docker-compose.yml, Dockerfile, .dockerignore)"
  exit 1
fi
echo "container files valid (not built or run: no container engine here)"
