// Index snapshots across instances (issue: stateless scale-out, fast warm-up): instance A builds
// a collection's HNSW graph and saves it in ClickHouse; instance B, loading the collection,
// adopts that graph instead of rebuilding it and answers exactly as A does; a corrupt snapshot
// only makes instance C rebuild (logged with the reason), never answer wrongly.
// The catalog stays in ClickHouse (no --catalog-url): B and C only read (getCollection, get,
// query) and change nothing in the catalog, which instances sharing a ClickHouse catalog may still
// do (they refuse catalog changes only; see catalog_guard.test.mjs). Every catalog change here
// (the collection's creation, its dimension) goes through A before B starts.
//
// Run from the repo root:  node --test tests/e2e/snapshot.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChromaClient } from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import { mulberry32, waitFor } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL && "starts its own instances";
const DIM = 32;
const N = 4000;
const MIN_RECORDS = 2000;

function gaussians(rand, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const v = [];
    for (let d = 0; d < DIM; d++) {
      // Box-Muller, float32.
      const u = Math.max(rand(), 1e-12);
      v.push(Math.fround(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())));
    }
    out.push(v);
  }
  return out;
}

// Exact top-k ids by squared L2.
function exactTopK(data, ids, q, k) {
  const scored = data.map((v, i) => {
    let s = 0;
    for (let d = 0; d < DIM; d++) s += (v[d] - q[d]) ** 2;
    return [s, ids[i]];
  });
  scored.sort((a, b) => a[0] - b[0]);
  return scored.slice(0, k).map((x) => x[1]);
}

function recall(results, truth) {
  let hits = 0;
  let total = 0;
  results.forEach((ids, q) => {
    const t = new Set(truth[q]);
    hits += ids.filter((id) => t.has(id)).length;
    total += t.size;
  });
  return hits / total;
}

async function clickhouseSql(url, sql) {
  // POST: ClickHouse runs GET requests read-only.
  const res = await fetch(`${url}/`, { method: "POST", body: sql });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

async function indexingStatus(server, collectionId) {
  const res = await request(
    server.url,
    "GET",
    `/api/v2/tenants/default_tenant/databases/default_database/collections/${collectionId}/indexing_status`,
  );
  assert.equal(res.status, 200);
  return res.json;
}

describe("index snapshots in ClickHouse", { skip: SKIP }, () => {
  let a, b, c, chUrl;
  const rand = mulberry32(20261202);
  const ids = Array.from({ length: N }, (_, i) => `doc-${i}`);
  const data = gaussians(rand, N);
  const queries = gaussians(rand, 30);
  const truth = queries.map((q) => exactTopK(data, ids, q, 10));
  let collectionId;

  const query = async (server) => {
    const col = await new ChromaClient({ path: server.url }).getCollection({
      name: "snap",
      embeddingFunction: null,
    });
    const r = await col.query({ queryEmbeddings: queries, nResults: 10, include: ["distances"] });
    return { ids: r.ids, distances: r.distances };
  };

  before(async () => {
    a = await new ServerProcess({
      args: ["--instance-id", "1", "--index-snapshot-min-records", String(MIN_RECORDS)],
    }).start();
    const config = readFileSync(join(a.dataDir, "clickhouse", "config.xml"), "utf8");
    chUrl = `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
  });
  after(async () => {
    await c?.cleanup();
    await b?.cleanup();
    await a?.cleanup();
  });

  test("A writes a snapshot of its graph; B adopts it and answers as A does", async () => {
    const col = await new ChromaClient({ path: a.url }).createCollection({
      name: "snap",
      embeddingFunction: null,
      configuration: { hnsw: { space: "l2" } },
    });
    collectionId = col.id;
    for (let i = 0; i < N; i += 500) {
      await col.add({ ids: ids.slice(i, i + 500), embeddings: data.slice(i, i + 500) });
    }
    // Once the graph holds every record, A saves it (earlier, smaller snapshots may come first).
    await waitFor(
      async () =>
        Number(
          await clickhouseSql(
            chUrl,
            `SELECT count() FROM chromahouse.index_snapshots WHERE collection = '${collectionId}' AND records = ${N}`,
          ),
        ) > 0,
      60000,
      "a snapshot of all records",
    );
    // The server logs the write once ClickHouse acknowledged it (a reader may see the rows first).
    const written = new RegExp(`collection ${collectionId}: index snapshot \\d+ written \\(${N} nodes`);
    await waitFor(() => written.test(a.log), 10000, "the snapshot's log line");
    const fromA = await query(a);
    assert.ok(recall(fromA.ids, truth) >= 0.95, `recall on A ${recall(fromA.ids, truth)}`);

    b = await new ServerProcess({
      args: ["--clickhouse-url", chUrl, "--instance-id", "2", "--index-snapshot-min-records", "0"],
    }).start();
    const fromB = await query(b);
    assert.match(b.log, new RegExp(`collection ${collectionId}: graph from index snapshot \\d+ \\(\\d+ MiB, ${N} nodes reused, 0 changed, 0 dropped, 0 records to index; read in \\d+ ms, adopted in \\d+ ms\\)`));
    // The same graph: the same answers, to the last bit of every distance.
    assert.deepEqual(fromB, fromA);
    const status = await indexingStatus(b, collectionId);
    assert.equal(status.num_unindexed_ops, 0);
    assert.equal(status.num_indexed_ops, N);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /chromahouse_index_snapshot_loads_total\{result="adopted"\} 1\b/);
    // B was told to write none.
    assert.doesNotMatch(b.log, /index snapshot \d+ written/);
  });

  test("a corrupt snapshot is refused with its reason; C rebuilds and still answers right", async () => {
    // A newer, complete, but corrupt snapshot (as a bad write or disk could leave).
    await clickhouseSql(
      chUrl,
      `INSERT INTO chromahouse.index_snapshots (collection, snapshot, chunk, chunks, format, watermark, records, bytes, data) VALUES ('${collectionId}', 18446744073709551000, 0, 1, 1, 0, ${N}, 20, 'CHSNAP01junkjunkjunk')`,
    );
    c = await new ServerProcess({
      args: ["--clickhouse-url", chUrl, "--instance-id", "3", "--index-snapshot-min-records", "0"],
    }).start();
    const first = await query(c);
    assert.match(c.log, new RegExp(`collection ${collectionId}: index snapshot 18446744073709551000 refused \\(index snapshot: checksum mismatch\\); rebuilding the graph`));
    // Right while the graph is rebuilt (records waiting for it are scanned exactly)…
    assert.ok(recall(first.ids, truth) >= 0.95, `recall on C while indexing ${recall(first.ids, truth)}`);
    await waitFor(async () => (await indexingStatus(c, collectionId)).num_unindexed_ops === 0, 60000, "C's graph");
    // …and after.
    const rebuilt = await query(c);
    assert.ok(recall(rebuilt.ids, truth) >= 0.95, `recall on C ${recall(rebuilt.ids, truth)}`);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    assert.match(metrics, /chromahouse_index_snapshot_loads_total\{result="refused"\} 1\b/);
  });
});
