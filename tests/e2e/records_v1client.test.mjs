// End-to-end tests of the record routes with the OLD npm client `chromadb` 1.10.x (installed as the
// alias `chromadb-v1`). It calls the v2 routes, never asks /pre-flight-checks, always sends
// embeddings as float arrays (never base64), and its generated functions accept only the exact
// success status (201 for add, 200 otherwise) with `Content-Type: application/json`; any other
// answer throws. Its results are the raw JSON responses.
//
// Run from the repo root:   node --test tests/e2e/records_v1client.test.mjs
// Against a running server:  CHROMA_URL=http://127.0.0.1:8000 node --test tests/e2e/records_v1client.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChromaClient, InvalidArgumentError } from "chromadb-v1";
import { ServerProcess } from "./harness.mjs";
import { fourPointRecords, letterCountEmbedding, makeUniq } from "./testlib.mjs";

const { uniq } = makeUniq();

// The 1.x client wants an object with generate(); this one is trivial and offline:
// [length of the text, count of "a", 1].
const fakeEmbeddingFunction = {
  calls: 0,
  async generate(texts) {
    this.calls += 1;
    return texts.map(letterCountEmbedding);
  },
};

let server;
let client;

before(async () => {
  server = await new ServerProcess().start();
  client = new ChromaClient({ path: server.url });
});

after(async () => {
  await server?.cleanup();
});

async function newCollection(prefix, metadata) {
  return client.createCollection({ name: uniq(prefix), metadata, embeddingFunction: fakeEmbeddingFunction });
}

// Records every request the client makes (method, path, parsed body) and the answers' statuses.
async function recordRequests(fn) {
  const seen = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init = {}) => {
    const u = new URL(typeof input === "string" ? input : input.url);
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const res = await realFetch(input, init);
    seen.push({ method: init.method ?? "GET", path: u.pathname, body, status: res.status });
    return res;
  };
  try {
    await fn();
  } finally {
    globalThis.fetch = realFetch;
  }
  return seen;
}

describe("chromadb 1.10.x client on the record routes", () => {
  test("add (201) sends float arrays on v2 routes, never base64 nor pre-flight", async () => {
    const col = await newCollection("v1add");
    const seen = await recordRequests(async () => {
      await col.add({
        ids: ["a", "b"],
        embeddings: [
          [0.1, 2, 3],
          [4, 5.5, -6],
        ],
        documents: ["doc a", "doc b"],
        metadatas: [{ k: "va", n: 1 }, { k: "vb", f: 2.5, t: true }],
      });
      // a single record can be given without the outer arrays
      await col.add({ ids: "c", embeddings: [7, 8, 9], documents: "doc c", metadatas: { k: "vc" } });
    });
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        `POST /api/v2/tenants/default_tenant/databases/default_database/collections/${col.id}/add 201`,
        `POST /api/v2/tenants/default_tenant/databases/default_database/collections/${col.id}/add 201`,
      ],
    );
    assert.deepEqual(seen[0].body.embeddings, [
      [0.1, 2, 3],
      [4, 5.5, -6],
    ]);
    assert.deepEqual(seen[1].body.embeddings, [[7, 8, 9]]);
    assert.ok(!seen.some((r) => r.path.endsWith("pre-flight-checks")));

    assert.equal(await col.count(), 3);
    const got = await col.get({ include: ["embeddings", "documents", "metadatas"] });
    assert.deepEqual(got.ids, ["a", "b", "c"]);
    assert.deepEqual(got.embeddings, [
      [0.1, 2, 3],
      [4, 5.5, -6],
      [7, 8, 9],
    ]);
    assert.deepEqual(got.documents, ["doc a", "doc b", "doc c"]);
    assert.deepEqual(got.metadatas, [{ k: "va", n: 1 }, { k: "vb", f: 2.5, t: true }, { k: "vc" }]);
    assert.deepEqual(got.include, ["embeddings", "documents", "metadatas"]);
  });

  test("get: default include, include variants, ids, where, whereDocument, limit/offset; peek", async () => {
    const col = await newCollection("v1get");
    const ids = ["r1", "r2", "r3", "r4"];
    await col.add({
      ids,
      embeddings: ids.map((_, i) => [i, 0]),
      documents: ["alpha", "beta", "gamma", "delta"],
      metadatas: [{ g: 1 }, { g: 2 }, { g: 1 }, { g: 2, tag: "x" }],
    });
    let got = await col.get();
    assert.deepEqual(got.ids, ids);
    assert.deepEqual(got.include, ["documents", "metadatas"]);
    assert.equal(got.embeddings, null);
    assert.equal(got.uris, null);
    assert.deepEqual(got.documents, ["alpha", "beta", "gamma", "delta"]);

    got = await col.get({ include: [] });
    assert.deepEqual(got, { ids, embeddings: null, documents: null, uris: null, metadatas: null, include: [] });

    got = await col.get({ ids: ["r4", "nope", "r2"], include: ["embeddings"] });
    assert.deepEqual(got.ids, ["r2", "r4"]);
    assert.deepEqual(got.embeddings, [
      [1, 0],
      [3, 0],
    ]);
    got = await col.get({ ids: "r3" });
    assert.deepEqual(got.ids, ["r3"]);

    assert.deepEqual((await col.get({ where: { g: 2 } })).ids, ["r2", "r4"]);
    assert.deepEqual((await col.get({ where: { $and: [{ g: 2 }, { tag: { $ne: "x" } }] } })).ids, ["r2"]);
    assert.deepEqual((await col.get({ where: { g: { $in: [1] } } })).ids, ["r1", "r3"]);
    assert.deepEqual((await col.get({ whereDocument: { $contains: "ta" } })).ids, ["r2", "r4"]);
    assert.deepEqual((await col.get({ where: { g: 1 }, whereDocument: { $not_contains: "alpha" } })).ids, ["r3"]);
    assert.deepEqual((await col.get({ limit: 2, offset: 1 })).ids, ["r2", "r3"]);

    const peek = await col.peek();
    assert.deepEqual(peek.ids, ids);
    assert.deepEqual(peek.metadatas, [{ g: 1 }, { g: 2 }, { g: 1 }, { g: 2, tag: "x" }]);
    assert.deepEqual((await col.peek({ limit: 1 })).ids, ["r1"]);
  });

  test("query: squared l2 distances, default include, include variants, where, several queries", async () => {
    const col = await newCollection("v1query");
    await col.add(fourPointRecords());
    let q = await col.query({ queryEmbeddings: [1, 0], nResults: 3 });
    assert.deepEqual(q, {
      ids: [["p1", "p2", "p4"]],
      embeddings: null,
      documents: [["one", "two", "four"]],
      uris: null,
      metadatas: [[{ n: 1 }, { n: 2 }, { n: 4 }]],
      distances: [[0, 5, 9]],
      include: ["documents", "metadatas", "distances"],
    });
    q = await col.query({
      queryEmbeddings: [
        [1, 0],
        [0, 2],
      ],
      nResults: 100,
      include: ["embeddings", "distances"],
    });
    assert.deepEqual(q.ids, [
      ["p1", "p2", "p4", "p3"],
      ["p2", "p1", "p4", "p3"],
    ]);
    assert.deepEqual(q.distances, [
      [0, 5, 9, 20],
      [0, 5, 8, 13],
    ]);
    assert.deepEqual(q.embeddings[0][0], [1, 0]);
    assert.equal(q.documents, null);
    q = await col.query({ queryEmbeddings: [[1, 0]], where: { n: { $gte: 3 } }, include: ["documents"] });
    assert.deepEqual(q.ids, [["p4", "p3"]]);
    assert.deepEqual(q.documents, [["four", "three"]]);
    q = await col.query({ queryEmbeddings: [[1, 0]], whereDocument: { $contains: "t" }, nResults: 1 });
    assert.deepEqual(q.ids, [["p2"]]);
    q = await col.query({ queryEmbeddings: [[1, 0]], where: { n: 99 } });
    assert.deepEqual(q.ids, [[]]);
  });

  test("query on an empty collection → [[]]", async () => {
    const col = await newCollection("v1empty");
    const q = await col.query({ queryEmbeddings: [[1, 2, 3]] });
    assert.deepEqual(q.ids, [[]]);
    assert.deepEqual(q.distances, [[]]);
    assert.equal(await col.count(), 0);
    assert.deepEqual((await col.get()).ids, []);
  });

  test("update and upsert: partial fields, metadata merge, missing ids ignored", async () => {
    const col = await newCollection("v1upd");
    await col.add({
      ids: ["a", "b"],
      embeddings: [
        [1, 1],
        [2, 2],
      ],
      documents: ["da", "db"],
      metadatas: [{ x: 1, y: "y" }, { z: true }],
    });
    // metadatas only: merged; the embedding and document are unchanged
    await col.update({ ids: "a", metadatas: { y: "y2", w: 3 } });
    // embeddings only
    await col.update({ ids: ["b"], embeddings: [[20, 20]] });
    // missing id: ignored
    await col.update({ ids: ["ghost"], embeddings: [[9, 9]], documents: ["boo"] });
    let got = await col.get({ include: ["embeddings", "documents", "metadatas"] });
    assert.deepEqual(got.ids, ["a", "b"]);
    assert.deepEqual(got.embeddings, [
      [1, 1],
      [20, 20],
    ]);
    assert.deepEqual(got.documents, ["da", "db"]);
    assert.deepEqual(got.metadatas, [{ x: 1, y: "y2", w: 3 }, { z: true }]);

    // upsert: existing → replaced embedding, replaced document, merged metadata; new → inserted
    await col.upsert({
      ids: ["a", "c"],
      embeddings: [
        [5, 5],
        [3, 3],
      ],
      documents: ["da2", "dc"],
      metadatas: [{ x: 10 }, { c: "new" }],
    });
    got = await col.get({ include: ["embeddings", "documents", "metadatas"] });
    assert.deepEqual(got.ids, ["a", "b", "c"]);
    assert.deepEqual(got.embeddings, [
      [5, 5],
      [20, 20],
      [3, 3],
    ]);
    assert.deepEqual(got.documents, ["da2", "db", "dc"]);
    assert.deepEqual(got.metadatas, [{ x: 10, y: "y2", w: 3 }, { z: true }, { c: "new" }]);
    assert.equal(await col.count(), 3);
  });

  test("documents-only add/update and queryTexts use embeddingFunction.generate()", async () => {
    const col = await newCollection("v1ef");
    const calls = fakeEmbeddingFunction.calls;
    await col.add({ ids: ["x", "y"], documents: ["a", "banana"] });
    let got = await col.get({ include: ["embeddings", "documents"] });
    assert.deepEqual(got.embeddings, [
      [1, 1, 1],
      [6, 3, 1],
    ]);
    // "bananas" → [7, 3, 1]
    const q = await col.query({ queryTexts: ["bananas"], nResults: 2, include: ["distances"] });
    assert.deepEqual(q.ids, [["y", "x"]]);
    assert.deepEqual(q.distances, [[1, 36 + 4]]);
    // update with documents only: the 1.x client re-embeds them
    await col.update({ ids: ["x"], documents: ["aaa"] });
    got = await col.get({ include: ["embeddings", "documents"] });
    assert.deepEqual(got.documents, ["aaa", "banana"]);
    assert.deepEqual(got.embeddings, [
      [3, 3, 1],
      [6, 3, 1],
    ]);
    assert.equal(fakeEmbeddingFunction.calls, calls + 3);
  });

  test("delete by ids, where and whereDocument", async () => {
    const col = await newCollection("v1del");
    const ids = ["a", "b", "c", "d", "e"];
    await col.add({
      ids,
      embeddings: ids.map((_, i) => [i]),
      documents: ["apple", "banana", "cherry", "date", "elderberry"],
      metadatas: ids.map((_, i) => ({ odd: i % 2 === 1 })),
    });
    assert.equal(await col.delete({ ids: ["a", "missing"] }), undefined);
    assert.deepEqual((await col.get()).ids, ["b", "c", "d", "e"]);
    await col.delete({ where: { odd: true } });
    assert.deepEqual((await col.get()).ids, ["c", "e"]);
    await col.delete({ whereDocument: { $contains: "rr" } });
    assert.deepEqual((await col.get()).ids, []);
    assert.equal(await col.count(), 0);
  });

  test("getCollection / getOrCreateCollection handles work on the same records", async () => {
    const name = uniq("v1handles");
    const created = await client.getOrCreateCollection({ name, embeddingFunction: fakeEmbeddingFunction });
    await created.add({ ids: ["a"], embeddings: [[1, 2]], documents: ["doc"] });
    const again = await client.getOrCreateCollection({ name, embeddingFunction: fakeEmbeddingFunction });
    assert.equal(again.id, created.id);
    const got = await client.getCollection({ name, embeddingFunction: fakeEmbeddingFunction });
    assert.equal(got.id, created.id);
    assert.equal(await got.count(), 1);
    assert.deepEqual((await got.get()).documents, ["doc"]);
    await client.deleteCollection({ name });
  });

  test("server errors reach the 1.x client as typed errors with the server message", async () => {
    const col = await newCollection("v1err");
    await col.add({ ids: ["a"], embeddings: [[1, 2, 3]] });
    await assert.rejects(col.add({ ids: ["b"], embeddings: [[1, 2]] }), (err) => {
      assert.ok(err instanceof InvalidArgumentError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /Collection expecting embedding with dimension of 3, got 2/);
      return true;
    });
    await assert.rejects(col.query({ queryEmbeddings: [[1, 2]] }), (err) => {
      assert.ok(err instanceof InvalidArgumentError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /dimension of 3, got 2/);
      return true;
    });
    await assert.rejects(col.get({ where: { a: { $gt: "x" } } }), (err) => {
      assert.ok(err instanceof InvalidArgumentError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /Invalid where clause/);
      return true;
    });
    await assert.rejects(col.get({ whereDocument: { $regex: "(" } }), InvalidArgumentError);
    assert.equal(await col.count(), 1);
  });
});
