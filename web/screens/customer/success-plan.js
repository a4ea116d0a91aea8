// The customer's success plan on the 360 (docs/success-plans.md): its objectives with their initiatives
// and success tasks, outcomes and achievements, overdue milestones as the API lists them, and its share
// links. Writers (the plan's CSM, admins) apply a blueprint when there is no plan, record outcomes, mark
// objectives achieved, and create and revoke share links; everyone else reads.
import { api, BASE } from "kw/api.js";
import { clearErrors, empty, field, h, loading, notice, problem, select, showError, when } from "kw/widgets.js";

const INITIATIVE_STATUS = { not_started: "Not started", in_progress: "In progress", done: "Done", blocked: "Blocked" };
const METRIC_WORDS = { nps: "NPS", arr: "ARR", mrr: "MRR", health_score: "Health score", capabilities_adopted: "Capabilities adopted" };

// "custom.tickets_open" → "tickets open"; "dimension.usage" → "Usage dimension"; known names in words.
export function metricWords(metric) {
  if (!metric) return "";
  if (METRIC_WORDS[metric]) return METRIC_WORDS[metric];
  const [head, rest] = metric.includes(".") ? metric.split(/\.(.*)/s) : [null, metric];
  const words = rest.replace(/_/g, " ");
  const said = words.charAt(0).toUpperCase() + words.slice(1);
  return head === "dimension" ? `${said} dimension` : said;
}

// The last outcome that carries a value (outcomes are kept in the order they were recorded).
const latestValue = (objective) => [...objective.outcomes].reverse().find((o) => o.value !== null && o.value !== undefined);
// replaceChildren() would write a left-out (null) child as the text "null".
const present = (...children) => children.filter((child) => child !== null && child !== undefined && child !== false);
const figure = (value) => (value === null || value === undefined ? "—" : String(Math.round(value * 100) / 100));

export function successPlanSection(base, customer, ctx, nameOf, planChanged = () => {}) {
  const body = h("div", {}, loading("Loading the success plan…"));
  const el = h("section", { class: "panel success-plan", "aria-labelledby": "success-plan" }, h("h2", { id: "success-plan" }, "Success plan"), body);
  const writer = ctx.can("success_plans", "write");
  const today = new Date().toLocaleDateString("en-CA"); // the person's own today, as YYYY-MM-DD
  // Who changed it: a person by name; the daily scoring and a playbook's step write as "system".
  const actor = (id) => (id === "system" ? "Keepwell (the daily scoring or a playbook)" : id?.startsWith("playbook:") ? "a playbook" : nameOf(id));

  const load = async () => {
    const [plan, blueprints, tasks] = await Promise.all([
      api.get(`${base}/success-plan`).catch((error) => {
        if (error.status === 404) return null; // no plan yet (the customer itself was readable)
        throw error;
      }),
      api.get("/v1/blueprints").then((r) => r.items).catch(() => []),
      api.get("/v1/tasks", { customer_id: customer.customer_id, limit: 200 }).then((r) => r.items).catch(() => []),
    ]);
    return { plan, blueprints, tasks: Object.fromEntries(tasks.map((t) => [t.task_id, t])) };
  };

  const draw = (state) => {
    const { plan } = state;
    if (!plan) {
      body.replaceChildren(...present(empty("No success plan yet."), writer ? applyForm(state) : null));
      return;
    }
    const blueprint = state.blueprints.find((b) => b.blueprint_id === plan.blueprint_id);
    const from = plan.blueprint_id ? ` · from the blueprint ${blueprint ? blueprint.name : "(deleted since)"}${plan.blueprint_version ? ` v${plan.blueprint_version}` : ""}` : " · written by hand";
    const shares = h("div", { class: "plan-shares" }, loading("Loading share links…"));
    body.replaceChildren(
      h("h3", { class: "plan-name" }, plan.name),
      h("p", { class: "muted" }, `Started ${plan.start_date}${from} · last changed ${when(plan.updated_at)} by ${actor(plan.updated_by)}`),
      planStatus(plan),
      plan.objectives.length
        ? h("ol", { class: "cards objectives" }, plan.objectives.map((o) => objectiveCard(o, plan, state)))
        : empty("This plan has no objective yet."),
      shares,
    );
    drawShares(shares);
  };

  const reload = async () => {
    try {
      draw(await load());
    } catch (error) {
      body.replaceChildren(problem(error));
    }
  };

  // The plan's state in one line, from what the API says: objectives achieved, milestones overdue.
  function planStatus(plan) {
    const total = plan.objectives.length;
    const achieved = plan.objectives.filter((o) => o.status === "achieved").length;
    const overdue = plan.overdue.length;
    const words = total && achieved === total
      ? `Complete: all ${total} objectives achieved.`
      : `${achieved} of ${total} objective${total === 1 ? "" : "s"} achieved · ${overdue ? `${overdue} milestone${overdue === 1 ? "" : "s"} overdue` : "nothing overdue"}.`;
    const colour = total && achieved === total ? "green" : overdue ? "red" : "green";
    return h("p", { class: "plan-status" }, h("span", { class: `badge badge-${colour}` }, total && achieved === total ? "Complete" : overdue ? "Behind" : "On track"), " ", words);
  }

  function objectiveCard(o, plan, state) {
    const overdue = plan.overdue.includes(o.objective_id);
    const status = o.status === "achieved"
      ? h("span", { class: "badge badge-green" }, `✓ Achieved ${o.achieved_on || ""}`.trim())
      : overdue
        ? h("span", { class: "badge badge-red" }, `Overdue: due ${o.due_date}`)
        : h("span", { class: "badge badge-none" }, `Open: due ${o.due_date}`);
    const done = o.initiatives.filter((i) => i.status === "done").length;
    const latest = latestValue(o);
    const card = h(
      "li",
      { class: `card objective objective-${o.status === "achieved" ? "achieved" : overdue ? "overdue" : "open"}`, "aria-label": `Objective: ${o.title}` },
      h("div", { class: "objective-head" }, h("h4", {}, o.title), status, o.shared ? h("span", { class: "tag", title: "The customer sees it through a share link" }, "Shared") : null),
      o.metric
        ? h(
            "p",
            { class: "progress-words" },
            h("strong", {}, metricWords(o.metric)),
            `: from ${figure(o.baseline)} to ${figure(o.target)}${o.baseline !== null && o.target < o.baseline ? " (a reduction: met at or under it)" : ""}`,
            latest ? [" · latest ", h("strong", {}, figure(latest.value)), ` (${latest.recorded_on})`] : " · no value recorded yet",
          )
        : h("p", { class: "muted" }, "Not measured by a metric: achieved by hand."),
      o.achieved_reason ? h("p", { class: "muted" }, `Achieved because: ${o.achieved_reason}`) : null,
      o.initiatives.length
        ? h(
            "div",
            {},
            h("p", { class: "muted" }, `Initiatives: ${done} of ${o.initiatives.length} done`),
            h("ul", { class: "initiatives" }, o.initiatives.map((i) => initiativeItem(i, plan, state))),
          )
        : null,
      outcomesList(o),
    );
    if (writer && o.status !== "achieved") card.append(objectiveActions(o, plan, card));
    return card;
  }

  function initiativeItem(i, plan, state) {
    const overdue = plan.overdue.includes(i.initiative_id);
    const tasks = i.task_ids.map((taskId) => state.tasks[taskId]).filter(Boolean);
    const unseen = i.task_ids.length - tasks.length;
    return h(
      "li",
      { class: `initiative initiative-${i.status}` },
      h("span", { class: `initiative-status status-${i.status}` }, INITIATIVE_STATUS[i.status] || i.status),
      " ",
      h("strong", {}, i.title),
      h("span", { class: overdue ? "days days-red" : "muted" }, ` · due ${i.due_date}${overdue ? " (overdue)" : ""}`),
      h("span", { class: "muted" }, ` · ${i.owner_id ? nameOf(i.owner_id) : "no owner"}`),
      i.shared ? h("span", { class: "tag" }, "Shared") : null,
      tasks.length || unseen
        ? h(
            "ul",
            { class: "plan-tasks" },
            tasks.map((t) =>
              h("li", {}, h("span", { "aria-hidden": "true" }, ["completed", "skipped"].includes(t.status) ? "☑ " : "☐ "), t.title, h("span", { class: t.overdue ? "days days-red" : "muted" }, ` · ${t.status.replace("_", " ")} · due ${t.due_date}${t.overdue ? " (overdue)" : ""}`)),
            ),
            unseen ? h("li", { class: "muted" }, `${unseen} more task${unseen === 1 ? "" : "s"} not listed here`) : null,
          )
        : null,
    );
  }

  function outcomesList(o) {
    if (!o.outcomes.length) return h("p", { class: "muted outcomes-none" }, "No outcome recorded yet.");
    return h(
      "div",
      { class: "outcomes" },
      h("p", { class: "muted" }, `Outcomes recorded (${o.outcomes.length})`),
      h(
        "ul",
        {},
        [...o.outcomes].reverse().map((out) =>
          h(
            "li",
            {},
            h("span", {}, out.recorded_on),
            out.value !== null && out.value !== undefined ? [" · ", h("strong", {}, figure(out.value))] : "",
            out.note ? ` · ${out.note}` : "",
            h("span", { class: "muted" }, ` · ${out.source === "scoring" ? "by the daily scoring" : out.recorded_by ? `by ${nameOf(out.recorded_by)}` : ""}`),
          ),
        ),
      ),
    );
  }

  // "Record outcome" and "Mark achieved": each opens its small form; the API's 400 shows beside the field.
  function objectiveActions(o, plan, card) {
    const holder = h("div", { class: "objective-form" });
    const open = (form) => {
      holder.replaceChildren(form);
      form.querySelector("input, textarea")?.focus();
    };
    const cancel = () => h("button", { type: "button", onClick: () => holder.replaceChildren() }, "Cancel");
    const recordButton = h("button", { type: "button", onClick: () => open(outcomeForm(o, plan, cancel())) }, "Record outcome");
    const achieveButton = h("button", { type: "button", onClick: () => open(achieveForm(o, plan, cancel())) }, "Mark achieved");
    return h("div", {}, h("div", { class: "actions" }, recordButton, achieveButton), holder);
  }

  function outcomeForm(o, plan, cancelButton) {
    const value = h("input", { type: "text", inputmode: "decimal", autocomplete: "off", class: "weight-number" });
    const note = h("textarea", { rows: 2, maxlength: 2000 });
    const on = h("input", { type: "date", max: today });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Record an outcome for ${o.title}` },
      field(o.metric ? `Value (${metricWords(o.metric)})` : "Value", value, { name: "value", hint: o.metric ? `Target ${figure(o.target)}` : "Optional" }),
      field("Note", note, { name: "note" }),
      field("Recorded on", on, { name: "recorded_on", hint: "Empty: today" }),
      h("div", { class: "field buttons" }, h("button", { type: "submit", class: "primary" }, "Save outcome"), cancelButton),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const text = value.value.trim();
      // A number goes as a number; anything else as typed, for the API to say what is wrong with it.
      const sent = text === "" ? null : Number.isFinite(Number(text)) ? Number(text) : text;
      try {
        const updated = await api.post(`${base}/success-plan/objectives/${encodeURIComponent(o.objective_id)}/outcomes`, {
          value: sent,
          note: note.value.trim() || null,
          recorded_on: on.value || null,
          version: plan.version,
        });
        const now = updated.objectives.find((x) => x.objective_id === o.objective_id);
        notice(now?.status === "achieved" ? `Outcome recorded: “${o.title}” is achieved` : "Outcome recorded");
        reload();
        planChanged();
      } catch (error) {
        showError(form, error);
      }
    });
    return form;
  }

  function achieveForm(o, plan, cancelButton) {
    const reason = h("input", { type: "text", maxlength: 500, size: 40 });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": `Mark ${o.title} achieved` },
      field("Why it is achieved", reason, { name: "reason", hint: "Required; kept in the audit log." }),
      h("div", { class: "field buttons" }, h("button", { type: "submit", class: "primary" }, "Confirm achieved"), cancelButton),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        await api.post(`${base}/success-plan/objectives/${encodeURIComponent(o.objective_id)}/achieve`, { reason: reason.value, version: plan.version });
        notice(`“${o.title}” marked achieved`);
        reload();
        planChanged();
      } catch (error) {
        showError(form, error);
      }
    });
    return form;
  }

  function applyForm(state) {
    if (!state.blueprints.length) return h("p", { class: "note" }, "No blueprint to apply yet: directors and admins create them.");
    const choice = select([["", "Choose a blueprint"], ...state.blueprints.map((b) => [b.blueprint_id, b.name])], "");
    const start = h("input", { type: "date", value: today });
    const about = h("p", { class: "muted blueprint-about", "aria-live": "polite" });
    // What the chosen blueprint holds, before it is applied.
    choice.addEventListener("change", () => {
      const chosen = state.blueprints.find((b) => b.blueprint_id === choice.value);
      const initiatives = chosen ? chosen.objectives.flatMap((o) => o.initiatives) : [];
      const count = (n, what) => `${n} ${what}${n === 1 ? "" : "s"}`;
      about.textContent = chosen
        ? `${chosen.description ? `${chosen.description} ` : ""}${count(chosen.objectives.length, "objective")}: ${chosen.objectives.map((o) => o.title).join(", ")}; ${count(initiatives.length, "initiative")}, ${count(initiatives.reduce((n, i) => n + i.tasks.length, 0), "success task")}.`
        : "";
    });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": "Apply a blueprint" },
      field("Blueprint", choice, { name: "blueprint_id" }),
      field("Start date", start, { name: "start_date" }),
      h("div", { class: "field buttons" }, h("button", { type: "submit", class: "primary" }, "Apply blueprint")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        const plan = await api.post(`${base}/success-plan/apply`, { blueprint_id: choice.value, start_date: start.value || null });
        const created = plan.objectives.flatMap((o) => o.initiatives).reduce((sum, i) => sum + i.task_ids.length, 0);
        notice(`Plan “${plan.name}” created with ${created} success task${created === 1 ? "" : "s"}`);
        reload();
        planChanged();
      } catch (error) {
        showError(form, error);
      }
    });
    return h(
      "div",
      {},
      h("h3", {}, "Apply a blueprint"),
      h("p", { class: "muted" }, "Its objectives, initiatives and success tasks become this customer's plan, due counted from the start date; the tasks go to the owner."),
      form,
      about,
    );
  }

  // Share links: the live ones (who made each, until when), a new one shown once to copy, revoke after a confirmation.
  async function drawShares(holder) {
    let items;
    try {
      items = (await api.get(`${base}/success-plan/shares`)).items;
    } catch (error) {
      holder.replaceChildren(h("h3", {}, "Share links"), problem(error));
      return;
    }
    const created = h("div", { "aria-live": "polite" });
    const list = items.length
      ? h(
          "ul",
          { class: "share-links" },
          items.map((s) =>
            h(
              "li",
              {},
              `Created ${when(s.created_at)} by ${nameOf(s.created_by)} · valid until ${when(s.valid_until)} `,
              writer
                ? h(
                    "button",
                    {
                      type: "button",
                      "aria-label": `Revoke the link created ${when(s.created_at)}`,
                      onClick: async () => {
                        if (!window.confirm("Revoke this share link? Whoever has it can no longer open the plan.")) return;
                        try {
                          await api.del(`${base}/success-plan/shares/${encodeURIComponent(s.share_id)}`);
                          notice("Share link revoked");
                          drawShares(holder);
                        } catch (error) {
                          created.replaceChildren(problem(error));
                        }
                      },
                    },
                    "Revoke",
                  )
                : null,
            ),
          ),
        )
      : empty("No live share link.");
    holder.replaceChildren(
      ...present(
        h("h3", {}, "Share links"),
        h("p", { class: "muted" }, "A read-only page of the milestones marked shared, for the customer; no sign-in needed."),
        list,
        writer ? shareForm(holder, created) : null,
        created,
      ),
    );
  }

  function shareForm(holder, created) {
    const days = h("input", { type: "number", min: 1, max: 90, step: 1, value: 30, class: "weight-number" });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": "Create a share link" },
      field("Valid for (days, 1 to 90)", days, { name: "expires_in_days" }),
      h("div", { class: "field buttons" }, h("button", { type: "submit" }, "Create share link")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        const share = await api.post(`${base}/success-plan/shares`, { expires_in_days: days.value === "" ? null : Number(days.value) });
        // The page the customer reads (/shared/plans/<token>), not the API's JSON behind it.
        const url = new URL(BASE + share.path.replace(/^\/v1\//, "/"), location.href).href;
        await drawShares(holder);
        const out = holder.lastElementChild;
        const copy = h("button", { type: "button" }, "Copy link");
        copy.addEventListener("click", async () => {
          try {
            await navigator.clipboard.writeText(url);
            notice("Link copied");
          } catch {
            notice("Select the link and copy it");
          }
        });
        out.replaceChildren(
          h("p", { class: "secret share-created" }, `Copy this link now; it will not be shown again (valid until ${when(share.valid_until)}): `, h("code", {}, url), " ", copy),
        );
        notice("Share link created");
      } catch (error) {
        showError(form, error);
      }
    });
    return form;
  }

  reload();
  return el;
}
