// The web console (console/, embedded in the binary and served at /console/) in a real browser:
// headless Chromium driven by puppeteer-core, against a real server. Static files (types, cache
// headers, ETag/304, the Content-Security-Policy), every page without console errors or CSP
// violations, the overview's figures and chart, creating/renaming/deleting a collection through
// the forms with their confirmation steps, the record table (paging, where filters, the server's
// own error message, get by ids), "more like this" with its plan, the keyboard, and sign-in with
// token auth. Screenshots go to $CONSOLE_SCREENSHOT_DIR (default build/console-screenshots).
//
// Run:  cd tests/e2e && node --test console.test.mjs
// CONSOLE_DIR=/path/to/console serves the files from disk (--console-dir) instead of the embedded
// copy; CHROMIUM_BIN overrides /usr/bin/chromium.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { ServerProcess, repoRoot, request } from "./harness.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const SKIP = !existsSync(CHROMIUM)
  ? `no Chromium at ${CHROMIUM} (install the chromium package or set CHROMIUM_BIN)`
  : false;
const SKIP_AUTH = SKIP || (process.env.CHROMA_URL && "an external server (CHROMA_URL) cannot be started with auth");
const SCREENSHOT_DIR = process.env.CONSOLE_SCREENSHOT_DIR || join(repoRoot, "build", "console-screenshots");
const SERVER_ARGS = process.env.CONSOLE_DIR ? ["--console-dir", process.env.CONSOLE_DIR] : [];
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const COLLS = "/api/v2/tenants/default_tenant/databases/default_database/collections";
const DB_HASH = "#/t/default_tenant/d/default_database";
const WAIT = { timeout: 15000 };

async function launchBrowser() {
  const userDataDir = mkdtempSync(join(tmpdir(), "chromahouse-console-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return { browser, userDataDir };
}

// A page whose console errors, uncaught exceptions and CSP violations are collected. HTTP error
// answers the test provokes on purpose (a bad filter, a wrong token) are allowed per step.
async function watchedPage(browser) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const problems = [];
  const allowed = new Set();
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const http = /the server responded with a status of (\d{3})/.exec(text);
    if (http && allowed.has(Number(http[1]))) return;
    problems.push(`console error: ${text} ${JSON.stringify(msg.location())}`);
  });
  page.on("pageerror", (err) => problems.push(`uncaught: ${err.message}`));
  page.on("requestfailed", (req) => {
    const why = req.failure()?.errorText ?? "";
    if (!/ERR_ABORTED/.test(why)) problems.push(`request failed: ${req.url()} ${why}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return {
    page,
    allow: (...statuses) => statuses.forEach((s) => allowed.add(s)),
    check(what) {
      const found = problems.splice(0);
      allowed.clear();
      assert.deepEqual(found, [], `${what}: the page reported problems`);
    },
  };
}

async function shot(page, name, { fullPage = true } = {}) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage });
}

const textOf = (page, selector) => page.$eval(selector, (el) => el.textContent.trim());
const rowIds = (page, table) => page.$$eval(`${table} tbody tr`, (rows) => rows.map((r) => r.dataset.id));

function waitText(page, selector, text) {
  return page.waitForFunction(
    (sel, t) => [...document.querySelectorAll(sel)].some((el) => !el.closest("[hidden]") && el.textContent.includes(t)),
    WAIT, selector, text,
  );
}

async function assertNoHorizontalScroll(page, what) {
  const [scrollWidth, clientWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scrollWidth <= clientWidth, `${what}: the page scrolls sideways at 1280 px (${scrollWidth} > ${clientWidth})`);
}

// A fresh load of the console at `hash` (not a same-document jump to it).
async function openConsole(page, server, hash = "", query = "") {
  await page.goto("about:blank");
  await page.goto(`${server.url}/console/${query}${hash}`, { waitUntil: "load" });
}

async function setValue(page, selector, value) {
  await page.$eval(selector, (el) => { el.value = ""; });
  await page.type(selector, value);
}

// Clicks the button whose text is `label` (inside `scope`, default the whole page).
async function clickButton(page, label, scope = "body") {
  const handle = await page.waitForFunction((sc, l) => [...document.querySelectorAll(`${sc} button`)]
    .find((b) => b.textContent.trim() === l && !b.disabled && !b.closest("[hidden]")), WAIT, scope, label);
  await handle.asElement().click();
}

async function confirmInDialog(page, { cancel = false } = {}) {
  await page.waitForSelector("dialog[open]", WAIT);
  await page.click(cancel ? "dialog[open] button.secondary" : "dialog[open] button.confirm");
  await page.waitForFunction(() => !document.querySelector("dialog[open]"), WAIT);
}

describe("console: static files and pages", { skip: SKIP }, () => {
  let server;
  let browser;
  let userDataDir;
  let w;
  let collectionId;

  before(async () => {
    server = await new ServerProcess({ args: SERVER_ARGS }).start();
    // Leftovers of an earlier run on an external server (CHROMA_URL).
    for (const name of ["console-e2e", "console-e2e-renamed"]) await request(server.url, "DELETE", `${COLLS}/${name}`);
    ({ browser, userDataDir } = await launchBrowser());
    w = await watchedPage(browser);
    console.log(`console screenshots: ${SCREENSHOT_DIR}`);
  });
  after(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await server?.cleanup();
  });

  test("redirects, content types, caching and the Content-Security-Policy", async () => {
    for (const from of ["/", "/console"]) {
      const res = await fetch(`${server.url}${from}`, { redirect: "manual" });
      assert.equal(res.status, 302, from);
      assert.equal(new URL(res.headers.get("location"), server.url).pathname, "/console/", from);
    }
    const index = await fetch(`${server.url}/console/`);
    const html = await index.text();
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(index.headers.get("content-security-policy"), CSP);
    assert.ok(index.headers.get("cache-control"), "Cache-Control on /console/");
    const etag = index.headers.get("etag");
    assert.ok(etag, "ETag on /console/");
    assert.match(html, /<title>chromahouse console<\/title>/);
    assert.match(html, /<h1>chromahouse console<\/h1>/);
    // Nothing the policy would block: no inline script, style or handler attributes.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "inline <script>");
    assert.doesNotMatch(html, /<style/i, "inline <style>");
    assert.doesNotMatch(html, /\sstyle\s*=/i, "style attribute");
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "event handler attribute");
    const again = await fetch(`${server.url}/console/`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), etag);

    // Every module of the console, following the imports from app.js: served, typed, no
    // innerHTML or eval (all server text goes through textContent).
    const seen = new Set();
    const queue = ["app.js"];
    while (queue.length) {
      const file = queue.shift();
      if (seen.has(file)) continue;
      seen.add(file);
      const res = await fetch(`${server.url}/console/${file}`);
      const js = await res.text();
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get("content-type"), /^text\/javascript/, file);
      assert.equal(res.headers.get("content-security-policy"), CSP, file);
      assert.ok(res.headers.get("etag"), `ETag on ${file}`);
      assert.ok(res.headers.get("cache-control"), `Cache-Control on ${file}`);
      assert.doesNotMatch(js, /\.innerHTML\s*=|insertAdjacentHTML|\beval\(|new Function\(/, file);
      for (const m of js.matchAll(/from\s+"\.\/([\w.-]+\.js)"/g)) queue.push(m[1]);
    }
    assert.ok(seen.size >= 5, `modules found: ${[...seen]}`);
    const css = await fetch(`${server.url}/console/style.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type"), /^text\/css/);
    assert.equal(css.headers.get("content-security-policy"), CSP);
    const icon = await fetch(`${server.url}/console/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get("content-type"), /^image\/svg\+xml/);
    const missing = await fetch(`${server.url}/console/no-such-file.js`);
    assert.equal(missing.status, 404);
  });

  test("overview: version, identity and a traffic chart", async () => {
    const { page } = w;
    const version = (await request(server.url, "GET", "/api/v2/version")).json;
    await openConsole(page, server, "", "?poll=500");
    await page.waitForFunction(() => document.title === "Overview — chromahouse console", WAIT);
    assert.equal(await textOf(page, "h1"), "chromahouse console");
    await page.waitForFunction((v) => document.querySelector('[data-field="version"]')?.textContent === v, WAIT, version);
    await waitText(page, '[data-field="tenant"]', "default_tenant");
    // A line appears once three samples were taken (two rates).
    await page.waitForSelector("svg.chart polyline", WAIT);
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-field="uptime"]')?.textContent ?? ""), WAIT);
    await assertNoHorizontalScroll(page, "overview");
    await shot(page, "overview");
    w.check("overview");
  });

  test("keyboard: tab to the main navigation and follow a link with Enter", async () => {
    const { page } = w;
    await openConsole(page, server, "#/");
    await page.waitForSelector("nav[aria-label=Main]:not([hidden])", WAIT);
    let inNav = false;
    for (let i = 0; i < 10 && !inNav; i += 1) {
      await page.keyboard.press("Tab");
      inNav = await page.evaluate(() => Boolean(document.activeElement?.closest("nav[aria-label=Main]")));
    }
    assert.ok(inNav, "Tab reaches the main navigation");
    for (let i = 0; i < 3; i += 1) {
      if (await page.evaluate(() => document.activeElement.textContent.trim() === "Databases and collections")) break;
      await page.keyboard.press("Tab");
    }
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { text: el.textContent.trim(), outline: style.outlineStyle, width: style.outlineWidth };
    });
    assert.equal(focused.text, "Databases and collections");
    assert.notEqual(focused.outline, "none", "a visible focus outline");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#/t/default_tenant", WAIT);
    await page.waitForSelector('section.database[data-database="default_database"]', WAIT);
    await waitText(page, "h2", "Databases and collections");
    await assertNoHorizontalScroll(page, "databases");
    w.check("databases page");
  });

  test("create a collection through the form, with a confirmation step", async () => {
    const { page } = w;
    await openConsole(page, server, DB_HASH);
    await page.waitForSelector("form.admin-form input[name=name]", WAIT);
    await setValue(page, "form.admin-form input[name=name]", "console-e2e");
    await page.select("form.admin-form select[name=space]", "cosine");
    // Cancel first: nothing is created.
    await clickButton(page, "Create collection", "form.admin-form");
    await confirmInDialog(page, { cancel: true });
    await waitText(page, "form.admin-form .status", "Cancelled");
    assert.equal((await request(server.url, "GET", `${COLLS}/console-e2e`)).status, 404);
    await clickButton(page, "Create collection", "form.admin-form");
    await confirmInDialog(page);
    await page.waitForSelector('tr[data-collection-name="console-e2e"]', WAIT);
    const created = await request(server.url, "GET", `${COLLS}/console-e2e`);
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.configuration_json.hnsw.space, "cosine");
    collectionId = created.json.id;
    w.check("create collection");
  });

  test("records: table, paging, where filter, the server's error, more like this, get by ids", async () => {
    const { page } = w;
    const ids = Array.from({ length: 40 }, (_, i) => `rec-${String(i).padStart(2, "0")}`);
    const add = await request(server.url, "POST", `${COLLS}/${collectionId}/add`, {
      body: {
        ids,
        embeddings: ids.map((_, i) => Array.from({ length: 8 }, (__, j) => Math.sin(i * 8 + j + 1))),
        documents: ids.map((_, i) => `document ${i}: ${"abc"[i % 3]} ${"lorem ipsum ".repeat(i % 7)}`),
        metadatas: ids.map((_, i) => ({ kind: "abc"[i % 3], n: i })),
      },
    });
    assert.ok(add.status === 200 || add.status === 201, add.text);

    await openConsole(page, server, "#/t/default_tenant");
    await page.waitForSelector('tr[data-collection-name="console-e2e"] a', WAIT);
    await waitText(page, 'tr[data-collection-name="console-e2e"] td', "40");
    await waitText(page, 'tr[data-collection-name="console-e2e"] td', "% indexed");
    await assertNoHorizontalScroll(page, "collection list");
    await shot(page, "collections");
    await page.click('tr[data-collection-name="console-e2e"] a');
    await page.waitForFunction((id) => location.hash.endsWith(`/c/${id}`), WAIT, collectionId);
    await waitText(page, "h2", "Collection console-e2e");
    await waitText(page, '[data-field="count"]', "40");
    await waitText(page, '[data-field="dimension"]', "8");
    await waitText(page, '[data-field="metric"]', "cosine");
    // Memory held in this instance (chromahouse_collection_memory_bytes) and the snapshot state.
    await page.waitForFunction(() => /\d.*[KMG]?i?B/.test(document.querySelector('[data-field="memory"]')?.textContent ?? ""), WAIT);
    assert.match(await textOf(page, '[data-field="snapshot"]'), /^none|written .* ago$/);
    await page.waitForFunction(() => document.querySelectorAll("table.records-table tbody tr").length === 20, WAIT);
    const first = await rowIds(page, "table.records-table");
    await waitText(page, "table.records-table td.emb", "(8-d)");
    await assertNoHorizontalScroll(page, "collection");
    await shot(page, "collection-records");
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "collection", { fullPage: false });

    await clickButton(page, "Next page");
    await page.waitForFunction((before) => {
      const now = [...document.querySelectorAll("table.records-table tbody tr")].map((r) => r.dataset.id);
      return now.length === 20 && !now.includes(before);
    }, WAIT, first[0]);
    const second = await rowIds(page, "table.records-table");
    assert.deepEqual([...first, ...second].sort(), ids, "two pages of 20 show every record once");
    await clickButton(page, "Previous page");
    await page.waitForFunction((id) => document.querySelector("table.records-table tbody tr")?.dataset.id === id, WAIT, first[0]);

    // A where filter: only kind "b" (13 of the 40).
    await setValue(page, "textarea[name=where]", '{"kind":"b"}');
    await clickButton(page, "Apply filter");
    await page.waitForFunction(() => document.querySelectorAll("table.records-table tbody tr").length === 13, WAIT);
    const metas = await page.$$eval("table.records-table tbody td.meta", (tds) => tds.map((td) => JSON.parse(td.textContent)));
    assert.ok(metas.every((m) => m.kind === "b"), JSON.stringify(metas));
    await waitText(page, "p.status", "filter");

    // A filter the server refuses: its own message, verbatim, in the alert.
    const bad = { n: { $gt: "x" } };
    const refused = await request(server.url, "POST", `${COLLS}/${collectionId}/get`, { body: { where: bad } });
    assert.equal(refused.status, 400);
    w.allow(400);
    await setValue(page, "textarea[name=where]", JSON.stringify(bad));
    await clickButton(page, "Apply filter");
    await page.waitForFunction((msg) => [...document.querySelectorAll("[role=alert]")]
      .some((el) => !el.hidden && el.textContent === msg), WAIT, refused.json.message);
    assert.equal(await page.$$eval("table.records-table", (t) => t.length), 0, "no table under a refused filter");
    await clickButton(page, "Clear filter");
    await page.waitForFunction(() => document.querySelectorAll("table.records-table tbody tr").length === 20, WAIT);
    assert.equal(await page.$$eval("[role=alert]:not([hidden])", (a) => a.length), 0, "the error is gone");

    // More like this, from the first row: 10 results with distances, the plan and the time.
    const source = (await rowIds(page, "table.records-table"))[0];
    await page.click("table.records-table tbody tr:first-child button.more-like-this");
    await page.waitForFunction(() => document.querySelectorAll(".more-like-this-results table tbody tr").length === 10, WAIT);
    const results = await page.$$eval(".more-like-this-results table tbody tr", (rows) => rows.map((r) => ({
      id: r.dataset.id, distance: Number(r.querySelector("td.distance").textContent),
    })));
    assert.equal(results[0].id, source);
    assert.ok(Math.abs(results[0].distance) < 1e-4, `the record itself first: ${JSON.stringify(results[0])}`);
    assert.ok(results.every((r) => Number.isFinite(r.distance)), JSON.stringify(results));
    for (let i = 1; i < results.length; i += 1) assert.ok(results[i].distance >= results[i - 1].distance - 1e-9);
    const plan = await textOf(page, '[data-field="plan"]');
    assert.match(plan, /^(graph \(HNSW\)|exact scan \(brute force\))$/);
    assert.match(await textOf(page, '[data-field="query-time"]'), /^\d+(\.\d+)? ms$/);
    await shot(page, "more-like-this");

    // Get by ids.
    await setValue(page, "input[name=ids]", "rec-03, rec-07");
    await clickButton(page, "Get by IDs");
    await page.waitForFunction(() => document.querySelectorAll("table.records-table tbody tr").length === 2, WAIT);
    assert.deepEqual((await rowIds(page, "table.records-table")).sort(), ["rec-03", "rec-07"]);
    await clickButton(page, "Clear IDs");
    await page.waitForFunction(() => document.querySelectorAll("table.records-table tbody tr").length === 20, WAIT);
    w.check("collection page");
  });

  test("rename, then delete with the typed-name confirmation", async () => {
    const { page } = w;
    await setValue(page, "input[name=new_name]", "console-e2e-renamed");
    await clickButton(page, "Rename collection");
    await confirmInDialog(page);
    await waitText(page, "h2", "Collection console-e2e-renamed");
    const renamed = await request(server.url, "GET", `${COLLS}/console-e2e-renamed`);
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.id, collectionId);
    assert.equal((await request(server.url, "GET", `${COLLS}/console-e2e`)).status, 404);

    const deleteButton = "form.delete-form button[type=submit]";
    await setValue(page, "input[name=confirm_name]", "console-e2e");
    assert.equal(await page.$eval(deleteButton, (b) => b.disabled), true, "a wrong name keeps Delete disabled");
    await setValue(page, "input[name=confirm_name]", "console-e2e-renamed");
    assert.equal(await page.$eval(deleteButton, (b) => b.disabled), false);
    await page.click(deleteButton);
    await page.waitForFunction((h) => location.hash === h, WAIT, DB_HASH);
    await waitText(page, "p.flash", "Collection console-e2e-renamed deleted.");
    await page.waitForFunction(() => !document.querySelector("p.status[role=status]")?.textContent.includes("Loading"), WAIT);
    assert.equal(await page.$$eval('tr[data-collection-name^="console-e2e"]', (r) => r.length), 0);
    assert.equal((await request(server.url, "GET", `${COLLS}/console-e2e-renamed`)).status, 404);
    w.check("rename and delete");
  });
  test("create a database and a tenant through the forms", async () => {
    const { page } = w;
    await openConsole(page, server, "#/t/default_tenant");
    const dbForm = 'form[aria-labelledby="create-database-title"]';
    await page.waitForSelector(`${dbForm} input[name=name]`, WAIT);
    await setValue(page, `${dbForm} input[name=name]`, "console-db");
    await clickButton(page, "Create database", dbForm);
    await confirmInDialog(page);
    await page.waitForSelector('section.database[data-database="console-db"]', WAIT);
    const dbs = await request(server.url, "GET", "/api/v2/tenants/default_tenant/databases");
    assert.ok(dbs.json.some((d) => d.name === "console-db"), dbs.text);

    // A name the server refuses: its message, verbatim.
    w.allow(400);
    const tenantForm = 'form[aria-labelledby="create-tenant-title"]';
    await setValue(page, `${tenantForm} input[name=name]`, "x");
    await clickButton(page, "Create tenant", tenantForm);
    await confirmInDialog(page);
    const refused = await request(server.url, "POST", "/api/v2/tenants", { body: { name: "x" } });
    assert.equal(refused.status, 400);
    await waitText(page, `${tenantForm} [role=alert]`, refused.json.message);
    await setValue(page, `${tenantForm} input[name=name]`, "console-tenant");
    await clickButton(page, "Create tenant", tenantForm);
    await confirmInDialog(page);
    await page.waitForFunction(() => location.hash === "#/t/console-tenant", WAIT);
    await waitText(page, "p.flash", "Tenant console-tenant created.");
    await waitText(page, "p.empty", "No databases in tenant console-tenant.");
    assert.equal((await request(server.url, "GET", "/api/v2/tenants/console-tenant")).status, 200);
    w.check("create database and tenant");
  });
});

describe("console: sign-in with token auth", { skip: SKIP_AUTH }, () => {
  const TOKEN = "console-e2e-token-42";
  let server;
  let browser;
  let userDataDir;

  before(async () => {
    server = await new ServerProcess({ args: [...SERVER_ARGS, "--auth-provider", "token", "--auth-credentials", TOKEN] }).start();
    const made = await request(server.url, "POST", COLLS, { body: { name: "secret-docs" }, headers: { "x-chroma-token": TOKEN } });
    assert.equal(made.status, 200, made.text);
    ({ browser, userDataDir } = await launchBrowser());
  });
  after(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await server?.cleanup();
  });

  test("no data without credentials; a wrong token is refused; the right one works; sign out forgets it", async () => {
    const w = await watchedPage(browser);
    const { page } = w;
    w.allow(401); // the probe without credentials, and the wrong token
    await openConsole(page, server, DB_HASH);
    await page.waitForSelector(".sign-in", WAIT);
    await page.waitForFunction(() => document.activeElement?.name === "token", WAIT);
    const bodyText = () => page.evaluate(() => document.body.innerText);
    assert.ok(!(await bodyText()).includes("secret-docs"));
    assert.equal(await page.$eval("#main-nav", (n) => n.hidden), true, "no navigation before signing in");
    await assertNoHorizontalScroll(page, "sign-in");
    await shot(page, "sign-in");

    await page.type("input[name=token]", "wrong-token");
    await clickButton(page, "Sign in");
    await waitText(page, ".sign-in [role=alert]", "refused");
    assert.ok(!(await bodyText()).includes("secret-docs"));
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a refused token is not kept");

    await setValue(page, "input[name=token]", TOKEN);
    await clickButton(page, "Sign in");
    await page.waitForSelector('tr[data-collection-name="secret-docs"]', WAIT);
    assert.match(await textOf(page, "#who"), /Signed in/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 1);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");

    await clickButton(page, "Sign out");
    await page.waitForSelector(".sign-in", WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.ok(!(await bodyText()).includes("secret-docs"));
    assert.ok(!(await bodyText()).includes(TOKEN));
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector(".sign-in", WAIT);
    w.check("sign-in");
  });
});
