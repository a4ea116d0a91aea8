// Segments: the list, a rule editor that shows the API's validation message, and a segment's members.
import { api } from "kw/api.js";
import { clearErrors, dataTable, field, h, link, moreButton, notice, problem, scoreBadge, showError } from "kw/widgets.js";

export async function render(main, ctx) {
  if (ctx.params.segment_id) return members(main, ctx);
  main.append(h("h1", {}, "Segments"));
  const { items } = await api.get("/v1/segments");
  main.append(
    dataTable({
      caption: "Segments (members are whoever matches now)",
      rows: items,
      emptyText: "No segment yet.",
      columns: [
        { key: "name", label: "Segment", render: (s) => link(`/segments/${s.segment_id}`, s.name) },
        { key: "condition_text", label: "Rule", render: (s) => h("code", {}, s.condition_text) },
      ],
    }),
  );
  if (!ctx.can("segments", "configure")) return;
  const name = h("input", { type: "text", maxlength: 100, required: true });
  const condition = h("textarea", { rows: 3, class: "code", spellcheck: false });
  const form = h(
    "form",
    { class: "panel" },
    h("h2", {}, "New segment"),
    field("Name", name, { name: "name" }),
    field("Rule", condition, { name: "condition", hint: 'e.g. tier = "Enterprise" AND arr > 50000' }),
    h("button", { type: "submit", class: "primary" }, "Create segment"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const created = await api.post("/v1/segments", { name: name.value, condition: condition.value });
      notice(`Segment ${created.name} created`);
      ctx.navigate(`/segments/${created.segment_id}`);
    } catch (error) {
      showError(form, error);
    }
  });
  main.append(form);
}

async function members(main, ctx) {
  let segment;
  try {
    segment = await api.get(`/v1/segments/${encodeURIComponent(ctx.params.segment_id)}`);
  } catch (error) {
    main.append(h("h1", {}, "Segment"), problem(error));
    return;
  }
  const ruleText = h("code", {}, segment.condition_text);
  main.append(h("h1", {}, segment.name), h("p", {}, link("/segments", "← Segments")), h("p", {}, "Rule: ", ruleText));
  const holder = h("div", { "aria-live": "polite" });
  if (ctx.can("segments", "configure")) main.append(ruleEditor(segment, ruleText, () => memberList(segment, holder)));
  main.append(holder);
  await memberList(segment, holder);
}

// The members as the API lists them now (read again after the rule changes). The rule is evaluated in
// batches: a page may come back empty while more follow, but none left means nobody matches.
async function memberList(segment, holder) {
  const pager = api.pages(`/v1/segments/${segment.segment_id}/members`, { limit: 50 });
  const rows = await pager.atLeast(25);
  const table = dataTable({
    caption: "Members",
    rows,
    emptyText: pager.hasMore ? "No member found yet; follow “Show more” (the rule is evaluated in batches)." : "No customer matches this rule.",
    columns: [
      { key: "name", label: "Customer", render: (c) => link(`/customers/${c.customer_id}`, c.name) },
      { key: "health_score", label: "Health", render: (c) => scoreBadge(c.health_score, c.health_band) },
    ],
  });
  holder.replaceChildren(table, moreButton(pager, (more) => table.addRows(more)));
}

// Editing the rule of an existing segment: the API's message (with its position) beside the rule.
function ruleEditor(segment, ruleText, refresh) {
  const condition = h("textarea", { rows: 3, class: "code", spellcheck: false }, segment.condition_text);
  const form = h(
    "form",
    { class: "panel", "aria-label": "Edit the rule" },
    h("h2", {}, "Edit the rule"),
    field("Rule", condition, { name: "condition", hint: "members are recomputed from the new rule" }),
    h("button", { type: "submit", class: "primary" }, "Save rule"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const saved = await api.patch(`/v1/segments/${segment.segment_id}`, { condition: condition.value, version: segment.version });
      segment.version = saved.version;
      ruleText.textContent = saved.condition_text;
      notice(`Rule of ${saved.name} saved; its members are listed again`);
      await refresh();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}
