// End-to-end benchmark through the official npm client (chromadb 3.x, base64 embeddings):
// ingest N × D vectors in batches, then single-client query latency and recall@10 against
// exact ground truth computed here. Prints a table and writes bench/results/e2e.json.
//
//   node bench/e2e_bench.mjs [--n 100000] [--dim 128] [--batch 100] [--queries 200] [--clients 1]
//                            [--url http://127.0.0.1:8000]   (default: start build/chromahouse)
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { gaussianMixture, percentile } from "./workload.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "tests", "e2e", "package.json"));
const { ChromaClient } = require("chromadb");
const { ServerProcess } = await import(join(here, "..", "tests", "e2e", "harness.mjs"));

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const N = Number(args.n ?? 100000);
const DIM = Number(args.dim ?? 128);
const BATCH = Number(args.batch ?? 100);
const QUERIES = Number(args.queries ?? 200);
const CLIENTS = Number(args.clients ?? 1);

// Seeded Gaussian mixture (workload.mjs): N records, then the held-out queries.
const data = gaussianMixture(N + QUERIES, DIM, 42);
let server;
let url = args.url;
if (!url) {
  server = new ServerProcess();
  await server.start();
  url = server.url;
}
const { hostname, port } = new URL(url);
const client = new ChromaClient({ host: hostname, port: Number(port) });
const name = `bench-${Date.now()}`;
const coll = await client.createCollection({ name, embeddingFunction: null });

// Ingest: CLIENTS concurrent clients, each sending its share of the batches in order.
const batchTimes = [];
const t0 = performance.now();
async function ingestWorker(w) {
  for (let start = w * BATCH; start < N; start += BATCH * CLIENTS) {
    const end = Math.min(N, start + BATCH);
    const ids = [];
    const embeddings = [];
    for (let i = start; i < end; i++) {
      ids.push(`id-${i}`);
      embeddings.push(Array.from(data.subarray(i * DIM, (i + 1) * DIM)));
    }
    const b0 = performance.now();
    await coll.add({ ids, embeddings });
    batchTimes.push(performance.now() - b0);
  }
}
await Promise.all(Array.from({ length: CLIENTS }, (_, w) => ingestWorker(w)));
const ingestSeconds = (performance.now() - t0) / 1000;
batchTimes.sort((a, b) => a - b);

// Baseline, same run: the same rows as raw `INSERT … FORMAT RowBinary` batches straight into
// ClickHouse (same table layout, same batch size, same number of concurrent senders).
async function rawClickHouseRate(chUrl) {
  const q = (sql, body) =>
    fetch(`${chUrl}/?query=${encodeURIComponent(sql)}`, { method: "POST", body: body ?? "" }).then(async (r) => {
      if (!r.ok) throw new Error(`ClickHouse: ${await r.text()}`);
    });
  await q("CREATE DATABASE IF NOT EXISTS bench_raw");
  await q("DROP TABLE IF EXISTS bench_raw.records");
  await q("CREATE TABLE bench_raw.records (collection String, id String, ver UInt64, created UInt64, deleted UInt8, embedding Array(Float32), document Nullable(String), uri Nullable(String), metadata Nullable(String)) ENGINE = ReplacingMergeTree(ver) ORDER BY (collection, id)");
  const collection = Buffer.from("00000000-0000-4000-8000-000000000000");
  function varuint(n, out) {
    while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
    out.push(n);
  }
  function rowBinary(start, end) {
    const parts = [];
    for (let i = start; i < end; i++) {
      const head = [];
      varuint(collection.length, head);
      const id = Buffer.from(`id-${i}`);
      const idLen = [];
      varuint(id.length, idLen);
      const fixed = Buffer.alloc(17);
      fixed.writeBigUInt64LE(BigInt(i + 1), 0);
      fixed.writeBigUInt64LE(BigInt(i + 1), 8);
      fixed.writeUInt8(0, 16);
      const n = [];
      varuint(DIM, n);
      const vec = Buffer.from(data.buffer, data.byteOffset + i * DIM * 4, DIM * 4);
      parts.push(Buffer.from(head), collection, Buffer.from(idLen), id, fixed, Buffer.from(n), vec, Buffer.from([1, 1, 1]));
    }
    return Buffer.concat(parts);
  }
  const t = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, w) => {
    for (let start = w * BATCH; start < N; start += BATCH * CLIENTS) {
      await q("INSERT INTO bench_raw.records FORMAT RowBinary", rowBinary(start, Math.min(N, start + BATCH)));
    }
  }));
  const seconds = (performance.now() - t) / 1000;
  await q("DROP TABLE bench_raw.records");
  return N / seconds;
}
// Wait for the background indexer (its CPU would otherwise slow the baseline down).
const indexStart = performance.now();
for (;;) {
  const st = await fetch(`${url}/api/v2/tenants/default_tenant/databases/default_database/collections/${coll.id}/indexing_status`).then((r) => r.json());
  if (st.num_unindexed_ops === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
const indexCatchUpSeconds = (performance.now() - indexStart) / 1000;

let rawRate = null;
if (server) {
  const xml = (await import("node:fs")).readFileSync(join(server.dataDir, "clickhouse", "config.xml"), "utf8");
  rawRate = await rawClickHouseRate(`http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(xml)[1]}`);
}

// Ground truth (exact l2) for the held-out queries.
function exactTop10(q) {
  const best = [];
  for (let i = 0; i < N; i++) {
    let d = 0;
    for (let k = 0; k < DIM; k++) {
      const x = data[i * DIM + k] - q[k];
      d += x * x;
    }
    if (best.length < 10 || d < best[best.length - 1][0]) {
      best.push([d, i]);
      best.sort((a, b) => a[0] - b[0]);
      if (best.length > 10) best.pop();
    }
  }
  return new Set(best.map(([, i]) => `id-${i}`));
}

const latencies = [];
let hits = 0;
for (let qi = 0; qi < QUERIES; qi++) {
  const q = Array.from(data.subarray((N + qi) * DIM, (N + qi + 1) * DIM));
  const q0 = performance.now();
  const res = await coll.query({ queryEmbeddings: [q], nResults: 10, include: ["distances"] });
  latencies.push(performance.now() - q0);
  const truth = exactTop10(q);
  for (const id of res.ids[0]) if (truth.has(id)) hits++;
}
latencies.sort((a, b) => a - b);

const result = {
  n: N, dim: DIM, batch: BATCH, queries: QUERIES,
  clients: CLIENTS,
  index_catch_up_after_ingest_s: indexCatchUpSeconds,
  ingest_vectors_per_s: Math.round(N / ingestSeconds),
  raw_clickhouse_rowbinary_rows_per_s: rawRate && Math.round(rawRate),
  ingest_ratio_vs_raw_clickhouse: rawRate && N / ingestSeconds / rawRate,
  batch_ms: { p50: percentile(batchTimes, 50), p99: percentile(batchTimes, 99), p999: percentile(batchTimes, 99.9) },
  query_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), p999: percentile(latencies, 99.9) },
  recall_at_10: hits / (QUERIES * 10),
};
console.log(`| measure | value |\n|---|---|`);
console.log(`| ingest ${N} × ${DIM}, batches of ${BATCH}, ${CLIENTS} client(s) (npm client, base64) | ${result.ingest_vectors_per_s} vectors/s |`);
if (rawRate) {
  console.log(`| baseline: raw ClickHouse INSERT RowBinary, same rows, batch size and senders | ${result.raw_clickhouse_rowbinary_rows_per_s} rows/s |`);
  console.log(`| ratio chromahouse / raw ClickHouse | ${result.ingest_ratio_vs_raw_clickhouse.toFixed(2)} |`);
}
console.log(`| HNSW graph caught up after the last acknowledged add | ${indexCatchUpSeconds.toFixed(1)} s |`);
console.log(`| batch latency p50 / p99 / p99.9 | ${result.batch_ms.p50.toFixed(1)} / ${result.batch_ms.p99.toFixed(1)} / ${result.batch_ms.p999.toFixed(1)} ms |`);
console.log(`| query latency p50 / p99 / p99.9 (n_results 10, 1 client) | ${result.query_ms.p50.toFixed(2)} / ${result.query_ms.p99.toFixed(2)} / ${result.query_ms.p999.toFixed(2)} ms |`);
console.log(`| recall@10 | ${result.recall_at_10.toFixed(4)} |`);
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", `e2e_n${N}_d${DIM}_b${BATCH}_c${CLIENTS}.json`), JSON.stringify(result, null, 2));
if (server) await server.cleanup();
