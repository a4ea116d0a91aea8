// My day: a CSM's tasks due today and overdue (start / complete / skip inline), their customers with
// red flags and new alerts (most urgent first, the first ten shown), unread notifications (mark read),
// and the customers listed only for green flags (openings).
import { api } from "kw/api.js";
import { day, empty, h, link, notice, problem, scoreBadge, section, when } from "kw/widgets.js";

export async function render(main, ctx) {
  main.append(h("h1", {}, "My day"));
  const holder = h("div", {}, h("p", { class: "state", role: "status" }, "Loading…"));
  main.append(holder);
  let data;
  try {
    data = await api.get("/v1/my-day");
  } catch (error) {
    holder.replaceChildren(problem(error));
    return;
  }
  holder.replaceChildren(
    h("p", { class: "muted" }, `Today is ${data.date}.`),
    h(
      "div",
      { class: "grid-2" },
      await section("Tasks due today", () => taskList(data.due_today, ctx, "No tasks due today."), { id: "due-today" }),
      await section("Overdue tasks", () => taskList(data.overdue, ctx, "Nothing overdue."), { id: "overdue" }),
      await section("Customers needing attention", () => attention(data.customers.filter(needsAttention)), { id: "attention" }),
      await section("Unread notifications", () => notifications(data.notifications, ctx), { id: "notifications" }),
      await section("Green flags: openings", () => openings(data.customers.filter((c) => !needsAttention(c))), { id: "openings" }),
    ),
  );
}

// Task cards name their customer from the task itself: the API answers each task with its customer's
// current name (`customer_name`), whichever customer of the workspace it is.
export function taskList(tasks, ctx, emptyText) {
  if (!tasks.length) return empty(emptyText);
  return h("ul", { class: "cards" }, tasks.map((task) => taskCard(task, ctx)));
}

function taskCard(task, ctx) {
  const status = h("span", { class: `status status-${task.status}` }, task.status.replace("_", " "));
  const actions = h("div", { class: "actions" });
  const card = h(
    "li",
    { class: "card" },
    h("h3", {}, task.title),
    h(
      "p",
      { class: "muted" },
      `Due ${day(task.due_date)}`,
      task.overdue ? h("span", { class: "days days-red" }, " overdue") : "",
      " · ",
      status,
      task.customer_id ? [" · ", link(`/customers/${task.customer_id}`, task.customer_name || "the customer")] : "",
    ),
    actions,
  );
  const change = async (next, label) => {
    actions.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      const updated = await api.patch(`/v1/tasks/${task.task_id}`, { status: next, version: task.version });
      Object.assign(task, updated);
      status.textContent = updated.status.replace("_", " ");
      status.className = `status status-${updated.status}`;
      notice(`${label}: ${task.title}`);
      drawActions();
    } catch (error) {
      actions.append(problem(error));
      actions.querySelectorAll("button").forEach((b) => (b.disabled = false));
    }
  };
  const drawActions = () => {
    actions.replaceChildren();
    if (!ctx.can("tasks", "write") || ["completed", "skipped"].includes(task.status)) return;
    if (task.status === "pending") {
      actions.append(h("button", { type: "button", onClick: () => change("in_progress", "Started") }, "Start"));
    }
    actions.append(
      h("button", { type: "button", class: "primary", onClick: () => change("completed", "Completed") }, "Complete"),
      h("button", { type: "button", onClick: () => change("skipped", "Skipped") }, "Skip"),
    );
  };
  drawActions();
  return card;
}

// The API lists them most urgent first (new alerts, then more red flags, then the lower score).
const needsAttention = (c) => c.red_flags.length > 0 || c.new_alerts.length > 0;
const FIRST = 10;

function attention(customers) {
  if (!customers.length) return empty("None of your customers has a red flag or a new alert.");
  return capped(customerCards(customers), customers.length);
}

function openings(customers) {
  if (!customers.length) return empty("No customer is listed only for green flags today.");
  return capped(customerCards(customers), customers.length);
}

// The first FIRST cards, and a button that shows the rest: a long book stays a list to triage from the top.
function capped(list, total) {
  if (total <= FIRST) return list;
  const rest = [...list.children].slice(FIRST);
  rest.forEach((card) => (card.hidden = true));
  const more = h("button", { type: "button" }, `Show all ${total}`);
  more.addEventListener("click", () => {
    rest.forEach((card) => (card.hidden = false));
    more.remove();
    rest[0].querySelector("a")?.focus();
  });
  return h("div", {}, list, h("p", {}, more));
}

function customerCards(customers) {
  return h(
    "ul",
    { class: "cards" },
    customers.map((c) =>
      h(
        "li",
        { class: "card" },
        h("h3", {}, link(`/customers/${c.customer_id}`, c.name), " ", scoreBadge(c.health_score, c.health_band)),
        c.red_flags.length
          ? h("ul", { class: "flags" }, c.red_flags.map((flag) => h("li", { class: "flag flag-red" }, h("span", { class: "sr-only" }, "Red flag: "), flag)))
          : null,
        c.green_flags?.length
          ? h("ul", { class: "flags" }, c.green_flags.map((flag) => h("li", { class: "flag flag-green" }, h("span", { class: "sr-only" }, "Green flag: "), flag)))
          : null,
        c.new_alerts.length
          ? h("p", {}, `${c.new_alerts.length} new alert${c.new_alerts.length > 1 ? "s" : ""}: `, c.new_alerts.map((a) => a.title || a.kind).join("; "))
          : null,
      ),
    ),
  );
}

function notifications(items, ctx) {
  const unread = items.filter((n) => !n.read_at);
  if (!unread.length) return empty("No unread notifications.");
  return h(
    "ul",
    { class: "cards" },
    unread.map((n) => {
      const button = h("button", { type: "button" }, "Mark read");
      const item = h(
        "li",
        { class: "card" },
        h("h3", {}, n.customer_id ? link(`/customers/${n.customer_id}`, n.title) : n.title),
        n.body ? h("p", {}, n.body) : null,
        h("p", { class: "muted" }, when(n.created_at), " ", button),
      );
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await api.post(`/v1/notifications/${n.notification_id}/read`);
          item.remove();
          notice("Marked read");
        } catch (error) {
          item.append(problem(error));
          button.disabled = false;
        }
      });
      return item;
    }),
  );
}
