// The console's sign-in through a real OpenID provider, in headless Chromium: the sign-in
// page's provider button, the provider's own sign-in and consent pages, back in the console as
// the officer the provider's claims name, an instance started as that officer; a callback with a
// tampered state refused; signing out ends the console's session. Run by tests/oidc/run, which
// starts the provider and the server and passes E2E_BASE, OIDC_ISSUER and CHROMIUM.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BASE = process.env.E2E_BASE;
const ISSUER = process.env.OIDC_ISSUER;
const SHOTS = process.env.E2E_SCREENSHOTS ?? "target/oidc";
assert.ok(BASE && ISSUER, "E2E_BASE and OIDC_ISSUER must be set (tests/oidc/run sets them)");
const local = [new URL(BASE).host, new URL(ISSUER).host];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const context = await browser.newContext({ locale: "vi-VN" });
// The provider's development pages ask for a web font: nothing leaves the machine.
await context.route("**/*", (route) =>
  local.includes(new URL(route.request().url()).host) ? route.continue() : route.abort(),
);
const page = await context.newPage();
const scriptErrors = [];
page.on("pageerror", (e) => scriptErrors.push(e.message));

try {
  // 1. The console's sign-in page offers the provider.
  await page.goto(`${BASE}/console/instances`);
  assert.match(page.url(), /\/console\/login/);
  await page.getByRole("link", { name: /Đăng nhập qua/ }).click();

  // 2. The provider's own sign-in and consent pages.
  await page.waitForURL((url) => url.href.startsWith(ISSUER));
  await page.fill('input[name="login"]', "nguyen.van.an");
  await page.fill('input[name="password"]', "any password will do");
  await page.click('button[type="submit"]');
  await page.waitForSelector('button:has-text("Continue")');
  await page.click('button:has-text("Continue")');

  // 3. Back in the console, on the page asked for, as the officer the claims name.
  await page.waitForURL(`${BASE}/console/instances`);
  await page.screenshot({ path: `${SHOTS}/1-instances.png`, fullPage: true });
  assert.match(await page.textContent("body"), /Nguyễn Văn An/);

  // 4. An instance of the office listed, and a new one started: its history names the
  //    provider's user as the officer who acted.
  assert.ok((await page.locator('a[href^="/console/instances/"]').count()) > 0, "the office's instances");
  await page.getByRole("link", { name: "Khởi tạo hồ sơ" }).click();
  await page.getByRole("link", { name: "Kế hoạch cưỡng chế thi hành án (Luật 106/2025)" }).click();
  await page.locator("#p-police").fill("CA-HN");
  await page.locator("#p-procuracy").fill("VKS-HN");
  await page.locator("#p-commune").fill("UBND-HN");
  await page.locator("#p-coordinator").fill("UBND-HN");
  await page.locator("#f-create-case_reference").fill("2026/QĐ-CTHADS");
  await page.locator("#f-create-measure").selectOption("seize_property");
  await page.locator("#f-create-location").fill("Phường Hoàn Kiếm, Hà Nội");
  await page.locator("#f-create-estimated_cost").pressSequentially("45000000");
  await page.locator("#f-create-complex").selectOption("false");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Khởi tạo", exact: true }).click()]);
  assert.deepEqual(await page.locator("p.problem").allInnerTexts(), []);
  assert.match(page.url(), /\/console\/instances\/[0-9a-f-]{36}$/);
  await page.screenshot({ path: `${SHOTS}/2-started.png`, fullPage: true });
  const history = await page.locator("table").last().innerText();
  assert.match(history, /Nguyễn Văn An/);
  assert.match(history, /enforcement_officer/);

  // 5. A callback whose state is not the flow's is refused, whatever the code.
  const flow = await context.newPage();
  await flow.route(`${ISSUER}/**`, (route) => route.abort());
  await flow.goto(`${BASE}/console/oidc/start`).catch(() => {});
  const forged = await flow.goto(`${BASE}/console/oidc/callback?code=anything&state=forged`);
  assert.equal(forged.status(), 401);
  await flow.close();

  // 6. Signing out ends the console's session.
  await page.goto(`${BASE}/console/inbox`);
  await page.getByRole("button", { name: /Đăng xuất/ }).click();
  await page.waitForURL(/\/console\/login/);
  await page.goto(`${BASE}/console/inbox`);
  assert.match(page.url(), /\/console\/login/);

  assert.deepEqual(scriptErrors, []);
  console.log("the OpenID sign-in journey passed");
} finally {
  await browser.close();
}
