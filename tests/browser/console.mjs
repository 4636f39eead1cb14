// Usage: node console.mjs <scenario> <outdir> <json arguments>
// The operator in headless Chromium on keysat-serve's console (/admin/). Prints one JSON line
// with what the operator saw; saves screenshots in <outdir>. Every scenario fails on a
// JavaScript error, a Content-Security-Policy violation or a dialog.
//
// Scenarios (arguments as one JSON object):
//   operator {base, password, ledger}: sign in with the keyboard only; a product with two tiers
//            and a code; a complimentary key issued (read from the page that shows it once) and
//            revoked, then /v1/validate asked about it; the failed webhook delivery retried; the
//            ledger file uploaded; every page shot at desktop and phone widths; sign out.
//   readonly {base, key}: sign in with a read-only key; every page without a write control;
//            a forged form with the session's own token refused.
//   payments {base, password, btcpay}: connect BTCPay from the payments page in one click:
//            BTCPay's consent page (the stand-in at `btcpay`), its Authorize button, the
//            callback's page, then the payments page showing the store.
// Every page the operator and read-only scenarios shoot is also checked with axe-core (WCAG 2
// A and AA rules): the violations are returned as `axe` {page: [rule ids]}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { launch, runMain, shot } from './browser.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const [scenario, outdir, raw] = process.argv.slice(2);
if (!scenario || !outdir) {
  process.stderr.write('usage: node console.mjs <scenario> <outdir> <json arguments>\n');
  process.exit(2);
}
const args = JSON.parse(raw || '{}');

const PAGES = ['/admin/', '/admin/products', '/admin/codes', '/admin/licenses', '/admin/machines',
  '/admin/subscriptions', '/admin/invoices', '/admin/payments', '/admin/releases',
  '/admin/webhooks', '/admin/audit', '/admin/api-keys', '/admin/settings'];

// axe-core's WCAG 2 A and AA checks of the page as it is: "rule: target" for each failing node.
// page.evaluate runs outside the page's Content-Security-Policy, so the policy stays as served.
async function axeViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

async function openPage(browser, width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    process.stderr.write(`page console.${m.type()}: ${m.text()}\n`);
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss();
  });
  page.setDefaultTimeout(20_000);
  return { context, page, problems };
}

function check(problems) {
  if (problems.length) throw new Error(problems.join('\n'));
}

async function notice(page) {
  const el = await page.$('.notice');
  return el ? (await el.textContent()).trim() : '';
}

// Submits the form that holds `field` (a unique input) with its submit button.
async function submit(page, selector) {
  await Promise.all([page.waitForLoadState('load'), page.click(selector)]);
  await page.waitForLoadState('load');
}

// Every console page at desktop and phone widths, named <prefix>-<page>-<width>, each checked
// with axe-core at both widths; returns the violations by page (none: an empty object).
async function shootAll(browser, cookies, prefix) {
  const axe = {};
  for (const width of [1280, 390]) {
    const { context, page, problems } = await openPage(browser, width);
    await context.addCookies(cookies);
    for (const path of PAGES) {
      await page.goto(args.base + path);
      const name = path.replace(/^\/admin\/?/, '') || 'dashboard';
      await shot(page, outdir, `${prefix}-${name}-${width}`);
      const found = await axeViolations(page);
      if (found.length) axe[`${path} @${width}`] = found;
    }
    check(problems);
    await context.close();
  }
  return axe;
}

const scenarios = {
  async operator(browser) {
    const { context, page, problems } = await openPage(browser);
    const seen = {};
    await page.goto(`${args.base}/admin/`);
    seen.redirected_to = new URL(page.url()).pathname;
    await shot(page, outdir, '01-sign-in');
    // Keyboard only: the password field has the focus; Enter signs in.
    seen.focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    await page.keyboard.type(args.password);
    await Promise.all([page.waitForURL(/\/admin\/$/), page.keyboard.press('Enter')]);
    seen.after_sign_in = await page.textContent('h1');

    // A product with two tiers, and a code.
    await page.goto(`${args.base}/admin/products`);
    await page.fill('#POST-v1-admin-products-name', 'Notes');
    await page.fill('#POST-v1-admin-products-slug', 'notes');
    await page.fill('#POST-v1-admin-products-price_sats', '50000');
    await submit(page, 'form:has(#POST-v1-admin-products-name) button[type=submit]');
    seen.product_notice = await notice(page);
    for (const [slug, name, price] of [['basic', 'Basic', '21000'], ['pro', 'Pro', '80000']]) {
      await page.selectOption('#POST-v1-admin-policies-product_slug', 'notes');
      await page.fill('#POST-v1-admin-policies-name', name);
      await page.fill('#POST-v1-admin-policies-slug', slug);
      await page.fill('#POST-v1-admin-policies-price_sats_override', price);
      await page.fill('#POST-v1-admin-policies-entitlements', 'sync, export');
      await submit(page, 'form:has(#POST-v1-admin-policies-name) button[type=submit]');
    }
    seen.tier_notice = await notice(page);
    seen.tiers = await page.$$eval('section:has(h2:text("Tiers of Notes")) tbody tr',
      (rows) => rows.map((r) => r.querySelector('td').textContent));
    await shot(page, outdir, '02-products');
    // The product's own page, with every tier's edit form.
    await Promise.all([page.waitForURL(/\/admin\/products\/[0-9a-f-]{36}$/), page.click('a:text("Notes")')]);
    seen.product_page = await page.textContent('h1');
    await page.click('section:has(h2:text("Tier Pro")) summary');
    seen.axe_product = await axeViolations(page);
    await shot(page, outdir, '02b-product');
    await page.goto(`${args.base}/admin/codes`);
    await page.fill('#POST-v1-admin-discount-codes-code', 'LAUNCH');
    await page.selectOption('#POST-v1-admin-discount-codes-kind', 'percent');
    await page.fill('#POST-v1-admin-discount-codes-amount', '2500');
    await page.fill('#POST-v1-admin-discount-codes-description', 'Launch week');
    await submit(page, 'form:has(#POST-v1-admin-discount-codes-code) button[type=submit]');
    seen.code_notice = await notice(page);
    seen.codes = await page.$$eval('tbody tr td:first-child', (c) => c.map((x) => x.textContent));
    await shot(page, outdir, '03-codes');

    // A complimentary key, shown once; then revoked.
    await page.goto(`${args.base}/admin/licenses`);
    await page.fill('#POST-v1-admin-licenses-product_slug', 'notes');
    await page.fill('#POST-v1-admin-licenses-policy_slug', 'pro');
    await page.fill('#POST-v1-admin-licenses-buyer_email', 'friend@example.com');
    await submit(page, 'form:has(#POST-v1-admin-licenses-product_slug) button[type=submit]');
    seen.shown_url = new URL(page.url()).pathname;
    seen.key = (await page.textContent('pre.secret')).trim();
    await shot(page, outdir, '04-key-shown-once');
    await page.reload();
    seen.after_reload = await notice(page);
    const before = await (await fetch(`${args.base}/v1/validate`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: seen.key }),
    })).json();
    seen.validate_before = before;
    await page.goto(`${args.base}/admin/licenses`);
    await submit(page, 'tr:has(td:text("friend@example.com")) button:text("Revoke")');
    seen.revoke_notice = await notice(page);
    seen.status_after = await page.textContent('tr:has(td:text("friend@example.com")) td[data-label=Status]');
    const after = await (await fetch(`${args.base}/v1/validate`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: seen.key }),
    })).json();
    seen.validate_after = after;

    // The delivery that gave up, retried.
    await page.goto(`${args.base}/admin/webhooks`);
    seen.failed_before = await page.$$eval('section:has(h2:text("Deliveries that gave up")) tbody tr', (r) => r.length);
    await shot(page, outdir, '05-webhooks');
    await submit(page, 'section:has(h2:text("Deliveries that gave up")) button:text("Retry")');
    seen.retry_notice = await notice(page);

    // A ledger from keysat-issue, uploaded.
    await page.goto(`${args.base}/admin/licenses`);
    await page.setInputFiles('#POST-v1-admin-licenses-import-_body', args.ledger);
    await submit(page, 'form:has(#POST-v1-admin-licenses-import-_body) button[type=submit]');
    seen.import_summary = await page.$$eval('dl.summary dt, dl.summary dd', (e) => e.map((x) => x.textContent));
    await shot(page, outdir, '06-ledger-imported');

    // Every page, wide and narrow, with this session.
    seen.axe = await shootAll(browser, await context.cookies(), 'operator');

    // Sign out: back to the sign-in page, and the console is closed to this browser.
    await page.goto(`${args.base}/admin/`);
    await Promise.all([page.waitForURL(/\/admin\/login$/), page.click('form.who button')]);
    await page.goto(`${args.base}/admin/licenses`);
    seen.after_sign_out = new URL(page.url()).pathname;
    check(problems);
    return seen;
  },

  async readonly(browser) {
    const { context, page, problems } = await openPage(browser);
    const seen = { pages: {} };
    await page.goto(`${args.base}/admin/login`);
    await page.click('summary');
    await page.fill('#api_key', args.key);
    await Promise.all([page.waitForURL(/\/admin\/$/), page.click('button[value=api_key]')]);
    for (const path of PAGES) {
      const answer = await page.goto(args.base + path);
      seen.pages[path] = {
        status: answer.status(),
        write_forms: await page.$$eval('form[action="/admin/act"]', (f) => f.length),
        nav_has_api_keys: await page.$$eval('nav a[href="/admin/api-keys"]', (a) => a.length),
      };
    }
    seen.axe = await shootAll(browser, await context.cookies(), 'readonly');
    // A forged form: the session's own token, a write the key's role lacks.
    await page.goto(`${args.base}/admin/products`);
    await Promise.all([page.waitForURL(/\/admin\/act$/), page.evaluate(() => {
      const token = document.querySelector('form.who input[name=_csrf]').value;
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/admin/act';
      for (const [k, v] of Object.entries({ _csrf: token, _method: 'POST', _path: '/v1/admin/products',
        name: 'Forged', slug: 'forged', 'price_sats:int': '1' })) {
        const i = document.createElement('input');
        i.type = 'hidden'; i.name = k; i.value = v;
        f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    })]);
    await page.waitForLoadState('load');
    seen.forged = await notice(page);
    await shot(page, outdir, 'readonly-forged');
    check(problems);
    return seen;
  },
};

scenarios.payments = async (browser) => {
  const { page, problems } = await openPage(browser);
  const seen = {};
  await page.goto(`${args.base}/admin/login`);
  await page.fill('#password', args.password);
  await Promise.all([page.waitForURL(/\/admin\/$/), page.press('#password', 'Enter')]);
  await page.goto(`${args.base}/admin/payments`);
  await shot(page, outdir, 'payments-1-before');
  // One click: the console's form, then BTCPay's consent page (the page's form-action allows
  // BTCPay's origin, or Chromium would stop the redirect and report a policy violation).
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(args.btcpay)),
    page.click('button:text("Connect BTCPay")'),
  ]);
  seen.consent_path = new URL(page.url()).pathname;
  await shot(page, outdir, 'payments-2-consent');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/v1/btcpay/authorize/callback'),
    page.click('#authorize'),
  ]);
  await page.waitForSelector('#connected');
  seen.connected = (await page.textContent('#connected')).trim();
  await shot(page, outdir, 'payments-3-connected');
  await page.goto(`${args.base}/admin/payments`);
  seen.providers = await page.$$eval('section:has(h2) tbody tr td[data-label=Label]',
    (cells) => cells.map((c) => c.textContent));
  seen.axe = await axeViolations(page);
  await shot(page, outdir, 'payments-4-after');
  check(problems);
  return seen;
};

runMain(async () => {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  const browser = await launch();
  const seen = await run(browser);
  process.stdout.write(JSON.stringify(seen) + '\n');
});
