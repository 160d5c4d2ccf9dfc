// Tenants, databases and their collections; creating tenants, databases and collections.
import { api, paths } from "./api.js";
import {
  alertBox, confirmDialog, field, formatNumber, h, hrefCollection, hrefDatabase, hrefTenant, replace,
  showAlert, statusBox,
} from "./dom.js";

const COLLECTION_PAGE = 20;
const DATABASE_PAGE = 20;

// ---- shared pieces ----------------------------------------------------------------------------

export function breadcrumbs(items) {
  return h("nav.breadcrumbs", { "aria-label": "Breadcrumb" },
    h("ol", items.map(([label, href], i) => h("li",
      i === items.length - 1
        ? h("span", { "aria-current": "page" }, label)
        : h("a", { href }, label)))));
}

export function metricOf(collection) {
  return collection?.configuration_json?.hnsw?.space
    ?? collection?.configuration_json?.spann?.space
    ?? collection?.metadata?.["hnsw:space"]
    ?? "l2";
}

// A <progress> plus text: "100 % indexed" / "62 % indexed, 120 operations waiting".
export function indexingView(status) {
  if (!status) return h("span", "—");
  const p = Number(status.op_indexing_progress);
  const waiting = Number(status.num_unindexed_ops ?? 0);
  const pct = Number.isFinite(p) ? Math.floor(p * 1000) / 10 : null;
  const text = pct === null
    ? "unknown"
    : waiting > 0
      ? `${formatNumber(pct, 1)} % indexed, ${formatNumber(waiting)} operation${waiting === 1 ? "" : "s"} waiting`
      : `${formatNumber(pct, 1)} % indexed`;
  const bar = h("progress", { max: 1, value: Number.isFinite(p) ? p : 0, "aria-label": `Indexing progress: ${text}` });
  return h("span.indexing", { dataset: { state: waiting > 0 ? "indexing" : "done" } }, bar, h("span", text));
}

function pager({ offset, pageSize, shown, total, onPage, label }) {
  const from = shown ? offset + 1 : 0;
  const to = offset + shown;
  const summary = total !== null && total !== undefined
    ? `${label} ${from}–${to} of ${formatNumber(total)}`
    : `${label} ${from}–${to}`;
  const hasNext = total !== null && total !== undefined ? to < total : shown === pageSize;
  if (offset === 0 && !hasNext) return h("p.pager-summary", summary);
  return h("div.pager",
    h("button.secondary", { type: "button", disabled: offset === 0, on: { click: () => onPage(Math.max(0, offset - pageSize)) } }, "Previous page"),
    h("span.pager-summary", summary),
    h("button.secondary", { type: "button", disabled: !hasNext, on: { click: () => onPage(offset + pageSize) } }, "Next page"));
}

// The collections of one database: a paged table, with counts and indexing status per row.
export function collectionsTable(ctx, tenant, db) {
  const box = h("div.collections", { dataset: { database: db } });
  const alert = alertBox();
  const body = h("div", statusBox());
  box.append(alert, body);
  let offset = 0;

  const load = async () => {
    replace(body, h("p.status", { role: "status" }, "Loading collections…"));
    showAlert(alert, null);
    try {
      const [list, total] = await Promise.all([
        api("GET", `${paths.collections(tenant, db)}?limit=${COLLECTION_PAGE}&offset=${offset}`, undefined, { signal: ctx.signal }),
        api("GET", paths.collectionsCount(tenant, db), undefined, { signal: ctx.signal }).catch(() => null),
      ]);
      if (!list.length && offset > 0) {
        offset = Math.max(0, offset - COLLECTION_PAGE);
        load();
        return;
      }
      if (!list.length) {
        replace(body, h("p.empty", `No collections in database ${db}.`));
        return;
      }
      const rows = list.map((c) => {
        const count = h("td.num", "…");
        const indexing = h("td", "…");
        api("GET", paths.op(tenant, db, c.id, "count"), undefined, { signal: ctx.signal }).then(
          (n) => replace(count, formatNumber(Number(n))),
          (err) => { if (err.name !== "AbortError") replace(count, `error: ${err.message}`); });
        api("GET", paths.op(tenant, db, c.id, "indexing_status"), undefined, { signal: ctx.signal }).then(
          (s) => replace(indexing, indexingView(s)),
          (err) => { if (err.name !== "AbortError") replace(indexing, `error: ${err.message}`); });
        return h("tr", { dataset: { collectionId: c.id, collectionName: c.name } },
          h("th", { scope: "row" }, h("a", { href: hrefCollection(tenant, db, c.id) }, c.name)),
          h("td", h("code.id", c.id)),
          count,
          h("td.num", c.dimension ?? "—"),
          h("td", metricOf(c)),
          indexing);
      });
      replace(body,
        h("table.data.collections-table",
          h("caption.visually-hidden", `Collections in database ${db}`),
          h("colgroup", h("col.c-name"), h("col.c-id"), h("col.c-count"), h("col.c-dim"), h("col.c-metric"), h("col.c-index")),
          h("thead", h("tr",
            h("th", { scope: "col" }, "Name"),
            h("th", { scope: "col" }, "ID"),
            h("th.num", { scope: "col" }, "Records"),
            h("th.num", { scope: "col" }, "Dimension"),
            h("th", { scope: "col" }, "Metric"),
            h("th", { scope: "col" }, "Indexing"))),
          h("tbody", rows)),
        pager({
          offset, pageSize: COLLECTION_PAGE, shown: list.length, total: typeof total === "number" ? total : null,
          label: "Collections",
          onPage: (o) => { offset = o; load(); },
        }));
    } catch (err) {
      if (err.name === "AbortError") return;
      replace(body);
      showAlert(alert, err.message);
    }
  };
  load();
  box.reload = load;
  return box;
}

// A form whose submit asks for confirmation and then runs `action`; errors are shown verbatim.
function adminForm({ id, title, fields, submitLabel, confirm, action }) {
  const alert = alertBox();
  const status = statusBox();
  const submit = h("button", { type: "submit" }, submitLabel);
  const form = h("form.admin-form", { novalidate: true, "aria-labelledby": id },
    h("h4", { id }, title), fields.map((f) => f.field), h("div.actions", submit), alert, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(alert, null);
    replace(status);
    const values = Object.fromEntries(fields.map((f) => [f.name, f.control.value.trim()]));
    const dlg = confirm(values);
    if (dlg.problem) {
      showAlert(alert, dlg.problem);
      return;
    }
    if (!(await confirmDialog(dlg))) {
      replace(status, "Cancelled.");
      return;
    }
    submit.disabled = true;
    try {
      await action(values, status);
      form.reset();
    } catch (err) {
      if (err.name !== "AbortError") showAlert(alert, err.message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function textField(name, label, hint) {
  const control = h("input", { type: "text", name, autocomplete: "off", spellcheck: false, required: true });
  return { name, control, field: field(label, control, hint) };
}

const NAME_HINT = "3–512 characters: letters, digits, '.', '_' or '-', starting and ending with a letter or digit.";

// ---- tenant page: its databases, each with its collections -----------------------------------

export function renderTenant(ctx, tenant) {
  ctx.setTitle(`Tenant ${tenant}`);
  const flash = ctx.takeFlash();
  const alert = alertBox();
  const listBox = h("div.databases", h("p.status", { role: "status" }, "Loading databases…"));
  let dbOffset = 0;

  const tenantInput = h("input", {
    type: "text", name: "tenant", id: "tenant-input", value: tenant, autocomplete: "off", spellcheck: false,
    "aria-describedby": "tenant-hint",
  });
  const tenantForm = h("form.inline-form", { novalidate: true, role: "search", "aria-label": "Open a tenant" },
    h("div.field",
      h("label", { htmlFor: "tenant-input" }, "Tenant"),
      h("div.inline-row", tenantInput, h("button", { type: "submit" }, "Open tenant")),
      h("p.hint", { id: "tenant-hint" }, "Chroma has no list of tenants: type the name of the one to open.")));
  tenantForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const t = tenantInput.value.trim();
    if (t) ctx.navigate(hrefTenant(t));
  });

  const loadDatabases = async () => {
    showAlert(alert, null);
    try {
      const [, dbs] = await Promise.all([
        api("GET", paths.tenant(tenant), undefined, { signal: ctx.signal }),
        api("GET", `${paths.databases(tenant)}?limit=${DATABASE_PAGE}&offset=${dbOffset}`, undefined, { signal: ctx.signal }),
      ]);
      if (!dbs.length) {
        replace(listBox, h("p.empty", `No databases in tenant ${tenant}.`));
        return;
      }
      replace(listBox,
        dbs.map((db) => h("section.card.database", { "aria-labelledby": `db-${db.id}`, dataset: { database: db.name } },
          h("div.card-head",
            h("h4", { id: `db-${db.id}` }, "Database ", h("a", { href: hrefDatabase(tenant, db.name) }, db.name)),
            h("a.button-link", { href: hrefDatabase(tenant, db.name) }, `Manage ${db.name}`)),
          collectionsTable(ctx, tenant, db.name))),
        dbOffset > 0 || dbs.length === DATABASE_PAGE
          ? pager({
            offset: dbOffset, pageSize: DATABASE_PAGE, shown: dbs.length, total: null, label: "Databases",
            onPage: (o) => { dbOffset = o; loadDatabases(); },
          })
          : null);
    } catch (err) {
      if (err.name === "AbortError") return;
      replace(listBox);
      showAlert(alert, err.message);
    }
  };
  loadDatabases();

  const dbName = textField("name", "New database name", NAME_HINT);
  const createDb = adminForm({
    id: "create-database-title",
    title: `Create a database in tenant ${tenant}`,
    fields: [dbName],
    submitLabel: "Create database",
    confirm: ({ name }) => (name
      ? { title: "Create database?", body: h("p", `Create database “${name}” in tenant “${tenant}”?`), confirmLabel: "Create database" }
      : { problem: "Enter a database name." }),
    action: async ({ name }, status) => {
      await api("POST", paths.databases(tenant), { name }, { signal: ctx.signal });
      replace(status, `Database ${name} created.`);
      loadDatabases();
    },
  });
  const tenantName = textField("name", "New tenant name", NAME_HINT);
  const createTenant = adminForm({
    id: "create-tenant-title",
    title: "Create a tenant",
    fields: [tenantName],
    submitLabel: "Create tenant",
    confirm: ({ name }) => (name
      ? { title: "Create tenant?", body: h("p", `Create tenant “${name}”?`), confirmLabel: "Create tenant" }
      : { problem: "Enter a tenant name." }),
    action: async ({ name }) => {
      await api("POST", paths.tenants(), { name }, { signal: ctx.signal });
      ctx.flash(`Tenant ${name} created.`);
      ctx.navigate(hrefTenant(name));
    },
  });

  return h("section.page.tenant",
    breadcrumbs([[`Tenant ${tenant}`, hrefTenant(tenant)]]),
    h("h2", { tabIndex: -1 }, "Databases and collections"),
    flash ? h("p.flash", { role: "status" }, flash) : null,
    tenantForm,
    h("section", { "aria-labelledby": "tenant-dbs" },
      h("h3", { id: "tenant-dbs" }, `Databases in tenant ${tenant}`),
      alert,
      listBox),
    h("section.admin", { "aria-labelledby": "tenant-admin" },
      h("h3", { id: "tenant-admin" }, "Administration"),
      h("div.admin-grid", createDb, createTenant)));
}

// ---- database page: its collections, and creating one -----------------------------------------

export function renderDatabase(ctx, tenant, db) {
  ctx.setTitle(`Database ${db}`);
  const flash = ctx.takeFlash();
  const table = collectionsTable(ctx, tenant, db);

  const name = textField("name", "Collection name", NAME_HINT);
  const space = h("select", { name: "space" },
    h("option", { value: "" }, "server default (l2)"),
    h("option", { value: "l2" }, "l2 (squared Euclidean)"),
    h("option", { value: "cosine" }, "cosine"),
    h("option", { value: "ip" }, "ip (inner product)"));
  const spaceField = { name: "space", control: space, field: field("Distance metric", space) };
  const create = adminForm({
    id: "create-collection-title",
    title: "Create a collection",
    fields: [name, spaceField],
    submitLabel: "Create collection",
    confirm: ({ name: n, space: s }) => (n
      ? {
        title: "Create collection?",
        body: h("p", `Create collection “${n}” in ${tenant} / ${db} with the ${s || "default (l2)"} metric?`),
        confirmLabel: "Create collection",
      }
      : { problem: "Enter a collection name." }),
    action: async ({ name: n, space: s }, status) => {
      const body = { name: n };
      if (s) body.configuration = { hnsw: { space: s } };
      const created = await api("POST", paths.collections(tenant, db), body, { signal: ctx.signal });
      replace(status, "Collection ", h("a", { href: hrefCollection(tenant, db, created.id) }, created.name), " created.");
      table.reload();
    },
  });

  return h("section.page.database",
    breadcrumbs([[`Tenant ${tenant}`, hrefTenant(tenant)], [`Database ${db}`, hrefDatabase(tenant, db)]]),
    h("h2", { tabIndex: -1 }, `Database ${db}`),
    flash ? h("p.flash", { role: "status" }, flash) : null,
    h("section", { "aria-labelledby": "db-collections" },
      h("h3", { id: "db-collections" }, "Collections"),
      table),
    h("section.admin", { "aria-labelledby": "db-admin" },
      h("h3", { id: "db-admin" }, "Administration"),
      h("div.admin-grid", create)));
}
