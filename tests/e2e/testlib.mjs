// Helpers shared by the end-to-end test files (harness.mjs starts the server; this module holds
// what the tests themselves repeat): unique names, the assertions on raw responses and the fake
// embedding functions of the client tests, the seeded PRNG, body mutations and case runner of
// the hostile-input tests (bad_input*.test.mjs), and the process probes and known-content records
// of the fault, kill, shutdown and load tests.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { request } from "./harness.mjs";

// True when the tests run against an already running server (CHROMA_URL), e.g. the reference Chroma.
export const EXTERNAL = Boolean(process.env.CHROMA_URL);
export const V2 = "/api/v2";

// ---------------------------------------------------------------------------------------------
// Client tests: names, raw-response assertions, fixtures

/**
 * Unique names for one run: {runId, uniq, nextSeq}. uniq(prefix) gives valid (3-512 chars of
 * [a-zA-Z0-9._-], alphanumeric ends) names `${prefix}-${runId}-${n}`; nextSeq() returns the
 * shared counter and then advances it (for names built another way).
 */
export function makeUniq() {
  const runId = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  let seq = 0;
  return { runId, uniq: (prefix) => `${prefix}-${runId}-${++seq}`, nextSeq: () => seq++ };
}

/** The 32-hex-digit chroma-trace-id header sent with error responses. */
export const TRACE_RE = /^[0-9a-f]{32}$/;

/** Path of the collections of a database (by default the default tenant's default database). */
export const collectionsPath = (tenant = "default_tenant", database = "default_database") =>
  `${V2}/tenants/${tenant}/databases/${database}/collections`;

/** Asserts that `promise` rejects with an instance of `cls`; optionally the message matches `re`. */
export async function rejectsWith(promise, cls, re) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
    if (re) assert.match(err.message, re);
    return true;
  });
}

/**
 * Asserts an error response of request(): the status, a JSON body with exactly {error, message},
 * the error name, a JSON content type and a chroma-trace-id header; optionally the message matches
 * `messageRe`, and with `stringMessage` the message must be a string even when no `messageRe` is given.
 */
export function assertErrorResponse(res, status, errorName, messageRe, { stringMessage = false } = {}) {
  assert.equal(res.status, status, `status (body: ${res.text})`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.ok(res.json && typeof res.json === "object", `JSON body expected, got ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ["error", "message"]);
  assert.equal(res.json.error, errorName);
  if (stringMessage) assert.equal(typeof res.json.message, "string");
  if (messageRe) assert.match(res.json.message, messageRe);
  assert.match(res.headers.get("chroma-trace-id") ?? "", TRACE_RE);
}

/** Asserts a success response of request(): the status, a JSON content type, no chroma-trace-id. */
export function assertOkJson(res, status = 200) {
  assert.equal(res.status, status, `status (body: ${res.text})`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(res.headers.get("chroma-trace-id"), null, "chroma-trace-id only on errors");
}

/**
 * A fake "known" embedding function class for the chromadb 3.x client (register it with
 * registerEmbeddingFunction(name, cls) so the client can rebuild it from the echoed configuration).
 * It never calls out (no network, no model): each text is embedded as embed(text).
 */
export function fakeEmbeddingFunctionClass({ name, defaultSpace, embed }) {
  return class FakeEmbeddingFunction {
    name = name;
    constructor(config = {}) {
      this.config = config;
    }
    async generate(texts) {
      return texts.map(embed);
    }
    getConfig() {
      return this.config;
    }
    defaultSpace() {
      return defaultSpace;
    }
    supportedSpaces() {
      return ["cosine", "l2", "ip"];
    }
    static buildFromConfig(config) {
      return new FakeEmbeddingFunction(config);
    }
  };
}

/** A toy text embedding: [length of the text, count of "a", 1]. */
export const letterCountEmbedding = (t) => [t.length, [...t].filter((c) => c === "a").length, 1];

/** The query tests' fixture: p1 (1,0), p2 (0,2), p3 (3,4), p4 (-2,0), documents "one"…"four", metadata {n}. */
export function fourPointRecords() {
  return {
    ids: ["p1", "p2", "p3", "p4"],
    embeddings: [
      [1, 0],
      [0, 2],
      [3, 4],
      [-2, 0],
    ],
    documents: ["one", "two", "three", "four"],
    metadatas: [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
  };
}

// ---------------------------------------------------------------------------------------------
// Hostile-input tests: seed, PRNG, names

/** The PRNG seed: BAD_INPUT_SEED if set, else `fallback` (never 0). */
export const badInputSeed = (fallback) => (Number(process.env.BAD_INPUT_SEED ?? fallback) >>> 0) || 1;

/** Cases marked refBug are skipped against an external server unless BAD_INPUT_NO_SKIP=1. */
export const SKIP_REF_BUGS = EXTERNAL && !process.env.BAD_INPUT_NO_SKIP;

/** Deterministic PRNG (mulberry32): returns a function giving floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded random source: rint(n) in 0..n-1, rrange(lo, hi) inclusive, pick(array). */
export function makeRandom(seed) {
  const rng = mulberry32(seed);
  const rint = (n) => Math.floor(rng() * n);
  const rrange = (lo, hi) => lo + rint(hi - lo + 1);
  const pick = (arr) => arr[rint(arr.length)];
  return { rng, rint, rrange, pick };
}

/**
 * TAG (6 characters from the clock) and uniq(prefix) = `${prefix}-${TAG}-${4-digit counter}`. Names
 * stay unique per run but have a fixed length, so generated bodies have the same length in every
 * run and the PRNG picks the same mutation positions.
 */
export function taggedNames() {
  const TAG = Date.now().toString(36).slice(-6).padStart(6, "0");
  let seq = 0;
  return { TAG, uniq: (p) => `${p}-${TAG}-${String(seq++).padStart(4, "0")}` };
}

// ---------------------------------------------------------------------------------------------
// Hostile-input tests: expectations and small utilities

/** The `error` name each error status must carry (API.md §1.1). */
export const ERROR_NAME = {
  400: "InvalidArgumentError",
  403: "ChromaError",
  404: "NotFoundError",
  409: "ChromaError",
  413: "ChromaError",
  415: "ChromaError",
  422: "ChromaError",
};

/** Message checks per case `kind`, applied when the status is the kind's status. */
export const KIND = {
  parse: { status: 400, test: (m) => m.startsWith("Failed to parse the request body as JSON: "), text: 'message starting "Failed to parse the request body as JSON: "' },
  deser: { status: 422, test: (m) => m.startsWith("Failed to deserialize the JSON body into the target type: "), text: 'message starting "Failed to deserialize the JSON body into the target type: "' },
  query: { status: 400, test: (m) => m.startsWith("Failed to deserialize query string: "), text: 'message starting "Failed to deserialize query string: "' },
  ct: { status: 415, test: (m) => m.includes("Content-Type: application/json"), text: 'message mentioning "Content-Type: application/json"' },
};

/** `inner` wrapped in n levels of `open` … `close`. */
export function deep(n, open, close, inner = "") {
  return open.repeat(n) + inner + close.repeat(n);
}

/** Sets obj[path[0]][path[1]]… = value, replacing non-objects on the way by {}; returns obj. */
export function setPath(obj, path, value) {
  let o = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (o[path[i]] === null || typeof o[path[i]] !== "object") o[path[i]] = {};
    o = o[path[i]];
  }
  o[path[path.length - 1]] = value;
  return obj;
}

/** The bytes a case sends: `raw` (string or Buffer) as is, else `json` serialized, else none. */
export function bodyBuffer(c) {
  if (c.raw !== undefined) return Buffer.isBuffer(c.raw) ? c.raw : Buffer.from(c.raw, "utf8");
  if (c.json !== undefined) return Buffer.from(JSON.stringify(c.json), "utf8");
  return undefined;
}

/** A JSON-quoted latin1 preview of at most `max` bytes. */
export function preview(buf, max = 160) {
  if (buf === undefined) return "";
  const s = JSON.stringify(buf.subarray(0, max).toString("latin1"));
  return buf.length > max ? `${s}…(${buf.length} bytes)` : s;
}

/** One-line description of a case's request (for failure reports). */
export function describeReq(c) {
  const b = bodyBuffer(c);
  const ct = b === undefined ? "" : c.ct === null ? " [no content-type]" : ` [ct ${JSON.stringify(c.ct ?? "application/json")}]`;
  const path = c.path.length > 200 ? `${c.path.slice(0, 200)}…(${c.path.length} chars)` : c.path;
  return `${c.method} ${path}${ct}${b === undefined ? "" : ` body=${preview(b)}`}`;
}

/** One-line description of a response of exec() (for failure reports). */
export function describeRes(res) {
  if (res.dropped) return "(no response)";
  const t = res.text.length > 200 ? `${res.text.slice(0, 200)}…` : res.text;
  return `${res.status} ${JSON.stringify(t)}`;
}

// ---------------------------------------------------------------------------------------------
// Hostile-input tests: generated mutations of valid bodies

/**
 * One random mutation of `buf` (truncation, byte flips, inserted garbage bytes or `garbage` tokens,
 * a deleted range, a duplicated slice, a byte swap, a replaced structural character), drawn from
 * `rand` (makeRandom). Returns {op, buf, truncated?}.
 */
export function mutateBuffer(buf, rand, garbage) {
  const { rint, rrange, pick } = rand;
  const op = rint(7);
  const n = buf.length;
  switch (op) {
    case 0: {
      // truncation at a random point
      const k = rrange(1, n - 1);
      return { op: `truncate@${k}`, buf: buf.subarray(0, k), truncated: true };
    }
    case 1: {
      // 1–3 random byte flips
      const out = Buffer.from(buf);
      const flips = rrange(1, 3);
      const at = [];
      for (let i = 0; i < flips; i++) {
        const pos = rint(n);
        out[pos] = rint(256);
        at.push(pos);
      }
      return { op: `flip@${at.join(",")}`, buf: out };
    }
    case 2: {
      // insert garbage bytes or tokens
      const pos = rint(n + 1);
      let ins;
      if (rint(2)) {
        ins = Buffer.from(Array.from({ length: rrange(1, 8) }, () => rint(256)));
      } else {
        ins = Buffer.from(Array.from({ length: rrange(1, 3) }, () => pick(garbage)).join(""), "utf8");
      }
      return { op: `insert@${pos}`, buf: Buffer.concat([buf.subarray(0, pos), ins, buf.subarray(pos)]) };
    }
    case 3: {
      // delete a byte range
      const a = rint(n);
      const len = rrange(1, Math.min(12, n - a));
      return { op: `delete@${a}+${len}`, buf: Buffer.concat([buf.subarray(0, a), buf.subarray(a + len)]) };
    }
    case 4: {
      // duplicate a slice somewhere else
      const a = rint(n);
      const len = rrange(1, Math.min(16, n - a));
      const pos = rint(n + 1);
      const slice = buf.subarray(a, a + len);
      return { op: `dup@${a}+${len}->${pos}`, buf: Buffer.concat([buf.subarray(0, pos), slice, buf.subarray(pos)]) };
    }
    case 5: {
      // swap two bytes
      const out = Buffer.from(buf);
      const i = rint(n);
      const j = rint(n);
      [out[i], out[j]] = [out[j], out[i]];
      return { op: `swap@${i},${j}`, buf: out };
    }
    default: {
      // replace a structural character with another one
      const structural = [];
      for (let i = 0; i < n; i++) if ('{}[]:,"'.includes(String.fromCharCode(buf[i]))) structural.push(i);
      const pos = pick(structural);
      const out = Buffer.from(buf);
      out[pos] = pick("{}[]:,\"' ".split("")).charCodeAt(0);
      return { op: `struct@${pos}`, buf: out };
    }
  }
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Mutates a random one of `bases` (Buffers) with mutateBuffer and tries to parse the result:
 * returns {bi, op, buf, truncated?, isJson, parsed}. With `strictUtf8` bytes that are not UTF-8
 * make it "not JSON"; otherwise they are decoded leniently (as U+FFFD) first.
 */
export function mutateOneOf(bases, rand, { garbage, strictUtf8 = false }) {
  const bi = rand.rint(bases.length);
  const m = mutateBuffer(bases[bi], rand, garbage);
  let parsed;
  let isJson = true;
  try {
    parsed = JSON.parse(strictUtf8 ? STRICT_UTF8.decode(m.buf) : m.buf.toString("utf8"));
  } catch {
    isJson = false;
  }
  return { bi, ...m, isJson, parsed };
}

/**
 * The expectation of a mutated body: a truncated object is never JSON (exactly 400); other text
 * that is not JSON is 400 (422 allowed: a streaming parser may hit a type error first); JSON may
 * happen to be valid, so any of `anyOk`.
 */
export function mutationExpectation(m, anyOk) {
  if (m.truncated) return { expect: [400], kind: "parse" };
  if (!m.isJson) return { expect: [400, 422], kind: "parse" };
  return { expect: anyOk };
}

/**
 * A random one of `bases` (Buffers of JSON without escaped quotes) with an invalid UTF-8 sequence
 * spliced in after the opening quote of a random string: {q, bytes, raw}; null when
 * skip(text before that quote) says the string is not one the server parses.
 */
export function spliceInvalidUtf8(bases, rand, skip = () => false) {
  const base = bases[rand.rint(bases.length)];
  const quotes = [];
  for (let j = 0; j < base.length; j++) if (base[j] === 0x22) quotes.push(j);
  // quotes come in pairs: pick a string's opening quote
  const q = quotes[2 * rand.rint(quotes.length / 2)];
  if (skip(base.subarray(0, q).toString("utf8"))) return null;
  const bytes = rand.pick([[0xff], [0xc3], [0xe2, 0x82], [0xc0, 0x80], [0xed, 0xb0, 0x80], [0x80, 0x80]]);
  return { q, bytes, raw: Buffer.concat([base.subarray(0, q + 1), Buffer.from(bytes), base.subarray(q + 1)]) };
}

// ---------------------------------------------------------------------------------------------
// Hostile-input tests: sending cases and checking the answers

/**
 * A case runner for one server. A case is {label, method, path, raw | json, ct?, headers?,
 * expect: [statuses], kind?, msg?, verify?, effect?, refBug?}. Options: url() gives the server's
 * base URL; seed (for reports); stats (counters it updates: sent, passed, failed, skipped);
 * errorNames (status → required `error` name); emptyOk (statuses that may have an empty body);
 * maxShown (failures listed per group); afterGroup() (an extra problem check after each group,
 * run when the heartbeat is fine).
 */
export function createCaseRunner({
  url,
  seed,
  stats = { sent: 0, passed: 0, failed: 0, skipped: 0 },
  errorNames = ERROR_NAME,
  emptyOk,
  maxShown = 30,
  afterGroup,
}) {
  /** Sends a case; returns request()'s answer, or {dropped} when there is no response. */
  async function exec(c) {
    const headers = { ...(c.headers ?? {}) };
    const rawBody = bodyBuffer(c);
    // A Buffer body makes fetch send no content-type of its own; c.ct === null sends none at all.
    if (rawBody !== undefined && c.ct !== null) headers["content-type"] = c.ct ?? "application/json";
    stats.sent++;
    try {
      return await request(url(), c.method, c.path, { rawBody, headers });
    } catch (err) {
      return { dropped: String(err.cause?.code ?? err.cause?.message ?? err.message) };
    }
  }

  /** The problems of one answer: status, no 5xx, error-body shape, names and messages, verify(). */
  function check(c, res) {
    if (res.dropped) return [`connection dropped / no response (${res.dropped})`];
    const p = [];
    const { status, text } = res;
    // A case may name the one 5xx answer Chroma itself gives for it (`c.chromaServerError`, a
    // regular expression over the body): the server must give exactly that one.
    if (status >= 500 && !(c.chromaServerError && c.chromaServerError.test(text))) {
      p.push(`server error ${status}`);
    }
    if (!c.expect.includes(status)) p.push(`status ${status}, expected ${c.expect.join("|")}`);
    const ctype = res.headers.get("content-type") ?? "";
    if (status >= 400) {
      if (text === "") {
        if (!emptyOk.has(status)) p.push(`empty error body with status ${status}`);
        if (status === 405 && !res.headers.get("allow")) p.push("405 without an allow header");
      } else {
        if (c.kind === "empty") p.push("expected an empty body (unknown route / wrong method)");
        const j = res.json;
        if (!j || typeof j !== "object" || Array.isArray(j)) {
          p.push("error body is not a JSON object");
        } else {
          const keys = Object.keys(j).sort().join(",");
          if (keys !== "error,message") p.push(`error body keys [${keys}], expected exactly [error,message]`);
          if (typeof j.error !== "string" || typeof j.message !== "string") p.push("error/message are not strings");
          const want = errorNames[status];
          if (want && j.error !== want) p.push(`error name ${JSON.stringify(j.error)}, expected ${want}`);
          const k = KIND[c.kind];
          if (k && status === k.status && typeof j.message === "string" && !k.test(j.message)) p.push(`expected ${k.text}`);
          if (c.msg && status === c.expect[0] && typeof j.message === "string" && !c.msg.test(j.message)) p.push(`expected ${c.msg.text}`);
        }
        if (!ctype.toLowerCase().startsWith("application/json")) p.push(`error content-type ${JSON.stringify(ctype)}`);
      }
    } else if (status < 300) {
      if (res.json === undefined) p.push("success body is not JSON");
      else if (c.verify) {
        const v = c.verify(res.json);
        if (v) p.push(v);
      }
    }
    return p;
  }

  /** null when the server answers its heartbeat, else what is wrong. */
  async function heartbeatProblem() {
    const hb = await exec({ method: "GET", path: `${V2}/heartbeat` });
    if (hb.dropped) return `server not reachable after this group (${hb.dropped})`;
    if (hb.status !== 200 || typeof hb.json?.["nanosecond heartbeat"] !== "number") return `heartbeat answered ${describeRes(hb)}`;
    return null;
  }

  /** Runs a list of cases in order; reports every failing case (up to maxShown) in one assertion. */
  async function runCases(t, cases) {
    const failures = [];
    const histogram = {};
    let ran = 0;
    let skipped = 0;
    for (const c of cases) {
      if (SKIP_REF_BUGS && c.refBug) {
        skipped++;
        continue;
      }
      const res = await exec(c);
      ran++;
      const key = res.dropped ? "dropped" : String(res.status);
      histogram[key] = (histogram[key] ?? 0) + 1;
      if (c.effect && !res.dropped && res.status >= 200 && res.status < 300) c.effect();
      const problems = check(c, res);
      if (problems.length) {
        failures.push(`[${c.label}]\n      ${describeReq(c)}\n      -> ${problems.join("; ")}\n      got ${describeRes(res)}`);
      }
    }
    stats.passed += ran - failures.length;
    stats.failed += failures.length;
    stats.skipped += skipped;
    const hb = await heartbeatProblem();
    const extra = hb || !afterGroup ? null : await afterGroup();
    const statuses = Object.entries(histogram).map(([k, v]) => `${k}×${v}`).join(" ");
    t.diagnostic(`${ran} cases run, ${ran - failures.length} passed, ${failures.length} failed, ${skipped} skipped (reference bugs); statuses ${statuses}`);
    if (hb) failures.push(hb);
    if (extra) failures.push(extra);
    if (failures.length) {
      const shown = failures.slice(0, maxShown).join("\n");
      assert.fail(`${failures.length} of ${ran} cases failed (seed 0x${seed.toString(16)}):\n${shown}${failures.length > maxShown ? `\n… and ${failures.length - maxShown} more` : ""}`);
    }
  }

  /** A setup request that must answer `status`; returns the JSON body. */
  async function must(method, path, body, status = 200) {
    const res = await request(url(), method, path, { body });
    stats.sent++;
    assert.equal(res.status, status, `setup ${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.json;
  }

  /** A final-check request that must answer `status`; returns the JSON body. */
  async function ok(method, path, body, status = 200) {
    stats.sent++;
    const res = await request(url(), method, path, { body });
    assert.equal(res.status, status, `${method} ${path} → ${res.status} ${res.text.slice(0, 300)}`);
    return res.json;
  }

  /** Asserts that the server answers its heartbeat. */
  async function assertAlive() {
    const hb = await heartbeatProblem();
    assert.equal(hb, null, hb ?? "");
  }

  return { stats, exec, check, heartbeatProblem, runCases, must, ok, assertAlive };
}

// ---------------------------------------------------------------------------------------------
// Fault, shutdown and load tests: processes, polling, records with known content

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (sync or async) every `everyMs` until it returns a truthy value; throws after timeoutMs. */
export async function waitFor(fn, timeoutMs, what, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Polls `fn(last)` every `everyMs` until it returns a truthy value, which it returns; on timeout
 * fails the test with `what` and the text `fn` last left in `last.text` (what it saw).
 */
export async function until(what, fn, timeoutMs, everyMs = 50) {
  const start = Date.now();
  const last = { text: "" };
  for (;;) {
    const v = await fn(last);
    if (v) return v;
    if (Date.now() - start > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last.text ? `\n${last.text}` : ""}`);
    }
    await sleep(everyMs);
  }
}

/** PIDs of the clickhouse-server processes started with a config under `dataDir` (the embedded one). */
export function clickhousePids(dataDir) {
  const pids = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmd.includes("clickhouse-server") && cmd.includes(join(dataDir, "clickhouse"))) pids.push(Number(pid));
  }
  return pids;
}

/** The process state letter of /proc/<pid>/stat (R, S, T = stopped, Z = zombie, …), or null when gone. */
export function processState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return null;
  }
}

/** Resident memory of a process in KiB (VmRSS of /proc/<pid>/status), or null when it is gone. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** True when `binary` is built with AddressSanitizer (its runtime is linked in). */
export function isSanitizerBuild(binary) {
  try {
    return readFileSync(binary).includes("__asan_init");
  } catch {
    return false;
  }
}

/** The float32 value nearest to x (what the server stores and echoes for embeddings). */
export const f32 = (x) => Math.fround(x);

/**
 * Deterministic record content for (id, version): a `dim`-dimensional embedding of float32 values
 * (exactly representable, so echoed values compare exactly), a document with non-ASCII text, and
 * metadata of every type (int, float, string, bool).
 */
export function knownRecord(id, version, dim) {
  let h = 2166136261;
  for (const c of `${id}#${version}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const rand = mulberry32(h || 1);
  const embedding = Array.from({ length: dim }, () => f32(rand() * 2 - 1));
  return {
    id,
    embedding,
    document: `doc ${id} v${version} — ünïcødé ${h.toString(16)}`,
    metadata: { v: version, h: h % 100000, f: (h % 1000) / 8, s: `s-${id}-${version}`, odd: h % 2 === 1 },
  };
}

/** An add/upsert body for records made by knownRecord. */
export function recordsBody(records) {
  return {
    ids: records.map((r) => r.id),
    embeddings: records.map((r) => r.embedding),
    documents: records.map((r) => r.document),
    metadatas: records.map((r) => r.metadata),
  };
}

/** Differences between a get-response row (embedding, document, metadata) and an expected record; "" when equal. */
export function recordDiff(expected, embedding, document, metadata) {
  const p = [];
  if (!Array.isArray(embedding) || embedding.length !== expected.embedding.length) {
    p.push(`embedding length ${embedding?.length}`);
  } else {
    const bad = expected.embedding.findIndex((e, i) => f32(embedding[i]) !== e);
    if (bad >= 0) p.push(`embedding[${bad}] ${embedding[bad]} != ${expected.embedding[bad]}`);
  }
  if (document !== expected.document) p.push(`document ${JSON.stringify(document)}`);
  const keys = (o) => JSON.stringify(Object.keys(o ?? {}).sort().map((k) => [k, o[k]]));
  if (keys(metadata) !== keys(expected.metadata)) p.push(`metadata ${JSON.stringify(metadata)}`);
  return p.join("; ");
}

/**
 * Reads back from one collection the records of `states` (Map id → {acked, pending}: versions sent
 * with knownRecord, null when none) and checks them: an acknowledged id must be present with the
 * content of its acknowledged version or of its pending (in-flight) one; an id never acknowledged
 * may be absent or hold its pending version; with `exactCount` the collection's count must equal
 * the number of these ids present (nothing else in it). Returns {present, problems}.
 */
export async function checkKnownRecords(url, collectionId, states, dim, { exactCount = true, timeoutMs = 60000 } = {}) {
  const ids = [...states.keys()];
  const path = `${collectionsPath()}/${collectionId}`;
  const problems = [];
  const got = new Map();
  // In slices, so that no single answer is huge.
  for (let at = 0; at < ids.length || at === 0; at += 2000) {
    const slice = ids.slice(at, at + 2000);
    const res = await request(url, "POST", `${path}/get`, {
      body: { ids: slice, include: ["embeddings", "documents", "metadatas"] },
      timeoutMs,
    });
    if (res.status !== 200) return { present: 0, problems: [`get → ${res.status} ${res.text.slice(0, 300)}`] };
    res.json.ids.forEach((id, i) => got.set(id, [res.json.embeddings[i], res.json.documents[i], res.json.metadatas[i]]));
    if (slice.length === 0) break;
  }
  for (const id of ids) {
    const { acked, pending } = states.get(id);
    const row = got.get(id);
    if (!row) {
      if (acked !== null) problems.push(`${id}: acknowledged (v${acked}) but missing`);
      continue;
    }
    const candidates = [acked, pending].filter((v) => v !== null);
    const diffs = candidates.map((v) => recordDiff(knownRecord(id, v, dim), ...row));
    if (!diffs.includes("")) problems.push(`${id}: content matches none of v${candidates.join("/v")}: ${diffs.join(" | ")}`);
  }
  if (exactCount) {
    const count = await request(url, "GET", `${path}/count`, { timeoutMs });
    if (count.status !== 200) problems.push(`count → ${count.status} ${count.text.slice(0, 300)}`);
    else if (count.json !== got.size) problems.push(`count ${count.json}, but ${got.size} of the ids sent are present`);
  }
  return { present: got.size, problems };
}

/** Fails with `what`, the number of problems and the first `max` of them, unless `problems` is empty. */
export function assertNoProblems(problems, what, max = 12) {
  if (problems.length === 0) return;
  const more = problems.length > max ? `\n  … and ${problems.length - max} more` : "";
  assert.fail(`${what}: ${problems.length} problem(s)\n  ${problems.slice(0, max).join("\n  ")}${more}`);
}
