// Races on the catalog kept in PostgreSQL (--catalog-url): three chromahouse instances share one
// PostgreSQL catalog and one ClickHouse (instance A runs the embedded ClickHouse, B and C use it
// through --clickhouse-url). Whatever the interleaving, one collection name is never live twice:
// concurrent creates of one name have one winner and 409s for the others; getOrCreate returns one
// collection to every caller; renames and deletes racing creates keep the names unique and the
// losers get 409/404 (never 500); while PostgreSQL is down, catalog changes answer 503 and record
// writes to collections already loaded keep working, and after its restart nothing acknowledged
// is missing.
//
// Needs PostgreSQL's server binaries (postgresql-15; see postgres.mjs).
// Run from tests/e2e:  node --test catalog_race.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChromaClient, ChromaServerError, ChromaUniqueError } from "chromadb";
import { ServerProcess, request } from "./harness.mjs";
import { PostgresServer, missingPostgres } from "./postgres.mjs";
import { assertErrorResponse, collectionsPath, makeUniq, sleep, until } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL
  ? "CHROMA_URL is set: this test starts its own instances and PostgreSQL"
  : missingPostgres() || undefined;
const COLLS = collectionsPath();
const FRESHNESS_MS = 100;
// Time allowed for a change made through one instance to reach the others.
const CONVERGE_MS = 2000;
// Time allowed after PostgreSQL's restart (the change feed reconnects once a second).
const RECOVER_MS = 5000;
const { uniq } = makeUniq();


// A label and an answer of request() as one line, for messages.
const show = (label, res) => `${label} → ${res.status} ${res.text?.slice(0, 300) ?? ""}`;

describe("catalog in PostgreSQL shared by three instances", { skip: SKIP }, () => {
  let pg;
  let a, b, c;
  let servers; // [{name, proc, client}]

  // name → [ids] of the live collections in PostgreSQL (default tenant and database).
  async function pgLive(names) {
    const list = names.map((n) => `'${n}'`).join(",");
    const out = await pg.sql(
      `SELECT name, id FROM collections WHERE tenant = 'default_tenant' AND "database" = 'default_database' AND name IN (${list}) ORDER BY name, id`,
      "chromahouse",
    );
    const live = new Map(names.map((n) => [n, []]));
    for (const line of out.split("\n").filter(Boolean)) {
      const [name, id] = line.split("|");
      live.get(name).push(id);
    }
    return live;
  }

  // Live names held more than once anywhere in PostgreSQL: "" when none.
  const pgDuplicates = () =>
    pg.sql(`SELECT tenant, "database", name, count(*) FROM collections GROUP BY 1, 2, 3 HAVING count(*) > 1`, "chromahouse");

  // name → [ids] in one instance's listing (through the client's listCollections).
  async function listed(server, names) {
    const cols = await server.client.listCollections({ limit: 100000 });
    const wanted = new Set(names);
    const out = new Map(names.map((n) => [n, []]));
    for (const col of cols) if (wanted.has(col.name)) out.get(col.name).push(col.id);
    return out;
  }

  const fmt = (map) => [...map].map(([n, ids]) => `${n}: [${ids.join(", ")}]`).join("; ");

  // Asserts that PostgreSQL holds each name live at most once, matching `expected` (name → id or
  // null) when given, and that every instance's listing comes to hold exactly what PostgreSQL
  // holds for these names within CONVERGE_MS.
  async function assertConverged(names, expected, timeoutMs = CONVERGE_MS) {
    assert.equal(await pgDuplicates(), "", "live names held twice in PostgreSQL");
    const live = await pgLive(names);
    for (const [name, ids] of live) {
      assert.ok(ids.length <= 1, `${name} live ${ids.length} times in PostgreSQL: ${ids.join(", ")}`);
      if (expected) {
        assert.deepEqual(ids, expected.get(name) ? [expected.get(name)] : [], `PostgreSQL's live ${name}`);
      }
    }
    const want = fmt(live);
    for (const server of servers) {
      await until(`${server.name}'s listing matches PostgreSQL (${want})`, async (last) => {
        const got = fmt(await listed(server, names));
        last.text = `${server.name} lists ${got}`;
        return got === want;
      }, timeoutMs);
    }
  }

  before(async () => {
    pg = new PostgresServer();
    await pg.start();
    const catalogUrl = await pg.createDatabase("chromahouse");
    const common = ["--catalog-url", catalogUrl, "--freshness-ms", String(FRESHNESS_MS)];
    a = new ServerProcess({ args: [...common, "--instance-id", "1"] });
    await a.start();
    const config = readFileSync(join(a.dataDir, "clickhouse", "config.xml"), "utf8");
    const chUrl = `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
    // (Assigned before they start, so that after() stops them whatever happens.)
    b = new ServerProcess({ args: ["--clickhouse-url", chUrl, ...common, "--instance-id", "2"] });
    c = new ServerProcess({ args: ["--clickhouse-url", chUrl, ...common, "--instance-id", "3"] });
    const started = await Promise.allSettled([b.start(), c.start()]);
    for (const r of started) if (r.status === "rejected") throw r.reason;
    const clientFor = (s) => new ChromaClient({ host: s.host, port: s.port, tenant: "default_tenant", database: "default_database" });
    servers = [
      { name: "A", proc: a, client: clientFor(a) },
      { name: "B", proc: b, client: clientFor(b) },
      { name: "C", proc: c, client: clientFor(c) },
    ];
  });

  after(async () => {
    await Promise.all([c?.cleanup(), b?.cleanup()]);
    await a?.cleanup();
    await pg?.cleanup();
  });

  test("concurrent createCollection through three instances: one wins, the others get 409", async () => {
    const ROUNDS = 25;
    const names = [];
    const winners = new Map(); // name → id
    const wins = { A: 0, B: 0, C: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const name = uniq("race");
      names.push(name);
      // Rotate the order the three requests are started in.
      const order = [0, 1, 2].map((i) => servers[(i + round) % 3]);
      const settled = await Promise.allSettled(order.map((s) => s.client.createCollection({ name, embeddingFunction: null })));
      const won = settled.map((r, i) => [r, order[i]]).filter(([r]) => r.status === "fulfilled");
      const lost = settled.map((r, i) => [r, order[i]]).filter(([r]) => r.status === "rejected");
      const summary = settled.map((r, i) => `${order[i].name}: ${r.status === "fulfilled" ? `created ${r.value.id}` : `${r.reason?.constructor?.name}: ${r.reason?.message}`}`).join("; ");
      assert.equal(won.length, 1, `round ${round} (${name}): exactly one create succeeds; ${summary}`);
      for (const [r, s] of lost) {
        assert.ok(r.reason instanceof ChromaUniqueError, `round ${round}: ${s.name} lost with ${r.reason?.constructor?.name}: ${r.reason?.message}`);
      }
      const [[winner, by]] = won;
      assert.equal(winner.value.name, name);
      winners.set(name, winner.value.id);
      wins[by.name]++;
    }
    // A loser's raw answer: 409 with Chroma's message.
    const res = await request(b.url, "POST", COLLS, { body: { name: names[0] } });
    assertErrorResponse(res, 409, "ChromaError", new RegExp(`^Collection \\[${names[0]}\\] already exists$`));
    await assertConverged(names, winners);
    // Every instance answers a get by name with the winner's id.
    for (const server of servers) {
      for (const name of names.slice(0, 5)) {
        const got = await request(server.proc.url, "GET", `${COLLS}/${name}`);
        assert.equal(got.status, 200, show(`${server.name} GET ${name}`, got));
        assert.equal(got.json.id, winners.get(name));
      }
    }
    console.log(`# ${ROUNDS} rounds; winners A ${wins.A}, B ${wins.B}, C ${wins.C}`);
  });

  test("getOrCreateCollection through three instances returns one collection", async () => {
    const ROUNDS = 25;
    const names = [];
    const ids = new Map();
    for (let round = 0; round < ROUNDS; round++) {
      const name = uniq("goc");
      names.push(name);
      const order = [0, 1, 2].map((i) => servers[(i + round) % 3]);
      const settled = await Promise.allSettled(order.map((s) => s.client.getOrCreateCollection({ name, embeddingFunction: null })));
      const summary = settled.map((r, i) => `${order[i].name}: ${r.status === "fulfilled" ? r.value.id : `${r.reason?.constructor?.name}: ${r.reason?.message}`}`).join("; ");
      assert.ok(settled.every((r) => r.status === "fulfilled"), `round ${round} (${name}): every getOrCreate succeeds; ${summary}`);
      const got = new Set(settled.map((r) => r.value.id));
      assert.equal(got.size, 1, `round ${round} (${name}): one collection for all three callers; ${summary}`);
      ids.set(name, [...got][0]);
    }
    await assertConverged(names, ids);

    // Records added through each instance to each of these collections (all at the same time:
    // the first add to each also sets the collection's dimension, a catalog change) are read
    // through every instance.
    const targets = names;
    const expected = new Map(); // collection id → ids
    await Promise.all(targets.flatMap((name) => servers.map(async (server) => {
      const id = ids.get(name);
      const recordIds = [0, 1, 2].map((k) => `${server.name}-${k}`);
      const res = await request(server.proc.url, "POST", `${COLLS}/${id}/add`, {
        body: { ids: recordIds, embeddings: recordIds.map((_, k) => [k, server.name.charCodeAt(0), 1]), documents: recordIds },
      });
      assert.equal(res.status, 201, show(`${server.name} add to ${name}`, res));
      expected.set(id, [...(expected.get(id) ?? []), ...recordIds]);
    })));
    for (const [id, recordIds] of expected) {
      const want = [...recordIds].sort().join(",");
      for (const server of servers) {
        await until(`${server.name} reads all 9 records of ${id}`, async (last) => {
          const res = await request(server.proc.url, "POST", `${COLLS}/${id}/get`, { body: { include: ["documents"] } });
          assert.equal(res.status, 200, show(`${server.name} get`, res));
          last.text = `${server.name} has ${res.json.ids.join(",")}`;
          return [...res.json.ids].sort().join(",") === want && res.json.ids.every((x, i) => res.json.documents[i] === x);
        }, CONVERGE_MS);
      }
      const name = names.find((n) => ids.get(n) === id);
      for (const server of servers) {
        const col = await request(server.proc.url, "GET", `${COLLS}/${name}`);
        assert.equal(col.status, 200, show(`${server.name} GET ${name}`, col));
        assert.equal(col.json.id, id);
        assert.equal(col.json.dimension, 3, `${server.name}: the dimension of ${name}`);
      }
    }
  });

  test("rename and delete races", async () => {
    const ROUNDS = 12;
    const statuses = {};
    const tally = (op, st) => (statuses[`${op} ${st}`] = (statuses[`${op} ${st}`] ?? 0) + 1);
    for (let round = 0; round < ROUNDS; round++) {
      const [P, Q, R] = [0, 1, 2].map((i) => servers[(i + round) % 3]);
      const X = uniq("rx");
      const Y = uniq("ry");
      const Z = uniq("rz");
      const W = uniq("rw");
      const names = [X, Y, Z, W];
      const made = {};
      for (const n of [X, Z, W]) {
        const res = await request(P.proc.url, "POST", COLLS, { body: { name: n } });
        assert.equal(res.status, 200, show(`${P.name} create ${n}`, res));
        made[n] = res.json.id;
      }
      // Every instance knows the three before the race (a rename by id is looked up locally).
      for (const s of servers) {
        for (const n of [X, Z, W]) {
          await until(`${s.name} knows ${n}`, async () => (await request(s.proc.url, "GET", `${COLLS}/${n}`)).json?.id === made[n], CONVERGE_MS, 20);
        }
      }
      const ops = [
        { key: "renameXY", by: P, method: "PUT", path: `${COLLS}/${made[X]}`, body: { new_name: Y }, allowed: [200, 409] },
        { key: "createY", by: Q, method: "POST", path: COLLS, body: { name: Y }, allowed: [200, 409] },
        { key: "deleteZ", by: Q, method: "DELETE", path: `${COLLS}/${Z}`, allowed: [200] },
        { key: "gocZ", by: R, method: "POST", path: COLLS, body: { name: Z, get_or_create: true }, allowed: [200] },
        { key: "renameWX", by: R, method: "PUT", path: `${COLLS}/${made[W]}`, body: { new_name: X }, allowed: [200, 404, 409] },
        { key: "deleteW", by: P, method: "DELETE", path: `${COLLS}/${W}`, allowed: [200, 404] },
        { key: "createX", by: Q, method: "POST", path: COLLS, body: { name: X }, allowed: [200, 409] },
      ];
      // Shuffle the start order a little per round.
      const started = ops.map((op, i) => ({ op, i })).sort((u, v) => ((u.i * 5 + round * 3) % 7) - ((v.i * 5 + round * 3) % 7));
      const results = {};
      await Promise.all(started.map(async ({ op }) => {
        results[op.key] = await request(op.by.proc.url, op.method, op.path, { body: op.body });
      }));
      const report = ops.map((op) => `  ${op.by.name} ${op.key}: ${results[op.key].status} ${results[op.key].text.slice(0, 160)}`).join("\n");
      const ctx = `round ${round} (X ${X} ${made[X]}, Z ${made[Z]}, W ${made[W]}):\n${report}`;
      for (const op of ops) {
        const res = results[op.key];
        tally(op.key, res.status);
        assert.ok(res.status < 500, `server error: ${op.by.name} ${op.method} ${op.path} ${JSON.stringify(op.body ?? null)} → ${res.status} ${res.text}\n${ctx}`);
        assert.ok(op.allowed.includes(res.status), `${op.key} answered ${res.status}, expected ${op.allowed.join("|")}\n${ctx}`);
        if (res.status === 409) assertErrorResponse(res, 409, "ChromaError", /^Collection \[.+\] already exists$/);
        if (res.status === 404) assertErrorResponse(res, 404, "NotFoundError", /does not exist/);
      }
      const ok = (k) => results[k].status === 200;
      // What the answers imply, name by name.
      assert.ok(ok("renameXY") !== ok("createY"), `exactly one of rename X→Y and create Y wins\n${ctx}`);
      assert.ok(!(ok("renameWX") && ok("deleteW")), `rename W→X and delete W cannot both win\n${ctx}`);
      assert.ok(ok("renameWX") || ok("deleteW"), `one of rename W→X and delete W wins\n${ctx}`);
      assert.ok(!(ok("renameWX") && ok("createX")), `rename W→X and create X cannot both win\n${ctx}`);
      if (ok("renameWX") || ok("createX")) assert.ok(ok("renameXY"), `X was taken before X was renamed away\n${ctx}`);
      const gocId = results.gocZ.json.id;
      const expected = new Map([
        [Y, ok("renameXY") ? made[X] : results.createY.json.id],
        [X, !ok("renameXY") ? made[X] : ok("renameWX") ? made[W] : ok("createX") ? results.createX.json.id : null],
        // getOrCreate before the delete returns the old Z (then deleted); after it, a new one.
        [Z, gocId === made[Z] ? null : gocId],
        [W, null],
      ]);
      try {
        await assertConverged(names, expected);
      } catch (e) {
        e.message += `\n${ctx}`;
        throw e;
      }
    }
    console.log(`# statuses: ${Object.entries(statuses).sort().map(([k, v]) => `${k}×${v}`).join(", ")}`);
  });

  test("PostgreSQL stopped and restarted during the race and during an ingest", async () => {
    const ingestName = uniq("ingest");
    const created = await request(a.url, "POST", COLLS, { body: { name: ingestName } });
    assert.equal(created.status, 200, created.text);
    const id = created.json.id;
    const addPath = `${COLLS}/${id}/add`;
    // The first add sets the dimension (a catalog change): before the outage.
    const seed = await request(a.url, "POST", addPath, { body: { ids: ["seed"], embeddings: [[0, 0, 1]] } });
    assert.equal(seed.status, 201, seed.text);
    // Loaded on every instance.
    for (const s of servers) {
      await until(`${s.name} reads the seed`, async () => {
        const r = await request(s.proc.url, "POST", `${COLLS}/${id}/get`, { body: { ids: ["seed"] } });
        return r.status === 200 && r.json.ids.length === 1;
      }, CONVERGE_MS);
    }

    let phase = "before"; // before → stopping → down → restarting → after
    let stop = false;
    const acked = new Set();
    const ackedIn = { before: 0, stopping: 0, down: 0, restarting: 0, after: 0 };
    const badAdds = [];
    let sentIds = 0;
    const writer = async (server) => {
      for (let n = 0; n < 400 && !stop; n++) {
        const ids = [0, 1, 2, 3, 4].map((k) => `${server.name}-${n}-${k}`);
        const p = phase;
        sentIds += ids.length;
        let res;
        try {
          res = await request(server.proc.url, "POST", addPath, {
            body: { ids, embeddings: ids.map((_, k) => [n, k, server.name.charCodeAt(0)]) },
            timeoutMs: 15000,
          });
        } catch (err) {
          badAdds.push(`${server.name} add #${n} (${p}): no answer (${err.message})`);
          continue;
        }
        if (res.status === 201) {
          ids.forEach((x) => acked.add(x));
          ackedIn[p]++;
        } else {
          badAdds.push(`${server.name} add #${n} (${p}, ends ${phase}): ${res.status} ${res.text.slice(0, 300)}`);
        }
        await sleep(20);
      }
    };
    // Creates of one name through all three instances, round after round.
    const rounds = [];
    const racer = async () => {
      for (let r = 0; r < 300 && !stop; r++) {
        const name = uniq("outage");
        const p = phase;
        const res = await Promise.all(servers.map((s) =>
          request(s.proc.url, "POST", COLLS, { body: { name }, timeoutMs: 15000 })
            .catch((err) => ({ status: 0, text: `no answer: ${err.message}`, json: undefined }))));
        rounds.push({ name, phase: p, endPhase: phase, res });
        await sleep(30);
      }
    };
    const background = Promise.all([writer(servers[0]), writer(servers[1]), racer()]);

    let outage = 0;
    const firstOk = {};
    try {
      await sleep(600);
      phase = "stopping";
      const t0 = Date.now();
      await pg.stop();
      phase = "down";
      // Catalog changes answer 503 with a message naming PostgreSQL, through every instance.
      for (const s of servers) {
        const name = uniq("down");
        const started = Date.now();
        const res = await request(s.proc.url, "POST", COLLS, { body: { name }, timeoutMs: 15000 });
        assertErrorResponse(res, 503, "ChromaError", /PostgreSQL/);
        assert.ok(Date.now() - started < 5000, `${s.name}: the 503 took ${Date.now() - started} ms`);
        await assert.rejects(s.client.createCollection({ name, embeddingFunction: null }), (err) => {
          assert.ok(err instanceof ChromaServerError, `${s.name}: ${err?.constructor?.name}: ${err?.message}`);
          assert.match(err.message, /PostgreSQL/);
          return true;
        });
        const ren = await request(s.proc.url, "PUT", `${COLLS}/${id}`, { body: { new_name: uniq("nope") } });
        assertErrorResponse(ren, 503, "ChromaError", /PostgreSQL/);
      }
      // Reads of the catalog are served from memory meanwhile.
      for (const s of servers) {
        const got = await request(s.proc.url, "GET", `${COLLS}/${ingestName}`);
        assert.equal(got.status, 200, show(`${s.name} GET ${ingestName} while PostgreSQL is down`, got));
      }
      await sleep(Math.max(0, 2000 - (Date.now() - t0)));
      phase = "restarting";
      await pg.start();
      outage = Date.now() - t0;
      phase = "after";
      // Creates work again through every instance.
      const t1 = Date.now();
      await Promise.all(servers.map(async (s) => {
        let tries = 0;
        const failures = [];
        await until(`create through ${s.name} after the restart`, async (last) => {
          tries++;
          const res = await request(s.proc.url, "POST", COLLS, { body: { name: uniq("back") } });
          if (res.status !== 200) failures.push(show("", res));
          last.text = failures.slice(-3).join("\n");
          return res.status === 200;
        }, RECOVER_MS, 100);
        firstOk[s.name] = { ms: Date.now() - t1, tries, failures };
      }));
      await sleep(600);
    } finally {
      stop = true;
      await background;
    }

    console.log(`# outage ${outage} ms; adds acknowledged before ${ackedIn.before}, stopping ${ackedIn.stopping}, down ${ackedIn.down}, restarting ${ackedIn.restarting}, after ${ackedIn.after}; ${rounds.length} create rounds`);
    console.log(`# first create after the restart: ${Object.entries(firstOk).map(([k, v]) => `${k} ${v.ms} ms (${v.tries} tries)`).join(", ")}`);

    // Record writes to the loaded collection never depended on PostgreSQL.
    assert.deepEqual(badAdds, [], "every add is acknowledged, PostgreSQL or not");
    assert.ok(ackedIn.down > 0, "adds were acknowledged while PostgreSQL was down");

    // The race: never a 500, never two winners; 503s name PostgreSQL; with PostgreSQL up
    // throughout a round, one winner and two 409s.
    const winners = new Map();
    for (const { name, phase: p, endPhase, res } of rounds) {
      const line = `${name} (${p}…${endPhase}): ${res.map((r, i) => `${servers[i].name} ${r.status} ${r.text.slice(0, 200)}`).join(" | ")}`;
      for (const r of res) {
        assert.ok([200, 409, 503].includes(r.status), `unexpected answer: ${line}`);
        if (r.status === 503) assertErrorResponse(r, 503, "ChromaError", /PostgreSQL/);
        if (r.status === 409) assertErrorResponse(r, 409, "ChromaError", /already exists/);
      }
      const won = res.filter((r) => r.status === 200);
      assert.ok(won.length <= 1, `two winners: ${line}`);
      if (won.length) winners.set(name, won[0].json.id);
      if (p === endPhase && (p === "before" || p === "after")) {
        assert.deepEqual(res.map((r) => r.status).sort(), [200, 409, 409], `PostgreSQL up: ${line}`);
      }
      if (p === "down" && endPhase === "down") {
        assert.deepEqual(res.map((r) => r.status), [503, 503, 503], `PostgreSQL down: ${line}`);
      }
    }
    // Each winner is live in PostgreSQL with its id; a round without a winner has at most one
    // (a create whose answer was lost with the connection may have committed).
    const names = rounds.map((r) => r.name);
    const live = await pgLive(names);
    for (const [name, ids] of live) {
      assert.ok(ids.length <= 1, `${name} live ${ids.length} times in PostgreSQL`);
      if (winners.has(name)) assert.deepEqual(ids, [winners.get(name)], `${name}: the winner's id`);
    }
    // Once PostgreSQL accepts connections again, the first catalog change through each instance
    // succeeds (a connection lost with the old server is not held against it).
    for (const [k, v] of Object.entries(firstOk)) {
      assert.equal(v.failures.length, 0, `creates through ${k} after PostgreSQL's restart failed first:\n${v.failures.join("\n")}`);
    }
    await assertConverged([...names, ingestName], null, RECOVER_MS);

    // Every acknowledged record is read through every instance.
    const ackedIds = [...acked, "seed"];
    for (const s of servers) {
      await until(`${s.name} reads all ${ackedIds.length} acknowledged records`, async (last) => {
        const res = await request(s.proc.url, "POST", `${COLLS}/${id}/get`, { body: { ids: ackedIds, include: [] } });
        assert.equal(res.status, 200, show(`${s.name} get`, res));
        const got = new Set(res.json.ids);
        const missing = ackedIds.filter((x) => !got.has(x));
        const count = await request(s.proc.url, "GET", `${COLLS}/${id}/count`);
        last.text = `${s.name}: ${missing.length} missing (${missing.slice(0, 10).join(", ")}), count ${count.json}`;
        return missing.length === 0 && count.json === ackedIds.length;
      }, RECOVER_MS);
    }
    assert.equal(await pgDuplicates(), "");
    console.log(`# ${acked.size} records acknowledged of ${sentIds} sent; all read through A, B and C`);
  });
});
