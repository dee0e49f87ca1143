// The web console's journeys, in headless Chromium, through the pages alone: signed in as each
// role of the Hà Nội demo province. Run by tests/e2e/run, which starts the server and passes
// E2E_BASE, E2E_PASSWORD, E2E_SCREENSHOTS and CHROMIUM.
//
// 1. The office asks the police for evidence; the police liaison schedules and hands it over
//    with a manifest; the officer receives it with one item missing; both settle the dispute.
// 2. A procuracy inspector issues a recommendation; the office acknowledges and answers it;
//    the inspector sees the answer and accepts it.
// 3. A complex coercion plan goes to the police, who confirm their protection; the steering
//    member of the People's Committee schedules it and sees it on the month calendar, with the
//    reports and their CSV.
// 4. The court liaison opens the demo's transfer; the pages switch to English.
// 5. The steering committee reads the reports, the auditor an instance, the admin the accounts.
// A form posted without its CSRF token is refused, no request leaves the server, and no page
// has a script error.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { chromium } from "playwright-core";

const BASE = process.env.E2E_BASE;
const PASSWORD = process.env.E2E_PASSWORD;
const SHOTS = process.env.E2E_SCREENSHOTS ?? "target/e2e";
assert.ok(BASE && PASSWORD, "E2E_BASE and E2E_PASSWORD must be set (tests/e2e/run sets them)");
const HOST = new URL(BASE).host;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
  ],
});

/** Requests that left the server, and script errors, from every page. */
const outside = [];
const scriptErrors = [];
let shots = 0;

/** A local day, `days` from today, as YYYY-MM-DD in Asia/Ho_Chi_Minh. */
function day(days = 0) {
  const at = new Date(Date.now() + days * 86_400_000);
  return at.toLocaleDateString("sv-SE", { timeZone: "Asia/Ho_Chi_Minh" });
}

async function snap(page, name) {
  shots += 1;
  await page.screenshot({ path: `${SHOTS}/${String(shots).padStart(2, "0")}-${name}.png`, fullPage: true });
}

/** A browser of its own for `username`, signed in through the form; returns its page. */
async function signIn(username, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === HOST) return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => scriptErrors.push(`${username}: ${e.message}`));
  // A blocked resource or a policy violation is reported on the console as an error; the
  // refusals the journeys ask for (a 403, a 422) are reported too, and are not errors here.
  page.on("console", (m) => {
    if (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text())) {
      scriptErrors.push(`${username}: ${m.text()}`);
    }
  });
  await page.goto(`${BASE}/console/`);
  assert.match(page.url(), /\/console\/login(\?next=[^&]*)?$/, "an unsigned visit goes to the sign-in form");
  await page.getByLabel("Tên đăng nhập").fill(username);
  await page.getByLabel("Mật khẩu").fill(PASSWORD);
  await Promise.all([page.waitForURL("**/console/inbox"), page.getByRole("button", { name: "Đăng nhập" }).click()]);
  return page;
}

/** Fails with the page's own words when it shows a refusal. */
async function noProblem(page, what) {
  const problems = await page.locator("p.problem").allInnerTexts();
  assert.deepEqual(problems, [], `${what}: ${problems.join(" / ")}`);
}

/** The form of one step on an instance page. */
function stepForm(page, transition) {
  return page.locator(`form.step:has(input[name="transition"][value="${transition}"])`);
}

/** Fills and posts one step's form; back on the instance page without a refusal. */
async function step(page, transition, fill = async () => {}) {
  const form = stepForm(page, transition);
  await form.waitFor();
  await fill(form);
  await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  await noProblem(page, transition);
  assert.match(page.url(), /\/console\/instances\/[0-9a-f-]{36}$/);
}

/** A small PDF of its own, as a scanned or signed paper would be uploaded. */
function pdf(title) {
  return { name: `${title.replace(/[^A-Za-z0-9]+/g, "-")}.pdf`, mimeType: "application/pdf",
           buffer: Buffer.from(`%PDF-1.4\n% ${title} ${Math.random()}\n%%EOF\n`) };
}

function sha256(buffer) {
  return createHash("sha256").update(buffer).digest("hex");
}

/** The page printed to an A4 PDF (kept beside the screenshots), and the text read back from it. */
async function printed(page, name) {
  shots += 1;
  const path = `${SHOTS}/${String(shots).padStart(2, "0")}-${name}.pdf`;
  const bytes = await page.pdf({ path, format: "A4", printBackground: true });
  const pdf = await getDocument({ data: new Uint8Array(bytes), verbosity: 0 }).promise;
  let text = "";
  for (let n = 1; n <= pdf.numPages; n++) {
    const content = await (await pdf.getPage(n)).getTextContent();
    text += content.items.map((item) => item.str).join(" ") + "\n";
  }
  return { pages: pdf.numPages, text };
}

/** Text as compared: composed the same way, without any white space (a hash breaks across lines). */
function flat(text) {
  return text.normalize("NFC").replace(/\s+/g, "");
}

async function stateOf(page) {
  return page.locator("main > p strong").first().innerText();
}

/** Opens an instance from the list of the agency's instances in progress. */
async function openFromList(page, id) {
  await page.getByRole("link", { name: "Hồ sơ", exact: true }).click();
  await page.locator(`a[href="/console/instances/${id}"]`).first().click();
  await page.waitForURL(`**/console/instances/${id}`);
}

async function startInstance(page, title, fill) {
  await page.getByRole("link", { name: "Khởi tạo hồ sơ" }).click();
  await page.getByRole("link", { name: title }).click();
  await fill(page);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Khởi tạo", exact: true }).click()]);
  await noProblem(page, `start ${title}`);
  const id = page.url().split("/").pop();
  assert.match(id, /^[0-9a-f-]{36}$/);
  return id;
}

// 1. Evidence handover, with a dispute settled by both sides.
{
  const officer = await signIn("cb-hn");
  await snap(officer, "officer-inbox");
  const id = await startInstance(officer, "Chuyển giao, tiếp nhận và xử lý vật chứng, tài sản tạm giữ", async (p) => {
    await p.locator("#p-police").fill("CA-HN");
    await p.locator("#p-procuracy").fill("VKS-HN");
    await p.locator("#f-create-judgment_number").fill("88/2026/HS-ST");
    await p.locator("#f-create-decision_number").fill("301/QĐ-CTHADS");
    await p.locator("#f-create-requested_on").fill(day());
    await snap(p, "officer-new-handover");
  });
  assert.equal(await stateOf(officer), "Đã đề nghị chuyển giao");

  const police = await signIn("ca-hn");
  await openFromList(police, id);
  await step(police, "schedule", async (f) => {
    await f.locator('input[name="d.handover_at"]').fill(`${day(1)}T09:00`);
    await f.locator('textarea[name="d.place"]').fill("Kho vật chứng Công an quận Hoàn Kiếm");
  });
  // The office is told: an unread notification in its inbox, leading to the instance.
  await officer.getByRole("link", { name: "Việc cần làm" }).click();
  const told = officer.locator(`section[aria-labelledby="unread"] tr:has(a[href="/console/instances/${id}"])`, {
    hasText: "Hẹn thời gian, địa điểm giao nhận",
  });
  assert.equal(await told.count(), 1, "the schedule is in the officer's unread notifications");
  await snap(officer, "officer-notified");
  await Promise.all([officer.waitForNavigation(), told.getByRole("button", { name: "Đánh dấu đã đọc" }).click()]);
  assert.equal(await told.count(), 0, "read, it leaves the unread list");

  const minutes = [pdf("Bien ban 15-BB-CA trang 1"), pdf("Bien ban 15-BB-CA trang 2")];
  await step(police, "hand_over", async (f) => {
    const line = (n, part) => f.locator(`input[name="d.items[${n}].${part}"]`);
    await line(0, "description").fill("Xe máy Honda Wave");
    await line(0, "quantity").fill("1");
    await line(0, "unit").fill("chiếc");
    await line(0, "seal").fill("CA-0012");
    await line(0, "declared_value").pressSequentially("15000000");
    assert.equal(await line(0, "declared_value").inputValue(), "15.000.000", "money is grouped as typed");
    await line(1, "description").fill("Điện thoại di động");
    await line(1, "quantity").fill("2");
    await line(1, "unit").fill("chiếc");
    // A fourth line, added by the script; the empty third is left out.
    await f.getByRole("button", { name: "Thêm dòng" }).click();
    await line(3, "description").fill("Tiền mặt");
    await line(3, "quantity").fill("1");
    await line(3, "unit").fill("phong bì");
    await line(3, "declared_value").pressSequentially("2500000");
    await f.locator('textarea[name="d.record_number"]').fill("15/BB-CA");
    // The signed minutes, two pages.
    await f.locator('input[name="d.minutes_file"]').setInputFiles(minutes);
    await snap(police, "police-hand-over");
  });
  assert.equal(await stateOf(police), "Công an đã giao kèm danh mục");

  await officer.goto(`${BASE}/console/instances/${id}`);
  // Without its CSRF token the receipt is refused and nothing changes.
  const receipt = stepForm(officer, "confirm_receipt");
  await receipt.evaluate((form) => {
    form.noValidate = true;
    form.querySelector('input[name="csrf"]').remove();
  });
  await Promise.all([officer.waitForNavigation(), receipt.locator('button[type="submit"]').click()]);
  assert.match(await officer.locator("p.problem").innerText(), /Biểu mẫu đã hết hạn/);
  await snap(officer, "csrf-refused");
  await officer.goto(`${BASE}/console/instances/${id}`);
  assert.equal(await stateOf(officer), "Công an đã giao kèm danh mục");

  await step(officer, "confirm_receipt", async (f) => {
    assert.match(await f.innerText(), /Xe máy Honda Wave — 1 chiếc, niêm phong CA-0012, 15\.000\.000 đ/);
    assert.equal(await f.locator('input[type="radio"][value="received"]').count(), 3, "one line per item");
    await f.locator('input[name="d.receipt[2].status"][value="missing"]').check();
    await f.locator('input[name="d.receipt[2].note"]').fill("Chỉ có 1 chiếc");
    await f.locator('textarea[name="d.storage_location"]').fill("Kho A, kệ 3");
    await snap(officer, "officer-receipt");
  });
  for (const [who, page] of [["officer", officer], ["police", police]]) {
    await page.goto(`${BASE}/console/instances/${id}`);
    assert.equal(await stateOf(page), "Có chênh lệch khi giao nhận", who);
    assert.match(await page.locator("tr.discrepancy").first().innerText(), /Điện thoại di động[\s\S]*Thiếu[\s\S]*Chỉ có 1 chiếc/);
    await snap(page, `${who}-disputed`);
  }

  await step(police, "resolve_discrepancy", async (f) => {
    await f.locator('textarea[name="d.resolution"]').fill("Bổ sung 1 điện thoại theo biên bản 16/BB-CA");
  });
  await officer.reload();
  assert.match(await officer.locator("section.joint").innerText(), /Demo ca-hn · CA-HN[\s\S]*chưa ký/);
  await snap(officer, "officer-awaiting-signature");
  await step(officer, "resolve_discrepancy");
  for (const [who, page] of [["officer", officer], ["police", police]]) {
    await page.goto(`${BASE}/console/instances/${id}`);
    assert.equal(await stateOf(page), "Đã nhập kho, đang bảo quản", who);
    assert.match(await page.locator("p.notice").innerText(), /Lịch sử toàn vẹn/);
  }
  await snap(police, "police-stored");

  // The handover record, printed on A4 and read back: both parties, the items as sent and as
  // received, every signature, the minutes with their SHA-256, the head of the hash chain.
  await police.getByRole("link", { name: "In biên bản giao nhận" }).click();
  const head = await police.locator("footer.record-foot code.hash").innerText();
  assert.match(head, /^[0-9a-f]{64}$/);
  await snap(police, "handover-record");
  const record = await printed(police, "handover-record");
  const expected = [
    "BIÊN BẢN GIAO NHẬN", "Bên giao", "CA-HN", "Bên nhận", "THADS-HN",
    // The receipt as the settlement restated it: everything received in the end.
    "Xe máy Honda Wave", "CA-0012", "15.000.000", "Điện thoại di động", "Đã nhận", "Giải quyết sai lệch", "Demo ca-hn", "Demo cb-hn", minutes[0].name, sha256(minutes[0].buffer),
    minutes[1].name, sha256(minutes[1].buffer), head, "Lịch sử toàn vẹn",
  ];
  for (const text of expected) {
    assert.ok(flat(record.text).includes(flat(text)), `the printed record says ${text}:\n${record.text}`);
  }
  assert.equal(await police.locator("header.top").isVisible(), true, "the console's header is on screen");
  await police.emulateMedia({ media: "print" });
  assert.equal(await police.locator("header.top").isVisible(), false, "and not on paper");
  await police.emulateMedia({ media: "screen" });
  await officer.context().close();
  await police.context().close();
}

// 2. A recommendation of the procuracy, answered and accepted.
{
  const inspector = await signIn("vks-hn");
  await inspector.getByRole("link", { name: "Kiểm sát", exact: true }).click();
  await inspector.getByRole("link", { name: "Ban hành yêu cầu, kiến nghị, kháng nghị" }).click();
  await inspector.locator("#p-enforcement").fill("THADS-HN");
  await inspector.getByLabel("Loại văn bản: yêu cầu / kiến nghị / kháng nghị").selectOption("recommendation");
  await inspector.locator("#f-create-document_number").fill("12/KN-VKS");
  await inspector.locator("#f-create-issued_on").fill(day());
  await inspector.locator("#f-create-content").fill("Chậm ra quyết định thi hành án");
  await inspector.locator("#f-create-reply_due").fill(day(10));
  await inspector.locator("#f-create-instrument_file").setInputFiles(pdf("Kien nghi 12-KN-VKS"));
  await snap(inspector, "inspector-new-recommendation");
  await Promise.all([inspector.waitForNavigation(), inspector.getByRole("button", { name: "Khởi tạo", exact: true }).click()]);
  await noProblem(inspector, "issue");
  const id = inspector.url().split("/").pop();
  await inspector.getByRole("link", { name: "Kiểm sát", exact: true }).click();
  assert.match(await inspector.locator('section[aria-labelledby="replies-due"]').innerText(), /Kiến nghị 12\/KN-VKS/);
  await snap(inspector, "inspector-replies-due");

  const head = await signIn("ld-hn");
  await openFromList(head, id);
  await step(head, "acknowledge");
  await step(head, "answer", async (f) => {
    await f.locator('textarea[name="d.reply_number"]').fill("512/THADS-NV");
    await f.locator('input[name="d.reply_date"]').fill(day());
    await f.locator('textarea[name="d.measures"]').fill("Đã ra quyết định thi hành án; kiểm điểm Chấp hành viên");
    await f.locator('input[name="d.reply_file"]').setInputFiles(pdf("Tra loi 512-THADS-NV"));
  });
  await head.context().close();

  await inspector.reload();
  const toAssess = inspector.locator('section[aria-labelledby="to-assess"]');
  assert.match(await toAssess.innerText(), /Kiến nghị 12\/KN-VKS[\s\S]*512\/THADS-NV/);
  await snap(inspector, "inspector-reply-to-assess");
  await toAssess.getByRole("link", { name: /12\/KN-VKS/ }).click();
  await step(inspector, "accept", async (f) => {
    await f.locator('textarea[name="d.assessment"]').fill("Đã khắc phục");
  });
  assert.equal(await stateOf(inspector), "Viện kiểm sát chấp nhận");
  await snap(inspector, "inspector-accepted");
  await inspector.context().close();
}

// 3. A complex coercion, protected by the police, scheduled by the steering member.
{
  const officer = await signIn("cb-hn");
  const id = await startInstance(officer, "Kế hoạch cưỡng chế thi hành án (Luật 106/2025)", async (p) => {
    await p.locator("#p-police").fill("CA-HN");
    await p.locator("#p-procuracy").fill("VKS-HN");
    await p.locator("#p-commune").fill("UBND-HN");
    await p.locator("#p-coordinator").fill("UBND-HN");
    await p.locator("#f-create-case_reference").fill("1520/QĐ-CTHADS");
    await p.locator("#f-create-measure").selectOption("seize_property");
    await p.locator("#f-create-location").fill("Phường Hoàn Kiếm, Hà Nội");
    await p.locator("#f-create-estimated_cost").pressSequentially("45000000");
    await p.locator("#f-create-complex").selectOption("true");
  });
  const head = await signIn("ld-hn");
  await head.goto(`${BASE}/console/instances/${id}`);
  await step(head, "approve", async (f) => {
    await f.locator('input[name="d.approved_on"]').fill(day());
    await f.locator('input[name="d.decision_file"]').setInputFiles(pdf("Quyet dinh cuong che 1520"));
  });
  await head.context().close();
  await officer.reload();
  await step(officer, "send", async (f) => {
    await f.locator('input[name="d.sent_on"]').fill(day());
    await f.locator('textarea[name="d.dispatch_number"]').fill("77/THADS-CC");
  });
  await officer.context().close();

  const member = await signIn("ubnd-hn");
  await member.getByRole("link", { name: "Chỉ đạo", exact: true }).click();
  assert.match(await member.locator('section[aria-labelledby="unscheduled"]').innerText(), /1520\/QĐ-CTHADS[\s\S]*Chờ Công an xác nhận/);

  const police = await signIn("ca-hn");
  await openFromList(police, id);
  await step(police, "confirm_protection", async (f) => {
    await f.locator('textarea[name="d.protection_plan_number"]').fill("15/KH-CAHN");
    await f.locator('input[name="d.officers"]').fill("24");
  });
  await police.context().close();

  // The first working day the law allows, from a week ahead, at 08:00.
  await member.goto(`${BASE}/console/instances/${id}`);
  let scheduled = null;
  for (let ahead = 7; ahead < 60 && !scheduled; ahead += 1) {
    const form = stepForm(member, "schedule_complex");
    await form.locator('input[name="d.scheduled_at"]').fill(`${day(ahead)}T08:00`);
    await Promise.all([member.waitForNavigation(), form.locator('button[type="submit"]').click()]);
    const problems = await member.locator("p.problem").allInnerTexts();
    if (problems.length === 0) {
      scheduled = day(ahead);
    } else {
      // Only the rule of coercion times (rest days, holidays, Tết) may refuse the day.
      assert.match(problems.join(" "), /scheduled_at/, `the day ${day(ahead)} was refused for another reason`);
      await member.goto(`${BASE}/console/instances/${id}`);
    }
  }
  assert.ok(scheduled, "no day in the next two months could be scheduled");
  assert.equal(await stateOf(member), "Đã ấn định thời gian cưỡng chế");

  await member.getByRole("link", { name: "Chỉ đạo", exact: true }).click();
  await member.goto(`${BASE}/console/steering?month=${scheduled.slice(0, 7)}`);
  const cell = member.locator(`table.calendar td[data-date="${scheduled}"]`);
  assert.match(await cell.innerText(), /08:00[\s\S]*Kê biên tài sản[\s\S]*Công an đã xác nhận/);
  await snap(member, "steering-calendar");

  await member.getByRole("link", { name: "Báo cáo thống kê" }).click();
  assert.match(await member.locator("#coordination").innerText(), /Phối hợp liên ngành/);
  await snap(member, "steering-reports");
  const [download] = await Promise.all([
    member.waitForEvent("download"),
    member.getByRole("link", { name: "Tải về CSV" }).first().click(),
  ]);
  const csv = await readFile(await download.path(), "utf8");
  // A UTF-8 byte-order mark first, so that Excel reads the Vietnamese as written.
  assert.match(csv, /^\uFEFFagency,agency_name,parent,from,to,cases_total/);

  // The same calendar on a phone's screen.
  const phone = await member.context().browser().newContext({ viewport: { width: 390, height: 844 }, locale: "vi-VN" });
  await phone.addCookies(await member.context().cookies());
  await phone.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === HOST) return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  const small = await phone.newPage();
  await small.goto(`${BASE}/console/steering?month=${scheduled.slice(0, 7)}`);
  const width = await small.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page fits a phone's width (${width} px)`);
  await snap(small, "steering-calendar-phone");
  await phone.close();
  await member.context().close();
}

// The court liaison finds the demo's transfer in progress, and the pages switch to English.
{
  const court = await signIn("ta-hn");
  await court.getByRole("link", { name: "Hồ sơ", exact: true }).click();
  await court.locator('a[href^="/console/instances/"]').first().click();
  assert.match(await court.locator("h1").innerText(), /Chuyển giao bản án/);
  await snap(court, "court-transfer");
  const transferId = court.url().split("/").pop();
  // The court transfers it with the judgment's PDF: its SHA-256 is on the page.
  const judgment = pdf("Ban an 125-2026-DS-PT");
  await step(court, "transfer", async (f) => {
    await f.locator('input[name="d.judgment_file"]').setInputFiles(judgment);
    await f.locator('input[name="d.transfer_date"]').fill(day());
    await f.locator('select[name="d.method"]').selectOption("in_person");
    await f.locator('input[name="d.documents[0].description"]').fill("Bản án 125/2026/DS-PT, bản chính");
    await f.locator('input[name="d.documents[0].quantity"]').fill("1");
    await f.locator('input[name="d.documents[0].unit"]').fill("bản");
  });
  assert.equal(await court.locator("code.hash", { hasText: sha256(judgment.buffer) }).count() >= 1, true);

  // The office finds it by the judgment's number in the search box of any page, and registers it.
  const office = await signIn("cb-hn");
  await office.locator('form.search input[name="q"]').fill("125/2026/ds-pt");
  await Promise.all([office.waitForNavigation(), office.locator("form.search button").click()]);
  await snap(office, "search-judgment-number");
  await office.locator(`a[href="/console/instances/${transferId}"]`).click();
  await step(office, "register", async (f) => {
    await f.locator('input[name="d.received_date"]').fill(day());
    await f.locator('textarea[name="d.register_number"]').fill("77/TL-THADS");
  });
  // And by the register number, typed without its marks, from the search box.
  await office.goto(`${BASE}/console/search?q=${encodeURIComponent("77 tl thads")}`);
  assert.equal(await office.locator(`a[href="/console/instances/${transferId}"]`).count(), 1);
  await office.goto(`${BASE}/console/instances/${transferId}/record`);
  const transferRecord = await printed(office, "transfer-record");
  for (const text of ["BIÊN BẢN GIAO NHẬN", "TAND-HN", "THADS-HN", "Bản án 125/2026/DS-PT, bản chính", "Đã nhận",
                      "Demo ta-hn", "Demo cb-hn", judgment.name, sha256(judgment.buffer)]) {
    assert.ok(flat(transferRecord.text).includes(flat(text)), `the printed transfer record says ${text}:\n${transferRecord.text}`);
  }
  await office.context().close();
  await court.getByRole("link", { name: "English" }).click();
  assert.equal(await court.locator("html").getAttribute("lang"), "en");
  assert.match(await court.locator("header.top nav").innerText(), /To do/);
  await snap(court, "court-transfer-english");
  await court.context().close();
}

// 5. The other roles of the province: the steering committee reads the reports, the auditor
// reads any instance and changes none, the admin sees the accounts and what was done to them.
{
  const committee = await signIn("bcd-hn");
  await committee.getByRole("link", { name: "Chỉ đạo", exact: true }).click();
  await committee.getByRole("link", { name: "Báo cáo thống kê" }).click();
  // By default, the province's office: Hà Nội's figures.
  assert.equal(await committee.locator("#agency").inputValue(), "THADS-HN");
  assert.match(await committee.locator('section[aria-labelledby="enforcement"] tbody').innerText(), /THADS-HN/);
  await committee.context().close();

  const auditor = await signIn("auditor");
  await auditor.getByRole("link", { name: "Hồ sơ", exact: true }).click();
  await auditor.locator('a[href^="/console/instances/"]').first().click();
  assert.match(await auditor.locator("p.notice").innerText(), /Lịch sử toàn vẹn/);
  assert.equal(await auditor.locator("form.step").count(), 0, "an auditor takes no step");
  await snap(auditor, "auditor-instance");
  await auditor.context().close();

  const admin = await signIn("admin");
  await admin.getByRole("link", { name: "Người dùng" }).click();
  const events = admin.locator('section[aria-labelledby="account-events"] tbody tr');
  const row = (user, what, by) =>
    events.filter({ has: admin.locator("td", { hasText: new RegExp(`^${what}$`) }) }).filter({
      has: admin.locator(`td:text-is("${user}") + td + td:text-is("${by}")`),
    });
  assert.equal(await row("ca-hn", "Tạo tài khoản", "demo").count(), 1, "ca-hn added by the demo");
  assert.ok((await row("ca-hn", "Đăng nhập", "ca-hn").count()) >= 1, "ca-hn's sign-ins are recorded");
  await snap(admin, "admin-users");
  await admin.context().close();
}

await browser.close();
assert.deepEqual(outside, [], "no request leaves the server");
assert.deepEqual(scriptErrors, [], "no script error on any page");
console.log(`e2e: 5 journeys passed, ${shots} screenshots in ${SHOTS}, no request left ${HOST}`);
