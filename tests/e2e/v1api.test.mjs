// End-to-end test of the v1 API (/api/v1, Chroma's Python servers 0.4–0.6) with the npm client
// `chromadb` 1.8.1 (installed as the alias `chromadb-v0`), which speaks only v1: tenant and
// database as query parameters, `true`/`null` write answers, "included" in results. Also the
// same data read back through v2, and the client's token/basic auth providers.
//
// Run from the repo root:  node --test tests/e2e/v1api.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AdminClient, ChromaClient } from "chromadb-v0";
import { ServerProcess, request } from "./harness.mjs";
import { makeUniq } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL && "the reference Chroma 1.x server has no v1 API";
const { uniq } = makeUniq();

// Offline embedding function: [length, count of "a", 1].
const embedder = {
  async generate(texts) {
    return texts.map((t) => [t.length, [...t].filter((c) => c === "a").length, 1]);
  },
};

describe("chromadb 1.8.1 (v1 API)", { skip: SKIP }, () => {
  let server;
  let client;
  before(async () => {
    server = await new ServerProcess({ args: ["--max-batch-size", "50"] }).start();
    client = new ChromaClient({ path: server.url });
  });
  after(async () => {
    await server?.cleanup();
  });

  test("collections: create, get, getOrCreate, list, count, modify, delete", async () => {
    const name = uniq("v1coll");
    const created = await client.createCollection({ name, metadata: { team: "search" }, embeddingFunction: embedder });
    assert.equal(created.name, name);
    assert.deepEqual(created.metadata, { team: "search" });
    const fetched = await client.getCollection({ name, embeddingFunction: embedder });
    assert.equal(fetched.id, created.id);
    const again = await client.getOrCreateCollection({ name, metadata: { team: "other" }, embeddingFunction: embedder });
    assert.equal(again.id, created.id);
    assert.deepEqual(again.metadata, { team: "search" }, "get_or_create keeps the existing metadata");
    await assert.rejects(client.createCollection({ name, embeddingFunction: embedder }));
    const listed = await client.listCollections();
    assert.ok(listed.some((c) => c.name === name), JSON.stringify(listed));
    const before = await client.countCollections();
    assert.ok(before >= 1);
    await fetched.modify({ name: name + "-renamed", metadata: { team: "renamed" } });
    const renamed = await client.getCollection({ name: name + "-renamed", embeddingFunction: embedder });
    assert.deepEqual(renamed.metadata, { team: "renamed" });
    await client.deleteCollection({ name: name + "-renamed" });
    await assert.rejects(client.getCollection({ name: name + "-renamed", embeddingFunction: embedder }));
    assert.equal(await client.countCollections(), before - 1);
  });

  test("records: add, get, query, update, upsert, peek, count, delete", async () => {
    const col = await client.createCollection({ name: uniq("v1recs"), embeddingFunction: embedder });
    const added = await col.add({
      ids: ["a", "b", "c"],
      embeddings: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
      documents: ["apple", "banana", "cherry"],
      metadatas: [{ kind: "fruit", n: 1 }, { kind: "fruit", n: 2 }, { kind: "stone", n: 3 }],
    });
    assert.equal(added, true);
    assert.equal(await col.count(), 3);

    const got = await col.get({ ids: ["b", "a"], include: ["documents", "metadatas", "embeddings"] });
    // Records come back in insertion order, whatever the order of the ids asked for.
    assert.deepEqual(got.ids, ["a", "b"]);
    assert.deepEqual(got.documents, ["apple", "banana"]);
    assert.deepEqual(got.embeddings, [[1, 0, 0], [0, 1, 0]]);
    assert.deepEqual(got.included, ["documents", "metadatas", "embeddings"]);
    assert.equal(got.data, null);

    const filtered = await col.get({ where: { n: { $gte: 2 } }, whereDocument: { $contains: "an" } });
    assert.deepEqual(filtered.ids, ["b"]);

    const q = await col.query({ queryEmbeddings: [[0.9, 0.1, 0]], nResults: 2, where: { kind: "fruit" } });
    assert.deepEqual(q.ids, [["a", "b"]]);
    assert.equal(q.distances[0].length, 2);
    assert.ok(q.distances[0][0] < q.distances[0][1]);
    // Documents go through the collection's embedding function (client side).
    const byText = await col.query({ queryTexts: ["apple"], nResults: 1 });
    assert.equal(byText.ids[0].length, 1);

    await col.update({ ids: ["a"], documents: ["apricot"], metadatas: [{ kind: "fruit", n: 10 }] });
    await col.upsert({ ids: ["d"], embeddings: [[1, 1, 1]], documents: ["date"], metadatas: [{ kind: "fruit", n: 4 }] });
    const after = await col.get({ ids: ["a", "d"] });
    assert.deepEqual(after.documents, ["apricot", "date"]);
    assert.deepEqual(after.metadatas, [{ kind: "fruit", n: 10 }, { kind: "fruit", n: 4 }]);
    const peeked = await col.peek({ limit: 2 });
    assert.equal(peeked.ids.length, 2);

    await col.delete({ where: { kind: "stone" } });
    assert.equal(await col.count(), 3);
    await col.delete({ ids: ["d"] });
    assert.deepEqual((await col.get()).ids, ["a", "b"]);

    // The same records through v2.
    const v2 = await request(server.url, "POST",
      `/api/v2/tenants/default_tenant/databases/default_database/collections/${col.id}/get`,
      { body: { include: ["documents"] } });
    assert.equal(v2.status, 200);
    assert.deepEqual(v2.json.documents, ["apricot", "banana"]);
  });

  test("tenants and databases through the admin client", async () => {
    const admin = new AdminClient({ path: server.url });
    const tenant = uniq("tenant");
    await admin.createTenant({ name: tenant });
    assert.equal((await admin.getTenant({ name: tenant })).name, tenant);
    await admin.createDatabase({ name: "analytics", tenantName: tenant });
    const db = await admin.getDatabase({ name: "analytics", tenantName: tenant });
    assert.equal(db.name, "analytics");
    const scoped = new ChromaClient({ path: server.url, tenant, database: "analytics" });
    const col = await scoped.createCollection({ name: "inside", embeddingFunction: embedder });
    assert.equal(await scoped.countCollections(), 1);
    assert.equal(await client.countCollections() >= 0, true);
    const v2 = await request(server.url, "GET", `/api/v2/tenants/${tenant}/databases/analytics/collections/inside`);
    assert.equal(v2.json.id, col.id);
  });

  test("errors: batch size (413), bad filters, unknown collection", async () => {
    const col = await client.createCollection({ name: uniq("v1err"), embeddingFunction: embedder });
    const ids = Array.from({ length: 51 }, (_, i) => `id${i}`);
    // This client answers record errors as {error: <name>} instead of throwing.
    assert.deepEqual(await col.add({ ids, embeddings: ids.map(() => [1, 2, 3]) }), { error: "BatchSizeExceededError" });
    assert.equal(await col.count(), 0);
    const raw = await request(server.url, "POST", `/api/v1/collections/${col.id}/add`, {
      body: { ids, embeddings: ids.map(() => [1, 2, 3]) },
    });
    assert.equal(raw.status, 413);
    assert.equal(raw.json.error, "BatchSizeExceededError");
    assert.deepEqual(await col.get({ where: { $and: [{ a: 1 }] } }), { error: "InvalidArgumentError" });
    const missing = await request(server.url, "GET", "/api/v1/collections/does-not-exist");
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error, "InvalidCollection");
    const slash = await request(server.url, "GET", "/api/v1/heartbeat/");
    assert.equal(slash.status, 200);
  });
});

describe("chromadb 1.8.1 auth providers", { skip: SKIP }, () => {
  // bcrypt of "alice-pw" (cost 4).
  const HASH = "$2b$04$P3xVRWm6GqR1ZqJPxw406eZgT931oJZIDdwxzZ3pyD.ChagalfqzC";

  test("token provider, both header types", async () => {
    const server = await new ServerProcess({
      env: { CHROMA_SERVER_AUTHN_PROVIDER: "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
             CHROMA_SERVER_AUTHN_CREDENTIALS: "v1-secret-token" },
    }).start();
    try {
      for (const tokenHeaderType of ["AUTHORIZATION", "X_CHROMA_TOKEN"]) {
        const ok = new ChromaClient({ path: server.url, auth: { provider: "token", credentials: "v1-secret-token", tokenHeaderType } });
        const col = await ok.getOrCreateCollection({ name: "tok", embeddingFunction: embedder });
        assert.equal(await col.count(), 0);
      }
      const bad = new ChromaClient({ path: server.url, auth: { provider: "token", credentials: "wrong" } });
      await assert.rejects(bad.listCollections());
      const none = new ChromaClient({ path: server.url });
      await assert.rejects(none.listCollections());
      assert.equal(await none.heartbeat() > 0, true, "heartbeat stays open");
      assert.ok(!server.log.includes("v1-secret-token"), "the token must never be logged");
    } finally {
      await server.cleanup();
    }
  });

  test("basic provider with an htpasswd line", async () => {
    const server = await new ServerProcess({
      env: { CHROMA_SERVER_AUTH_PROVIDER: "chromadb.auth.basic.BasicAuthServerProvider",
             CHROMA_SERVER_AUTH_CREDENTIALS: `alice:${HASH}` },
    }).start();
    try {
      const ok = new ChromaClient({ path: server.url, auth: { provider: "basic", credentials: "alice:alice-pw" } });
      const col = await ok.getOrCreateCollection({ name: "basic", embeddingFunction: embedder });
      await col.add({ ids: ["x"], embeddings: [[1, 2, 3]] });
      assert.equal(await col.count(), 1);
      const bad = new ChromaClient({ path: server.url, auth: { provider: "basic", credentials: "alice:nope" } });
      await assert.rejects(bad.listCollections());
      const res = await request(server.url, "GET", "/api/v1/collections");
      assert.equal(res.status, 401);
      assert.equal(res.json.error, "AuthError");
      assert.ok(!server.log.includes("alice-pw"));
    } finally {
      await server.cleanup();
    }
  });
});
