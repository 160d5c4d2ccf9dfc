// Authentication and scoping end to end, configured with Chroma's environment variables
// (API.md §9.2), with the npm client 3.x (`headers` option) and raw requests: missing, wrong and
// right credentials for the token and basic providers; a user scoped to one tenant/database
// cannot list, read or write anything else; /auth/identity; secrets never reach the log.
//
// Run from the repo root:  node --test tests/e2e/auth.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChromaClient } from "chromadb";
import { ServerProcess, request } from "./harness.mjs";

const SKIP = process.env.CHROMA_URL && "the reference Chroma 1.x server has no authentication";
const COLLS = (t, d) => `/api/v2/tenants/${t}/databases/${d}/collections`;
// bcrypt of "alice-pw" (cost 4).
const ALICE_HASH = "$2b$04$P3xVRWm6GqR1ZqJPxw406eZgT931oJZIDdwxzZ3pyD.ChagalfqzC";
const basic = (user, pw) => `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`;

describe("token auth with a users file", { skip: SKIP }, () => {
  let server;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chromahouse-auth-"));
    const users = join(dir, "users.yaml");
    writeFileSync(users, [
      "users:",
      "  - id: admin",
      "    tokens: [admin-token-0001]",
      "  - id: alice",
      "    tenant: acme",
      "    databases: [prod]",
      "    tokens: [alice-token-0002]",
    ].join("\n"));
    server = await new ServerProcess({
      env: { CHROMA_SERVER_AUTHN_PROVIDER: "token", CHROMA_SERVER_AUTHN_CREDENTIALS_FILE: users },
    }).start();
    const admin = { "x-chroma-token": "admin-token-0001" };
    assert.equal((await request(server.url, "POST", "/api/v2/tenants", { body: { name: "acme" }, headers: admin })).status, 200);
    for (const name of ["prod", "staging"]) {
      const r = await request(server.url, "POST", "/api/v2/tenants/acme/databases", { body: { name }, headers: admin });
      assert.equal(r.status, 200, r.text);
    }
  });
  after(async () => {
    await server?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("missing, wrong and right tokens in both headers", async () => {
    const path = COLLS("default_tenant", "default_database");
    const none = await request(server.url, "GET", path);
    assert.equal(none.status, 401);
    assert.equal(none.json.error, "AuthError");
    assert.equal(none.headers.get("www-authenticate"), "Bearer");
    assert.equal((await request(server.url, "GET", path, { headers: { Authorization: "Bearer nope" } })).status, 401);
    assert.equal((await request(server.url, "GET", path, { headers: { "X-CHROMA-TOKEN": "nope" } })).status, 401);
    assert.equal((await request(server.url, "GET", path, { headers: { AUTHORIZATION: "Bearer admin-token-0001" } })).status, 200);
    assert.equal((await request(server.url, "GET", path, { headers: { "x-chroma-token": "admin-token-0001" } })).status, 200);
    for (const open of ["/api/v2/heartbeat", "/api/v2/version", "/api/v2/pre-flight-checks"]) {
      assert.equal((await request(server.url, "GET", open)).status, 200, open);
    }
  });

  test("npm client with headers: the admin works, a stranger is refused", async () => {
    const admin = new ChromaClient({ path: server.url, headers: { "x-chroma-token": "admin-token-0001" } });
    const col = await admin.getOrCreateCollection({ name: "admin-docs", embeddingFunction: null });
    await col.add({ ids: ["1"], embeddings: [[1, 2, 3]] });
    assert.equal(await col.count(), 1);
    const stranger = new ChromaClient({ path: server.url, headers: { "x-chroma-token": "guess" } });
    await assert.rejects(stranger.listCollections(), (e) => /unauthorized|401/i.test(`${e.name} ${e.message}`));
  });

  test("a scoped user reaches only its tenant and database", async () => {
    const alice = new ChromaClient({
      path: server.url, tenant: "acme", database: "prod",
      headers: { Authorization: "Bearer alice-token-0002" },
    });
    const mine = await alice.createCollection({ name: "alice-docs", embeddingFunction: null });
    await mine.add({ ids: ["a"], embeddings: [[0.5, 0.5]], documents: ["hello"] });
    assert.deepEqual((await mine.get()).documents, ["hello"]);
    assert.equal((await alice.listCollections()).length, 1);

    const elsewhere = new ChromaClient({
      path: server.url, headers: { Authorization: "Bearer alice-token-0002" },
    });
    await assert.rejects(elsewhere.listCollections(), (e) => /forbidden|403/i.test(`${e.name} ${e.message}`));
    await assert.rejects(elsewhere.createCollection({ name: "sneaky", embeddingFunction: null }));
    const staging = new ChromaClient({
      path: server.url, tenant: "acme", database: "staging",
      headers: { Authorization: "Bearer alice-token-0002" },
    });
    await assert.rejects(staging.listCollections());

    // Another tenant's collection by id, through alice's own path: 403, and nothing written.
    const adminHeaders = { "x-chroma-token": "admin-token-0001" };
    const adminColl = await request(server.url, "GET", `${COLLS("default_tenant", "default_database")}/admin-docs`, { headers: adminHeaders });
    const aliceHeaders = { authorization: "Bearer alice-token-0002" };
    for (const [method, op, body] of [["POST", "get", {}], ["POST", "add", { ids: ["x"], embeddings: [[1, 2, 3]] }], ["GET", "count", undefined]]) {
      const r = await request(server.url, method, `${COLLS("acme", "prod")}/${adminColl.json.id}/${op}`, { headers: aliceHeaders, body });
      assert.equal(r.status, 403, `${op}: ${r.text}`);
      assert.equal(r.json.error, "AuthError");
    }
    const count = await request(server.url, "GET", `${COLLS("default_tenant", "default_database")}/${adminColl.json.id}/count`, { headers: adminHeaders });
    assert.equal(count.json, 1);

    const identity = await request(server.url, "GET", "/api/v2/auth/identity", { headers: aliceHeaders });
    assert.deepEqual(identity.json, { user_id: "alice", tenant: "acme", databases: ["prod"] });
    const dbs = await request(server.url, "GET", "/api/v2/tenants/acme/databases", { headers: aliceHeaders });
    assert.deepEqual(dbs.json.map((d) => d.name), ["prod"]);
    assert.equal((await request(server.url, "POST", "/api/v2/reset", { headers: aliceHeaders })).status, 403);
  });

  test("no token appears in the server log", () => {
    for (const secret of ["admin-token-0001", "alice-token-0002"]) {
      assert.ok(!server.log.includes(secret), `${secret} leaked into the log`);
    }
  });
});

describe("basic auth with an htpasswd file", { skip: SKIP }, () => {
  test("right, wrong and missing passwords", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chromahouse-auth-"));
    const file = join(dir, "htpasswd");
    writeFileSync(file, `alice:${ALICE_HASH}\n`);
    const server = await new ServerProcess({
      env: { CHROMA_SERVER_AUTHN_PROVIDER: "chromadb.auth.basic_authn.BasicAuthenticationServerProvider",
             CHROMA_SERVER_AUTHN_CREDENTIALS_FILE: file },
    }).start();
    try {
      const client = new ChromaClient({ path: server.url, headers: { Authorization: basic("alice", "alice-pw") } });
      const col = await client.getOrCreateCollection({ name: "basic-docs", embeddingFunction: null });
      await col.add({ ids: ["1", "2"], embeddings: [[1], [2]] });
      assert.equal(await col.count(), 2);
      const path = COLLS("default_tenant", "default_database");
      assert.equal((await request(server.url, "GET", path, { headers: { Authorization: basic("alice", "wrong") } })).status, 401);
      assert.equal((await request(server.url, "GET", path, { headers: { Authorization: basic("mallory", "alice-pw") } })).status, 401);
      const none = await request(server.url, "GET", path);
      assert.equal(none.status, 401);
      assert.match(none.headers.get("www-authenticate"), /^Basic/);
      const id = await request(server.url, "GET", "/api/v2/auth/identity", { headers: { Authorization: basic("alice", "alice-pw") } });
      assert.deepEqual(id.json, { user_id: "alice", tenant: "*", databases: ["*"] });
      assert.ok(!server.log.includes("alice-pw"));
    } finally {
      await server.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a misconfigured provider stops the server with a message naming the setting", async () => {
    const server = new ServerProcess({ env: { CHROMA_SERVER_AUTHN_PROVIDER: "basic", CHROMA_SERVER_AUTHN_CREDENTIALS: "alice:plain" } });
    await assert.rejects(server.start(), /user 'alice' needs a bcrypt password hash/);
    assert.ok(!server.log.includes("alice:plain"));
    await server.cleanup();
  });
});
