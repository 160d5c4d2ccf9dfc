// Graceful shutdown: SIGTERM arrives while many requests are in flight on keep-alive
// connections (adds of records with known content, queries, large gets, counts).
//   - every request that was completely sent before the signal gets a complete HTTP response
//     (2xx, or 429/503 with Chroma's JSON error body): no reset, no truncated body;
//   - a request sent after the signal gets a complete response or no response at all, never a
//     partial one;
//   - the process exits with status 0 within a bound, and its embedded clickhouse-server is gone;
//   - once the listening socket is closed, new connections are refused (until and after the exit);
//   - after a restart on the same data directory every acknowledged add is there, exactly.
//
// Run from the repo root:  node --test tests/e2e/shutdown.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
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
  sleep,
  waitFor,
} from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL && "CHROMA_URL is set: this test stops its own server";
const COLLS = collectionsPath();
const DIM = 128;
const CLIENTS = 24;
const BIG_ROWS = 5000; // records of the collection the large gets and the queries read
const ADD_BATCH = 50;
const SLOW_READ_MS = 300; // large gets are read by a slow client (pauses this long before reading)
// Bounds (generous: 2 shared cores). The server waits a few seconds for in-flight requests and
// then stops its ClickHouse; 30 s is far above what a healthy shutdown needs.
const EXIT_BOUND_MS = 30000;
const REQUEST_TIMEOUT_MS = 60000;

/**
 * One HTTP request on `agent` that records what happened: {kind, sentBeforeSignal, status,
 * headersReceived, complete, bytes, contentLength, error, text}. Never rejects. With slowReadMs
 * the response body is not read for that long after the headers (a slow client).
 */
function send(agent, port, kind, method, path, body, signalState, slowReadMs = 0) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const out = { kind, sentBeforeSignal: false, headersReceived: false, complete: false, bytes: 0 };
    let settled = false;
    const finish = (extra) => {
      if (settled) return;
      settled = true;
      out.settledAfterSignal = signalState.sent;
      Object.assign(out, extra);
      resolve(out);
    };
    const req = http.request({
      agent,
      host: "127.0.0.1",
      port,
      method,
      path,
      headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
    });
    // 'finish': the whole request has been handed to the kernel (on loopback: to the server's socket).
    req.on("finish", () => {
      out.sentBeforeSignal = !signalState.sent;
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", (err) => finish({ error: err.code ?? err.message }));
    req.on("response", (res) => {
      out.headersReceived = true;
      out.status = res.statusCode;
      out.contentLength = Number(res.headers["content-length"] ?? -1);
      out.contentType = res.headers["content-type"] ?? "";
      const chunks = [];
      res.on("data", (c) => {
        chunks.push(c);
        out.bytes += c.length;
      });
      // A slow reader (large answers): the rest of the body waits in the server's socket buffers.
      if (slowReadMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), slowReadMs);
      }
      res.on("aborted", () => finish({ error: "aborted mid-body" }));
      res.on("error", (err) => finish({ error: err.code ?? err.message }));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        finish({ complete: res.complete && (out.contentLength < 0 || out.bytes === out.contentLength), text });
      });
    });
    req.end(payload);
  });
}

/** Problems of one answer that arrived: status, and the body a status must carry. */
function answerProblem(r) {
  if (!r.complete) return `incomplete response (${r.bytes} of ${r.contentLength} bytes, ${r.error ?? "no error"})`;
  let json;
  try {
    json = JSON.parse(r.text);
  } catch {
    return `status ${r.status} with a body that is not JSON: ${r.text.slice(0, 100)}`;
  }
  const okStatus = r.kind === "add" ? 201 : 200;
  if (r.status === okStatus) return null;
  // Documented back-pressure (429/503 with Chroma's error body) is a complete answer too.
  if ((r.status === 429 || r.status === 503) && json && typeof json.error === "string" && typeof json.message === "string") return null;
  return `status ${r.status}: ${r.text.slice(0, 200)}`;
}

const describe = (r) =>
  `${r.kind}: sent ${r.sentBeforeSignal ? "before" : "after"} SIGTERM, headers ${r.headersReceived ? "received" : "not received"}, status ${r.status ?? "-"}, ${r.bytes}/${r.contentLength ?? "?"} bytes, error ${r.error ?? "none"}`;

/** Tries to open a new TCP connection: "refused", "connected" (then closed at once) or another error code. */
function probeConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (err) => resolve(err.code === "ECONNREFUSED" ? "refused" : err.code ?? err.message));
  });
}

test("SIGTERM with requests in flight: complete answers, exit 0, ClickHouse stopped, adds kept",
  { skip: SKIP, timeout: 180000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "chromahouse-shutdown-"));
    let server = new ServerProcess({ dataDir });
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS, maxFreeSockets: CLIENTS });
    const signalState = { sent: false };
    try {
      await server.start();
      const big = await request(server.url, "POST", COLLS, { body: { name: "shutdown-big" } });
      const writes = await request(server.url, "POST", COLLS, { body: { name: "shutdown-writes" } });
      assert.equal(big.status, 200, big.text);
      assert.equal(writes.status, 200, writes.text);
      for (let at = 0; at < BIG_ROWS; at += 500) {
        const batch = Array.from({ length: 500 }, (_, i) => knownRecord(`big-${at + i}`, 1, DIM));
        const res = await request(server.url, "POST", `${COLLS}/${big.json.id}/add`, { body: recordsBody(batch) });
        assert.equal(res.status, 201, res.text);
      }

      const states = new Map(); // id → {acked, pending} of the adds to shutdown-writes
      const results = [];
      let inFlight = 0;
      let completed = 0;
      let preSignalFailure;
      const port = server.port;
      const loop = async (c) => {
        for (let i = 0; !signalState.sent; i++) {
          const kind = ["add", "query", "get-large", "add", "count", "query"][(c + i) % 6];
          let r;
          inFlight++;
          if (kind === "add") {
            const batch = Array.from({ length: ADD_BATCH }, (_, k) => knownRecord(`c${c}-${i}-${k}`, 1, DIM));
            for (const rec of batch) states.set(rec.id, { acked: null, pending: 1 });
            r = await send(agent, port, kind, "POST", `${COLLS}/${writes.json.id}/add`, recordsBody(batch), signalState);
            if (r.complete && r.status === 201) {
              for (const rec of batch) states.set(rec.id, { acked: 1, pending: null });
            }
          } else if (kind === "query") {
            r = await send(agent, port, kind, "POST", `${COLLS}/${big.json.id}/query`, {
              query_embeddings: [knownRecord(`q${c}-${i}`, 1, DIM).embedding],
              n_results: 50,
              include: ["embeddings", "documents", "metadatas", "distances"],
            }, signalState);
          } else if (kind === "get-large") {
            r = await send(agent, port, kind, "POST", `${COLLS}/${big.json.id}/get`, {
              limit: BIG_ROWS,
              include: ["embeddings", "documents", "metadatas"],
            }, signalState, SLOW_READ_MS);
          } else {
            r = await send(agent, port, kind, "GET", `${COLLS}/${big.json.id}/count`, undefined, signalState);
          }
          inFlight--;
          completed++;
          results.push(r);
          // Before the signal everything must work.
          if (!r.settledAfterSignal && answerProblem(r)) preSignalFailure ??= `${describe(r)} → ${answerProblem(r)}`;
        }
      };
      const loops = Array.from({ length: CLIENTS }, (_, c) => loop(c));

      // Warm up: every client has had answers (its keep-alive connection is open), then wait for
      // a moment with most clients waiting for an answer, and send SIGTERM.
      await waitFor(() => completed >= CLIENTS * 3 || preSignalFailure, 60000, "warm-up requests");
      assert.equal(preSignalFailure, undefined, "requests failed before the signal");
      await waitFor(() => inFlight >= CLIENTS - 2, 30000, "requests in flight", 1);
      const inFlightAtSignal = inFlight;
      const signalledAt = Date.now();
      server.signal("SIGTERM");
      signalState.sent = true;
      // A few requests sent right after the signal (on idle keep-alive connections if any, else
      // new ones): each gets a complete answer or none at all.
      const late = Array.from({ length: 4 }, () =>
        send(agent, port, "count", "GET", `${COLLS}/${big.json.id}/count`, undefined, signalState));

      // Probe new connections until the process has exited.
      const probes = [];
      let exited = null;
      const exitWait = server.waitForExit(EXIT_BOUND_MS).then((e) => {
        exited = e ?? "timeout";
        return e;
      });
      while (exited === null) {
        const at = Date.now() - signalledAt;
        const outcome = await probeConnect(port);
        probes.push({ at, outcome, afterExit: exited !== null });
        await sleep(20);
      }
      const exit = await exitWait;
      const exitMs = Date.now() - signalledAt;
      await Promise.all(loops);
      results.push(...(await Promise.all(late)));
      for (let i = 0; i < 3; i++) probes.push({ at: Date.now() - signalledAt, outcome: await probeConnect(port), afterExit: true });

      // --- figures
      const sentBefore = results.filter((r) => r.sentBeforeSignal);
      const byOutcome = {};
      for (const r of results.filter((x) => x.settledAfterSignal)) {
        const key = `${r.kind}/${r.sentBeforeSignal ? "before" : "after"}/${r.complete ? r.status : r.error}`;
        byOutcome[key] = (byOutcome[key] ?? 0) + 1;
      }
      const firstRefused = probes.find((p) => p.outcome === "refused");
      t.diagnostic(`${results.length} requests, ${inFlightAtSignal} in flight at SIGTERM; exit ${JSON.stringify(exit)} after ${exitMs} ms`);
      t.diagnostic(`answers around the signal: ${JSON.stringify(byOutcome)}`);
      t.diagnostic(`connection probes: ${probes.length}, first refused at ${firstRefused?.at ?? "-"} ms; ${JSON.stringify(probes.slice(0, 8))}`);

      // Every property is checked and all failures are reported together at the end.
      const failures = [];
      const expect = (problems, what) => {
        if (problems.length) failures.push(`${what}: ${problems.length}\n    ${problems.slice(0, 8).join("\n    ")}`);
      };
      // --- every request sent before the signal got a complete, valid answer
      expect(sentBefore.filter((r) => answerProblem(r)).map((r) => `${describe(r)} → ${answerProblem(r)}`),
        `requests sent before SIGTERM without a complete answer (of ${sentBefore.length})`);
      // --- a request sent after the signal: complete and valid, or no response at all
      expect(results.filter((r) => !r.sentBeforeSignal && r.headersReceived && answerProblem(r))
        .map((r) => `${describe(r)} → ${answerProblem(r)}`), "requests sent after SIGTERM with a partial answer");
      // --- exit status within the bound, ClickHouse gone
      if (exit === null) {
        assert.fail(`the server did not exit within ${EXIT_BOUND_MS} ms of SIGTERM\n${failures.join("\n")}\n${server.log.slice(-3000)}`);
      }
      if (exit.code !== 0 || exit.signal !== null) failures.push(`exit ${JSON.stringify(exit)} after SIGTERM, expected code 0`);
      const leftovers = await waitFor(() => clickhousePids(dataDir).length === 0, 5000, "ClickHouse gone")
        .then(() => [], () => clickhousePids(dataDir));
      expect(leftovers.map(String), "embedded clickhouse-server processes still running after the server exited");
      if (!/received SIGTERM, shutting down/.test(server.log) || !/\] stopped/.test(server.log)) {
        failures.push("the log does not show the shutdown (received SIGTERM … stopped)");
      }
      // --- new connections: once refused, always refused; refused after the exit
      const refusedFrom = firstRefused?.at ?? Infinity;
      expect(probes.filter((p) => p.at > refusedFrom && p.outcome !== "refused").map((p) => JSON.stringify(p)),
        "new connections not refused after the listening socket was closed");
      expect(probes.filter((p) => p.afterExit && p.outcome !== "refused").map((p) => JSON.stringify(p)),
        "new connections not refused after the exit");

      if (failures.length) {
        const at = server.log.lastIndexOf("received SIGTERM");
        t.diagnostic("server log from the signal on:");
        for (const line of server.log.slice(at, at + 4000).split("\n")) t.diagnostic(`  ${line}`);
      }

      // --- every acknowledged add is there after a restart
      server = await new ServerProcess({ dataDir }).start();
      const acked = [...states.values()].filter((s) => s.acked !== null).length;
      const check = await checkKnownRecords(server.url, writes.json.id, states, DIM);
      t.diagnostic(`after the restart: ${check.present} records present, ${acked} acknowledged`);
      expect(check.problems, "acknowledged adds wrong or missing after the restart");
      const bigCount = await request(server.url, "GET", `${COLLS}/${big.json.id}/count`);
      if (bigCount.json !== BIG_ROWS) failures.push(`count of shutdown-big ${bigCount.text}, expected ${BIG_ROWS}`);

      assertNoProblems(failures, "graceful shutdown", 20);
    } finally {
      signalState.sent = true; // ends the client loops whatever happened
      agent.destroy();
      await server.stop();
      await waitFor(() => clickhousePids(dataDir).length === 0, 30000, "ClickHouse to exit").catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
