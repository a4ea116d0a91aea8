// A success plan as its customer sees it: the link a CSM sends (Customer 360 → Share links) opens this
// page, with no sign-in. It shows what `GET /v1/shared/plans/{token}` answers — the milestones marked
// shared, their due dates and statuses — and nothing of the console around it.
import { api } from "kw/api.js";
import { h, when } from "kw/widgets.js";

const OBJECTIVE_STATUS = { open: "Open", achieved: "Achieved" };
const INITIATIVE_STATUS = { not_started: "Not started", in_progress: "In progress", done: "Done", blocked: "Blocked" };
const BADGE = { achieved: "green", done: "green", in_progress: "amber", blocked: "red" };

const badge = (status, words) => h("span", { class: `badge badge-${BADGE[status] || "none"}` }, words[status] || status);

export async function render(main, ctx) {
  let plan;
  try {
    plan = await api.get(`/v1/shared/plans/${encodeURIComponent(ctx.params.token)}`);
  } catch (error) {
    main.append(h("h1", {}, "Success plan"));
    const gone = error.status === 404;
    main.append(
      h(
        "p",
        { class: "problem", role: "alert" },
        gone ? "This link has expired or was withdrawn. Ask your customer success manager for a new one." : error.sentence || error.message,
      ),
    );
    return;
  }
  main.append(
    h("h1", {}, `${plan.customer_name}: ${plan.name}`),
    h("p", { class: "muted" }, `Started ${plan.start_date}. This page shows the milestones shared with you; the link works until ${when(plan.valid_until)}.`),
  );
  if (!plan.objectives.length) {
    main.append(h("p", { class: "empty" }, "No milestone is shared yet."));
    return;
  }
  for (const objective of plan.objectives) {
    const heading = objective.title || "Milestones";
    const initiatives = objective.initiatives.map((i) =>
      h("li", {}, h("strong", {}, i.title), " · due ", i.due_date, " ", badge(i.status, INITIATIVE_STATUS)),
    );
    main.append(
      h(
        "section",
        { class: "card shared-objective", "aria-label": heading },
        h("h2", {}, heading, objective.status ? [" ", badge(objective.status, OBJECTIVE_STATUS)] : null),
        objective.due_date ? h("p", { class: "muted" }, `Due ${objective.due_date}`) : null,
        initiatives.length ? h("ul", { class: "shared-initiatives" }, initiatives) : null,
      ),
    );
  }
}
