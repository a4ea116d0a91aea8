// The one door to the API: base URL, bearer token, error envelope → message, cursors → "more".
// Screens never build URLs or parse errors by hand.
import { session, signOut } from "kw/auth.js";

export const BASE = document.querySelector('meta[name="kw-base"]')?.content || "";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
  // The field a 400 names (details[].field), so a form shows the message beside it.
  get field() {
    return this.details.find((d) => d && d.field)?.field || null;
  }
  // What a person reads: the API's own words, with a plain sentence for 403/404.
  get sentence() {
    if (this.status === 403) return `You don't have permission to do this. (${this.message})`;
    if (this.status === 404) return "Not found: it does not exist, or it is outside your portfolio.";
    if (this.status === 0) return this.message;
    return this.message;
  }
}

export function url(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return BASE + path + (search ? `?${search}` : "");
}

async function call(method, path, { query, body, accept } = {}) {
  const headers = { Accept: accept || "application/json" };
  const current = session();
  if (current?.token) headers.Authorization = `Bearer ${current.token}`;
  if (current?.workspaceHeader) headers["X-Keepwell-Workspace"] = current.workspaceHeader;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "network", "The API did not answer; check your connection and try again.");
  }
  // An invitation's own refusal (expired, used, another address) is not a lost session: say it, stay signed in.
  if (response.status === 401 && path !== "/v1/invitations/accept") {
    signOut();
    throw new ApiError(401, "unauthorized", "Your session has ended; sign in again.");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  if (!response.ok) {
    let envelope = null;
    try {
      envelope = JSON.parse(text).error;
    } catch {
      /* not the envelope */
    }
    throw new ApiError(
      response.status,
      envelope?.code || "error",
      envelope?.message || `The API answered ${response.status}`,
      envelope?.details,
    );
  }
  if ((accept || "").startsWith("text/")) return text;
  return text ? JSON.parse(text) : null;
}

// The workspace's members by name (`GET /v1/people`, every role), once per workspace a page load:
// owners, co-owners and authors are shown by name, never by user id.
const peopleOf = new Map();

export function people() {
  const workspace = session()?.workspaceHeader || "";
  if (!peopleOf.has(workspace)) {
    const names = call("GET", "/v1/people")
      .then((r) => Object.fromEntries(r.items.map((p) => [p.user_id, p.name])))
      .catch(() => {
        peopleOf.delete(workspace); // try again on the next screen
        return {};
      });
    peopleOf.set(workspace, names);
  }
  return peopleOf.get(workspace);
}

export const api = {
  get: (path, query) => call("GET", path, { query }),
  post: (path, body, query) => call("POST", path, { body, query }),
  put: (path, body) => call("PUT", path, { body }),
  patch: (path, body) => call("PATCH", path, { body }),
  del: (path) => call("DELETE", path),
  text: (path, query) => call("GET", path, { query, accept: "text/csv" }),
  // A paged list: first() then more() while hasMore; the cursor never leaves this object.
  pages(path, query) {
    let cursor = null;
    let started = false;
    return {
      get hasMore() {
        return !started || Boolean(cursor);
      },
      async next() {
        const page = await call("GET", path, { query: { ...query, cursor: cursor || undefined } });
        started = true;
        cursor = page.next_cursor || null;
        return page.items || [];
      },
      // Filtered lists may answer short (even empty) pages with a cursor: follow it until `enough` rows
      // or the end, a bounded number of pages at a time.
      async atLeast(enough, maxPages = 10) {
        const items = await this.next();
        for (let pages = 1; items.length < enough && cursor && pages < maxPages; pages++) items.push(...(await this.next()));
        return items;
      },
    };
  },
};
