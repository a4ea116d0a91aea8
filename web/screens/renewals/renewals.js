// Renewals: the pipeline by period with forecast changes (reason required), the director's
// forecast-change view, the upcoming table with its window filter and CSV, and revenue metrics.
import { api, people } from "kw/api.js";
import { forecastCategories, forecastForm } from "kw/screens/customer/customer.js";
import { dataTable, daysLeft, day, download, empty, field, h, link, loading, money, pct, problem, section, select, when } from "kw/widgets.js";

// The signal log's kinds of touch, as a CSM says them.
const ACTIVITY = { email_in: "Email from the customer", email_out: "Email to the customer", meeting: "Meeting" };

function lastActivity(activity) {
  if (!activity) return "none";
  const when = activity.days_ago === 0 ? "today" : activity.days_ago === 1 ? "yesterday" : `${activity.days_ago} days ago`;
  return `${ACTIVITY[activity.kind] || activity.kind}, ${when}`;
}

const GROUPS = [
  ["this_month", "This month (overdue included)"],
  ["next_90_days", "Next 90 days"],
  ["next_180_days", "Next 180 days"],
  ["historical", "Historical (closed in the last 12 months)"],
];

export async function render(main, ctx) {
  main.append(h("h1", {}, "Renewals"));
  const waiting = loading("Loading renewals…");
  main.append(waiting);
  const categories = await forecastCategories();
  const labels = Object.fromEntries(categories || []);
  waiting.remove();
  const rows = api.get("/v1/renewals"); // read once: the pipeline, and the customers the forecast changes name
  main.append(
    await section("Revenue metrics (last 12 months)", revenue, { id: "revenue" }),
    await section("Pipeline", () => pipeline(ctx, categories, labels, rows), { id: "pipeline" }),
    await section("Upcoming renewals", () => upcoming(ctx, labels), { id: "upcoming" }),
  );
  if (ctx.can("forecasts", "read")) main.append(await section("Forecast changes (last 30 days)", () => forecastChanges(ctx, rows, labels), { id: "forecast-changes" }));
}

async function revenue() {
  const to = new Date();
  const from = new Date(Date.UTC(to.getUTCFullYear() - 1, to.getUTCMonth(), to.getUTCDate() + 1));
  const r = await api.get("/v1/metrics/revenue", { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) });
  const m = r.workspace || r.books[0];
  if (!m) return empty("No renewal closed or open in the period.");
  const tile = (label, value) => h("div", { class: "tile" }, h("dt", {}, label), h("dd", {}, value));
  return h(
    "dl",
    { class: "tiles" },
    tile("GRR", pct(m.grr_percent)),
    tile("NRR", pct(m.nrr_percent)),
    tile("Starting ARR", money(m.starting_arr)),
    tile("Expansion", money(m.expansion_arr)),
    tile("Contraction", money(m.contraction_arr)),
    tile("Churned ARR", money(m.churned_arr)),
    tile("Renewed / churned", `${m.renewed} / ${m.churned}`),
    // Renewals of the period not closed yet (overdue): not the open pipeline, which is below.
    tile("Due in the period, still open", `${money(m.open_arr)} · ${m.renewals_open} ${m.renewals_open === 1 ? "renewal" : "renewals"}`),
  );
}

async function pipeline(ctx, categories, labels, rows) {
  const p = await rows;
  return GROUPS.map(([key, title]) => {
    const rows = p.groups[key] || [];
    const total = p.totals[key] || {};
    return h(
      "div",
      { class: "group" },
      h("h3", {}, title, h("span", { class: "muted" }, ` · ${rows.length} renewals · ${money(total.current_arr ?? total.arr)}`)),
      dataTable({
        caption: title,
        rows,
        emptyText: "No renewal in this period.",
        columns: [
          { key: "customer_name", label: "Customer", render: (r) => link(`/customers/${r.customer_id}`, r.customer_name) },
          { key: "current_arr", label: "ARR", numeric: true, render: (r) => money(r.current_arr) },
          { key: "renewal_date", label: "Renewal", render: (r) => [r.renewal_date, " ", key === "historical" ? "" : daysLeft(r.days_left, r.colour)] },
          { key: "forecast", label: "Forecast", render: (r) => forecastCell(r, ctx, categories, labels) },
          { key: "delta", label: "Proposed delta", numeric: true, render: (r) => proposedDelta(r.proposed_delta) },
          { key: "next_action", label: "Next action", render: (r) => (r.next_action ? `${r.next_action.title} (due ${day(r.next_action.due_date)})` : "—") },
          { key: "last_activity", label: "Last activity", render: (r) => lastActivity(r.last_activity) },
        ],
      }),
    );
  });
}

function proposedDelta(delta) {
  if (!delta || delta.delta === null || delta.delta === undefined) return h("span", { class: "muted" }, "not proposed");
  const sign = delta.delta > 0 ? "+" : "";
  return h("span", { class: `change change-${delta.kind === "expansion" ? "up" : delta.kind === "downsell" ? "down" : "flat"}` }, `${sign}${money(delta.delta)} (${sign}${pct(delta.percent)}) ${delta.kind}`);
}

function forecastCell(row, ctx, categories, labels) {
  const current = h("strong", { class: "forecast" }, row.forecast_label || labels[row.forecast_category] || row.forecast_category);
  if (row.status !== "open" || !ctx.can("forecasts", "write")) return current;
  const details = h("details", {}, h("summary", {}, "Change"));
  const holder = h("div", {}, current, details);
  details.append(forecastForm(`/v1/customers/${row.customer_id}`, row, holder, categories));
  return holder;
}

async function upcoming(ctx, labels) {
  const within = select([["30", "30 days"], ["60", "60 days"], ["90", "90 days"], ["180", "180 days"]], "90", { name: "within" });
  const exportButton = h("button", { type: "button" }, "Download CSV");
  const holder = h("div");
  const load = async () => {
    holder.replaceChildren(h("p", { class: "state" }, "Loading…"));
    try {
      const r = await api.get("/v1/renewals/upcoming", { within: within.value });
      holder.replaceChildren(
        dataTable({
          caption: `Open renewals due within ${r.within} days (overdue included)`,
          rows: r.items,
          emptyText: "No renewal due in this window.",
          columns: [
            { key: "account", label: "Account", render: (r) => link(`/customers/${r.customer_id}`, r.account) },
            { key: "product", label: "Product", render: (r) => r.product || "Account" },
            { key: "mrr", label: "MRR", numeric: true, render: (r) => money(r.mrr) },
            { key: "renewal_date", label: "Renewal date" },
            { key: "days_left", label: "Days left", render: (r) => daysLeft(r.days_left, r.colour) },
            { key: "auto_renew", label: "Auto-renew", render: (r) => (r.auto_renew ? "Yes" : "No") },
            { key: "forecast_category", label: "Forecast", render: (r) => labels[r.forecast_category] || r.forecast_category },
          ],
        }),
      );
    } catch (error) {
      holder.replaceChildren(problem(error));
    }
  };
  within.addEventListener("change", load);
  // The CSV is the API's own export of the same rows (GET /v1/renewals/upcoming/export).
  exportButton.addEventListener("click", async () => {
    try {
      download(`upcoming-renewals-${within.value}d.csv`, await api.text("/v1/renewals/upcoming/export", { within: within.value }));
    } catch (error) {
      holder.prepend(problem(error));
    }
  });
  await load();
  return [h("div", { class: "filters" }, field("Due within", within), h("div", { class: "field buttons" }, exportButton)), holder];
}

async function forecastChanges(ctx, rows, labels) {
  const [r, names, p] = await Promise.all([api.get("/v1/renewals/forecast-changes", { days: 30 }), people(), rows.catch(() => ({ groups: {} }))]);
  const name = (userId) => names[userId] || userId;
  const category = (key) => (key ? labels[key] || key : "—");
  // A change names its renewal (`renewal:<id>`): shown as its customer (and product), from the pipeline's
  // rows; the id stays in the tooltip, and a renewal outside the pipeline shows as its id.
  const byRenewal = new Map(Object.values(p.groups || {}).flat().map((row) => [row.renewal_id, row]));
  const renewal = (e) => {
    const id = e.target.replace("renewal:", "");
    const row = byRenewal.get(id);
    if (!row) return h("code", {}, id);
    const product = row.product ? ` (${row.product})` : "";
    return h("span", { title: id }, link(`/customers/${row.customer_id}`, row.customer_name), product);
  };
  return dataTable({
    caption: "Every forecast change, newest first",
    rows: r.items,
    emptyText: "No forecast changed in the last 30 days.",
    columns: [
      { key: "occurred_at", label: "When", render: (e) => when(e.occurred_at) },
      { key: "actor_id", label: "By", render: (e) => name(e.actor_id) },
      { key: "target", label: "Renewal", render: renewal },
      // The categories as the pipeline and the forecast form name them ("Best case", not "best_case").
      { key: "change", label: "Change", render: (e) => `${category(e.before?.forecast_category)} → ${category(e.after?.forecast_category)}` },
      { key: "reason", label: "Reason" },
    ],
  });
}
