// A throw-away PostgreSQL server for the end-to-end tests (the catalog kept in PostgreSQL with
// --catalog-url): initdb in a fresh temp directory, then `postgres` on a free loopback port with
// trust authentication and without durability (fsync=off). stop() and start() again keep the data
// and the port (a restart of the same server); cleanup() stops it and removes the directory.
//
// The binaries: CHROMAHOUSE_PG_BIN, else the highest /usr/lib/postgresql/<version>/bin that holds
// `postgres` (Debian's postgresql-15 package). PostgreSQL refuses to run as root: when the tests
// run as root, the directory is given to the `postgres` user and initdb/postgres run as that user.
import { execFile, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The directory of the PostgreSQL server binaries (initdb, postgres, pg_isready). */
export function postgresBinDir() {
  if (process.env.CHROMAHOUSE_PG_BIN) return process.env.CHROMAHOUSE_PG_BIN;
  const root = "/usr/lib/postgresql";
  let best = null;
  let bestVersion = -1;
  let entries = [];
  try {
    entries = readdirSync(root);
  } catch {
    // not installed
  }
  for (const name of entries) {
    const version = Number.parseFloat(name);
    if (existsSync(join(root, name, "bin", "postgres")) && version > bestVersion) {
      best = join(root, name, "bin");
      bestVersion = version;
    }
  }
  if (!best) throw new Error("no PostgreSQL server binaries (set CHROMAHOUSE_PG_BIN or install postgresql-15)");
  return best;
}

/** Why a PostgreSQL server cannot be started here (for a test's skip), or null when it can. */
export function missingPostgres() {
  try {
    const dir = postgresBinDir();
    for (const name of ["initdb", "postgres"]) {
      if (!existsSync(join(dir, name))) return `no ${name} in ${dir}`;
    }
  } catch (err) {
    return err.message;
  }
  return null;
}

/** A client binary: the one next to the server binaries, else the one on PATH. */
function clientBinary(binDir, name) {
  const local = join(binDir, name);
  return existsSync(local) ? local : name;
}

// Processes of every PostgresServer still running: killed when this process exits, so that a
// crashed test run leaves no server behind.
const running = new Set();
process.once("exit", () => {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }
});

function runAs() {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return {};
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export class PostgresServer {
  constructor({ binDir } = {}) {
    this.binDir = binDir ?? postgresBinDir();
    this.dir = null;
    this.port = null;
    this.child = null;
    this.exited = null;
    this.log = "";
    this.user = runAs();
  }

  get dataDir() {
    return join(this.dir, "data");
  }

  // initdb (first time only), then the server; resolves once it accepts connections.
  async start() {
    if (this.child) return this;
    if (!this.dir) await this.#init();
    this.log = "";
    const child = spawn(
      join(this.binDir, "postgres"),
      ["-D", this.dataDir, "-p", String(this.port), "-k", this.dir,
       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
       "-c", "full_page_writes=off"],
      { ...this.user, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    running.add(child);
    this.exited = new Promise((r) => child.once("exit", (code, signal) => {
      running.delete(child);
      r({ code, signal });
    }));
    const keep = (chunk) => {
      this.log += chunk.toString();
      if (this.log.length > 100000) this.log = this.log.slice(-50000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const deadline = Date.now() + 30000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`postgres exited during start-up (${child.exitCode ?? child.signalCode})\n${this.log}`);
      }
      if (await this.#ready()) return this;
      if (Date.now() > deadline) throw new Error(`postgres on port ${this.port} not ready within 30 s\n${this.log}`);
      await sleep(50);
    }
  }

  // Fast shutdown (SIGINT: open sessions are ended, no waiting for clients); waits for the exit.
  async stop() {
    const child = this.child;
    if (!child) return null;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return this.exited;
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  // Stops and starts again on the same data directory and port.
  async restart() {
    await this.stop();
    return this.start();
  }

  async cleanup() {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  url(db = "postgres") {
    return `postgresql://postgres@127.0.0.1:${this.port}/${db}`;
  }

  // Runs `text` with psql (unaligned, tuples only) and resolves with its standard output.
  sql(text, db = "postgres") {
    return new Promise((resolve, reject) => {
      execFile(
        clientBinary(this.binDir, "psql"),
        ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-d", db, "-c", text],
        { encoding: "utf8", timeout: 30000 },
        (err, stdout, stderr) => {
          if (err) {
            err.message += `\n${stderr}`;
            reject(err);
          } else {
            resolve(stdout);
          }
        },
      );
    });
  }

  async createDatabase(name) {
    await this.sql(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return this.url(name);
  }

  async #init() {
    const dir = mkdtempSync(join(tmpdir(), "chromahouse-pg-"));
    this.dir = dir;
    if (this.user.uid !== undefined) chownSync(dir, this.user.uid, this.user.gid);
    this.port = await freePort();
    await new Promise((resolve, reject) => {
      const child = spawn(
        join(this.binDir, "initdb"),
        ["-D", this.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        { ...this.user, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (out += c));
      child.once("error", reject);
      child.once("close", (code) => {
        if (code === 0) resolve();
        else reject(new Error(`initdb failed with code ${code}:\n${out}`));
      });
    });
  }

  // pg_isready: 0 = accepting connections.
  #ready() {
    return new Promise((resolve) => {
      execFile(
        clientBinary(this.binDir, "pg_isready"),
        ["-q", "-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-d", "postgres", "-t", "2"],
        { timeout: 5000 },
        (err) => resolve(!err),
      );
    });
  }
}
