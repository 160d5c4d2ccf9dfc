// Small DOM helpers. Every piece of text goes through textContent (via text nodes), never
// innerHTML, so whatever the server returns is shown, not interpreted.

// h("tag.class1.class2", {attr: value, on: {click: fn}}, ...children)
// Children may be strings/numbers (text nodes), nodes, arrays, or null/undefined/false (skipped).
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    if (attrs !== undefined) children.unshift(attrs);
    attrs = {};
  }
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.classList.add(...classes);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "on") {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "style") {
      throw new Error("style attributes are not allowed (Content-Security-Policy); use a class");
    } else if (key in el && typeof el[key] !== "function" && !key.startsWith("aria") && key !== "role" && key !== "list") {
      el[key] = value;
    } else if (value !== false) {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// Unique ids for label/input pairs.
let nextId = 0;
export function uid(prefix = "f") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// A labelled control: returns {field, control}. `control` is an <input>, <textarea> or <select>.
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid("in");
  let hintEl = null;
  if (hint) {
    hintEl = h("p.hint", { id: uid("hint") }, hint);
    control.setAttribute("aria-describedby", hintEl.id);
  }
  const wrap = h("div.field", h("label", { htmlFor: control.id }, labelText), control, hintEl);
  return wrap;
}

// An element whose changes are announced: role=alert for errors, role=status for progress.
export function alertBox() {
  return h("div.alert", { role: "alert", hidden: true });
}
export function statusBox() {
  return h("p.status", { role: "status" });
}

export function showAlert(box, message) {
  if (!message) {
    box.hidden = true;
    clear(box);
    return;
  }
  box.hidden = false;
  replace(box, message);
}

// Text helpers
export function truncate(text, max) {
  const s = String(text ?? "");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatNumber(n, digits = 0) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${hr} h ${m} min`;
  if (hr > 0) return `${hr} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

export function formatMs(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const ms = seconds * 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

export function prettyJson(value) {
  return JSON.stringify(value ?? null, null, 2);
}

export function compactJson(value) {
  return JSON.stringify(value ?? null);
}

// Hash links
export function enc(s) {
  return encodeURIComponent(s);
}
export function hrefTenant(tenant) {
  return `#/t/${enc(tenant)}`;
}
export function hrefDatabase(tenant, db) {
  return `#/t/${enc(tenant)}/d/${enc(db)}`;
}
export function hrefCollection(tenant, db, id) {
  return `#/t/${enc(tenant)}/d/${enc(db)}/c/${enc(id)}`;
}

// A modal confirmation step. Resolves true when confirmed, false when cancelled (button or Esc).
export function confirmDialog({ title, body, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    let result = false;
    const cancel = h("button.secondary", { type: "button", on: { click: () => dialog.close() } }, "Cancel");
    const ok = h(`button.confirm${danger ? ".danger" : ""}`, {
      type: "button",
      on: { click: () => { result = true; dialog.close(); } },
    }, confirmLabel);
    const dialog = h("dialog.confirm-dialog", { "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      h("div.dialog-body", body),
      h("div.actions", cancel, ok));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    (danger ? cancel : ok).focus();
  });
}
