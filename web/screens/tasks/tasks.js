// Tasks: the caller's (or, for directors and admins, an owner's) tasks with filters, paged.
import { api } from "kw/api.js";
import { taskList } from "kw/screens/my-day/my-day.js";
import { field, h, moreButton, problem, select } from "kw/widgets.js";

export async function render(main, ctx) {
  main.append(h("h1", {}, "Tasks"));
  const status = select([["", "Any status"], ["pending", "Pending"], ["in_progress", "In progress"], ["completed", "Completed"], ["skipped", "Skipped"]], ctx.query.get("status") || "");
  const overdue = h("input", { type: "checkbox", checked: ctx.query.get("overdue") === "true" });
  // Directors and admins look at their team's tasks too: one owner at a time, as the API lists them.
  const users = ctx.can("users", "read") ? await api.get("/v1/users").then((r) => r.items).catch(() => []) : [];
  const others = users.filter((u) => u.active !== false && u.user_id !== ctx.me.user_id && u.role !== "viewer");
  const owner = others.length
    ? select([["", "Me"], ...others.map((u) => [u.user_id, `${u.name} (${u.role})`])], ctx.query.get("owner_id") || "")
    : null;
  const results = h("div", { "aria-live": "polite" });
  const load = async () => {
    results.replaceChildren(h("p", { class: "state" }, "Loading…"));
    const query = { status: status.value, overdue: overdue.checked ? "true" : undefined, owner_id: owner?.value || undefined, limit: 25 };
    const pager = api.pages("/v1/tasks", query);
    try {
      const list = taskList(await pager.next(), ctx, "No task matches.");
      results.replaceChildren(list, moreButton(pager, (more) => list.append(...taskList(more, ctx, "").children)));
    } catch (error) {
      results.replaceChildren(problem(error));
    }
  };
  for (const control of [status, overdue, owner]) control?.addEventListener("change", load);
  main.append(
    h("div", { class: "filters" }, owner ? field("Owner", owner) : null, field("Status", status), h("label", { class: "check" }, overdue, " Overdue only")),
    results,
  );
  await load();
}
