// Fault test: the embedded ClickHouse is killed (SIGKILL) while a client streams adds. Every add
// the server acknowledged (201) must be present after ClickHouse restarts and after the server
// itself restarts (read back from ClickHouse); a failed add is never visible in memory.
//
// Run from the repo root:  node --test tests/e2e/fault.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ServerProcess, request } from "./harness.mjs";

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
