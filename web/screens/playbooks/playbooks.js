// Playbooks: each with enable/disable, its versions, recent runs and a dry run; then the success
// blueprints, read-only (blueprints.js).
import { api, people } from "kw/api.js";
import { blueprintsSection } from "kw/screens/playbooks/blueprints.js";
import { dataTable, empty, h, link, notice, problem, when } from "kw/widgets.js";

export async function render(main, ctx) {
  main.append(h("h1", {}, "Playbooks"));
  const { items } = await api.get("/v1/playbooks");
  if (!items.length) return main.append(empty("No playbook yet."), blueprintsSection(ctx));
  const configure = ctx.can("playbooks", "configure");
  main.append(
    h(
      "ul",
      { class: "cards" },
      items.map((p) => {
        const out = h("div", { "aria-live": "polite" });
        const card = h(
          "li",
          { class: "card" },
          h("h2", {}, p.name, " ", h("span", { class: `tag ${p.enabled ? "tag-on" : "tag-off"}` }, p.enabled ? "Enabled" : "Disabled")),
          h("p", {}, p.description || ""),
          h("p", { class: "muted" }, `Trigger: ${p.trigger_text || p.trigger.type}`, p.conditions_text ? ` · if ${p.conditions_text}` : "", ` · version ${p.version}`),
        );
        const actions = h("div", { class: "actions" });
        if (configure) {
          const toggle = h("button", { type: "button" }, p.enabled ? "Disable" : "Enable");
          toggle.addEventListener("click", async () => {
            try {
              const updated = await api.patch(`/v1/playbooks/${p.playbook_id}`, { enabled: !p.enabled, version: p.version });
              Object.assign(p, updated);
              toggle.textContent = p.enabled ? "Disable" : "Enable";
              card.querySelector(".tag").textContent = p.enabled ? "Enabled" : "Disabled";
              notice(`${p.name} ${p.enabled ? "enabled" : "disabled"}`);
            } catch (error) {
              out.replaceChildren(problem(error));
            }
          });
          actions.append(toggle);
        }
        const show = (label, load) => {
          const button = h("button", { type: "button" }, label);
          button.addEventListener("click", async () => {
            out.replaceChildren(h("p", { class: "state" }, "Loading…"));
            try {
              out.replaceChildren(await load());
            } catch (error) {
              out.replaceChildren(problem(error));
            }
          });
          actions.append(button);
        };
        show("Dry run", async () => {
          const r = await api.post(`/v1/playbooks/${p.playbook_id}/dry-run`, undefined, { limit: 20 });
          return h("div", {}, h("p", {}, `${r.entering_count} of ${r.evaluated} customers would enter now. Nothing was written.`), h("ul", {}, r.entering.map((e) => h("li", {}, `${e.name}: ${e.reason}`))));
        });
        show("Runs", async () => {
          const r = await api.get(`/v1/playbooks/${p.playbook_id}/runs`, { limit: 20 });
          return dataTable({ caption: "Latest runs", rows: r.items, emptyText: "No run yet.", columns: [
            { key: "customer_id", label: "Customer", render: (run) => link(`/customers/${run.customer_id}`, run.customer_name || run.customer_id) },
            { key: "enrolled_at", label: "Started", render: (run) => when(run.enrolled_at) },
            { key: "steps", label: "Steps", render: stepsSummary },
            { key: "reason", label: "Why" },
          ] });
        });
        show("Versions", async () => {
          const [r, names] = await Promise.all([api.get(`/v1/playbooks/${p.playbook_id}/versions`), people()]);
          // Who saved each version by name ("keepwell": the playbook as Keepwell ships it); the id in the tooltip.
          const by = (id) => names[id] || (id === "keepwell" || id === "system" ? "Keepwell (built in)" : id);
          return h("ol", { "aria-label": `Versions of ${p.name}` }, r.items.map((v) => h("li", {}, `v${v.version} · ${when(v.updated_at)} by `, h("span", { title: v.updated_by }, by(v.updated_by)))));
        });
        card.append(actions, out);
        return card;
      }),
    ),
    blueprintsSection(ctx),
  );
}

// A run's steps as "task done · slack skipped"; a step without an outcome yet is "pending".
function stepsSummary(run) {
  const steps = run.steps || [];
  if (!steps.length) return "—";
  return steps.map((s) => `${s.action.replace("_", " ")} ${s.outcome?.status || "pending"}`).join(" · ");
}
