// Calls to the server's public HTTP API (Chroma v2 and /metrics), with the credentials the user
// typed. Credentials live in sessionStorage only (gone when the tab closes, or at "Sign out").

// The server's root: this module is served at <root>/console/api.js.
const ROOT = new URL("../", import.meta.url);
const STORAGE_KEY = "chromahouse-console.credentials";

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status; // 0: the request did not reach the server
    this.code = code; // Chroma's error name, e.g. "InvalidArgumentError", "AuthError"
    this.body = body;
  }
}

// ---- credentials --------------------------------------------------------------------------

export function getCredentials() {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const c = JSON.parse(raw);
    if (c && (c.kind === "token" || c.kind === "basic")) return c;
  } catch {
    // unreadable: treat as signed out
  }
  return null;
}

export function setCredentials(credentials) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
}

export function clearCredentials() {
  sessionStorage.removeItem(STORAGE_KEY);
}

function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

// Header values must be visible ASCII (fetch refuses others); say so before sending anything.
export function credentialProblem(credentials) {
  if (credentials.kind === "token") {
    if (!credentials.token) return "Enter a token.";
    if (!/^[\x21-\x7e]+$/.test(credentials.token)) {
      return "A token can only contain visible ASCII characters (no spaces).";
    }
  } else {
    if (!credentials.user) return "Enter a user name.";
    if (credentials.user.includes(":")) return "A user name cannot contain ':'.";
  }
  return null;
}

function authHeaders() {
  const c = getCredentials();
  if (!c) return {};
  if (c.kind === "token") return { "x-chroma-token": c.token };
  return { authorization: `Basic ${base64Utf8(`${c.user}:${c.password ?? ""}`)}` };
}

// ---- 401 handling ---------------------------------------------------------------------------

const unauthorizedListeners = new Set();
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

// ---- requests ---------------------------------------------------------------------------------

function url(path) {
  return new URL(path.replace(/^\//, ""), ROOT);
}

async function send(method, path, { body, signal, accept = "application/json" } = {}) {
  // x-chromahouse-console: the server then leaves the WWW-Authenticate challenge out of a 401.
  const headers = { accept, "x-chromahouse-console": "1", ...authHeaders() };
  const init = {
    method,
    headers,
    signal,
    cache: "no-store",
    // Never let the browser add or prompt for credentials of its own (a 401 with
    // WWW-Authenticate: Basic would otherwise open the browser's login box).
    credentials: "omit",
  };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(url(path), init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "NetworkError", `The server could not be reached (${err.message}).`);
  }
}

function errorFrom(res, text) {
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  let message;
  if (json && typeof json === "object" && typeof json.message === "string" && json.message) {
    message = json.message;
  } else if (json && typeof json === "object" && typeof json.error === "string") {
    message = json.error;
  } else if (text) {
    message = text;
  } else {
    message = `${res.status} ${res.statusText}`;
  }
  return new ApiError(res.status, json?.error ?? null, message, json ?? text);
}

// JSON API call. Resolves with the parsed body; rejects with ApiError carrying the server's
// own message (the JSON "message" field) on any non-2xx answer.
export async function api(method, path, body, { signal } = {}) {
  const res = await send(method, path, { body, signal });
  const text = await res.text();
  if (!res.ok) {
    const err = errorFrom(res, text);
    if (res.status === 401) for (const fn of unauthorizedListeners) fn(err);
    throw err;
  }
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, "BadResponse", `The server answered with something that is not JSON: ${text.slice(0, 200)}`);
  }
}

export async function metricsText({ signal } = {}) {
  const res = await send("GET", "/metrics", { signal, accept: "text/plain" });
  const text = await res.text();
  if (!res.ok) throw errorFrom(res, text);
  return text;
}

// ---- paths -----------------------------------------------------------------------------------

const e = encodeURIComponent;
export const paths = {
  version: () => "/api/v2/version",
  identity: () => "/api/v2/auth/identity",
  tenants: () => "/api/v2/tenants",
  tenant: (t) => `/api/v2/tenants/${e(t)}`,
  databases: (t) => `/api/v2/tenants/${e(t)}/databases`,
  database: (t, d) => `/api/v2/tenants/${e(t)}/databases/${e(d)}`,
  collections: (t, d) => `/api/v2/tenants/${e(t)}/databases/${e(d)}/collections`,
  collectionsCount: (t, d) => `/api/v2/tenants/${e(t)}/databases/${e(d)}/collections_count`,
  collectionByName: (t, d, name) => `/api/v2/tenants/${e(t)}/databases/${e(d)}/collections/${e(name)}`,
  collectionById: (t, d, id) => `/api/v2/tenants/${e(t)}/databases/${e(d)}/collections/by-id/${e(id)}`,
  collection: (t, d, id) => `/api/v2/tenants/${e(t)}/databases/${e(d)}/collections/${e(id)}`,
  op: (t, d, id, op) => `/api/v2/tenants/${e(t)}/databases/${e(d)}/collections/${e(id)}/${op}`,
};
