// Restart tests: the catalog (tenants, databases, collections with their metadata and
// configuration) must survive a graceful stop (SIGTERM) and a crash (SIGKILL) of the server.
//
// Run from the repo root:  node --test tests/e2e/restart.test.mjs
// Skipped when CHROMA_URL is set (a server we did not start cannot be restarted).
//
// Comparison: every catalog read is snapshotted as its raw response text, canonicalised only by
// sorting object keys (number literals are kept exactly as sent, so `2.0` vs `2` or a rounded
// i64 is a difference). The snapshot after the restart must be identical.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient, ChromaClient } from "chromadb";
import { ServerProcess, request } from "./harness.mjs";

const EXTERNAL = Boolean(process.env.CHROMA_URL);
const SKIP = EXTERNAL && "CHROMA_URL is set: cannot restart a server we did not start";

const runId = Date.now().toString(36);
let seq = 0;
const uniq = (prefix) => `${prefix}-${runId}-${++seq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let dataDir;
let server;

// ---------- canonical JSON (keys sorted, number literals kept verbatim) ----------
function canonicalJson(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      const entries = [];
      ws();
      if (text[i] === "}") {
        i++;
        return "{}";
      }
      for (;;) {
        ws();
        const key = string();
        ws();
        if (text[i++] !== ":") throw new Error(`bad JSON at ${i}: ${text}`);
        entries.push([key, value()]);
        ws();
        const sep = text[i++];
        if (sep === "}") break;
        if (sep !== ",") throw new Error(`bad JSON at ${i}: ${text}`);
      }
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return `{${entries.map(([k, v]) => `${k}:${v}`).join(",")}}`;
    }
    if (ch === "[") {
      i++;
      const items = [];
      ws();
      if (text[i] === "]") {
        i++;
        return "[]";
      }
      for (;;) {
        items.push(value());
        ws();
        const sep = text[i++];
        if (sep === "]") break;
        if (sep !== ",") throw new Error(`bad JSON at ${i}: ${text}`);
      }
      return `[${items.join(",")}]`;
    }
    if (ch === '"') return string();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (!m) throw new Error(`bad JSON at ${i}: ${text}`);
    i += m[0].length;
    return m[0];
  };
  const string = () => {
    const start = i;
    if (text[i++] !== '"') throw new Error(`bad JSON string at ${start}: ${text}`);
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    // re-encode so that equivalent escapes compare equal
    return JSON.stringify(JSON.parse(text.slice(start, i)));
  };
  const out = value();
  ws();
  if (i !== text.length) throw new Error(`trailing data in JSON: ${text}`);
  return out;
}

// ---------- processes still using the data directory ----------
// After the server dies (even by SIGKILL, which it cannot intercept) its embedded ClickHouse
// child must not survive (e.g. the child is started with PR_SET_PDEATHSIG or watches its parent).
// We detect leftovers by scanning /proc: a process "uses" the data dir when its command line
// mentions the path, its working directory is inside it, or it holds an open file inside it.
// (fds of other users' processes are unreadable and skipped.)
function processesUsing(dirs) {
  const inside = (p) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
  const hits = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      continue; // gone
    }
    let uses = dirs.some((d) => cmdline.includes(d));
    if (!uses) {
      try {
        uses = inside(readlinkSync(`/proc/${pid}/cwd`));
      } catch {}
    }
    if (!uses) {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          try {
            if (inside(readlinkSync(`/proc/${pid}/fd/${fd}`))) {
              uses = true;
              break;
            }
          } catch {}
        }
      } catch {}
    }
    if (uses) hits.push(`${pid}: ${cmdline || "(no cmdline)"}`);
  }
  return hits;
}

async function waitNoProcessUsing(dirs, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let hits = processesUsing(dirs);
  while (hits.length && Date.now() < deadline) {
    await sleep(200);
    hits = processesUsing(dirs);
  }
  return hits;
}

// ---------- populate and snapshot ----------
const cpath = (t, d) => `/api/v2/tenants/${t}/databases/${d}/collections`;

async function ok(res, what) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  return res;
}

async function createRaw(url, tenant, database, bodyText) {
  const res = await request(url, "POST", cpath(tenant, database), {
    rawBody: bodyText,
    headers: { "content-type": "application/json" },
  });
  await ok(res, `create in ${tenant}/${database}: ${bodyText}`);
  return res.json;
}

// Builds a catalog with tenants, databases and collections (metadata of every type, cosine,
// ef_search 42, an embedding_function object, a rename, a metadata replacement, deletions).
// Returns the list of {tenant, database} scopes to snapshot and names expected absent.
async function populate(srv, tag) {
  const { url, host, port } = srv;
  const admin = new AdminClient({ host, port, ssl: false });
  const tA = uniq(`${tag}tena`);
  const tB = uniq(`${tag}tenb`);
  await admin.createTenant({ name: tA });
  await admin.createTenant({ name: tB });
  const dA1 = uniq(`${tag}dba`);
  const dA2 = uniq(`${tag}dbb`);
  const dB1 = uniq(`${tag}dbc`);
  const dGone = uniq(`${tag}dbgone`);
  await admin.createDatabase({ name: dA1, tenant: tA });
  await admin.createDatabase({ name: dA2, tenant: tA });
  await admin.createDatabase({ name: dB1, tenant: tB });
  await admin.createDatabase({ name: dGone, tenant: tA });

  const dt = "default_tenant";
  const dd = "default_database";

  // default database: plain (client), typed metadata + cosine + ef_search 42 + embedding function
  const client = new ChromaClient({ host, port });
  const plain = uniq(`${tag}plain`);
  await client.createCollection({ name: plain, embeddingFunction: null });

  const typed = uniq(`${tag}typed`);
  const typedCol = await createRaw(
    url,
    dt,
    dd,
    `{"name":"${typed}",
      "metadata":{"int":7,"zero":0,"neg":-42,"float":2.0,"frac":-0.25,"small":1e-7,"tenth":0.1,
                  "bigint":9223372036854775807,"minint":-9223372036854775808,
                  "yes":true,"no":false,"str":"hello","numstr":"2.0","unicode":"h\\u00e9llo \\ud83d\\ude00","empty":""},
      "configuration":{"hnsw":{"space":"cosine","ef_search":42},
                       "embedding_function":{"type":"known","name":"my_ef",
                                             "config":{"model":"m-1","dims":3,"opts":{"norm":true,"scale":2.0,"list":[1,"a",null]}}}}}`,
  );
  assert.equal(typedCol.configuration_json.hnsw.space, "cosine");
  assert.equal(typedCol.configuration_json.hnsw.ef_search, 42);

  const legacy = uniq(`${tag}legacy`);
  await createRaw(
    url,
    dt,
    dd,
    `{"name":"${legacy}","metadata":{"hnsw:space":"ip","hnsw:search_ef":33,"hnsw:M":24,"note":"legacy"}}`,
  );

  // deleted collection: must not come back
  const gone = uniq(`${tag}gone`);
  await client.createCollection({ name: gone, embeddingFunction: null });
  await client.deleteCollection({ name: gone });

  // tenant A / database 1 and tenant B / database 1 share a collection name
  const shared = uniq(`${tag}shared`);
  await createRaw(url, tA, dA1, `{"name":"${shared}","metadata":{"where":"A1","ratio":3.0}}`);
  await createRaw(url, tB, dB1, `{"name":"${shared}","metadata":{"where":"B1","ratio":3.5}}`);
  const scopedA1 = new ChromaClient({ host, port, tenant: tA, database: dA1 });
  await scopedA1.createCollection({
    name: uniq(`${tag}client`),
    metadata: { i: 1, f: 1.5, b: true, s: "x" },
    configuration: { hnsw: { space: "cosine", ef_search: 42 } },
    embeddingFunction: null,
  });

  // tenant A / database 2: a renamed collection, a collection whose metadata and ef_search were
  // modified, and a database-level deletion elsewhere.
  const before = uniq(`${tag}before`);
  const after = uniq(`${tag}after`);
  const renamed = await createRaw(url, tA, dA2, `{"name":"${before}","metadata":{"v":1}}`);
  await ok(
    await request(url, "PUT", `${cpath(tA, dA2)}/${renamed.id}`, { body: { new_name: after } }),
    "rename",
  );
  const modded = await createRaw(url, tA, dA2, `{"name":"${uniq(`${tag}mod`)}","metadata":{"old":1}}`);
  await ok(
    await request(url, "PUT", `${cpath(tA, dA2)}/${modded.id}`, {
      rawBody: `{"new_metadata":{"new":2.0,"flag":false},"new_configuration":{"hnsw":{"ef_search":42}}}`,
      headers: { "content-type": "application/json" },
    }),
    "modify",
  );
  await createRaw(url, tA, dGone, `{"name":"${uniq(`${tag}ingone`)}"}`);
  await admin.deleteDatabase({ name: dGone, tenant: tA });

  return {
    tenants: [dt, tA, tB],
    scopes: [
      [dt, dd],
      [tA, dA1],
      [tA, dA2],
      [tB, dB1],
    ],
    absent: [
      `/api/v2/tenants/${dt}/databases/${dd}/collections/${gone}`,
      `/api/v2/tenants/${tA}/databases/${dA2}/collections/${before}`,
      `/api/v2/tenants/${tA}/databases/${dGone}`,
    ],
    typedPath: `/api/v2/tenants/${dt}/databases/${dd}/collections/${typed}`,
  };
}

// Every catalog read as {path: "status canonical-body"}.
async function snapshot(url, plans) {
  const snap = {};
  const get = async (path) => {
    const res = await request(url, "GET", path);
    snap[path] = `${res.status} ${res.text.length ? canonicalJson(res.text) : ""}`;
    return res;
  };
  for (const plan of plans) {
    for (const t of plan.tenants) {
      await get(`/api/v2/tenants/${t}`);
      await get(`/api/v2/tenants/${t}/databases`);
    }
    for (const [t, d] of plan.scopes) {
      await get(`/api/v2/tenants/${t}/databases/${d}`);
      await get(`/api/v2/tenants/${t}/databases/${d}/collections_count`);
      const list = await get(cpath(t, d));
      assert.equal(list.status, 200);
      for (const c of list.json) {
        await get(`${cpath(t, d)}/${c.name}`);
        await get(`${cpath(t, d)}/by-id/${c.id}`);
      }
    }
    for (const path of plan.absent) await get(path);
  }
  return snap;
}

function assertTypedCollectionText(text) {
  for (const re of [
    /"float":2\.0[,}]/,
    /"frac":-0\.25[,}]/,
    /"int":7[,}]/,
    /"bigint":9223372036854775807[,}]/,
    /"minint":-9223372036854775808[,}]/,
    /"yes":true[,}]/,
    /"numstr":"2\.0"/,
    /"space":"cosine"/,
    /"ef_search":42[,}]/,
  ]) {
    assert.match(text, re);
  }
}

before(async () => {
  if (EXTERNAL) return;
  dataDir = mkdtempSync(join(tmpdir(), "chromahouse-restart-"));
  server = await new ServerProcess({ dataDir }).start();
});

after(async () => {
  if (EXTERNAL) return;
  await server?.stop("SIGKILL");
  if (dataDir) {
    const hits = await waitNoProcessUsing([dataDir, realpathSync(dataDir)], 10000);
    rmSync(dataDir, { recursive: true, force: true });
    assert.deepEqual(hits, [], "processes still using the data dir at the end");
  }
});

async function restart(signal) {
  const dirs = [dataDir, realpathSync(dataDir)];
  // sanity check of the /proc scan: the running server is found
  assert.notDeepEqual(processesUsing(dirs), [], "the /proc scan does not see the running server");
  const started = Date.now();
  const code = await server.stop(signal);
  if (signal === "SIGTERM") {
    // graceful: exits by itself (the harness escalates to SIGKILL after 30 s) with status 0
    assert.equal(code, 0, `exit status after SIGTERM (took ${Date.now() - started} ms)`);
  } else {
    assert.equal(code, signal);
  }
  const hits = await waitNoProcessUsing(dirs, 5000);
  assert.deepEqual(hits, [], `processes still using ${dataDir} after ${signal} of the server`);
  server = await new ServerProcess({ dataDir }).start();
}

const plans = [];

test("catalog survives a graceful restart (SIGTERM)", { skip: SKIP, timeout: 180000 }, async () => {
  const plan = await populate(server, "t");
  plans.push(plan);
  const typedText = (await request(server.url, "GET", plan.typedPath)).text;
  assertTypedCollectionText(typedText);
  const snap1 = await snapshot(server.url, plans);
  assert.ok(Object.keys(snap1).length >= 30, `snapshot has ${Object.keys(snap1).length} entries`);

  await restart("SIGTERM");

  const snap2 = await snapshot(server.url, plans);
  assert.deepEqual(snap2, snap1);
  assertTypedCollectionText((await request(server.url, "GET", plan.typedPath)).text);

  // the official client sees the same thing
  const client = new ChromaClient({ host: server.host, port: server.port });
  const names = (await client.listCollections()).map((c) => c.name).sort();
  assert.equal(names.length, 3);
  const typed = await client.getCollection({ name: plan.typedPath.split("/").pop() });
  assert.deepEqual(typed.configuration.embedding_function, {
    type: "known",
    name: "my_ef",
    config: { model: "m-1", dims: 3, opts: { norm: true, scale: 2, list: [1, "a", null] } },
  });
  assert.equal(typed.metadata.float, 2);
  assert.equal(typed.metadata.yes, true);
  assert.equal(typed.metadata.str, "hello");
  assert.equal(typed.metadata.unicode, "h\u00e9llo \u{1F600}");
});

test("catalog survives a crash (SIGKILL) and leaves no orphan process", { skip: SKIP, timeout: 180000 }, async () => {
  if (!server.child) server = await new ServerProcess({ dataDir }).start();
  // new data written right before the crash, plus everything from the previous test
  const plan = await populate(server, "k");
  plans.push(plan);
  const snap1 = await snapshot(server.url, plans);

  await restart("SIGKILL");

  const snap2 = await snapshot(server.url, plans);
  assert.deepEqual(snap2, snap1);
  assertTypedCollectionText((await request(server.url, "GET", plan.typedPath)).text);

  // still writable after the crash
  const client = new ChromaClient({ host: server.host, port: server.port });
  const extra = uniq("postcrash");
  await client.createCollection({ name: extra, metadata: { ok: true }, embeddingFunction: null });
  assert.deepEqual((await client.getCollection({ name: extra })).metadata, { ok: true });
});
