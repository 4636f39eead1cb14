// Usage: node smoke.mjs <url> <outdir>
// Opens <url> in headless Chromium, waits for the load event, saves <outdir>/smoke.png and prints
// one JSON line: {"title": <document title>, "h1": <text of the first h1, or null>}.
import { launch, runMain, shot } from './browser.mjs';

const [url, outdir] = process.argv.slice(2);
if (!url || !outdir) {
  process.stderr.write('usage: node smoke.mjs <url> <outdir>\n');
  process.exit(2);
}

runMain(async () => {
  const browser = await launch();
  const page = await browser.newPage();
  // What the page itself reports goes to stderr, for the test's failure message.
  page.on('console', (m) => process.stderr.write(`page console.${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  const response = await page.goto(url, { waitUntil: 'load' });
  if (response && response.status() >= 400)
    throw new Error(`${url} answered ${response.status()}`);
  await shot(page, outdir, 'smoke');
  const title = await page.title();
  const h1 = await page.evaluate(() => {
    const h = document.querySelector('h1');
    return h ? h.textContent.trim() : null;
  });
  process.stdout.write(`${JSON.stringify({ title, h1 })}\n`);
});
