// Customer 360: header, health with its dimensions and evidence, charts, benchmark, flags, churn risk,
// CLTV, upsell, the success plan (success-plan.js), timeline with notes, contacts, tasks, renewals with
// their forecast, churn.
import { api, people } from "kw/api.js";
import { taskList } from "kw/screens/my-day/my-day.js";
import { successPlanSection } from "kw/screens/customer/success-plan.js";
import {
  clearErrors,
  daysLeft,
  daysUntil,
  day,
  empty,
  field,
  h,
  lineChart,
  link,
  money,
  notice,
  num,
  problem,
  scoreBadge,
  section,
  select,
  showError,
  when,
} from "kw/widgets.js";

const TIMELINE_KINDS = ["email", "meeting", "ticket", "note", "product_event", "playbook_run", "nps", "system"];
const CHURN_REASONS = [
  ["price", "Price"],
  ["competition", "Competition"],
  ["strategy_shift", "Strategy shift"],
  ["product", "Product"],
  ["executive_churn", "Executive churn"],
  ["other", "Other"],
];

export async function render(main, ctx) {
  const id = ctx.params.customer_id;
  const base = `/v1/customers/${encodeURIComponent(id)}`;
  let customer;
  try {
    customer = await api.get(base);
  } catch (error) {
    main.append(h("h1", {}, error.status === 404 ? "Customer not found" : "Customer"), problem(error), h("p", {}, link("/customers", "Back to the portfolio")));
    return;
  }
  // Everything else at once; each section shows its own loading state and refusal.
  const get = (path, query) => api.get(base + path, query);
  const health = get("/health");
  const names = await people();
  const nameOf = (userId) => (userId === ctx.me.user_id ? `${ctx.me.name || names[userId] || userId} (you)` : names[userId] || userId);

  main.append(header(customer, nameOf), h("p", {}, link("/customers", "← Portfolio")));
  const timeline = timelineSection(base, customer, ctx, nameOf);
  // A change to the plan writes success tasks (a blueprint applied) and timeline items (an outcome, an
  // achievement): the Tasks panel and the timeline are then read again.
  const tasksPanel = () => section("Tasks", () => api.get("/v1/tasks", { customer_id: id, limit: 20 }).then((r) => taskList(r.items, ctx, "No tasks for this customer.")), { id: "tasks" });
  let tasks = await tasksPanel();
  const planChanged = async () => {
    timeline.reload();
    const fresh = await tasksPanel();
    tasks.replaceWith(fresh);
    tasks = fresh;
  };
  main.append(
    h(
      "div",
      { class: "grid-2" },
      await section("Health", () => health.then(async (hl) => healthPanel(hl, base, await modelWords(hl.model_version))), { id: "health" }),
      await section("Score evidence", () => health.then((hl) => evidence(hl, id)), { id: "evidence" }),
      await section("Last 90 days", () => get("/health/history", { days: 90 }).then(historyChart), { id: "history" }),
      await section("Benchmark", () => get("/benchmark").then(benchmark), { id: "benchmark" }),
      await section("Flags", () => get("/flags").then(flags), { id: "flags" }),
      await section("Churn risk, CLTV and upsell", () => Promise.all([get("/scores"), get("/recommendations")]).then(scores), { id: "scores" }),
    ),
    successPlanSection(base, customer, ctx, nameOf, planChanged),
    timeline,
    h(
      "div",
      { class: "grid-2" },
      await section("Contacts", () => get("/contacts").then(contacts), { id: "contacts" }),
      tasks,
      await section(
        "Renewals and forecast",
        async () => renewals((await get("/renewals")).items, base, ctx, await forecastCategories()),
        { id: "renewals" },
      ),
      await section("Playbook runs", () => get("/timeline", { kind: "playbook_run", limit: 10 }).then((r) => runs(r.items)), { id: "runs" }),
    ),
  );
  if (ctx.can("churn", "write") && customer.status !== "churned") main.append(churnForm(base, customer, ctx));
}

function header(c, nameOf) {
  const coOwners = (c.co_owner_ids || []).map(nameOf).join(", ");
  return h(
    "header",
    { class: "customer-header" },
    h("h1", {}, c.name),
    h(
      "dl",
      { class: "facts" },
      fact("Health", scoreBadge(c.health_score, c.health_band)),
      fact("Status", h("span", { class: `status status-${c.status}` }, c.status)),
      fact("ARR", money(c.arr)),
      fact("MRR", money(c.mrr)),
      fact("Owner", c.owner_id ? nameOf(c.owner_id) : "—"),
      fact("Co-owners", coOwners || "—"),
      fact("Renewal", c.renewal_date ? [c.renewal_date, " ", daysLeft(daysUntil(c.renewal_date))] : "—"),
      fact("Tier", c.tier || "—"),
    ),
    c.churn_reason ? h("p", { class: "problem" }, `Churned: ${c.churn_reason}`) : null,
  );
}
const fact = (term, value) => h("div", {}, h("dt", {}, term), h("dd", {}, value));

// Which model scored it, as a CSM reads it: "the default model" (version 0, never saved), else "model
// version 3 (saved 2026-11-19)" (the date from that version, when it can be read).
async function modelWords(version) {
  if (!version) return "the default model";
  const saved = await api.get(`/v1/health/model/versions/${version}`).then((m) => m.updated_at).catch(() => null);
  return `model version ${version}${saved ? ` (saved ${day(saved)})` : ""}`;
}

function healthPanel(hl, base, model) {
  if (hl.score === null || hl.score === undefined) return empty("Not scored yet.");
  const detail = h("div", { class: "dimension-detail", "aria-live": "polite" });
  const rows = hl.dimensions.map((d) =>
    h(
      "tr",
      {},
      h(
        "th",
        { scope: "row" },
        h(
          "button",
          {
            type: "button",
            class: "link-button",
            onClick: async () => {
              detail.replaceChildren(h("p", { class: "state" }, "Loading…"));
              try {
                const series = await api.get(`${base}/health/dimensions/${encodeURIComponent(d.key)}`, { days: 90 });
                detail.replaceChildren(lineChart(series.series.map((p) => ({ date: p.date, value: p.value })), { label: `${series.label} over 90 days` }));
              } catch (error) {
                detail.replaceChildren(problem(error));
              }
            },
          },
          d.label || d.key,
        ),
      ),
      h("td", { class: "num" }, d.value === null ? h("abbr", { title: "not available: no data for this dimension" }, "N/A") : num(d.value)),
      h("td", { class: "num" }, `${num(d.weight, 0)} %`),
      h("td", { class: "num" }, d.value === null ? "N/A" : `${num(d.effective_weight)} %`),
      h("td", { class: "num" }, d.value === null ? "N/A" : num(d.contribution)),
    ),
  );
  return [
    h(
      "p",
      { class: "big-score" },
      scoreBadge(hl.score, hl.band, hl.band_color),
      h("span", { class: "muted" }, ` smoothed ${num(hl.smoothed_score)} · scored ${day(hl.scored_day)} with ${model}`),
    ),
    // In its own scroller: on a phone the five columns are wider than the panel, not the page.
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data compact" },
        h("caption", {}, "Dimensions (choose one for its chart)"),
        h("thead", {}, h("tr", {}, ["Dimension", "Value", "Weight", "Effective weight", "Contribution"].map((t, i) => h("th", { scope: "col", class: i ? "num" : "" }, t)))),
        h("tbody", {}, rows),
      ),
    ),
    hl.explanation ? h("p", {}, hl.explanation) : null,
    detail,
  ];
}

function evidence(hl, customerId) {
  const items = [...(hl.top_negative || []).map((e) => ["negative", e]), ...(hl.top_positive || []).map((e) => ["positive", e])];
  if (!items.length) return empty("No evidence recorded for this score.");
  return h(
    "ul",
    { class: "evidence" },
    items.map(([kind, e]) =>
      h(
        "li",
        { class: `evidence-${kind}` },
        h("span", { class: "impact" }, `${e.impact > 0 ? "+" : ""}${num(e.impact)} pts`),
        " ",
        h("span", { class: "muted" }, `${e.dimension}: `),
        evidenceText(e),
      ),
    ),
  );
}

// Evidence that came from a timeline item links to it (the 360 loads the timeline until it is there).
function evidenceText(e) {
  return e.ref && !e.ref.startsWith("con_") ? h("a", { href: `#tl-${e.ref}` }, e.text) : e.text;
}

function historyChart(history) {
  return lineChart(history.overall.map((p) => ({ date: p.date, value: p.score })), { label: "Health score over 90 days" });
}

function benchmark(b) {
  if (!b.segments.length) return empty("This customer is in no segment.");
  return h(
    "ul",
    {},
    b.segments.map((s) =>
      h("li", {}, h("strong", {}, num(s.score, 0)), ` vs ${s.segment} avg ${num(s.segment_avg, 0)}`, h("span", { class: "muted" }, ` (${s.segment_size} customers, ${s.position || "n/a"})`)),
    ),
  );
}

function flagList(list, colour) {
  return list.map((f) =>
    h(
      "li",
      { class: `flag flag-${colour}` },
      h("strong", {}, `${colour === "red" ? "Red" : "Green"} flag: `),
      f.title,
      f.evidence?.length ? h("ul", {}, f.evidence.map((e) => h("li", {}, evidenceText(e)))) : null,
    ),
  );
}

function flags(f) {
  if (!f.red.length && !f.green.length) return empty("No flags.");
  return h("ul", { class: "flags" }, flagList(f.red, "red"), flagList(f.green, "green"));
}

function scores([s, recommendations]) {
  const top = recommendations.items.slice(0, 3);
  return [
    h(
      "dl",
      { class: "facts" },
      fact("Churn risk", h("span", { class: `risk risk-${s.churn_risk.level}` }, `${num(s.churn_risk.score, 0)} (${s.churn_risk.level})`)),
      fact("CLTV", money(s.cltv.value)),
    ),
    h("p", { class: "muted" }, s.cltv.explanation),
    h("h3", {}, "Top upsell recommendations"),
    top.length
      ? h("ol", {}, top.map((r) => h("li", {}, h("strong", {}, `${r.product}`), ` (${num(r.score, 0)}): `, r.why.join("; "))))
      : empty("No recommendation."),
  ];
}

// A playbook's entries say so ("by a playbook": the title names it), not its key `playbook:pb_…`.
const actorName = (actor, nameOf) => (actor.startsWith("playbook:") ? "by a playbook" : nameOf(actor));

function timelineSection(base, customer, ctx, nameOf) {
  const list = h("ol", { class: "timeline" });
  const kind = select([["", "Every kind"], ...TIMELINE_KINDS.map((k) => [k, k.replace("_", " ")])], "", { name: "kind" });
  const moreHolder = h("div");
  let pager;
  const addItems = (items) => {
    for (const item of items) {
      list.append(
        h(
          "li",
          { id: `tl-${item.item_id}`, tabindex: "-1", class: "timeline-item" },
          h("p", {}, h("span", { class: "kind" }, item.kind.replace("_", " ")), " ", h("strong", {}, item.title || ""), h("span", { class: "muted" }, ` · ${when(item.occurred_at)} · ${item.actor ? actorName(item.actor, nameOf) : item.source || ""}`)),
          item.body ? h("p", { class: "body" }, item.body) : null,
        ),
      );
    }
    if (!list.children.length) list.append(h("li", { class: "state empty" }, "Nothing on the timeline."));
  };
  const load = async () => {
    list.replaceChildren(h("li", { class: "state" }, "Loading…"));
    pager = api.pages(`${base}/timeline`, { kind: kind.value, limit: 25 });
    try {
      const items = await pager.next();
      list.replaceChildren();
      addItems(items);
    } catch (error) {
      list.replaceChildren(h("li", {}, problem(error)));
    }
    moreHolder.replaceChildren(
      pager.hasMore
        ? h("button", { type: "button", onClick: async () => (addItems(await pager.next()), load.more()) }, "Show more")
        : "",
    );
  };
  load.more = () => {
    if (!pager.hasMore) moreHolder.replaceChildren();
  };
  // Following a piece of evidence: load pages until the item is there, then show it.
  const reveal = async () => {
    const target = decodeURIComponent(location.hash.slice(1));
    if (!target.startsWith("tl-")) return;
    kind.value = "";
    for (let i = 0; i < 20 && !document.getElementById(target) && pager?.hasMore; i++) addItems(await pager.next());
    const el = document.getElementById(target);
    if (el) {
      document.querySelectorAll(".timeline-item.highlight").forEach((x) => x.classList.remove("highlight"));
      el.classList.add("highlight");
      el.scrollIntoView({ block: "center" });
      el.focus();
    } else notice("That item is no longer on the timeline.");
  };
  window.addEventListener("hashchange", reveal);
  kind.addEventListener("change", load);
  const section = h(
    "section",
    { class: "panel", "aria-labelledby": "timeline" },
    h("h2", { id: "timeline" }, "Timeline"),
    field("Kind", kind),
    ctx.can("timeline", "write") && customer.status !== "churned" ? noteForm(base, load) : null,
    list,
    moreHolder,
  );
  load().then(reveal);
  section.reload = load;
  return section;
}

function noteForm(base, reload) {
  const body = h("textarea", { rows: 2, maxlength: 10000 });
  const form = h("form", { class: "inline-form" }, field("Add a note", body, { name: "body" }), h("button", { type: "submit" }, "Add note"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api.post(`${base}/notes`, { body: body.value });
      body.value = "";
      notice("Note added");
      reload();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function contacts(r) {
  if (!r.items.length) return empty("No contacts.");
  return h(
    "ul",
    {},
    r.items.map((c) =>
      h("li", {}, h("strong", {}, c.name), c.is_champion ? h("span", { class: "tag" }, "Champion") : "", h("span", { class: "muted" }, ` ${c.title || ""} ${c.email || ""}`)),
    ),
  );
}

function runs(items) {
  if (!items.length) return empty("No playbook has run for this customer.");
  return h("ul", {}, items.map((i) => h("li", {}, i.title, h("span", { class: "muted" }, ` · ${when(i.occurred_at)}`))));
}

// The workspace's forecast categories as [key, label]; null (the defaults) when they cannot be read.
export function forecastCategories() {
  return api
    .get("/v1/renewals/forecast-categories")
    .then((r) => r.categories.map((c) => [c.key, c.label]))
    .catch(() => null);
}

function renewals(items, base, ctx, categories) {
  const label = (key) => (categories || []).find(([k]) => k === key)?.[1] || key.replace("_", " ");
  if (!items.length) return empty("No renewal recorded.");
  return h(
    "ul",
    { class: "cards" },
    items.map((r) => {
      const card = h(
        "li",
        { class: "card" },
        // Days left only while it is open: a closed renewal is not "overdue", it says how it ended.
        h("h3", {}, r.product || "Account renewal", " · ", r.renewal_date, " ", r.status === "open" ? daysLeft(r.days_left, r.colour) : ""),
        h(
          "p",
          {},
          `${money(r.current_arr)} ARR · forecast `,
          h("strong", { class: "forecast" }, label(r.forecast_category)),
          r.status === "open" ? " · open" : ` · ${closedAs(r)}`,
        ),
      );
      if (r.status === "open" && ctx.can("forecasts", "write")) card.append(forecastForm(base, r, card, categories));
      return card;
    }),
  );
}

function closedAs(r) {
  const on = r.closed_on ? ` on ${r.closed_on}` : "";
  return r.status === "renewed" ? `renewed${on} at ${money(r.closed_arr)} ARR` : `${r.status}${on}`;
}

export function forecastForm(base, renewal, card, categories) {
  const choice = select(
    (categories || [["commit", "Commit"], ["probable", "Probable"], ["best_case", "Best case"], ["at_risk", "At risk"]]),
    renewal.forecast_category,
    {},
  );
  const reason = h("input", { type: "text", maxlength: 1000 });
  const form = h(
    "form",
    { class: "inline-form" },
    field("Forecast", choice, { name: "forecast_category" }),
    field("Reason for the change", reason, { name: "reason", hint: "Required; the director sees it." }),
    h("button", { type: "submit" }, "Change forecast"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const updated = await api.patch(`${base}/renewals/${renewal.renewal_id}/forecast`, {
        forecast_category: choice.value,
        reason: reason.value || null,
      });
      Object.assign(renewal, updated);
      card.querySelector(".forecast").textContent = choice.selectedOptions[0]?.textContent || updated.forecast_category;
      reason.value = "";
      notice(`Forecast changed to ${choice.selectedOptions[0]?.textContent || updated.forecast_category}`);
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function churnForm(base, customer, ctx) {
  const reason = select([["", "Choose a reason"], ...CHURN_REASONS], "");
  const note = h("textarea", { rows: 2, maxlength: 2000 });
  const form = h(
    "form",
    { class: "panel danger-zone" },
    h("h2", {}, "Mark as churned"),
    field("Churn reason", reason, { name: "churn_reason" }),
    field("Note", note, { name: "churn_note" }),
    h("button", { type: "submit", class: "danger" }, "Mark churned"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api.post(`${base}/churn`, { churn_reason: reason.value || null, churn_note: note.value || null, version: customer.version });
      notice("Marked churned");
      ctx.navigate(`/customers/${customer.customer_id}`, { replace: true });
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}
