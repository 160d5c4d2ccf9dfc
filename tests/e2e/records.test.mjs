// End-to-end tests of the RECORD routes (add, upsert, update, delete, get, query, count, peek) with
// the official npm `chromadb` 3.x client, plus raw-HTTP checks of what the client hides or refuses
// (duplicate ids, null metadata values, float-vs-int metadata text, error bodies, …).
//
// The 3.x client asks /pre-flight-checks and, since the server says supports_base64_encoding, sends
// add/upsert/update embeddings as base64 little-endian float32 strings; query embeddings are arrays.
//
// Run from the repo root:   node --test tests/e2e/records.test.mjs
// Against a running server:  CHROMA_URL=http://127.0.0.1:8000 node --test tests/e2e/records.test.mjs
// (this is how the expectations were validated against the reference Chroma 1.5.9 server; the few
// tests where API.md asks a clone to do better than Chroma are skipped in that mode).
//
// Every test works in its own, uniquely named collection(s); the filter tests share one read-only
// fixture collection that is created lazily, so any test can also run alone.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ChromaClient,
  ChromaClientError,
  ChromaValueError,
  registerEmbeddingFunction,
} from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import {
  EXTERNAL,
  assertErrorResponse,
  assertOkJson,
  collectionsPath,
  fakeEmbeddingFunctionClass,
  fourPointRecords,
  letterCountEmbedding,
  makeUniq,
  rejectsWith,
} from "./testlib.mjs";

const { uniq } = makeUniq();

// A fake "known" embedding function (no network, no model): [length of the text, count of "a", 1].
const E2eRecordsFakeEmbeddingFunction = fakeEmbeddingFunctionClass({
  name: "e2e_records_fake",
  defaultSpace: "l2",
  embed: letterCountEmbedding,
});
registerEmbeddingFunction("e2e_records_fake", E2eRecordsFakeEmbeddingFunction);

let server;
let url;
let client;

const recPath = (col, op) => `${collectionsPath()}/${col.id}/${op}`;

// Raw POST to a record route with a JS body (serialized with JSON.stringify) …
const raw = (col, op, body) => request(url, "POST", recPath(col, op), { body });
// … or with exact JSON text (to send 2.0, 5.0, -0.0, long decimals verbatim).
const rawText = (col, op, text) =>
  request(url, "POST", recPath(col, op), { rawBody: text, headers: { "content-type": "application/json" } });

// A fresh collection with no embedding function (embeddings are always given explicitly).
async function newCollection(prefix, { space, embeddingFunction = null } = {}) {
  return client.createCollection({
    name: uniq(prefix),
    embeddingFunction,
    ...(space ? { configuration: { hnsw: { space } } } : {}),
  });
}

const f32bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
// Every number of `actual` has the float32 bit pattern of the matching number of `expected`.
function assertF32Equal(actual, expected, what = "embedding") {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    assert.equal(
      f32bits(actual[i]).toString(16),
      f32bits(e).toString(16),
      `${what}[${i}]: got ${actual[i]}, expected float32(${e})`,
    );
  });
}

function assertClose(actual, expected, eps, what) {
  assert.equal(actual.length, expected.length, `${what}: length (${JSON.stringify(actual)})`);
  expected.forEach((e, i) =>
    assert.ok(Math.abs(actual[i] - e) <= eps, `${what}[${i}]: got ${actual[i]}, expected ${e} ± ${eps}`),
  );
}

before(async () => {
  server = await new ServerProcess().start();
  url = server.url;
  client = new ChromaClient({ host: server.host, port: server.port });
});

after(async () => {
  await server?.cleanup();
});

// ---------------------------------------------------------------------------------------------
describe("add", () => {
  test("add through the client, raw 201 {} and read back", async () => {
    const col = await newCollection("add");
    await col.add({
      ids: ["a", "b"],
      embeddings: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      documents: ["doc a", "doc b"],
      metadatas: [{ k: "va" }, { k: "vb", n: 2 }],
    });
    const res = await raw(col, "add", { ids: ["c"], embeddings: [[7, 8, 9]] });
    assertOkJson(res, 201);
    assert.deepEqual(res.json, {});

    const got = await col.get({ include: ["documents", "metadatas", "embeddings"] });
    assert.deepEqual(got.ids, ["a", "b", "c"]);
    assert.deepEqual(got.documents, ["doc a", "doc b", null]);
    assert.deepEqual(got.metadatas, [{ k: "va" }, { k: "vb", n: 2 }, null]);
    assert.deepEqual(got.embeddings, [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    assert.equal(await col.count(), 3);

    // the dimension is now fixed and visible on the collection
    const c = await request(url, "GET", `${collectionsPath()}/${col.name}`);
    assert.equal(c.json.dimension, 3);
  });

  test("duplicate ids in one add: the client refuses; the server keeps the first", async () => {
    const col = await newCollection("dup");
    await rejectsWith(
      col.add({ ids: ["a", "a"], embeddings: [[1], [2]] }),
      ChromaValueError,
      /Expected IDs to be unique/,
    );
    const res = await raw(col, "add", {
      ids: ["a", "b", "a"],
      embeddings: [[1, 1], [2, 2], [3, 3]],
      documents: ["first", "second", "third"],
      metadatas: [{ n: 1 }, { n: 2 }, { n: 3 }],
    });
    assertOkJson(res, 201);
    const got = await col.get({ include: ["documents", "metadatas", "embeddings"] });
    assert.deepEqual(got.ids, ["a", "b"]);
    assert.deepEqual(got.documents, ["first", "second"]);
    assert.deepEqual(got.metadatas, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(got.embeddings, [
      [1, 1],
      [2, 2],
    ]);
    assert.equal(await col.count(), 2);
  });

  test("add of an existing id is silently ignored", async () => {
    const col = await newCollection("exists");
    await col.add({ ids: ["a"], embeddings: [[1, 2]], documents: ["orig"], metadatas: [{ v: 1 }], uris: ["u1"] });
    await col.add({ ids: ["a", "b"], embeddings: [[9, 9], [3, 4]], documents: ["new", "bee"], metadatas: [{ v: 2 }, { v: 3 }] });
    const res = await raw(col, "add", { ids: ["a"], embeddings: [[7, 7]], documents: ["raw"] });
    assertOkJson(res, 201);
    const got = await col.get({ include: ["documents", "metadatas", "embeddings", "uris"] });
    assert.deepEqual(got.ids, ["a", "b"]);
    assert.deepEqual(got.documents, ["orig", "bee"]);
    assert.deepEqual(got.metadatas, [{ v: 1 }, { v: 3 }]);
    assert.deepEqual(got.embeddings, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(got.uris, ["u1", null]);
    assert.equal(await col.count(), 2);
  });

  test("add validation: raw errors (empty id, lengths, missing embeddings, null metadata value, …)", async () => {
    const col = await newCollection("addval");
    // empty ids list: the client refuses, the server accepts it as a no-op
    await rejectsWith(col.add({ ids: [], embeddings: [] }), ChromaValueError);
    assertOkJson(await raw(col, "add", { ids: [], embeddings: [] }), 201);

    assertErrorResponse(
      await raw(col, "add", { ids: [""], embeddings: [[1]] }),
      400,
      "InvalidArgumentError",
      /^Empty ID, ID must have at least one character$/,
    );
    assertErrorResponse(
      await raw(col, "add", { ids: ["a", "b"], embeddings: [[1]] }),
      400,
      "InvalidArgumentError",
      /^Inconsistent number of IDs, embeddings, documents, URIs and metadatas$/,
    );
    assertErrorResponse(
      await raw(col, "add", { ids: ["a"], embeddings: [[1]], documents: ["x", "y"] }),
      400,
      "InvalidArgumentError",
      /^Inconsistent number of IDs/,
    );
    assertErrorResponse(await raw(col, "add", { ids: ["a"] }), 422, "ChromaError");
    assertErrorResponse(await raw(col, "add", { ids: ["a"], embeddings: null }), 422, "ChromaError");
    assertErrorResponse(await raw(col, "add", { ids: [1], embeddings: [[1]] }), 422, "ChromaError");
    assertErrorResponse(
      await raw(col, "add", { ids: ["a"], embeddings: [[1]], metadatas: [{ x: null }] }),
      422,
      "ChromaError",
    );
    assertErrorResponse(
      await raw(col, "add", { ids: ["a"], embeddings: [[1]], metadatas: [{ x: { y: 1 } }] }),
      422,
      "ChromaError",
    );
    assertErrorResponse(
      await raw(col, "add", { ids: ["a"], embeddings: [[1]], metadatas: [{ x: [1, "a"] }] }),
      422,
      "ChromaError",
    );
    for (const key of ["#x", "$x"]) {
      assertErrorResponse(
        await raw(col, "add", { ids: ["a"], embeddings: [[1]], metadatas: [{ [key]: 1 }] }),
        400,
        "InvalidArgumentError",
        /^Validation error: metadatas: Invalid metadata at index 0$/,
      );
    }
    // nothing was stored by any of the failed requests
    assert.equal(await col.count(), 0);
  });
});

// ---------------------------------------------------------------------------------------------
describe("embeddings", () => {
  test("float32 values round-trip bit-exact through the base64 path", async () => {
    const col = await newCollection("exact");
    const values = [
      [0.1, 3.4028235e38, 1e-45, -2.5],
      [-0.1, -3.4028235e38, -1e-45, 1.1754944e-38],
      [16777216, 123.456, 0, 1],
    ];
    await col.add({ ids: ["a", "b", "c"], embeddings: values });
    const got = await col.get({ include: ["embeddings"] });
    assert.deepEqual(got.ids, ["a", "b", "c"]);
    // shortest float32 form on the wire, so the parsed doubles are the very literals sent
    assert.deepEqual(got.embeddings, values);
    // values that are not float32 come back as float32(value)
    const odd = [1 / 3, Math.PI, 16777217, 1e-46];
    await col.add({ ids: ["d"], embeddings: [odd] });
    const d = await col.get({ ids: ["d"], include: ["embeddings"] });
    assertF32Equal(d.embeddings[0], odd);
    // and through upsert/update (also base64)
    await col.upsert({ ids: ["e"], embeddings: [[0.2, 1e-45, 3.4028235e38, 1 / 3]] });
    await col.update({ ids: ["c"], embeddings: [[0.3, -1e-45, -3.4028235e38, 2 / 3]] });
    const eu = await col.get({ ids: ["c", "e"], include: ["embeddings"] });
    assert.deepEqual(eu.ids, ["c", "e"]);
    assertF32Equal(eu.embeddings[0], [0.3, -1e-45, -3.4028235e38, 2 / 3], "c");
    assertF32Equal(eu.embeddings[1], [0.2, 1e-45, 3.4028235e38, 1 / 3], "e");
    assert.equal(eu.embeddings[0][0], 0.3);
    // query returns the same values
    const q = await col.query({ queryEmbeddings: [[0, 0, 0, 0]], ids: ["a"], include: ["embeddings"] });
    assert.deepEqual(q.embeddings, [[values[0]]]);
  });

  test("raw float arrays: ints accepted, -0.0 kept, decimal text rounded directly to float32", async () => {
    const col = await newCollection("rawemb");
    const res = await rawText(
      col,
      "add",
      '{"ids":["a","b"],"embeddings":[[-0.0,16777217,10.712873935699463],[1,2.5,1e-45]]}',
    );
    assertOkJson(res, 201);
    const got = await raw(col, "get", { include: ["embeddings"] });
    assertOkJson(got);
    assert.ok(Object.is(got.json.embeddings[0][0], -0), `-0.0 expected, got ${got.text}`);
    assert.equal(got.json.embeddings[0][1], 16777216);
    // 10.712873935699463 → 10.712874 (double-then-float would give 10.712873)
    assert.equal(got.json.embeddings[0][2], 10.712874);
    assert.deepEqual(got.json.embeddings[1], [1, 2.5, 1e-45]);
    // returned as floats: 1.0, not 1
    assert.match(got.text, /\[1\.0,2\.5,1e-45\]/);
  });

  test("base64 errors: bad base64 → 400, NaN → 400, mixed forms → 422, base64 query → 422", async () => {
    const col = await newCollection("b64err");
    assertErrorResponse(
      await raw(col, "add", { ids: ["a"], embeddings: ["!!!"] }),
      400,
      "InvalidArgumentError",
      /^Invalid base64 string/,
    );
    const nan = Buffer.from(new Float32Array([NaN, 1, 2]).buffer).toString("base64");
    assertErrorResponse(await raw(col, "add", { ids: ["a"], embeddings: [nan] }), 400, "InvalidArgumentError");
    const one = Buffer.from(new Float32Array([1]).buffer).toString("base64");
    assertErrorResponse(
      await raw(col, "add", { ids: ["a", "b"], embeddings: [one, [1]] }),
      422,
      "ChromaError",
    );
    assertOkJson(await raw(col, "add", { ids: ["a"], embeddings: [one] }), 201);
    assertErrorResponse(await raw(col, "query", { query_embeddings: [one] }), 422, "ChromaError");
    assert.equal(await col.count(), 1);
  });

  test("dimension errors → 400 with the server text in the client error", async () => {
    const col = await newCollection("dim");
    await col.add({ ids: ["a"], embeddings: [[1, 2, 3]] });
    const msg = /Collection expecting embedding with dimension of 3, got 2/;
    await rejectsWith(col.add({ ids: ["b"], embeddings: [[1, 2]] }), ChromaClientError, msg);
    await rejectsWith(col.upsert({ ids: ["a"], embeddings: [[1, 2]] }), ChromaClientError, msg);
    await rejectsWith(col.update({ ids: ["a"], embeddings: [[1, 2]] }), ChromaClientError, msg);
    await rejectsWith(col.query({ queryEmbeddings: [[1, 2]] }), ChromaClientError, msg);
    assertErrorResponse(
      await raw(col, "add", { ids: ["b"], embeddings: [[1, 2]] }),
      400,
      "InvalidArgumentError",
      /^Collection expecting embedding with dimension of 3, got 2$/,
    );
    assertErrorResponse(
      await raw(col, "query", { query_embeddings: [[1, 2, 3, 4]] }),
      400,
      "InvalidArgumentError",
      /^Collection expecting embedding with dimension of 3, got 4$/,
    );
    assertErrorResponse(
      await raw(col, "add", { ids: ["b", "c"], embeddings: [[1, 2, 3], [1, 2]] }),
      400,
      "InvalidArgumentError",
      /^Inconsistent dimensions in provided embeddings$/,
    );
    assertErrorResponse(
      await raw(col, "add", { ids: ["b"], embeddings: [[]] }),
      400,
      "InvalidArgumentError",
      /Each embedding must have at least 1 dimension/,
    );
    const got = await col.get({ include: ["embeddings"] });
    assert.deepEqual(got.ids, ["a"]);
    assert.deepEqual(got.embeddings, [[1, 2, 3]]);
  });

  // API.md §3.2: Chroma 1.5.9 returns cosine-collection embeddings off by about one float32 step;
  // a clone returns the stored values bit-exact. Skipped against a reference server.
  test("cosine collection returns stored embeddings bit-exact", { skip: EXTERNAL && "reference is off by one ulp" }, async () => {
    const col = await newCollection("cosexact", { space: "cosine" });
    await col.add({ ids: ["a"], embeddings: [[3, 4, 0.1, -2.5]] });
    const got = await col.get({ include: ["embeddings"] });
    assert.deepEqual(got.embeddings, [[3, 4, 0.1, -2.5]]);
    const q = await col.query({ queryEmbeddings: [[3, 4, 0.1, -2.5]], include: ["embeddings"] });
    assert.deepEqual(q.embeddings, [[[3, 4, 0.1, -2.5]]]);
  });

  test("registered embedding function: documents-only add and queryTexts", async () => {
    const col = await newCollection("ef", { embeddingFunction: new E2eRecordsFakeEmbeddingFunction({ v: 1 }) });
    await col.add({ ids: ["x", "y", "z"], documents: ["a", "banana", "cat"] });
    const got = await col.get({ include: ["embeddings", "documents"] });
    assert.deepEqual(got.embeddings, [
      [1, 1, 1],
      [6, 3, 1],
      [3, 1, 1],
    ]);
    // the client rebuilds the function from the echoed configuration
    const again = await client.getCollection({ name: col.name });
    assert.ok(again.embeddingFunction instanceof E2eRecordsFakeEmbeddingFunction);
    const q = await again.query({ queryTexts: ["bat"], nResults: 2, include: ["distances", "documents"] });
    // "bat" → [3,1,1]: cat at 0, a at 4
    assert.deepEqual(q.ids, [["z", "x"]]);
    assert.deepEqual(q.distances, [[0, 4]]);
    assert.deepEqual(q.documents, [["cat", "a"]]);
  });
});

// ---------------------------------------------------------------------------------------------
describe("upsert", () => {
  test("inserts missing ids and merges into existing ones", async () => {
    const col = await newCollection("ups");
    await col.add({
      ids: ["a"],
      embeddings: [[1, 1]],
      documents: ["doc a"],
      metadatas: [{ k1: "one", k2: 2, keep: true }],
      uris: ["ua"],
    });
    await col.upsert({
      ids: ["a", "b"],
      embeddings: [
        [5, 5],
        [2, 2],
      ],
      metadatas: [{ k2: 20, k3: "three" }, { nb: 1 }],
      documents: ["doc a2", "doc b"],
    });
    let got = await col.get({ include: ["documents", "metadatas", "embeddings", "uris"] });
    assert.deepEqual(got.ids, ["a", "b"]);
    assert.deepEqual(got.embeddings, [
      [5, 5],
      [2, 2],
    ]);
    assert.deepEqual(got.documents, ["doc a2", "doc b"]);
    assert.deepEqual(got.metadatas, [{ k1: "one", k2: 20, keep: true, k3: "three" }, { nb: 1 }]);
    assert.deepEqual(got.uris, ["ua", null]);
    assert.equal(await col.count(), 2);

    // without documents/metadatas: only the embedding changes
    await col.upsert({ ids: ["a"], embeddings: [[6, 6]] });
    got = await col.get({ ids: ["a"], include: ["documents", "metadatas", "embeddings", "uris"] });
    assert.deepEqual(got.embeddings, [[6, 6]]);
    assert.deepEqual(got.documents, ["doc a2"]);
    assert.deepEqual(got.metadatas, [{ k1: "one", k2: 20, keep: true, k3: "three" }]);
    assert.deepEqual(got.uris, ["ua"]);
  });

  test("raw upsert: 200 {}, null metadata value deletes the key, null elements leave fields unchanged", async () => {
    const col = await newCollection("upsraw");
    await col.add({
      ids: ["a", "b"],
      embeddings: [[1], [2]],
      documents: ["da", "db"],
      metadatas: [{ x: 1, y: "why" }, { z: true }],
    });
    const res = await raw(col, "upsert", {
      ids: ["a", "b", "c"],
      embeddings: [[10], [20], [30]],
      documents: [null, "db2", "dc"],
      metadatas: [{ x: null, w: 5 }, null, { c: null, d: 4 }],
    });
    assertOkJson(res);
    assert.deepEqual(res.json, {});
    const got = await col.get({ include: ["documents", "metadatas", "embeddings"] });
    assert.deepEqual(got.ids, ["a", "b", "c"]);
    assert.deepEqual(got.embeddings, [[10], [20], [30]]);
    assert.deepEqual(got.documents, ["da", "db2", "dc"]);
    assert.deepEqual(got.metadatas, [{ y: "why", w: 5 }, { z: true }, { d: 4 }]);
  });
});

// ---------------------------------------------------------------------------------------------
describe("update", () => {
  test("partial updates: documents, embeddings, metadatas (merged), uris", async () => {
    const col = await newCollection("upd");
    await col.add({
      ids: ["a", "b"],
      embeddings: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      documents: ["one", "two"],
      metadatas: [{ a: 1, b: "x" }, { other: true }],
      uris: ["u1", "u2"],
    });
    const all = ["documents", "metadatas", "embeddings", "uris"];
    // documents only: raw, because the JS client would compute embeddings for the documents
    // (and fails here, the collection having no embedding function)
    await rejectsWith(col.update({ ids: ["a"], documents: ["uno"] }), ChromaValueError, /No embedding function/);
    assertOkJson(await raw(col, "update", { ids: ["a"], documents: ["uno"] }));
    let got = await col.get({ ids: ["a"], include: all });
    assert.deepEqual(got.documents, ["uno"]);
    assert.deepEqual(got.embeddings, [[1, 2, 3]]);
    assert.deepEqual(got.metadatas, [{ a: 1, b: "x" }]);
    assert.deepEqual(got.uris, ["u1"]);

    await col.update({ ids: ["a"], embeddings: [[7, 8, 9]] });
    got = await col.get({ ids: ["a"], include: all });
    assert.deepEqual(got.embeddings, [[7, 8, 9]]);
    assert.deepEqual(got.documents, ["uno"]);
    assert.deepEqual(got.metadatas, [{ a: 1, b: "x" }]);

    await col.update({ ids: ["a"], metadatas: [{ b: "y", c: true }] });
    got = await col.get({ ids: ["a"], include: all });
    assert.deepEqual(got.metadatas, [{ a: 1, b: "y", c: true }]);
    assert.deepEqual(got.uris, ["u1"]);

    await col.update({ ids: ["a"], uris: ["u1-new"] });
    got = await col.get({ include: all });
    assert.deepEqual(got.uris, ["u1-new", "u2"]);
    assert.deepEqual(got.metadatas, [{ a: 1, b: "y", c: true }, { other: true }]);
    assert.deepEqual(got.documents, ["uno", "two"]);
    assert.deepEqual(got.embeddings, [
      [7, 8, 9],
      [4, 5, 6],
    ]);
  });

  test("update of missing ids is ignored (existing ones in the same call are updated)", async () => {
    const col = await newCollection("updmiss");
    await col.add({ ids: ["a"], embeddings: [[1, 1]], documents: ["da"] });
    await col.update({ ids: ["ghost"], documents: ["boo"], embeddings: [[2, 2]] });
    await col.update({ ids: ["ghost2", "a"], documents: ["boo", "da2"], embeddings: [[3, 3], [4, 4]] });
    const res = await raw(col, "update", { ids: ["ghost3"], documents: ["x"] });
    assertOkJson(res);
    assert.deepEqual(res.json, {});
    assert.equal(await col.count(), 1);
    const got = await col.get({ ids: ["ghost", "ghost2", "ghost3", "a"] });
    assert.deepEqual(got.ids, ["a"]);
    assert.deepEqual(got.documents, ["da2"]);
    assert.deepEqual((await col.get({ include: ["embeddings"] })).embeddings, [[4, 4]]);
  });

  test("raw update: null elements mean unchanged, null metadata value deletes a key", async () => {
    const col = await newCollection("updraw");
    await col.add({
      ids: ["a", "b"],
      embeddings: [[1, 1], [2, 2]],
      documents: ["da", "db"],
      metadatas: [{ k: 1, j: 2 }, { k: 3 }],
    });
    const res = await raw(col, "update", {
      ids: ["a", "b"],
      embeddings: [null, [20, 20]],
      documents: ["da2", null],
      metadatas: [null, { k: null, n: "new" }],
    });
    assertOkJson(res);
    let got = await col.get({ include: ["documents", "metadatas", "embeddings"] });
    assert.deepEqual(got.embeddings, [[1, 1], [20, 20]]);
    assert.deepEqual(got.documents, ["da2", "db"]);
    assert.deepEqual(got.metadatas, [{ k: 1, j: 2 }, { n: "new" }]);
    // deleting every key leaves no metadata at all
    assertOkJson(await raw(col, "update", { ids: ["a"], metadatas: [{ k: null, j: null }] }));
    got = await col.get({ ids: ["a"] });
    assert.deepEqual(got.metadatas, [null]);
    // the JS client drops null metadata values, so through it nothing is deleted
    await col.update({ ids: ["b"], metadatas: [{ n: null, m: 1 }] });
    got = await col.get({ ids: ["b"] });
    assert.deepEqual(got.metadatas, [{ n: "new", m: 1 }]);
    // update with a wrong dimension → 400
    assertErrorResponse(
      await raw(col, "update", { ids: ["a"], embeddings: [[1, 2, 3]] }),
      400,
      "InvalidArgumentError",
      /dimension of 2, got 3/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe("delete", () => {
  test("by ids: `deleted` is the number of ids sent", async () => {
    const col = await newCollection("delids");
    await col.add({ ids: ["a", "b", "c"], embeddings: [[1], [2], [3]] });
    assert.deepEqual(await col.delete({ ids: ["a", "nope"] }), { deleted: 2 });
    const res = await raw(col, "delete", { ids: ["b", "missing1", "missing2"] });
    assertOkJson(res);
    assert.deepEqual(res.json, { deleted: 3 });
    assert.equal(await col.count(), 1);
    assert.deepEqual((await col.get()).ids, ["c"]);
    // deleted ids can be added again
    await col.add({ ids: ["a"], embeddings: [[9]], documents: ["again"] });
    const got = await col.get({ include: ["documents", "embeddings"] });
    assert.deepEqual(got.ids, ["c", "a"]);
    assert.deepEqual(got.documents, [null, "again"]);
    assert.deepEqual(got.embeddings, [[3], [9]]);
  });

  test("by where / where_document: `deleted` is the real count; ids ∩ where", async () => {
    const col = await newCollection("delwhere");
    await col.add({
      ids: ["a", "b", "c", "d", "e"],
      embeddings: [[1], [2], [3], [4], [5]],
      metadatas: [{ g: 1 }, { g: 2 }, { g: 1 }, { g: 2 }, { g: 1 }],
      documents: ["apple", "banana", "cherry", "date", "elderberry"],
    });
    assert.deepEqual(await col.delete({ where: { g: 2 } }), { deleted: 2 });
    assert.deepEqual((await col.get()).ids, ["a", "c", "e"]);
    assert.deepEqual(await col.delete({ where: { g: 99 } }), { deleted: 0 });
    assert.deepEqual(await col.delete({ ids: ["a", "c", "zz"], where: { g: 1 }, whereDocument: { $contains: "rr" } }), {
      deleted: 1,
    });
    assert.deepEqual((await col.get()).ids, ["a", "e"]);
    const res = await raw(col, "delete", { where_document: { $contains: "apple" } });
    assertOkJson(res);
    assert.deepEqual(res.json, { deleted: 1 });
    assert.deepEqual((await col.get()).ids, ["e"]);
    assert.equal(await col.count(), 1);
  });

  test("with limit: the first N matches in insertion order", async () => {
    const col = await newCollection("dellim");
    const ids = ["r1", "r2", "r3", "r4", "r5"];
    await col.add({ ids, embeddings: ids.map((_, i) => [i]), metadatas: ids.map((_, i) => ({ k: 1, i })) });
    assert.deepEqual(await col.delete({ where: { k: 1 }, limit: 2 }), { deleted: 2 });
    assert.deepEqual((await col.get()).ids, ["r3", "r4", "r5"]);
    const res = await raw(col, "delete", { where: { i: { $gte: 3 } }, limit: 1 });
    assertOkJson(res);
    assert.deepEqual(res.json, { deleted: 1 });
    assert.deepEqual((await col.get()).ids, ["r3", "r5"]);
    assert.deepEqual((await raw(col, "delete", { where: { k: 1 }, limit: 0 })).json, { deleted: 0 });
    assert.equal(await col.count(), 2);
  });

  test("no arguments → no-op; ids [] → 400; limit without a filter → 400", async () => {
    const col = await newCollection("delnone");
    await col.add({ ids: ["a"], embeddings: [[1]] });
    let res = await raw(col, "delete", {});
    assertOkJson(res);
    assert.deepEqual(res.json, { deleted: 0 });
    res = await raw(col, "delete", { ids: null, where: null, where_document: null });
    assert.deepEqual(res.json, { deleted: 0 });
    assertErrorResponse(
      await raw(col, "delete", { ids: [] }),
      400,
      "InvalidArgumentError",
      /Either ids or where must be specified/,
    );
    assertErrorResponse(
      await raw(col, "delete", { ids: ["a"], limit: 1 }),
      400,
      "InvalidArgumentError",
      /limit can only be specified when a where clause is provided/,
    );
    // the client refuses these itself
    await assert.rejects(col.delete({ ids: ["a"], limit: 1 }), /limit can only be specified/);
    await rejectsWith(col.delete({ ids: [] }), ChromaValueError);
    assert.equal(await col.count(), 1);
  });
});

// ---------------------------------------------------------------------------------------------
describe("get, count, peek", () => {
  test("insertion order, requested order ignored, missing ids dropped, repeats collapse", async () => {
    const col = await newCollection("order");
    const ids = ["m", "c", "x", "a", "q"];
    await col.add({ ids, embeddings: ids.map((_, i) => [i, i]) });
    assert.deepEqual((await col.get()).ids, ids);
    assert.deepEqual((await col.get({ ids: ["q", "a", "zzz", "m"] })).ids, ["m", "a", "q"]);
    assert.deepEqual((await col.get({ ids: ["nope"] })).ids, []);
    const res = await raw(col, "get", { ids: ["x", "c", "x", "c"] });
    assertOkJson(res);
    assert.deepEqual(res.json.ids, ["c", "x"]);
    // a raw `ids: []` matches nothing
    assert.deepEqual((await raw(col, "get", { ids: [] })).json.ids, []);
  });

  test("limit / offset (after filtering)", async () => {
    const col = await newCollection("page");
    const ids = ["a", "b", "c", "d", "e", "f"];
    await col.add({ ids, embeddings: ids.map((_, i) => [i]), metadatas: ids.map((_, i) => ({ even: i % 2 === 0 })) });
    assert.deepEqual((await col.get({ limit: 2 })).ids, ["a", "b"]);
    assert.deepEqual((await col.get({ limit: 2, offset: 3 })).ids, ["d", "e"]);
    assert.deepEqual((await col.get({ offset: 4 })).ids, ["e", "f"]);
    assert.deepEqual((await col.get({ offset: 6 })).ids, []);
    assert.deepEqual((await col.get({ offset: 100, limit: 5 })).ids, []);
    assert.deepEqual((await col.get({ limit: 100 })).ids, ids);
    assert.deepEqual((await col.get({ where: { even: true }, offset: 1, limit: 1 })).ids, ["c"]);
    assert.deepEqual((await col.get({ ids: ["f", "b", "d"], offset: 1 })).ids, ["d", "f"]);
    const res = await raw(col, "get", { limit: 0 });
    assertOkJson(res);
    assert.deepEqual(res.json.ids, []);
    assert.deepEqual((await raw(col, "get", { limit: null, offset: null })).json.ids, ids);
    assertErrorResponse(await raw(col, "get", { limit: -1 }), 422, "ChromaError");
  });

  test("include variants through the client", async () => {
    const col = await newCollection("incl");
    await col.add({
      ids: ["a", "b"],
      embeddings: [
        [1, 2],
        [3, 4],
      ],
      documents: ["doc a", "doc b"],
      metadatas: [{ m: 1 }, null],
      uris: ["uri-a", null],
    });
    let got = await col.get();
    assert.deepEqual(got.include, ["documents", "metadatas"]);
    assert.deepEqual(got.documents, ["doc a", "doc b"]);
    assert.deepEqual(got.metadatas, [{ m: 1 }, null]);
    assert.deepEqual(got.embeddings, []);
    assert.deepEqual(got.uris, []);

    got = await col.get({ include: [] });
    assert.deepEqual(got.ids, ["a", "b"]);
    assert.deepEqual(got.include, []);
    assert.deepEqual([got.documents, got.metadatas, got.embeddings, got.uris], [[], [], [], []]);

    got = await col.get({ include: ["embeddings"] });
    assert.deepEqual(got.embeddings, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(got.documents, []);

    got = await col.get({ include: ["uris", "documents"] });
    assert.deepEqual(got.include, ["uris", "documents"]);
    assert.deepEqual(got.uris, ["uri-a", null]);
    assert.deepEqual(got.documents, ["doc a", "doc b"]);
    assert.deepEqual(got.metadatas, []);

    got = await col.get({ include: ["metadatas", "uris", "embeddings", "documents"] });
    assert.deepEqual(got.rows(), [
      { id: "a", document: "doc a", embedding: [1, 2], metadata: { m: 1 }, uri: "uri-a" },
      { id: "b", document: "doc b", embedding: [3, 4], metadata: null, uri: null },
    ]);
    // the client refuses "distances" for get
    await rejectsWith(col.get({ include: ["distances"] }), ChromaValueError);
  });

  test("raw GetResponse: all keys present, null columns, include echoed verbatim", async () => {
    const col = await newCollection("getraw");
    await col.add({ ids: ["a"], embeddings: [[1, 2]], documents: ["d"], metadatas: [{ k: "v" }] });
    const keys = ["documents", "embeddings", "ids", "include", "metadatas", "uris"];
    let res = await raw(col, "get", {});
    assertOkJson(res);
    assert.deepEqual(Object.keys(res.json).sort(), keys);
    assert.deepEqual(res.json, {
      ids: ["a"],
      embeddings: null,
      documents: ["d"],
      uris: null,
      metadatas: [{ k: "v" }],
      include: ["documents", "metadatas"],
    });
    res = await raw(col, "get", { include: [] });
    assert.deepEqual(res.json, {
      ids: ["a"],
      embeddings: null,
      documents: null,
      uris: null,
      metadatas: null,
      include: [],
    });
    // "distances" is accepted by the server for get, echoed and ignored
    res = await raw(col, "get", { include: ["distances", "uris"] });
    assertOkJson(res);
    assert.deepEqual(res.json, {
      ids: ["a"],
      embeddings: null,
      documents: null,
      uris: [null],
      metadatas: null,
      include: ["distances", "uris"],
    });
    res = await raw(col, "get", { include: ["embeddings", "embeddings"] });
    assertOkJson(res);
    assert.deepEqual(res.json.embeddings, [[1, 2]]);
    assert.deepEqual(res.json.include, ["embeddings", "embeddings"]);
    assertErrorResponse(await raw(col, "get", { include: ["data"] }), 422, "ChromaError");
    assertErrorResponse(await raw(col, "get", { include: "documents" }), 422, "ChromaError");
  });

  test("empty collection: get, count, peek", async () => {
    const col = await newCollection("empty");
    const res = await raw(col, "get", {});
    assertOkJson(res);
    assert.deepEqual(res.json, {
      ids: [],
      embeddings: null,
      documents: [],
      uris: null,
      metadatas: [],
      include: ["documents", "metadatas"],
    });
    assert.equal(await col.count(), 0);
    const peek = await col.peek({});
    assert.deepEqual(peek.ids, []);
    const got = await col.get({ include: ["embeddings", "uris"] });
    assert.deepEqual(got.ids, []);
    assert.deepEqual(got.embeddings, []);
  });

  test("count: raw bare integer, read_level values", async () => {
    const col = await newCollection("count");
    await col.add({ ids: ["a", "b", "c"], embeddings: [[1], [2], [3]] });
    const path = `${collectionsPath()}/${col.id}/count`;
    let res = await request(url, "GET", path);
    assertOkJson(res);
    assert.equal(res.text, "3");
    for (const level of ["index_and_wal", "index_only", "index_and_bounded_wal"]) {
      res = await request(url, "GET", `${path}?read_level=${level}`);
      assertOkJson(res);
      assert.equal(res.json, 3, level);
    }
    assertErrorResponse(await request(url, "GET", `${path}?read_level=bogus`), 400, "InvalidArgumentError");
    assert.equal(await col.count(), 3);
    await col.delete({ ids: ["b"] });
    assert.equal(await col.count(), 2);
    await col.upsert({ ids: ["b", "d"], embeddings: [[2], [4]] });
    assert.equal(await col.count(), 4);
  });

  test("peek: first records in insertion order with documents and metadatas", async () => {
    const col = await newCollection("peek");
    const ids = Array.from({ length: 12 }, (_, i) => `id${String(11 - i).padStart(2, "0")}`);
    await col.add({
      ids,
      embeddings: ids.map((_, i) => [i, 0]),
      documents: ids.map((id) => `doc ${id}`),
      metadatas: ids.map((_, i) => ({ i })),
    });
    let p = await col.peek({});
    assert.deepEqual(p.ids, ids.slice(0, 10));
    assert.deepEqual(p.documents, ids.slice(0, 10).map((id) => `doc ${id}`));
    assert.deepEqual(p.metadatas, ids.slice(0, 10).map((_, i) => ({ i })));
    p = await col.peek({ limit: 3 });
    assert.deepEqual(p.ids, ids.slice(0, 3));
  });
});

// ---------------------------------------------------------------------------------------------
describe("documents, uris and metadata types", () => {
  test("documents and uris: stored, returned only when asked, null when absent", async () => {
    const col = await newCollection("docs");
    const long = "ünïcødé ✓ — ".repeat(500);
    await col.add({
      ids: ["a", "b", "c"],
      embeddings: [[1], [2], [3]],
      documents: ["plain", long, "with \"quotes\" and \\ and \n newline"],
      uris: ["s3://bucket/a.png", "http://example.com/b", "file:///c"],
    });
    await raw(col, "add", { ids: ["d"], embeddings: [[4]], documents: [null], uris: [null] });
    let got = await col.get({ include: ["documents", "uris", "metadatas"] });
    assert.deepEqual(got.documents, ["plain", long, "with \"quotes\" and \\ and \n newline", null]);
    assert.deepEqual(got.uris, ["s3://bucket/a.png", "http://example.com/b", "file:///c", null]);
    // records with only a URI have no user metadata
    for (const m of got.metadatas) assert.ok(m === null || Object.keys(m).length === 0, JSON.stringify(m));
    got = await col.get({ include: ["documents"] });
    assert.deepEqual(got.uris, []);
    // a document cannot be cleared by update (null = unchanged), but it can be replaced
    await raw(col, "update", { ids: ["a"], documents: [null] });
    await raw(col, "update", { ids: ["d"], documents: ["now set"], uris: ["u-d"] });
    got = await col.get({ ids: ["a", "d"], include: ["documents", "uris"] });
    assert.deepEqual(got.documents, ["plain", "now set"]);
    assert.deepEqual(got.uris, ["s3://bucket/a.png", "u-d"]);
    // unicode and long ids
    const uid = `ключ-🔑-${"x".repeat(2000)}`;
    await col.add({ ids: [uid], embeddings: [[5]], documents: ["u"] });
    assert.deepEqual((await col.get({ ids: [uid] })).ids, [uid]);
  });

  test("metadata types through the client: strings, numbers, bools, arrays", async () => {
    const col = await newCollection("mtypes");
    const meta = {
      s: "text",
      i: 42,
      neg: -7,
      big: 9007199254740991,
      f: 2.5,
      tiny: 1e-300,
      t: true,
      fl: false,
      sa: ["x", "y"],
      ia: [1, 2, 3],
      fa: [1.5, -2.25],
      ba: [true, false],
    };
    await col.add({ ids: ["a"], embeddings: [[1]], metadatas: [meta] });
    const got = await col.get({ include: ["metadatas"] });
    assert.deepEqual(got.metadatas, [meta]);
    // the client refuses mixed arrays and empty arrays
    await rejectsWith(col.add({ ids: ["b"], embeddings: [[1]], metadatas: [{ m: [1, "a"] }] }), ChromaValueError);
  });

  test("metadata types on the wire: int stays int, float 2.0 stays 2.0, arrays, empty arrays dropped", async () => {
    const col = await newCollection("mwire");
    const res = await rawText(
      col,
      "add",
      '{"ids":["a","b","c"],"embeddings":[[1],[2],[3]],"metadatas":[' +
        '{"f":2.0,"g":-0.5,"i":2,"neg":-7,"b":false,"t":true,"s":"2.0","ia":[1,2],"fa":[1.0,2.5],"mixed":[1,2.5],"sa":["x"],"ba":[true],"e":[]},' +
        '{},' +
        '{"onlyempty":[]}]}',
    );
    assertOkJson(res, 201);
    for (const body of [{ include: ["metadatas"] }, { ids: ["a"], include: ["metadatas"] }]) {
      const got = await raw(col, "get", body);
      assertOkJson(got);
      const text = got.text;
      assert.match(text, /"f":2\.0[,}]/);
      assert.match(text, /"g":-0\.5[,}]/);
      assert.match(text, /"i":2[,}]/);
      assert.match(text, /"neg":-7[,}]/);
      assert.match(text, /"b":false[,}]/);
      assert.match(text, /"t":true[,}]/);
      assert.match(text, /"s":"2\.0"/);
      assert.match(text, /"ia":\[1,2\]/);
      assert.match(text, /"fa":\[1\.0,2\.5\]/);
      assert.match(text, /"mixed":\[1\.0,2\.5\]/);
      assert.match(text, /"sa":\["x"\]/);
      assert.match(text, /"ba":\[true\]/);
      assert.doesNotMatch(text, /"e":/);
      assert.deepEqual(got.json.metadatas[0], {
        f: 2,
        g: -0.5,
        i: 2,
        neg: -7,
        b: false,
        t: true,
        s: "2.0",
        ia: [1, 2],
        fa: [1, 2.5],
        mixed: [1, 2.5],
        sa: ["x"],
        ba: [true],
      });
    }
    // {} metadata and a metadata made only of empty arrays read back as null
    const all = await raw(col, "get", { include: ["metadatas"] });
    assert.deepEqual(all.json.metadatas.slice(1), [null, null]);
    // a float survives update/upsert merges as a float; an int stays an int
    await rawText(col, "update", '{"ids":["a"],"metadatas":[{"u":3.0,"v":3}]}');
    await rawText(col, "upsert", '{"ids":["a"],"embeddings":[[1]],"metadatas":[{"w":-1.0}]}');
    const text = (await raw(col, "get", { ids: ["a"], include: ["metadatas"] })).text;
    assert.match(text, /"u":3\.0[,}]/);
    assert.match(text, /"v":3[,}]/);
    assert.match(text, /"w":-1\.0[,}]/);
    assert.match(text, /"f":2\.0[,}]/);
    // and through query too
    const q = await raw(col, "query", { query_embeddings: [[1]], n_results: 1, ids: ["a"], include: ["metadatas"] });
    assertOkJson(q);
    assert.match(q.text, /"f":2\.0[,}]/);
    assert.match(q.text, /"i":2[,}]/);
  });
});

// ---------------------------------------------------------------------------------------------
describe("query", () => {
  // p1 (1,0), p2 (0,2), p3 (3,4), p4 (-2,0)
  async function fourPoints(space) {
    const col = await newCollection(`q${space ?? "def"}`, space ? { space } : {});
    await col.add({ ...fourPointRecords(), uris: ["u1", "u2", "u3", "u4"] });
    return col;
  }

  test("l2 (default): squared euclidean distances, ascending", async () => {
    const col = await fourPoints();
    assert.equal(col.configuration.hnsw.space, "l2");
    const q = await col.query({ queryEmbeddings: [[1, 0]], nResults: 4 });
    assert.deepEqual(q.ids, [["p1", "p2", "p4", "p3"]]);
    assert.deepEqual(q.distances, [[0, 5, 9, 20]]);
    assert.deepEqual(q.documents, [["one", "two", "four", "three"]]);
    assert.deepEqual(q.metadatas, [[{ n: 1 }, { n: 2 }, { n: 4 }, { n: 3 }]]);
    assert.deepEqual(q.include, ["metadatas", "documents", "distances"]);
    // non-integral query: distances as float32
    const q2 = await col.query({ queryEmbeddings: [[0.5, 0.5]], nResults: 1, include: ["distances"] });
    assert.deepEqual(q2.ids, [["p1"]]);
    assertF32Equal(q2.distances[0], [0.5]);
  });

  test("ip: 1 − dot, can be negative", async () => {
    const col = await fourPoints("ip");
    const q = await col.query({ queryEmbeddings: [[2, 0]], include: ["distances"] });
    assert.deepEqual(q.ids, [["p3", "p1", "p2", "p4"]]);
    assert.deepEqual(q.distances, [[-5, -1, 1, 5]]);
  });

  test("cosine: 1 − cos(a, b)", async () => {
    const col = await fourPoints("cosine");
    const q = await col.query({ queryEmbeddings: [[1, 0]], include: ["distances"] });
    assert.deepEqual(q.ids, [["p1", "p3", "p2", "p4"]]);
    assertClose(q.distances[0], [0, 0.4, 1, 2], 1e-6, "cosine distances");
    // magnitude does not matter
    const q2 = await col.query({ queryEmbeddings: [[30, 40]], nResults: 2, include: ["distances"] });
    assert.deepEqual(q2.ids[0][0], "p3");
    assertClose(q2.distances[0], [0, 1 - 0.8], 1e-6, "cosine distances");
  });

  test("n_results clamping and several query embeddings", async () => {
    const col = await fourPoints();
    let q = await col.query({ queryEmbeddings: [[1, 0]], nResults: 2, include: ["distances"] });
    assert.deepEqual(q.ids, [["p1", "p2"]]);
    q = await col.query({ queryEmbeddings: [[1, 0]], nResults: 100, include: ["distances"] });
    assert.deepEqual(q.ids, [["p1", "p2", "p4", "p3"]]);
    // default n_results = 10
    q = await col.query({ queryEmbeddings: [[1, 0]], include: [] });
    assert.equal(q.ids[0].length, 4);
    // several queries → one inner list each
    q = await col.query({
      queryEmbeddings: [
        [1, 0],
        [0, 2],
        [3, 4],
      ],
      nResults: 3,
      include: ["distances", "documents"],
    });
    assert.deepEqual(q.ids, [
      ["p1", "p2", "p4"],
      ["p2", "p1", "p4"],
      ["p3", "p2", "p1"],
    ]);
    assert.deepEqual(q.distances, [
      [0, 5, 9],
      [0, 5, 8],
      [0, 13, 20],
    ]);
    assert.deepEqual(q.documents, [
      ["one", "two", "four"],
      ["two", "one", "four"],
      ["three", "two", "one"],
    ]);
    // raw: n_results 0 → empty inner lists; the client refuses 0
    const res = await raw(col, "query", { query_embeddings: [[1, 0], [0, 2]], n_results: 0 });
    assertOkJson(res);
    assert.deepEqual(res.json.ids, [[], []]);
    assert.deepEqual(res.json.distances, [[], []]);
    // (the client only validates a truthy nResults, so 0 goes through)
    q = await col.query({ queryEmbeddings: [[1, 0]], nResults: 0 });
    assert.deepEqual(q.ids, [[]]);
    assertErrorResponse(
      await raw(col, "query", { query_embeddings: [[1, 0]], n_results: -1 }),
      422,
      "ChromaError",
    );
  });

  test("include variants and raw QueryResponse shape", async () => {
    const col = await fourPoints();
    const q = await col.query({
      queryEmbeddings: [[0, 2]],
      nResults: 2,
      include: ["embeddings", "uris", "documents", "metadatas", "distances"],
    });
    assert.deepEqual(q.rows(), [
      [
        { id: "p2", document: "two", embedding: [0, 2], metadata: { n: 2 }, uri: "u2", distance: 0 },
        { id: "p1", document: "one", embedding: [1, 0], metadata: { n: 1 }, uri: "u1", distance: 5 },
      ],
    ]);
    const keys = ["distances", "documents", "embeddings", "ids", "include", "metadatas", "uris"];
    let res = await raw(col, "query", { query_embeddings: [[0, 2]], n_results: 1 });
    assertOkJson(res);
    assert.deepEqual(Object.keys(res.json).sort(), keys);
    assert.deepEqual(res.json, {
      ids: [["p2"]],
      embeddings: null,
      documents: [["two"]],
      uris: null,
      metadatas: [[{ n: 2 }]],
      distances: [[0]],
      include: ["documents", "metadatas", "distances"],
    });
    res = await raw(col, "query", { query_embeddings: [[0, 2]], n_results: 1, include: [] });
    assert.deepEqual(res.json, {
      ids: [["p2"]],
      embeddings: null,
      documents: null,
      uris: null,
      metadatas: null,
      distances: null,
      include: [],
    });
    res = await raw(col, "query", { query_embeddings: [[0, 2]], n_results: 1, include: ["uris", "embeddings"] });
    assert.deepEqual(res.json.uris, [["u2"]]);
    assert.deepEqual(res.json.embeddings, [[[0, 2]]]);
    assert.deepEqual(res.json.include, ["uris", "embeddings"]);
    assert.match(res.text, /\[\[\[0\.0,2\.0\]\]\]/);
    // query_embeddings: [] → empty outer lists
    res = await raw(col, "query", { query_embeddings: [] });
    assertOkJson(res);
    assert.deepEqual(res.json, {
      ids: [],
      embeddings: null,
      documents: [],
      uris: null,
      metadatas: [],
      distances: [],
      include: ["documents", "metadatas", "distances"],
    });
    assertErrorResponse(await raw(col, "query", { n_results: 1 }), 422, "ChromaError");
    assertErrorResponse(
      await raw(col, "query", { query_embeddings: [[0, 2]], include: ["data"] }),
      422,
      "ChromaError",
    );
  });

  test("query restricted to ids; where; nothing matching → [[]]", async () => {
    const col = await fourPoints();
    let q = await col.query({ queryEmbeddings: [[1, 0]], ids: ["p3", "p2"], include: ["distances"] });
    assert.deepEqual(q.ids, [["p2", "p3"]]);
    assert.deepEqual(q.distances, [[5, 20]]);
    q = await col.query({ queryEmbeddings: [[1, 0]], where: { n: { $gte: 3 } }, include: ["distances"] });
    assert.deepEqual(q.ids, [["p4", "p3"]]);
    q = await col.query({
      queryEmbeddings: [[1, 0], [3, 4]],
      where: { n: { $in: [1, 3] } },
      whereDocument: { $contains: "e" },
      nResults: 1,
      include: ["documents"],
    });
    assert.deepEqual(q.ids, [["p1"], ["p3"]]);
    q = await col.query({ queryEmbeddings: [[1, 0], [0, 0]], where: { n: 99 } });
    assert.deepEqual(q.ids, [[], []]);
    assert.deepEqual(q.distances, [[], []]);
    const res = await raw(col, "query", { query_embeddings: [[1, 0]], ids: [] });
    assertOkJson(res);
    assert.deepEqual(res.json.ids, [[]]);
  });

  // API.md §3.5: Chroma 1.5.9 answers 500 "Error finding id" when `ids` names a record that does
  // not exist (never, or deleted), and Chroma's own npm test suite expects the query to fail;
  // with a `where` the missing ids are left out.
  test("query with an unknown id in `ids` fails as in Chroma; with a where it is left out", async () => {
    const col = await fourPoints();
    await assert.rejects(col.query({ queryEmbeddings: [[1, 0]], ids: ["p3", "ghost"], include: ["distances"] }));
    const res = await raw(col, "query", { query_embeddings: [[1, 0]], ids: ["p3", "ghost"], n_results: 1 });
    assertErrorResponse(res, 500, "InternalError", /^Error executing plan: Internal error: Error finding id$/);
    await col.delete({ ids: ["p2"] });
    await assert.rejects(col.query({ queryEmbeddings: [[1, 0]], ids: ["p2"] }));
    const q = await col.query({ queryEmbeddings: [[1, 0]], ids: ["p3", "ghost", "p2"], where: { n: { $gte: 0 } }, include: ["distances"] });
    assert.deepEqual(q.ids, [["p3"]]);
    assert.deepEqual(q.distances, [[20]]);
  });

  test("empty collection (with and without a dimension) → [[]] per query", async () => {
    const col = await newCollection("qempty");
    let res = await raw(col, "query", { query_embeddings: [[1, 2, 3]] });
    assertOkJson(res);
    assert.deepEqual(res.json, {
      ids: [[]],
      embeddings: null,
      documents: [[]],
      uris: null,
      metadatas: [[]],
      distances: [[]],
      include: ["documents", "metadatas", "distances"],
    });
    let q = await col.query({ queryEmbeddings: [[1], [2]] });
    assert.deepEqual(q.ids, [[], []]);
    // after every record is deleted the dimension stays, the result is empty
    await col.add({ ids: ["a"], embeddings: [[1, 2]] });
    await col.delete({ ids: ["a"] });
    q = await col.query({ queryEmbeddings: [[1, 2]], include: ["distances", "embeddings"] });
    assert.deepEqual(q.ids, [[]]);
    assert.deepEqual(q.distances, [[]]);
    res = await raw(col, "query", { query_embeddings: [[1, 2]], include: ["embeddings"] });
    assert.deepEqual(res.json.embeddings, [[]]);
  });
});

// ---------------------------------------------------------------------------------------------
describe("where / where_document filters", () => {
  // Read-only fixture, added with exact JSON text so that 5.0 is stored as a float.
  //   r1 {s:"a", i:1,  f:1.5,  b:true,  tags:["x","y"], nums:[1,2]}  "The quick brown fox"
  //   r2 {s:"b", i:5,  f:5.0,  b:false, tags:["y"],     nums:[3]}    "lazy dog 100%"
  //   r3 {s:"c", i:10, f:-2.5, tags:["z"], fl:[1.5,2.5]}              "Quick_silver"
  //   r4 (no metadata, no document)
  //   r5 {s:"5", i:-3, b:true}                                         "quick 5"
  let fixture;
  function filterCollection() {
    fixture ??= (async () => {
      const col = await newCollection("filters");
      const res = await rawText(
        col,
        "add",
        JSON.stringify({ ids: ["r1", "r2", "r3", "r4", "r5"] }).slice(0, -1) +
          ',"embeddings":[[1,0],[2,0],[3,0],[4,0],[5,0]],' +
          '"documents":["The quick brown fox","lazy dog 100%","Quick_silver",null,"quick 5"],' +
          '"metadatas":[' +
          '{"s":"a","i":1,"f":1.5,"b":true,"tags":["x","y"],"nums":[1,2]},' +
          '{"s":"b","i":5,"f":5.0,"b":false,"tags":["y"],"nums":[3]},' +
          '{"s":"c","i":10,"f":-2.5,"tags":["z"],"fl":[1.5,2.5]},' +
          "null," +
          '{"s":"5","i":-3,"b":true}]}',
      );
      assertOkJson(res, 201);
      return col;
    })();
    return fixture;
  }
  const ids = async (args) => (await (await filterCollection()).get(args)).ids;
  const rawIds = async (body) => {
    const res = await raw(await filterCollection(), "get", body);
    assertOkJson(res);
    return res.json.ids;
  };

  test("equality, inequality and ordering on strings, ints, floats and bools", async () => {
    const cases = [
      [{ s: "a" }, ["r1"]],
      [{ s: { $eq: "b" } }, ["r2"]],
      [{ s: { $ne: "a" } }, ["r2", "r3", "r4", "r5"]],
      [{ i: { $gt: 1 } }, ["r2", "r3"]],
      [{ i: { $gte: 5 } }, ["r2", "r3"]],
      [{ i: { $lt: 5 } }, ["r1", "r5"]],
      [{ i: { $lte: 5 } }, ["r1", "r2", "r5"]],
      [{ i: { $ne: 5 } }, ["r1", "r3", "r4", "r5"]],
      [{ f: { $gt: 0 } }, ["r1", "r2"]],
      [{ f: { $lt: 0 } }, ["r3"]],
      [{ f: { $lte: 1.5 } }, ["r1", "r3"]],
      [{ f: 1.5 }, ["r1"]],
      [{ b: true }, ["r1", "r5"]],
      [{ b: { $eq: false } }, ["r2"]],
      [{ b: { $ne: true } }, ["r2", "r3", "r4"]],
      // type-strict: "5" ≠ 5, bools are not numbers
      [{ s: 5 }, []],
      [{ i: "5" }, []],
      [{ b: 1 }, []],
      [{ s: "5" }, ["r5"]],
      // ints and floats compare with each other
      [{ f: 5 }, ["r2"]],
      [{ i: { $gte: 4.5 } }, ["r2", "r3"]],
      [{ f: { $gt: 1 } }, ["r1", "r2"]],
      // unknown key
      [{ nokey: "a" }, []],
      [{ nokey: { $ne: "a" } }, ["r1", "r2", "r3", "r4", "r5"]],
    ];
    for (const [where, expected] of cases) {
      assert.deepEqual(await ids({ where }), expected, JSON.stringify(where));
    }
    // float operand written 5.0 on the wire matches the int 5 and the float 5.0
    assert.deepEqual(
      (await rawText(await filterCollection(), "get", '{"where":{"i":5.0},"include":[]}')).json.ids,
      ["r2"],
    );
    assert.deepEqual(
      (await rawText(await filterCollection(), "get", '{"where":{"f":{"$eq":5.0}},"include":[]}')).json.ids,
      ["r2"],
    );
  });

  test("$in / $nin; $contains / $not_contains on arrays", async () => {
    const cases = [
      [{ i: { $in: [1, 10] } }, ["r1", "r3"]],
      [{ s: { $in: ["a", "5", "zz"] } }, ["r1", "r5"]],
      [{ b: { $in: [false] } }, ["r2"]],
      [{ f: { $in: [1.5, -2.5] } }, ["r1", "r3"]],
      [{ s: { $nin: ["a", "b"] } }, ["r3", "r4", "r5"]],
      [{ i: { $nin: [1] } }, ["r2", "r3", "r4", "r5"]],
      [{ tags: { $contains: "y" } }, ["r1", "r2"]],
      [{ tags: { $contains: "z" } }, ["r3"]],
      [{ tags: { $not_contains: "y" } }, ["r3", "r4", "r5"]],
      [{ nums: { $contains: 1 } }, ["r1"]],
      [{ nums: { $contains: 3 } }, ["r2"]],
      [{ nums: { $not_contains: 3 } }, ["r1", "r3", "r4", "r5"]],
      [{ fl: { $contains: 2.5 } }, ["r3"]],
      // $eq / $in never look inside arrays; $contains on a scalar string is not a substring test
      [{ tags: "y" }, []],
      [{ tags: { $in: ["x"] } }, []],
      [{ s: { $contains: "a" } }, []],
      // … and the negative operators are their complements
      [{ tags: { $nin: ["x"] } }, ["r1", "r2", "r3", "r4", "r5"]],
      [{ tags: { $ne: "y" } }, ["r1", "r2", "r3", "r4", "r5"]],
      [{ s: { $not_contains: "a" } }, ["r1", "r2", "r3", "r4", "r5"]],
    ];
    for (const [where, expected] of cases) {
      assert.deepEqual(await ids({ where }), expected, JSON.stringify(where));
    }
  });

  test("#document in where; where_document $contains / $not_contains / $regex / $not_regex", async () => {
    const whereCases = [
      [{ "#document": { $contains: "quick" } }, ["r1", "r5"]],
      [{ "#document": { $not_contains: "quick" } }, ["r2", "r3", "r4"]],
    ];
    for (const [where, expected] of whereCases) {
      assert.deepEqual(await ids({ where }), expected, JSON.stringify(where));
    }
    // $regex / $not_regex on #document: the JS client does not allow them inside where
    assert.deepEqual(await rawIds({ where: { "#document": { $regex: "(?i)^quick" } } }), ["r3", "r5"]);
    assert.deepEqual(await rawIds({ where: { "#document": { $not_regex: "o" } } }), ["r3", "r4", "r5"]);

    const docCases = [
      [{ $contains: "quick" }, ["r1", "r5"]],
      [{ $contains: "Quick" }, ["r3"]],
      [{ $contains: "100%" }, ["r2"]],
      [{ $contains: "%" }, ["r2"]],
      [{ $contains: "_" }, ["r3"]],
      [{ $contains: "k_s" }, ["r3"]],
      [{ $contains: "" }, ["r1", "r2", "r3", "r5"]],
      [{ $not_contains: "quick" }, ["r2", "r3", "r4"]],
      [{ $regex: "^[Qq]uick" }, ["r3", "r5"]],
      [{ $regex: "(?i)QUICK" }, ["r1", "r3", "r5"]],
      [{ $regex: "\\d+%$" }, ["r2"]],
      [{ $not_regex: "\\d" }, ["r1", "r3", "r4"]],
      [{ $and: [{ $contains: "o" }, { $not_contains: "dog" }] }, ["r1"]],
      [{ $or: [{ $contains: "dog" }, { $regex: "5$" }] }, ["r2", "r5"]],
    ];
    for (const [whereDocument, expected] of docCases) {
      assert.deepEqual(await ids({ whereDocument }), expected, JSON.stringify(whereDocument));
    }
  });

  test("$and / $or (nested), where AND where_document, with limit/offset and in query", async () => {
    const cases = [
      [{ $and: [{ i: { $gte: 5 } }, { b: false }] }, ["r2"]],
      [{ $or: [{ s: "a" }, { tags: { $contains: "z" } }] }, ["r1", "r3"]],
      [{ $or: [{ $and: [{ b: true }, { i: { $lt: 0 } }] }, { s: "c" }] }, ["r3", "r5"]],
      [{ $and: [{ $or: [{ i: 1 }, { i: 10 }] }, { f: { $gt: 0 } }] }, ["r1"]],
      [{ $or: [{ b: true }, { b: false }] }, ["r1", "r2", "r5"]],
    ];
    for (const [where, expected] of cases) {
      assert.deepEqual(await ids({ where }), expected, JSON.stringify(where));
    }
    assert.deepEqual(await ids({ where: { b: true }, whereDocument: { $contains: "fox" } }), ["r1"]);
    assert.deepEqual(await ids({ where: { b: { $ne: false } }, offset: 1, limit: 2 }), ["r3", "r4"]);
    assert.deepEqual(await ids({ ids: ["r5", "r2", "r1"], where: { b: true } }), ["r1", "r5"]);
    // raw: $and / $or with 0 or 1 children (the client insists on ≥ 2)
    assert.deepEqual(await rawIds({ where: { $and: [] } }), ["r1", "r2", "r3", "r4", "r5"]);
    assert.deepEqual(await rawIds({ where: { $or: [] } }), []);
    assert.deepEqual(await rawIds({ where: { $and: [{ s: "a" }] } }), ["r1"]);
    assert.deepEqual(await rawIds({ where: { $or: [{ s: "c" }] } }), ["r3"]);
    assert.deepEqual(await rawIds({ where_document: { $and: [] } }), ["r1", "r2", "r3", "r4", "r5"]);
    assert.deepEqual(await rawIds({ where_document: { $or: [] } }), []);
    // the same filters in query
    const col = await filterCollection();
    const q = await col.query({
      queryEmbeddings: [[0, 0], [6, 0]],
      where: { $or: [{ tags: { $contains: "y" } }, { s: "5" }] },
      include: ["distances"],
    });
    assert.deepEqual(q.ids, [
      ["r1", "r2", "r5"],
      ["r5", "r2", "r1"],
    ]);
    assert.deepEqual(q.distances, [
      [1, 4, 25],
      [1, 16, 25],
    ]);
    const q2 = await col.query({
      queryEmbeddings: [[0, 0]],
      whereDocument: { $not_contains: "quick" },
      where: { i: { $nin: [5] } },
      include: [],
    });
    assert.deepEqual(q2.ids, [["r3", "r4"]]);
  });

  test("invalid filters → 400 (raw and through the client)", async () => {
    const col = await filterCollection();
    const badWheres = [
      {},
      { a: 1, b: 2 },
      { s: { $gt: "a" } },
      { b: { $gt: true } },
      { a: null },
      { a: [1, 2] },
      { a: {} },
      { a: { $in: [] } },
      { a: { $in: ["5", 5] } },
      { a: { $in: 5 } },
      { $foo: 1 },
      { a: { $gt: 1, $lt: 5 } },
      { a: { $exists: true } },
      { a: { $regex: "x" } },
      { a: { $contains: ["x"] } },
      { "#document": { $contains: 5 } },
      { $and: {} },
      { $and: [{}] },
    ];
    for (const where of badWheres) {
      for (const op of ["get", "delete"]) {
        assertErrorResponse(
          await raw(col, op, { where }),
          400,
          "InvalidArgumentError",
          /^Invalid where clause\b/,
        );
      }
    }
    assertErrorResponse(
      await raw(col, "query", { query_embeddings: [[1, 0]], where: { a: {} } }),
      400,
      "InvalidArgumentError",
      /^Invalid where clause\b/,
    );
    const badDocs = [{}, { $contains: 5 }, { $foo: "x" }, { $contains: "a", $regex: "b" }, { $and: {} }];
    for (const whereDocument of badDocs) {
      assertErrorResponse(
        await raw(col, "get", { where_document: whereDocument }),
        400,
        "InvalidArgumentError",
        /^Invalid where document clause\b/,
      );
    }
    assertErrorResponse(
      await raw(col, "get", { where_document: { $regex: "(" } }),
      400,
      "InvalidArgumentError",
      /^Regex syntax errror:/,
    );
    // through the client: filters the client lets through but the server refuses
    await rejectsWith(
      col.get({ where: { "#document": { $contains: 5 } } }),
      ChromaClientError,
      /Invalid where clause/,
    );
    await rejectsWith(col.get({ whereDocument: { $regex: "(" } }), ChromaClientError, /Regex syntax/);
    await rejectsWith(
      col.query({ queryEmbeddings: [[1, 0]], whereDocument: { $contains: 5 } }),
      ChromaClientError,
      /Invalid where document clause/,
    );
    await rejectsWith(
      col.delete({ where: { a: { $in: [] } } }),
      ChromaValueError,
    );
    // … and ones it refuses itself
    await rejectsWith(col.get({ where: {} }), ChromaValueError);
    await rejectsWith(col.get({ where: { a: 1, b: 2 } }), ChromaValueError);
    await rejectsWith(col.get({ where: { s: { $gt: "a" } } }), ChromaValueError);
    // nothing was deleted by the failed deletes
    assert.equal(await col.count(), 5);
  });
});
