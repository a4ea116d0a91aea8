// Admin: users, invitations and roles; API keys (the secret shown once); the audit log with filters.
import { api, people } from "kw/api.js";
import { clearErrors, dataTable, day, field, h, link, moreButton, notice, problem, section, select, showError, when } from "kw/widgets.js";

const ROLES = [["admin", "Admin"], ["director", "Director"], ["csm", "CSM"], ["viewer", "Viewer"]];

export async function render(main, ctx) {
  main.append(h("h1", {}, "Admin"));
  const configure = ctx.can("users", "configure");
  main.append(await section("Users", () => users(configure), { id: "users" }));
  // Directors read who was invited (GET /v1/invitations is theirs too); admins also invite.
  if (ctx.can("users", "read")) main.append(await section("Invitations", () => invitations(configure), { id: "invitations" }));
  if (ctx.can("api_keys", "read")) main.append(await section("API keys", apiKeys, { id: "api-keys" }));
  if (ctx.can("integrations", "read")) main.append(await section("Integrations", integrations, { id: "integrations" }));
  if (ctx.can("integrations", "read")) main.append(await section("HubSpot CRM sync", () => hubspotSync(ctx.can("integrations", "configure")), { id: "hubspot-sync" }));
  if (ctx.can("webhooks", "read")) main.append(await section("Outbound webhooks", webhooks, { id: "webhooks" }));
  if (ctx.can("settings", "read")) main.append(await section("Slack", slack, { id: "slack" }));
  if (ctx.can("audit", "read")) main.append(await section("Audit log", () => audit(ctx.can), { id: "audit" }));
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
          choice.addEventListener("change", () => changeRole(u, choice, items));
          return choice;
        },
      },
      { key: "active", label: "Active", render: (u) => (u.active ? "Yes" : "No") },
      ...(configure ? [{ key: "access", label: "", render: (u) => [accessButton(u, items), " ", handOverButton(u, items)] }] : []),
    ],
  });
}

// A new role. Making a viewer of someone who owns customers (a viewer owns none: the API's 409
// owns_customers) asks who takes their customers and open tasks over, then sends it as transfer_to.
async function changeRole(user, choice, items) {
  const row = choice.closest("tr");
  row?.querySelectorAll(".problem").forEach((old) => old.remove());
  const apply = async (transferTo) => {
    const changed = await api.put(`/v1/users/${encodeURIComponent(user.user_id)}/role`, { role: choice.value, ...(transferTo ? { transfer_to: transferTo } : {}) });
    user.role = changed.role;
    notice(`${user.name} is now ${changed.role}${handedOver(changed.handed_over, items)}`);
  };
  try {
    await apply(null);
  } catch (error) {
    if (error.code !== "owns_customers") {
      choice.value = user.role;
      choice.after(problem(error));
      return;
    }
    choice.disabled = true;
    handoverForm(choice, {
      user,
      items,
      title: `Make ${user.name} a viewer`,
      text: `${user.name} owns customers, and a viewer owns none: choose who takes over their customers and open tasks. They keep reading the customers they co-own.`,
      confirm: "Make viewer",
      allowNobody: false,
      submit: apply,
      done: () => (choice.disabled = false),
      cancel: () => {
        choice.value = user.role;
        choice.disabled = false;
      },
    });
  }
}

// Deactivate (their next request is refused; they cannot sign in), after choosing who takes over their
// customers and open tasks (or nobody), or reactivate (the role they had).
function accessButton(user, items) {
  const verb = user.active ? "Deactivate" : "Reactivate";
  const button = h("button", { type: "button", "aria-label": `${verb} ${user.name}` }, verb);
  const done = (changed) => {
    const row = button.closest("tr");
    if (row) row.querySelector("td:nth-child(4)").textContent = changed.active ? "Yes" : "No";
    user.active = changed.active;
    button.replaceWith(accessButton(user, items));
  };
  button.addEventListener("click", async () => {
    button.closest("tr")?.querySelectorAll(".problem").forEach((old) => old.remove());
    if (user.active) {
      button.disabled = true;
      handoverForm(button, {
        user,
        items,
        title: `Deactivate ${user.name}`,
        text: `${user.name} loses access at once and cannot sign in. Their customers (owned and co-owned) and open tasks can go to someone else now; completed tasks stay theirs.`,
        confirm: "Deactivate",
        allowNobody: true,
        submit: async (transferTo) => {
          const changed = await api.post(`/v1/users/${encodeURIComponent(user.user_id)}/deactivate`, transferTo ? { transfer_to: transferTo } : undefined);
          done(changed);
          notice(`${user.name} deactivated${handedOver(changed.handed_over, items)}`);
        },
        cancel: () => (button.disabled = false),
      });
      return;
    }
    try {
      const changed = await api.post(`/v1/users/${encodeURIComponent(user.user_id)}/reactivate`);
      done(changed);
      notice(`${user.name} reactivated`);
    } catch (error) {
      button.after(problem(error));
    }
  });
  return button;
}

// Someone's whole book to a colleague with their access unchanged (on leave, a territory that moves).
function handOverButton(user, items) {
  const button = h("button", { type: "button", "aria-label": `Hand over the book of ${user.name}` }, "Hand over book");
  button.addEventListener("click", () => {
    button.disabled = true;
    handoverForm(button, {
      user,
      items,
      title: `Hand over the book of ${user.name}`,
      text: `Their customers (owned and co-owned) and open tasks go to the person you choose; ${user.name} keeps their access and role.`,
      confirm: "Hand over",
      allowNobody: false,
      submit: async (transferTo) => {
        const handed = await api.post(`/v1/users/${encodeURIComponent(user.user_id)}/hand-over`, { transfer_to: transferTo });
        notice(`Book of ${user.name} handed over${handedOver(handed, items)}`);
      },
      done: () => (button.disabled = false),
      cancel: () => (button.disabled = false),
    });
  });
  return button;
}

// The confirmation under the users table: who takes the person's book over (an active CSM, director or
// admin other than them; "nobody" only where the API allows it), then confirm or cancel.
function handoverForm(anchor, { user, items, title, text, confirm, allowNobody, submit, done, cancel }) {
  const wrap = anchor.closest(".table-wrap");
  wrap.parentElement.querySelector("form.handover")?.querySelector("button.cancel")?.click();
  const takers = items.filter((u) => u.active && u.user_id !== user.user_id && u.role !== "viewer");
  const options = [["", "Choose…"], ...takers.map((u) => [u.user_id, `${u.name} (${u.role})`])];
  if (allowNobody) options.push(["-", `Nobody: leave them with ${user.name}`]);
  const to = select(options, "", { required: true });
  const cancelButton = h("button", { type: "button", class: "cancel" }, "Cancel");
  const form = h(
    "form",
    { class: "panel handover", "aria-label": title },
    h("h3", {}, title),
    h("p", {}, text),
    field("Hand their customers and open tasks to", to, { name: "transfer_to" }),
    h("button", { type: "submit" }, confirm),
    " ",
    cancelButton,
  );
  const close = () => form.remove();
  cancelButton.addEventListener("click", () => {
    close();
    cancel();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    form.querySelectorAll(".problem").forEach((old) => old.remove());
    try {
      await submit(to.value && to.value !== "-" ? to.value : null);
      close();
      done?.();
    } catch (error) {
      showError(form, error);
    }
  });
  wrap.after(form);
  to.focus();
}

// ": 12 customers and 3 open tasks went to Dana" (nothing when nothing was handed over).
function handedOver(handed, items) {
  if (!handed) return "";
  const name = items.find((u) => u.user_id === handed.to)?.name || handed.to;
  const customers = handed.owned + handed.co_owned;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const kept = handed.kept_by_hubspot.length ? `; ${plural(handed.kept_by_hubspot.length, "customer")} kept the owner HubSpot sets (change it in HubSpot)` : "";
  return `: ${plural(customers, "customer")} and ${plural(handed.tasks, "open task")} went to ${name}${kept}`;
}

// Invitations: who was invited, by whom, until when, and whether they joined; a new one gives the link
// to send (the console's invitation page, shown once: only its hash is stored) unless the email went out.
async function invitations(configure) {
  const [{ items }, names] = await Promise.all([api.get("/v1/invitations"), people()]);
  const status = (i) => (i.accepted_at ? `Accepted ${day(i.accepted_at)}` : Date.parse(i.valid_until) < Date.now() ? "Expired" : "Pending");
  const table = dataTable({
    caption: "Invitations, newest first",
    rows: [...items].sort((a, b) => b.created_at.localeCompare(a.created_at)),
    emptyText: configure ? "No invitation yet: invite someone below." : "No invitation yet.",
    columns: [
      { key: "name", label: "Name" },
      { key: "email", label: "Email" },
      { key: "role", label: "Role" },
      { key: "invited_by", label: "Invited by", render: (i) => h("span", { title: i.invited_by }, names[i.invited_by] || i.invited_by) },
      { key: "valid_until", label: "Valid until", render: (i) => when(i.valid_until) },
      { key: "status", label: "Status", render: status },
    ],
  });
  if (!configure) return table;
  const email = h("input", { type: "email", required: true });
  const name = h("input", { type: "text", required: true });
  const role = select(ROLES, "csm");
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel" }, h("h3", {}, "Invite someone"), field("Email", email, { name: "email" }), field("Name", name, { name: "name" }), field("Role", role, { name: "role" }), h("button", { type: "submit" }, "Send invitation"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    out.replaceChildren();
    try {
      const invitation = await api.post("/v1/invitations", { email: email.value, name: name.value, role: role.value });
      const sent = invitation.email_sent ? `The invitation went to ${invitation.email} by email; the link is also here` : `No email was sent: send ${invitation.name} this link`;
      out.replaceChildren(h("p", { class: "secret" }, `${sent} (shown once; valid until ${when(invitation.valid_until)}): `, h("code", {}, invitation.console_link)));
      table.addRows([invitation], { first: true });
      email.value = "";
      name.value = "";
      notice(`${invitation.name} invited as ${invitation.role}`);
    } catch (error) {
      showError(form, error);
    }
  });
  return [table, form];
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
      out.replaceChildren(h("p", { class: "secret" }, "Copy this key now; it will not be shown again: ", h("code", {}, created.api_key)));
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
        { key: "revoke", label: "", render: (k) => (k.active ? revokeButton(k, out) : "") },
      ],
    }),
    form,
    out,
  ];
}

// Revoking asks first (events sent with the key are refused from then on), then marks the row.
function revokeButton(key, out) {
  const button = h("button", { type: "button", "aria-label": `Revoke ${key.name}` }, "Revoke");
  button.addEventListener("click", async () => {
    if (!window.confirm(`Revoke the key ${key.name}? Events sent with it will be refused.`)) return;
    try {
      await api.del(`/v1/api-keys/${encodeURIComponent(key.key_id)}`);
      const row = button.closest("tr");
      button.replaceWith("");
      if (row) row.querySelector("td:nth-child(3)").textContent = "Revoked";
      notice(`Key ${key.name} revoked`);
    } catch (error) {
      out.replaceChildren(problem(error));
    }
  });
  return button;
}

// Who and what by name: people from `people()` (every role may read it), customers by one read of each
// customer an entry names (its target `customer:<id>`, or a `customer_id` in what it changed), once per
// customer, and renewals by their customer from the pipeline's rows (read once, when a page has one).
// The id stays in the cell's title (and a customer's name links to its 360) for whoever investigates.
async function audit(can) {
  const names = await people();
  const customers = new Map(); // customer id -> Promise of its name (null: not readable)
  const customerName = (id) => {
    if (!customers.has(id)) customers.set(id, api.get(`/v1/customers/${id}`).then((c) => c.name).catch(() => null));
    return customers.get(id);
  };
  const known = new Map();
  let renewals = null; // Promise of renewal id -> pipeline row
  const renewalRows = () =>
    (renewals ||= api
      .get("/v1/renewals")
      .then((p) => new Map(Object.values(p.groups || {}).flat().map((row) => [row.renewal_id, row])))
      .catch(() => new Map()));
  let byRenewal = new Map();
  // Playbooks, segments, webhooks, API keys, capabilities, blueprints, invitations, imports and custom
  // fields by what their lists call them (each list read once, when a page first names one, and only by a
  // role that may read it; one deleted since, or a list this role may not read, keeps its id).
  const lists = {
    playbook: ["/v1/playbooks", ["playbooks", "read"], (x) => [x.playbook_id, `Playbook ${x.name}`]],
    segment: ["/v1/segments", ["segments", "read"], (x) => [x.segment_id, `Segment ${x.name}`]],
    webhook: ["/v1/webhooks", ["webhooks", "read"], (x) => [x.subscription_id, `Webhook to ${x.url}`]],
    api_key: ["/v1/api-keys", ["api_keys", "read"], (x) => [x.key_id, `API key ${x.name}`]],
    capability: ["/v1/capabilities", ["capabilities", "read"], (x) => [x.capability_id, `Capability ${x.name}`]],
    blueprint: ["/v1/blueprints", ["blueprints", "read"], (x) => [x.blueprint_id, `Blueprint ${x.name}`]],
    invitation: ["/v1/invitations", ["users", "read"], (x) => [x.invitation_id, `Invitation of ${x.name} (${x.email})`]],
    import: ["/v1/imports", ["imports", "read"], (x) => [x.import_id, `Import of ${x.filename}`]],
    custom_field: ["/v1/custom-fields", ["custom_fields", "read"], (x) => [x.key, `Custom field ${x.label}`]],
  };
  const labels = new Map(); // kind -> Promise of id -> label
  const labelled = new Map(); // kind -> id -> label, for drawing
  const labelsOf = (kind) => {
    if (!labels.has(kind)) {
      const [path, [feature, verb], entry] = lists[kind];
      const read = can(feature, verb) ? api.get(path).then((r) => new Map((r.items || []).map(entry))) : Promise.resolve(new Map());
      labels.set(kind, read.catch(() => new Map()));
    }
    return labels.get(kind);
  };
  const customerOf = (e) => {
    const [kind, id] = splitTarget(e.target);
    // An engagement and a success plan are their customer's (their id is the customer's).
    if (kind === "customer" || kind === "engagement" || kind === "success_plan") return id;
    return e.after?.customer_id || e.before?.customer_id || null;
  };
  // Resolve the page's customers before drawing it, so each row is drawn once, by name.
  const named = async (rows) => {
    const ids = [...new Set(rows.map(customerOf).filter(Boolean))];
    await Promise.all(ids.map(async (id) => known.set(id, await customerName(id))));
    if (rows.some((e) => splitTarget(e.target)[0] === "renewal")) byRenewal = await renewalRows();
    // A playbook acts too (its runs open engagements, write notes): actors and targets alike.
    const kinds = [...new Set(rows.flatMap((e) => [splitTarget(e.target)[0], splitTarget(e.actor_id)[0]]).filter((kind) => Object.hasOwn(lists, kind)))];
    await Promise.all(kinds.map(async (kind) => labelled.set(kind, await labelsOf(kind))));
    return rows;
  };
  const person = (actorId) => {
    const [kind, id] = splitTarget(actorId);
    return h("span", { title: actorId }, names[actorId] || labelled.get(kind)?.get(id) || actorId);
  };
  const target = (e) => {
    const [kind, id] = splitTarget(e.target);
    if (kind === "user") return h("span", { title: e.target }, `User ${names[id] || id}`);
    const label = labelled.get(kind)?.get(id);
    if (label) return h("span", { title: e.target }, label);
    if (kind === "customer" && known.get(id)) return h("span", { title: e.target }, "Customer ", link(`/customers/${id}`, known.get(id)));
    if (kind === "engagement" && known.get(id)) return h("span", { title: e.target }, "Engagement with ", link(`/customers/${id}`, known.get(id)));
    if (kind === "success_plan" && known.get(id)) return h("span", { title: e.target }, "Success plan of ", link(`/customers/${id}`, known.get(id)));
    if (kind === "integration") return h("span", { title: e.target }, `Integration ${providerName(id)}`);
    const renewal = kind === "renewal" && byRenewal.get(id);
    if (renewal) return h("span", { title: e.target }, "Renewal of ", link(`/customers/${renewal.customer_id}`, renewal.customer_name), renewal.product ? ` (${renewal.product})` : "");
    const about = customerOf(e);
    if (about && known.get(about)) return h("span", { title: e.target }, e.target, " (customer ", link(`/customers/${about}`, known.get(about)), ")");
    return h("span", { title: e.target }, e.target);
  };
  const action = h("input", { type: "text", placeholder: "e.g. renewal.forecast_changed" });
  const holder = h("div");
  const load = async () => {
    const pager = api.pages("/v1/audit", { action: action.value, limit: 25 });
    try {
      const table = dataTable({
        caption: "Audit log, newest first",
        rows: await named(await pager.next()),
        emptyText: "No entry matches.",
        columns: [
          { key: "occurred_at", label: "When", render: (e) => when(e.occurred_at) },
          { key: "actor_id", label: "Who", render: (e) => person(e.actor_id) },
          { key: "action", label: "Action" },
          { key: "target", label: "Target", render: target },
          { key: "reason", label: "Reason", render: (e) => e.reason || "—" },
        ],
      });
      holder.replaceChildren(table, moreButton(pager, (more) => named(more).then((rows) => table.addRows(rows))));
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

// Integrations: each provider's status and webhook URL, setting or rotating its signing secret, and the
// events no customer matched (map one to a customer).
async function integrations() {
  const [list, unmatched] = await Promise.all([api.get("/v1/integrations"), api.get("/v1/integrations/unmatched", { limit: 20 })]);
  const rows = dataTable({
    caption: "Providers (their webhooks are signed with the secret set here)",
    rows: list.items,
    columns: [
      { key: "provider", label: "Provider", render: (i) => providerName(i.provider) },
      { key: "configured", label: "Status", render: (i) => (i.configured ? `Connected${i.updated_at ? ` (secret set ${when(i.updated_at)})` : ""}` : "Not connected") },
      { key: "webhook_url", label: "Webhook URL", render: (i) => h("code", {}, i.webhook_url) },
      {
        key: "secret",
        label: "Signing secret",
        render: (i) => {
          const secret = h("input", { type: "password", minlength: 8, autocomplete: "off" });
          const form = h("form", { class: "inline-form" }, field(`${providerName(i.provider)} signing secret`, secret, { name: "secret" }), h("button", { type: "submit" }, i.configured ? "Rotate" : "Connect"));
          form.addEventListener("submit", async (event) => {
            event.preventDefault();
            clearErrors(form);
            try {
              await api.put(`/v1/integrations/${i.provider}/secret`, { secret: secret.value });
              secret.value = "";
              notice(`${providerName(i.provider)}: signing secret saved`);
            } catch (error) {
              showError(form, error);
            }
          });
          return form;
        },
      },
    ],
  });
  const unmatchedTable = dataTable({
    caption: "Events no customer matched (map them so they reach the timeline)",
    rows: unmatched.items,
    emptyText: "Every received event matched a customer.",
    columns: [
      { key: "received_at", label: "Received", render: (u) => when(u.received_at) },
      { key: "provider", label: "Provider", render: (u) => providerName(u.provider) },
      { key: "title", label: "Event" },
      { key: "link_key", label: "Looked for", render: (u) => h("span", { title: u.link_key || "" }, u.link_label || u.link_key || "—") },
      {
        key: "map",
        label: "Map to customer",
        render: (u) => mapForm(u),
      },
    ],
  });
  return [rows, unmatchedTable];
}

// Map an unmatched event to a customer chosen by name: the field suggests the customers whose name starts
// with what is typed (the portfolio's search); a pasted customer id works too.
function mapForm(unmatched) {
  const choices = h("datalist", { id: `map-${unmatched.unmatched_id}-customers` });
  const customer = h("input", { type: "text", list: choices.id, autocomplete: "off", placeholder: "Start typing a name…" });
  const found = new Map(); // name (lower case) -> customer
  const search = async (text) => {
    const r = await api.get("/v1/customers", { q: text, limit: 10 });
    found.clear();
    r.items.forEach((c) => found.set(c.name.toLowerCase(), c));
    choices.replaceChildren(...r.items.map((c) => h("option", { value: c.name })));
    return r.items;
  };
  let timer = null;
  customer.addEventListener("input", () => {
    clearTimeout(timer);
    const text = customer.value.trim();
    if (text.length >= 2 && !/^cus_/.test(text)) timer = setTimeout(() => search(text).catch(() => {}), 200);
  });
  const form = h("form", { class: "inline-form" }, field("Customer", customer, { name: "customer_id" }), h("button", { type: "submit" }, "Map"), choices);
  const refuse = (message) => showError(form, { field: "customer_id", message, details: [] });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const text = customer.value.trim();
    if (!text) return refuse("Type the customer's name and choose it from the list.");
    try {
      let chosen = /^cus_/.test(text) ? { customer_id: text, name: text } : found.get(text.toLowerCase());
      if (!chosen) {
        const matches = await search(text);
        chosen = matches.length === 1 ? matches[0] : matches.find((c) => c.name.toLowerCase() === text.toLowerCase());
        if (!chosen) return refuse(matches.length ? `${matches.length} customers start with "${text}": choose one from the list.` : `No customer's name starts with "${text}".`);
      }
      await api.post(`/v1/integrations/unmatched/${unmatched.unmatched_id}/map`, { customer_id: chosen.customer_id });
      form.replaceWith(h("span", {}, "Mapped to ", chosen.name === chosen.customer_id ? chosen.name : link(`/customers/${chosen.customer_id}`, chosen.name)));
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

// The HubSpot company sync (docs/integrations.md): connected or not, the full sync's progress, the last run
// and its error, which side owns each mapped field; connecting (or rotating) the private-app token.
async function hubspotSync(configure) {
  const c = await api.get("/v1/hubspot/connection");
  const status = () =>
    c.connected
      ? [
          `Connected ${when(c.connected_at)}. `,
          c.full_sync_done ? "Full sync done" : "Full sync in progress",
          `: ${c.companies_synced} companies synced, ${c.scores_written} health scores written back, ${c.renewals_synced} renewals from deals. `,
          `Last run: ${c.last_run_at ? when(c.last_run_at) : "not yet"}.`,
        ].join("")
      : "Not connected: companies are not synced and scores are not written back to HubSpot.";
  const state = h("p", {}, status());
  const error = c.last_error ? h("p", { class: "problem", role: "alert" }, `The last run failed: ${c.last_error}`) : null;
  const mapping = dataTable({
    caption: "Field mapping (the owner's value wins)",
    rows: c.mapping,
    columns: [
      { key: "hubspot_property", label: "HubSpot property", render: (m) => h("code", {}, m.hubspot_property) },
      { key: "field", label: "Keepwell field", render: (m) => h("code", {}, m.field) },
      { key: "owner", label: "Owned by", render: (m) => (m.owner === "hubspot" ? "HubSpot" : "Keepwell") },
    ],
  });
  if (!configure) return [state, error, mapping];
  const token = h("input", { type: "password", maxlength: 500, autocomplete: "off" }); // too short: the API says so beside it
  const form = h("form", { class: "inline-form" }, field("Private app token", token, { name: "token", hint: "Stored as a secret; never shown again." }), h("button", { type: "submit" }, c.connected ? "Rotate token" : "Connect"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      Object.assign(c, await api.put("/v1/hubspot/connection", { token: token.value }));
      token.value = "";
      state.textContent = status();
      notice("HubSpot: token saved; the sync starts within 15 minutes");
    } catch (problemOf) {
      showError(form, problemOf);
    }
  });
  return [state, error, mapping, form];
}

// Outbound webhooks: subscriptions with their status, secret rotation and the delivery log with attempts.
async function webhooks() {
  const { items } = await api.get("/v1/webhooks");
  const log = h("div", { "aria-live": "polite" });
  const table = dataTable({
    caption: "Subscriptions",
    rows: items,
    emptyText: "No subscription yet: subscribe an endpoint with the form below.",
    columns: [
      { key: "url", label: "URL", render: (w) => h("code", {}, w.url) },
      { key: "event_types", label: "Events", render: (w) => w.event_types.join(", ") },
      { key: "status", label: "Status", render: (w) => `${w.status}${w.failure_reason ? ` (${w.failure_reason})` : ""}` },
      {
        key: "actions",
        label: "",
        render: (w) =>
          h(
            "div",
            { class: "actions" },
            h("button", { type: "button", onClick: () => deliveries(w, log) }, "Deliveries"),
            h(
              "button",
              {
                type: "button",
                onClick: async () => {
                  try {
                    const rotated = await api.post(`/v1/webhooks/${w.subscription_id}/rotate-secret`);
                    log.replaceChildren(h("p", { class: "secret" }, "New signing secret (shown once): ", h("code", {}, rotated.secret), rotated.previous_secret_expires_at ? ` (the old one still signs until ${when(rotated.previous_secret_expires_at)})` : ""));
                  } catch (error) {
                    log.replaceChildren(problem(error));
                  }
                },
              },
              "Rotate secret",
            ),
          ),
      },
    ],
  });
  // The event catalogue comes from the API (GET /v1/webhook-event-types), so a new event type shows here.
  const { items: eventTypes } = await api.get("/v1/webhook-event-types");
  return [table, subscribeForm(log, table, eventTypes), log];
}

// A new subscription: URL, description, the events; the signing secret is shown once.
function subscribeForm(log, table, eventTypes) {
  const url = h("input", { type: "url", maxlength: 2000, placeholder: "https://hooks.example.com/keepwell" });
  const description = h("input", { type: "text", maxlength: 500 });
  const boxes = eventTypes.map((type) => h("input", { type: "checkbox", value: type.name }));
  const events = h("fieldset", { class: "event-types", id: "event-types", "data-field": "event_types", tabindex: -1 }, h("legend", {}, "Events"), ...boxes.map((box, n) => h("label", { class: "check", title: eventTypes[n].description }, box, " ", box.value)), h("span", { class: "field-error", id: "event-types-error", role: "alert" }));
  const form = h("form", { class: "panel" }, h("h3", {}, "New subscription"), field("Endpoint URL", url, { name: "url" }), field("Description", description, { name: "description" }), events, h("button", { type: "submit" }, "Subscribe"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const body = { url: url.value, description: description.value, event_types: boxes.filter((b) => b.checked).map((b) => b.value) };
      const created = await api.post("/v1/webhooks", body);
      log.replaceChildren(h("p", { class: "secret" }, `Subscribed ${created.url}. Copy the signing secret now; it will not be shown again: `, h("code", {}, created.secret)));
      table.addRows([created]);
      notice("Subscription created");
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

async function deliveries(subscription, holder) {
  holder.replaceChildren(h("p", { class: "state" }, "Loading…"));
  try {
    const r = await api.get(`/v1/webhooks/${subscription.subscription_id}/deliveries`, { limit: 20 });
    holder.replaceChildren(
      dataTable({
        caption: `Deliveries to ${subscription.url}`,
        rows: r.items,
        emptyText: "Nothing delivered yet.",
        columns: [
          { key: "created_at", label: "When", render: (d) => when(d.created_at) },
          { key: "event_type", label: "Event" },
          { key: "status", label: "Status" },
          { key: "attempts", label: "Attempts", render: (d) => d.attempts.map((a) => `${a.outcome}${a.status_code ? ` ${a.status_code}` : ""}`).join(", ") || "—" },
        ],
      }),
    );
  } catch (error) {
    holder.replaceChildren(problem(error));
  }
}

async function slack() {
  const [status, names] = await Promise.all([api.get("/v1/settings/slack"), people()]);
  const url = h("input", { type: "url", placeholder: "https://hooks.slack.com/services/…" });
  const form = h("form", { class: "inline-form" }, field("Incoming webhook URL", url, { name: "webhook_url", hint: "Stored as a secret; never shown again." }), h("button", { type: "submit" }, "Save"));
  // Who set it by name (the API answers their user id), the id in the tooltip.
  const configured = (s) => ["Configured ", when(s.configured_at), " by ", h("span", { title: s.configured_by || "" }, names[s.configured_by] || s.configured_by || "someone no longer here"), "."];
  const state = h("p", {}, ...(status.configured ? configured(status) : ["Not configured: Slack actions and alerts are not sent."]));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const saved = await api.put("/v1/settings/slack", { webhook_url: url.value });
      url.value = "";
      state.replaceChildren(...configured(saved));
    } catch (error) {
      showError(form, error);
    }
  });
  return [state, form];
}

// A provider as its product spells it ("zendesk" is what the API and the webhook URL say).
const PROVIDERS = { zendesk: "Zendesk", intercom: "Intercom", hubspot: "HubSpot", slack: "Slack", jira: "Jira", generic: "Generic (Standard Webhooks)" };
function providerName(provider) {
  return PROVIDERS[provider] || provider;
}

// `<kind>:<id>` (an id may itself hold colons: split at the first).
function splitTarget(value) {
  const at = (value || "").indexOf(":");
  return at < 0 ? [value, ""] : [value.slice(0, at), value.slice(at + 1)];
}
