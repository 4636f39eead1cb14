// Usage: node shop.mjs <scenario> <outdir> <json arguments>
// A buyer in headless Chromium on keysat-serve's pages. Prints one JSON line with what the buyer
// saw; saves a screenshot of each page in <outdir>. Every scenario fails on a JavaScript error,
// a Content-Security-Policy violation or a dialog (an alert() that got through would open one).
//
// Scenarios (arguments as one JSON object):
//   paid     {base, product, tier, code, email}: buy page, pick the tier by its position (0 is
//            the first), apply the code, pay on the BTCPay stand-in's checkout, land on the
//            thank-you page, read the key.
//   free     {base, product, code, email}: a code that makes the price 0; straight to the key.
//   page     {url, name}: open one page; its heading and text.
//   recover  {base, invoice_id, email}: the recovery form; the key or the error shown.
//   upgrade  {base, key, target}: the /upgrade page with a key, the other tiers with what each
//            costs now, pick `target`, pay on the BTCPay stand-in, the new key on /thank-you.
//   connect  {authorize_url}: the operator's side of BTCPay's connect: BTCPay's consent page,
//            Authorize, keysat-serve's answer.
import { launch, runMain, shot } from './browser.mjs';

const [scenario, outdir, raw] = process.argv.slice(2);
if (!scenario || !outdir) {
  process.stderr.write('usage: node shop.mjs <scenario> <outdir> <json arguments>\n');
  process.exit(2);
}
const args = JSON.parse(raw || '{}');

async function openPage(browser) {
  const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
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
  return { page, problems };
}

function check(problems) {
  if (problems.length) throw new Error(problems.join('\n'));
}

async function text(page, selector) {
  const el = await page.$(selector);
  return el ? (await el.textContent()).trim() : null;
}

// The key on the thank-you page, once the page shows it (it reloads itself when the invoice
// settles).
async function keyOnThankYou(page) {
  await page.waitForURL(/\/thank-you\?invoice_id=/);
  await page.waitForSelector('#license-key', { timeout: 30_000 });
  await page.waitForSelector('#copy-key:not([hidden])');
  return page.$eval('#license-key', (t) => t.value);
}

const scenarios = {
  async paid(browser) {
    const { page, problems } = await openPage(browser);
    await page.goto(`${args.base}/buy/${args.product}`);
    await shot(page, outdir, '1-buy');
    const radios = await page.$$('input[name=policy_slug][type=radio]');
    if (radios.length <= args.tier) throw new Error(`only ${radios.length} tiers`);
    // Keyboard first: tab to the tier group and pick with the arrow keys, as a keyboard user
    // would; then check the choice took.
    await radios[0].focus();
    for (let i = 0; i < args.tier; i++) await page.keyboard.press('ArrowDown');
    const picked = await page.$eval('input[name=policy_slug]:checked', (r) => r.value);
    const totalBefore = await text(page, '#total');
    await page.fill('#buyer-email', args.email);
    await page.fill('#code', args.code);
    await page.click('#apply-code');
    await page.waitForSelector('#code-result.ok, #code-result.bad');
    const codeMessage = await text(page, '#code-result');
    const total = await text(page, '#total');
    await shot(page, outdir, '2-buy-with-code');
    await Promise.all([page.waitForURL(/\/i\//), page.click('#pay')]);
    const checkoutAmount = await text(page, '#amount');
    await shot(page, outdir, '3-checkout');
    await Promise.all([page.waitForURL(/\/thank-you/), page.click('#pay')]);
    const key = await keyOnThankYou(page);
    await page.click('#copy-key');
    await page.waitForFunction(() => document.getElementById('copy-result').textContent !== '');
    const copied = await text(page, '#copy-result');
    await shot(page, outdir, '4-thank-you');
    const invoiceId = new URL(page.url()).searchParams.get('invoice_id');
    check(problems);
    return { picked, totalBefore, codeMessage, total, checkoutAmount, key, copied, invoiceId };
  },

  async upgrade(browser) {
    const { page, problems } = await openPage(browser);
    await page.goto(`${args.base}/upgrade`);
    await page.fill('#upgrade-key', args.key);
    await shot(page, outdir, '1-upgrade-key');
    await Promise.all([page.waitForNavigation(), page.click('#show-plans')]);
    await shot(page, outdir, '2-upgrade-options');
    const current = await text(page, '.lead strong');
    const options = await page.$$eval('fieldset.tiers .tier', (cards) => cards.map((c) => ({
      slug: c.querySelector('input').value,
      disabled: c.querySelector('input').disabled,
      cost: c.querySelector('.price').textContent.trim(),
    })));
    await page.check(`#to-${args.target}`);
    await Promise.all([page.waitForURL(/\/i\//), page.click('#change-plan')]);
    const checkoutAmount = await text(page, '#amount');
    await shot(page, outdir, '3-upgrade-checkout');
    await Promise.all([page.waitForURL(/\/thank-you/), page.click('#pay')]);
    const key = await keyOnThankYou(page);
    await shot(page, outdir, '4-upgrade-thank-you');
    const invoiceId = new URL(page.url()).searchParams.get('invoice_id');
    check(problems);
    return { current, options, checkoutAmount, key, invoiceId };
  },

  async free(browser) {
    const { page, problems } = await openPage(browser);
    await page.goto(`${args.base}/buy/${args.product}`);
    await page.fill('#buyer-email', args.email);
    await page.fill('#code', args.code);
    await page.press('#code', 'Enter'); // Enter previews; it does not submit
    await page.waitForSelector('#code-result.ok, #code-result.bad');
    const codeMessage = await text(page, '#code-result');
    const total = await text(page, '#total');
    await shot(page, outdir, '1-buy-free-code');
    await Promise.all([page.waitForURL(/\/thank-you/), page.click('#pay')]);
    const key = await keyOnThankYou(page);
    await shot(page, outdir, '2-thank-you');
    const invoiceId = new URL(page.url()).searchParams.get('invoice_id');
    check(problems);
    return { codeMessage, total, key, invoiceId };
  },

  async page(browser) {
    const { page, problems } = await openPage(browser);
    const response = await page.goto(args.url);
    await page.waitForLoadState('load');
    await page.waitForTimeout(300); // time for a script that should not run to run
    await shot(page, outdir, args.name || 'page');
    const out = {
      status: response ? response.status() : 0,
      h1: await text(page, 'h1'),
      main: await text(page, 'main'),
      injected: await page.evaluate(() => document.querySelectorAll('main img, main script:not([type="application/json"]), main iframe').length),
    };
    check(problems);
    return out;
  },

  async recover(browser) {
    const { page, problems } = await openPage(browser);
    await page.goto(`${args.base}/recover`);
    await page.fill('#invoice-id', args.invoice_id);
    await page.fill('#email', args.email);
    await shot(page, outdir, '1-recover');
    await Promise.all([page.waitForNavigation(), page.press('#email', 'Enter')]);
    await shot(page, outdir, '2-recovered');
    const key = await page.$('#license-key')
      ? await page.$eval('#license-key', (t) => t.value) : null;
    const error = await text(page, '.error');
    check(problems);
    return { key, error };
  },

  async connect(browser) {
    const { page, problems } = await openPage(browser);
    await page.goto(args.authorize_url);
    await shot(page, outdir, '1-btcpay-consent');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/v1/btcpay/authorize/callback'),
      page.click('#authorize'),
    ]);
    await page.waitForSelector('#connected');
    const connected = await text(page, '#connected');
    await shot(page, outdir, '2-connected');
    check(problems);
    return { connected, title: await page.title() };
  },
};

runMain(async () => {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  const browser = await launch();
  const result = await run(browser);
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
