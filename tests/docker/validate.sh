#!/usr/bin/env bash
# Validates the container files without a container engine (none runs on the build machines):
#
#   1. docker-compose.yml: `docker-compose config` (Debian 12's docker-compose 1.29, which checks
#      the file against the Compose schema), then the rendered file (with no variables set, and
#      with CLICKHOUSE_*/POSTGRES_*/auth variables set as in a .env). Its shape: a `clickhouse`
#      service, one PostgreSQL service (image postgres:N), chromahouse instances (every service
#      built from the Dockerfile or using image chromahouse:local) and one nginx gateway. For
#      every instance: each environment variable is one the server reads (src/config/config.cc),
#      CHROMAHOUSE_CLICKHOUSE_URL is the clickhouse service on 8123 with the credentials that
#      service gets, CHROMAHOUSE_CATALOG_URL is the PostgreSQL service on 5432 with the user,
#      password and database that service creates, depends_on waits for a healthy ClickHouse and
#      PostgreSQL, a health check, built from the Dockerfile, no published port. Across them: one
#      catalog URL, distinct CHROMAHOUSE_INSTANCE_IDs (0-255). ClickHouse and PostgreSQL: pinned
#      images, health checks, data on named volumes (and ClickHouse's ulimits). The gateway:
#      publishes 8000, waits for every instance, a pinned image, a health check, and the nginx
#      config it mounts read-only (read with regular expressions): proxy_pass to an upstream
#      that lists exactly the instances (service:CHROMA_PORT), listen on the published port,
#      keep-alive (keepalive, HTTP/1.1), client_max_body_size >= the server's body limit, proxy
#      timeouts >= 60 s, `resolve` only with a zone, a resolver and nginx >= 1.27.3. And, when
#      the built server is at hand, the server itself accepts each instance's environment (its
#      configuration is parsed and validated; it is stopped before it could serve anything).
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
  chromium              # the console's browser test (tests/e2e/console.test.mjs)
  clang-format          # the style check (tests/check_format.sh)
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
  # The same with the variables a deployment sets (.env), to check they reach every service.
  if render CLICKHOUSE_USER=validate_user CLICKHOUSE_PASSWORD=validate-password \
        POSTGRES_USER=validate_pg_user POSTGRES_PASSWORD=validate-pg-password \
        POSTGRES_DB=validate_pg_db \
        CHROMA_SERVER_AUTHN_PROVIDER=token CHROMA_SERVER_AUTHN_CREDENTIALS=validate-token \
        >"$TMP/custom.yml" 2>"$TMP/render.err"; then :; else
    fail "cannot render docker-compose.yml with CLICKHOUSE_*/POSTGRES_* set:"
    indent <"$TMP/render.err"; rendered=0
  fi
fi

if [ "$rendered" = 1 ] && [ -z "$PY" ]; then
  fail "no python3 with PyYAML (python3-yaml, a dependency of docker-compose) to read the rendered file"
elif [ "$rendered" = 1 ]; then
  # Prints "ok: ..." / "FAIL: ..." lines and "ENV\tSERVICE\tNAME=value" lines (one group per
  # chromahouse instance) for the server check below.
  "$PY" - "$TMP/default.yml" "$TMP/custom.yml" "$KNOWN_ENV" "$ROOT" >"$TMP/compose-checks.txt" <<'PYEOF'
import os, re, sys, yaml
from urllib.parse import urlsplit, unquote

default_file, custom_file, known, root = sys.argv[1], sys.argv[2], set(sys.argv[3].split()), sys.argv[4]
out = []
def ok(msg): out.append("ok:   " + msg)
def fail(msg): out.append("FAIL: " + msg)
def note(msg): out.append("note: " + msg)

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

def image_of(service):
    return str(service.get("image", "") or "")

def image_tag(image):
    last = image.split("/")[-1].split("@")[0]
    return last.rsplit(":", 1)[1] if ":" in last else ""

def build_of(service):
    build = service.get("build") or {}
    return {"context": build} if isinstance(build, str) else build

def ports_of(service):  # (published, target) pairs
    pairs = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            pairs.append((str(p.get("published", "")), str(p.get("target", ""))))
        else:
            parts = str(p).split("/")[0].split(":")
            pairs.append((parts[-2] if len(parts) > 1 else "", parts[-1]))
    return pairs

def volumes_of(service):  # (type, source, target, read_only)
    vols = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            vols.append((v.get("type", "volume"), str(v.get("source", "")),
                         str(v.get("target", "")), bool(v.get("read_only", False))))
        else:
            parts = str(v).split(":")
            src, dst = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
            mode = parts[2] if len(parts) > 2 else ""
            vols.append(("bind" if src.startswith(("/", ".", "~")) else "volume", src, dst,
                         "ro" in mode.split(",")))
    return vols

def depends_healthy(service, name):
    dep = service.get("depends_on") or {}
    return isinstance(dep, dict) and (dep.get(name) or {}).get("condition") == "service_healthy"

doc = load(default_file)
services = doc.get("services") or {}
named_volumes = doc.get("volumes") or {}

# The services, by what they run: chromahouse instances are built from the Dockerfile (or use its
# image, chromahouse:local); PostgreSQL and nginx by their official images.
def is_instance(s):
    b = build_of(s)
    return (bool(b) and b.get("dockerfile", "Dockerfile") == "Dockerfile") or \
        image_of(s).split(":")[0] == "chromahouse"
instances = sorted(n for n, s in services.items() if is_instance(s))
pg_names = sorted(n for n, s in services.items()
                  if re.fullmatch(r"(docker\.io/)?(library/)?postgres", image_of(s).split(":")[0]))
gw_names = sorted(n for n, s in services.items()
                  if re.fullmatch(r"(docker\.io/)?(library/)?nginx", image_of(s).split(":")[0]))
missing = []
if "clickhouse" not in services:
    missing.append("no service 'clickhouse'")
if not instances:
    missing.append("no chromahouse service (built from the Dockerfile, image chromahouse:local)")
if len(pg_names) != 1:
    missing.append(f"expected one PostgreSQL service (image postgres:<version>), found {pg_names}")
if len(gw_names) != 1:
    missing.append(f"expected one gateway service (image nginx:<version>), found {gw_names}")
for m in missing:
    fail(m)
if missing:
    print("\n".join(out)); sys.exit(0)
ch = services["clickhouse"]
pg_name, gw_name = pg_names[0], gw_names[0]
pg, gw = services[pg_name], services[gw_name]
ok(f"services: clickhouse, {pg_name} (catalog), {len(instances)} chromahouse instance(s) "
   f"({', '.join(instances)}), {gw_name} (nginx)")
custom = load(custom_file).get("services", {})

def postgres_login(pg_env):  # what the official image creates: user, password, database
    user = pg_env.get("POSTGRES_USER") or "postgres"
    return user, pg_env.get("POSTGRES_PASSWORD", ""), pg_env.get("POSTGRES_DB") or user

# ---- 1. Each chromahouse instance (what the single chromahouse service was checked for).
for name in instances:
    app = services[name]
    app_env = env_of(app)
    unknown = sorted(k for k in app_env if k not in known)
    if unknown:
        fail(f"{name} sets environment variables the server does not read "
             f"(src/config/config.cc): {', '.join(unknown)}")
    else:
        ok(f"{name}: its {len(app_env)} environment variables are all read by the server")

    # The server talks to the clickhouse service over HTTP, with the credentials ClickHouse gets.
    url = app_env.get("CHROMAHOUSE_CLICKHOUSE_URL", "")
    m = re.fullmatch(r"https?://([^/:]+):(\d+)/?", url)
    if not m:
        fail(f"{name}: CHROMAHOUSE_CLICKHOUSE_URL is '{url}', expected http://clickhouse:8123")
    elif m.group(1) != "clickhouse" or m.group(2) != "8123":
        fail(f"{name}: CHROMAHOUSE_CLICKHOUSE_URL {url} does not name the clickhouse service's "
             "HTTP port 8123")
    else:
        ok(f"{name}: CHROMAHOUSE_CLICKHOUSE_URL={url}")

    for label, d in (("default", services), ("with CLICKHOUSE_USER/PASSWORD set", custom)):
        ce, ae = env_of(d["clickhouse"]), env_of(d[name])
        pairs = [("CLICKHOUSE_USER", "CHROMAHOUSE_CLICKHOUSE_USER"),
                 ("CLICKHOUSE_PASSWORD", "CHROMAHOUSE_CLICKHOUSE_PASSWORD")]
        bad = [f"{a}={ce.get(a)!r} vs {b}={ae.get(b)!r}" for a, b in pairs if ce.get(a) != ae.get(b)]
        if bad:
            fail(f"ClickHouse credentials differ between clickhouse and {name} ({label}): "
                 f"{'; '.join(bad)}")
        elif not ce.get("CLICKHOUSE_PASSWORD"):
            fail(f"clickhouse service has no CLICKHOUSE_PASSWORD ({label}): the image would keep "
                 "its default user to connections from inside its container")
        else:
            ok(f"{name} uses clickhouse's user and password ({label})")

    # The catalog: the PostgreSQL service, on 5432, with the user, password and database it creates.
    for label, d in (("default", services), ("with POSTGRES_USER/PASSWORD/DB set", custom)):
        curl_ = env_of(d[name]).get("CHROMAHOUSE_CATALOG_URL", "")
        want = postgres_login(env_of(d[pg_name]))
        try:
            u = urlsplit(curl_)
            got_host, got_port = u.hostname, u.port or 5432
            got = (unquote(u.username or ""), unquote(u.password or ""), unquote(u.path.lstrip("/")))
        except ValueError as e:
            fail(f"{name}: CHROMAHOUSE_CATALOG_URL '{curl_}' is not a URL ({e}) ({label})")
            continue
        if not curl_:
            fail(f"{name} has no CHROMAHOUSE_CATALOG_URL: every instance of a deployment of "
                 f"several needs the PostgreSQL catalog ({label})")
        elif u.scheme not in ("postgresql", "postgres"):
            fail(f"{name}: CHROMAHOUSE_CATALOG_URL '{curl_}' should be postgresql://... ({label})")
        elif got_host != pg_name or got_port != 5432:
            fail(f"{name}: CHROMAHOUSE_CATALOG_URL points at {got_host}:{got_port}, expected the "
                 f"{pg_name} service on port 5432 ({label})")
        elif got != want:
            fail(f"{name}: CHROMAHOUSE_CATALOG_URL logs in as user/password/database "
                 f"{got[0]!r}/{'***' if got[1] else ''!r}/{got[2]!r}, but {pg_name} creates "
                 f"{want[0]!r}/{'***' if want[1] else ''!r}/{want[2]!r}"
                 f"{' (the passwords differ)' if got[1] != want[1] else ''} ({label})")
        else:
            ok(f"{name}: CHROMAHOUSE_CATALOG_URL is {pg_name}:5432 with its user, password and "
               f"database ({label})")

    cenv = env_of(custom[name])
    if cenv.get("CHROMAHOUSE_CLICKHOUSE_PASSWORD") != "validate-password" or \
       cenv.get("CHROMA_SERVER_AUTHN_PROVIDER") != "token" or \
       "validate-pg-password" not in cenv.get("CHROMAHOUSE_CATALOG_URL", ""):
        fail(f"variables set for docker-compose (CLICKHOUSE_PASSWORD, POSTGRES_PASSWORD, "
             f"CHROMA_SERVER_AUTHN_PROVIDER) do not reach {name} unchanged")
    else:
        ok(f"variables from the shell / .env reach {name} unchanged")

    # Start order and health check.
    waits = [s for s in ("clickhouse", pg_name) if not depends_healthy(app, s)]
    if waits:
        fail(f"{name} must depend on {' and '.join(waits)} with condition: service_healthy "
             f"(found {app.get('depends_on')!r})")
    else:
        ok(f"{name} starts once clickhouse and {pg_name} are healthy")
    port = app_env.get("CHROMA_PORT", "8000")
    aw = hc_words(app)
    if not aw or "curl" not in aw or not any(f":{port}/api/v2/healthcheck" in w for w in aw):
        fail(f"{name} healthcheck should curl :{port}/api/v2/healthcheck (found {aw})")
    else:
        ok(f"{name} healthcheck: " + " ".join(aw))
    build = build_of(app)
    if not build or build.get("dockerfile", "Dockerfile") != "Dockerfile":
        fail(f"{name} should be built from the Dockerfile (build: {build!r})")
    else:
        ok(f"{name} is built from the Dockerfile (image {image_of(app) or 'unnamed'})")
    # The instances are reached through the gateway only.
    if ports_of(app):
        fail(f"{name} publishes ports {ports_of(app)}: the instances are reached through the "
             f"{gw_name} service only (and two instances cannot publish one host port)")

images = sorted({image_of(services[n]) for n in instances})
if len(images) > 1:
    fail(f"the chromahouse instances use different images: {images}")

# ---- 2. The instances share one catalog and have distinct instance ids.
urls = {env_of(services[n]).get("CHROMAHOUSE_CATALOG_URL", "") for n in instances}
if len(urls) > 1:
    fail(f"the instances' CHROMAHOUSE_CATALOG_URL differ ({len(urls)} values): every instance "
         "of one ClickHouse database must use the same catalog")
elif len(instances) > 1:
    ok(f"the {len(instances)} instances share one CHROMAHOUSE_CATALOG_URL")
ids = {}
for n in instances:
    v = env_of(services[n]).get("CHROMAHOUSE_INSTANCE_ID", "")
    if not re.fullmatch(r"\d+", v) or not 0 <= int(v) <= 255:
        fail(f"{n}: CHROMAHOUSE_INSTANCE_ID is {v!r}, expected its own number 0-255 "
             "(random ids of several instances may collide)")
    else:
        ids.setdefault(int(v), []).append(n)
dups = {i: ns for i, ns in ids.items() if len(ns) > 1}
if dups:
    fail("instances share a CHROMAHOUSE_INSTANCE_ID: " +
         "; ".join(f"{i}: {', '.join(ns)}" for i, ns in sorted(dups.items())))
elif ids and sum(len(ns) for ns in ids.values()) == len(instances):
    ok("distinct instance ids: " + ", ".join(f"{ns[0]}={i}" for i, ns in sorted(ids.items())))

# ---- 3. clickhouse: pinned official image, health check, data volume, ulimits.
image = image_of(ch)
tag = image_tag(image)
if not image.startswith("clickhouse/clickhouse-server"):
    fail(f"clickhouse service image is '{image}', expected the official clickhouse/clickhouse-server")
elif not re.fullmatch(r"\d+\.\d+(\.\d+)*(-alpine)?", tag):
    fail(f"clickhouse image '{image}' is not pinned to a release (e.g. :26.8)")
else:
    ok(f"clickhouse image {image}")
chw = hc_words(ch)
if not chw or not any("8123/ping" in w for w in chw) and "clickhouse-client" not in " ".join(chw):
    fail(f"clickhouse healthcheck should probe :8123/ping or run clickhouse-client (found {chw})")
else:
    ok("clickhouse healthcheck: " + " ".join(chw))

def data_volume(svc_name, svc, path):
    data = [v for v in volumes_of(svc) if v[2].rstrip("/") == path]
    if not data:
        fail(f"no volume for {path} in the {svc_name} service")
    elif data[0][0] == "volume" and data[0][1] not in named_volumes:
        fail(f"volume '{data[0][1]}' is not declared under the top-level volumes")
    else:
        ok(f"{svc_name} data in {data[0][0]} '{data[0][1]}' -> {path}")
data_volume("clickhouse", ch, "/var/lib/clickhouse")

ul = ((ch.get("ulimits") or {}).get("nofile") or {})
soft = ul.get("soft") if isinstance(ul, dict) else ul
if not soft or int(soft) < 262144:
    fail(f"clickhouse ulimits.nofile should be 262144 as ClickHouse documents (found {ul!r})")
else:
    ok("clickhouse ulimits nofile 262144")

# ---- 4. PostgreSQL: pinned official image, password, health check, data volume.
image = image_of(pg)
if not re.fullmatch(r"\d+(\.\d+)?(-(alpine|bookworm|bullseye)[\w.]*)?", image_tag(image)):
    fail(f"{pg_name} image '{image}' is not pinned to a major release (e.g. postgres:15)")
else:
    ok(f"{pg_name} image {image}")
for label, d in (("default", services), ("with POSTGRES_PASSWORD set", custom)):
    if not env_of(d[pg_name]).get("POSTGRES_PASSWORD"):
        fail(f"{pg_name} has no POSTGRES_PASSWORD ({label}): the image refuses to start without one")
pw = hc_words(pg)
if "pg_isready" not in " ".join(pw):
    fail(f"{pg_name} healthcheck should run pg_isready (found {pw})")
else:
    ok(f"{pg_name} healthcheck: " + " ".join(pw))
pg_data = env_of(pg).get("PGDATA", "/var/lib/postgresql/data").rstrip("/")
data_volume(pg_name, pg, pg_data)

# ---- 5. The gateway: publishes 8000, its nginx config lists every instance.
gw_ports = ports_of(gw)
published = [t for p, t in gw_ports if p == "8000"]
if not published:
    fail(f"{gw_name} should publish port 8000 (ports: {gw_ports})")
else:
    ok(f"{gw_name} publishes 8000 -> {published[0]}")
waits = [n for n in instances if not depends_healthy(gw, n)]
if waits:
    fail(f"{gw_name} should depend on every instance with condition: service_healthy; "
         f"missing: {', '.join(waits)}")
else:
    ok(f"{gw_name} starts once {', '.join(instances)} are healthy")
gww = hc_words(gw)
if not gww or not any(w in ("curl", "wget") for w in gww):
    fail(f"{gw_name} should have a healthcheck that requests a URL through it (found {gww})")
else:
    ok(f"{gw_name} healthcheck: " + " ".join(gww))
gw_image = image_of(gw)
gw_version = tuple(int(x) for x in re.findall(r"\d+", image_tag(gw_image).split("-")[0]))
if not re.fullmatch(r"\d+\.\d+(\.\d+)?(-[\w.-]+)?", image_tag(gw_image)):
    fail(f"{gw_name} image '{gw_image}' is not pinned to a release (e.g. nginx:1.27.5)")
else:
    ok(f"{gw_name} image {gw_image}")

confs = [v for v in volumes_of(gw) if v[0] == "bind" and
         (v[2] == "/etc/nginx/nginx.conf" or re.fullmatch(r"/etc/nginx/conf\.d/[^/]+\.conf", v[2]))]
if not confs:
    fail(f"{gw_name} mounts no nginx configuration (/etc/nginx/nginx.conf or /etc/nginx/conf.d/*.conf)")
else:
    src = confs[0][1]
    path = src if os.path.isabs(src) else os.path.join(root, src)
    shown = os.path.relpath(path, root)
    if not confs[0][3]:
        fail(f"{gw_name} should mount {shown} read-only (:ro)")
    try:
        with open(path) as f:
            conf = f.read()
    except OSError as e:
        fail(f"{gw_name} mounts {shown}, which cannot be read: {e}")
        conf = None
    if conf is not None:
        conf = re.sub(r"#[^\n]*", "", conf)  # comments (no '#' inside values here)
        def directive(name, text=conf):
            return [m.group(1).strip() for m in re.finditer(rf"(?:^|[;{{}}\s]){name}\s+([^;{{}}]*);", text)]
        def size_bytes(v):
            m = re.fullmatch(r"(\d+)([kKmMgG]?)", v)
            return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()] if m else None
        def seconds(v):
            m = re.fullmatch(r"(\d+)(ms|s|m|h)?", v)
            return int(m.group(1)) * {"ms": 0.001, None: 1, "s": 1, "m": 60, "h": 3600}[m.group(2)] if m else None
        upstreams = {m.group(1): m.group(2) for m in
                     re.finditer(r"\bupstream\s+([\w.-]+)\s*\{([^}]*)\}", conf)}
        passes = [re.sub(r"^https?://", "", p).split("/")[0] for p in directive("proxy_pass")]
        used = [u for u in passes if u in upstreams]
        if not used:
            fail(f"{shown}: no proxy_pass http://<upstream> to an upstream block "
                 f"(upstreams: {sorted(upstreams)}, proxy_pass: {passes})")
        else:
            body = upstreams[used[0]]
            servers = []  # (host, port, parameters)
            for s in directive("server", body):
                addr, *params = s.split()
                host, _, p = addr.rpartition(":") if ":" in addr else (addr, "", "80")
                servers.append((host, p, params))
            want = {(n, env_of(services[n]).get("CHROMA_PORT", "8000")) for n in instances}
            have = {(h, p) for h, p, _ in servers}
            lacking = sorted(f"{h}:{p}" for h, p in want - have)
            extra = sorted(f"{h}:{p}" for h, p in have - want)
            if lacking:
                fail(f"{shown}: upstream {used[0]} lacks instances: {', '.join(lacking)} "
                     f"(it lists {', '.join(sorted(f'{h}:{p}' for h, p in have)) or 'none'})")
            if extra:
                fail(f"{shown}: upstream {used[0]} lists servers that are no chromahouse instance "
                     f"of docker-compose.yml (service:CHROMA_PORT): {', '.join(extra)}")
            if not lacking and not extra:
                ok(f"{shown}: upstream {used[0]} is every instance: "
                   f"{', '.join(sorted(f'{h}:{p}' for h, p in have))}")
            balance = [d for d in ("ip_hash", "hash", "least_conn", "random")
                       if re.search(rf"(?:^|[;{{\s]){d}[\s;]", body)]
            if balance:
                note(f"{shown}: upstream {used[0]} balances with {balance[0]}, not round-robin")
            if any("resolve" in params for _, _, params in servers):
                if not re.search(r"(?:^|[;{\s])zone\s", body):
                    fail(f"{shown}: `server ... resolve` needs a `zone` in upstream {used[0]}")
                if not directive("resolver"):
                    fail(f"{shown}: `server ... resolve` needs a `resolver` (127.0.0.11, Docker's DNS)")
                if gw_version < (1, 27, 3):
                    fail(f"{shown}: `server ... resolve` needs nginx 1.27.3 or later; "
                         f"{gw_name} runs {gw_image}")
            # HTTP/1.1 keep-alive to the instances.
            ka = directive("keepalive", body)
            if not ka or directive("proxy_http_version") != ["1.1"] or \
               not any(re.fullmatch(r'Connection\s+(""|\'\')', h) for h in directive("proxy_set_header")):
                fail(f"{shown}: keep-alive to the instances needs `keepalive N` in the upstream, "
                     "`proxy_http_version 1.1` and `proxy_set_header Connection \"\"`")
            else:
                ok(f"{shown}: keep-alive to the instances (keepalive {ka[0]}, HTTP/1.1)")
        listens = [l.split()[0].rpartition(":")[2] for l in directive("listen")]
        if published and published[0] not in listens:
            fail(f"{shown}: nginx should listen on {published[0]} (the port {gw_name} publishes); "
                 f"listen: {listens}")
        elif published:
            ok(f"{shown}: listens on {published[0]}")
        # Bodies: at least what the server accepts (40 MiB unless CHROMA_MAX_PAYLOAD_SIZE_BYTES).
        limit = max(int(env_of(services[n]).get("CHROMA_MAX_PAYLOAD_SIZE_BYTES") or 40 << 20)
                    for n in instances)
        cmbs = [size_bytes(v) for v in directive("client_max_body_size")]
        if not cmbs or cmbs[0] is None or (cmbs[0] != 0 and cmbs[0] < limit):
            fail(f"{shown}: client_max_body_size should be at least the server's request limit "
                 f"({limit} bytes; nginx's default is 1m); found {directive('client_max_body_size')}")
        else:
            ok(f"{shown}: client_max_body_size {directive('client_max_body_size')[0]} "
               f">= the server's {limit >> 20} MiB")
        short = [f"{d} {v}" for d in ("proxy_read_timeout", "proxy_send_timeout")
                 for v in directive(d) if (seconds(v) or 0) < 60]
        unset = [d for d in ("proxy_read_timeout", "proxy_send_timeout") if not directive(d)]
        if short:
            fail(f"{shown}: proxy timeouts under 60 s: {', '.join(short)} (requests may queue 60 s)")
        else:
            ok(f"{shown}: proxy_read_timeout/proxy_send_timeout "
               f"{'/'.join(directive('proxy_read_timeout') + directive('proxy_send_timeout'))}"
               + (f" (default 60s for {', '.join(unset)})" if unset else ""))

print("\n".join(out))
for n in instances:
    for k, v in sorted(env_of(services[n]).items()):
        print(f"ENV\t{n}\t{k}={v}")
PYEOF
  py_status=$?
  grep -v $'^ENV\t' "$TMP/compose-checks.txt"
  while IFS= read -r line; do
    case "$line" in FAIL:*) failures=$((failures + 1)) ;; esac
  done <"$TMP/compose-checks.txt"
  if [ "$py_status" -ne 0 ]; then fail "reading the rendered docker-compose.yml failed (status $py_status)"; fi

  # The server itself parses and validates each instance's environment (configuration errors exit
  # with status 2 at once, before anything else happens). Started with --port 0 in case a
  # ClickHouse were reachable under the service's name; stopped after 2-3 s, while it still waits
  # for ClickHouse. CHROMAHOUSE_CATALOG_URL stays in that environment: the server takes it as a
  # setting (parsed, not connected to), and only connects to PostgreSQL once ClickHouse has
  # answered, which the unreachable host `clickhouse` never does here (and were it reachable,
  # the server would still be retrying the equally unreachable `postgres` when it is stopped).
  # The URL itself is checked above (host, port, user, password, database).
  if [ -z "$BINARY" ]; then
    skip "server check of the compose environment: no built server (build/chromahouse or --binary)"
  elif [ ! -x "$BINARY" ]; then
    fail "--binary $BINARY is not an executable"
  else
    mapfile -t instance_names < <(sed -n 's/^ENV\t\([^\t]*\)\t.*/\1/p' "$TMP/compose-checks.txt" | uniq)
    for name in "${instance_names[@]}"; do
      mapfile -t app_env < <(awk -F'\t' -v n="$name" '$1 == "ENV" && $2 == n { print $3 }' \
        "$TMP/compose-checks.txt")
      # Signals are blocked while the server waits for ClickHouse: timeout's SIGTERM is followed
      # by SIGKILL a second later.
      { env -i PATH="$PATH" "${app_env[@]}" timeout -k 1 2 "$BINARY" run --port 0 >"$TMP/server.out" 2>&1; } 2>/dev/null
      st=$?
      if [ "$st" -eq 2 ] || grep -q '^chromahouse: ' "$TMP/server.out"; then
        fail "the server rejects $name's environment:"
        indent <"$TMP/server.out" | head -n 5
      else
        ok "the server accepts $name's environment (${#app_env[@]} variables)"
      fi
    done
    [ ${#instance_names[@]} -gt 0 ] || fail "no chromahouse instance's environment to check with the server"
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
