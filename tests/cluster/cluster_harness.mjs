// Test harness for chromahouse against a replicated ClickHouse: one ZooKeeper and two
// clickhouse-server (18.16) nodes forming the cluster `repl` (1 shard × 2 replicas), each on its
// own free loopback ports and temp directory. See tests/cluster/README.md.
//
//   const cluster = await ClickHouseCluster.start();   // ZooKeeper, then n1 and n2
//   cluster.urls()                                     // ["http://127.0.0.1:P1", "http://127.0.0.1:P2"]
//   await cluster.kill("n2"); await cluster.restart("n2");
//   await cluster.cleanup();                           // every child stopped, the temp root removed
//
// Every process started here (and every pid handed to track()) is killed and the temp root removed
// on cleanup(), at the exit of the node process, and — should node itself be killed — by a small
// watchdog shell that polls node's pid once a second.
import { spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ZOOKEEPER_JAR = process.env.ZOOKEEPER_JAR ?? "/usr/share/java/zookeeper.jar";
// Optional: a log4j binding so ZooKeeper's log goes to its log file (it runs without them too).
const ZOOKEEPER_LOG_JARS = ["/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"];
const CLICKHOUSE_BIN = process.env.CHROMAHOUSE_CLICKHOUSE_BINARY ?? "clickhouse-server";
// How long one process may take to start on a loaded 2-core machine.
const START_TIMEOUT_MS = Number(process.env.CLUSTER_START_TIMEOUT_MS ?? 90000);
// ClickHouse's ZooKeeper session timeout: a killed node's session (and its replica's "is_active"
// node) lingers this long, and a restarted node waits for it before it replicates again.
const ZK_SESSION_TIMEOUT_MS = 8000;

/** The path of an executable (`name` on PATH, or a path), or null. */
export function findExecutable(name) {
  const candidates = name.includes("/")
    ? [name]
    : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return null;
}

/** Why the cluster cannot be started here (a skip reason), or null when everything is present. */
export function missingRequirements() {
  if (!findExecutable(process.env.JAVA ?? "java")) {
    return "java is not installed (ZooKeeper needs a JRE: apt-get install -y --no-install-recommends zookeeper)";
  }
  if (!existsSync(ZOOKEEPER_JAR)) {
    return `the ZooKeeper jar ${ZOOKEEPER_JAR} is missing (apt-get install -y --no-install-recommends zookeeper)`;
  }
  if (!findExecutable(CLICKHOUSE_BIN)) {
    return `${CLICKHOUSE_BIN} is not installed (apt-get install clickhouse-server)`;
  }
  return null;
}

/** `n` distinct free loopback ports (all held open at once, so no two are the same). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      await new Promise((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
  }
}

/**
 * Polls `fn` (sync or async) every `intervalMs` until it returns a truthy value, which is returned.
 * Throws after `timeoutMs`, naming `what` and the last value or error seen.
 */
export async function waitUntil(what, fn, { timeoutMs, intervalMs = 200 }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (true) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`${what}: not within ${timeoutMs} ms (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

/** Runs `sql` on a ClickHouse node over HTTP; resolves with the body, rejects on any non-200. */
export async function clickhouseSql(url, sql, { timeoutMs = 30000 } = {}) {
  const res = await fetch(`${url}/`, { method: "POST", body: sql, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`ClickHouse ${url} answered ${res.status} to ${sql.slice(0, 120)}: ${text.slice(0, 500)}`);
  return text;
}

/** Rows of a `FORMAT JSONEachRow` answer. */
export async function clickhouseRows(url, sql, options) {
  const text = await clickhouseSql(url, `${sql} FORMAT JSONEachRow`, options);
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** ZooKeeper's four-letter word `word` on 127.0.0.1:port; resolves with the answer ("" on error). */
export function zkFourLetter(port, word, timeoutMs = 3000) {
  return new Promise((resolve) => {
    let answer = "";
    const sock = connect({ host: "127.0.0.1", port });
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on("connect", () => sock.write(word));
    sock.on("data", (d) => (answer += d.toString()));
    sock.on("end", done);
    sock.on("error", done);
  });
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function xml(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// One child process whose output goes to a log file. `onPids` is told when the pid changes.
class Child {
  constructor(name, command, args, { cwd, logFile, onPids }) {
    Object.assign(this, { name, command, args, cwd, logFile, onPids });
    this.proc = null;
  }

  get running() {
    return Boolean(this.proc) && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid() {
    return this.running ? this.proc.pid : 0;
  }

  spawn() {
    const fd = openSync(this.logFile, "a");
    try {
      this.proc = spawn(this.command, this.args, { cwd: this.cwd, stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    const proc = this.proc;
    this.exited = new Promise((r) => proc.once("exit", (code, signal) => r({ code, signal })));
    proc.once("error", () => {}); // a failed exec is reported through 'exit' and the log
    this.onPids();
    this.exited.then(() => this.onPids());
  }

  /** Sends `signal`; with a timeout, waits for the exit (SIGKILL after it). */
  async stop(signal = "SIGTERM", timeoutMs = 30000) {
    if (!this.running) return;
    const proc = this.proc;
    proc.kill(signal);
    let timer;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      proc.kill("SIGKILL");
      await this.exited;
    }
  }
}

/** A standalone ZooKeeper (java + the Debian zookeeper.jar) on a loopback port. */
export class ZooKeeper {
  constructor({ dir, port, onPids }) {
    this.dir = dir;
    this.port = port;
    for (const sub of ["conf", "data"]) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(
      join(dir, "conf", "zoo.cfg"),
      [
        "tickTime=1000", // sessions between 2 s and 20 s
        "initLimit=10",
        "syncLimit=5",
        `dataDir=${join(dir, "data")}`,
        `clientPort=${port}`,
        "clientPortAddress=127.0.0.1",
        "admin.enableServer=false",
        "4lw.commands.whitelist=ruok,stat,srvr,mntr",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "conf", "log4j.properties"),
      "log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n" +
        "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n" +
        "log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n\n",
    );
    const classpath = [join(dir, "conf"), ZOOKEEPER_JAR, ...ZOOKEEPER_LOG_JARS.filter((j) => existsSync(j))];
    this.child = new Child(
      "zookeeper",
      findExecutable(process.env.JAVA ?? "java"),
      [
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-cp",
        classpath.join(":"),
        `-Dlog4j.configuration=file:${join(dir, "conf", "log4j.properties")}`,
        "-Dzookeeper.admin.enableServer=false",
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        join(dir, "conf", "zoo.cfg"),
      ],
      { cwd: dir, logFile: join(dir, "zookeeper.log"), onPids },
    );
  }

  async start() {
    this.child.spawn();
    await waitUntil(
      `ZooKeeper on port ${this.port} to answer ruok`,
      async () => {
        if (!this.child.running) throw new Error(`ZooKeeper exited during start-up:\n${this.logTail()}`);
        return (await zkFourLetter(this.port, "ruok")) === "imok";
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250 },
    );
  }

  logTail(lines = 20) {
    return tail(join(this.dir, "zookeeper.log"), lines);
  }

  stop() {
    return this.child.stop("SIGTERM", 15000);
  }
}

/** The config.d drop-in that makes a node a member of cluster `cluster` (1 shard × all replicas). */
export function clusterDropIn({ cluster, zkPort, replicas, replica }) {
  return `<?xml version="1.0"?>
<!-- Cluster membership, merged into config.xml by clickhouse-server (config.d/*.xml). -->
<yandex>
  <!-- Replication metadata, replication queue and ON CLUSTER DDL live in ZooKeeper. -->
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zkPort}</port></node>
    <session_timeout_ms>${ZK_SESSION_TIMEOUT_MS}</session_timeout_ms>
  </zookeeper>
  <!-- Where the other replicas fetch this node's parts (interserver_http_port). -->
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <!-- The queue of ON CLUSTER statements. -->
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <remote_servers replace="replace">
    <${cluster}>
      <shard>
        <internal_replication>true</internal_replication>
${replicas.map((r) => `        <replica><host>127.0.0.1</host><port>${r.tcpPort}</port></replica>`).join("\n")}
      </shard>
    </${cluster}>
  </remote_servers>
  <!-- Substituted in Replicated*MergeTree('/clickhouse/tables/{shard}/...', '{replica}'). -->
  <macros><shard>01</shard><replica>${xml(replica)}</replica></macros>
</yandex>
`;
}

/** One clickhouse-server with its own ports and directory; its config is written once. */
export class ClickHouseNode {
  constructor({ name, dir, httpPort, tcpPort, interserverPort, onPids }) {
    Object.assign(this, { name, dir, httpPort, tcpPort, interserverPort });
    this.url = `http://127.0.0.1:${httpPort}`;
    for (const sub of ["data", "tmp", "user_files", "format_schemas", "log", "config.d"]) {
      mkdirSync(join(dir, sub), { recursive: true });
    }
    this.child = new Child(this.name, findExecutable(CLICKHOUSE_BIN), [`--config-file=${join(dir, "config.xml")}`], {
      cwd: dir,
      logFile: join(dir, "log", "stdout.log"),
      onPids,
    });
    this.starts = 0;
  }

  // The same minimal config as the embedded ClickHouse (src/server/embedded_clickhouse.cc), plus
  // the interserver port replicas fetch parts from.
  writeConfig(dropIn) {
    const p = (sub) => `${xml(join(this.dir, sub))}/`;
    writeFileSync(
      join(this.dir, "config.xml"),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${p("log")}clickhouse-server.log</log><errorlog>${p("log")}clickhouse-server.err.log</errorlog><size>100M</size><count>3</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${this.httpPort}</http_port>
  <tcp_port>${this.tcpPort}</tcp_port>
  <interserver_http_port>${this.interserverPort}</interserver_http_port>
  <path>${p("data")}</path>
  <tmp_path>${p("tmp")}</tmp_path>
  <user_files_path>${p("user_files")}</user_files_path>
  <format_schema_path>${p("format_schemas")}</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <keep_alive_timeout>3</keep_alive_timeout>
</yandex>
`,
    );
    writeFileSync(
      join(this.dir, "users.xml"),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>10000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
    writeFileSync(join(this.dir, "config.d", "cluster.xml"), dropIn);
  }

  get running() {
    return this.child.running;
  }

  sql(query, options) {
    return clickhouseSql(this.url, query, options);
  }

  rows(query, options) {
    return clickhouseRows(this.url, query, options);
  }

  /** Starts the server (same ports, config and data as before) and waits until it answers. */
  async start() {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.child.spawn();
    this.starts++;
    await waitUntil(
      `ClickHouse ${this.name} (${this.url}) to answer SELECT 1`,
      async () => {
        if (!this.running) throw new Error(`${this.name} exited during start-up:\n${this.logTail()}`);
        return (await this.sql("SELECT 1", { timeoutMs: 5000 })).trim() === "1";
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 200 },
    );
  }

  /** SIGKILL, and waits for the exit. */
  async kill() {
    await this.child.stop("SIGKILL", 10000);
  }

  async stop() {
    await this.child.stop("SIGTERM", 30000);
  }

  logTail(lines = 20) {
    const err = tail(join(this.dir, "log", "clickhouse-server.err.log"), lines);
    const out = tail(join(this.dir, "log", "stdout.log"), 5);
    return `--- ${this.name} err.log ---\n${err}\n--- ${this.name} stdout ---\n${out}`;
  }
}

// Kills the listed pids and removes the root once node has gone without cleaning up.
const WATCHDOG = `
parent=$1; root=$2
while kill -0 "$parent" 2>/dev/null && [ -d "$root" ]; do sleep 1; done
[ -d "$root" ] || exit 0
[ -f "$root/keep" ] && exit 0
[ -f "$root/pids" ] && for p in $(cat "$root/pids"); do kill -9 "$p" 2>/dev/null; done
sleep 1
rm -rf "$root"
`;

/** ZooKeeper plus the nodes of one replicated shard. */
export class ClickHouseCluster {
  constructor({ name, root }) {
    this.name = name;
    this.root = root;
    this.extraPids = new Set();
    this.nodes = [];
    this.zk = null;
    this.cleaned = false;
    this.onExit = () => this.cleanupSync();
    process.on("exit", this.onExit);
    const watchdog = spawn("sh", ["-c", WATCHDOG, "watchdog", String(process.pid), root], {
      detached: true,
      stdio: "ignore",
    });
    watchdog.unref();
  }

  /**
   * Starts ZooKeeper and the nodes (default n1, n2) of cluster `name` (1 shard × the nodes as
   * replicas, macros shard=01, replica=<node name>), and waits until every node answers and knows
   * the cluster and ZooKeeper. On failure everything started is stopped again.
   */
  static async start({ name = "repl", nodeNames = ["n1", "n2"] } = {}) {
    const root = mkdtempSync(join(tmpdir(), "chromahouse-cluster-"));
    const cluster = new ClickHouseCluster({ name, root });
    try {
      const ports = await freePorts(1 + 3 * nodeNames.length);
      const onPids = () => cluster.writePids();
      cluster.zk = new ZooKeeper({ dir: join(root, "zookeeper"), port: ports[0], onPids });
      cluster.nodes = nodeNames.map(
        (n, i) =>
          new ClickHouseNode({
            name: n,
            dir: join(root, n),
            httpPort: ports[1 + 3 * i],
            tcpPort: ports[2 + 3 * i],
            interserverPort: ports[3 + 3 * i],
            onPids,
          }),
      );
      for (const node of cluster.nodes) {
        node.writeConfig(clusterDropIn({ cluster: name, zkPort: cluster.zk.port, replicas: cluster.nodes, replica: node.name }));
      }
      await cluster.zk.start();
      await Promise.all(cluster.nodes.map((n) => n.start()));
      await Promise.all(cluster.nodes.map((n) => cluster.waitMember(n)));
      return cluster;
    } catch (err) {
      err.message += `\n${cluster.diagnostics()}`;
      await cluster.cleanup();
      throw err;
    }
  }

  /** Waits until `node` lists the cluster with every replica and can read ZooKeeper. */
  async waitMember(node) {
    await waitUntil(
      `${node.name} to list cluster ${this.name} and reach ZooKeeper`,
      async () => {
        const n = await node.sql(`SELECT count() FROM system.clusters WHERE cluster = '${this.name}'`, { timeoutMs: 5000 });
        if (Number(n) !== this.nodes.length) return false;
        await node.sql("SELECT count() FROM system.zookeeper WHERE path = '/'", { timeoutMs: 5000 });
        return true;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 250 },
    );
  }

  node(nameOrNode) {
    if (typeof nameOrNode !== "string") return nameOrNode;
    const node = this.nodes.find((n) => n.name === nameOrNode);
    if (!node) throw new Error(`no node ${nameOrNode}`);
    return node;
  }

  /** The nodes' HTTP URLs, in order. */
  urls() {
    return this.nodes.map((n) => n.url);
  }

  /** SIGKILL a node (its data directory stays). */
  async kill(node) {
    await this.node(node).kill();
  }

  /** Starts a killed or stopped node again on the same ports and data directory. */
  async restart(node) {
    const n = this.node(node);
    if (n.running) await n.stop();
    await n.start();
    await this.waitMember(n);
  }

  /** A fresh directory under the cluster's temp root (removed by cleanup()). */
  dir(name) {
    const d = join(this.root, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** Also kill `pid` on cleanup and when node dies (e.g. the chromahouse servers of a test). */
  track(pid) {
    if (pid) this.extraPids.add(pid);
    this.writePids();
  }

  untrack(pid) {
    this.extraPids.delete(pid);
    this.writePids();
  }

  pids() {
    return [this.zk?.child.pid, ...this.nodes.map((n) => n.child.pid), ...this.extraPids].filter(Boolean);
  }

  writePids() {
    if (this.cleaned) return;
    try {
      writeFileSync(join(this.root, "pids"), this.pids().join("\n") + "\n");
    } catch {}
  }

  /** The tails of the nodes' and ZooKeeper's logs. */
  diagnostics() {
    return [...this.nodes.map((n) => n.logTail()), `--- zookeeper ---\n${this.zk?.logTail() ?? "(not started)"}`].join("\n");
  }

  /** Stops the nodes (SIGTERM, then SIGKILL after 30 s) and ZooKeeper, removes the temp root. */
  async cleanup() {
    if (this.cleaned) return;
    try {
      await Promise.all(this.nodes.map((n) => n.stop().catch(() => {})));
      await this.zk?.stop().catch(() => {});
    } finally {
      this.cleanupSync();
    }
  }

  // Synchronous last resort (process exit): SIGKILL whatever is left, remove the root.
  cleanupSync() {
    if (this.cleaned) return;
    for (const pid of this.pids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    this.cleaned = true;
    process.off("exit", this.onExit);
    if (process.env.CLUSTER_KEEP_TMP) {
      try {
        writeFileSync(join(this.root, "keep"), "");
      } catch {}
      console.log(`# cluster temp root kept: ${this.root}`);
      return;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
