// Overview page: what the server is, who you are, its cache, and its traffic over the last minutes
// (sampled from /metrics while this page is visible).
import { api, metricsText, paths } from "./api.js";
import { lineChart } from "./chart.js";
import { alertBox, formatBytes, formatDuration, formatNumber, h, replace, showAlert } from "./dom.js";
import { increase, parseMetrics, quantileBetween } from "./metrics.js";

// Kept across visits of the page (client-side only).
const history = []; // {t, rps, p50, p95, errors, gap}
let lastSample = null; // {t, requests, buckets, errors}
let gapNext = false;

const NOT_METRICS = (labels) => labels.route !== "/metrics";

// "2026-12-07 17:42:59 (UTC+01:00)": the browser's local time, unambiguous.
function formatTimestamp(date) {
  const p = (n) => String(n).padStart(2, "0");
  const off = -date.getTimezoneOffset();
  const zone = `UTC${off >= 0 ? "+" : "-"}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} `
    + `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())} (${zone})`;
}

function dlRow(term, valueEl) {
  return [h("dt", term), h("dd", valueEl)];
}

function value(name) {
  return h("span", { dataset: { field: name } }, "…");
}

function legend(items) {
  return h("ul.legend", items.map((label, i) => h("li", h(`span.swatch.series-${i}`, { "aria-hidden": "true" }), label)));
}

export function renderOverview(ctx) {
  ctx.setTitle("Overview");
  const { signal, pollMs } = ctx;
  const windowMs = 60 * pollMs;

  const f = {
    apiVersion: value("version"),
    serverVersion: value("server-version"),
    uptime: value("uptime"),
    started: value("started"),
    storage: value("storage"),
    catalog: value("catalog"),
    instance: value("instance-id"),
    user: value("user"),
    tenant: value("tenant"),
    databases: value("databases"),
    cacheText: value("cache"),
    cacheCollections: value("cache-collections"),
    cacheHits: value("cache-hits"),
    cacheMisses: value("cache-misses"),
    cacheEvictions: value("cache-evictions"),
    rpsNow: value("rps"),
    p50Now: value("p50"),
    p95Now: value("p95"),
    errors4: value("errors-4xx"),
    errors5: value("errors-5xx"),
    chErrors: value("clickhouse-errors"),
    queriesHnsw: value("queries-hnsw"),
    queriesBrute: value("queries-brute-force"),
    inFlight: value("in-flight"),
    ingested: value("rows-ingested"),
  };
  const meter = h("meter.cache-meter", { id: "cache-meter", min: 0, max: 1, value: 0 });
  const rejections = h("div", { dataset: { field: "rejections" } }, "…");
  const rpsChartBox = h("div.chart-box");
  const latencyChartBox = h("div.chart-box");
  const metricsAlert = alertBox();
  const pollStatus = h("p.hint", { role: "status" }, "");

  const id = ctx.identity;
  replace(f.user, id.user_id || "anonymous (no authentication)");
  replace(f.tenant, id.tenant === "*" ? "every tenant (*)" : id.tenant);
  replace(f.databases, (id.databases ?? []).map((d) => (d === "*" ? "every database (*)" : d)).join(", ") || "—");

  const node = h("section.page.overview",
    h("h2", { tabIndex: -1 }, "Overview"),
    h("div.cards",
      h("section.card", { "aria-labelledby": "ov-server" },
        h("h3", { id: "ov-server" }, "Server"),
        h("dl.facts",
          dlRow("Chroma API version", f.apiVersion),
          dlRow("chromahouse version", f.serverVersion),
          dlRow("Uptime", f.uptime),
          dlRow("Started", f.started),
          dlRow("Storage", f.storage),
          dlRow("Catalog store", f.catalog),
          dlRow("Instance id", f.instance))),
      h("section.card", { "aria-labelledby": "ov-you" },
        h("h3", { id: "ov-you" }, "You"),
        h("dl.facts",
          dlRow("User", f.user),
          dlRow("Tenant", f.tenant),
          dlRow("Databases", f.databases)),
        h("p", h("a", { href: `#/t/${encodeURIComponent(ctx.defaultTenant)}` }, "Browse databases and collections"))),
      h("section.card", { "aria-labelledby": "ov-cache" },
        h("h3", { id: "ov-cache" }, "Collection cache"),
        h("div.field", h("label", { htmlFor: "cache-meter" }, "Memory used of the budget"), meter),
        h("p", f.cacheText),
        h("dl.facts",
          dlRow("Collections loaded", f.cacheCollections),
          dlRow("Hits", f.cacheHits),
          dlRow("Misses", f.cacheMisses),
          dlRow("Evictions", f.cacheEvictions)))),
    h("section.card.traffic", { "aria-labelledby": "ov-traffic" },
      h("h3", { id: "ov-traffic" }, "Traffic"),
      pollStatus,
      metricsAlert,
      h("div.charts",
        h("figure",
          h("figcaption", "Requests per second (every route but /metrics): ", h("strong", f.rpsNow)),
          rpsChartBox,
          legend(["requests/s"])),
        h("figure",
          h("figcaption", "Latency: median ", h("strong", f.p50Now), ", 95th percentile ", h("strong", f.p95Now)),
          latencyChartBox,
          legend(["median (p50)", "95th percentile (p95)"])))),
    h("section.card", { "aria-labelledby": "ov-errors" },
      h("h3", { id: "ov-errors" }, "Errors, rejections and queries (since the server started)"),
      h("dl.facts.columns",
        dlRow("Client errors (4xx)", f.errors4),
        dlRow("Server errors (5xx)", f.errors5),
        dlRow("ClickHouse errors", f.chErrors),
        dlRow("Requests in flight", f.inFlight),
        dlRow("Queries through the graph (HNSW)", f.queriesHnsw),
        dlRow("Queries by exact scan (brute force)", f.queriesBrute),
        dlRow("Rows ingested", f.ingested)),
      h("h4", "Rejected requests"),
      rejections));

  api("GET", paths.version(), undefined, { signal }).then(
    (v) => replace(f.apiVersion, typeof v === "string" ? v : JSON.stringify(v)),
    (err) => { if (err.name !== "AbortError") replace(f.apiVersion, `unavailable: ${err.message}`); },
  );

  const drawCharts = () => {
    const pts = history.filter((p) => p.t >= Date.now() - windowMs);
    replace(rpsChartBox, lineChart({
      title: "Requests per second over the last minutes",
      series: [{ label: "requests/s", points: pts.map((p) => ({ t: p.t, v: p.rps, gap: p.gap })) }],
      format: (v) => formatNumber(v, v < 1 ? 2 : v < 10 ? 1 : 0),
      windowMs,
    }));
    replace(latencyChartBox, lineChart({
      title: "Request latency (p50 and p95) in milliseconds over the last minutes",
      series: [
        { label: "p50", points: pts.map((p) => ({ t: p.t, v: p.p50, gap: p.gap })) },
        { label: "p95", points: pts.map((p) => ({ t: p.t, v: p.p95, gap: p.gap })) },
      ],
      format: (v) => `${formatNumber(v, v < 1 ? 2 : v < 10 ? 1 : 0)} ms`,
      windowMs,
    }));
  };
  drawCharts();

  const update = (m) => {
    const now = Date.now();
    // Server facts
    const info = m.samples("chromahouse_info")[0]?.labels;
    replace(f.serverVersion, info?.version ?? "not reported");
    replace(f.storage, info?.storage ?? "not reported");
    replace(f.catalog, info?.catalog ?? "not reported");
    replace(f.instance, info?.instance_id ?? "not reported");
    const start = m.value("chromahouse_start_time_seconds");
    if (start !== null) {
      replace(f.uptime, formatDuration(now / 1000 - start));
      replace(f.started, formatTimestamp(new Date(start * 1000)));
    } else {
      replace(f.uptime, "not reported");
      replace(f.started, "not reported");
    }
    // Cache
    const used = m.value("chromahouse_cache_bytes");
    const budget = m.value("chromahouse_cache_budget_bytes");
    if (used !== null && budget) {
      meter.max = budget;
      meter.value = Math.min(used, budget);
      meter.high = budget * 0.9;
      replace(f.cacheText, `${formatBytes(used)} of ${formatBytes(budget)} (${formatNumber((100 * used) / budget, 1)} %)`);
    } else {
      replace(f.cacheText, used !== null ? `${formatBytes(used)} used (budget not reported)` : "not reported");
    }
    replace(f.cacheCollections, formatNumber(m.value("chromahouse_cache_collections")));
    replace(f.cacheHits, formatNumber(m.value("chromahouse_cache_hits_total")));
    replace(f.cacheMisses, formatNumber(m.value("chromahouse_cache_misses_total")));
    replace(f.cacheEvictions, formatNumber(m.value("chromahouse_cache_evictions_total")));
    // Counters
    const byStatus = (prefix) => m.sum("chromahouse_http_requests_total", (l) => String(l.status ?? "").startsWith(prefix)) ?? 0;
    replace(f.errors4, formatNumber(byStatus("4")));
    replace(f.errors5, formatNumber(byStatus("5")));
    replace(f.chErrors, formatNumber(m.sum("chromahouse_clickhouse_errors_total") ?? 0));
    replace(f.inFlight, formatNumber(m.value("chromahouse_http_in_flight_requests")));
    replace(f.queriesHnsw, formatNumber(m.value("chromahouse_queries_total", (l) => l.path === "hnsw") ?? 0));
    replace(f.queriesBrute, formatNumber(m.value("chromahouse_queries_total", (l) => l.path === "brute_force") ?? 0));
    replace(f.ingested, formatNumber(m.value("chromahouse_rows_ingested_total") ?? 0));
    const rejected = m.samples("chromahouse_http_rejected_total").filter((s) => s.value > 0);
    if (!rejected.length) {
      replace(rejections, h("p", "None."));
    } else {
      replace(rejections, h("table.compact",
        h("caption.visually-hidden", "Rejected requests by reason"),
        h("thead", h("tr", h("th", { scope: "col" }, "Reason"), h("th.num", { scope: "col" }, "Requests"))),
        h("tbody", rejected.map((s) => h("tr",
          h("th", { scope: "row" }, s.labels.reason ?? JSON.stringify(s.labels)),
          h("td.num", formatNumber(s.value)))))));
    }
    // Rates and latency from the previous sample
    const sample = {
      t: now,
      requests: m.sum("chromahouse_http_requests_total", NOT_METRICS) ?? 0,
      buckets: m.buckets("chromahouse_http_request_duration_seconds", NOT_METRICS),
    };
    if (lastSample) {
      const dt = (sample.t - lastSample.t) / 1000;
      const rps = dt > 0 ? increase(lastSample.requests, sample.requests) / dt : null;
      const p50 = quantileBetween(lastSample.buckets, sample.buckets, 0.5);
      const p95 = quantileBetween(lastSample.buckets, sample.buckets, 0.95);
      history.push({
        t: now,
        rps,
        p50: p50 === null ? null : p50 * 1000,
        p95: p95 === null ? null : p95 * 1000,
        gap: gapNext,
      });
      gapNext = false;
      while (history.length && history[0].t < now - 3600 * 1000) history.shift();
      replace(f.rpsNow, rps === null ? "—" : formatNumber(rps, 2));
      replace(f.p50Now, p50 === null ? "no requests" : `${formatNumber(p50 * 1000, 2)} ms`);
      replace(f.p95Now, p95 === null ? "no requests" : `${formatNumber(p95 * 1000, 2)} ms`);
    } else {
      replace(f.rpsNow, "measuring…");
      replace(f.p50Now, "measuring…");
      replace(f.p95Now, "measuring…");
    }
    lastSample = sample;
    drawCharts();
  };

  // Polling: only while this page is shown and the browser tab is visible.
  let timer = null;
  let running = false;
  const seconds = pollMs >= 1000 ? `${formatNumber(pollMs / 1000, 1)} s` : `${pollMs} ms`;
  const tick = async () => {
    timer = null;
    if (signal.aborted || document.visibilityState !== "visible" || running) return;
    running = true;
    try {
      const m = parseMetrics(await metricsText({ signal }));
      showAlert(metricsAlert, null);
      update(m);
      replace(pollStatus, `Sampled from /metrics every ${seconds} while this page is visible; last sample ${new Date().toLocaleTimeString("en-GB")}.`);
    } catch (err) {
      if (err.name === "AbortError") return;
      showAlert(metricsAlert, `Could not read /metrics: ${err.message}`);
    } finally {
      running = false;
    }
    if (!signal.aborted && document.visibilityState === "visible") timer = setTimeout(tick, pollMs);
  };
  const onVisibility = () => {
    if (document.visibilityState === "visible") {
      if (!timer && !running) tick();
    } else {
      clearTimeout(timer);
      timer = null;
      // The next sample starts a new run: no rate over the hidden time.
      lastSample = null;
      gapNext = true;
      replace(pollStatus, "Paused while the page is hidden.");
    }
  };
  document.addEventListener("visibilitychange", onVisibility);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    timer = null;
    document.removeEventListener("visibilitychange", onVisibility);
    // Coming back to the page later: do not draw one line across the time away.
    lastSample = null;
    gapNext = true;
  });
  tick();
  return node;
}
