// The embedded ClickHouse and the command line: one server per data directory, a crashed
// ClickHouse child is restarted, the external-ClickHouse mode starts no child, and
// healthcheck/writes answer 503 while ClickHouse is unreachable.
//
// Run from the repo root:  node --test tests/e2e/embedded.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ServerProcess, request, serverBinary } from "./harness.mjs";

const SKIP = process.env.CHROMA_URL && "CHROMA_URL is set: these tests start their own servers";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// PIDs of clickhouse-server processes started with a config under `dataDir`.
function clickhousePids(dataDir) {
  const pids = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmd.includes("clickhouse-server") && cmd.includes(join(dataDir, "clickhouse"))) {
      pids.push(Number(pid));
    }
  }
  return pids;
}

function embeddedClickHouseUrl(dataDir) {
  const xml = readFileSync(join(dataDir, "clickhouse", "config.xml"), "utf8");
  const port = /<http_port>(\d+)<\/http_port>/.exec(xml)[1];
  return `http://127.0.0.1:${port}`;
}

async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test("version and --help work", { skip: SKIP }, () => {
  const v = spawnSync(serverBinary, ["version"], { encoding: "utf8" });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^chromahouse \d+\.\d+\.\d+/);
  const h = spawnSync(serverBinary, ["run", "--help"], { encoding: "utf8" });
  assert.equal(h.status, 0);
  for (const flag of ["--host", "--port", "--path", "--clickhouse-url", "--allow-reset"]) {
    assert.ok(h.stdout.includes(flag), `--help mentions ${flag}`);
  }
  const bad = spawnSync(serverBinary, ["run", "--port", "eighty"], { encoding: "utf8" });
  assert.notEqual(bad.status, 0);
});

test("a second server on the same data directory fails clearly", { skip: SKIP, timeout: 120000 }, async () => {
  const first = new ServerProcess();
  await first.start();
  try {
    const second = spawnSync(
      serverBinary,
      ["run", "--port", "0", "--path", first.dataDir],
      { encoding: "utf8", timeout: 30000 },
    );
    assert.notEqual(second.status, 0, "the second server must exit with an error");
    assert.match(second.stdout + second.stderr, /in use by another chromahouse process/);
    // The first server is unharmed.
    const hb = await request(first.url, "GET", "/api/v2/heartbeat");
    assert.equal(hb.status, 200);
    assert.equal(clickhousePids(first.dataDir).length, 1);
  } finally {
    await first.cleanup();
  }
});

test("a killed ClickHouse child is restarted and the data is still there", { skip: SKIP, timeout: 120000 }, async () => {
  const server = new ServerProcess();
  await server.start();
  try {
    const created = await request(server.url, "POST", "/api/v2/tenants", { body: { name: "survivor" } });
    assert.equal(created.status, 200);
    const [pid] = clickhousePids(server.dataDir);
    assert.ok(pid, "embedded ClickHouse is running");
    process.kill(pid, "SIGKILL");
    await waitFor(() => {
      const pids = clickhousePids(server.dataDir);
      return pids.length === 1 && pids[0] !== pid;
    }, 30000, "a new ClickHouse process");
    await waitFor(async () => (await request(server.url, "GET", "/api/v2/healthcheck")).status === 200,
      30000, "healthcheck 200 after the restart");
    const got = await request(server.url, "GET", "/api/v2/tenants/survivor");
    assert.equal(got.status, 200);
    assert.match(server.log, /embedded ClickHouse \(pid \d+\) killed by signal 9/);
  } finally {
    await server.cleanup();
  }
  assert.deepEqual(clickhousePids(server.dataDir), [], "SIGTERM stops the ClickHouse child");
});

test("external ClickHouse mode: no child, and 503 while ClickHouse is gone", { skip: SKIP, timeout: 180000 }, async () => {
  const owner = new ServerProcess();
  await owner.start();
  const url = embeddedClickHouseUrl(owner.dataDir);
  const external = new ServerProcess({
    args: ["--clickhouse-url", url, "--clickhouse-database", "external_mode_db"],
  });
  try {
    await external.start();
    assert.deepEqual(clickhousePids(external.dataDir), [], "external mode starts no ClickHouse");
    assert.equal((await request(external.url, "POST", "/api/v2/tenants", { body: { name: "ext_tenant" } })).status, 200);
    // Separate databases: the owner does not see the external server's catalog.
    assert.equal((await request(owner.url, "GET", "/api/v2/tenants/ext_tenant")).status, 404);
    assert.match(external.log, /storage: ClickHouse 18\.16/);

    await owner.stop();  // stops the ClickHouse the external server uses
    const health = await request(external.url, "GET", "/api/v2/healthcheck");
    assert.equal(health.status, 503);
    assert.deepEqual(health.json, { is_executor_ready: false, is_log_client_ready: false });
    const write = await request(external.url, "POST", "/api/v2/tenants", { body: { name: "while_down" } });
    assert.equal(write.status, 503);
    assert.equal(write.json.error, "ChromaError");
    assert.match(write.json.message, /unavailable/);
    // Nothing half-applied: the failed tenant does not exist, reads of the cache still work.
    assert.equal((await request(external.url, "GET", "/api/v2/tenants/while_down")).status, 404);
    assert.equal((await request(external.url, "GET", "/api/v2/heartbeat")).status, 200);
  } finally {
    await external.cleanup();
    await owner.cleanup();
  }
});
