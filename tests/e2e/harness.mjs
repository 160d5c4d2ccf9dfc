// Test harness shared by the end-to-end tests: starts a chromahouse server (with its embedded
// ClickHouse) on a free loopback port and a fresh data directory, or uses an already running
// server when CHROMA_URL is set (e.g. the reference Chroma server, to check a test's expectations).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "..", "..");
export const serverBinary =
  process.env.CHROMAHOUSE_BIN ?? join(repoRoot, "build", "chromahouse");

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForHeartbeat(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`server exited with code ${child.exitCode} during start-up`);
    }
    try {
      const res = await fetch(`${url}/api/v2/heartbeat`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server at ${url} did not answer /api/v2/heartbeat within ${timeoutMs} ms`);
}

// Lines that start a sanitizer report in the server's output (ASan, LSan, UBSan).
const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)/;

// A running server. `dataDir` survives stop() so a test can start() again on the same data;
// `port` fixes the HTTP port (by default a free one is picked at every start).
export class ServerProcess {
  constructor({ dataDir, env = {}, args = [], port } = {}) {
    this.ownsDir = !dataDir;
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), "chromahouse-e2e-"));
    this.env = env;
    this.args = args;
    this.fixedPort = port;
    this.child = null;
    this.log = "";
    // The first sanitizer report seen in the output (kept whole even when `log` is trimmed).
    this.sanitizerReport = "";
    this.exit = null; // resolves with {code, signal} when the current child exits
    this.external = Boolean(process.env.CHROMA_URL);
  }

  async start() {
    if (this.external) {
      this.url = process.env.CHROMA_URL.replace(/\/$/, "");
      this.port = Number(new URL(this.url).port);
      this.host = new URL(this.url).hostname;
      await waitForHeartbeat(this.url, null, 10000);
      return this;
    }
    this.port = this.fixedPort ?? (await freePort());
    this.host = "127.0.0.1";
    this.url = `http://${this.host}:${this.port}`;
    this.log = "";
    this.child = spawn(
      serverBinary,
      ["run", "--host", this.host, "--port", String(this.port), "--path", this.dataDir, ...this.args],
      { env: { ...process.env, ...this.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const child = this.child;
    this.exit = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    // 'close' comes once the output pipes are drained too (a report written at exit is in `log`).
    this.closed = new Promise((r) => child.once("close", () => r()));
    let tail = "";
    let reportChars = 0;
    const keep = (chunk) => {
      const text = chunk.toString();
      this.log += text;
      if (this.log.length > 200000) this.log = this.log.slice(-100000);
      // Sanitizer reports: scan across chunk boundaries, keep up to 64 KiB of the first report.
      if (reportChars > 0) {
        const add = text.slice(0, reportChars);
        this.sanitizerReport += add;
        reportChars -= add.length;
      } else if (!this.sanitizerReport) {
        const window = tail + text;
        const m = SANITIZER_RE.exec(window);
        if (m) {
          const start = Math.max(0, window.lastIndexOf("\n", m.index) + 1);
          this.sanitizerReport = window.slice(start, start + 65536);
          reportChars = 65536 - this.sanitizerReport.length;
        }
      }
      tail = text.slice(-200);
    };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
    try {
      await waitForHeartbeat(this.url, this.child, 60000);
    } catch (err) {
      err.message += `\n--- server log ---\n${this.log}`;
      throw err;
    }
    return this;
  }

  // Graceful stop (SIGTERM); resolves with the exit code.
  async stop(signal = "SIGTERM") {
    if (this.external || !this.child) return 0;
    const child = this.child;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
    const exited = new Promise((r) => child.once("exit", (code, sig) => r(code ?? sig)));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  // Sends `signal` to the server without waiting (the caller waits with waitForExit()).
  signal(signal) {
    if (this.external || !this.child) return;
    this.child.kill(signal);
  }

  // Waits up to timeoutMs for the current child to exit: {code, signal}, or null on timeout.
  // After the exit it also waits (up to 5 s) for the output pipes to be drained into `log`.
  async waitForExit(timeoutMs) {
    if (this.external || !this.exit) return null;
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(() => r(null), timeoutMs);
    });
    const result = await Promise.race([this.exit, timeout]);
    clearTimeout(timer);
    if (result) {
      let drainTimer;
      await Promise.race([this.closed, new Promise((r) => (drainTimer = setTimeout(r, 5000)))]);
      clearTimeout(drainTimer);
    }
    return result;
  }

  async cleanup() {
    await this.stop();
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// Raw HTTP helper: returns {status, headers, text, json}. With timeoutMs the request is aborted
// (and the promise rejects with a TimeoutError) when the whole answer takes longer.
export async function request(baseUrl, method, path, { body, headers = {}, rawBody, timeoutMs } = {}) {
  const init = { method, headers: { ...headers } };
  if (timeoutMs !== undefined) init.signal = AbortSignal.timeout(timeoutMs);
  if (rawBody !== undefined) {
    init.body = rawBody;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      init.headers["content-type"] = "application/json";
    }
  }
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  let json;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
