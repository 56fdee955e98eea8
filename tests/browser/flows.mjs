// SPDX-License-Identifier: AGPL-3.0-or-later
// The browser suite: playwright-core drives Debian's chromium against the
// stack that tests/integration/test_browser.py started and seeded.  Reads
// its inputs as JSON from REFX_BROWSER (see that file), clicks through the
// referrer portal and the manager dashboard, and prints one JSON object of
// observations for the Python side to assert on.  Screenshots go to
// tests/browser/screenshots/ (not committed).
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const cfg = JSON.parse(process.env.REFX_BROWSER);
const shots = path.join(path.dirname(new URL(import.meta.url).pathname),
  'screenshots');
fs.mkdirSync(shots, { recursive: true });
const out = { dialogs: [], csp: [], a11y: [], a11y_pages: [], injected: [] };
const axeSource = fs.readFileSync(path.join(path.dirname(shots),
  'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// axe-core's WCAG 2.1 A/AA rules on the current page; violations are
// collected for the Python side (which expects none).  page.evaluate runs
// through the DevTools protocol, outside the page's CSP.
async function a11y(page, name) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  out.a11y_pages.push(name);
  for (const v of found) out.a11y.push({ page: name, ...v });
}

// Elements the XSS corpus would create if a field were rendered as markup
// (the pages have no inline script and no event-handler attributes).
const INJECTED = 'img[src="x"], svg[onload], [onerror], [onload], ' +
  '[onmouseover], iframe, script:not([src]), a[href^="javascript:"]';

// A screenshot of a main page, its accessibility check, and the count of
// injected elements (expected 0).
async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  await a11y(page, name);
  const n = await page.locator(INJECTED).count();
  if (n > 0) out.injected.push({ page: name, n, html: (await page.content()).slice(0, 2000) });
}

// RFC 6238 TOTP (SHA-1, 30 s, 6 digits) of a base32 secret.
function totp(secret, t = Date.now() / 1000 + (cfg.clock || 0)) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '')) bits += alpha.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = crypto.createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1] & 15;
  const code = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

async function login(ctx, who, target) {
  const page = await ctx.newPage();
  page.on('dialog', async (d) => { out.dialogs.push(d.message()); await d.dismiss(); });
  page.on('console', (msg) => {
    if (msg.text().includes('Content Security Policy')) out.csp.push(msg.text());
  });
  await page.goto(`${cfg.url}/login?redirect_url=${encodeURIComponent(target)}`);
  await page.fill('#user', who.uid);
  await page.fill('#password', who.pw);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (page.url().includes('/login/2fa')) {
    // the next 30 s step: accepted (±1 step) and never used before, even
    // right after enrolment consumed the current one
    await page.fill('#code', totp(who.secret, Date.now() / 1000 + (cfg.clock || 0) + 30));
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  }
  return page;
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  // ---- the referrer, German browser
  const rctx = await browser.newContext({ locale: 'de-DE', extraHTTPHeaders: { 'X-Forwarded-For': cfg.ip1 } });
  const r = await login(rctx, cfg.referrer, '/portal');
  out.referrer_landing = new URL(r.url()).pathname;
  out.inbox_lang = await r.getAttribute('html', 'lang');
  out.inbox_h1 = await r.textContent('h1');
  out.unread_before = await r.locator(`tr.unread[data-report="${cfg.report_id}"]`).count();
  await shot(r, 'portal-inbox');
  await Promise.all([r.waitForNavigation(), r.click(`tr[data-report="${cfg.report_id}"] a`)]);
  out.report_path = new URL(r.url()).pathname;
  out.report_has_name = (await r.textContent('h1')).includes(cfg.family_text);
  await shot(r, 'portal-report');
  out.report_page_text = await r.textContent('body');
  await Promise.all([r.waitForNavigation(), r.click('#mark-read button')]);
  out.is_read = await r.locator('#is-read').count();
  await r.goto(`${cfg.url}/portal`);
  out.unread_after = await r.locator(`tr.unread[data-report="${cfg.report_id}"]`).count();
  // a form post without the CSRF token fails
  const forged = await r.request.post(`${cfg.url}/portal/reports/${cfg.report_id}/read`, { form: { x: '1' } });
  out.csrf_less_status = forged.status();
  // the clinic lead's page, reached through the navigation
  await Promise.all([r.waitForNavigation(), r.click('nav.main a[href="/portal/clinic"]')]);
  out.clinic_members = await r.locator('tr[data-member]').evaluateAll((rows) =>
    rows.map((x) => x.dataset.member));
  await shot(r, 'portal-clinic');
  // the language switch: the account setting wins over the browser
  const en = await rctx.request.put(`${cfg.url}/ocs/v2.php/cloud/users/${cfg.referrer.uid}?format=json`, {
    headers: { 'OCS-APIRequest': 'true', requesttoken: await r.getAttribute('input[name=requesttoken]', 'value') },
    form: { key: 'language', value: 'en' },
  });
  out.lang_put = en.status();
  await r.goto(`${cfg.url}/portal`);
  out.inbox_lang_after = await r.getAttribute('html', 'lang');
  out.inbox_h1_after = await r.textContent('h1');
  await shot(r, 'portal-inbox-en');
  // an English browser sees the login page in English
  const ectx = await browser.newContext({ locale: 'en-US', extraHTTPHeaders: { 'X-Forwarded-For': cfg.ip2 } });
  const lp = await ectx.newPage();
  await lp.goto(`${cfg.url}/login`);
  out.login_lang_en = await lp.getAttribute('html', 'lang');
  await shot(lp, 'login');
  // keyboard only: the login name has the focus, Tab reaches the
  // password and then the button
  const focused = () => lp.evaluate(() =>
    document.activeElement.id || document.activeElement.tagName);
  out.login_tab_order = [await focused()];
  for (let i = 0; i < 2; i++) {
    await lp.keyboard.press('Tab');
    out.login_tab_order.push(await focused());
  }

  // ---- staff: a report and a correction through the forms
  const sctx = await browser.newContext({ locale: 'de-DE', extraHTTPHeaders: { 'X-Forwarded-For': cfg.ip4 } });
  const st = await login(sctx, cfg.staff, '/dashboard');
  await st.goto(`${cfg.url}/dashboard/reports/new`);
  await st.fill('#patient_id', cfg.upload.ppid);
  await st.fill('#family_name', 'Formular');
  await st.fill('#given_name', 'Frieda');
  await st.fill('#birth_date', '1980-02-29');
  await st.fill('#order_number', cfg.upload.order);
  await st.selectOption('#clinic', cfg.upload.clinic);
  await st.fill('#title', 'Sonographie Abdomen');
  await st.setInputFiles('#file', { name: 'befund.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% form upload ' + Date.now() + '\n%%EOF\n') });
  await shot(st, 'dashboard-upload');
  await Promise.all([st.waitForNavigation(), st.click('#upload button[type=submit]')]);
  out.upload_landing = new URL(st.url()).pathname;
  const form = st.locator('form.new-version').first();
  await form.locator('input[name=title]').fill('Sonographie Abdomen (korrigiert)');
  await form.locator('input[type=file]').setInputFiles({ name: 'v2.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% correction ' + Date.now() + '\n%%EOF\n') });
  await Promise.all([st.waitForNavigation(), form.locator('button').click()]);
  out.correction_landing = new URL(st.url()).pathname;
  out.versions_shown = await st.locator('section.report tbody tr').count();
  out.superseded_shown = await st.locator('section.report .badge.superseded').count();
  // a wrong file type is refused with a clear page, nothing stored
  await st.goto(`${cfg.url}/dashboard/reports/new`);
  await st.fill('#patient_id', cfg.upload.ppid + 'X');
  await st.fill('#order_number', cfg.upload.order + 'X');
  await st.fill('#title', 'GIF');
  await st.setInputFiles('#file', { name: 'x.gif', mimeType: 'image/gif', buffer: Buffer.from('GIF89a') });
  const resp = await Promise.all([st.waitForNavigation(), st.click('#upload button[type=submit]')]);
  out.bad_upload_message = (await st.textContent('#message')).trim();
  await shot(st, 'dashboard-patient-staff');

  // ---- the manager
  const mctx = await browser.newContext({ locale: 'de-DE', extraHTTPHeaders: { 'X-Forwarded-For': cfg.ip3 } });
  const m = await login(mctx, cfg.manager, '/dashboard');
  out.manager_landing = new URL(m.url()).pathname;
  out.chart = await m.locator('.chart svg rect').count();
  out.chart_html = (await m.content()).slice(0, 1500);
  await shot(m, 'dashboard');
  await Promise.all([m.waitForNavigation(), m.click('nav.main a[href="/dashboard/clinics"]')]);
  out.clinics_listed = await m.locator('#clinics tbody tr').count();
  await shot(m, 'dashboard-clinics');
  out.clinics_page_text = await m.textContent('body');
  await m.goto(`${cfg.url}/dashboard/patients`);
  await m.fill('#q', cfg.search);
  await Promise.all([m.waitForNavigation(), m.click('form[role=search] button')]);
  out.search_url = new URL(m.url()).pathname + new URL(m.url()).search;
  await Promise.all([m.waitForNavigation(), m.click(`#patients a[href="/dashboard/patients/${cfg.patient_id}"]`)]);
  await shot(m, 'dashboard-patient');
  out.patient_page_text = await m.textContent('body');
  // record a consent through the form, then withdraw the seeded one
  const before = await m.locator('#consents tbody tr').count();
  await m.selectOption('#k-scope', 'clinic');
  await m.fill('#k-purpose', 'Mitbehandlung');
  await m.fill('#k-tv', '2026-01');
  await m.fill('#k-sha', 'a'.repeat(64));
  await Promise.all([m.waitForNavigation(), m.click('#consent-new button')]);
  out.consents_added = (await m.locator('#consents tbody tr').count()) - before;
  // record: withdraw the consent
  await Promise.all([m.waitForNavigation(), m.click(`form[action="/dashboard/consents/${cfg.consent_id}/withdraw"] button`)]);
  out.withdraw_page = new URL(m.url()).pathname;
  out.withdraw_ended = (await m.textContent('#ended')).trim();
  // access export, printable
  await m.goto(`${cfg.url}/dashboard/patients/${cfg.patient_id}/access-export`);
  out.export_reference = (await m.textContent('#reference')).trim();
  await shot(m, 'access-export');
  // print styles: no navigation or controls, the reference stays; a PDF of
  // the printed page is kept next to the screenshots
  await m.emulateMedia({ media: 'print' });
  out.print_export = {
    reference: await m.isVisible('#reference'),
    header: await m.isVisible('header.top'),
    buttons: await m.locator('button:visible').count(),
  };
  await m.pdf({ path: path.join(shots, 'access-export.pdf'), format: 'A4' });
  await m.emulateMedia({ media: 'screen' });
  // the audit trail of this patient, and its CSV
  await m.goto(`${cfg.url}/dashboard/audit?patient=${cfg.patient_id}`);
  out.audit_rows = await m.locator('#audit tbody tr').count();
  const csv = await m.request.get(`${cfg.url}` + await m.getAttribute('#csv', 'href'));
  out.audit_csv_type = csv.headers()['content-type'];
  out.audit_csv_lines = (await csv.text()).trim().split('\r\n').length;
  await shot(m, 'dashboard-audit');
  // erasure through the form, then the confirmation
  await m.goto(`${cfg.url}/dashboard/patients/${cfg.patient_id}`);
  await m.fill('#er-reason', 'Antrag per Brief');
  await m.selectOption('#er-channel', 'letter');
  await Promise.all([m.waitForNavigation(), m.click('#erasure button')]);
  out.erasure_page = new URL(m.url()).pathname;
  out.erasure_reference = (await m.textContent('#reference')).trim();
  await shot(m, 'erasure-confirmation');
  await m.pdf({ path: path.join(shots, 'erasure-confirmation.pdf'), format: 'A4' });
} catch (e) {
  console.error('state so far: ' + JSON.stringify(out));
  throw e;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
