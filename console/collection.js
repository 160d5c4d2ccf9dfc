// One collection: details, a paged and filterable record table, "more like this", rename, delete.
import { api, metricsText, paths } from "./api.js";
import { breadcrumbs, indexingView, metricOf } from "./databases.js";
import {
  alertBox, compactJson, confirmDialog, field, formatBytes, formatDuration, formatNumber, h, hrefCollection,
  hrefDatabase, hrefTenant,
  prettyJson, replace, showAlert, statusBox, truncate, uid,
} from "./dom.js";
import { parseMetrics } from "./metrics.js";

const PLAN_LABELS = { hnsw: "graph (HNSW)", brute_force: "exact scan (brute force)" };

function embeddingPreview(embedding) {
  if (!Array.isArray(embedding)) return "—";
  const head = embedding.slice(0, 4).map((x) => (typeof x === "number" ? Number(x.toPrecision(4)) : x));
  return `[${head.join(", ")}${embedding.length > 4 ? ", …" : ""}] (${embedding.length}-d)`;
}

function formatDistance(d) {
  if (d === null || d === undefined) return "—";
  const v = Number(d);
  return v === 0 || Math.abs(v) >= 1e-6 ? v.toFixed(6) : v.toExponential(3);
}

function documentCell(doc) {
  if (doc === null || doc === undefined) return h("td.doc", h("span.muted", "none"));
  const short = truncate(doc, 160);
  return h("td.doc", { title: short !== doc ? truncate(doc, 2000) : null }, short);
}

function metadataCell(meta) {
  if (meta === null || meta === undefined) return h("td.meta", h("span.muted", "none"));
  const json = compactJson(meta);
  const short = truncate(json, 200);
  return h("td.meta", { title: short !== json ? truncate(json, 2000) : null }, h("code", short));
}

async function queryCounters(signal) {
  const m = parseMetrics(await metricsText({ signal }));
  const out = {};
  for (const s of m.samples("chromahouse_queries_total")) out[s.labels.path] = s.value;
  return out;
}

export function renderCollection(ctx, tenant, db, collectionId) {
  ctx.setTitle("Collection");
  const { signal } = ctx;
  const flash = ctx.takeFlash();
  let current = null; // the collection as the server last described it

  const title = h("h2", { tabIndex: -1 }, "Collection");
  const crumbs = breadcrumbs([
    [`Tenant ${tenant}`, hrefTenant(tenant)],
    [`Database ${db}`, hrefDatabase(tenant, db)],
    [`Collection ${collectionId}`, hrefCollection(tenant, db, collectionId)],
  ]);
  const crumbName = crumbs.querySelector("[aria-current]");
  const pageAlert = alertBox();

  // ---- details --------------------------------------------------------------------------------
  const f = {
    name: h("span", { dataset: { field: "name" } }, "…"),
    id: h("code.id", { dataset: { field: "id" } }, collectionId),
    count: h("span", { dataset: { field: "count" } }, "…"),
    dimension: h("span", { dataset: { field: "dimension" } }, "…"),
    metric: h("span", { dataset: { field: "metric" } }, "…"),
    indexing: h("span", { dataset: { field: "indexing" } }, "…"),
    memory: h("span", { dataset: { field: "memory" } }, "…"),
    snapshot: h("span", { dataset: { field: "snapshot" } }, "…"),
  };
  const metadataPre = h("pre.json", "…");
  const configPre = h("pre.json", "…");
  const schemaPre = h("pre.json", "…");

  const loadDetails = async () => {
    try {
      const c = await api("GET", paths.collectionById(tenant, db, collectionId), undefined, { signal });
      current = c;
      ctx.setTitle(`Collection ${c.name}`);
      replace(title, `Collection ${c.name}`);
      replace(crumbName, `Collection ${c.name}`);
      replace(f.name, c.name);
      replace(f.dimension, c.dimension ?? "not set yet (no records)");
      replace(f.metric, metricOf(c));
      replace(metadataPre, prettyJson(c.metadata));
      replace(configPre, prettyJson(c.configuration_json));
      replace(schemaPre, prettyJson(c.schema));
      updateDeleteLabel();
      const [count, status] = await Promise.all([
        api("GET", paths.op(tenant, db, collectionId, "count"), undefined, { signal }),
        api("GET", paths.op(tenant, db, collectionId, "indexing_status"), undefined, { signal }).catch((err) => err),
      ]);
      replace(f.count, formatNumber(Number(count)));
      totalRecords = Number(count);
      replace(f.indexing, status instanceof Error ? `unavailable: ${status.message}` : indexingView(status));
      // Memory and index snapshot, as this instance's /metrics reports them (after the count
      // above, the collection is loaded here).
      try {
        const m = parseMetrics(await metricsText({ signal }));
        const mine = (labels) => labels.collection === collectionId;
        const bytes = m.value("chromahouse_collection_memory_bytes", mine);
        replace(f.memory, bytes === null ? "not loaded in this instance" : formatBytes(bytes));
        const written = m.value("chromahouse_collection_snapshot_timestamp_seconds", mine);
        replace(f.snapshot, written === null ? "none (the graph was built here, or is too small to save)"
          : `written ${formatDuration(Math.max(0, Date.now() / 1000 - written))} ago`);
      } catch (err) {
        if (err.name === "AbortError") throw err;
        replace(f.memory, `unavailable: ${err.message}`);
        replace(f.snapshot, "unavailable");
      }
      return true;
    } catch (err) {
      if (err.name === "AbortError") return false;
      showAlert(pageAlert, err.message);
      return false;
    }
  };

  const details = h("section.card", { "aria-labelledby": "col-details" },
    h("div.card-head",
      h("h3", { id: "col-details" }, "Details"),
      h("button.secondary", { type: "button", on: { click: () => { loadDetails(); loadRecords(); } } }, "Refresh")),
    h("dl.facts.columns",
      h("dt", "Name"), h("dd", f.name),
      h("dt", "ID"), h("dd", f.id),
      h("dt", "Records"), h("dd", f.count),
      h("dt", "Dimension"), h("dd", f.dimension),
      h("dt", "Metric"), h("dd", f.metric),
      h("dt", "Indexing"), h("dd", f.indexing),
      h("dt", "Memory held"), h("dd", f.memory),
      h("dt", "Index snapshot"), h("dd", f.snapshot)),
    h("details", h("summary", "Metadata"), metadataPre),
    h("details", h("summary", "Configuration (configuration_json)"), configPre),
    h("details", h("summary", "Schema"), schemaPre));

  // ---- records --------------------------------------------------------------------------------
  const state = { where: null, whereDocument: null, ids: null, offset: 0, pageSize: 20 };
  let totalRecords = null;
  const recordsAlert = alertBox();
  const recordsStatus = statusBox();
  const recordsBox = h("div.records-box");
  const pagerBox = h("div");

  const whereInput = h("textarea", { name: "where", rows: 3, spellcheck: false, placeholder: '{"kind": "b"}' });
  const whereDocInput = h("textarea", { name: "where_document", rows: 3, spellcheck: false, placeholder: '{"$contains": "word"}' });
  const filterForm = h("form.filter-form", { novalidate: true, "aria-labelledby": "filter-title" },
    h("h4", { id: "filter-title" }, "Filter"),
    h("div.two-col",
      field("where (metadata filter, JSON)", whereInput),
      field("where_document (document filter, JSON)", whereDocInput)),
    h("div.actions",
      h("button", { type: "submit" }, "Apply filter"),
      h("button.secondary", {
        type: "button",
        on: {
          click: () => {
            whereInput.value = "";
            whereDocInput.value = "";
            state.where = null;
            state.whereDocument = null;
            state.offset = 0;
            loadRecords();
          },
        },
      }, "Clear filter")));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const parse = (input, label) => {
      const text = input.value.trim();
      if (!text) return null;
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(`${label} is not valid JSON: ${err.message}`);
      }
    };
    try {
      state.where = parse(whereInput, "where");
      state.whereDocument = parse(whereDocInput, "where_document");
    } catch (err) {
      showAlert(recordsAlert, err.message);
      return;
    }
    state.offset = 0;
    loadRecords();
  });

  const idsInput = h("input", { type: "text", name: "ids", autocomplete: "off", spellcheck: false });
  const idsForm = h("form.ids-form", { novalidate: true, "aria-labelledby": "ids-title" },
    h("h4", { id: "ids-title" }, "Get by IDs"),
    field("IDs (comma-separated)", idsInput),
    h("div.actions",
      h("button", { type: "submit" }, "Get by IDs"),
      h("button.secondary", {
        type: "button",
        on: { click: () => { idsInput.value = ""; state.ids = null; state.offset = 0; loadRecords(); } },
      }, "Clear IDs")));
  idsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = idsInput.value.split(",").map((s) => s.trim()).filter(Boolean);
    state.ids = ids.length ? ids : null;
    state.offset = 0;
    loadRecords();
  });

  const pageSizeSelect = h("select", { name: "page-size" },
    [10, 20, 50, 100].map((n) => h("option", { value: String(n), selected: n === state.pageSize }, String(n))));
  pageSizeSelect.addEventListener("change", () => {
    state.pageSize = Number(pageSizeSelect.value);
    state.offset = 0;
    loadRecords();
  });

  let recordsRequest = 0;
  const loadRecords = async () => {
    const mine = ++recordsRequest;
    showAlert(recordsAlert, null);
    replace(recordsStatus, "Loading records…");
    const body = {
      limit: state.pageSize + 1, // one more than shown: tells whether there is a next page
      offset: state.offset,
      include: ["documents", "metadatas", "embeddings"],
    };
    if (state.where) body.where = state.where;
    if (state.whereDocument) body.where_document = state.whereDocument;
    if (state.ids) body.ids = state.ids;
    try {
      const res = await api("POST", paths.op(tenant, db, collectionId, "get"), body, { signal });
      if (mine !== recordsRequest) return;
      const ids = res.ids ?? [];
      const shown = Math.min(ids.length, state.pageSize);
      const hasNext = ids.length > state.pageSize;
      const filtered = Boolean(state.where || state.whereDocument || state.ids);
      const rows = [];
      for (let i = 0; i < shown; i += 1) {
        const emb = res.embeddings?.[i] ?? null;
        const id = ids[i];
        rows.push(h("tr", { dataset: { id } },
          h("th", { scope: "row" }, h("code.id", id)),
          documentCell(res.documents?.[i]),
          metadataCell(res.metadatas?.[i]),
          h("td.emb", h("code", embeddingPreview(emb))),
          h("td", h("button.secondary.small.more-like-this", {
            type: "button",
            disabled: !Array.isArray(emb),
            "aria-label": `More like this: ${id}`,
            on: { click: () => moreLikeThis(id, emb) },
          }, "More like this"))));
      }
      const from = shown ? state.offset + 1 : 0;
      const to = state.offset + shown;
      const filters = [];
      if (state.where) filters.push(`where ${compactJson(state.where)}`);
      if (state.whereDocument) filters.push(`where_document ${compactJson(state.whereDocument)}`);
      if (state.ids) filters.push(`ids ${state.ids.join(", ")}`);
      let summary;
      if (!shown) summary = filtered ? `No records match (${filters.join("; ")}).` : "This collection has no records.";
      else if (filtered) summary = `Showing matching records ${from}–${to}${hasNext ? "" : ` (${to} in all)`}; filter: ${filters.join("; ")}.`;
      else summary = `Showing records ${from}–${to}${totalRecords !== null ? ` of ${formatNumber(totalRecords)}` : ""}.`;
      replace(recordsStatus, summary);
      replace(recordsBox, shown
        ? h("table.data.records-table",
          h("caption.visually-hidden", "Records"),
          h("colgroup", h("col.r-id"), h("col.r-doc"), h("col.r-meta"), h("col.r-emb"), h("col.r-act")),
          h("thead", h("tr",
            h("th", { scope: "col" }, "ID"),
            h("th", { scope: "col" }, "Document"),
            h("th", { scope: "col" }, "Metadata"),
            h("th", { scope: "col" }, "Embedding"),
            h("th", { scope: "col" }, h("span.visually-hidden", "Actions")))),
          h("tbody", rows))
        : null);
      replace(pagerBox, h("div.pager",
        h("button.secondary", {
          type: "button",
          disabled: state.offset === 0,
          on: { click: () => { state.offset = Math.max(0, state.offset - state.pageSize); loadRecords(); } },
        }, "Previous page"),
        h("span.pager-summary", shown ? `Records ${from}–${to}` : ""),
        h("button.secondary", {
          type: "button",
          disabled: !hasNext,
          on: { click: () => { state.offset += state.pageSize; loadRecords(); } },
        }, "Next page"),
        field("Records per page", pageSizeSelect)));
    } catch (err) {
      if (err.name === "AbortError" || mine !== recordsRequest) return;
      replace(recordsStatus, "");
      replace(recordsBox);
      showAlert(recordsAlert, err.message); // the server's own message, verbatim
    }
  };

  const records = h("section.card", { "aria-labelledby": "col-records" },
    h("h3", { id: "col-records" }, "Records"),
    h("div.query-forms", filterForm, idsForm),
    recordsAlert,
    recordsStatus,
    recordsBox,
    pagerBox);

  // ---- more like this -------------------------------------------------------------------------
  const mltTitleId = uid("mlt");
  const mltTitle = h("h3", { id: mltTitleId, tabIndex: -1 }, "More like this");
  const mltStatus = statusBox();
  const mltAlert = alertBox();
  const mltBody = h("div");
  const mlt = h("section.card.more-like-this-results", { "aria-labelledby": mltTitleId, hidden: true },
    mltTitle, mltAlert, mltStatus, mltBody);

  let mltRequest = 0;
  const moreLikeThis = async (id, embedding) => {
    const mine = ++mltRequest;
    mlt.hidden = false;
    replace(mltTitle, `More like this: records nearest to ${id}`);
    showAlert(mltAlert, null);
    replace(mltStatus, "Searching…");
    replace(mltBody);
    mltTitle.focus();
    let before = null;
    let metricsProblem = null;
    try {
      before = await queryCounters(signal);
    } catch (err) {
      if (err.name === "AbortError") return;
      metricsProblem = err.message;
    }
    let res;
    let ms;
    try {
      const t0 = performance.now();
      res = await api("POST", paths.op(tenant, db, collectionId, "query"), {
        query_embeddings: [embedding],
        n_results: 10,
        include: ["documents", "metadatas", "distances"],
      }, { signal });
      ms = performance.now() - t0;
    } catch (err) {
      if (err.name === "AbortError" || mine !== mltRequest) return;
      replace(mltStatus, "");
      showAlert(mltAlert, err.message);
      return;
    }
    let after = null;
    if (before) {
      try {
        after = await queryCounters(signal);
      } catch (err) {
        if (err.name === "AbortError") return;
        metricsProblem = err.message;
      }
    }
    if (mine !== mltRequest) return;
    let plan;
    if (!before || !after) {
      plan = `unknown (/metrics could not be read: ${metricsProblem})`;
    } else {
      const moved = Object.keys({ ...before, ...after })
        .map((path) => [path, (after[path] ?? 0) - (before[path] ?? 0)])
        .filter(([, d]) => d > 0);
      if (moved.length === 1) plan = PLAN_LABELS[moved[0][0]] ?? moved[0][0];
      else if (!moved.length) plan = "unknown (no query counter moved)";
      else plan = `unclear, other queries ran meanwhile: ${moved.map(([p, d]) => `${PLAN_LABELS[p] ?? p} +${d}`).join(", ")}`;
    }
    const ids = res.ids?.[0] ?? [];
    const distances = res.distances?.[0] ?? [];
    const docs = res.documents?.[0] ?? [];
    const metas = res.metadatas?.[0] ?? [];
    replace(mltStatus, `${ids.length} result${ids.length === 1 ? "" : "s"}.`);
    replace(mltBody,
      h("p.plan",
        "Plan: ", h("strong", { dataset: { field: "plan" } }, plan),
        " · time: ", h("strong", { dataset: { field: "query-time" } }, `${ms.toFixed(1)} ms`),
        h("span.muted", " (the whole request, measured in the browser)")),
      h("table.data.results-table",
        h("caption.visually-hidden", `Records nearest to ${id}`),
        h("colgroup", h("col.q-rank"), h("col.q-id"), h("col.q-dist"), h("col.q-doc"), h("col.q-meta")),
        h("thead", h("tr",
          h("th.num", { scope: "col" }, "Rank"),
          h("th", { scope: "col" }, "ID"),
          h("th.num", { scope: "col" }, "Distance"),
          h("th", { scope: "col" }, "Document"),
          h("th", { scope: "col" }, "Metadata"))),
        h("tbody", ids.map((rid, i) => h("tr", { dataset: { id: rid } },
          h("td.num", String(i + 1)),
          h("th", { scope: "row" }, h("code.id", rid)),
          h("td.num.distance", formatDistance(distances[i])),
          documentCell(docs[i]),
          metadataCell(metas[i]))))));
  };

  // ---- administration ------------------------------------------------------------------------
  const renameAlert = alertBox();
  const renameStatus = statusBox();
  const newNameInput = h("input", { type: "text", name: "new_name", autocomplete: "off", spellcheck: false });
  const renameForm = h("form.admin-form", { novalidate: true, "aria-labelledby": "rename-title" },
    h("h4", { id: "rename-title" }, "Rename"),
    field("New name", newNameInput),
    h("div.actions", h("button", { type: "submit" }, "Rename collection")),
    renameAlert, renameStatus);
  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(renameAlert, null);
    replace(renameStatus);
    const newName = newNameInput.value.trim();
    if (!newName) {
      showAlert(renameAlert, "Enter the new name.");
      return;
    }
    const oldName = current?.name ?? collectionId;
    const ok = await confirmDialog({
      title: "Rename collection?",
      body: h("p", `Rename collection “${oldName}” to “${newName}”?`),
      confirmLabel: "Rename",
    });
    if (!ok) {
      replace(renameStatus, "Cancelled.");
      return;
    }
    try {
      await api("PUT", paths.collection(tenant, db, collectionId), { new_name: newName }, { signal });
      newNameInput.value = "";
      await loadDetails();
      replace(renameStatus, `Renamed “${oldName}” to “${newName}”.`);
    } catch (err) {
      if (err.name !== "AbortError") showAlert(renameAlert, err.message);
    }
  });

  const deleteAlert = alertBox();
  const deleteInput = h("input", { type: "text", name: "confirm_name", autocomplete: "off", spellcheck: false });
  const deleteLabel = h("label", { htmlFor: deleteInput.id || (deleteInput.id = uid("in")) }, "Type the collection name to confirm");
  const deleteButton = h("button.danger", { type: "submit", disabled: true }, "Delete collection");
  const updateDeleteLabel = () => {
    replace(deleteLabel, `Type the collection name (${current?.name ?? "…"}) to confirm`);
    deleteButton.disabled = !current || deleteInput.value !== current.name;
  };
  deleteInput.addEventListener("input", updateDeleteLabel);
  const deleteForm = h("form.admin-form.delete-form", { novalidate: true, "aria-labelledby": "delete-title" },
    h("h4", { id: "delete-title" }, "Delete"),
    h("p", "Deleting removes the collection and all its records. This cannot be undone."),
    h("div.field", deleteLabel, deleteInput),
    h("div.actions", deleteButton),
    deleteAlert);
  deleteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(deleteAlert, null);
    if (!current || deleteInput.value !== current.name) {
      showAlert(deleteAlert, "Type the collection's name exactly to confirm.");
      return;
    }
    deleteButton.disabled = true;
    try {
      await api("DELETE", paths.collectionByName(tenant, db, current.name), undefined, { signal });
      ctx.flash(`Collection ${current.name} deleted.`);
      ctx.navigate(hrefDatabase(tenant, db));
    } catch (err) {
      if (err.name !== "AbortError") showAlert(deleteAlert, err.message);
      updateDeleteLabel();
    }
  });

  const admin = h("section.card.admin", { "aria-labelledby": "col-admin" },
    h("h3", { id: "col-admin" }, "Administration"),
    h("div.admin-grid", renameForm, deleteForm));

  const node = h("section.page.collection", { dataset: { collectionId } },
    crumbs,
    title,
    flash ? h("p.flash", { role: "status" }, flash) : null,
    pageAlert,
    details,
    records,
    mlt,
    admin);

  loadDetails().then((ok) => {
    if (ok) loadRecords();
  });
  updateDeleteLabel();
  return node;
}
