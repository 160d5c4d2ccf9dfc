// Limits, back-pressure and /metrics end to end: beyond max_concurrent_requests requests answer
// 429 with a JSON error and Retry-After (never an unbounded queue); writes beyond
// max_pending_write_bytes answer 429 and leave nothing behind; /metrics counts requests by
// route and status, rows ingested, group commits and rejections, in Prometheus text format.
//
// Run from the repo root:  node --test tests/e2e/limits.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { ServerProcess, request } from "./harness.mjs";

const SKIP = process.env.CHROMA_URL && "needs chromahouse's own limits and /metrics";
const COLLS = "/api/v2/tenants/default_tenant/databases/default_database/collections";

// One request on its own connection (so that many are in flight at once).
function post(url, path, body) {
  const u = new URL(url + path);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent: new Agent({ keepAlive: false }),
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
    }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(data);
  });
}

async function metrics(url) {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  return res.text();
}

// Sum of the samples of `name` whose labels contain every `labels` pair.
function sample(text, name, labels = {}) {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    const m = /^([^{ ]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[4]);
  }
  return total;
}

const vec = (seed, dim) => Array.from({ length: dim }, (_, i) => Math.sin(seed * 31 + i * 7));

describe("limits and metrics", { skip: SKIP }, () => {
  let server;
  let busyId;
  before(async () => {
    server = await new ServerProcess({
      args: ["--max-concurrent-requests", "4", "--worker-threads", "2", "--max-pending-write-bytes", "1024"],
    }).start();
  });
  after(async () => {
    await server?.cleanup();
  });

  test("requests beyond max_concurrent_requests answer 429 at once", async () => {
    const created = await request(server.url, "POST", COLLS, { body: { name: "busy" } });
    const id = created.json.id;
    busyId = id;
    for (let b = 0; b < 4; b++) {
      const ids = Array.from({ length: 250 }, (_, i) => `r${b * 250 + i}`);
      const r = await request(server.url, "POST", `${COLLS}/${id}/add`, { body: { ids, embeddings: ids.map((_, i) => vec(b * 250 + i, 256)) } });
      assert.equal(r.status, 201, r.text);
    }
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) =>
      post(server.url, `${COLLS}/${id}/query`, { query_embeddings: [vec(i, 256), vec(i + 1, 256)], n_results: 5, include: ["distances"] })));
    const statuses = results.map((r) => r.status);
    const rejected = results.filter((r) => r.status === 429);
    assert.ok(statuses.every((s) => s === 200 || s === 429), `unexpected statuses ${statuses}`);
    assert.ok(rejected.length > 0, "64 simultaneous queries against a limit of 4 must see some 429s");
    assert.ok(statuses.includes(200));
    for (const r of rejected) {
      const body = JSON.parse(r.text);
      assert.equal(body.error, "ChromaError");
      assert.match(body.message, /max_concurrent_requests is 4/);
      assert.equal(r.headers["retry-after"], "1");
    }
    const text = await metrics(server.url);
    assert.ok(sample(text, "chromahouse_http_rejected_total", { reason: "concurrency" }) >= rejected.length);
    assert.equal(
      sample(text, "chromahouse_http_requests_total", { route: `${COLLS.replace("default_tenant", "{tenant}").replace("default_database", "{database}")}/{collection_id}/query`, status: "200" }),
      statuses.filter((s) => s === 200).length);
    assert.ok(sample(text, "chromahouse_queries_total") >= statuses.filter((s) => s === 200).length);
  });

  test("writes beyond max_pending_write_bytes answer 429 and leave nothing behind", async () => {
    const created = await request(server.url, "POST", COLLS, { body: { name: "pressure" } });
    const id = created.json.id;
    const before = await metrics(server.url);
    let acknowledged = [];
    let refused = [];
    // Rounds of 4 concurrent 8 KiB adds (the concurrency limit is 4) until the budget bites.
    for (let round = 0; round < 10 && refused.length === 0; round++) {
      const batch = await Promise.all(Array.from({ length: 4 }, (_, k) => {
        const ids = Array.from({ length: 8 }, (_, i) => `w${round}-${k}-${i}`);
        return post(server.url, `${COLLS}/${id}/add`, { ids, embeddings: ids.map((_, i) => vec(i + k, 64)) })
          .then((r) => ({ ...r, ids }));
      }));
      for (const r of batch) {
        assert.ok([201, 429].includes(r.status), `${r.status} ${r.text}`);
        (r.status === 201 ? acknowledged : refused).push(r);
      }
    }
    assert.ok(refused.length > 0, "concurrent writes over a 1 KiB budget must see a 429");
    assert.ok(acknowledged.length > 0, "a write alone is always admitted");
    assert.match(JSON.parse(refused[0].text).message, /max_pending_write_bytes is 1024/);
    const got = await request(server.url, "POST", `${COLLS}/${id}/get`, { body: { include: [] } });
    const present = new Set(got.json.ids);
    for (const r of acknowledged) for (const x of r.ids) assert.ok(present.has(x), `acknowledged ${x} missing`);
    for (const r of refused) for (const x of r.ids) assert.ok(!present.has(x), `refused ${x} was written`);
    const text = await metrics(server.url);
    assert.equal(sample(text, "chromahouse_rows_ingested_total") - sample(before, "chromahouse_rows_ingested_total"),
      acknowledged.length * 8);
    assert.ok(sample(text, "chromahouse_http_rejected_total", { reason: "pending_writes" }) >= refused.length);
    assert.ok(sample(text, "chromahouse_group_commit_rows_count") > 0);
    assert.ok(sample(text, "chromahouse_clickhouse_request_seconds_count") > 0);
  });

  test("v1 routes answer back-pressure with RateLimitError", async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) =>
      post(server.url, `/api/v1/collections/${busyId}/query`, { query_embeddings: [vec(i, 256), vec(i + 2, 256)], n_results: 5 })));
    assert.ok(results.every((r) => r.status === 200 || r.status === 429), results.map((r) => r.status).join());
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length > 0);
    assert.equal(JSON.parse(limited[0].text).error, "RateLimitError");
  });
});

describe("structured logs", { skip: SKIP }, () => {
  test("--log-format json writes one JSON object per line, access lines included", async () => {
    const server = await new ServerProcess({ args: ["--log-format", "json"] }).start();
    try {
      assert.equal((await request(server.url, "GET", "/api/v2/heartbeat")).status, 200);
      assert.equal((await request(server.url, "GET", "/api/v2/nope")).status, 404);
      assert.equal(await server.stop(), 0);
    } finally {
      await server.cleanup();
    }
    const lines = server.log.split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length >= 5, server.log);
    const entries = lines.map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        assert.fail(`not a JSON line: ${l}`);
      }
    });
    for (const e of entries) {
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(["debug", "info", "warning", "error", "critical"].includes(e.level), e.level);
      assert.equal(typeof e.thread, "number");
      assert.equal(typeof e.msg, "string");
    }
    assert.ok(entries.some((e) => /^GET \/api\/v2\/nope 404 /.test(e.msg)), "the access line of the 404");
    assert.ok(entries.some((e) => e.msg.includes("listening on")));
  });
});

