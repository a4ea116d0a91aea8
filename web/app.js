// The console shell: sign-in guard, navigation by real links, one route per screen.
import { api, BASE } from "kw/api.js";
import { chooseWorkspace, consoleConfig, session, signOut } from "kw/auth.js";
import { h, link, problem, select } from "kw/widgets.js";
import * as signin from "kw/screens/signin/signin.js";
import * as myDay from "kw/screens/my-day/my-day.js";
import * as portfolio from "kw/screens/portfolio/portfolio.js";
import * as customer from "kw/screens/customer/customer.js";
import * as renewals from "kw/screens/renewals/renewals.js";
import * as healthSettings from "kw/screens/health-settings/health-settings.js";
import * as playbooks from "kw/screens/playbooks/playbooks.js";
import * as tasks from "kw/screens/tasks/tasks.js";
import * as segments from "kw/screens/segments/segments.js";
import * as admin from "kw/screens/admin/admin.js";
import * as imports from "kw/screens/imports/imports.js";
import * as invitation from "kw/screens/invitation/invitation.js";
import * as sharedPlan from "kw/screens/shared-plan/shared-plan.js";

const ROUTES = [
  ["/signin", signin, { public: true }],
  ["/callback", signin, { public: true, callback: true }],
  ["/my-day", myDay],
  ["/customers", portfolio],
  ["/customers/:customer_id", customer],
  ["/renewals", renewals],
  ["/settings/health", healthSettings],
  ["/playbooks", playbooks],
  ["/tasks", tasks],
  ["/segments", segments],
  ["/segments/:segment_id", segments],
  ["/imports", imports],
  ["/imports/:import_id", imports],
  ["/admin", admin],
  // The invitation link (`console_link`): open to a signed-in person who may not belong to a workspace yet.
  ["/invitations/accept", invitation, { public: true, member: false }],
  // A success plan shared with the customer (a CSM sends the link): nobody signs in to read it.
  ["/shared/plans/:token", sharedPlan, { public: true, member: false }],
];

// The main navigation; a link shows only when the role may read what it leads to.
const NAV = [
  ["/my-day", "My day", ["tasks", "read"]],
  ["/customers", "Portfolio", ["customers", "read"]],
  ["/renewals", "Renewals", ["renewals", "read"]],
  ["/playbooks", "Playbooks", ["playbooks", "read"]],
  ["/tasks", "Tasks", ["tasks", "read"]],
  ["/segments", "Segments", ["segments", "read"]],
  ["/settings/health", "Health settings", ["health_model", "read"]],
  ["/imports", "Imports", ["imports", "read"]],
  ["/admin", "Admin", ["users", "read"]],
];

let me = null;
let permissions = {};
const main = document.getElementById("main");

function match(path) {
  for (const [pattern, screen, options] of ROUTES) {
    const names = [];
    const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, name) => (names.push(name), "([^/]+)"))}$`);
    const found = regex.exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { screen, options: options || {}, params };
    }
  }
  return null;
}

export function can(feature, action) {
  return Boolean(me && (permissions[feature]?.[action] || []).includes(me.role));
}

export function navigate(path, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"]({}, "", BASE + path);
  render();
}

function renderNav(path) {
  const nav = document.getElementById("main-nav");
  const who = document.getElementById("who");
  if (!me) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  nav.replaceChildren(
    h(
      "ul",
      {},
      NAV.filter(([, , [feature, action]]) => can(feature, action)).map(([href, label]) => {
        const a = link(href, label);
        if (path === href || (href !== "/" && path.startsWith(`${href}/`))) a.setAttribute("aria-current", "page");
        return h("li", {}, a);
      }),
    ),
  );
  // A person in several workspaces switches here; the API module sends the choice as X-Keepwell-Workspace.
  const memberships = me.memberships || [];
  const switcher =
    memberships.length > 1
      ? select(
          memberships.map((m) => [m.workspace_id, `${m.workspace_name} (${m.role})`]),
          me.workspace_id,
          { "aria-label": "Workspace", class: "workspace-switch" },
        )
      : null;
  switcher?.addEventListener("change", () => {
    chooseWorkspace(switcher.value);
    me = null;
    navigate("/", { replace: true });
  });
  who.replaceChildren(
    ...(switcher ? [switcher, " "] : []),
    h("span", {}, `${me.name || me.user_id} · ${me.role}`),
    " ",
    h("button", { type: "button", class: "link-button", onClick: () => (signOut(), (me = null), navigate("/signin")) }, "Sign out"),
  );
}

async function render() {
  const path = location.pathname.slice(BASE.length) || "/";
  const query = new URLSearchParams(location.search);
  const route = match(path);
  if (!route?.options.public && !session()) {
    navigate(`/signin?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    return;
  }
  try {
    const config = await consoleConfig();
    permissions = config.permissions;
    // Not on the invitation page: its visitor may belong to no workspace yet (/v1/me would answer 401).
    if (session() && !me && route?.options.member !== false) me = await api.get("/v1/me");
  } catch (error) {
    if (error.status === 401) return navigate("/signin", { replace: true });
    main.replaceChildren(problem(error));
    return;
  }
  if (path === "/") {
    return navigate(me.role === "csm" ? "/my-day" : "/customers", { replace: true });
  }
  renderNav(path);
  if (!route) {
    document.title = "Not found · Keepwell";
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No screen at this address. "), link("/", "Go to the start"));
    return;
  }
  const ctx = { me, can, navigate, query, options: route.options, params: route.params };
  main.replaceChildren();
  main.setAttribute("aria-busy", "true");
  try {
    await route.screen.render(main, ctx);
  } catch (error) {
    main.replaceChildren(problem(error));
  }
  main.removeAttribute("aria-busy");
  const heading = main.querySelector("h1");
  document.title = `${heading?.textContent || "Keepwell"} · Keepwell`;
  if (render.moved) main.focus({ preventScroll: false });
  render.moved = true;
}

// Same-origin links move without a reload; modified clicks (new tab) keep the browser's behaviour.
document.addEventListener("click", (event) => {
  const anchor = event.target.closest?.("a[href]");
  if (!anchor || anchor.target || anchor.hasAttribute("download") || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const target = new URL(anchor.href, location.href);
  if (target.origin !== location.origin || !target.pathname.startsWith(BASE)) return;
  if (target.pathname === location.pathname && target.hash) return;
  event.preventDefault();
  history.pushState({}, "", target.pathname + target.search + target.hash);
  render();
});
window.addEventListener("popstate", render);
window.addEventListener("keepwell:signed-in", () => {
  me = null;
});
render();
