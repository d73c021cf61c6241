// tests/studio/e2e.js URL SHOTS_DIR: the studio end to end in Debian's headless chromium
// (puppeteer-core from cache/studio-node): the page opens with the token, a checkpoint is picked,
// tokens arrive coloured, a prompt of <script> stays text, compare streams 3 columns, a
// weave is composed (blend included) and kept, the sweep grid flags and fills cells, kept
// texts download; a screenshot of each view. Prints "ok - ..." lines for tests/run.sh.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const puppeteer = require(path.resolve(__dirname, '../../cache/studio-node/node_modules/puppeteer-core'));

const [url, shots, slowUrl] = process.argv.slice(2);
let failures = 0;
function check(cond, what) {
  console.log((cond ? 'ok - ' : 'not ok - ') + what);
  if (!cond) failures++;
}

async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--user-data-dir=' + profile, '--window-size=1360,900'],
  });
  return { browser, profile };
}

async function clickTab(page, view) {
  await page.click(`#tabs button[data-view="${view}"]`);
  await page.waitForSelector(`#view-${view}.on`);
}
async function pickMoments(page, steps) {   // makes exactly these moments selected in the view
  const on = await page.$$eval('.moment.on', (b) => b.map((x) => Number(x.dataset.step)));
  for (const s of on) if (!steps.includes(s)) await page.click(`.moment[data-step="${s}"]`);
  for (const s of steps) if (!on.includes(s)) await page.click(`.moment[data-step="${s}"]`);
}
async function setValue(page, sel, v) {
  await page.$eval(sel, (e, v) => { e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); }, String(v));
}
const settle = () => new Promise((r) => setTimeout(r, 700));   // the arrival highlight fades
async function shot(page, name) {
  await settle();
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const { browser, profile } = await launch();
  const page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 900 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => { if (!r.url().includes('/api/generate')) errors.push('request failed: ' + r.url()); });
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(new URL(url).origin)) outside.push(r.url()); });

  // without the token: 403
  const bare = await page.goto(new URL(url).origin + '/');
  check(bare.status() === 403, 'the page without the token: 403');

  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  check(!page.url().includes('token='), 'the token left the address bar (redirected to /)');
  const cookies = await page.cookies();
  check(cookies.some((c) => c.name.startsWith('palimpsest_studio_') && c.httpOnly && c.sameSite === 'Strict'),
        'an HttpOnly SameSite=Strict cookie holds the token');
  const n = await page.$$eval('.moment', (m) => m.length);
  check(n === 4, 'the timeline shows the 4 checkpoints');
  check(await page.$$eval('#chart-train polyline.series', (p) => p.length) === 1, 'the training loss curve is drawn');
  check(await page.$$eval('#chart-val circle', (p) => p.length) === 8, 'validation points of both sources (8)');
  check(await page.$$eval('#chart-train rect.band', (p) => p.length) === 3, 'the curriculum spans are tinted (3)');
  check(await page.$$eval('#ckpt-table tr', (r) => r.length) === 5, 'the checkpoint table: 4 rows and a header');
  await page.click('.moment[data-step="8"]');
  check(await page.$eval('#ckpt-table tr.on td:nth-child(2)', (t) => t.textContent) === '8', 'clicking a moment selects it');
  await shot(page, 'run');

  // sample: tokens arrive coloured; <script> stays text
  await clickTab(page, 'sample');
  await pickMoments(page, [12]);
  await setValue(page, '#prompt', '<script>window.pwned=1</script> The sea');
  await setValue(page, '#length', 40);
  await setValue(page, '#seed', 7);
  await setValue(page, '#temperature', 0.9);
  await page.click('#go');
  await page.waitForFunction(() => !document.querySelector('#sample-keep').disabled, { timeout: 30000 });
  const toks = await page.$$eval('#sample-out .tok', (t) => t.map((x) => [x.textContent, x.style.backgroundColor, x.dataset.p]));
  check(toks.length > 0 && toks.length <= 40, `tokens arrived (${toks.length})`);
  check(toks.every((t) => t[1] && t[1] !== 'rgba(0, 0, 0, 0)'), 'every token is coloured by its writer');
  check(toks.every((t) => Number(t[2]) > 0 && Number(t[2]) <= 1), 'every token carries its probability');
  check(await page.evaluate(() => window.pwned === undefined && !document.querySelector('#sample-out script')),
        'a prompt of <script> ran nothing');
  check((await page.$eval('#sample-out .prompt-text', (e) => e.textContent)).startsWith('<script>'), 'and shows as text');
  await page.hover('#sample-out .tok');
  const tip = await page.$eval('#tip', (t) => t.textContent);
  check(/checkpoint-12/.test(tip) && /probability/.test(tip), 'hovering a token shows its checkpoint and probability: ' + tip);
  await page.click('#view-sample .surprise input');
  check(await page.$eval('#sample-out', (o) => o.classList.contains('by-prob') &&
        getComputedStyle(o.querySelector('.tok')).boxShadow.includes('inset')), 'surprising tokens can be marked');
  await page.click('#sample-keep');
  await page.waitForFunction(() => document.querySelector('#sample-keep').classList.contains('kept'), { timeout: 10000 });
  check(true, 'the sample is kept');
  await page.mouse.move(5, 5);
  await shot(page, 'sample');

  // compare: 3 moments side by side
  await clickTab(page, 'compare');
  await pickMoments(page, [0, 4, 12]);
  await setValue(page, '#length', 40);
  await page.click('#go');
  await page.waitForFunction(() => document.querySelectorAll('#compare-out .keep:not([disabled])').length === 3, { timeout: 30000 });
  const cols = await page.$$eval('#compare-out .column', (c) => c.map((x) => x.querySelectorAll('.tok').length));
  check(cols.length === 3 && cols.every((k) => k > 0), 'compare: three columns streamed together ' + JSON.stringify(cols));
  await shot(page, 'compare');

  // weave: 3 moments, cycle; tokens coloured by writer; then a blend and an interpolation
  await clickTab(page, 'weave');
  await pickMoments(page, [0, 8, 12]);
  await page.select('#schedule', 'cycle');
  await setValue(page, '#length', 60);
  await page.click('#go');
  await page.waitForFunction(() => !document.querySelector('#weave-keep').disabled, { timeout: 30000 });
  const wt = await page.$$eval('#weave-out .tok', (t) => t.map((x) => [x.dataset.voice, x.style.backgroundColor]));
  const voices = new Set(wt.map((t) => t[0])), colours = new Set(wt.map((t) => t[1]));
  check(wt.length > 0 && voices.size === Math.min(3, wt.length), `the weave has ${voices.size} writers over ${wt.length} tokens`);
  check(colours.size === voices.size, 'each writer its colour');
  check(await page.$$eval('#weave-legend .chip', (c) => c.length) === 3, 'the legend names the 3 moments');
  check(await page.$$eval('#weave-strip span', (s) => s.length) === wt.length, 'the strip shows who wrote each token');
  await page.click('#weave-keep');
  await page.waitForFunction(() => document.querySelector('#weave-keep').classList.contains('kept'), { timeout: 10000 });
  check(true, 'the weave is kept');
  await page.click('#add-blend');
  await page.click('#add-interp');
  await page.click('#context button[data-v="own"]');
  await page.click('#go');
  await page.waitForFunction(() => !document.querySelector('#weave-keep').disabled, { timeout: 30000 });
  const chips = await page.$$eval('#weave-legend .chip', (c) => c.map((x) => x.textContent));
  check(chips.length === 2 && /^blend of steps 0 \(50%\) \+ 12 \(50%\)/.test(chips[0]) && /^weights of steps/.test(chips[1]), 'blend and interpolation write the weave: ' + chips.join(' / '));
  await shot(page, 'weave');

  // sweep: the file's grid, degenerate cells flagged, a missing cell generated on click
  await clickTab(page, 'sweep');
  await page.waitForFunction(() => document.querySelectorAll('#sweep-grid td.cell').length === 12, { timeout: 10000 });
  const missing = await page.$$eval('#sweep-grid td.cell.missing', (c) => c.length);
  check(missing === 6, 'sweep: 4 checkpoints x 3 temperatures, 6 cells not in the file');
  const flagged = await page.$$eval('#sweep-grid .flag', (f) => f.length);
  const expectFlags = Number(process.env.SWEEP_DEGENERATE || -1);
  check(flagged === expectFlags && flagged > 0, `degenerate cells flagged as in the file (${flagged} of ${expectFlags})`);
  check(await page.$$eval('#sweep-grid td.cell.degenerate', (c) => c.length) === expectFlags, 'and their cells tinted');
  await page.click('#sweep-grid td.cell.missing');
  await page.waitForFunction(() => document.querySelectorAll('#sweep-grid td.cell.missing').length === 5 &&
                                  !document.querySelector('#sweep-grid td.writing'), { timeout: 30000 });
  check(await page.$$eval('#sweep-grid .measures', (m) => m.length) === 7, 'the clicked cell was written, with its measures');
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  await clickTab(page, 'sweep');
  await page.waitForFunction(() => document.querySelectorAll('#sweep-grid .measures').length === 7, { timeout: 10000 });
  check(true, 'and it is still there after a reload (RUN/studio/cells.jsonl)');
  await shot(page, 'sweep');

  // kept: the texts, their commands, downloads
  await clickTab(page, 'kept');
  await page.waitForFunction(() => document.querySelectorAll('.kept-card').length >= 2, { timeout: 10000 });
  const cards = await page.$$eval('.kept-card', (c) => c.length);
  check(cards === 2, 'kept: the sample and the weave');
  check((await page.$eval('.kept-card .cmd', (c) => c.textContent)).includes('palimpsest weave'), 'each with the command that writes it');
  await setValue(page, '#dl-width', 30);
  await setValue(page, '#dl-page', 60);
  await page.waitForFunction(() => { const a = document.querySelector('.kept-card .dl a[data-format="text"]');
                                      return a && a.href.includes('width=30') && a.href.includes('page_width=60'); }, { timeout: 10000 });
  const href = await page.$eval('.kept-card .dl a[data-format="text"]', (a) => a.href);
  const txt = await page.evaluate((h) => fetch(h).then((r) => r.text()), href);
  const lines = txt.split('\n').filter((l) => l.trim());
  check(lines.length > 1 && lines.every((l) => l.startsWith(' ') && [...l.trim()].filter((c) => c >= ' ').length <= 30), 'downloaded text wrapped at 30 and centred in 60: ' + JSON.stringify(lines.slice(0, 3)));
  const hhref = await page.$eval('.kept-card .dl a[data-format="html"]', (a) => a.href);
  const html = await page.evaluate((h) => fetch(h).then((r) => r.text()), hhref);
  check(html.startsWith('<!DOCTYPE html>') || html.startsWith('<!doctype html>'), 'downloaded page is HTML');
  await shot(page, 'kept');

  // stop, on a studio over a slower model: the button stops the work on the server
  if (slowUrl) {
    const sp = await browser.newPage();
    sp.on('pageerror', (e) => errors.push(String(e)));
    await sp.goto(slowUrl);
    await sp.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    await clickTab(sp, 'sample');
    await setValue(sp, '#length', 1000);
    await sp.$eval('#ignore_eot', (e) => { e.checked = true; });
    await sp.click('#go');
    await sp.waitForFunction(() => document.querySelectorAll('#sample-out .tok').length > 0, { timeout: 60000 });
    check(await sp.$eval('#stop-btn', (b) => !b.disabled), 'while it writes, Stop is enabled');
    await sp.click('#stop-btn');
    await sp.waitForFunction(() => !window.studio.gen, { timeout: 60000 });
    const meta = await sp.$eval('#sample-meta', (m) => m.textContent);
    const got = await sp.$$eval('#sample-out .tok', (t) => t.length);
    check(/ended by stopped/.test(meta) && got < 1000, `Stop ended it on the server: ${meta}`);
    check(await sp.$eval('#sample-keep', (b) => !b.disabled), 'a stopped text can be kept');
    await sp.close();
  }

  // a small view for the README: the weave, in a laptop-sized window
  await clickTab(page, 'weave');
  while (await page.$('#mixes .mix button')) await page.click('#mixes .mix button');
  await page.click('#context button[data-v="shared"]');
  await pickMoments(page, [0, 4, 8, 12]);
  await page.select('#schedule', 'timelapse');
  await setValue(page, '#prompt', 'The harbour at night');
  await setValue(page, '#length', 90);
  await page.click('#go');
  await page.waitForFunction(() => !document.querySelector('#weave-keep').disabled, { timeout: 30000 });
  await page.setViewport({ width: 1180, height: 720, deviceScaleFactor: 0.75 });
  await page.mouse.move(5, 5);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, 'readme.png') });

  check(outside.length === 0, 'the page asked nothing of any other address ' + outside.slice(0, 3).join(' '));
  check(errors.length === 0, 'no script errors ' + errors.slice(0, 3).join(' | '));
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.log('not ok - the browser run failed: ' + (e && e.stack || e)); process.exit(1); });
