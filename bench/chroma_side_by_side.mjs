// Side by side: the same workload through the official npm client (chromadb 3.5.0) against
// build/chromahouse and against a real Chroma 1.5.9 (started with ../shared/tools/reference-chroma.sh,
// outside the project), one server after the other, each on a fresh data directory. Every figure
// is printed with its ratio chromahouse / Chroma; chromahouse's own server-side times (from its
// /metrics) and a raw ClickHouse `INSERT … FORMAT RowBinary` of the same batches into its embedded
// ClickHouse are printed as baselines. Writes bench/results/chroma_side_by_side.json.
//
//   node bench/chroma_side_by_side.mjs [--n 100000] [--dim 128] [--batch 100] [--gets 200]
//                                      [--queries 300] [--seed 42] [--clients 4]
//
// Workload (one client, sequential): add N × dim vectors with metadata {bucket: i % 100} in
// batches; 200 gets of 100 random existing ids with embeddings and metadatas; 300 held-out
// queries (n_results 10, include distances) through the client, then the same queries as lean
// keep-alive HTTP POSTs to …/query, and as many lean heartbeats (the floor of any request);
// filtered queries through the client where {bucket: {$lt: 10}} (10 %) and {bucket: 0} (1 %);
// resident memory at the end and after 20 s idle (chromahouse + its embedded ClickHouse;
// Chroma's process tree, the Node.js process hosting its Rust server); then N / 2 records added
// by --clients concurrent clients (worker threads, one npm client each) into a second
// collection. The client floor: the same client calls with fetch answering in-process with
// chromahouse's recorded answers (what the client costs by itself bounds the ratio any server
// can reach). Every answer
// is checked (10 ids per query, only matching buckets when filtered, the requested records with
// their metadata and embedding on get); any failed check makes the exit status 1.
// Without the reference script (env CHROMA_REFERENCE overrides its path) it prints "skipped: …"
// and exits 0.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { gaussianMixture, percentile, rng } from "./workload.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const reference = process.env.CHROMA_REFERENCE ?? join(root, "..", "shared", "tools", "reference-chroma.sh");
if (!existsSync(reference)) {
  console.log(`skipped: the reference Chroma script is not at ${reference} (set CHROMA_REFERENCE to its path)`);
  process.exit(0);
}

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    dim: { type: "string", default: "128" },
    batch: { type: "string", default: "100" },
    gets: { type: "string", default: "200" },
    queries: { type: "string", default: "300" },
    seed: { type: "string", default: "42" },
    clients: { type: "string", default: "4" },
  },
});
const N = Number(opt.n);
const DIM = Number(opt.dim);
const BATCH = Number(opt.batch);
const GETS = Number(opt.gets);
const GET_IDS = 100;
const QUERIES = Number(opt.queries);
const WARMUP = 10; // untimed queries before each timed query phase
const SETTLE_S = 20; // idle seconds before memory is measured a second time
const SEED = Number(opt.seed);
const CLIENTS = Number(opt.clients);
const N_PARALLEL = Math.ceil(N / 2);
if (![N, DIM, BATCH, GETS, QUERIES, CLIENTS].every((v) => Number.isInteger(v) && v > 0) || N < GET_IDS) {
  console.error("chroma_side_by_side: --n (>= 100), --dim, --batch, --gets and --queries must be positive integers");
  process.exit(2);
}

delete process.env.CHROMA_URL; // the harness would use an external server instead of starting ours
const require = createRequire(join(root, "tests", "e2e", "package.json"));
const { ChromaClient } = require("chromadb");
const { ServerProcess, freePort, serverBinary } = await import(join(root, "tests", "e2e", "harness.mjs"));
const { clickhousePids, rssKiB } = await import(join(root, "tests", "e2e", "testlib.mjs"));
if (!existsSync(serverBinary)) {
  console.error(`chroma_side_by_side: no server binary at ${serverBinary} (make build)`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[chroma_side_by_side] ${msg}\n`);
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);

// ---------------------------------------------------------------------------------------------
// Data: a seeded Gaussian mixture (workload.mjs), N records then held-out query vectors.

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
};

const data = gaussianMixture(N + WARMUP + QUERIES, DIM, SEED);
const vec = (i) => Array.from(data.subarray(i * DIM, (i + 1) * DIM));
const queryVec = (q) => vec(N + WARMUP + q); // held out: never added
const warmVec = (w) => vec(N + w);
const idOf = (i) => `id-${i}`;
const bucketOfId = (id) => Number(id.slice(3)) % 100;
// Records start … end - 1 as an add request (ids past N reuse the vectors of id % N).
const recordsOf = (start, end) => {
  const ids = [];
  const embeddings = [];
  const metadatas = [];
  for (let i = start; i < end; i++) {
    ids.push(idOf(i));
    embeddings.push(vec(i % N));
    metadatas.push({ bucket: i % 100 });
  }
  return { ids, embeddings, metadatas };
};
// The same random get batches for both servers: GET_IDS distinct existing ids each.
const getBatches = (() => {
  const r = rng(SEED + 1);
  return Array.from({ length: GETS }, () => {
    const picked = new Set();
    while (picked.size < GET_IDS) picked.add(Math.floor(r() * N));
    return [...picked];
  });
})();

// A worker of the concurrent ingest (phase 7): adds records w, w + CLIENTS, … (in batches of
// BATCH) of the first N_PARALLEL through its own npm client, then reports back.
if (!isMainThread) {
  const { url, collection, worker } = workerData;
  const { hostname, port } = new URL(url);
  const client = new ChromaClient({ host: hostname, port: Number(port) });
  const coll = await client.getCollection({ name: collection, embeddingFunction: null });
  parentPort.postMessage({ ready: true });
  await new Promise((go) => parentPort.once("message", go));
  let error = null;
  try {
    for (let start = worker * BATCH; start < N_PARALLEL; start += CLIENTS * BATCH) {
      await coll.add(recordsOf(start, Math.min(N_PARALLEL, start + BATCH)));
    }
  } catch (e) {
    error = String(e);
  }
  parentPort.postMessage({ error });
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Processes and metrics

/** pid and all its descendants (via the ppid field of /proc/<pid>/stat). */
function processTree(pid) {
  const children = new Map();
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch {
      // gone
    }
  }
  const out = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}
const rssMiB = (pids) => [...new Set(pids)].reduce((sum, p) => sum + (rssKiB(p) ?? 0), 0) / 1024;

/** Prometheus text → [{name, labels, value}]. */
function parsePrometheus(text) {
  const out = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
/** A histogram of a scrape: {buckets: [[le, cumulative]], sum, count}, filtered by labels. */
function histogram(scrape, name, match = {}) {
  const ok = (l) => Object.entries(match).every(([k, v]) => l[k] === v);
  const h = { buckets: [], sum: 0, count: 0 };
  for (const s of scrape) {
    if (!ok(s.labels)) continue;
    if (s.name === `${name}_bucket`) h.buckets.push([s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value]);
    else if (s.name === `${name}_sum`) h.sum = s.value;
    else if (s.name === `${name}_count`) h.count = s.value;
  }
  h.buckets.sort((a, b) => a[0] - b[0]);
  return h;
}
/** What a histogram gained between two scrapes: count, mean, p50 and p99 (each interpolated
 *  linearly within its bucket, so only as fine as the buckets), scaled by `scale`. */
function histogramDelta(before, after, name, match, scale = 1) {
  const a = histogram(before, name, match);
  const b = histogram(after, name, match);
  const count = b.count - a.count;
  if (count <= 0) return { count: 0, mean: null, p50: null, p99: null };
  const cum = b.buckets.map(([le, c]) => [le, c - (a.buckets.find(([l]) => l === le)?.[1] ?? 0)]);
  const quantile = (p) => {
    const target = count * p;
    let prevLe = 0;
    let prevCum = 0;
    for (const [le, c] of cum) {
      if (c >= target) {
        const v = le === Infinity ? prevLe : prevLe + ((le - prevLe) * (target - prevCum)) / Math.max(1e-12, c - prevCum);
        return v * scale;
      }
      prevLe = le;
      prevCum = c;
    }
    return null;
  };
  return { count, mean: ((b.sum - a.sum) / count) * scale, p50: quantile(0.5), p99: quantile(0.99) };
}

// ---------------------------------------------------------------------------------------------
// The workload, the same for both servers. `scrape` (chromahouse only) returns its /metrics
// parsed, taken before and after each phase.

async function workload(label, url, { scrape = async () => null, pids }) {
  const problems = [];
  const problem = (msg) => {
    if (problems.length < 20) problems.push(`${label}: ${msg}`);
    else if (problems.length === 20) problems.push(`${label}: … (more)`);
  };
  const { hostname, port } = new URL(url);
  const client = new ChromaClient({ host: hostname, port: Number(port) });
  const coll = await client.createCollection({ name: `side-by-side-${Date.now()}`, embeddingFunction: null });
  const scrapes = {};
  const r = {};

  // 1. ingest
  log(`${label}: ingest ${N} × ${DIM} in batches of ${BATCH}`);
  scrapes.ingest = [await scrape()];
  const batchMs = [];
  const t0 = performance.now();
  for (let start = 0; start < N; start += BATCH) {
    const batch = recordsOf(start, Math.min(N, start + BATCH));
    const b0 = performance.now();
    await coll.add(batch);
    batchMs.push(performance.now() - b0);
  }
  const ingestS = (performance.now() - t0) / 1000;
  scrapes.ingest.push(await scrape());
  r.ingest_vectors_per_s = N / ingestS;
  r.add_batch_ms = stats(batchMs);
  const count = await coll.count();
  if (count !== N) problem(`count after ingest is ${count}, expected ${N}`);

  // Wait until the index has caught up (chromahouse indexes in the background; Chroma's local
  // server indexes within the add and answers indexing_status with an error).
  const idx0 = performance.now();
  const statusUrl = `${url}/api/v2/tenants/default_tenant/databases/default_database/collections/${coll.id}/indexing_status`;
  r.index_catch_up_s = null;
  for (;;) {
    const res = await fetch(statusUrl);
    if (!res.ok) {
      await res.arrayBuffer();
      break;
    }
    const st = await res.json();
    if (st.num_unindexed_ops === 0) {
      r.index_catch_up_s = (performance.now() - idx0) / 1000;
      break;
    }
    await new Promise((res2) => setTimeout(res2, 100));
  }

  // 2. get: GET_IDS random existing ids with embeddings and metadatas
  log(`${label}: ${GETS} gets of ${GET_IDS} ids`);
  scrapes.get = [await scrape()];
  const getMs = [];
  const g0 = performance.now();
  for (const batch of getBatches) {
    const ids = batch.map(idOf);
    const q0 = performance.now();
    const res = await coll.get({ ids, include: ["embeddings", "metadatas"] });
    getMs.push(performance.now() - q0);
    if (res.ids.length !== ids.length) {
      problem(`get returned ${res.ids.length} records for ${ids.length} ids`);
      continue;
    }
    const want = new Set(ids);
    res.ids.forEach((id, j) => {
      if (!want.has(id)) return problem(`get returned unrequested id ${id}`);
      const i = Number(id.slice(3));
      if (res.metadatas[j]?.bucket !== i % 100) problem(`get ${id}: metadata ${JSON.stringify(res.metadatas[j])}`);
      const e = res.embeddings[j];
      if (!e || e.length !== DIM || Math.fround(e[0]) !== data[i * DIM] || Math.fround(e[DIM - 1]) !== data[(i + 1) * DIM - 1]) {
        problem(`get ${id}: embedding differs from what was added`);
      }
    });
  }
  const getS = (performance.now() - g0) / 1000;
  scrapes.get.push(await scrape());
  r.get_records_per_s = (GETS * GET_IDS) / getS;
  r.get_ms = stats(getMs);

  // 3-5. queries: through the client, lean HTTP, filtered through the client
  const checkIds = (what, ids, bucketOk) => {
    if (!Array.isArray(ids) || ids.length !== 10) return problem(`${what} returned ${ids?.length} ids, expected 10`);
    for (const id of ids) if (bucketOk && !bucketOk(bucketOfId(id))) return problem(`${what} returned ${id} (bucket ${bucketOfId(id)})`);
  };
  async function clientQueries(phase, where, bucketOk) {
    log(`${label}: ${QUERIES} queries through the client${where ? ` where ${JSON.stringify(where)}` : ""}`);
    const ask = (q) => coll.query({ queryEmbeddings: [q], nResults: 10, include: ["distances"], ...(where ? { where } : {}) });
    for (let w = 0; w < WARMUP; w++) await ask(warmVec(w));
    scrapes[phase] = [await scrape()];
    const ms = [];
    const idsPerQuery = [];
    for (let q = 0; q < QUERIES; q++) {
      const v = queryVec(q);
      const q0 = performance.now();
      const res = await ask(v);
      ms.push(performance.now() - q0);
      checkIds(phase, res.ids[0], bucketOk);
      idsPerQuery.push(res.ids[0]);
    }
    scrapes[phase].push(await scrape());
    return { ms: stats(ms), idsPerQuery };
  }
  const plain = await clientQueries("query_client");
  r.query_client_ms = plain.ms;
  r.topIds = plain.idsPerQuery;

  log(`${label}: ${QUERIES} queries as lean HTTP`);
  const queryUrl = `${url}/api/v2/tenants/default_tenant/databases/default_database/collections/${coll.id}/query`;
  const body = (v) => JSON.stringify({ query_embeddings: [v], n_results: 10, include: ["distances"] });
  const post = async (b) => {
    const res = await fetch(queryUrl, { method: "POST", headers: { "content-type": "application/json" }, body: b });
    const json = await res.json();
    if (!res.ok) throw new Error(`${label}: query answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
  for (let w = 0; w < WARMUP; w++) await post(body(warmVec(w)));
  const bodies = Array.from({ length: QUERIES }, (_, q) => body(queryVec(q))); // encoded before timing
  scrapes.query_http = [await scrape()];
  const httpMs = [];
  for (let q = 0; q < QUERIES; q++) {
    const q0 = performance.now();
    const json = await post(bodies[q]);
    httpMs.push(performance.now() - q0);
    checkIds("query_http", json.ids?.[0]);
  }
  scrapes.query_http.push(await scrape());
  r.query_http_ms = stats(httpMs);

  // The floor of a lean request: the same fetch of the heartbeat (no body, no work), to tell
  // the cost of Node's fetch + HTTP from the query's own.
  const heartbeatUrl = `${url}/api/v2/heartbeat`;
  for (let w = 0; w < WARMUP; w++) await (await fetch(heartbeatUrl)).json();
  const floorMs = [];
  for (let q = 0; q < QUERIES; q++) {
    const q0 = performance.now();
    const res = await fetch(heartbeatUrl);
    await res.json();
    floorMs.push(performance.now() - q0);
    if (!res.ok) problem(`heartbeat answered ${res.status}`);
  }
  r.heartbeat_http_ms = stats(floorMs);

  r.query_where_lt10_ms = (await clientQueries("query_where_lt10", { bucket: { $lt: 10 } }, (b) => b < 10)).ms;
  r.query_where_eq0_ms = (await clientQueries("query_where_eq0", { bucket: 0 }, (b) => b === 0)).ms;

  // 6. resident memory at the end, and again after SETTLE_S idle seconds (allocators give
  // pages back after a delay: jemalloc's decay in chromahouse and ClickHouse, and Chroma's)
  const measure = () => {
    const parts = pids();
    return {
      total: rssMiB(Object.values(parts).flat()),
      byPart: Object.keys(parts).length > 1 ? Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, rssMiB(v)])) : undefined,
    };
  };
  const atEnd = measure();
  r.rss_mib = atEnd.total;
  if (atEnd.byPart) r.rss_mib_by_part = atEnd.byPart;
  log(`${label}: ${SETTLE_S} s idle before measuring memory again`);
  await new Promise((done) => setTimeout(done, SETTLE_S * 1000));
  const settled = measure();
  r.rss_settled_mib = settled.total;
  if (settled.byPart) r.rss_settled_mib_by_part = settled.byPart;

  // 7. ingest by CLIENTS concurrent clients (worker threads, each with its own npm client) into
  // a second collection, after the memory figures: N / 2 records in batches of BATCH.
  log(`${label}: ingest ${N_PARALLEL} × ${DIM} by ${CLIENTS} clients`);
  const parallelColl = await client.createCollection({ name: `side-by-side-parallel-${Date.now()}`, embeddingFunction: null });
  const workers = await Promise.all(
    Array.from({ length: CLIENTS }, (_, w) =>
      new Promise((ready, fail) => {
        const worker = new Worker(fileURLToPath(import.meta.url), {
          argv: process.argv.slice(2),
          workerData: { url, collection: parallelColl.name, worker: w },
        });
        worker.once("message", () => ready(worker)); // set up (data, client): not timed
        worker.on("error", fail);
      }),
    ),
  );
  const p0 = performance.now();
  const batchesPerClient = await Promise.all(
    workers.map(
      (worker) =>
        new Promise((done, fail) => {
          worker.once("message", done);
          worker.on("exit", (code) => code !== 0 && fail(new Error(`ingest worker exited with ${code}`)));
          worker.postMessage("go");
        }),
    ),
  );
  r.parallel_ingest_vectors_per_s = N_PARALLEL / ((performance.now() - p0) / 1000);
  const parallelCount = await parallelColl.count();
  if (parallelCount !== N_PARALLEL) problem(`count after the ${CLIENTS}-client ingest is ${parallelCount}, expected ${N_PARALLEL}`);
  for (const b of batchesPerClient) if (b.error) problem(`${CLIENTS}-client ingest: ${b.error}`);
  return { r, scrapes, problems, coll };
}

// ---------------------------------------------------------------------------------------------
// Raw ClickHouse baseline: the same rows and batches as `INSERT … FORMAT RowBinary` into a table
// laid out as chromahouse's records table, in chromahouse's embedded ClickHouse.

async function rawClickHouse(chUrl) {
  const q = async (sql, body) => {
    const res = await fetch(`${chUrl}/?query=${encodeURIComponent(sql)}`, { method: "POST", body: body ?? "" });
    const text = await res.text();
    if (!res.ok) throw new Error(`ClickHouse: ${text}`);
  };
  await q("CREATE DATABASE IF NOT EXISTS bench_raw");
  await q("DROP TABLE IF EXISTS bench_raw.records");
  await q(
    "CREATE TABLE bench_raw.records (collection String, id String, ver UInt64, created UInt64, deleted UInt8, " +
      "embedding Array(Float32), document Nullable(String), uri Nullable(String), metadata Nullable(String)) " +
      "ENGINE = ReplacingMergeTree(ver) ORDER BY (collection, id)",
  );
  const collection = Buffer.from("00000000-0000-4000-8000-000000000000");
  const varuint = (n) => {
    const out = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return Buffer.from(out);
  };
  const str = (b) => [varuint(b.length), b];
  const rowBinary = (start, end) => {
    const parts = [];
    for (let i = start; i < end; i++) {
      const fixed = Buffer.alloc(17);
      fixed.writeBigUInt64LE(BigInt(i + 1), 0);
      fixed.writeBigUInt64LE(BigInt(i + 1), 8);
      fixed.writeUInt8(0, 16);
      const vecBytes = Buffer.from(data.buffer, data.byteOffset + i * DIM * 4, DIM * 4);
      const meta = Buffer.from(JSON.stringify({ bucket: i % 100 }));
      parts.push(
        ...str(collection), ...str(Buffer.from(idOf(i))), fixed, varuint(DIM), vecBytes,
        Buffer.from([1, 1, 0]), ...str(meta), // document NULL, uri NULL, metadata JSON
      );
    }
    return Buffer.concat(parts);
  };
  const sql = "INSERT INTO bench_raw.records (collection, id, ver, created, deleted, embedding, document, uri, metadata) FORMAT RowBinary";
  const ms = [];
  const t0 = performance.now();
  for (let start = 0; start < N; start += BATCH) {
    const body = rowBinary(start, Math.min(N, start + BATCH));
    const b0 = performance.now();
    await q(sql, body);
    ms.push(performance.now() - b0);
  }
  const seconds = (performance.now() - t0) / 1000;
  await q("DROP TABLE bench_raw.records");
  return { rows_per_s: N / seconds, batch_ms: stats(ms) };
}

// ---------------------------------------------------------------------------------------------
// The client floor: the same client calls with the network and the server taken away — the
// global fetch (which the client calls) answers each kind of request (method + route) with
// chromahouse's answer recorded once. What is left is the npm client's own cost (checking and
// encoding the request, parsing the answer): no server can be faster than this through the
// client, so Chroma's time over it bounds the ratio any server can reach.

async function clientFloor(targetUrl) {
  const realFetch = globalThis.fetch;
  const recorded = new Map(); // "METHOD route" → {status, headers, body}
  let replaying = false;
  const keyOf = (input, init) => {
    const url = typeof input === "string" ? input : input.url ?? String(input);
    const method = init?.method ?? (typeof input === "object" && input.method) ?? "GET";
    return `${method} ${new URL(url).pathname.replace(/\/collections\/[0-9a-f-]{36}/, "/collections/{id}")}`;
  };
  globalThis.fetch = async (input, init) => {
    const key = keyOf(input, init);
    const hit = replaying ? recorded.get(key) : undefined;
    if (hit) return new Response(hit.body, { status: hit.status, headers: hit.headers });
    const res = await realFetch(input, init);
    const body = await res.arrayBuffer();
    const kept = { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "application/json" }, body };
    if (!replaying) recorded.set(key, kept);
    return new Response(body, { status: kept.status, headers: kept.headers });
  };
  try {
    const { hostname, port } = new URL(targetUrl);
    const client = new ChromaClient({ host: hostname, port: Number(port) });
    const coll = await client.createCollection({ name: `client-floor-${Date.now()}`, embeddingFunction: null });
    const batchOf = (start) => recordsOf(start, start + BATCH);
    // Recorded: one answer of each kind, from chromahouse.
    await coll.add(batchOf(0));
    await coll.get({ ids: getBatches[0].map(idOf), include: ["embeddings", "metadatas"] });
    await coll.query({ queryEmbeddings: [queryVec(0)], nResults: 10, include: ["distances"] });
    replaying = true;
    const time = async (n, fn) => {
      const ms = [];
      for (let w = 0; w < WARMUP; w++) await fn(w);
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await fn(i);
        ms.push(performance.now() - t);
      }
      return stats(ms);
    };
    const adds = Math.min(200, Math.ceil(N / BATCH));
    const f = {};
    f.add_batch_ms = await time(adds, (i) => coll.add(batchOf(BATCH * (i + 1))));
    f.get_ms = await time(GETS, (i) => coll.get({ ids: getBatches[i % GETS].map(idOf), include: ["embeddings", "metadatas"] }));
    f.query_client_ms = await time(QUERIES, (q) => coll.query({ queryEmbeddings: [queryVec(q)], nResults: 10, include: ["distances"] }));
    return f;
  } finally {
    globalThis.fetch = realFetch;
  }
}

// ---------------------------------------------------------------------------------------------
// Run: chromahouse, then Chroma; each stopped in a finally (and on SIGINT/SIGTERM).

const cleanups = new Set();
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    for (const c of cleanups) await c().catch(() => {});
    process.exit(130);
  });
}

const loadStart = loadavg();
log(`load average at start: ${loadStart.join(" ")}`);
const problems = [];

let ch;
let chServer;
let raw = null;
let floor = null;
const serverSide = {};
{
  const server = new ServerProcess();
  const stop = () => server.cleanup();
  cleanups.add(stop);
  try {
    log(`starting chromahouse (${serverBinary})`);
    await server.start();
    const scrape = async () => parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    ch = await workload("chromahouse", server.url, {
      scrape,
      pids: () => {
        const clickhouse = clickhousePids(server.dataDir);
        return { server: processTree(server.child.pid).filter((p) => !clickhouse.includes(p)), clickhouse };
      },
    });
    problems.push(...ch.problems);
    // 7. server-side times per phase from /metrics (ms)
    const route = (what) => ({ route: `/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/${what}` });
    const phaseRoute = { ingest: "add", get: "get", query_client: "query", query_http: "query", query_where_lt10: "query", query_where_eq0: "query" };
    for (const [phase, what] of Object.entries(phaseRoute)) {
      const [a, b] = ch.scrapes[phase];
      serverSide[phase] = histogramDelta(a, b, "chromahouse_http_request_duration_seconds", route(what), 1000);
      // ClickHouse requests the server made during the phase, by kind (scrapes included).
      const kinds = new Set(b.filter((x) => x.name === "chromahouse_clickhouse_request_seconds_count").map((x) => x.labels.kind));
      serverSide[phase].clickhouse_requests = Object.fromEntries(
        [...kinds].map((kind) => [kind, histogramDelta(a, b, "chromahouse_clickhouse_request_seconds", { kind }).count]).filter(([, c]) => c > 0),
      );
    }
    const [ia, ib] = ch.scrapes.ingest;
    serverSide.ingest_group_commit_insert = histogramDelta(ia, ib, "chromahouse_group_commit_insert_seconds", {}, 1000);
    const rows = histogramDelta(ia, ib, "chromahouse_group_commit_rows", {});
    serverSide.ingest_rows_per_group_commit = rows.mean;
    log("chromahouse: the client floor (replayed answers)");
    floor = await clientFloor(server.url);
    // The raw baseline after the memory figure (it writes into the same ClickHouse).
    log("chromahouse: raw ClickHouse RowBinary baseline");
    const xml = readFileSync(join(server.dataDir, "clickhouse", "config.xml"), "utf8");
    raw = await rawClickHouse(`http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(xml)[1]}`);
  } finally {
    await stop();
    cleanups.delete(stop);
  }
}

let ref;
{
  const workdir = mkdtempSync(join(tmpdir(), "chromahouse-bench-chroma-"));
  const stop = async () => {
    try {
      execFileSync("bash", [reference, "stop", workdir], { stdio: ["ignore", "ignore", "inherit"] });
    } finally {
      rmSync(workdir, { recursive: true, force: true });
    }
  };
  cleanups.add(stop);
  try {
    const port = await freePort();
    log(`starting Chroma 1.5.9 (${reference} ${port} ${workdir})`);
    const url = execFileSync("bash", [reference, String(port), workdir], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" })
      .trim()
      .split("\n")
      .pop();
    const pid = Number(readFileSync(join(workdir, "server.pid"), "utf8").trim());
    ref = await workload("chroma", url, { pids: () => ({ process_tree: processTree(pid) }) });
    problems.push(...ref.problems);
  } finally {
    await stop();
    cleanups.delete(stop);
  }
}

const loadEnd = loadavg();
log(`load average at end: ${loadEnd.join(" ")}`);

// Agreement of the two servers' top 10 (both approximate): mean overlap of the id sets.
let overlap = 0;
for (let q = 0; q < QUERIES; q++) {
  const a = new Set(ch.r.topIds[q]);
  overlap += ref.r.topIds[q].filter((id) => a.has(id)).length / 10;
}
overlap /= QUERIES;

// ---------------------------------------------------------------------------------------------
// Output

const rows = [
  // [key, measure, value getter, unit, digits]
  ["ingest_vectors_per_s", `ingest ${N} × ${DIM}, batches of ${BATCH} (vectors/s, higher is better)`, (r) => r.ingest_vectors_per_s, 0],
  ["add_batch_p50_ms", "add batch latency p50 (ms)", (r) => r.add_batch_ms.p50, 2],
  ["parallel_ingest_vectors_per_s", `ingest ${N_PARALLEL} × ${DIM} by ${CLIENTS} concurrent clients (vectors/s)`, (r) => r.parallel_ingest_vectors_per_s, 0],
  ["get_records_per_s", `get ${GET_IDS} random ids with embeddings + metadatas (records/s, higher is better)`, (r) => r.get_records_per_s, 0],
  ["get_p50_ms", "get latency p50 (ms)", (r) => r.get_ms.p50, 2],
  ["query_client_p50_ms", "query n_results 10, client: p50 (ms)", (r) => r.query_client_ms.p50, 2],
  ["query_client_p99_ms", "query n_results 10, client: p99 (ms)", (r) => r.query_client_ms.p99, 2],
  ["query_http_p50_ms", "query n_results 10, lean HTTP: p50 (ms)", (r) => r.query_http_ms.p50, 2],
  ["query_http_p99_ms", "query n_results 10, lean HTTP: p99 (ms)", (r) => r.query_http_ms.p99, 2],
  ["heartbeat_http_p50_ms", "heartbeat, lean HTTP (the floor of a request): p50 (ms)", (r) => r.heartbeat_http_ms.p50, 2],
  ["query_where_lt10_p50_ms", "query where bucket < 10 (10 %), client: p50 (ms)", (r) => r.query_where_lt10_ms.p50, 2],
  ["query_where_eq0_p50_ms", "query where bucket = 0 (1 %), client: p50 (ms)", (r) => r.query_where_eq0_ms.p50, 2],
  ["rss_mib", "resident memory at the end (MiB)", (r) => r.rss_mib, 0],
  ["rss_settled_mib", "resident memory after 20 s idle (MiB)", (r) => r.rss_settled_mib, 0],
];
const fmt = (v, d) => (v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(d));
const comparison = {};
console.log(`\n${N} × ${DIM} vectors, batches of ${BATCH}, 1 client, chromadb npm client 3.5.0; load average ${loadStart.join(" ")} at start, ${loadEnd.join(" ")} at end\n`);
console.log("| measure | chromahouse | Chroma 1.5.9 | ratio |");
console.log("|---|---:|---:|---:|");
for (const [key, label, get, digits] of rows) {
  const a = get(ch.r);
  const b = get(ref.r);
  comparison[key] = { chromahouse: a, chroma: b, ratio: a / b };
  console.log(`| ${label} | ${fmt(a, digits)} | ${fmt(b, digits)} | ${fmt(a / b, 2)} |`);
}
const ss = (p) => `${fmt(serverSide[p].mean, 3)} / ${fmt(serverSide[p].p50, 3)} / ${fmt(serverSide[p].p99, 3)} ms`;
console.log("\nchromahouse alone (server-side times from its /metrics, request complete to response: mean / p50 / p99, the percentiles interpolated within the histogram's buckets):");
console.log(`- add (ingest): ${ss("ingest")}; its ClickHouse INSERTs (group commits): ${fmt(serverSide.ingest_group_commit_insert.mean, 3)} ms mean over ${serverSide.ingest_group_commit_insert.count}, ${fmt(serverSide.ingest_rows_per_group_commit, 0)} rows each`);
console.log(`- get: ${ss("get")}`);
console.log(`- query (client phase): ${ss("query_client")}; (lean HTTP phase): ${ss("query_http")}`);
console.log(`- query where bucket < 10: ${ss("query_where_lt10")}; where bucket = 0: ${ss("query_where_eq0")}`);
const chReq = Object.entries(serverSide)
  .filter(([, v]) => v.clickhouse_requests)
  .map(([phase, v]) => `${phase} ${Object.entries(v.clickhouse_requests).map(([k, c]) => `${c} ${k}`).join(", ") || "none"}`);
console.log(`- its requests to ClickHouse during each phase: ${chReq.join("; ")}`);
console.log(`- resident memory at the end: server ${fmt(ch.r.rss_mib_by_part.server, 0)} MiB + embedded ClickHouse ${fmt(ch.r.rss_mib_by_part.clickhouse, 0)} MiB; after 20 s idle: ${fmt(ch.r.rss_settled_mib_by_part.server, 0)} + ${fmt(ch.r.rss_settled_mib_by_part.clickhouse, 0)} MiB`);
console.log(`- HNSW graph caught up ${fmt(ch.r.index_catch_up_s, 2)} s after the last acknowledged add`);
console.log(`- baseline: raw ClickHouse INSERT … FORMAT RowBinary, same rows and batches, 1 sender: ${fmt(raw.rows_per_s, 0)} rows/s (batch p50 ${fmt(raw.batch_ms.p50, 2)} ms)`);
console.log(`- ratio chromahouse ingest / raw ClickHouse: ${fmt(ch.r.ingest_vectors_per_s / raw.rows_per_s, 2)}`);
const perS = (n, ms) => (n * 1000) / ms;
// Throughputs: the floor's over Chroma's is the highest ratio; latencies: the lowest.
const bound = (name, floorValue, chValue, chromaValue, unit) => {
  const best = floorValue / chromaValue;
  console.log(`- ${name}: floor ${fmt(floorValue, 2)} ${unit} (chromahouse ${fmt(chValue, 2)}, Chroma ${fmt(chromaValue, 2)}); the best ratio any server could reach through this client: ${fmt(best, 2)}`);
  return best;
};
console.log("\nclient floor (the npm client alone: its fetch answered in-process with chromahouse's recorded answers; ingest and get from mean times):");
const floorBounds = {
  ingest_vectors_per_s: bound("ingest (vectors/s)", perS(BATCH, floor.add_batch_ms.mean), ch.r.ingest_vectors_per_s, ref.r.ingest_vectors_per_s, "vectors/s"),
  get_records_per_s: bound("get (records/s)", perS(GET_IDS, floor.get_ms.mean), ch.r.get_records_per_s, ref.r.get_records_per_s, "records/s"),
  query_client_p50_ms: bound("query through the client, p50 (ms)", floor.query_client_ms.p50, ch.r.query_client_ms.p50, ref.r.query_client_ms.p50, "ms"),
};
console.log(`\ntop-10 agreement between the two servers (mean overlap of the unfiltered query results): ${overlap.toFixed(3)}`);
if (problems.length) {
  console.log(`\nFAILED CHECKS (${problems.length}):`);
  for (const p of problems) console.log(`- ${p}`);
}

const strip = ({ topIds, ...r }) => r;
const result = {
  n: N, dim: DIM, batch: BATCH, gets: GETS, get_ids: GET_IDS, queries: QUERIES, seed: SEED,
  client: "chromadb 3.5.0",
  loadavg_start: loadStart,
  loadavg_end: loadEnd,
  chromahouse: strip(ch.r),
  chroma_1_5_9: strip(ref.r),
  comparison,
  chromahouse_server_side_ms: serverSide,
  client_floor: { ...floor, best_ratios: floorBounds },
  raw_clickhouse_rowbinary: { ...raw, ingest_ratio: ch.r.ingest_vectors_per_s / raw.rows_per_s },
  top10_overlap_between_servers: overlap,
  problems,
};
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "chroma_side_by_side.json"), JSON.stringify(result, null, 2));
process.exit(problems.length ? 1 : 0);
