// A real OpenID provider for the console's sign-in journey: the certified `oidc-provider`,
// with one client (the console, confidential, PKCE required) and its development sign-in
// pages, where any login and password are accepted. The accounts' claims carry the agency and
// the roles as Keycloak carries realm roles (`realm_access.roles`). Run by tests/oidc/run:
// OIDC_PORT, OIDC_REDIRECT_URL and OIDC_CLIENT_SECRET are given.
import http from "node:http";
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const redirect = process.env.OIDC_REDIRECT_URL;
const secret = process.env.OIDC_CLIENT_SECRET;
if (!port || !redirect || !secret) {
  throw new Error("OIDC_PORT, OIDC_REDIRECT_URL and OIDC_CLIENT_SECRET must be set");
}
const issuer = `http://127.0.0.1:${port}`;

/** The provider's users: the officer of the Hà Nội office the journey signs in as. */
const ACCOUNTS = {
  "nguyen.van.an": {
    name: "Nguyễn Văn An",
    agency: "THADS-HN",
    realm_access: { roles: ["offline_access", "uma_authorization", "enforcement_officer"] },
  },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "lienganh-console",
      client_secret: secret,
      redirect_uris: [redirect],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  cookies: { keys: [`journey-${Math.random()}`] },
  claims: { openid: ["sub"], profile: ["name", "agency", "realm_access"] },
  // The scope's claims in the ID token itself, as the console reads them from there.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

http.createServer(provider.callback()).listen(port, "127.0.0.1", () => {
  console.log(`the OpenID provider is listening on ${issuer}`);
});
