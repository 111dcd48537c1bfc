// Browser test of the tax-hall dashboard, driven by the Rust test
// `tests/integration/browser.rs`: Debian's chromium through playwright-core.
// The Rust side controls the kiosks; this side is the member of staff. They take turns:
// this script prints `STEP name` when it has seen something and waits for `GO` on
// standard input before the next step. Any failure exits non-zero with the reason.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

const base = process.env.HALL_URL;
const user = process.env.HALL_USER;
const pass = process.env.HALL_PASS;
const shots = process.env.SHOTS;
const kiosk = process.env.KIOSK;
const ticket = process.env.TICKET;
mkdirSync(shots, { recursive: true });

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name) {
  console.log(`STEP ${name}`);
  const { value, done } = await lines.next();
  if (done || value.trim() !== 'GO') throw new Error(`no GO after ${name}`);
}

const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'hall-e2e-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--no-first-run', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1440, height: 900 },
  locale: 'zh-CN',
});
const errors = [];
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // Log in: the dashboard is behind the login page.
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.fill('input[name=name]', user);
  await page.fill('input[name=password]', pass);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#live[data-state=open]', { timeout: 10000 });
  const tile = `#k-${kiosk}`;
  await page.waitForSelector(`${tile}:not([data-tone=offline])`, { timeout: 10000 });
  await step('ready');

  // The kiosk loses power: the tile turns offline and the alert appears, live.
  await page.waitForSelector(`${tile}[data-tone=offline]`, { timeout: 20000 });
  const row = `tr[data-kind=offline][data-kiosk="${kiosk}"]`;
  await page.waitForSelector(row, { timeout: 20000 });
  await page.screenshot({ path: join(shots, 'dashboard-offline.png'), fullPage: true });
  await step('offline-seen');

  // It comes back: the tile turns live again without a reload.
  await page.waitForSelector(`${tile}:not([data-tone=offline])`, { timeout: 20000 });
  await page.waitForSelector(`${row}.cleared`, { timeout: 20000 });
  // Acknowledge the offline alert.
  await Promise.all([page.waitForLoadState('load'), page.click(`${row} button.ack`)]);
  await page.waitForSelector(`${row} .pill:has-text("acked by ${user}")`, { timeout: 10000 });
  await page.waitForSelector('#live[data-state=open]', { timeout: 10000 });
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
  await step('acked');

  // Counter 5 calls the next ticket; the call board shows it.
  await page.goto(`${base}/queue?counter=5`);
  await Promise.all([page.waitForLoadState('load'), page.click('#call-next')]);
  const serving = (await page.textContent('#serving')).trim();
  if (serving !== ticket) throw new Error(`counter 5 serves ${serving}, expected ${ticket}`);
  await page.screenshot({ path: join(shots, 'queue.png'), fullPage: true });

  const board = await ctx.newPage();
  board.on('pageerror', (e) => errors.push(String(e)));
  await board.setViewportSize({ width: 1920, height: 1080 });
  await board.goto(`${base}/board`);
  await board.waitForSelector(`#latest .num:has-text("${ticket}")`, { timeout: 10000 });
  await board.click('#voice');
  // A second call while the board is open arrives live and is announced.
  await page.goto(`${base}/queue?counter=6`);
  await Promise.all([page.waitForLoadState('load'), page.click('#call-next')]);
  const second = (await page.textContent('#serving')).trim();
  await board.waitForSelector(`body[data-spoken="${second}"]`, { timeout: 10000 });
  await board.waitForSelector(`#latest .num:has-text("${second}")`, { timeout: 10000 });
  await board.screenshot({ path: join(shots, 'board.png') });

  await page.goto(`${base}/figures`);
  await page.waitForSelector('svg.goal');
  await page.screenshot({ path: join(shots, 'figures.png'), fullPage: true });
  await page.goto(`${base}/kiosks/${kiosk}`);
  await page.waitForSelector('table.events');
  await page.screenshot({ path: join(shots, 'kiosk.png'), fullPage: true });

  if (errors.length) throw new Error(`page errors: ${errors.join(' | ')}`);
  console.log('STEP done');
  await ctx.close();
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e && e.stack || e}`);
  try { await ctx.close(); } catch (_) { /* already gone */ }
  process.exit(1);
}
