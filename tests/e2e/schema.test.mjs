// The collection Schema of Chroma 1.x through the official npm client 3.x (its Schema builder)
// and raw HTTP: the default schema every collection carries, a schema built by the client
// driving the vector index and switching indexes off (filters on them refused), Chroma's
// validation of a given schema, and modify reflected in the schema.
//
// Run from the repo root:   node --test tests/e2e/schema.test.mjs
// Against a running server:  CHROMA_URL=http://127.0.0.1:8000 node --test tests/e2e/schema.test.mjs
// (how the expectations were checked against the reference Chroma 1.5.9 server).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ChromaClient,
  FtsIndexConfig,
  IntInvertedIndexConfig,
  Schema,
  StringInvertedIndexConfig,
  VectorIndexConfig,
} from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import { assertErrorResponse, collectionsPath, makeUniq } from "./testlib.mjs";

const { uniq } = makeUniq();
const COLLS = collectionsPath();

// Chroma 1.5.9's schema of a collection created with nothing but a name (num_threads is the
// server's core count, compared apart).
const HNSW = { ef_construction: 100, max_neighbors: 16, ef_search: 100, batch_size: 100, sync_threshold: 1000, resize_factor: 1.2 };
const DEFAULT_SCHEMA = {
  defaults: {
    string: { fts_index: { enabled: false, config: {} }, string_inverted_index: { enabled: true, config: {} } },
    float_list: { vector_index: { enabled: false, config: { space: "l2", hnsw: HNSW } } },
    sparse_vector: { sparse_vector_index: { enabled: false, config: { embedding_function: { type: "unknown" }, bm25: false } } },
    int: { int_inverted_index: { enabled: true, config: {} } },
    float: { float_inverted_index: { enabled: true, config: {} } },
    bool: { bool_inverted_index: { enabled: true, config: {} } },
  },
  keys: {
    "#embedding": { float_list: { vector_index: { enabled: true, config: { space: "l2", source_key: "#document", hnsw: HNSW } } } },
    "#document": { string: { fts_index: { enabled: true, config: {} }, string_inverted_index: { enabled: false, config: {} } } },
  },
};

// The schema with num_threads taken out (checked to be a positive integer).
function withoutThreads(schema) {
  const copy = structuredClone(schema);
  for (const vi of [copy.defaults?.float_list?.vector_index, copy.keys?.["#embedding"]?.float_list?.vector_index]) {
    const hnsw = vi?.config?.hnsw;
    if (!hnsw) continue;
    assert.ok(Number.isInteger(hnsw.num_threads) && hnsw.num_threads > 0, `num_threads ${hnsw.num_threads}`);
    delete hnsw.num_threads;
  }
  return copy;
}

async function getRaw(url, name) {
  const res = await request(url, "GET", `${COLLS}/${name}`);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

describe("collection schema", () => {
  let server, client;
  before(async () => {
    server = await new ServerProcess().start();
    client = new ChromaClient({ path: server.url });
  });
  after(async () => server?.cleanup());

  test("a collection created with a name only carries Chroma's default schema", async () => {
    const name = uniq("plain");
    await client.createCollection({ name, embeddingFunction: null });
    const raw = await getRaw(server.url, name);
    assert.deepEqual(withoutThreads(raw.schema), DEFAULT_SCHEMA);
  });

  test("a schema built with the client's Schema sets the space and switches indexes off", async () => {
    const name = uniq("built");
    const schema = new Schema()
      .createIndex(new VectorIndexConfig({ space: "cosine" }))
      .deleteIndex(new StringInvertedIndexConfig(), "tags")
      .deleteIndex(new IntInvertedIndexConfig())
      .deleteIndex(new FtsIndexConfig(), "#document");
    const col = await client.createCollection({ name, schema, embeddingFunction: null });
    const raw = await getRaw(server.url, name);
    assert.equal(raw.configuration_json.hnsw.space, "cosine");
    assert.equal(raw.schema.keys["#embedding"].float_list.vector_index.config.space, "cosine");
    assert.deepEqual(raw.schema.keys.tags, { string: { string_inverted_index: { enabled: false, config: {} } } });
    assert.equal(raw.schema.defaults.int.int_inverted_index.enabled, false);
    assert.equal(raw.schema.keys["#document"].string.fts_index.enabled, false);

    // The space is the index's: cosine distances.
    await col.add({ ids: ["a", "b"], embeddings: [[2, 0], [0, 3]], metadatas: [{ tags: "x", n: 1, f: 0.5 }, { tags: "y", n: 2, f: 1.5 }] });
    const r = await col.query({ queryEmbeddings: [[1, 0]], nResults: 2, include: ["distances"] });
    assert.deepEqual(r.ids, [["a", "b"]]);
    assert.ok(Math.abs(r.distances[0][0]) < 1e-6 && Math.abs(r.distances[0][1] - 1) < 1e-6, `${r.distances}`);

    // Filters on what the schema switched off are refused; the others work.
    const refused = async (body, message) => {
      const res = await request(server.url, "POST", `${COLLS}/${col.id}/get`, { body });
      assertErrorResponse(res, 400, "InvalidArgumentError", message);
    };
    await refused({ where: { tags: "x" } }, /^Cannot filter using metadata key 'tags' with type 'Str' because indexing is disabled$/);
    await refused({ where: { n: { $gt: 1 } } }, /^Cannot filter using metadata key 'n' with type 'Int' because indexing is disabled$/);
    await refused({ where_document: { $contains: "x" } }, /full-text search/i);
    const ok = await col.get({ where: { f: { $gt: 1.2 } } });
    assert.deepEqual(ok.ids, ["b"]);

    // The client reads the schema back.
    const again = await client.getCollection({ name, embeddingFunction: null });
    assert.ok(again.schema, "the client deserialised a schema");
  });

  test("a given schema is validated as Chroma validates it", async () => {
    const create = (schema, extra = {}) => request(server.url, "POST", COLLS, { body: { name: uniq("bad"), schema, ...extra } });
    const keys = (k) => ({ defaults: {}, keys: k });
    assertErrorResponse(await create(keys({ "#foo": {} })), 400, "InvalidArgumentError",
      /^Validation error: schema: key cannot begin with '#'. Keys starting with '#' are reserved for system use: #foo$/);
    assertErrorResponse(await create(keys({ title: { string: { fts_index: { enabled: true, config: {} } } } })), 400, "InvalidArgumentError",
      /^Validation error: schema: Full text search \/ regular expression index can only be enabled on #document field: title$/);
    assertErrorResponse(await create(keys({ foo: { float_list: { vector_index: { enabled: true, config: {} } } } })), 400, "InvalidArgumentError",
      /^Validation error: schema: Vector index can only be enabled on #embedding field: foo$/);
    assertErrorResponse(await create({ defaults: {} }), 422, "ChromaError",
      /^Failed to deserialize the JSON body into the target type: schema: missing field `keys`/);
    assertErrorResponse(await create(keys({ "#embedding": { float_list: { vector_index: { enabled: true, config: { space: "manhattan" } } } } })), 422, "ChromaError",
      /^Failed to deserialize the JSON body into the target type: schema\.keys\.#embedding\.float_list\.vector_index\.config\.space: unknown variant `manhattan`, expected one of `l2`, `cosine`, `ip`/);
    const cosine = keys({ "#embedding": { float_list: { vector_index: { enabled: true, config: { space: "cosine" } } } } });
    assertErrorResponse(await create(cosine, { configuration: { hnsw: { space: "cosine" } } }), 400, "InvalidArgumentError",
      /^Failed to reconcile schema: Cannot set both collection config and schema simultaneously$/);
    // A default schema next to a configuration is fine; the configuration decides.
    const fine = await create(DEFAULT_SCHEMA, { configuration: { hnsw: { space: "ip" } } });
    assert.equal(fine.status, 200, fine.text);
    assert.equal(fine.json.configuration_json.hnsw.space, "ip");
    assert.equal(fine.json.schema.keys["#embedding"].float_list.vector_index.config.space, "ip");
  });

  test("modify's new HNSW parameters show in the schema", async () => {
    const name = uniq("modified");
    const schema = new Schema().createIndex(new VectorIndexConfig({ space: "ip", hnsw: { ef_search: 77 } }));
    const col = await client.createCollection({ name, schema, embeddingFunction: null });
    assert.equal((await getRaw(server.url, name)).schema.keys["#embedding"].float_list.vector_index.config.hnsw.ef_search, 77);
    await col.modify({ configuration: { hnsw: { ef_search: 50 } } });
    const raw = await getRaw(server.url, name);
    assert.equal(raw.configuration_json.hnsw.ef_search, 50);
    assert.equal(raw.configuration_json.hnsw.space, "ip");
    for (const vi of [raw.schema.keys["#embedding"].float_list.vector_index, raw.schema.defaults.float_list.vector_index]) {
      assert.equal(vi.config.hnsw.ef_search, 50);
      assert.equal(vi.config.space, "ip");
    }
    const refused = await request(server.url, "PUT", `${COLLS}/${col.id}`, { body: { new_configuration: { hnsw: { space: "l2" } } } });
    assertErrorResponse(refused, 422, "ChromaError", /new_configuration\.hnsw\.space: unknown field `space`/);
  });
});
