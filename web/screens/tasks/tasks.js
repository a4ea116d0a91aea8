// Tasks: the caller's (or, for directors and admins, an owner's) tasks with filters, paged.
import { api } from "kw/api.js";
import { taskList } from "kw/screens/my-day/my-day.js";
import { field, h, moreButton, problem, select } from "kw/widgets.js";

export async function render(main, ctx) {
  main.append(h("h1", {}, "Tasks"));
  const status = select([["", "Any status"], ["pending", "Pending"], ["in_progress", "In progress"], ["completed", "Completed"], ["skipped", "Skipped"]], ctx.query.get("status") || "");
  const overdue = h("input", { type: "checkbox", checked: ctx.query.get("overdue") === "true" });
  const results = h("div", { "aria-live": "polite" });
  const load = async () => {
    results.replaceChildren(h("p", { class: "state" }, "Loading…"));
    const pager = api.pages("/v1/tasks", { status: status.value, overdue: overdue.checked ? "true" : undefined, limit: 25 });
    try {
      const list = taskList(await pager.next(), ctx, "No task matches.");
      results.replaceChildren(list, moreButton(pager, (more) => list.append(...taskList(more, ctx, "").children)));
    } catch (error) {
      results.replaceChildren(problem(error));
    }
  };
  status.addEventListener("change", load);
  overdue.addEventListener("change", load);
  main.append(h("div", { class: "filters" }, field("Status", status), h("label", { class: "check" }, overdue, " Overdue only")), results);
  await load();
}
