// Success blueprints, read-only (docs/success-plans.md): each with what it creates — objectives with
// their metric and target, initiatives and success tasks, every due date in days from the plan's start —
// who saved it last, by name, and its version. A blueprint is applied from a customer's 360.
import { api, people } from "kw/api.js";
import { metricWords } from "kw/screens/customer/success-plan.js";
import { empty, h, loading, problem, when } from "kw/widgets.js";

const count = (n, what) => `${n} ${what}${n === 1 ? "" : "s"}`;
const dueDay = (days) => (days ? `day ${days}` : "at the start");

export function blueprintsSection(ctx) {
  const body = h("div", {}, loading("Loading blueprints…"));
  (async () => {
    try {
      const [{ items }, names] = await Promise.all([api.get("/v1/blueprints"), people()]);
      const by = (id) => (id === ctx.me.user_id ? "you" : names[id] || (id === "keepwell" || id === "system" ? "Keepwell (built in)" : id));
      body.replaceChildren(items.length ? h("ul", { class: "cards" }, items.map((b) => card(b, by))) : empty("No blueprint yet."));
    } catch (error) {
      body.replaceChildren(problem(error));
    }
  })();
  return h(
    "section",
    { class: "blueprints", "aria-labelledby": "blueprints" },
    h("h2", { id: "blueprints" }, "Success blueprints"),
    h("p", { class: "muted" }, "Templates of a success plan. A CSM applies one from a customer's page (Success plan → Apply a blueprint); the onboarding playbook applies Onboarding. Directors and admins edit them through the API (PATCH /v1/blueprints/{id})."),
    body,
  );
}

function card(b, by) {
  const initiatives = b.objectives.flatMap((o) => o.initiatives);
  const tasks = initiatives.reduce((n, i) => n + i.tasks.length, 0);
  return h(
    "li",
    { class: "card blueprint", "aria-label": `Blueprint: ${b.name}` },
    h("h3", {}, b.name, b.journey_phase ? h("span", { class: "tag" }, b.journey_phase) : null),
    b.description ? h("p", {}, b.description) : null,
    h("p", { class: "muted" }, `${count(b.objectives.length, "objective")}, ${count(initiatives.length, "initiative")}, ${count(tasks, "success task")} · version ${b.version}, saved ${when(b.updated_at)} by ${by(b.updated_by)}`),
    h(
      "details",
      {},
      h("summary", {}, "What it creates"),
      h(
        "ol",
        { class: "blueprint-objectives" },
        b.objectives.map((o) =>
          h(
            "li",
            {},
            h("strong", {}, o.title),
            h("span", { class: "muted" }, ` · due ${dueDay(o.due_days)}`),
            o.metric ? ` · ${metricWords(o.metric)} from ${o.baseline ?? "—"} to ${o.target}` : " · achieved by hand",
            o.shared ? h("span", { class: "tag" }, "Shared") : null,
            o.initiatives.length
              ? h(
                  "ul",
                  {},
                  o.initiatives.map((i) =>
                    h(
                      "li",
                      {},
                      i.title,
                      h("span", { class: "muted" }, ` · due ${dueDay(i.due_days)}`),
                      i.shared ? h("span", { class: "tag" }, "Shared") : null,
                      i.tasks.length ? h("ul", {}, i.tasks.map((t) => h("li", {}, t.title, h("span", { class: "muted" }, ` · task due ${dueDay(t.due_days)}`)))) : null,
                    ),
                  ),
                )
              : null,
          ),
        ),
      ),
    ),
  );
}
