// Crash test: the server is killed with SIGKILL while several writers stream adds and upserts
// of records with known content, then restarted on the same data directory and the same port.
// Every write the server acknowledged (2xx) must be there with exactly the embedding, document
// and metadata sent; a write that was in flight at the kill may or may not be (in one of the
// states that were sent, never anything else). The embedded ClickHouse child must not outlive
// the killed server, and the restarted server must start cleanly (lock file, same port).
//
// Run from the repo root:  node --test tests/e2e/kill.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerProcess, request } from "./harness.mjs";
import {
  assertNoProblems,
  checkKnownRecords,
  clickhousePids,
  collectionsPath,
  knownRecord,
  recordsBody,
  waitFor,
} from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL && "CHROMA_URL is set: this test kills its own server";
const COLLS = collectionsPath();
const DIM = 16;
const WRITERS = 6;
const BATCH = 20;
// A bound for any single request while the server is up (generous: 2 shared cores).
const REQUEST_TIMEOUT_MS = 30000;

let dataDir;
let server;
let port;
const collections = []; // {id, name, space}
// id → {coll, acked: version | null, pending: version | null}; one writer owns each id.
const records = new Map();
let round = 0;

before(async () => {
  if (SKIP) return;
  dataDir = mkdtempSync(join(tmpdir(), "chromahouse-kill-"));
  server = await new ServerProcess({ dataDir }).start();
  port = server.port;
  for (const space of ["l2", "ip"]) {
    const res = await request(server.url, "POST", COLLS, {
      body: { name: `kill-${space}`, configuration: { hnsw: { space } } },
    });
    assert.equal(res.status, 200, res.text);
    collections.push({ id: res.json.id, name: res.json.name, space });
  }
});

after(async () => {
  if (SKIP) return;
  await server?.stop("SIGKILL");
  if (dataDir) {
    await waitFor(() => clickhousePids(dataDir).length === 0, 30000, "ClickHouse to exit").catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/**
 * Starts WRITERS writers that stream adds (new ids) and upserts (half existing ids at a new
 * version, half new ids) until a request fails or stop() is called. Returns {stats, done,
 * inFlight(), running(), markKilled(), stop()}: done resolves when every writer has ended;
 * stats.errors lists failures that happened before markKilled() (other than back-pressure).
 */
function startWriters(url) {
  round++;
  const stats = { acked: 0, ackedRows: 0, failed: 0, errors: [] };
  let stopped = false;
  let killed = false;
  let inFlight = 0;
  let running = 0;
  const writer = async (w) => {
    running++;
    try {
      await writeLoop(w);
    } finally {
      running--;
    }
  };
  const writeLoop = async (w) => {
    const coll = collections[w % collections.length];
    const own = [];
    for (let i = 0; !stopped; i++) {
      const op = i % 3 === 2 && own.length >= BATCH ? "upsert" : "add";
      const ids = [];
      if (op === "upsert") {
        for (let k = 0; k < BATCH / 2; k++) ids.push(own[(i * 7 + k * 13) % own.length]);
      }
      while (ids.length < BATCH) ids.push(`r${round}-w${w}-${i}-${ids.length}`);
      const unique = [...new Set(ids)];
      const batch = unique.map((id) => {
        const state = records.get(id) ?? { coll: coll.id, acked: null, pending: null };
        records.set(id, state);
        state.pending = (state.acked ?? 0) + 1;
        return knownRecord(id, state.pending, DIM);
      });
      inFlight++;
      let res;
      try {
        res = await request(url, "POST", `${COLLS}/${coll.id}/${op}`, {
          body: recordsBody(batch),
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      } catch (err) {
        // After the kill: this write may or may not have been committed. Before it: an error.
        inFlight--;
        stats.failed++;
        if (!killed) stats.errors.push(`${op}: ${err.name === "TimeoutError" ? "no answer in time" : err.cause?.code ?? err.message}`);
        return;
      }
      inFlight--;
      const wanted = op === "add" ? 201 : 200;
      if (res.status !== wanted) {
        // Back-pressure (429/503 with an error body) leaves the write unacknowledged: this writer
        // stops (its records keep their possible states); anything else is an error.
        stats.failed++;
        if ((res.status === 429 || res.status === 503) && res.json?.error) stats.backPressure = (stats.backPressure ?? 0) + 1;
        else stats.errors.push(`${op} → ${res.status} ${res.text.slice(0, 200)}`);
        return;
      }
      for (const r of batch) {
        const state = records.get(r.id);
        state.acked = state.pending;
        state.pending = null;
        if (!own.includes(r.id)) own.push(r.id);
      }
      stats.acked++;
      stats.ackedRows += batch.length;
    }
  };
  const done = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  return {
    stats,
    done,
    inFlight: () => inFlight,
    running: () => running,
    markKilled: () => {
      killed = true;
    },
    stop: () => {
      stopped = true;
    },
  };
}

/** Kills the server (SIGKILL) at a moment when at least `minInFlight` writes are in flight. */
async function killMidIngest(writers, { minAckedBatches, minInFlight }) {
  await waitFor(() => writers.stats.acked >= minAckedBatches || writers.stats.errors.length > 0 || writers.running() === 0,
    60000, `${minAckedBatches} acknowledged batches`, 20);
  assert.deepEqual(writers.stats.errors, [], "writes failed while the server was up");
  assert.ok(writers.running() > 0, `every writer stopped on back-pressure (${writers.stats.backPressure} answers)`);
  // Wait (spinning on the event loop) for a moment with several writes in flight.
  const deadline = Date.now() + 10000;
  while (writers.inFlight() < minInFlight && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const inFlight = writers.inFlight();
  const chPids = clickhousePids(dataDir);
  assert.equal(chPids.length, 1, "one embedded ClickHouse before the kill");
  writers.markKilled();
  const code = await server.stop("SIGKILL");
  assert.equal(code, "SIGKILL");
  writers.stop();
  await writers.done;
  return { inFlight, chPid: chPids[0] };
}

/** Checks every record ever sent against the server's answer; returns the number present. */
async function verifyRecords(url, what) {
  let present = 0;
  for (const coll of collections) {
    const states = new Map([...records].filter(([, s]) => s.coll === coll.id));
    const r = await checkKnownRecords(url, coll.id, states, DIM, { timeoutMs: REQUEST_TIMEOUT_MS });
    assertNoProblems(r.problems, `${what}, ${coll.name}`);
    present += r.present;
  }
  return present;
}

function summary() {
  let acked = 0;
  let pending = 0;
  for (const s of records.values()) {
    if (s.acked !== null) acked++;
    if (s.pending !== null) pending++;
  }
  return { acked, pending };
}

test("acknowledged writes survive a SIGKILL mid-ingest; ClickHouse dies with the server; clean restart",
  { skip: SKIP, timeout: 150000 }, async (t) => {
    const writers = startWriters(server.url);
    const { inFlight, chPid } = await killMidIngest(writers, { minAckedBatches: 150, minInFlight: 3 });
    const { acked, pending } = summary();
    t.diagnostic(`round 1: ${writers.stats.acked} batches acknowledged (${acked} ids), ${inFlight} writes in flight at the kill, ${pending} ids unacknowledged`);
    assert.ok(inFlight >= 1, "writes were in flight at the kill");

    // The embedded ClickHouse (PR_SET_PDEATHSIG) goes away with the killed server.
    const killedAt = Date.now();
    await waitFor(() => clickhousePids(dataDir).length === 0, 30000,
      `embedded ClickHouse (pid ${chPid}) to exit after its server was killed`);
    t.diagnostic(`embedded ClickHouse gone ${Date.now() - killedAt} ms after the kill`);

    // Restart on the same data directory and the same port.
    server = new ServerProcess({ dataDir, port });
    const started = Date.now();
    await server.start();
    t.diagnostic(`restarted on port ${port} in ${Date.now() - started} ms`);
    assert.equal(server.port, port);
    assert.equal(readFileSync(join(dataDir, "chromahouse.lock"), "utf8").trim(), String(server.child.pid),
      "the lock file names the new server");
    assert.equal(clickhousePids(dataDir).length, 1, "exactly one embedded ClickHouse");
    assert.doesNotMatch(server.log, /\[(error|critical)\]/, `clean start expected:\n${server.log}`);
    assert.equal((await request(server.url, "GET", "/api/v2/healthcheck")).status, 200);

    const present = await verifyRecords(server.url, "after the restart");
    t.diagnostic(`${present} records present after the restart (${acked} acknowledged ids)`);

    // Still writable.
    const extra = knownRecord("after-restart", 1, DIM);
    const res = await request(server.url, "POST", `${COLLS}/${collections[0].id}/add`, { body: recordsBody([extra]) });
    assert.equal(res.status, 201, res.text);
    records.set(extra.id, { coll: collections[0].id, acked: 1, pending: null });
  });

test("a server killed mid-ingest and restarted at once (ClickHouse still exiting) recovers everything",
  { skip: SKIP, timeout: 150000 }, async (t) => {
    if (!server.child) server = await new ServerProcess({ dataDir, port }).start();
    const writers = startWriters(server.url);
    const { inFlight } = await killMidIngest(writers, { minAckedBatches: 100, minInFlight: 3 });
    t.diagnostic(`round 2: ${writers.stats.acked} batches acknowledged, ${inFlight} writes in flight at the kill`);

    // No waiting: a supervisor (systemd, a container runtime) restarts the server right away.
    server = new ServerProcess({ dataDir, port });
    const started = Date.now();
    await server.start();
    t.diagnostic(`restarted in ${Date.now() - started} ms`);
    await waitFor(async () => (await request(server.url, "GET", "/api/v2/healthcheck")).status === 200,
      60000, "healthcheck 200 after the restart");
    await waitFor(() => clickhousePids(dataDir).length === 1, 30000, "a single embedded ClickHouse");
    const chRestarts = (server.log.match(/embedded ClickHouse \(pid \d+\) .*; restarting/g) ?? []).length;
    t.diagnostic(`embedded ClickHouse restarts by the supervisor during start-up: ${chRestarts}`);
    assert.equal(readFileSync(join(dataDir, "chromahouse.lock"), "utf8").trim(), String(server.child.pid));

    const present = await verifyRecords(server.url, "after the immediate restart");
    const { acked } = summary();
    t.diagnostic(`${present} records present (${acked} acknowledged ids over both rounds)`);

    // A graceful stop still works after all this.
    assert.equal(await server.stop(), 0);
  });
