// Several chromahouse instances on one ClickHouse (issue: stateless scale-out): instance A runs
// the embedded ClickHouse, instances B and C use it through --clickhouse-url, and all three keep
// the catalog in one PostgreSQL (--catalog-url: the supported shape for several instances; with
// the catalog in ClickHouse an instance that sees another one refuses catalog changes, see
// catalog_guard.test.mjs). A and B (--freshness-ms 100) hear of each other's writes and catalog
// changes through PostgreSQL's LISTEN/NOTIFY; C (--freshness-ms 0: no notifications) checks
// ClickHouse and the catalog before every request. A write acknowledged by one instance is read
// by the others within the bound (0 = immediately); concurrent upserts of the same ids through
// two instances converge to the same state on both and in ClickHouse; catalog changes (create,
// rename, delete) propagate.
//
// Needs PostgreSQL's server binaries (postgresql-15; see postgres.mjs).
// Run from tests/e2e:  node --test multi_instance.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChromaClient } from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import { PostgresServer, missingPostgres } from "./postgres.mjs";

const SKIP = process.env.CHROMA_URL ? "starts its own instances and PostgreSQL" : missingPostgres() || undefined;
const COLLS = "/api/v2/tenants/default_tenant/databases/default_database/collections";
// A's and B's --freshness-ms (with the catalog in PostgreSQL, writes are announced: this is the
// bound they are held to here, though announcements usually arrive sooner).
const BOUND_MS = 100;
// Scheduling slack on a loaded 2-core machine (the bound itself is BOUND_MS).
const SLACK_MS = 1500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs) {
  const start = Date.now();
  while (true) {
    const v = await fn();
    if (v) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

async function clickhouseSql(url, sql) {
  const res = await fetch(`${url}/?query=${encodeURIComponent(sql)}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

describe("instances sharing one ClickHouse", { skip: SKIP }, () => {
  let pg, a, b, c, chUrl;
  before(async () => {
    pg = new PostgresServer();
    await pg.start();
    const catalog = ["--catalog-url", await pg.createDatabase("chromahouse")];
    a = await new ServerProcess({ args: [...catalog, "--freshness-ms", String(BOUND_MS), "--instance-id", "1"] }).start();
    const config = readFileSync(join(a.dataDir, "clickhouse", "config.xml"), "utf8");
    chUrl = `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
    const external = ["--clickhouse-url", chUrl, ...catalog];
    b = await new ServerProcess({ args: [...external, "--freshness-ms", String(BOUND_MS), "--instance-id", "2"] }).start();
    c = await new ServerProcess({ args: [...external, "--freshness-ms", "0", "--instance-id", "3"] }).start();
    // What each instance was told (the log line at start): B by announcements, C before every request.
    assert.match(b.log, /freshness announced through PostgreSQL/);
    assert.match(c.log, /freshness checked before every request/);
  });
  after(async () => {
    await c?.cleanup();
    await b?.cleanup();
    await a?.cleanup();
    await pg?.cleanup();
  });

  test("a collection created and written on A is read on B within the bound, on C at once", async () => {
    const ca = new ChromaClient({ path: a.url });
    const colA = await ca.createCollection({ name: "shared-docs", embeddingFunction: null });
    await colA.add({ ids: ["1", "2"], embeddings: [[1, 0], [0, 1]], documents: ["one", "two"] });
    const written = Date.now();
    // C checks ClickHouse before every request: the first read sees everything.
    const onC = await request(c.url, "POST", `${COLLS}/${colA.id}/get`, { body: { include: ["documents"] } });
    assert.equal(onC.status, 200, onC.text);
    assert.deepEqual(onC.json.documents, ["one", "two"]);
    // B: within the bound (plus slack).
    const took = await until("B sees A's add", async () => {
      const r = await request(b.url, "POST", `${COLLS}/${colA.id}/get`, { body: { include: ["documents"] } });
      return r.status === 200 && r.json.ids.length === 2;
    }, BOUND_MS + SLACK_MS);
    // Then a change to a collection B already has in memory.
    await colA.upsert({ ids: ["2"], embeddings: [[0, 2]], documents: ["two v2"] });
    const again = await until("B sees A's upsert", async () => {
      const r = await request(b.url, "POST", `${COLLS}/${colA.id}/get`, { body: { ids: ["2"], include: ["documents", "embeddings"] } });
      return r.json.documents?.[0] === "two v2" && r.json.embeddings[0][1] === 2;
    }, BOUND_MS + SLACK_MS);
    const q = await request(b.url, "POST", `${COLLS}/${colA.id}/query`, { body: { query_embeddings: [[0, 2]], n_results: 1 } });
    assert.deepEqual(q.json.ids, [["2"]]);
    console.log(`# visible on B ${took} ms after the add (${Date.now() - written} ms incl. checks), upsert after ${again} ms`);
  });

  test("concurrent upserts of the same ids through A and B converge", async () => {
    const created = await request(a.url, "POST", COLLS, { body: { name: "contended" } });
    const id = created.json.id;
    const ids = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const writer = async (server, tag) => {
      for (let round = 0; round < 25; round++) {
        const some = ids.filter((_, i) => (i * 7 + round * 3 + tag.length) % 3 !== 0);
        const r = await request(server.url, "POST", `${COLLS}/${id}/upsert`, {
          body: { ids: some, embeddings: some.map((_, i) => [round, i]), documents: some.map(() => `${tag}-${round}`), metadatas: some.map(() => ({ by: tag, round })) },
        });
        assert.equal(r.status, 200, r.text);
      }
    };
    await Promise.all([writer(a, "a"), writer(b, "bb")]);
    // ClickHouse's answer: the newest version of each id.
    const rows = await clickhouseSql(chUrl,
      `SELECT id, argMax(document, ver) FROM chromahouse.records WHERE collection = '${id}' GROUP BY id ORDER BY id FORMAT TSV`);
    const truth = Object.fromEntries(rows.trim().split("\n").map((l) => l.split("\t")));
    assert.equal(Object.keys(truth).length, ids.length);
    const read = async (server) => {
      const r = await request(server.url, "POST", `${COLLS}/${id}/get`, { body: { include: ["documents", "metadatas"] } });
      const out = {};
      r.json.ids.forEach((x, i) => {
        out[x] = r.json.documents[i];
        assert.equal(r.json.metadatas[i].by, r.json.documents[i].split("-")[0], "document and metadata of one version");
      });
      return out;
    };
    let last;
    try {
      await until("A and B agree with ClickHouse", async () => {
        const [onA, onB] = await Promise.all([read(a), read(b)]);
        last = { onA, onB };
        const same = (m) => Object.keys(m).length === Object.keys(truth).length && Object.keys(truth).every((k) => m[k] === truth[k]);
        return same(onA) && same(onB);
      }, BOUND_MS + SLACK_MS);
    } catch (e) {
      const diff = (m) => Object.keys(truth).filter((k) => m[k] !== truth[k]).map((k) => `${k}: ${m[k]} vs ${truth[k]}`);
      e.message += `\nA differs: ${diff(last.onA).join(", ")}\nB differs: ${diff(last.onB).join(", ")}`;
      throw e;
    }
    assert.deepEqual(await read(c), truth);
  });

  test("renames and deletes on A reach B within the bound", async () => {
    const created = await request(a.url, "POST", COLLS, { body: { name: "short-lived" } });
    const id = created.json.id;
    await until("B knows the collection", async () => (await request(b.url, "GET", `${COLLS}/short-lived`)).status === 200, BOUND_MS + SLACK_MS);
    assert.equal((await request(a.url, "PUT", `${COLLS}/${id}`, { body: { new_name: "renamed" } })).status, 200);
    await until("B sees the rename", async () => (await request(b.url, "GET", `${COLLS}/renamed`)).status === 200, BOUND_MS + SLACK_MS);
    assert.equal((await request(a.url, "DELETE", `${COLLS}/renamed`)).status, 200);
    const took = await until("B answers 404", async () => (await request(b.url, "GET", `${COLLS}/renamed`)).status === 404, BOUND_MS + SLACK_MS);
    const count = await request(b.url, "GET", `${COLLS}/${id}/count`);
    assert.equal(count.status, 404);
    assert.equal((await request(c.url, "GET", `${COLLS}/renamed`)).status, 404);
    console.log(`# delete visible on B after ${took} ms`);
  });
});
