// bench/studio/browser.js URL MODE N: the studio measured in Debian's headless chromium.
// ttft: N clicks on Generate in the sample view (latest checkpoint, short prompt), each
// timed from the click to the first token on the page (performance.now()), as JSON.
// clients: N separate browser clients (own contexts, own cookies) click at once and
// stream to the end; errors counted, each client's first token and end timed, as JSON.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const puppeteer = require(path.resolve(__dirname, '../../cache/studio-node/node_modules/puppeteer-core'));
const [url, mode, nArg, lenArg] = process.argv.slice(2);
const N = Number(nArg || 10), LEN = Number(lenArg || 8);

async function open(ctx) {
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
  await page.click('#tabs button[data-view="sample"]');
  await page.$eval('#prompt', (e) => { e.value = 'The lighthouse keeper'; });
  await page.$eval('#length', (e, v) => { e.value = v; }, String(LEN));
  return page;
}
const done = (page) => page.waitForFunction(() => !window.studio.gen && !document.querySelector('#go').disabled, { timeout: 300000 });
const median = (a) => { const s = a.slice().sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-'));
  const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--user-data-dir=' + profile] });
  let out;
  if (mode === 'ttft') {
    const page = await open(browser.defaultBrowserContext());
    for (let i = 0; i < N + 1; i++) { await page.click('#go'); await done(page); }   // the first one warms up
    const t = (await page.evaluate(() => window.studio.timings)).slice(1);
    out = { clicks: t.length, median_ms: median(t), min_ms: Math.min(...t), max_ms: Math.max(...t) };
  } else {
    const pages = [];
    for (let i = 0; i < N; i++) pages.push(await open(await browser.createBrowserContext()));
    const t0 = Date.now();
    await Promise.all(pages.map((p) => p.click('#go')));
    await Promise.all(pages.map(done));
    const wall = Date.now() - t0;
    const res = await Promise.all(pages.map((p) => p.evaluate(() => ({
      t: window.studio.timings[0], tokens: document.querySelectorAll('#sample-out .tok').length,
      error: document.querySelector('#error').textContent, ended: /ended by/.test(document.querySelector('#sample-meta').textContent) }))));
    out = { clients: N, wall_ms: wall, errors: res.filter((r) => r.error || !r.ended).length,
            tokens: res.map((r) => r.tokens), first_token_ms: res.map((r) => Math.round(r.t)) };
  }
  console.log(JSON.stringify(out));
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
})().catch((e) => { console.error(e); process.exit(1); });
