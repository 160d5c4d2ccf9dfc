// Mixed load on loopback: W writers (add / upsert / delete batches of 50) and R readers (filtered
// query + filtered get) against one collection for a fixed time; prints throughput, errors and
// the server's resident memory. Bounded in time and only talks to the server it starts (or
// --url on this machine).
//
//   node bench/mixed_load.mjs [--seconds 15] [--writers 4] [--readers 4] [--dim 32]
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { ServerProcess } = await import(join(here, "..", "tests", "e2e", "harness.mjs"));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const SECONDS = Number(args.seconds ?? 15);
const WRITERS = Number(args.writers ?? 4);
const READERS = Number(args.readers ?? 4);
const DIM = Number(args.dim ?? 32);

let server;
let url = args.url;
if (!url) {
  server = await new ServerProcess().start();
  url = server.url;
}
const B = `${url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
const post = (u, b) =>
  fetch(u, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) });
const c = await (await post(B, { name: `mixed-${Date.now()}` })).json();
const deadline = Date.now() + SECONDS * 1000;
const stats = { writes: 0, rows: 0, reads: 0, errors: 0 };
const vec = () => Array.from({ length: DIM }, () => Math.random());

async function writer(w) {
  for (let i = 0; Date.now() < deadline; i++) {
    const ids = Array.from({ length: 50 }, (_, k) => `w${w}-${i}-${k}`);
    const op = i % 5 === 4 ? "delete" : i % 3 === 0 ? "upsert" : "add";
    const body = op === "delete"
      ? { ids: ids.slice(0, 10) }
      : { ids, embeddings: ids.map(vec), metadatas: ids.map((_, k) => ({ k, w })) };
    const r = await post(`${B}/${c.id}/${op}`, body);
    if (r.status >= 300) {
      stats.errors++;
      console.error(op, r.status, await r.text());
    } else {
      stats.writes++;
      stats.rows += op === "delete" ? 0 : ids.length;
    }
  }
}
async function reader() {
  while (Date.now() < deadline) {
    const q = await post(`${B}/${c.id}/query`, { query_embeddings: [vec()], n_results: 5, where: { k: { $lt: 25 } } });
    const g = await post(`${B}/${c.id}/get`, { limit: 10, where: { w: { $in: [1, 2] } } });
    for (const r of [q, g]) {
      if (r.status !== 200) stats.errors++;
      else stats.reads++;
      await r.arrayBuffer();
    }
  }
}
await Promise.all([...Array(WRITERS).keys()].map(writer).concat([...Array(READERS).keys()].map(reader)));
const count = await (await fetch(`${B}/${c.id}/count`)).json();
let rssMb = null;
if (server) {
  const status = readFileSync(`/proc/${server.child.pid}/status`, "utf8");
  rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}
console.log(`| measure | value |\n|---|---|`);
console.log(`| duration, writers, readers | ${SECONDS} s, ${WRITERS}, ${READERS} |`);
console.log(`| write requests/s (rows/s) | ${(stats.writes / SECONDS).toFixed(0)} (${(stats.rows / SECONDS).toFixed(0)}) |`);
console.log(`| read requests/s (filtered query + get) | ${(stats.reads / SECONDS).toFixed(0)} |`);
console.log(`| errors | ${stats.errors} |`);
console.log(`| records at the end | ${count} |`);
if (rssMb !== null) console.log(`| server resident memory | ${rssMb.toFixed(0)} MB |`);
if (server) await server.cleanup();
process.exitCode = stats.errors === 0 ? 0 : 1;
