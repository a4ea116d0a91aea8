// Accepting an invitation: the link an admin shares or the invitation email carries
// (`console_link`, /invitations/accept?token=…). Signed in, the person accepts with a button
// (POST /v1/invitations/accept); signed out, they sign in first and come back here.
import { api } from "kw/api.js";
import { session } from "kw/auth.js";
import { h, link, problem } from "kw/widgets.js";

export async function render(main, ctx) {
  const token = ctx.query.get("token") || "";
  main.append(h("h1", {}, "Join a workspace"));
  if (!token) {
    main.append(h("p", { class: "problem" }, "This link carries no invitation. Ask the admin who invited you to send it again."));
    return;
  }
  const here = `/invitations/accept?token=${encodeURIComponent(token)}`;
  if (!session()) {
    main.append(
      h("p", {}, "Sign in with the email address the invitation was sent to, then accept it here."),
      h("p", {}, link(`/signin?next=${encodeURIComponent(here)}`, "Sign in to accept the invitation")),
    );
    return;
  }
  const out = h("div", { "aria-live": "polite" });
  const accept = h("button", { type: "button", class: "primary" }, "Accept the invitation");
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    try {
      const user = await api.post("/v1/invitations/accept", { token });
      window.dispatchEvent(new Event("keepwell:signed-in")); // the new membership shows in the header
      accept.remove();
      out.replaceChildren(h("p", { role: "status" }, `You joined as ${user.role}.`), h("p", {}, link("/", "Go to the console")));
    } catch (error) {
      accept.disabled = false;
      out.replaceChildren(problem(error), h("p", {}, link("/", "Go to the console")));
    }
  });
  main.append(h("p", {}, "You are signed in. Accept to join the workspace you were invited to."), accept, out);
}
