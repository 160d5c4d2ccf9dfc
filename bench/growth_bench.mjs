// Does the time of an add or a get grow with the collection? One client adds small batches
// over keep-alive HTTP (no npm client: its own cost would hide the server's) to
// build/chromahouse with its embedded ClickHouse, and reports, per tenth of the final size, the
// add latency (p50/p90/p99) and the latency of gets of 50 random existing ids with embeddings
// (p50/p99, 200 of them at the end of each tenth: right after the adds, while the background
// indexer catches up, and again once the server is quiet), with the ratio to the first tenth —
// the same-run baseline. Also the server's own add and quiet get times from /metrics per tenth
// (mean, and the histogram bucket holding p50 and p99), and the load average.
//
//   node bench/growth_bench.mjs [--n 300000] [--dim 16] [--batch 50] [--gets 200]
// Results: bench/results/growth.json.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { percentile, rng } from "./workload.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const { ServerProcess } = await import(join(root, "tests", "e2e", "harness.mjs"));

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "300000" },
    dim: { type: "string", default: "16" },
    batch: { type: "string", default: "50" },
    gets: { type: "string", default: "200" },
  },
});
const N = Number(opt.n), DIM = Number(opt.dim), BATCH = Number(opt.batch), GETS = Number(opt.gets);
const TENTH = Math.ceil(N / 10);
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] };
};

// A route's server-side duration histogram so far: sum, count and cumulative buckets (le in s).
async function serverRoute(url, what) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const h = { sum: 0, count: 0, buckets: [] };
  for (const line of text.split("\n")) {
    if (!line.includes(`route="/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/${what}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("chromahouse_http_request_duration_seconds_sum")) h.sum = value;
    if (line.startsWith("chromahouse_http_request_duration_seconds_count")) h.count = value;
    const le = /le="([^"]+)"/.exec(line);
    if (line.startsWith("chromahouse_http_request_duration_seconds_bucket") && le) {
      h.buckets.push([le[1] === "+Inf" ? Infinity : Number(le[1]), value]);
    }
  }
  return h;
}
// Between two readings: the mean (ms) and, for p50 and p99, the upper bound of the histogram
// bucket that holds them (ms): "p99 ≤ 2.5 ms" is as fine as the buckets allow.
function serverDelta(a, b) {
  const count = b.count - a.count;
  const bound = (p) => {
    for (const [le, c] of b.buckets) {
      const before = a.buckets.find(([l]) => l === le)?.[1] ?? 0;
      if (c - before >= count * p) return le * 1000;
    }
    return Infinity;
  };
  return { count, mean_ms: ((b.sum - a.sum) / Math.max(1, count)) * 1000, p50_at_most_ms: bound(0.5), p99_at_most_ms: bound(0.99) };
}

const startLoad = loadavg();
const server = await new ServerProcess().start();
const buckets = [];
try {
  const base = `${server.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
  const post = async (path, body) => {
    const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
  const { id } = JSON.parse(await post("", JSON.stringify({ name: "growth" })));
  const r = rng(7);
  const vector = () => Array.from({ length: DIM }, () => Math.fround(r() * 2 - 1));
  let added = 0;
  let adds = [];
  let before = await serverRoute(server.url, "add");
  while (added < N) {
    const n = Math.min(BATCH, N - added);
    const ids = [], embeddings = [], metadatas = [];
    for (let i = 0; i < n; i++) {
      ids.push(`r${added + i}`);
      embeddings.push(vector());
      metadatas.push({ i: added + i });
    }
    const body = JSON.stringify({ ids, embeddings, metadatas });
    const t0 = performance.now();
    await post(`/${id}/add`, body);
    adds.push(performance.now() - t0);
    added += n;
    if (added % TENTH === 0 || added === N) {
      const after = await serverRoute(server.url, "add");
      const getPhase = async () => {
        const gets = [];
        for (let g = 0; g < GETS; g++) {
          const want = Array.from({ length: 50 }, () => `r${Math.floor(r() * added)}`);
          const t1 = performance.now();
          const got = JSON.parse(await post(`/${id}/get`, JSON.stringify({ ids: want, include: ["embeddings"] })));
          gets.push(performance.now() - t1);
          if (got.ids.length !== new Set(want).size) throw new Error(`get returned ${got.ids.length} of ${new Set(want).size} ids`);
        }
        return stats(gets);
      };
      // Right after the adds (the background indexer still catching up), then once the server
      // is quiet: the graph caught up (indexing_status) and one more second for ClickHouse.
      const busy = await getPhase();
      const waited0 = performance.now();
      for (;;) {
        const st = JSON.parse(await (await fetch(`${base}/${id}/indexing_status`)).text());
        if (st.num_unindexed_ops === 0) break;
        await new Promise((done) => setTimeout(done, 100));
      }
      const catchUpS = (performance.now() - waited0) / 1000;
      await new Promise((done) => setTimeout(done, 1000));
      const quietBefore = await serverRoute(server.url, "get");
      const quiet = await getPhase();
      const quietServer = serverDelta(quietBefore, await serverRoute(server.url, "get"));
      buckets.push({
        records: added,
        add_ms: stats(adds),
        server_add: serverDelta(before, after),
        get_ms: busy,
        index_catch_up_s: catchUpS,
        quiet_get_ms: quiet,
        quiet_server_get: quietServer,
      });
      process.stderr.write(`[growth_bench] ${added} records\n`);
      adds = [];
      before = await serverRoute(server.url, "add");
    }
  }
} finally {
  await server.cleanup();
}

const first = buckets[0];
const f = (v) => v.toFixed(2);
console.log(`\n${N} × ${DIM} added in batches of ${BATCH} by one keep-alive HTTP client to build/chromahouse (embedded ClickHouse); load average ${startLoad} at start, ${loadavg()} at end\n`);
console.log("| records | add p50 / p90 / p99 (ms) | add p50 vs first tenth | add p99 / p50 | server add mean / p50 ≤ / p99 ≤ (ms) | get 50 ids right after the adds p50 / p99 / max (ms) | graph caught up (s) | get 50 ids, quiet, p50 / p99 / max (ms) | server get, quiet: mean / p99 ≤ (ms) |");
console.log("|---:|---|---:|---:|---|---|---:|---|---|");
for (const b of buckets) {
  console.log(`| ${b.records} | ${f(b.add_ms.p50)} / ${f(b.add_ms.p90)} / ${f(b.add_ms.p99)} | ${f(b.add_ms.p50 / first.add_ms.p50)}× | ${f(b.add_ms.p99 / b.add_ms.p50)} | ${f(b.server_add.mean_ms)} / ${b.server_add.p50_at_most_ms} / ${b.server_add.p99_at_most_ms} | ${f(b.get_ms.p50)} / ${f(b.get_ms.p99)} / ${f(b.get_ms.max)} | ${f(b.index_catch_up_s)} | ${f(b.quiet_get_ms.p50)} / ${f(b.quiet_get_ms.p99)} / ${f(b.quiet_get_ms.max)} | ${f(b.quiet_server_get.mean_ms)} / ${b.quiet_server_get.p99_at_most_ms} |`);
}
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "growth.json"), JSON.stringify({ n: N, dim: DIM, batch: BATCH, load_average_start: startLoad, load_average_end: loadavg(), buckets }, null, 2));
