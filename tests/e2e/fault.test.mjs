// Fault tests:
// - the embedded ClickHouse is killed (SIGKILL) while a client streams adds. Every add the server
//   acknowledged (201) must be present after ClickHouse restarts and after the server itself
//   restarts (read back from ClickHouse); a failed add is never visible in memory.
// - the embedded ClickHouse hangs (SIGSTOP, so the supervisor does not restart it) while clients
//   write: /healthcheck answers 503 and writes answer 503 with Chroma's JSON error body within a
//   bound (FAULT_BOUND_MS, default 20 s) instead of hanging, the server stays up (heartbeat);
//   after SIGCONT everything recovers without a server restart and no acknowledged write is lost.
//
// Run from the repo root:  node --test tests/e2e/fault.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ServerProcess, request } from "./harness.mjs";
import {
  assertNoProblems,
  checkKnownRecords,
  knownRecord,
  processState,
  recordsBody,
  waitFor,
} from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL && "CHROMA_URL is set: this test kills its own ClickHouse";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const COLLS = "/api/v2/tenants/default_tenant/databases/default_database/collections";

function clickhousePid(dataDir) {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("clickhouse-server") && cmd.includes(join(dataDir, "clickhouse"))) return Number(pid);
    } catch {}
  }
  return 0;
}

async function getIds(url, id, ids) {
  const res = await request(url, "POST", `${COLLS}/${id}/get`, { body: { ids, include: [] } });
  assert.equal(res.status, 200, res.text);
  return new Set(res.json.ids);
}

test("acknowledged adds survive ClickHouse being killed mid-stream", { skip: SKIP, timeout: 240000 }, async () => {
  const server = new ServerProcess();
  await server.start();
  try {
    const created = await request(server.url, "POST", COLLS, { body: { name: "fault-stream" } });
    assert.equal(created.status, 200);
    const id = created.json.id;

    const acknowledged = [];
    const failed = [];
    let kills = 0;
    const batches = 150;
    for (let b = 0; b < batches; b++) {
      if (b === 40 || b === 100) {
        const pid = clickhousePid(server.dataDir);
        assert.ok(pid, "embedded ClickHouse is running");
        process.kill(pid, "SIGKILL");
        kills++;
      }
      const ids = Array.from({ length: 10 }, (_, i) => `b${b}-r${i}`);
      const embeddings = ids.map((_, i) => [b, i, 0.5]);
      const res = await request(server.url, "POST", `${COLLS}/${id}/add`, {
        body: { ids, embeddings, documents: ids.map((x) => `doc ${x}`) },
      });
      if (res.status === 201) {
        acknowledged.push(...ids);
      } else {
        // Unavailability is reported as 503 with Chroma's error body; nothing else is allowed.
        assert.equal(res.status, 503, `unexpected status ${res.status}: ${res.text}`);
        assert.equal(res.json.error, "ChromaError");
        failed.push(...ids);
        // A failed add is not visible in memory.
        const visible = await getIds(server.url, id, ids);
        assert.equal(visible.size, 0, "rows of a failed add must not be visible");
        await sleep(50);
      }
    }
    assert.equal(kills, 2);
    assert.ok(acknowledged.length > 0);
    console.log(`# acknowledged ${acknowledged.length} rows, failed ${failed.length} rows`);

    // Wait for ClickHouse, then check in memory and after a full restart (from ClickHouse).
    const deadline = Date.now() + 60000;
    while ((await request(server.url, "GET", "/api/v2/healthcheck")).status !== 200) {
      assert.ok(Date.now() < deadline, "ClickHouse did not come back");
      await sleep(100);
    }
    let present = await getIds(server.url, id, acknowledged);
    assert.equal(present.size, acknowledged.length, "acknowledged rows missing from memory");

    await server.stop();
    await server.start();
    present = await getIds(server.url, id, acknowledged);
    const missing = acknowledged.filter((x) => !present.has(x));
    assert.deepEqual(missing, [], "acknowledged rows missing after restart");
    const count = await request(server.url, "GET", `${COLLS}/${id}/count`);
    // Failed adds may or may not have reached ClickHouse before the connection broke (a retry
    // of the client would then be a no-op), but nothing beyond what was sent exists.
    assert.ok(count.json >= acknowledged.length && count.json <= acknowledged.length + failed.length);
  } finally {
    await server.cleanup();
  }
});

// How long a request may take while ClickHouse hangs before the server must have answered 503.
const FAULT_BOUND_MS = Number(process.env.FAULT_BOUND_MS ?? 20000);
const DIM = 8;

/** A request that never rejects: {status, json, text, ms} or {error, ms} (timeout after `bound`). */
async function timed(url, method, path, body, bound = FAULT_BOUND_MS) {
  const started = Date.now();
  try {
    const res = await request(url, method, path, { body, timeoutMs: bound });
    return { ...res, ms: Date.now() - started };
  } catch (err) {
    const error = err.name === "TimeoutError" ? `no answer within ${bound} ms` : String(err.cause?.code ?? err.message);
    return { error, ms: Date.now() - started };
  }
}

/** What is wrong with an answer that should be 503 with Chroma's error body; null when right. */
function unavailableProblem(r) {
  if (r.error) return r.error;
  if (r.status !== 503) return `status ${r.status}: ${r.text.slice(0, 200)}`;
  if (!/^application\/json/.test(r.headers.get("content-type") ?? "")) return "503 without a JSON content type";
  if (!r.json || r.json.error !== "ChromaError" || typeof r.json.message !== "string" || Object.keys(r.json).length !== 2) {
    return `503 body is not {error: "ChromaError", message}: ${r.text.slice(0, 200)}`;
  }
  return null;
}

test("while ClickHouse hangs: 503s within a bound, server up, full recovery after it resumes",
  { skip: SKIP, timeout: 240000 }, async (t) => {
    const server = new ServerProcess();
    let frozen = 0;
    const failures = [];
    const expect = (problem, what) => {
      if (problem) failures.push(`${what}: ${problem}`);
    };
    try {
      await server.start();
      const created = await request(server.url, "POST", COLLS, { body: { name: "fault-hang" } });
      assert.equal(created.status, 200, created.text);
      const id = created.json.id;
      const states = new Map(); // id → {acked, pending}
      let seq = 0;
      // One write of `n` new records (add) or of `n` records at a new version (upsert of known ids).
      // Upserts of different ids (`from`) never run concurrently on the same record.
      const write = async (op, n, bound, from = 0) => {
        const ids = op === "upsert" ? [...states.keys()].slice(from, from + n) : Array.from({ length: n }, () => `h${seq++}`);
        const batch = ids.map((rid) => {
          const s = states.get(rid) ?? { acked: null, pending: null };
          states.set(rid, s);
          s.pending = Math.max(s.acked ?? 0, s.pending ?? 0) + 1;
          return knownRecord(rid, s.pending, DIM);
        });
        const r = await timed(server.url, "POST", `${COLLS}/${id}/${op}`, recordsBody(batch), bound);
        if (!r.error && r.status === (op === "add" ? 201 : 200)) {
          for (const rec of batch) {
            const s = states.get(rec.id);
            s.acked = s.pending;
            s.pending = null;
          }
        }
        return r;
      };
      for (let i = 0; i < 10; i++) {
        const r = await write("add", 20);
        assert.equal(r.status, 201, r.text ?? r.error);
      }

      // Freeze ClickHouse: its sockets stay open but nothing is answered.
      frozen = clickhousePid(server.dataDir);
      assert.ok(frozen, "embedded ClickHouse is running");
      process.kill(frozen, "SIGSTOP");
      await waitFor(() => processState(frozen) === "T", 10000, "ClickHouse to be stopped");

      // Concurrently: the healthcheck, 6 adds and 2 upserts, a get, and a heartbeat while they wait.
      const health = timed(server.url, "GET", "/api/v2/healthcheck");
      const writes = [
        ...Array.from({ length: 6 }, () => write("add", 10, FAULT_BOUND_MS)),
        ...Array.from({ length: 2 }, (_, k) => write("upsert", 10, FAULT_BOUND_MS, 10 * k)),
      ];
      const reading = timed(server.url, "POST", `${COLLS}/${id}/get`, { limit: 5 });
      await sleep(200);
      const heartbeat = await timed(server.url, "GET", "/api/v2/heartbeat");
      const [hc, ws, read] = await Promise.all([health, Promise.all(writes), reading]);
      t.diagnostic(`while frozen: healthcheck ${hc.status ?? hc.error} in ${hc.ms} ms; writes ${ws.map((w) => `${w.status ?? "-"}/${w.ms}ms`).join(" ")}; heartbeat ${heartbeat.status ?? heartbeat.error} in ${heartbeat.ms} ms; get ${read.status ?? read.error} in ${read.ms} ms`);

      expect(hc.error ?? (hc.status === 503 ? null : `status ${hc.status}: ${hc.text}`), "healthcheck while ClickHouse hangs");
      if (!hc.error && hc.status === 503) {
        expect(hc.json?.is_executor_ready === false ? null : `body ${hc.text}`, "healthcheck body while ClickHouse hangs");
      }
      ws.forEach((w, i) => expect(unavailableProblem(w), `write ${i} while ClickHouse hangs`));
      expect(heartbeat.error ?? (heartbeat.status === 200 ? null : `status ${heartbeat.status}`), "heartbeat while ClickHouse hangs");
      // A read of a loaded collection may be served from memory (200) or refused (503), not hang.
      expect(read.error ?? ([200, 503].includes(read.status) ? null : `status ${read.status}: ${read.text}`), "get while ClickHouse hangs");
      expect(server.child.exitCode === null ? null : `exited with ${server.child.exitCode}`, "server process");

      // Resume ClickHouse: everything recovers without restarting the server.
      process.kill(frozen, "SIGCONT");
      frozen = 0;
      const resumed = Date.now();
      await waitFor(async () => (await timed(server.url, "GET", "/api/v2/healthcheck", undefined, 10000)).status === 200,
        60000, "healthcheck 200 after ClickHouse resumed", 200);
      t.diagnostic(`healthcheck 200 again ${Date.now() - resumed} ms after SIGCONT`);
      for (let i = 0; i < 5; i++) {
        const r = await write(i % 2 ? "upsert" : "add", 10, 30000, 5 * i);
        expect(r.error ?? ([200, 201].includes(r.status) ? null : `status ${r.status}: ${r.text}`), `write ${i} after ClickHouse resumed`);
      }
      const inMemory = await checkKnownRecords(server.url, id, states, DIM);
      for (const p of inMemory.problems) failures.push(`in memory after recovery: ${p}`);
      const acked = [...states.values()].filter((s) => s.acked !== null).length;
      t.diagnostic(`after recovery: ${inMemory.present} records present in memory, ${acked} acknowledged`);

      // And from ClickHouse, after a restart of the server.
      assert.equal(await server.stop(), 0, "graceful stop");
      await server.start();
      const reloaded = await checkKnownRecords(server.url, id, states, DIM);
      for (const p of reloaded.problems) failures.push(`after a restart: ${p}`);
      t.diagnostic(`after a restart: ${reloaded.present} records present`);
      assertNoProblems(failures, "ClickHouse hang", 20);
    } finally {
      if (frozen) process.kill(frozen, "SIGCONT");
      await server.cleanup();
    }
  });
