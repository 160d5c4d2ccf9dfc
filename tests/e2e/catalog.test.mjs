// End-to-end tests of the catalog (tenants, databases, collections) with the official npm
// `chromadb` 3.x client, plus raw-HTTP checks of what the client hides. Records are out of scope.
//
// Run from the repo root:   node --test tests/e2e/catalog.test.mjs
// Against a running server:  CHROMA_URL=http://127.0.0.1:8000 node --test tests/e2e/catalog.test.mjs
// (this is how the expectations were validated against the reference Chroma 1.5.9 server).
//
// Every test uses its own unique names (and, where counts matter, its own tenant/database) so the
// tests are independent of each other and of earlier runs against the same server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminClient,
  ChromaClient,
  ChromaClientError,
  ChromaConnectionError,
  ChromaNotFoundError,
  ChromaUniqueError,
  ChromaValueError,
  registerEmbeddingFunction,
} from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import {
  EXTERNAL,
  TRACE_RE,
  assertErrorResponse as assertErrorBody,
  assertOkJson,
  collectionsPath,
  fakeEmbeddingFunctionClass,
  makeUniq,
  rejectsWith,
} from "./testlib.mjs";

// Unique, valid (3-512 chars of [a-zA-Z0-9._-], alphanumeric ends) names.
const { runId, uniq, nextSeq } = makeUniq();

const DEFAULT_HNSW = {
  space: "l2",
  ef_construction: 100,
  ef_search: 100,
  max_neighbors: 16,
  resize_factor: 1.2,
  sync_threshold: 1000,
};
const COLLECTION_KEYS = [
  "id",
  "name",
  "configuration_json",
  "schema",
  "metadata",
  "dimension",
  "tenant",
  "database",
  "log_position",
  "version",
].sort();
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// A fake "known" embedding function, registered with the client so that it can rebuild it from
// the configuration the server echoes back. It never computes anything (no network, no model).
const E2eFakeEmbeddingFunction = fakeEmbeddingFunctionClass({ name: "e2e_fake", defaultSpace: "cosine", embed: () => [0, 0, 0] });
registerEmbeddingFunction("e2e_fake", E2eFakeEmbeddingFunction);

// Asserts an error response (testlib.mjs); here the message must always be a string.
const assertErrorResponse = (res, status, errorName, messageRe) =>
  assertErrorBody(res, status, errorName, messageRe, { stringMessage: true });

let server;
let url;
let client;
let admin;

// Creates a fresh tenant + database and a client bound to them.
async function freshScope(prefix = "s") {
  const tenant = uniq(`${prefix}ten`);
  const database = uniq(`${prefix}db`);
  await admin.createTenant({ name: tenant });
  await admin.createDatabase({ name: database, tenant });
  const scoped = new ChromaClient({ host: server.host, port: server.port, tenant, database });
  return { tenant, database, client: scoped };
}

before(async () => {
  server = await new ServerProcess().start();
  url = server.url;
  client = new ChromaClient({ host: server.host, port: server.port });
  admin = new AdminClient({ host: server.host, port: server.port, ssl: false });
});

after(async () => {
  await server?.cleanup();
});

describe("system", () => {
  test("heartbeat and version through the client", async () => {
    const hb = await client.heartbeat();
    assert.equal(typeof hb, "number");
    // nanoseconds since the epoch, within a minute of our clock
    assert.ok(Math.abs(hb / 1e6 - Date.now()) < 60000, `heartbeat ${hb}`);
    assert.equal(await client.version(), "1.0.0");
  });

  test("heartbeat, version, pre-flight-checks, auth/identity raw shapes", async () => {
    let res = await request(url, "GET", "/api/v2/heartbeat");
    assertOkJson(res);
    assert.match(res.text, /^\{"nanosecond heartbeat":\d+\}$/);

    res = await request(url, "GET", "/api/v2");
    assertOkJson(res);
    assert.deepEqual(Object.keys(res.json), ["nanosecond heartbeat"]);

    res = await request(url, "GET", "/api/v2/version");
    assertOkJson(res);
    assert.equal(res.text, '"1.0.0"');

    res = await request(url, "GET", "/api/v2/pre-flight-checks");
    assertOkJson(res);
    assert.deepEqual(res.json, { max_batch_size: 5461, supports_base64_encoding: true });

    res = await request(url, "GET", "/api/v2/auth/identity");
    assertOkJson(res);
    // Exactly these keys: the Python client splats the object into a dataclass.
    assert.deepEqual(res.json, {
      user_id: "",
      tenant: "default_tenant",
      databases: ["default_database"],
    });
    assert.deepEqual(await client.getUserIdentity(), res.json);

    res = await request(url, "GET", "/api/v2/healthcheck");
    assertOkJson(res);
    assert.deepEqual(res.json, { is_executor_ready: true, is_log_client_ready: true });
  });

  test("unknown path → 404 with empty body; wrong method → 405 with empty body", async () => {
    for (const path of ["/api/v2/nope", "/api/v2/heartbeat/", "/api/v3/heartbeat", "/nope"]) {
      const res = await request(url, "GET", path);
      assert.equal(res.status, 404, path);
      assert.equal(res.text, "", path);
      assert.equal(res.headers.get("content-type"), null, path);
      assert.match(res.headers.get("chroma-trace-id") ?? "", TRACE_RE, path);
    }
    for (const [method, path] of [
      ["POST", "/api/v2/heartbeat"],
      ["DELETE", "/api/v2/version"],
      ["PUT", "/api/v2/tenants"],
      ["POST", `${collectionsPath()}_count`],
    ]) {
      const res = await request(url, method, path);
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.text, "", `${method} ${path}`);
      assert.match(res.headers.get("chroma-trace-id") ?? "", TRACE_RE);
      assert.ok(res.headers.get("allow"), "allow header");
    }
    const res = await request(url, "POST", "/api/v2/heartbeat");
    assert.match(res.headers.get("allow"), /GET/);
  });

  test("HEAD is accepted wherever GET is", async () => {
    const res = await fetch(`${url}/api/v2/heartbeat`, { method: "HEAD" });
    assert.equal(res.status, 200);
  });
});

describe("tenants", () => {
  test("create, get, duplicate, missing, bad name", async () => {
    const name = uniq("tenant");
    await admin.createTenant({ name });
    assert.equal(await admin.getTenant({ name }), name);

    await rejectsWith(admin.createTenant({ name }), ChromaUniqueError);
    await rejectsWith(admin.getTenant({ name: uniq("missing") }), ChromaNotFoundError);
    await rejectsWith(admin.createTenant({ name: "t1" }), ChromaClientError);
  });

  test("raw tenant responses", async () => {
    const name = uniq("tenant");
    let res = await request(url, "POST", "/api/v2/tenants", { body: { name } });
    assertOkJson(res);
    assert.deepEqual(res.json, {});

    res = await request(url, "GET", `/api/v2/tenants/${name}`);
    assertOkJson(res);
    assert.deepEqual(res.json, { name, resource_name: null });

    res = await request(url, "POST", "/api/v2/tenants", { body: { name } });
    assertErrorResponse(res, 409, "ChromaError", new RegExp(`^Tenant \\[${name}\\] already exists$`));

    const missing = uniq("missing");
    res = await request(url, "GET", `/api/v2/tenants/${missing}`);
    assertErrorResponse(res, 404, "NotFoundError", new RegExp(`^Tenant \\[${missing}\\] not found$`));

    res = await request(url, "POST", "/api/v2/tenants", { body: { name: "t1" } });
    assertErrorResponse(res, 400, "InvalidArgumentError");

    // PATCH resource_name: accepted and ignored locally
    res = await request(url, "PATCH", `/api/v2/tenants/${name}`, { body: { resource_name: "rn" } });
    assertOkJson(res);
    assert.deepEqual(res.json, {});
  });

  test("default tenant and database exist", async () => {
    assert.equal(await admin.getTenant({ name: "default_tenant" }), "default_tenant");
    const db = await admin.getDatabase({ name: "default_database", tenant: "default_tenant" });
    assert.deepEqual(db, {
      id: "00000000-0000-0000-0000-000000000000",
      name: "default_database",
      tenant: "default_tenant",
    });
  });
});

describe("databases", () => {
  test("create, get, list (sorted, limit/offset), duplicate, delete", async () => {
    const tenant = uniq("dbten");
    await admin.createTenant({ name: tenant });
    const names = ["ccc", "aaa", "bbb"].map((p) => `${p}-${runId}`);
    for (const name of names) await admin.createDatabase({ name, tenant });

    const db = await admin.getDatabase({ name: names[0], tenant });
    assert.deepEqual(Object.keys(db).sort(), ["id", "name", "tenant"]);
    assert.match(db.id, UUID_RE);
    assert.equal(db.name, names[0]);
    assert.equal(db.tenant, tenant);

    const all = await admin.listDatabases({ tenant });
    assert.deepEqual(
      all.map((d) => d.name),
      [...names].sort(),
    );
    assert.ok(all.every((d) => d.tenant === tenant && UUID_RE.test(d.id)));
    const page = await admin.listDatabases({ tenant, limit: 1, offset: 1 });
    assert.deepEqual(page, [all[1]]);
    assert.deepEqual(await admin.listDatabases({ tenant, offset: 3 }), []);

    await rejectsWith(admin.createDatabase({ name: names[0], tenant }), ChromaUniqueError);

    await admin.deleteDatabase({ name: names[1], tenant });
    await rejectsWith(admin.getDatabase({ name: names[1], tenant }), ChromaNotFoundError);
    await rejectsWith(admin.deleteDatabase({ name: names[1], tenant }), ChromaNotFoundError);
    assert.deepEqual(
      (await admin.listDatabases({ tenant })).map((d) => d.name),
      [names[2], names[0]],
    );
  });

  test("same database name in two tenants; unknown tenant lists []", async () => {
    const t1 = uniq("tenA");
    const t2 = uniq("tenB");
    await admin.createTenant({ name: t1 });
    await admin.createTenant({ name: t2 });
    const name = uniq("shared");
    await admin.createDatabase({ name, tenant: t1 });
    await admin.createDatabase({ name, tenant: t2 });
    const d1 = await admin.getDatabase({ name, tenant: t1 });
    const d2 = await admin.getDatabase({ name, tenant: t2 });
    assert.notEqual(d1.id, d2.id);
    assert.deepEqual(await admin.listDatabases({ tenant: uniq("nosuchtenant") }), []);
  });

  test("bad database names → 400 (ChromaClientError)", async () => {
    const tenant = uniq("dbten");
    await admin.createTenant({ name: tenant });
    for (const name of ["ab", "-abc", "abc-", "a..b", "ab c", "192.168.0.1"]) {
      await rejectsWith(admin.createDatabase({ name, tenant }), ChromaClientError);
    }
  });

  test("raw database responses", async () => {
    const tenant = uniq("dbten");
    await admin.createTenant({ name: tenant });
    const name = uniq("rawdb");
    let res = await request(url, "POST", `/api/v2/tenants/${tenant}/databases`, { body: { name } });
    assertOkJson(res);
    assert.deepEqual(res.json, {});

    res = await request(url, "GET", `/api/v2/tenants/${tenant}/databases/${name}`);
    assertOkJson(res);
    assert.deepEqual(Object.keys(res.json).sort(), ["id", "name", "tenant"]);

    res = await request(url, "POST", `/api/v2/tenants/${tenant}/databases`, { body: { name } });
    assertErrorResponse(res, 409, "ChromaError", new RegExp(`^Database \\[${name}\\] already exists$`));

    const missing = uniq("nodb");
    res = await request(url, "GET", `/api/v2/tenants/${tenant}/databases/${missing}`);
    assertErrorResponse(
      res,
      404,
      "NotFoundError",
      new RegExp(`^Database \\[${missing}\\] not found. Are you sure it exists\\?$`),
    );

    res = await request(url, "DELETE", `/api/v2/tenants/${tenant}/databases/${name}`);
    assertOkJson(res);
    assert.deepEqual(res.json, {});

    res = await request(url, "GET", `/api/v2/tenants/${tenant}/databases?limit=abc`);
    assertErrorResponse(res, 400, "InvalidArgumentError");
  });

  test("deleting a database deletes its collections", async () => {
    const { tenant, database, client: scoped } = await freshScope("del");
    const name = uniq("col");
    await scoped.createCollection({ name, embeddingFunction: null });
    assert.equal(await scoped.countCollections(), 1);
    await admin.deleteDatabase({ name: database, tenant });
    await admin.createDatabase({ name: database, tenant });
    assert.equal(await scoped.countCollections(), 0);
    assert.deepEqual(await scoped.listCollections(), []);
    await rejectsWith(scoped.getCollection({ name }), ChromaNotFoundError);
  });
});

describe("collections", () => {
  test("create / get / getOrCreate / delete with the client", async () => {
    const name = uniq("col");
    const created = await client.createCollection({
      name,
      metadata: { s: "text", i: 7, f: 2.5, b: true },
      embeddingFunction: null,
    });
    assert.match(created.id, UUID_RE);
    assert.equal(created.name, name);
    assert.equal(created.tenant, "default_tenant");
    assert.equal(created.database, "default_database");
    assert.deepEqual(created.metadata, { s: "text", i: 7, f: 2.5, b: true });
    assert.deepEqual(created.configuration.hnsw, DEFAULT_HNSW);
    assert.equal(created.configuration.spann, null);
    assert.equal(created.configuration.embedding_function, null);
    assert.equal(created.embeddingFunction, undefined);

    const got = await client.getCollection({ name });
    assert.equal(got.id, created.id);
    assert.deepEqual(got.metadata, created.metadata);
    assert.deepEqual(got.configuration, created.configuration);

    // get_or_create on an existing name returns it unchanged (request metadata ignored)
    const again = await client.getOrCreateCollection({
      name,
      metadata: { other: 1 },
      embeddingFunction: null,
    });
    assert.equal(again.id, created.id);
    assert.deepEqual(again.metadata, created.metadata);

    // get_or_create on a new name creates it
    const name2 = uniq("col");
    const fresh = await client.getOrCreateCollection({ name: name2, embeddingFunction: null });
    assert.notEqual(fresh.id, created.id);
    assert.equal(fresh.metadata, undefined); // server sends metadata: null
    assert.equal((await client.getCollectionById(fresh.id)).name, name2);

    await client.deleteCollection({ name });
    await rejectsWith(client.getCollection({ name }), ChromaNotFoundError);
    await rejectsWith(client.deleteCollection({ name }), ChromaNotFoundError);
    await client.deleteCollection({ name: name2 });
  });

  test("listCollections (limit/offset) and countCollections in a fresh database", async () => {
    const { client: scoped, tenant, database } = await freshScope("list");
    assert.equal(await scoped.countCollections(), 0);
    assert.deepEqual(await scoped.listCollections(), []);

    const names = [];
    for (let i = 0; i < 5; i++) {
      const name = uniq(`lc${i}`);
      names.push(name);
      await scoped.createCollection({ name, metadata: { i }, embeddingFunction: null });
    }
    assert.equal(await scoped.countCollections(), 5);

    const all = await scoped.listCollections();
    assert.equal(all.length, 5);
    assert.deepEqual(all.map((c) => c.name).sort(), [...names].sort());
    assert.ok(all.every((c) => c.tenant === tenant && c.database === database));
    // Local Chroma orders by ascending collection UUID.
    const ids = all.map((c) => c.id);
    assert.deepEqual(ids, [...ids].sort());
    for (const c of all) assert.equal(c.metadata.i, names.indexOf(c.name));

    const p1 = await scoped.listCollections({ limit: 2 });
    const p2 = await scoped.listCollections({ limit: 2, offset: 2 });
    const p3 = await scoped.listCollections({ limit: 2, offset: 4 });
    assert.deepEqual(
      [...p1, ...p2, ...p3].map((c) => c.id),
      ids,
    );
    assert.equal(p3.length, 1);
    assert.deepEqual(await scoped.listCollections({ offset: 5 }), []);
    assert.deepEqual(await scoped.listCollections({ limit: 0 }), []);

    // raw: no limit → all; count is a bare integer
    let res = await request(url, "GET", collectionsPath(tenant, database));
    assertOkJson(res);
    assert.equal(res.json.length, 5);
    res = await request(url, "GET", `${collectionsPath(tenant, database)}_count`);
    assertOkJson(res);
    assert.equal(res.text, "5");

    // nothing of it leaks into the default database
    const defaultNames = (await client.listCollections({ limit: 100000 })).map((c) => c.name);
    for (const n of names) assert.ok(!defaultNames.includes(n));
  });

  test("modify: name, metadata (replaces the map), configuration (ef_search)", async () => {
    const name = uniq("mod");
    const col = await client.createCollection({
      name,
      metadata: { keep: "no", x: 1 },
      embeddingFunction: null,
    });

    const newName = uniq("mod-renamed");
    await col.modify({ name: newName });
    assert.equal(col.name, newName);
    await rejectsWith(client.getCollection({ name }), ChromaNotFoundError);
    let got = await client.getCollection({ name: newName });
    assert.equal(got.id, col.id);
    assert.deepEqual(got.metadata, { keep: "no", x: 1 });

    await col.modify({ metadata: { y: 2.5, z: false } });
    got = await client.getCollection({ name: newName });
    assert.deepEqual(got.metadata, { y: 2.5, z: false });

    await col.modify({ configuration: { hnsw: { ef_search: 42, resize_factor: 1.5 } } });
    got = await client.getCollection({ name: newName });
    assert.deepEqual(got.configuration.hnsw, {
      ...DEFAULT_HNSW,
      ef_search: 42,
      resize_factor: 1.5,
    });
    assert.deepEqual(got.metadata, { y: 2.5, z: false });

    // the client refuses {} itself; the server answers 400 to raw requests
    await rejectsWith(col.modify({ metadata: {} }), ChromaValueError);
    const res = await request(url, "PUT", `${collectionsPath()}/${col.id}`, {
      body: { new_metadata: {} },
    });
    assertErrorResponse(res, 400, "InvalidArgumentError", /Metadata cannot be empty/);

    await client.deleteCollection({ name: newName });
  });

  test("raw modify: empty body no-op, unknown keys 422, unknown / bad UUID", async () => {
    const name = uniq("rawmod");
    const col = await client.createCollection({ name, embeddingFunction: null });
    const path = `${collectionsPath()}/${col.id}`;

    let res = await request(url, "PUT", path, { body: {} });
    assertOkJson(res);
    assert.deepEqual(res.json, {});

    // space / ef_construction cannot be changed → 422 (deserialization error)
    for (const hnsw of [{ space: "ip" }, { ef_construction: 200 }]) {
      res = await request(url, "PUT", path, { body: { new_configuration: { hnsw } } });
      assertErrorResponse(res, 422, "ChromaError");
    }

    res = await request(url, "PUT", path, {
      body: { new_name: uniq("rawmod2"), new_metadata: { a: 1 } },
    });
    assertOkJson(res);
    res = await request(url, "GET", `${collectionsPath()}/by-id/${col.id}`);
    assertOkJson(res);
    assert.deepEqual(res.json.metadata, { a: 1 });
    assert.deepEqual(res.json.configuration_json.hnsw, DEFAULT_HNSW);

    const unknown = "2f6f6d8e-3c44-4b5e-9c1e-0d9b2c0f4a11";
    res = await request(url, "PUT", `${collectionsPath()}/${unknown}`, { body: { new_metadata: { a: 1 } } });
    assertErrorResponse(res, 404, "NotFoundError");
    res = await request(url, "PUT", `${collectionsPath()}/not-a-uuid`, { body: {} });
    assertErrorResponse(res, 400, "InvalidArgumentError");

    await client.deleteCollection({ name: (await client.getCollectionById(col.id)).name });
  });

  test("collections in a non-default tenant/database", async () => {
    const a = await freshScope("ta");
    const b = await freshScope("tb");
    const name = uniq("same");
    const ca = await a.client.createCollection({ name, metadata: { w: "a" }, embeddingFunction: null });
    const cb = await b.client.createCollection({ name, metadata: { w: "b" }, embeddingFunction: null });
    assert.notEqual(ca.id, cb.id);
    assert.equal(ca.tenant, a.tenant);
    assert.equal(ca.database, a.database);
    assert.equal(cb.tenant, b.tenant);
    assert.deepEqual((await a.client.getCollection({ name })).metadata, { w: "a" });
    assert.deepEqual((await b.client.getCollection({ name })).metadata, { w: "b" });
    await rejectsWith(client.getCollection({ name }), ChromaNotFoundError);

    // by-id is scoped to tenant + database
    let res = await request(url, "GET", `${collectionsPath(a.tenant, a.database)}/by-id/${ca.id}`);
    assertOkJson(res);
    assert.equal(res.json.name, name);
    res = await request(url, "GET", `${collectionsPath(b.tenant, b.database)}/by-id/${ca.id}`);
    assertErrorResponse(res, 404, "NotFoundError");
    res = await request(url, "GET", `${collectionsPath(a.tenant, a.database)}/by-id/not-a-uuid`);
    assertErrorResponse(res, 400, "InvalidArgumentError");

    // deleting in one database leaves the other alone
    await a.client.deleteCollection({ name });
    assert.equal((await b.client.getCollection({ name })).id, cb.id);

    // a missing database → 400 on create
    const ghost = new ChromaClient({
      host: server.host,
      port: server.port,
      tenant: a.tenant,
      database: uniq("ghostdb"),
    });
    await rejectsWith(
      ghost.createCollection({ name, embeddingFunction: null }),
      ChromaClientError,
      /does not exist/,
    );
  });

  test("configuration: space cosine via configuration; legacy hnsw:* metadata", async () => {
    const name = uniq("cos");
    const col = await client.createCollection({
      name,
      configuration: { hnsw: { space: "cosine", ef_search: 30, max_neighbors: 24 } },
      embeddingFunction: null,
    });
    assert.deepEqual(col.configuration.hnsw, {
      ...DEFAULT_HNSW,
      space: "cosine",
      ef_search: 30,
      max_neighbors: 24,
    });
    assert.equal(col.metadata, undefined);

    const legacyName = uniq("legacy");
    const legacyMeta = {
      "hnsw:space": "ip",
      "hnsw:M": 32,
      "hnsw:search_ef": 20,
      "hnsw:construction_ef": 150,
      note: "x",
    };
    const legacy = await client.createCollection({
      name: legacyName,
      metadata: legacyMeta,
      embeddingFunction: null,
    });
    assert.deepEqual(legacy.configuration.hnsw, {
      ...DEFAULT_HNSW,
      space: "ip",
      max_neighbors: 32,
      ef_search: 20,
      ef_construction: 150,
    });
    // the hnsw:* keys stay visible in the metadata
    assert.deepEqual(legacy.metadata, legacyMeta);
    assert.deepEqual((await client.getCollection({ name: legacyName })).configuration.hnsw, legacy.configuration.hnsw);

    // all-default configuration + hnsw:* metadata → the metadata wins
    const mixedName = uniq("mixed");
    const res = await request(url, "POST", collectionsPath(), {
      body: { name: mixedName, configuration: { hnsw: { space: "l2" } }, metadata: { "hnsw:space": "ip" } },
    });
    assertOkJson(res);
    assert.equal(res.json.configuration_json.hnsw.space, "ip");

    // unknown hnsw:* key → 400; unknown key inside configuration.hnsw → 422
    await rejectsWith(
      client.createCollection({ name: uniq("badleg"), metadata: { "hnsw:bogus": 1 }, embeddingFunction: null }),
      ChromaClientError,
    );
    let bad = await request(url, "POST", collectionsPath(), {
      body: { name: uniq("badcfg"), configuration: { hnsw: { bogus: 1 } } },
    });
    assertErrorResponse(bad, 422, "ChromaError");
    // both hnsw and spann: the client refuses, the server answers 400
    await rejectsWith(
      client.createCollection({
        name: uniq("both"),
        configuration: { hnsw: { space: "l2" }, spann: { space: "l2" } },
        embeddingFunction: null,
      }),
      ChromaValueError,
    );
    bad = await request(url, "POST", collectionsPath(), {
      body: { name: uniq("both"), configuration: { hnsw: { space: "l2" }, spann: { space: "l2" } } },
    });
    assertErrorResponse(bad, 400, "InvalidArgumentError");

    for (const n of [name, legacyName, mixedName]) await client.deleteCollection({ name: n });
  });

  test("embedding_function configuration is stored and echoed verbatim", async () => {
    // Through the client: a registered "known" embedding function is serialized, its
    // defaultSpace() becomes hnsw.space, and the client rebuilds it from the echoed config.
    const name = uniq("ef");
    const efConfig = { model: "m-1", dims: 3, nested: { list: [1, "two", false], nil: null } };
    const col = await client.createCollection({
      name,
      embeddingFunction: new E2eFakeEmbeddingFunction(efConfig),
    });
    assert.deepEqual(col.configuration.embedding_function, {
      type: "known",
      name: "e2e_fake",
      config: efConfig,
    });
    assert.equal(col.configuration.hnsw.space, "cosine");

    const got = await client.getCollection({ name });
    assert.ok(got.embeddingFunction instanceof E2eFakeEmbeddingFunction);
    assert.deepEqual(got.embeddingFunction.getConfig(), efConfig);
    assert.deepEqual(got.configuration.embedding_function, col.configuration.embedding_function);

    // modify can replace it
    const efConfig2 = { model: "m-2" };
    await got.modify({ configuration: { embeddingFunction: new E2eFakeEmbeddingFunction(efConfig2) } });
    const got2 = await client.getCollection({ name });
    assert.deepEqual(got2.configuration.embedding_function, {
      type: "known",
      name: "e2e_fake",
      config: efConfig2,
    });
    assert.deepEqual(got2.embeddingFunction.getConfig(), efConfig2);

    // Raw: arbitrary JSON inside the config and the other variants come back unchanged.
    for (const ef of [
      { type: "known", name: "some_python_ef", config: { a: 1.5, b: [1, { c: "d" }], e: null, f: true } },
      { type: "legacy" },
      { type: "unknown" },
    ]) {
      const rawName = uniq("rawef");
      let res = await request(url, "POST", collectionsPath(), {
        body: { name: rawName, configuration: { embedding_function: ef } },
      });
      assertOkJson(res);
      assert.deepEqual(res.json.configuration_json.embedding_function, ef);
      res = await request(url, "GET", `${collectionsPath()}/${rawName}`);
      assert.deepEqual(res.json.configuration_json.embedding_function, ef);
      await client.deleteCollection({ name: rawName });
    }
    await client.deleteCollection({ name });
  });

  test("what the client sends by default (records the requests)", async (t) => {
    const seen = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      const body = req.body ? await req.clone().text() : undefined;
      const u = new URL(req.url);
      seen.push({ method: req.method, path: u.pathname + u.search, body: body && JSON.parse(body) });
      return realFetch(input, init);
    };
    const warnings = [];
    const realWarn = console.warn;
    console.warn = (...args) => warnings.push(args.join(" "));
    const name = uniq("calls");
    try {
      const c = new ChromaClient({ host: server.host, port: server.port });
      assert.equal(seen.length, 0, "no request at construction");
      // no embeddingFunction: the client asks for the "default" one (and warns that
      // @chroma-core/default-embed is not installed)
      const col = await c.createCollection({ name });
      await c.listCollections();
      await c.getOrCreateCollection({ name, embeddingFunction: null });
      await col.modify({ metadata: { a: 1 } });
      await c.deleteCollection({ name });
    } finally {
      globalThis.fetch = realFetch;
      console.warn = realWarn;
    }
    const base = collectionsPath();
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.path}`),
      [
        `POST ${base}`,
        `GET ${base}?limit=100&offset=0`,
        `POST ${base}`,
        `PUT ${base}/${seen[3].path.split("/").pop()}`,
        `DELETE ${base}/${name}`,
      ],
    );
    assert.deepEqual(seen[0].body, {
      name,
      configuration: { embedding_function: { name: "default", type: "known", config: {} } },
      get_or_create: false,
    });
    assert.equal(seen[2].body.get_or_create, true);
    assert.deepEqual(seen[3].body, { new_metadata: { a: 1 } });
    assert.ok(warnings.some((w) => w.includes("@chroma-core/default-embed")));
    t.diagnostic(`client warnings: ${JSON.stringify([...new Set(warnings)])}`);
  });
});

describe("raw collection JSON", () => {
  test("exact Collection keys and default configuration_json", async () => {
    const name = uniq("keys");
    const res = await request(url, "POST", collectionsPath(), { body: { name } });
    assertOkJson(res);
    const c = res.json;
    assert.deepEqual(Object.keys(c).sort(), COLLECTION_KEYS);
    assert.match(c.id, UUID_RE);
    assert.equal(c.name, name);
    assert.equal(c.metadata, null);
    assert.equal(c.dimension, null);
    assert.equal(c.tenant, "default_tenant");
    assert.equal(c.database, "default_database");
    assert.equal(c.log_position, 0);
    assert.equal(c.version, 0);
    assert.ok(c.schema === null || typeof c.schema === "object");
    assert.deepEqual(Object.keys(c.configuration_json).sort(), ["embedding_function", "hnsw", "spann"]);
    assert.deepEqual(c.configuration_json, { hnsw: DEFAULT_HNSW, spann: null, embedding_function: null });
    // six keys exactly, in any order
    assert.deepEqual(Object.keys(c.configuration_json.hnsw).sort(), Object.keys(DEFAULT_HNSW).sort());

    // the same object from get-by-name, get-by-id and list
    for (const path of [`${collectionsPath()}/${name}`, `${collectionsPath()}/by-id/${c.id}`]) {
      const r = await request(url, "GET", path);
      assertOkJson(r);
      assert.deepEqual(r.json, c, path);
    }
    const list = await request(url, "GET", `${collectionsPath()}?limit=100000`);
    assertOkJson(list);
    const inList = list.json.find((x) => x.id === c.id);
    assert.deepEqual(inList, c);
    for (const x of list.json) assert.deepEqual(Object.keys(x).sort(), COLLECTION_KEYS);

    const del = await request(url, "DELETE", `${collectionsPath()}/${name}`);
    assertOkJson(del);
    assert.deepEqual(del.json, {});
  });

  test("metadata value types survive (float 2.0 keeps its decimal point)", async () => {
    const name = uniq("types");
    const rawBody = `{"name":"${name}","metadata":{"f":2.0,"g":-0.5,"i":2,"neg":-7,"b":false,"s":"2.0"}}`;
    let res = await request(url, "POST", collectionsPath(), {
      rawBody,
      headers: { "content-type": "application/json" },
    });
    assertOkJson(res);
    for (const text of [res.text, (await request(url, "GET", `${collectionsPath()}/${name}`)).text]) {
      assert.match(text, /"f":2\.0[,}]/);
      assert.match(text, /"g":-0\.5[,}]/);
      assert.match(text, /"i":2[,}]/);
      assert.match(text, /"neg":-7[,}]/);
      assert.match(text, /"b":false[,}]/);
      assert.match(text, /"s":"2\.0"/);
    }
    res = await request(url, "GET", `${collectionsPath()}/${name}`);
    assert.deepEqual(res.json.metadata, { f: 2, g: -0.5, i: 2, neg: -7, b: false, s: "2.0" });
    await client.deleteCollection({ name });
  });

  test("error bodies: exactly {error, message}; trace id only on errors", async () => {
    const name = uniq("errs");
    let res = await request(url, "POST", collectionsPath(), { body: { name } });
    assertOkJson(res);

    res = await request(url, "POST", collectionsPath(), { body: { name } });
    assertErrorResponse(res, 409, "ChromaError", new RegExp(`^Collection \\[${name}\\] already exists$`));

    const missing = uniq("missing");
    res = await request(url, "GET", `${collectionsPath()}/${missing}`);
    assertErrorResponse(res, 404, "NotFoundError", new RegExp(`^Collection \\[${missing}\\] does not exist$`));
    res = await request(url, "DELETE", `${collectionsPath()}/${missing}`);
    assertErrorResponse(res, 404, "NotFoundError");

    res = await request(url, "POST", collectionsPath(), { body: { name: "a" } });
    assertErrorResponse(res, 400, "InvalidArgumentError", /^Validation error: name: /);

    res = await request(url, "POST", collectionsPath(), { body: { name: uniq("em"), metadata: {} } });
    assertErrorResponse(res, 400, "InvalidArgumentError", /^Validation error: metadata: Metadata cannot be empty$/);

    res = await request(url, "POST", collectionsPath(), {
      rawBody: "{not json",
      headers: { "content-type": "application/json" },
    });
    assertErrorResponse(res, 400, "InvalidArgumentError", /^Failed to parse the request body as JSON/);

    res = await request(url, "POST", collectionsPath(), { body: { name: 123 } });
    assertErrorResponse(res, 422, "ChromaError", /^Failed to deserialize the JSON body into the target type/);

    res = await request(url, "POST", collectionsPath(), { body: { metadata: { a: 1 } } });
    assertErrorResponse(res, 422, "ChromaError");

    res = await request(url, "POST", collectionsPath(), {
      body: { name: uniq("nullmeta"), metadata: { a: null } },
    });
    assertErrorResponse(res, 422, "ChromaError");

    res = await request(url, "POST", collectionsPath(), {
      rawBody: JSON.stringify({ name: uniq("txt") }),
      headers: { "content-type": "text/plain" },
    });
    assertErrorResponse(res, 415, "ChromaError");

    res = await request(url, "POST", collectionsPath(), {
      rawBody: JSON.stringify({ name: uniq("cs") }),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    assertOkJson(res);

    res = await request(url, "GET", `${collectionsPath()}?limit=abc`);
    assertErrorResponse(res, 400, "InvalidArgumentError", /^Failed to deserialize query string/);

    res = await request(url, "GET", `/api/v2/tenants/default_tenant/databases/ab/collections`);
    assertErrorResponse(res, 400, "InvalidArgumentError");

    await client.deleteCollection({ name });
  });
});

describe("client error classes", () => {
  test("409 duplicate collection → ChromaUniqueError", async () => {
    const name = uniq("dup");
    await client.createCollection({ name, embeddingFunction: null });
    await rejectsWith(client.createCollection({ name, embeddingFunction: null }), ChromaUniqueError);
    await client.deleteCollection({ name });
  });

  test("404 missing collection → ChromaNotFoundError", async () => {
    await rejectsWith(client.getCollection({ name: uniq("nope") }), ChromaNotFoundError);
    await rejectsWith(client.deleteCollection({ name: uniq("nope") }), ChromaNotFoundError);
    await rejectsWith(
      client.getCollectionById("2f6f6d8e-3c44-4b5e-9c1e-0d9b2c0f4a11"),
      ChromaNotFoundError,
    );
  });

  test("400 bad names → ChromaClientError carrying the server message", async () => {
    for (const name of ["ab", "-abc", "abc_", "a..b", "has space", "bad!name", "10.0.0.1", "x".repeat(513)]) {
      await rejectsWith(
        client.createCollection({ name, embeddingFunction: null }),
        ChromaClientError,
        /Validation error: name: Expected a name /,
      );
    }
    // edge cases that are valid
    for (const name of ["a.b", "a_b", "A-9", `v${"x".repeat(510)}z`]) {
      const unique = name.length > 500 ? name : `${name}${nextSeq()}x`;
      const col = await client.createCollection({ name: unique, embeddingFunction: null });
      assert.equal(col.name, unique);
      await client.deleteCollection({ name: unique });
    }
  });

  test("metadata {} on create → 400 ChromaClientError", async () => {
    await rejectsWith(
      client.createCollection({ name: uniq("empty"), metadata: {}, embeddingFunction: null }),
      ChromaClientError,
      /Metadata cannot be empty/,
    );
  });

  test("metadata keys starting with # or $ → 400", async () => {
    for (const key of ["#doc", "$x"]) {
      const res = await request(url, "POST", collectionsPath(), {
        body: { name: uniq("badkey"), metadata: { [key]: 1 } },
      });
      assertErrorResponse(res, 400, "InvalidArgumentError");
    }
  });

  // Chroma 1.5.9 answers 500 InternalError ("UNIQUE constraint failed…"); API.md §2.3 says a clone
  // should answer 409, which the client maps to ChromaUniqueError. Skipped against a reference.
  test("rename onto an existing name → 409 ChromaUniqueError", { skip: EXTERNAL && "reference answers 500" }, async () => {
    const a = uniq("rena");
    const b = uniq("renb");
    const ca = await client.createCollection({ name: a, embeddingFunction: null });
    await client.createCollection({ name: b, embeddingFunction: null });
    await rejectsWith(ca.modify({ name: b }), ChromaUniqueError);
    const res = await request(url, "PUT", `${collectionsPath()}/${ca.id}`, { body: { new_name: b } });
    assertErrorResponse(res, 409, "ChromaError");
    assert.equal((await client.getCollectionById(ca.id)).name, a);
    await client.deleteCollection({ name: a });
    await client.deleteCollection({ name: b });
  });

  // Chroma 1.5.9 drops the connection (ChromaConnectionError in the client); API.md §2.2 says a
  // clone should answer 400. Skipped against a reference.
  test("array metadata value on create → 400 ChromaClientError", { skip: EXTERNAL && "reference drops the connection" }, async () => {
    const name = uniq("arr");
    await assert.rejects(
      client.createCollection({ name, metadata: { a: [1, 2] }, embeddingFunction: null }),
      (err) => !(err instanceof ChromaConnectionError) && err instanceof ChromaClientError,
    );
    const res = await request(url, "POST", collectionsPath(), { body: { name, metadata: { a: ["x"] } } });
    assertErrorResponse(res, 400, "InvalidArgumentError");
    await rejectsWith(client.getCollection({ name }), ChromaNotFoundError);
  });
});
