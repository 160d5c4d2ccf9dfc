// Collection fork (Chroma Cloud's API, served here) across two instances sharing a PostgreSQL
// catalog and one ClickHouse: the official npm client's collection.fork() and forkCount() work
// through either instance; the fork has the source's configuration, schema, metadata and records
// (bit for bit), adopts the source's index snapshot instead of rebuilding its graph, and is
// independent of the source from then on; a fork taken while writers write through both
// instances holds every write acknowledged before it and no write in part; name clashes answer
// as create does.
//
// Needs PostgreSQL's server binaries (postgresql-15; see postgres.mjs).
// Run from tests/e2e:  node --test fork.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChromaClient } from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import { PostgresServer, missingPostgres } from "./postgres.mjs";
import { assertErrorResponse, collectionsPath, mulberry32, until } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL
  ? "CHROMA_URL is set: this test starts its own instances and PostgreSQL"
  : missingPostgres() || undefined;
const COLLS = collectionsPath();
const DIM = 16;
const N = 1200;
const SNAPSHOT_MIN_RECORDS = 1000;

function vectors(rand, n) {
  return Array.from({ length: n }, () => Array.from({ length: DIM }, () => Math.fround(rand() * 2 - 1)));
}

// Every record of a collection, by id: [embedding, document, metadata].
async function allRecords(url, id) {
  const res = await request(url, "POST", `${COLLS}/${id}/get`, {
    body: { include: ["embeddings", "documents", "metadatas"] },
  });
  assert.equal(res.status, 200, res.text);
  const out = new Map();
  res.json.ids.forEach((rid, i) => out.set(rid, [res.json.embeddings[i], res.json.documents[i], res.json.metadatas[i]]));
  return out;
}

async function count(url, id) {
  const res = await request(url, "GET", `${COLLS}/${id}/count`);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

describe("collection fork across two instances", { skip: SKIP }, () => {
  let pg, a, b, clientA, clientB;
  const rand = mulberry32(20261207);

  before(async () => {
    pg = new PostgresServer();
    await pg.start();
    const catalogUrl = await pg.createDatabase("chromahouse");
    const common = ["--catalog-url", catalogUrl, "--index-snapshot-min-records", String(SNAPSHOT_MIN_RECORDS)];
    a = new ServerProcess({ args: [...common, "--instance-id", "1"] });
    await a.start();
    const config = readFileSync(join(a.dataDir, "clickhouse", "config.xml"), "utf8");
    const chUrl = `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
    b = new ServerProcess({ args: ["--clickhouse-url", chUrl, ...common, "--instance-id", "2"] });
    await b.start();
    clientA = new ChromaClient({ host: a.host, port: a.port });
    clientB = new ChromaClient({ host: b.host, port: b.port });
  });

  after(async () => {
    await b?.cleanup();
    await a?.cleanup();
    await pg?.cleanup();
  });

  test("fork() through the other instance: same collection, its graph adopted, then independent", async () => {
    const source = await clientA.createCollection({
      name: "library",
      metadata: { topic: "cats", year: 2026 },
      configuration: { hnsw: { space: "cosine", ef_search: 77 } },
      embeddingFunction: null,
    });
    const data = vectors(rand, N);
    for (let i = 0; i < N; i += 300) {
      await source.add({
        ids: data.slice(i, i + 300).map((_, j) => `r${i + j}`),
        embeddings: data.slice(i, i + 300),
        documents: data.slice(i, i + 300).map((_, j) => `document ${i + j}`),
        metadatas: data.slice(i, i + 300).map((_, j) => ({ n: i + j, even: (i + j) % 2 === 0 })),
      });
    }
    // Once A's graph holds every record it saves a snapshot (smaller ones may come first).
    const written = new RegExp(`collection ${source.id}: index snapshot \\d+ written \\(${N} nodes`);
    await until("A's index snapshot of every record", async () => written.test(a.log), 30000);

    assert.equal(await (await clientB.getCollection({ name: "library", embeddingFunction: null })).forkCount(), 0);
    const viaB = await clientB.getCollection({ name: "library", embeddingFunction: null });
    const fork = await viaB.fork({ name: "library-copy" });
    assert.notEqual(fork.id, source.id);
    assert.equal(fork.name, "library-copy");

    // The catalog entry: everything but id and name as the source's, on both instances.
    const entry = async (url, name) => {
      const res = await request(url, "GET", `${COLLS}/${name}`);
      assert.equal(res.status, 200, res.text);
      const { id, name: n, ...rest } = res.json;
      return { id, name: n, rest };
    };
    const src = await entry(a.url, "library");
    for (const url of [a.url, b.url]) {
      const got = await until(`the fork on ${url}`, async () => (await request(url, "GET", `${COLLS}/library-copy`)).status === 200, 5000)
        .then(() => entry(url, "library-copy"));
      assert.equal(got.id, fork.id);
      assert.deepEqual(got.rest, src.rest);
    }
    assert.equal(src.rest.configuration_json.hnsw.space, "cosine");
    assert.equal(src.rest.dimension, DIM);

    // The records, bit for bit, read through A (which never saw the fork being made).
    const want = await allRecords(a.url, source.id);
    const got = await allRecords(a.url, fork.id);
    assert.equal(got.size, N);
    assert.deepEqual(got, want);
    // The first instance to load the fork adopted the copied snapshot: no graph rebuild.
    const q = await clientA.getCollection({ name: "library-copy", embeddingFunction: null });
    const r = await q.query({ queryEmbeddings: [data[5]], nResults: 3, include: ["distances"] });
    assert.equal(r.ids[0][0], "r5");
    assert.ok(Math.abs(r.distances[0][0]) < 1e-5, `cosine distance to itself: ${r.distances[0][0]}`);
    assert.match(a.log, new RegExp(`collection ${fork.id}: graph from index snapshot \\d+ \\(\\d+ MiB, ${N} nodes reused`));

    // Independent from now on, seen the same way through both instances.
    await q.add({ ids: ["only-in-fork"], embeddings: [data[0]] });
    await viaB.delete({ ids: ["r0", "r1"] });
    for (const url of [a.url, b.url]) {
      await until(`${url}: counts after the writes`, async (last) => {
        const [s, f] = [await count(url, source.id), await count(url, fork.id)];
        last.text = `source ${s}, fork ${f}`;
        return s === N - 2 && f === N + 1;
      }, 5000);
    }

    // forkCount: per lineage, the same from every member and instance.
    const second = await q.fork({ name: "library-copy-2" });
    for (const client of [clientA, clientB]) {
      for (const name of ["library", "library-copy", "library-copy-2"]) {
        const col = await client.getCollection({ name, embeddingFunction: null });
        assert.equal(await col.forkCount(), 2, `${name}`);
      }
    }
    assert.equal(await count(b.url, second.id), N + 1);

    // Name clashes and rules as create's.
    assertErrorResponse(
      await request(b.url, "POST", `${COLLS}/${source.id}/fork`, { body: { new_name: "library-copy" } }),
      409, "ChromaError", /^Collection \[library-copy\] already exists$/,
    );
    const bad = await request(a.url, "POST", `${COLLS}/${source.id}/fork`, { body: { new_name: "x" } });
    assert.equal(bad.status, 400, bad.text);
    const missing = await request(a.url, "POST", `${COLLS}/7d5e1c2a-0000-4000-8000-00000000abcd/fork`, { body: { new_name: "nowhere" } });
    assert.equal(missing.status, 404, missing.text);
  });

  test("a fork taken while both instances write holds every acknowledged write and no write in part", async () => {
    const BATCH = 40;
    const name = "busy";
    const colA = await clientA.createCollection({ name, embeddingFunction: null });
    await colA.add({ ids: ["seed"], embeddings: [vectors(rand, 1)[0]] });
    const colB = await clientB.getCollection({ name, embeddingFunction: null });
    const acked = []; // [writer, batch, time acknowledged]
    let stop = false;
    const writer = async (col, tag) => {
      for (let k = 0; !stop; k++) {
        await col.add({
          ids: Array.from({ length: BATCH }, (_, j) => `${tag}-${k}-${j}`),
          embeddings: vectors(rand, BATCH),
          metadatas: Array.from({ length: BATCH }, () => ({ batch: `${tag}-${k}` })),
        });
        acked.push([tag, k, performance.now()]);
      }
    };
    const writers = [writer(colA, "a"), writer(colB, "b"), writer(colA, "c")];
    await until("some writes", async () => acked.length >= 6, 10000);
    const forkStarted = performance.now();
    const fork = await colB.fork({ name: `${name}-fork` });
    await until("writes after the fork", async () => acked.filter(([, , t]) => t > forkStarted).length >= 6, 10000);
    stop = true;
    await Promise.all(writers);

    const res = await request(a.url, "POST", `${COLLS}/${fork.id}/get`, { body: { include: ["metadatas"] } });
    assert.equal(res.status, 200, res.text);
    const perBatch = new Map();
    for (const m of res.json.metadatas) if (m) perBatch.set(m.batch, (perBatch.get(m.batch) ?? 0) + 1);
    for (const [batch, n] of perBatch) assert.equal(n, BATCH, `batch ${batch} is in the fork in part (${n} of ${BATCH})`);
    for (const [tag, k, t] of acked) {
      if (t < forkStarted) assert.ok(perBatch.has(`${tag}-${k}`), `batch ${tag}-${k}, acknowledged before the fork, is missing`);
    }
    const inSource = await count(a.url, colA.id);
    assert.equal(inSource, 1 + acked.length * BATCH);
    assert.ok(perBatch.size < acked.length, "writes after the fork stayed out of it");
    console.log(`# fork holds ${perBatch.size} of ${acked.length} batches (${acked.filter(([, , t]) => t < forkStarted).length} acknowledged before it began)`);
  });
});
