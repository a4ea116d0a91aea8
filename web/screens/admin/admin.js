// Admin: users, invitations and roles; API keys (the secret shown once); the audit log with filters.
import { api } from "kw/api.js";
import { clearErrors, dataTable, field, h, moreButton, notice, problem, section, select, showError, when } from "kw/widgets.js";

const ROLES = [["admin", "Admin"], ["director", "Director"], ["csm", "CSM"], ["viewer", "Viewer"]];

export async function render(main, ctx) {
  main.append(h("h1", {}, "Admin"));
  const configure = ctx.can("users", "configure");
  main.append(await section("Users", () => users(configure), { id: "users" }));
  if (configure) main.append(invitationForm());
  if (ctx.can("api_keys", "read")) main.append(await section("API keys", apiKeys, { id: "api-keys" }));
  if (ctx.can("audit", "read")) main.append(await section("Audit log", audit, { id: "audit" }));
}

async function users(configure) {
  const { items } = await api.get("/v1/users");
  return dataTable({
    caption: "Users of this workspace",
    rows: items,
    columns: [
      { key: "name", label: "Name" },
      { key: "email", label: "Email" },
      {
        key: "role",
        label: "Role",
        render: (u) => {
          if (!configure || !u.active) return u.role;
          const choice = select(ROLES, u.role, { "aria-label": `Role of ${u.name}` });
          choice.addEventListener("change", async () => {
            try {
              await api.put(`/v1/users/${u.user_id}/role`, { role: choice.value });
              notice(`${u.name} is now ${choice.value}`);
            } catch (error) {
              choice.value = u.role;
              choice.after(problem(error));
            }
          });
          return choice;
        },
      },
      { key: "active", label: "Active", render: (u) => (u.active ? "Yes" : "No") },
    ],
  });
}

function invitationForm() {
  const email = h("input", { type: "email", required: true });
  const name = h("input", { type: "text", required: true });
  const role = select(ROLES, "csm");
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel" }, h("h2", {}, "Invite someone"), field("Email", email, { name: "email" }), field("Name", name, { name: "name" }), field("Role", role, { name: "role" }), h("button", { type: "submit" }, "Send invitation"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const invitation = await api.post("/v1/invitations", { email: email.value, name: name.value, role: role.value });
      out.replaceChildren(h("p", {}, "Invitation token (shown once; send it to them): ", h("code", {}, invitation.token)));
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

async function apiKeys() {
  const { items } = await api.get("/v1/api-keys");
  const out = h("div", { "aria-live": "polite" });
  const name = h("input", { type: "text", maxlength: 100 });
  const form = h("form", { class: "inline-form" }, field("New key name", name, { name: "name" }), h("button", { type: "submit" }, "Create key"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const created = await api.post("/v1/api-keys", { name: name.value });
      out.replaceChildren(h("p", { class: "secret" }, "Copy this key now; it will not be shown again: ", h("code", {}, created.key || created.secret)));
    } catch (error) {
      showError(form, error);
    }
  });
  return [
    dataTable({
      caption: "Ingestion API keys",
      rows: items,
      columns: [
        { key: "name", label: "Name" },
        { key: "prefix", label: "Prefix", render: (k) => h("code", {}, k.prefix || k.display_prefix || "") },
        { key: "active", label: "Active", render: (k) => (k.active ? "Yes" : "Revoked") },
        { key: "created_at", label: "Created", render: (k) => when(k.created_at) },
      ],
    }),
    form,
    out,
  ];
}

async function audit() {
  const action = h("input", { type: "text", placeholder: "e.g. renewal.forecast_changed" });
  const holder = h("div");
  const load = async () => {
    const pager = api.pages("/v1/audit", { action: action.value, limit: 25 });
    try {
      const table = dataTable({
        caption: "Audit log, newest first",
        rows: await pager.next(),
        emptyText: "No entry matches.",
        columns: [
          { key: "occurred_at", label: "When", render: (e) => when(e.occurred_at) },
          { key: "actor_id", label: "Who" },
          { key: "action", label: "Action" },
          { key: "target", label: "Target" },
          { key: "reason", label: "Reason", render: (e) => e.reason || "—" },
        ],
      });
      holder.replaceChildren(table, moreButton(pager, (more) => table.addRows(more)));
    } catch (error) {
      holder.replaceChildren(problem(error));
    }
  };
  const form = h("form", { class: "filters" }, field("Action", action, { name: "action" }), h("div", { class: "field buttons" }, h("button", { type: "submit" }, "Filter")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  await load();
  return [form, holder];
}
