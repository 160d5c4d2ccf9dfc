// The catalog when several instances share one ClickHouse (README "Deployment shapes"):
// - the guard: an instance whose catalog is in ClickHouse (no --catalog-url) and that sees another
//   live instance on the same ClickHouse database (table `instances`, a beat every 5 s) refuses
//   catalog changes with 412 and a message naming --catalog-url; records are still written and
//   read through both; once the other one stopped cleanly (its last beat says so), changes are
//   accepted again;
// - with the catalog in PostgreSQL, an instance whose LISTEN connection was cut reconnects and
//   re-reads everything it holds, so writes whose announcements it missed reach it;
// - `chromahouse catalog migrate --to postgresql://…` copies a ClickHouse catalog into PostgreSQL
//   (ids kept, idempotent, records found again by an instance started with --catalog-url), and
//   refuses, copying nothing, when ClickHouse holds one name live twice.
//
// Needs PostgreSQL's server binaries (postgresql-15; see postgres.mjs).
// Run from tests/e2e:  node --test catalog_guard.test.mjs
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient, ChromaClient, ChromaServerError } from "chromadb";
import { ServerProcess, request, serverBinary } from "./harness.mjs";
import { PostgresServer, missingPostgres } from "./postgres.mjs";
import { assertErrorResponse, collectionsPath, makeUniq, sleep, until } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL
  ? "CHROMA_URL is set: this test starts its own instances and PostgreSQL"
  : missingPostgres() || undefined;
const COLLS = collectionsPath();
// An instance beats every 5 s: another one is seen (or seen gone) within one beat, plus slack.
const BEAT_BOUND_MS = 7000;
// After a cut LISTEN connection: the reconnect (once a second) and the refresh of everything.
const CATCH_UP_MS = 3000;
const REFUSED_RE =
  /^Catalog changes are refused: another chromahouse instance shares this ClickHouse database \((.+)\).*--catalog-url postgresql:\/\//s;
const { uniq } = makeUniq();


const escapeRe = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const show = (res) => `${res.status} ${res.text.slice(0, 400)}`;

/** The embedded ClickHouse's HTTP URL of an instance started without --clickhouse-url. */
function clickhouseUrlOf(server) {
  const config = readFileSync(join(server.dataDir, "clickhouse", "config.xml"), "utf8");
  return `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
}

/** Runs SQL on ClickHouse over HTTP (POST: GETs are read-only); resolves with the body. */
async function clickhouseSql(url, sql) {
  const res = await fetch(`${url}/`, { method: "POST", body: sql, signal: AbortSignal.timeout(30000) });
  const text = await res.text();
  assert.equal(res.status, 200, `${sql}\n→ ${text}`);
  return text;
}

/** `chromahouse catalog migrate …args`: {code, out} (out: stdout and stderr). */
function migrate(args) {
  return new Promise((resolve) => {
    execFile(serverBinary, ["catalog", "migrate", ...args], { encoding: "utf8", timeout: 90000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : `${err.code ?? ""} ${err.signal ?? ""}`.trim()) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const clientOf = (server, database = "default_database") =>
  new ChromaClient({ host: server.host, port: server.port, tenant: "default_tenant", database });

describe("the catalog guard, the change feed's recovery and catalog migrate", { skip: SKIP }, () => {
  // Everything started here, stopped and removed in after().
  const servers = [];
  const dirs = [];
  let pg;
  const track = (s) => {
    servers.push(s);
    return s;
  };

  after(async () => {
    for (const s of servers.reverse()) await s.cleanup().catch(() => {});
    await pg?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const postgres = async () => {
    if (!pg) {
      pg = new PostgresServer();
      await pg.start();
    }
    return pg;
  };

  test("two instances on a ClickHouse catalog: catalog changes refused (412) on both, records still flow; accepted again once the other stopped", async () => {
    const a = track(new ServerProcess({ args: ["--instance-id", "1"] }));
    await a.start();
    const ca = clientOf(a);
    const col = await ca.createCollection({ name: uniq("guarded"), embeddingFunction: null });
    await col.add({ ids: ["a1", "a2"], embeddings: [[1, 0], [0, 1]], documents: ["one", "two"] });
    const chUrl = clickhouseUrlOf(a);

    const b = track(new ServerProcess({ args: ["--clickhouse-url", chUrl, "--instance-id", "2"] }));
    await b.start();
    const cb = clientOf(b);
    const keyOf = (s) => `${hostname()}:${s.port}`;

    // Both refuse a create within a beat, each naming the other.
    const refusals = {};
    for (const [name, server, other] of [["B", b, a], ["A", a, b]]) {
      const started = Date.now();
      const res = await until(`${name} refuses createCollection`, async (last) => {
        const r = await request(server.url, "POST", COLLS, { body: { name: uniq(`try-${name}`) } });
        last.text = `last answer: ${show(r)}`;
        if (r.status === 200) return null; // not yet seen the other one (a create may pass meanwhile)
        return r;
      }, BEAT_BOUND_MS);
      refusals[name] = Date.now() - started;
      assertErrorResponse(res, 412, "ChromaError", REFUSED_RE);
      assert.match(res.json.message, new RegExp(`\\(${escapeRe(keyOf(other))} \\(catalog in clickhouse\\)\\)`),
        `${name}'s refusal names the other instance ${keyOf(other)}: ${res.json.message}`);
    }
    console.log(`# refused on B after ${refusals.B} ms, on A after ${refusals.A} ms more`);
    assert.match(a.log, /another chromahouse instance uses this ClickHouse database/);

    // Every kind of catalog change is refused, through both; through the npm client an error is raised.
    for (const [name, server, client] of [["A", a, ca], ["B", b, cb]]) {
      const changes = [
        ["POST", COLLS, { name: uniq("nope") }],
        ["PUT", `${COLLS}/${col.id}`, { new_name: uniq("renamed") }],
        ["PUT", `${COLLS}/${col.id}`, { new_metadata: { k: 1 } }],
        ["DELETE", `${COLLS}/${col.name}`, undefined],
        ["POST", "/api/v2/tenants/default_tenant/databases", { name: uniq("db") }],
        ["DELETE", "/api/v2/tenants/default_tenant/databases/default_database", undefined],
        ["POST", "/api/v2/tenants", { name: uniq("tenant") }],
      ];
      for (const [method, path, body] of changes) {
        const res = await request(server.url, method, path, { body });
        assert.equal(res.status, 412, `${name}: ${method} ${path} ${JSON.stringify(body ?? null)} → ${show(res)}`);
        assertErrorResponse(res, 412, "ChromaError", REFUSED_RE);
      }
      await assert.rejects(client.createCollection({ name: uniq("client"), embeddingFunction: null }), (err) => {
        assert.ok(err instanceof ChromaServerError, `${name}: ${err?.constructor?.name}: ${err?.message}`);
        assert.match(err.message, /^Catalog changes are refused: another chromahouse instance shares this ClickHouse database/);
        return true;
      });
      // Nothing changed: the collection keeps its name and is still there.
      const got = await request(server.url, "GET", `${COLLS}/${col.name}`);
      assert.equal(got.status, 200, `${name}: GET ${col.name} → ${show(got)}`);
      assert.equal(got.json.id, col.id);
      assert.equal(got.json.metadata ?? null, null);
    }

    // Records: written through both, read through both (and the catalog read through both).
    const addB = await request(b.url, "POST", `${COLLS}/${col.id}/add`, { body: { ids: ["b1"], embeddings: [[1, 1]], documents: ["from B"] } });
    assert.equal(addB.status, 201, show(addB));
    await col.add({ ids: ["a3"], embeddings: [[2, 0]], documents: ["three"] });
    const onB = await cb.getCollection({ name: col.name, embeddingFunction: null });
    assert.equal(onB.id, col.id);
    for (const [name, client] of [["A", ca], ["B", cb]]) {
      const c = await client.getCollection({ name: col.name, embeddingFunction: null });
      await until(`${name} reads the records written through A and B`, async (last) => {
        const r = await c.get({ include: ["documents"] });
        last.text = `${name} has ${JSON.stringify(r.ids)}`;
        return [...r.ids].sort().join(",") === "a1,a2,a3,b1";
      }, 3000);
      const q = await c.query({ queryEmbeddings: [[1, 1]], nResults: 1 });
      assert.deepEqual(q.ids, [["b1"]]);
    }

    // B stops cleanly (SIGTERM): its last beat says so, and A accepts catalog changes again.
    assert.equal(await b.stop(), 0);
    const beat = await clickhouseSql(chUrl,
      `SELECT argMax(alive, seen_ms) FROM chromahouse.instances WHERE instance = '${keyOf(b)}' FORMAT TSV`);
    assert.equal(beat.trim(), "0", `B's last beat in chromahouse.instances (alive): ${beat}`);
    const stopped = Date.now();
    const created = await until("A accepts createCollection once B stopped", async (last) => {
      const r = await request(a.url, "POST", COLLS, { body: { name: uniq("again") } });
      last.text = `last answer: ${show(r)}`;
      if (r.status === 412) return null;
      return r;
    }, BEAT_BOUND_MS);
    assert.equal(created.status, 200, show(created));
    console.log(`# A accepts catalog changes ${Date.now() - stopped} ms after B stopped`);
    const viaClient = await ca.createCollection({ name: uniq("client-again"), embeddingFunction: null });
    assert.equal((await ca.getCollection({ name: viaClient.name, embeddingFunction: null })).id, viaClient.id);
    const renamed = await request(a.url, "PUT", `${COLLS}/${col.id}`, { body: { new_name: `${col.name}-renamed` } });
    assert.equal(renamed.status, 200, show(renamed));
    await a.cleanup();
  });

  test("PostgreSQL catalog: an instance whose LISTEN connection was cut catches up with the writes it was not told of", async () => {
    await postgres();
    const catalogUrl = await pg.createDatabase("feed");
    const a = track(new ServerProcess({ args: ["--catalog-url", catalogUrl, "--instance-id", "1"] }));
    await a.start();
    const chUrl = clickhouseUrlOf(a);
    const b = track(new ServerProcess({ args: ["--clickhouse-url", chUrl, "--catalog-url", catalogUrl, "--instance-id", "2"] }));
    await b.start();
    assert.match(b.log, /freshness announced through PostgreSQL/);

    const col = await clientOf(a).createCollection({ name: uniq("feed"), embeddingFunction: null });
    await col.add({ ids: ["r0"], embeddings: [[0, 1]], documents: ["zero"] });
    const getOnB = (ids) => request(b.url, "POST", `${COLLS}/${col.id}/get`, { body: { ids, include: ["documents"] } });
    // B loads the collection (and is told of A's writes from then on).
    await until("B reads r0", async () => (await getOnB(["r0"])).json?.ids?.length === 1, 3000);

    // The backends of both instances (the change feeds and the catalog stores' connections);
    // a listener's query is the last statement it ran: its LISTEN, or a pg_notify of a write.
    const backends = async () => (await pg.sql(
      `SELECT pid, state, query FROM pg_stat_activity WHERE application_name = 'chromahouse' AND datname = 'feed' AND pid <> pg_backend_pid() ORDER BY pid`,
    )).split("\n").filter(Boolean);
    const cut = async () => {
      const seen = await backends();
      assert.ok(seen.some((l) => /\|LISTEN chromahouse_/.test(l)) || seen.some((l) => /pg_notify/.test(l)),
        `no listener among the chromahouse backends:\n${seen.join("\n")}`);
      const killed = await pg.sql(
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'chromahouse' AND datname = 'feed' AND pid <> pg_backend_pid()`,
      );
      assert.ok(Number(killed) >= 2, `terminated ${killed} backends (two change feeds at least):\n${seen.join("\n")}`);
      return seen;
    };

    // 1. Every connection cut, and at once a write through A: B reads it within the bound.
    const seen = await cut();
    console.log(`# chromahouse backends before the cut:\n${seen.map((l) => `#   ${l}`).join("\n")}`);
    const t1 = Date.now();
    const add1 = await request(a.url, "POST", `${COLLS}/${col.id}/add`, { body: { ids: ["r1"], embeddings: [[1, 1]], documents: ["one"] } });
    assert.equal(add1.status, 201, show(add1));
    await until("B reads r1, written through A just after the cut", async (last) => {
      const r = await getOnB(["r1"]);
      last.text = `B: ${show(r)}`;
      return r.status === 200 && r.json.documents[0] === "one";
    }, CATCH_UP_MS, 50);
    console.log(`# B read the write made right after the cut in ${Date.now() - t1} ms`);
    await until("B logs the lost change feed", () => /lost the PostgreSQL change feed/.test(b.log), CATCH_UP_MS);

    // 2. A write nobody announced (a row put into ClickHouse directly, as if its announcement had
    // been lost with a connection): B, told of nothing, still has the old state; once its
    // LISTEN connection is cut, the reconnect re-reads everything it holds and finds the row.
    await until("both feeds listen again", async () => (await backends()).filter((l) => /LISTEN|pg_notify/.test(l)).length >= 2, CATCH_UP_MS);
    const maxVer = BigInt((await clickhouseSql(chUrl, `SELECT max(ver) FROM chromahouse.records WHERE collection = '${col.id}' FORMAT TSV`)).trim());
    await clickhouseSql(chUrl,
      `INSERT INTO chromahouse.records (collection, id, ver, created, deleted, embedding, document, uri, metadata) ` +
      `SELECT collection, 'r2', ${maxVer + 256n + 7n}, created + 1, 0, CAST([2, 2] AS Array(Float32)), 'two (unannounced)', uri, metadata ` +
      `FROM chromahouse.records WHERE collection = '${col.id}' AND id = 'r1' ORDER BY ver DESC LIMIT 1`);
    await sleep(1000);
    const before = await getOnB(["r2"]);
    assert.equal(before.status, 200, show(before));
    assert.deepEqual(before.json.ids, [], "B is told of nothing (and reads nothing) while nobody announces the row");
    const lost = (b.log.match(/lost the PostgreSQL change feed/g) ?? []).length;
    await cut();
    const t2 = Date.now();
    await until("B reads the unannounced row after its feed reconnected", async (last) => {
      const r = await getOnB(["r2"]);
      last.text = `B: ${show(r)}`;
      return r.status === 200 && r.json.documents[0] === "two (unannounced)";
    }, CATCH_UP_MS, 50);
    console.log(`# B read the unannounced row ${Date.now() - t2} ms after its feed was cut`);
    assert.ok((b.log.match(/lost the PostgreSQL change feed/g) ?? []).length > lost, "B logged the second loss too");
    // Catalog changes through B work again (its catalog store reconnected too).
    const made = await request(b.url, "POST", COLLS, { body: { name: uniq("after-cut") } });
    assert.equal(made.status, 200, show(made));
    await b.cleanup();
    await a.cleanup();
  });

  // Filled by the migrate test, read by the one after it.
  const migrated = { first: null, again: null };

  test("catalog migrate copies a ClickHouse catalog into PostgreSQL: ids kept, idempotent, records found again", async () => {
    await postgres();
    const dataDir = mkdtempSync(join(tmpdir(), "chromahouse-migrate-"));
    dirs.push(dataDir);

    // A ClickHouse catalog: a database, a collection in each database with records, a deleted one.
    let d = track(new ServerProcess({ dataDir, args: ["--instance-id", "1"] }));
    await d.start();
    const dbName = uniq("migdb");
    const adminD = new AdminClient({ host: d.host, port: d.port });
    await adminD.createDatabase({ name: dbName, tenant: "default_tenant" });
    const dbId = (await adminD.getDatabase({ name: dbName, tenant: "default_tenant" })).id;
    const one = await clientOf(d).createCollection({ name: uniq("mig-one"), metadata: { kind: "first" }, embeddingFunction: null });
    await one.add({ ids: ["x1", "x2"], embeddings: [[1, 0, 0], [0, 1, 0]], documents: ["ex one", "ex two"], metadatas: [{ n: 1 }, { n: 2 }] });
    const two = await clientOf(d, dbName).createCollection({ name: uniq("mig-two"), embeddingFunction: null });
    await two.add({ ids: ["y1"], embeddings: [[0.5, 0.5]], documents: ["why"] });
    const goneName = uniq("mig-gone");
    await clientOf(d).createCollection({ name: goneName, embeddingFunction: null });
    await clientOf(d).deleteCollection({ name: goneName });
    assert.equal(await d.stop(), 0);

    const url = await pg.createDatabase("migrated");
    const first = await migrate(["--to", url, "--path", dataDir]);
    migrated.first = first;
    assert.equal(first.code, 0, `first migrate:\n${first.out}`);
    assert.match(first.out, /copied \d+ of \d+ tenants, databases and collections/, first.out);
    const inPg = await pg.sql(`SELECT id, "database", name FROM collections ORDER BY name`, "migrated");
    assert.equal(inPg.trim(), [`${one.id}|default_database|${one.name}`, `${two.id}|${dbName}|${two.name}`].join("\n"),
      "PostgreSQL holds the two live collections with their ids (not the deleted one)");
    assert.equal((await pg.sql(`SELECT id FROM databases WHERE tenant = 'default_tenant' AND name = '${dbName}'`, "migrated")).trim(), dbId);
    // Again: exit 0, and the catalog in PostgreSQL is exactly as it was.
    const dump = () => pg.sql(
      `SELECT 't', name, coalesce(resource_name, ''), version::text FROM tenants UNION ALL ` +
      `SELECT 'd', id, tenant || '/' || name, version::text FROM databases UNION ALL ` +
      `SELECT 'c', id, concat_ws('/', tenant, "database", name, metadata, configuration, "schema", dimension::text), version::text FROM collections ORDER BY 1, 2`,
      "migrated");
    const before = await dump();
    const again = await migrate(["--to", url, "--path", dataDir]);
    migrated.again = again;
    assert.equal(again.code, 0, `second migrate:\n${again.out}`);
    assert.equal(await dump(), before, "the second migrate changes nothing in PostgreSQL");

    // The same data directory with the catalog in PostgreSQL: everything is there.
    d = track(new ServerProcess({ dataDir, args: ["--instance-id", "1", "--catalog-url", url] }));
    await d.start();
    const admin = new AdminClient({ host: d.host, port: d.port });
    const dbs = (await admin.listDatabases({ tenant: "default_tenant" })).map((x) => x.name).sort();
    assert.deepEqual(dbs, ["default_database", dbName].sort());
    const listed = (await clientOf(d).listCollections()).map((c) => [c.name, c.id]);
    assert.deepEqual(listed, [[one.name, one.id]], "the default database holds mig-one (mig-gone stays deleted)");
    const oneAfter = await clientOf(d).getCollection({ name: one.name, embeddingFunction: null });
    assert.equal(oneAfter.id, one.id);
    assert.deepEqual(oneAfter.metadata, { kind: "first" });
    const recs = await oneAfter.get({ include: ["documents", "metadatas", "embeddings"] });
    assert.deepEqual(recs.ids, ["x1", "x2"]);
    assert.deepEqual(recs.documents, ["ex one", "ex two"]);
    assert.deepEqual(recs.metadatas, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(recs.embeddings, [[1, 0, 0], [0, 1, 0]]);
    assert.deepEqual((await oneAfter.query({ queryEmbeddings: [[0, 1, 0]], nResults: 1 })).ids, [["x2"]]);
    const twoAfter = await clientOf(d, dbName).getCollection({ name: two.name, embeddingFunction: null });
    assert.equal(twoAfter.id, two.id);
    assert.equal(await twoAfter.count(), 1);
    assert.deepEqual((await twoAfter.get({ include: ["documents"] })).documents, ["why"]);
    // The dimension came along: a record of another dimension is refused.
    await assert.rejects(oneAfter.add({ ids: ["bad"], embeddings: [[1, 2]] }));
    // Catalog changes now go to PostgreSQL.
    const three = await clientOf(d).createCollection({ name: uniq("mig-three"), embeddingFunction: null });
    assert.equal((await pg.sql(`SELECT name FROM collections WHERE id = '${three.id}'`, "migrated")).trim(), three.name);
    assert.equal((await admin.getDatabase({ name: dbName, tenant: "default_tenant" })).id, dbId);
    await d.cleanup();
  });

  // README: "is idempotent (run it again: what is there already is skipped)". The log line of a
  // run says how much it copied.
  test("a second catalog migrate says it copied nothing", (t) => {
    if (!migrated.again) return t.skip("the migrate test did not get that far");
    const total = /copied \d+ of (\d+) tenants, databases and collections/.exec(migrated.first.out)?.[1];
    assert.match(migrated.again.out, new RegExp(`copied 0 of ${total} tenants, databases and collections`),
      `second run:\n${migrated.again.out}\nfirst run:\n${migrated.first.out}`);
  });

  test("catalog migrate refuses when ClickHouse holds one name live twice, copying nothing; after a rename it copies both", async () => {
    await postgres();
    // One name live twice in ClickHouse (what several instances on a ClickHouse catalog could
    // have made): a second row for collection "dup", put into ClickHouse directly.
    let e = track(new ServerProcess({ args: ["--instance-id", "1"] }));
    await e.start();
    const dup = await clientOf(e).createCollection({ name: "dup", embeddingFunction: null });
    await dup.add({ ids: ["z"], embeddings: [[1, 2]] });
    const twinId = randomUUID();
    await clickhouseSql(clickhouseUrlOf(e),
      `INSERT INTO chromahouse.collections SELECT '${twinId}', tenant, database, name, metadata, configuration, schema, dimension, ver + 1, deleted ` +
      `FROM chromahouse.collections WHERE name = 'dup' AND id = '${dup.id}' ORDER BY ver DESC LIMIT 1`);
    assert.equal(await e.stop(), 0);
    const dupUrl = await pg.createDatabase("duplicates");
    const refused = await migrate(["--to", dupUrl, "--path", e.dataDir]);
    assert.equal(refused.code, 1, `migrate with a duplicated name exits 1:\n${refused.out}`);
    const line = refused.out.split("\n").find((l) => l.includes("default_tenant/default_database/dup:"));
    assert.ok(line, `the refusal names default_tenant/default_database/dup:\n${refused.out}`);
    assert.ok(line.includes(dup.id) && line.includes(twinId), `the refusal names both ids (${dup.id}, ${twinId}): ${line}`);
    assert.match(refused.out, /nothing was copied/);
    // Nothing copied: no collection (the schema may not even exist).
    const table = (await pg.sql(`SELECT to_regclass('public.collections') IS NOT NULL`, "duplicates")).trim();
    if (table === "t") assert.equal((await pg.sql("SELECT count(*) FROM collections", "duplicates")).trim(), "0");

    // As the message says: one instance renames the other one, and the copy goes through.
    e = track(new ServerProcess({ dataDir: e.dataDir, args: ["--instance-id", "1"] }));
    await e.start();
    const renamed = await request(e.url, "PUT", `${COLLS}/${twinId}`, { body: { new_name: "dup-twin" } });
    assert.equal(renamed.status, 200, show(renamed));
    assert.equal(await e.stop(), 0);
    const fixed = await migrate(["--to", dupUrl, "--path", e.dataDir]);
    assert.equal(fixed.code, 0, `migrate after the rename:\n${fixed.out}`);
    const inPg = await pg.sql(`SELECT name, id FROM collections ORDER BY name`, "duplicates");
    assert.equal(inPg.trim(), `dup|${dup.id}\ndup-twin|${twinId}`);
    await e.cleanup();
  });
});
