// A real OpenID Provider for the SSO browser tests: panva/node-oidc-provider (OpenID
// Certified) with its development login form (any login; the login is the account's e-mail).
//
// Environment: OIDC_PORT, OIDC_ISSUER (http://127.0.0.1:<port>), OIDC_CLIENTS (JSON list of
// client metadata) and OIDC_JWKS (JSON key set with private keys; the test made it, so it can
// sign tokens with the provider's own key). Prints "listening <issuer>" when it accepts
// connections.
//
// One test-only hook, POST /__test/next-id-token {"mode": "audience" | "signature"}: the next
// token response carries its ID token re-signed for another audience, or with a broken
// signature; everything else is the unmodified provider.
import { Provider } from "oidc-provider";
import * as jose from "jose";

const port = Number(process.env.OIDC_PORT);
const issuer = process.env.OIDC_ISSUER;
const clients = JSON.parse(process.env.OIDC_CLIENTS);
const jwks = JSON.parse(process.env.OIDC_JWKS);

function account(login) {
  const email = login.toLowerCase();
  return {
    accountId: login,
    async claims() {
      return {
        sub: `sub-${email}`,
        email,
        email_verified: !email.startsWith("unverified"),
        name: email.split("@")[0],
        groups: email.startsWith("admin") ? ["rr-admins"] : ["rr-editors"],
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients,
  jwks,
  findAccount: async (_ctx, id) => account(id),
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  conformIdTokenClaims: false, // claims of the scopes go into the ID token too
  pkce: { required: () => true, methods: ["S256"] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["reporunner-test-cookie-key"] },
  // the test client is first-party: no consent screen
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

let nextMode = null;
const privateKey = await jose.importJWK(jwks.keys[0], "RS256");

async function tamper(idToken, mode) {
  const header = jose.decodeProtectedHeader(idToken);
  const payload = jose.decodeJwt(idToken);
  if (mode === "audience") {
    return new jose.SignJWT({ ...payload, aud: "another-client", azp: "another-client" })
      .setProtectedHeader(header)
      .sign(privateKey);
  }
  const [h, p, s] = idToken.split(".");
  const flipped = (s[0] === "A" ? "B" : "A") + s.slice(1);
  return `${h}.${p}.${flipped}`;
}

provider.use(async (ctx, next) => {
  if (ctx.path === "/__test/next-id-token" && ctx.method === "POST") {
    let raw = "";
    for await (const chunk of ctx.req) raw += chunk;
    nextMode = JSON.parse(raw).mode ?? null;
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === "/token" && nextMode && ctx.status === 200 && ctx.body?.id_token) {
    const mode = nextMode;
    nextMode = null;
    ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, mode) };
  }
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
