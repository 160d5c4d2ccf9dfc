// chromahouse console: the application shell (sign-in, navigation, hash routing).
import { api, ApiError, clearCredentials, credentialProblem, getCredentials, onUnauthorized, paths, setCredentials } from "./api.js";
import { alertBox, field, h, replace, showAlert } from "./dom.js";
import { renderOverview } from "./overview.js";
import { renderDatabase, renderTenant } from "./databases.js";
import { renderCollection } from "./collection.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const signOutButton = document.getElementById("sign-out");
const nav = document.getElementById("main-nav");
const collectionsLink = document.getElementById("nav-collections");

const params = new URLSearchParams(location.search);
const pollParam = Number(params.get("poll"));
const POLL_MS = Number.isFinite(pollParam) && pollParam >= 200 ? pollParam : 5000;

let identity = null; // {user_id, tenant, databases} once signed in (or when auth is off)
let signInMessage = null;
let pageController = null; // aborts the current page's requests and timers
let flashMessage = null;
let firstRender = true;

function defaultTenant() {
  const t = identity?.tenant;
  return t && t !== "*" ? t : "default_tenant";
}

// ---- session ----------------------------------------------------------------------------------

async function loadIdentity() {
  try {
    identity = await api("GET", paths.identity());
    signInMessage = null;
    return true;
  } catch (err) {
    identity = null;
    if (err instanceof ApiError && err.status === 401) {
      signInMessage = getCredentials()
        ? `The server refused these credentials: ${err.message}`
        : null;
      clearCredentials();
    } else {
      signInMessage = `Could not check who you are: ${err.message}`;
    }
    return false;
  }
}

function updateSessionBar() {
  if (!identity) {
    replace(who, "Not signed in");
    signOutButton.hidden = true;
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  collectionsLink.href = `#/t/${encodeURIComponent(defaultTenant())}`;
  const creds = getCredentials();
  const name = identity.user_id || "anonymous";
  replace(who, creds ? `Signed in as ${name}` : `${name} (no credentials needed)`);
  signOutButton.hidden = !creds;
}

function signOut() {
  clearCredentials();
  identity = null;
  signInMessage = "Signed out.";
  route();
}

onUnauthorized((err) => {
  if (!identity) return; // already on the sign-in page
  identity = null;
  clearCredentials();
  signInMessage = `Your credentials were refused (401): ${err.message}. Sign in again.`;
  route();
});

function renderSignIn() {
  document.title = "Sign in — chromahouse console";
  const alert = alertBox();
  const tokenInput = h("input", { type: "password", name: "token", autocomplete: "off", spellcheck: false });
  const userInput = h("input", { type: "text", name: "user", autocomplete: "username", spellcheck: false });
  const passwordInput = h("input", { type: "password", name: "password", autocomplete: "current-password" });
  const tokenRadio = h("input", { type: "radio", name: "method", value: "token", id: "method-token", checked: true });
  const basicRadio = h("input", { type: "radio", name: "method", value: "basic", id: "method-basic" });
  const tokenForm = h("form.method-form", { novalidate: true, "aria-label": "Sign in with a token" },
    field("Token", tokenInput, "Sent as the X-Chroma-Token header."),
    h("div.actions", h("button", { type: "submit" }, "Sign in")));
  const basicForm = h("form.method-form", { novalidate: true, "aria-label": "Sign in with a user name and password", hidden: true },
    field("User", userInput),
    field("Password", passwordInput, "Sent with HTTP basic authentication."),
    h("div.actions", h("button", { type: "submit" }, "Sign in")));
  const syncMethod = () => {
    tokenForm.hidden = !tokenRadio.checked;
    basicForm.hidden = tokenRadio.checked;
    showAlert(alert, null);
  };
  tokenRadio.addEventListener("change", syncMethod);
  basicRadio.addEventListener("change", syncMethod);

  const signIn = async (form, creds) => {
    const problem = credentialProblem(creds);
    if (problem) {
      showAlert(alert, problem);
      return;
    }
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    showAlert(alert, null);
    setCredentials(creds);
    const ok = await loadIdentity();
    submit.disabled = false;
    if (ok) {
      tokenInput.value = "";
      passwordInput.value = "";
      firstRender = false;
      route();
    } else {
      showAlert(alert, signInMessage ?? "Sign-in failed.");
    }
  };
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(tokenForm, { kind: "token", token: tokenInput.value.trim() });
  });
  basicForm.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(basicForm, { kind: "basic", user: userInput.value, password: passwordInput.value });
  });

  const box = h("section.card.sign-in", { "aria-labelledby": "sign-in-title" },
    h("h2", { id: "sign-in-title", tabIndex: -1 }, "Sign in"),
    h("p", "This server requires credentials. They are kept in this browser tab only (session storage) until you sign out or close the tab."),
    h("fieldset",
      h("legend", "How to sign in"),
      h("div.radio", tokenRadio, h("label", { htmlFor: "method-token" }, "Token")),
      h("div.radio", basicRadio, h("label", { htmlFor: "method-basic" }, "User and password"))),
    tokenForm,
    basicForm,
    alert);
  replace(main, box);
  if (signInMessage) showAlert(alert, signInMessage);
  updateSessionBar();
  tokenInput.focus();
}

// ---- routing ---------------------------------------------------------------------------------

const routes = [
  { re: /^\/?$/, nav: "overview", render: (ctx) => renderOverview(ctx) },
  { re: /^\/t\/([^/]+)\/?$/, nav: "collections", render: (ctx, [t]) => renderTenant(ctx, t) },
  { re: /^\/t\/([^/]+)\/d\/([^/]+)\/?$/, nav: "collections", render: (ctx, [t, d]) => renderDatabase(ctx, t, d) },
  { re: /^\/t\/([^/]+)\/d\/([^/]+)\/c\/([^/]+)\/?$/, nav: "collections", render: (ctx, [t, d, c]) => renderCollection(ctx, t, d, c) },
];

function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function route() {
  pageController?.abort();
  pageController = new AbortController();
  for (const dlg of document.querySelectorAll("dialog.confirm-dialog")) dlg.close();
  if (!identity) {
    renderSignIn();
    return;
  }
  updateSessionBar();
  const hash = location.hash.replace(/^#/, "");
  const match = routes.map((r) => ({ r, m: r.re.exec(hash) })).find((x) => x.m);
  for (const a of nav.querySelectorAll("a")) {
    if (match && a.dataset.nav === match.r.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const ctx = {
    identity,
    signal: pageController.signal,
    pollMs: POLL_MS,
    defaultTenant: defaultTenant(),
    navigate: (href) => {
      if (location.hash === href) route();
      else location.hash = href;
    },
    flash: (msg) => {
      flashMessage = msg;
    },
    takeFlash: () => {
      const m = flashMessage;
      flashMessage = null;
      return m;
    },
    setTitle: (title) => {
      document.title = `${title} — chromahouse console`;
    },
  };
  let node;
  if (match) {
    node = match.r.render(ctx, match.m.slice(1).map(decode));
  } else {
    ctx.setTitle("Not found");
    node = h("section",
      h("h2", { tabIndex: -1 }, "Page not found"),
      h("p", "There is no console page at this address. ", h("a", { href: "#/" }, "Go to the overview"), "."));
  }
  replace(main, node);
  if (!firstRender) main.querySelector("h2")?.focus();
  firstRender = false;
}

// ---- start -----------------------------------------------------------------------------------

document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
signOutButton.addEventListener("click", signOut);

window.addEventListener("hashchange", () => {
  // Links inside the page that are not routes (none today) leave the page alone.
  if (location.hash && !location.hash.startsWith("#/")) return;
  route();
});

(async () => {
  replace(main, h("p.status", { role: "status" }, "Loading…"));
  await loadIdentity();
  route();
})();
