// Sign in: locally, pick a demo user (signed in through the stack's user pool); deployed, the
// authorization-code flow with PKCE against the configured issuer.
import { consoleConfig, demoUsers, finishOidcSignIn, signInDemoUser, startOidcSignIn, signOut } from "kw/auth.js";
import { h, link, problem } from "kw/widgets.js";

export async function render(main, ctx) {
  const next = ctx.query.get("next") || "/";
  if (ctx.options.callback) {
    main.append(h("h1", {}, "Signing in…"));
    try {
      const target = await finishOidcSignIn(ctx.query);
      window.dispatchEvent(new Event("keepwell:signed-in"));
      ctx.navigate(target, { replace: true });
    } catch (error) {
      main.append(problem(error), h("p", {}, link("/signin", "Try again")));
    }
    return;
  }
  signOut();
  window.dispatchEvent(new Event("keepwell:signed-in"));
  const { auth } = await consoleConfig();
  main.append(h("h1", {}, "Sign in to Keepwell"));
  if (auth.mode === "oidc") {
    main.append(
      h("p", {}, "You sign in with your organisation's account."),
      h("button", { type: "button", class: "primary", onClick: () => startOidcSignIn(next) }, "Sign in"),
    );
    return;
  }
  const users = await demoUsers();
  const status = h("p", { role: "status" });
  const list = h(
    "ul",
    { class: "demo-users" },
    users.map((user) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "demo-user",
            onClick: async (event) => {
              event.currentTarget.disabled = true;
              status.textContent = `Signing in as ${user.label}…`;
              try {
                await signInDemoUser(user);
                window.dispatchEvent(new Event("keepwell:signed-in"));
                ctx.navigate(next === "/signin" ? "/" : next, { replace: true });
              } catch (error) {
                status.replaceChildren(problem(error));
                event.currentTarget.disabled = false;
              }
            },
          },
          h("strong", {}, user.label),
        ),
      ),
    ),
  );
  main.append(
    h(
      "p",
      {},
      "Local demo: choose who you are. ",
      "You are signed in through the local stack's user pool, for this tab only.",
    ),
    h("section", { class: "panel", "aria-labelledby": "demo-users" }, h("h2", { id: "demo-users" }, "Demo users"), list),
    status,
  );
}
