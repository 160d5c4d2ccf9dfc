// Bounded load test: 16 concurrent clients (12 raw HTTP clients on keep-alive connections and 4
// npm `chromadb` 3.x clients) run a mix of adds, upserts, deletes, queries, gets and counts on
// three collections for LOAD_SECONDS (default 20). Each client owns its records and keeps at
// most LIVE_CAP of them alive per collection, so the data set stops growing early in the run.
//   - no error other than documented back-pressure (429/503 with Chroma's JSON error body);
//   - read-your-writes: a get of a client's own ids returns exactly the ones it knows are alive,
//     and at the end each collection's count is what the clients' acknowledged writes left;
//   - the server's resident memory (VmRSS, sampled every second) stops growing: the maximum over
//     the last third of the run may exceed the maximum over the middle third by at most
//     RSS_TOLERANCE (5 %) plus RSS_SLACK_MIB (8 MiB; 32 MiB under AddressSanitizer, whose
//     quarantine is set to 32 MiB for this run unless ASAN_OPTIONS sets quarantine_size_mb);
//   - SIGTERM at the end: exit status 0 within a bound;
//   - no AddressSanitizer / LeakSanitizer / UBSan report in the server's output (for a server
//     built with the asan preset: CHROMAHOUSE_BIN=… ASAN_OPTIONS=detect_leaks=1:halt_on_error=1).
// Figures (requests/s and latency by kind, the RSS series) are printed as test diagnostics.
//
// Run from the repo root:  LOAD_SECONDS=20 node --test tests/e2e/load.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { ChromaClient, ChromaRateLimitError } from "chromadb";
import { ServerProcess, request, serverBinary } from "./harness.mjs";
import { assertNoProblems, collectionsPath, isSanitizerBuild, makeRandom, rssKiB } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL && "CHROMA_URL is set: this test watches its own server's memory";
const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 20);
const RAW_CLIENTS = 12;
const NPM_CLIENTS = 4;
const DIM = 32;
const LIVE_CAP = 300;
const SANITIZED = isSanitizerBuild(serverBinary);
const RSS_TOLERANCE = 0.05;
const RSS_SLACK_MIB = SANITIZED ? 32 : 8;
// ASan keeps freed memory in a quarantine (256 MiB by default) that fills over tens of seconds and
// would look like growth; a smaller one fills within the first seconds (unless set explicitly).
const SERVER_ENV =
  SANITIZED && !/quarantine_size_mb/.test(process.env.ASAN_OPTIONS ?? "")
    ? { ASAN_OPTIONS: [process.env.ASAN_OPTIONS, "quarantine_size_mb=32"].filter(Boolean).join(":") }
    : {};
const REQUEST_TIMEOUT_MS = 60000;
const EXIT_BOUND_MS = 60000;
const COLLS = collectionsPath();

// Statuses of the fetches made inside a client loop (the npm client hides them behind errors).
const fetchStatus = new AsyncLocalStorage();

/** True when the answer is documented back-pressure: 429 or 503 with exactly {error, message}. */
function isBackPressure(status, text) {
  if (status !== 429 && status !== 503) return false;
  try {
    const j = JSON.parse(text);
    return j && typeof j.error === "string" && typeof j.message === "string" && Object.keys(j).length === 2;
  } catch {
    return false;
  }
}

const vector = (rand) => Array.from({ length: DIM }, () => Math.fround(rand.rng() * 2 - 1));

class Stats {
  constructor() {
    this.kinds = {}; // kind → {n, ms: []}
    this.backPressure = {}; // "kind status" → n
    this.errors = [];
  }
  ok(kind, ms) {
    const k = (this.kinds[kind] ??= { n: 0, ms: [] });
    k.n++;
    k.ms.push(ms);
  }
  pressure(kind, status) {
    const key = `${kind} ${status}`;
    this.backPressure[key] = (this.backPressure[key] ?? 0) + 1;
  }
  error(text) {
    this.errors.push(text);
  }
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN);

/**
 * A client's own records in one collection: id → group (metadata g); `uncertain` holds ids whose
 * last write got back-pressure (it may or may not have happened).
 */
class OwnRecords {
  constructor(prefix) {
    this.prefix = prefix;
    this.live = new Map();
    this.uncertain = new Set();
    this.next = 0;
  }
  newIds(n) {
    return Array.from({ length: n }, () => `${this.prefix}-${this.next++}`);
  }
  pick(rand, n) {
    const all = [...this.live.keys()];
    const out = new Set();
    while (out.size < Math.min(n, all.length)) out.add(all[rand.rint(all.length)]);
    return [...out];
  }
  body(rand, ids, client) {
    return {
      ids,
      embeddings: ids.map(() => vector(rand)),
      documents: ids.map((id) => `document of ${id} w${rand.rint(10)}`),
      metadatas: ids.map((id) => ({ c: client, g: Number(id.split("-").pop()) % 8, v: rand.rint(1000), t: `t${rand.rint(5)}` })),
    };
  }
}

/** Picks the next operation: adds while below the cap, deletes when at it, reads in between. */
function nextKind(rand, own) {
  const r = rand.rng();
  let kind = r < 0.2 ? "add" : r < 0.35 ? "upsert" : r < 0.45 ? "delete" : r < 0.7 ? "query" : r < 0.88 ? "get" : "count";
  if (kind === "add" && own.live.size + 20 > LIVE_CAP) kind = "delete";
  if ((kind === "delete" || kind === "upsert") && own.live.size < 30) kind = "add";
  return kind;
}

/** One raw-HTTP client (fetch, keep-alive): loops until `deadline`. */
async function rawClient(c, url, coll, own, stats, deadline) {
  const rand = makeRandom(0x10ad00 + c);
  const base = `${COLLS}/${coll.id}`;
  const call = async (kind, method, path, body, okStatus = 200) => {
    const started = Date.now();
    let res;
    try {
      res = await request(url, method, `${base}/${path}`, { body, timeoutMs: REQUEST_TIMEOUT_MS });
    } catch (err) {
      stats.error(`${kind}: ${err.name === "TimeoutError" ? "no answer within the timeout" : err.cause?.code ?? err.message}`);
      return null;
    }
    if (res.status === okStatus) {
      stats.ok(kind, Date.now() - started);
      return res;
    }
    if (isBackPressure(res.status, res.text)) stats.pressure(kind, res.status);
    else stats.error(`${kind} → ${res.status} ${res.text.slice(0, 200)}`);
    return undefined;
  };
  while (Date.now() < deadline) {
    const kind = nextKind(rand, own);
    if (kind === "add" || kind === "upsert") {
      const ids = kind === "add" ? own.newIds(20) : [...own.pick(rand, 10), ...own.newIds(5)];
      const res = await call(kind, "POST", kind, own.body(rand, ids, c), kind === "add" ? 201 : 200);
      for (const id of ids) {
        if (res) {
          own.live.set(id, true);
          own.uncertain.delete(id);
        } else own.uncertain.add(id);
      }
    } else if (kind === "delete") {
      let ids;
      let body;
      if (rand.rint(4) === 0) {
        // by filter: this client's records of one group
        const g = rand.rint(8);
        ids = [...own.live.keys()].filter((id) => Number(id.split("-").pop()) % 8 === g);
        body = { where: { $and: [{ c: { $eq: c } }, { g: { $eq: g } }] } };
      } else {
        ids = own.pick(rand, 10);
        body = { ids };
      }
      const res = await call(kind, "POST", "delete", body);
      for (const id of ids) {
        own.live.delete(id);
        if (!res) own.uncertain.add(id);
      }
    } else if (kind === "query") {
      const n = 1 + rand.rint(2);
      const body = { query_embeddings: Array.from({ length: n }, () => vector(rand)), n_results: 10, include: ["distances", "metadatas"] };
      if (rand.rint(2)) body.where = { g: { $in: [rand.rint(8), rand.rint(8)] } };
      if (rand.rint(4) === 0) body.where_document = { $contains: `w${rand.rint(10)}` };
      const res = await call(kind, "POST", "query", body);
      if (res && (!Array.isArray(res.json?.ids) || res.json.ids.length !== n)) stats.error(`query: answer shape ${res.text.slice(0, 200)}`);
    } else if (kind === "get") {
      if (rand.rint(3) === 0) {
        const res = await call(kind, "POST", "get", { where: { c: { $eq: c } }, limit: 20, include: ["documents"] });
        if (res && !(res.json.ids.length <= 20)) stats.error(`get with limit 20 returned ${res.json.ids.length} ids`);
      } else {
        // read-your-writes on own ids (plus one that never existed)
        const ids = own.pick(rand, 5);
        const res = await call(kind, "POST", "get", { ids: [...ids, `${own.prefix}-never`], include: ["metadatas"] });
        if (res && !ids.some((id) => own.uncertain.has(id))) {
          const got = [...res.json.ids].sort().join(",");
          const want = ids.filter((id) => own.live.has(id)).sort().join(",");
          if (got !== want) stats.error(`get of own ids: got [${got}], expected [${want}]`);
        }
      }
    } else {
      const res = await call(kind, "GET", "count");
      if (res && !Number.isInteger(res.json)) stats.error(`count: ${res.text}`);
    }
  }
}

/** One npm chromadb 3.x client (base64 embeddings): loops until `deadline`. */
async function npmClient(c, server, coll, own, stats, deadline) {
  const rand = makeRandom(0xc11e00 + c);
  const client = new ChromaClient({ host: server.host, port: server.port });
  const col = await client.getOrCreateCollection({ name: coll.name, embeddingFunction: null });
  const call = (kind, fn) =>
    fetchStatus.run({}, async () => {
      const started = Date.now();
      try {
        const value = await fn();
        stats.ok(kind, Date.now() - started);
        return { value };
      } catch (err) {
        const seen = fetchStatus.getStore();
        if (err instanceof ChromaRateLimitError || (seen.status && isBackPressure(seen.status, seen.text))) {
          stats.pressure(`npm ${kind}`, seen.status ?? 429);
        } else {
          stats.error(`npm ${kind}: ${err.name}: ${err.message} (HTTP ${seen.status ?? "-"})`);
        }
        return null;
      }
    });
  while (Date.now() < deadline) {
    const kind = nextKind(rand, own);
    if (kind === "add" || kind === "upsert") {
      const ids = kind === "add" ? own.newIds(20) : [...own.pick(rand, 10), ...own.newIds(5)];
      const b = own.body(rand, ids, c);
      const res = await call(kind, () => col[kind]({ ids, embeddings: b.embeddings, documents: b.documents, metadatas: b.metadatas }));
      for (const id of ids) {
        if (res) {
          own.live.set(id, true);
          own.uncertain.delete(id);
        } else own.uncertain.add(id);
      }
    } else if (kind === "delete") {
      const ids = own.pick(rand, 10);
      const res = await call(kind, () => col.delete({ ids }));
      for (const id of ids) {
        own.live.delete(id);
        if (!res) own.uncertain.add(id);
      }
    } else if (kind === "query") {
      await call(kind, () => col.query({ queryEmbeddings: [vector(rand)], nResults: 10, where: { g: { $gte: rand.rint(8) } } }));
    } else if (kind === "get" && own.live.size > 0) {
      const ids = own.pick(rand, 5);
      const res = await call(kind, () => col.get({ ids }));
      if (res && !ids.some((id) => own.uncertain.has(id))) {
        const got = [...res.value.ids].sort().join(",");
        const want = ids.filter((id) => own.live.has(id)).sort().join(",");
        if (got !== want) stats.error(`npm get of own ids: got [${got}], expected [${want}]`);
      }
    } else {
      await call("count", () => col.count());
    }
  }
}

test(`bounded mixed load (${LOAD_SECONDS} s, ${RAW_CLIENTS + NPM_CLIENTS} clients): no errors, memory stops growing, clean exit`,
  { skip: SKIP, timeout: (LOAD_SECONDS + 150) * 1000 }, async (t) => {
    // Access-log lines at info level would be most of the output; warnings and sanitizer
    // reports are what this test reads.
    const testStarted = Date.now();
    const server = new ServerProcess({ args: ["--log-level", "warn"], env: SERVER_ENV });
    const origFetch = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const res = await origFetch(input, init);
      const seen = fetchStatus.getStore();
      if (seen) {
        seen.status = res.status;
        seen.text = res.ok ? "" : await res.clone().text();
      }
      return res;
    };
    try {
      await server.start();
      const startMs = Date.now() - testStarted;
      t.diagnostic(`server binary ${serverBinary}${SANITIZED ? ` (AddressSanitizer build, ASAN_OPTIONS=${SERVER_ENV.ASAN_OPTIONS ?? process.env.ASAN_OPTIONS ?? ""})` : ""}`);
      const colls = [];
      for (const space of ["l2", "cosine", "ip"]) {
        const res = await request(server.url, "POST", COLLS, { body: { name: `load-${space}`, configuration: { hnsw: { space } } } });
        assert.equal(res.status, 200, res.text);
        colls.push(res.json);
      }
      const stats = new Stats();
      const owners = []; // {coll, own}
      const pid = server.child.pid;
      const rss = [{ t: 0, kib: rssKiB(pid) }];
      const started = Date.now();
      const deadline = started + LOAD_SECONDS * 1000;
      const sampler = setInterval(() => {
        const kib = rssKiB(pid);
        if (kib !== null) rss.push({ t: (Date.now() - started) / 1000, kib });
      }, 1000);
      const clients = [];
      for (let c = 0; c < RAW_CLIENTS + NPM_CLIENTS; c++) {
        const coll = colls[c % colls.length];
        const own = new OwnRecords(`c${c}`);
        owners.push({ coll, own });
        clients.push(c < RAW_CLIENTS
          ? rawClient(c, server.url, coll, own, stats, deadline)
          : npmClient(c, server, coll, own, stats, deadline));
      }
      await Promise.all(clients);
      const elapsed = (Date.now() - started) / 1000;
      clearInterval(sampler);
      t.diagnostic(`server start ${startMs} ms, set-up ${started - testStarted - startMs} ms, load ${elapsed.toFixed(1)} s`);

      // --- figures
      let total = 0;
      for (const [kind, k] of Object.entries(stats.kinds).sort()) {
        const ms = k.ms.sort((a, b) => a - b);
        total += k.n;
        t.diagnostic(`${kind.padEnd(8)} ${String(k.n).padStart(6)} ok  ${(k.n / elapsed).toFixed(1).padStart(7)}/s  p50 ${pct(ms, 0.5)} ms  p99 ${pct(ms, 0.99)} ms`);
      }
      t.diagnostic(`total ${total} ok requests in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)}/s); back-pressure ${JSON.stringify(stats.backPressure)}; errors ${stats.errors.length}`);
      const mib = (kib) => (kib / 1024).toFixed(1);
      const third = (k) => rss.filter((s) => s.t >= (k * elapsed) / 3 && (k === 2 || s.t < ((k + 1) * elapsed) / 3));
      const maxOf = (xs) => Math.max(...xs.map((s) => s.kib));
      const [first, middle, last] = [third(0), third(1), third(2)];
      const maxMiddle = maxOf(middle);
      const maxLast = maxOf(last);
      const limit = maxMiddle * (1 + RSS_TOLERANCE) + RSS_SLACK_MIB * 1024;
      t.diagnostic(`RSS MiB: start ${mib(rss[0].kib)}, max first third ${mib(maxOf(first))}, max middle third ${mib(maxMiddle)}, max last third ${mib(maxLast)} (limit ${mib(limit)}), end ${mib(rss[rss.length - 1].kib)}; ${rss.length} samples`);
      t.diagnostic(`RSS series MiB: ${rss.map((s) => mib(s.kib)).join(" ")}`);

      const failures = [];
      if (stats.errors.length) {
        failures.push(`${stats.errors.length} errors (other than 429/503 back-pressure):\n    ${stats.errors.slice(0, 15).join("\n    ")}`);
      }
      if (total < 100) failures.push(`only ${total} successful requests in ${elapsed.toFixed(1)} s`);
      if (middle.length === 0 || last.length === 0) failures.push(`too few RSS samples (${rss.length})`);
      else if (maxLast > limit) {
        failures.push(`resident memory still growing: max ${mib(maxLast)} MiB over the last third > ${mib(maxMiddle)} MiB over the middle third + ${RSS_TOLERANCE * 100} % + ${RSS_SLACK_MIB} MiB`);
      }

      // --- the final state is what the acknowledged writes left
      for (const coll of colls) {
        const mine = owners.filter((o) => o.coll.id === coll.id);
        const live = mine.reduce((n, o) => n + o.own.live.size, 0);
        const uncertain = mine.reduce((n, o) => n + [...o.own.uncertain].filter((id) => !o.own.live.has(id)).length, 0);
        const count = await request(server.url, "GET", `${COLLS}/${coll.id}/count`, { timeoutMs: REQUEST_TIMEOUT_MS });
        t.diagnostic(`${coll.name}: count ${count.text}, ${live} live records known to the clients${uncertain ? ` (+ up to ${uncertain} uncertain)` : ""}`);
        if (count.status !== 200 || count.json < live || count.json > live + uncertain) {
          failures.push(`${coll.name}: count ${count.status} ${count.text}, expected ${live}${uncertain ? `..${live + uncertain}` : ""}`);
        }
      }

      // --- graceful stop, exit status, sanitizer reports
      const stopAt = Date.now();
      server.signal("SIGTERM");
      const exit = await server.waitForExit(EXIT_BOUND_MS);
      t.diagnostic(`exit ${JSON.stringify(exit)} ${Date.now() - stopAt} ms after SIGTERM`);
      if (!exit) failures.push(`no exit within ${EXIT_BOUND_MS} ms of SIGTERM`);
      else if (exit.code !== 0) failures.push(`exit ${JSON.stringify(exit)} after SIGTERM, expected code 0`);
      if (server.sanitizerReport) failures.push(`sanitizer report in the server's output:\n${server.sanitizerReport.slice(0, 6000)}`);
      const warnings = server.log.split("\n").filter((l) => /\[(warning|error|critical)\]/.test(l));
      t.diagnostic(`${warnings.length} warning/error lines in the server log${warnings.length ? `, first: ${warnings[0]}` : ""}`);
      assertNoProblems(failures, "load test", 20);
    } finally {
      globalThis.fetch = origFetch;
      await server.cleanup();
    }
  });
