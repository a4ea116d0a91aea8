// Portfolio: every customer the caller may see, filtered, sorted and searched by the API, paged by
// its cursor, exported as CSV. The view lives in the URL (?band=…&sort=…), so it can be shared.
import { api, people } from "kw/api.js";
import {
  change,
  csvText,
  dataTable,
  daysLeft,
  daysUntil,
  download,
  field,
  h,
  link,
  money,
  moreButton,
  problem,
  scoreBadge,
  select,
} from "kw/widgets.js";

const FILTERS = ["q", "band", "segment_id", "owner_id", "tier", "within", "sort"];
// Parameters added to GET /v1/customers after the first release: an older API refuses them with a 400,
// and the console then switches that control off instead of failing.
const NEWER = ["sort", "band", "segment_id", "q"];
const unsupported = new Set();

export async function render(main, ctx) {
  const view = Object.fromEntries(FILTERS.map((key) => [key, ctx.query.get(key) || ""]));
  // The filters wait for the segments and people lists: say so meanwhile (a busy API took seconds).
  const pending = h("p", { class: "state", role: "status" }, "Loading customers…");
  main.append(h("h1", {}, "Portfolio"), pending);
  const [segments, users, members] = await Promise.all([
    api.get("/v1/segments").then((r) => r.items).catch(() => []),
    ctx.can("users", "read") ? api.get("/v1/users").then((r) => r.items).catch(() => []) : Promise.resolve([]),
    people(),
  ]);
  const names = { ...members };
  names[ctx.me.user_id] = `${ctx.me.name || ctx.me.user_id} (you)`;

  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter the portfolio" });
  const control = (key, el) => {
    el.name = key;
    el.value = view[key];
    if (unsupported.has(key)) el.disabled = true;
    return el;
  };
  form.append(
    ...[
    field("Search by name", control("q", h("input", { type: "search", placeholder: "Name starts with…" }))),
    field("Band", control("band", select([["", "Any band"], ["Healthy", "Healthy"], ["Neutral", "Neutral"], ["At risk", "At risk"]], view.band))),
    field("Segment", control("segment_id", select([["", "Any segment"], ...segments.map((s) => [s.segment_id, s.name])], view.segment_id))),
    users.length
      ? field("Owner", control("owner_id", select([["", "Anyone"], ...owners(users)], view.owner_id)))
      : null,
    field("Tier", control("tier", select([["", "Any tier"], ["Enterprise", "Enterprise"], ["Mid-Market", "Mid-Market"], ["SMB", "SMB"]], view.tier))),
    field("Renewal within", control("within", select([["", "Any time"], ["30", "30 days"], ["60", "60 days"], ["90", "90 days"], ["180", "180 days"]], view.within))),
    h("div", { class: "field buttons" }, h("button", { type: "submit", class: "primary" }, "Apply"), h("button", { type: "button", id: "export" }, "Export CSV")),
    ].filter(Boolean),
  );
  const results = h("div", { "aria-live": "polite" });
  pending.remove();
  main.append(form, h("p", { class: "muted", id: "unsupported" }), results);

  const apply = (changes) => {
    Object.assign(view, changes);
    const query = new URLSearchParams(Object.entries(view).filter(([, v]) => v));
    history.replaceState({}, "", `${location.pathname}${query.toString() ? `?${query}` : ""}`);
    load();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply(Object.fromEntries(FILTERS.filter((k) => k !== "sort").map((k) => [k, form.elements[k]?.value || ""])));
  });
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") form.requestSubmit();
  });

  let shown = [];
  form.querySelector("#export").addEventListener("click", () => {
    const header = ["name", "health_score", "health_band", "change_7d", "arr", "renewal_date", "days_left", "owner"];
    const rows = shown.map((c) => [c.name, c.health_score, c.health_band, change7(c), c.arr, c.renewal_date, c.status === "churned" ? "churned" : daysUntil(c.renewal_date), names[c.owner_id] || c.owner_id]);
    download("portfolio.csv", csvText(header, rows));
  });

  async function load() {
    results.replaceChildren(h("p", { class: "state", role: "status" }, "Loading customers…"));
    const query = { limit: 50, owner_id: view.owner_id, tier: view.tier };
    for (const key of ["sort", "band", "segment_id", "q"]) if (!unsupported.has(key)) query[key] = view[key];
    if (view.within) {
      const until = new Date(Date.now() + Number(view.within) * 86400000);
      query.renewal_before = until.toISOString().slice(0, 10);
    }
    const pager = api.pages("/v1/customers", query);
    let items;
    try {
      items = await pager.atLeast(25);
    } catch (error) {
      const refused = NEWER.find((key) => error.status === 400 && query[key] && (error.field === key || error.message.includes(key)));
      if (refused) {
        unsupported.add(refused);
        if (form.elements[refused]) form.elements[refused].disabled = true;
        main.querySelector("#unsupported").textContent = `This API does not offer ${[...unsupported].join(", ")} yet; those controls are off.`;
        return load();
      }
      results.replaceChildren(problem(error));
      return;
    }
    shown = items.slice();
    const columns = [
      { key: "name", label: "Customer", sort: "name", render: (c) => link(`/customers/${c.customer_id}`, c.name) },
      { key: "health_score", label: "Health", sort: "health_score", render: (c) => scoreBadge(c.health_score, c.health_band) },
      { key: "change", label: "7-day change", numeric: true, render: (c) => change(change7(c)) },
      { key: "arr", label: "ARR", sort: "arr", numeric: true, render: (c) => money(c.arr) },
      { key: "renewal_date", label: "Renewal", sort: "renewal_date", render: renewalCell },
      { key: "owner", label: "Owner", render: (c) => names[c.owner_id] || c.owner_id || "—" },
    ];
    const table = dataTable({
      caption: `Customers${view.q ? ` whose name starts with “${view.q}”` : ""}`,
      columns,
      rows: items,
      sort: view.sort || "name",
      onSort: unsupported.has("sort") ? null : (sort) => apply({ sort }),
      emptyText: "No customer matches these filters.",
    });
    const count = h("p", { class: "muted" }, `${shown.length} shown`);
    results.replaceChildren(
      count,
      table,
      moreButton(pager, (more) => {
        shown.push(...more);
        table.addRows(more);
        count.textContent = `${shown.length} shown`;
      }),
    );
  }
  await load();
}

function change7(customer) {
  const value = customer.health_change_7d;
  return value === undefined ? null : value;
}

// A churned customer's last renewal date is history, not a deadline: "Churned", never "39 d overdue" in red.
function renewalCell(c) {
  if (!c.renewal_date) return "—";
  if (c.status === "churned") return [c.renewal_date, " ", h("span", { class: "tag tag-off" }, "Churned")];
  return [c.renewal_date, " ", daysLeft(daysUntil(c.renewal_date))];
}

// Who may own customers (CSMs, then directors and admins, who take books over), by name; someone
// deactivated is still offered, marked, so a book left behind can be found and handed over.
function owners(users) {
  const rank = { csm: 0, director: 1, admin: 2 };
  return users
    .filter((u) => u.role in rank)
    .sort((a, b) => rank[a.role] - rank[b.role] || Number(b.active) - Number(a.active) || a.name.localeCompare(b.name))
    .map((u) => [u.user_id, `${u.name}${u.role === "csm" ? "" : ` (${u.role})`}${u.active ? "" : " (deactivated)"}`]);
}
