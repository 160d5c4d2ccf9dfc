// Several instances, measured from outside (issue: transactional catalog, push freshness):
//  1. cross-instance visibility: a record upserted through instance A, the time from A's
//     acknowledgement until a get through B returns it — with the catalog in PostgreSQL (writes
//     announced through LISTEN/NOTIFY) and with the catalog in ClickHouse (B polls every
//     --freshness-ms), three instances on loopback each;
//  2. what an idle instance asks ClickHouse in 5 s while holding a loaded collection nobody
//     writes (from its /metrics; the 5-second instance beats are listed apart);
//  3. catalog operation latency (create, get by name, list) on both catalog stores.
// Raw keep-alive fetch (no client library cost). Prints a table and writes
// bench/results/catalog.json.
//
//   node bench/catalog_bench.mjs [--rounds 300] [--ops 200] [--freshness-ms 100]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { ServerProcess } = await import(join(here, "..", "tests", "e2e", "harness.mjs"));
const { PostgresServer } = await import(join(here, "..", "tests", "e2e", "postgres.mjs"));

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const ROUNDS = Number(args.rounds ?? 300);
const OPS = Number(args.ops ?? 200);
const FRESHNESS_MS = Number(args["freshness-ms"] ?? 100);
const COLLS = "/api/v2/tenants/default_tenant/databases/default_database/collections";

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function clickhouseUrlOf(server) {
  const config = readFileSync(join(server.dataDir, "clickhouse", "config.xml"), "utf8");
  return `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
}

// ClickHouse requests by kind, from an instance's /metrics (count, or total seconds).
async function clickhouseRequests(base, what = "count") {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = {};
  const re = new RegExp(`^chromahouse_clickhouse_request_seconds_${what}\\{kind="([^"]*)"\\} ([0-9.e+-]+)`, "gm");
  for (const m of text.matchAll(re)) out[m[1]] = Number(m[2]);
  return out;
}

async function catalogLatency(base, label) {
  const create = [], get = [], list = [];
  for (let i = 0; i < OPS; i++) {
    let t0 = process.hrtime.bigint();
    await call(base, "POST", COLLS, { name: `${label}_op_${i}` });
    create.push(ms(t0));
    t0 = process.hrtime.bigint();
    await call(base, "GET", `${COLLS}/${label}_op_${i}`);
    get.push(ms(t0));
    t0 = process.hrtime.bigint();
    await call(base, "GET", `${COLLS}?limit=100`);
    list.push(ms(t0));
  }
  return { create, get, list };
}

// Three instances on one ClickHouse; `catalogUrl` null = the catalog in ClickHouse.
async function deployment(catalogUrl) {
  const common = ["--freshness-ms", String(FRESHNESS_MS), ...(catalogUrl ? ["--catalog-url", catalogUrl] : [])];
  const a = await new ServerProcess({ args: [...common, "--instance-id", "1"] }).start();
  // With the catalog in ClickHouse only a lone instance may change it: measure and create first.
  const latency = await catalogLatency(a.url, catalogUrl ? "pg" : "ch");
  const coll = await call(a.url, "POST", COLLS, { name: "visibility" });
  const ch = ["--clickhouse-url", clickhouseUrlOf(a)];
  const b = await new ServerProcess({ args: [...common, ...ch, "--instance-id", "2"] }).start();
  const c = await new ServerProcess({ args: [...common, ...ch, "--instance-id", "3"] }).start();
  return { a, b, c, coll, latency };
}

async function visibility({ a, b, c, coll }) {
  const records = `/api/v2/tenants/default_tenant/databases/default_database/collections/${coll.id}`;
  await call(a.url, "POST", `${records}/upsert`, { ids: ["warm"], embeddings: [[0, 0, 0]] });
  for (const s of [b, c]) {
    for (let i = 0; i < 200; i++) {
      const got = await call(s.url, "POST", `${records}/get`, { ids: ["warm"], include: [] });
      if (got.ids.length) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const seen = [];
  let polls = 0;
  const [count0, sum0] = [await clickhouseRequests(b.url), await clickhouseRequests(b.url, "sum")];
  for (let i = 0; i < ROUNDS; i++) {
    const id = `r${i}`;
    await call(a.url, "POST", `${records}/upsert`, { ids: [id], embeddings: [[i, 1, 2]] });
    const t0 = process.hrtime.bigint();
    for (;;) {
      polls++;
      const got = await call(b.url, "POST", `${records}/get`, { ids: [id], include: [] });
      if (got.ids.length) break;
      if (ms(t0) > 5000) throw new Error(`record ${id} not visible on B within 5 s`);
    }
    seen.push(ms(t0));
  }
  // B's own ClickHouse requests while catching up (server-side time per round).
  const [count1, sum1] = [await clickhouseRequests(b.url), await clickhouseRequests(b.url, "sum")];
  const server = {};
  for (const [kind, n] of Object.entries(count1)) {
    const d = n - (count0[kind] ?? 0);
    if (d > 0 && !/instance/.test(kind)) {
      server[kind] = { per_round: d / ROUNDS, mean_ms: ((sum1[kind] - (sum0[kind] ?? 0)) / d) * 1000 };
    }
  }
  return { seen, polls, server };
}

async function idleReads(instance) {
  const before = await clickhouseRequests(instance.url);
  await new Promise((r) => setTimeout(r, 5000));
  const after = await clickhouseRequests(instance.url);
  let collections = 0, beats = 0;
  for (const [kind, n] of Object.entries(after)) {
    const d = n - (before[kind] ?? 0);
    if (/instance/.test(kind)) beats += d;
    else collections += d;
  }
  return { collections, beats };
}

const pg = await new PostgresServer().start();
const results = {};
try {
  for (const [name, make] of [
    ["postgresql", async () => deployment(await pg.createDatabase("bench_catalog"))],
    ["clickhouse", async () => deployment(null)],
  ]) {
    const d = await make();
    try {
      const v = await visibility(d);
      const idle = await idleReads(d.b);
      results[name] = {
        visibility_p50_ms: pct(v.seen, 50), visibility_p99_ms: pct(v.seen, 99),
        visibility_max_ms: Math.max(...v.seen), gets_per_round: v.polls / ROUNDS,
        b_clickhouse_requests: v.server,
        idle_clickhouse_requests_5s: idle.collections, idle_instance_beats_5s: idle.beats,
        create_p50_ms: pct(d.latency.create, 50), create_p99_ms: pct(d.latency.create, 99),
        get_p50_ms: pct(d.latency.get, 50), get_p99_ms: pct(d.latency.get, 99),
        list_p50_ms: pct(d.latency.list, 50), list_p99_ms: pct(d.latency.list, 99),
      };
    } finally {
      for (const s of [d.c, d.b, d.a]) await s.cleanup();
    }
  }
} finally {
  await pg.cleanup();
}

const [l1] = loadavg();
const p = results.postgresql, c = results.clickhouse;
const f = (x) => (typeof x === "number" ? x.toFixed(x < 10 ? 2 : 1) : String(x));
const rows = [
  ["visibility A→B p50 (ms)", p.visibility_p50_ms, c.visibility_p50_ms],
  ["visibility A→B p99 (ms)", p.visibility_p99_ms, c.visibility_p99_ms],
  ["visibility A→B max (ms)", p.visibility_max_ms, c.visibility_max_ms],
  ["idle B: ClickHouse requests in 5 s (collections, catalog)", p.idle_clickhouse_requests_5s, c.idle_clickhouse_requests_5s],
  ["idle B: instance beats in 5 s (insert + read)", p.idle_instance_beats_5s, c.idle_instance_beats_5s],
  ["create collection p50 / p99 (ms)", `${f(p.create_p50_ms)} / ${f(p.create_p99_ms)}`, `${f(c.create_p50_ms)} / ${f(c.create_p99_ms)}`],
  ["get collection p50 / p99 (ms)", `${f(p.get_p50_ms)} / ${f(p.get_p99_ms)}`, `${f(c.get_p50_ms)} / ${f(c.get_p99_ms)}`],
  ["list collections p50 / p99 (ms)", `${f(p.list_p50_ms)} / ${f(p.list_p99_ms)}`, `${f(c.list_p50_ms)} / ${f(c.list_p99_ms)}`],
];
console.log(`\ncatalog_bench: ${ROUNDS} rounds, ${OPS} catalog ops, freshness ${FRESHNESS_MS} ms, load average ${l1.toFixed(2)}`);
console.log(`| measure | PostgreSQL catalog (announced) | ClickHouse catalog (polled) | ratio |`);
console.log(`|---|---|---|---|`);
for (const [label, pv, cv] of rows) {
  const ratio = typeof pv === "number" && typeof cv === "number" && cv > 0 ? (pv / cv).toFixed(3) : "";
  console.log(`| ${label} | ${f(pv)} | ${f(cv)} | ${ratio} |`);
}
for (const [name, r] of Object.entries(results)) {
  const parts = Object.entries(r.b_clickhouse_requests)
    .map(([k, v]) => `${k} ${v.per_round.toFixed(2)}/round × ${v.mean_ms.toFixed(2)} ms`);
  console.log(`B's ClickHouse requests while catching up (${name}): ${parts.join(", ") || "none"}`);
}
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "catalog.json"), JSON.stringify({ rounds: ROUNDS, ops: OPS, load_average: l1, results }, null, 2));
