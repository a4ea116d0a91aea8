// Signing in. The one place that knows where the token comes from; the ID token lives in this tab's
// sessionStorage only (never a cookie), so closing the tab signs out and the API never sees it unasked.
//   local: the demo people signed in through the local stack's user pool (InitiateAuth, USER_PASSWORD_AUTH,
//          posted to the gateway's Cognito proxy on moto)
//   oidc:  authorization code + PKCE against the deployment's user pool or OIDC issuer
const KEY = "keepwell.session";
const PKCE_KEY = "keepwell.pkce";
const BASE = document.querySelector('meta[name="kw-base"]')?.content || "";
let configPromise = null;

export function consoleConfig() {
  configPromise ||= fetch(`${BASE}/console/config.json`, { headers: { Accept: "application/json" } }).then((r) => {
    if (!r.ok) throw new Error(`The console's settings did not load (${r.status})`);
    return r.json();
  });
  return configPromise;
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

function keep(value) {
  sessionStorage.setItem(KEY, JSON.stringify(value));
  return value;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export async function demoUsers() {
  const { auth } = await consoleConfig();
  return auth.mode === "oidc" ? [] : auth.demo_users || [];
}

export async function signInDemoUser(user) {
  const { auth } = await consoleConfig();
  const response = await fetch(BASE + auth.cognito_endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    },
    body: JSON.stringify({
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: auth.client_id,
      AuthParameters: { USERNAME: user.username, PASSWORD: user.password },
    }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.AuthenticationResult?.IdToken) {
    throw new Error(answer.message || answer.__type || `Sign-in failed (${response.status})`);
  }
  return keep({
    token: answer.AuthenticationResult.IdToken,
    username: user.username,
    label: user.label,
    workspaceHeader: user.workspace_id || null,
  });
}

function randomText(bytes) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(values);
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Deployed: send the browser to the issuer with a PKCE challenge; /callback finishes.
export async function startOidcSignIn(next) {
  const { auth } = await consoleConfig();
  const verifier = randomText(48);
  const state = randomText(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, next }));
  const target = new URL(auth.authorize_url);
  target.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: location.origin + BASE + (auth.redirect_path || "/callback"),
    scope: [auth.scopes || "openid email profile"].flat().join(" "),
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
    state,
  }).toString();
  location.assign(target.toString());
}

export async function finishOidcSignIn(params) {
  const { auth } = await consoleConfig();
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!pending || params.get("state") !== pending.state) throw new Error("The sign-in answer did not match; try again.");
  const response = await fetch(auth.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.client_id,
      code: params.get("code") || "",
      redirect_uri: location.origin + BASE + (auth.redirect_path || "/callback"),
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) throw new Error(tokens.error_description || "The token exchange failed.");
  keep({ token: tokens.id_token, username: null, label: null });
  return pending.next || "/";
}

export function chooseWorkspace(workspaceId) {
  const current = session();
  if (current) keep({ ...current, workspaceHeader: workspaceId });
}
