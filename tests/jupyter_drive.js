// jupyter_drive.js — drives Jupyter Notebook in a headless Chromium as a
// user would, for tests/jupyter_check.py (which starts the mount, the jobs
// and the server, and reads what this prints).
//
// Usage: node jupyter_drive.js CONFIG.json
// CONFIG: {playwright, chromium, base, token, mnt, done_job, query_name,
//          slow_job, notebook, out}
// Prints one line per check ("ok   what" / "FAIL what: detail") and exits
// 0 when every check passed, 1 otherwise.  Every wait is a bounded poll of
// a condition (the page, or the mount's files), never a sleep taken as a
// check.
'use strict';
const fs = require('fs');
const path = require('path');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(cfg.playwright);
const LIMIT = 60000; // ms: a generous bound for anything on a loaded machine
let failed = 0;

function check(ok, what, detail) {
  if (ok) {
    console.log('ok   ' + what);
  } else {
    failed++;
    console.log('FAIL ' + what + (detail !== undefined ? ': ' + String(detail).slice(0, 1500) : ''));
  }
  return ok;
}

function readJob(n, file) {
  try {
    return fs.readFileSync(path.join(cfg.mnt, 'jobs', String(n), file), 'utf8');
  } catch (e) {
    return '';
  }
}

function jobNumbers() {
  return fs.readdirSync(path.join(cfg.mnt, 'jobs')).filter((d) => /^\d+$/.test(d)).map(Number);
}

// Poll fn() (sync or async) until it returns something truthy, at most ms.
async function until(fn, ms = LIMIT, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    let v;
    try {
      v = await fn();
    } catch (e) {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, step));
  }
}

function url(p) {
  return cfg.base + p + (p.includes('?') ? '&' : '?') + 'token=' + cfg.token;
}

// The file browser: jobs/N/ lists the job's files; its hist/ the plots;
// clicking an SVG opens it, served as an image.
async function browseJob(ctx, page) {
  const n = String(cfg.done_job);
  await page.goto(url('/tree/jobs'));
  const link = page.locator('#notebook_list .list_item a.item_link', {
    has: page.locator('span.item_name', { hasText: new RegExp('^' + n + '$') }),
  });
  await link.first().click({ timeout: LIMIT });
  await page.waitForURL(new RegExp('/tree/jobs/' + n + '$'), { timeout: LIMIT });
  const names = await until(async () => {
    const t = await page.locator('#notebook_list span.item_name').allTextContents();
    return t.includes('summary') ? t : undefined;
  });
  const want = ['hist', 'hist.json', 'summary', 'cutflow', 'progress', 'status', 'query'];
  check(names && want.every((w) => names.includes(w)),
    'the file browser lists jobs/' + n + '/ (hist, hist.json, summary, ...)', names);
  await page.locator('#notebook_list a.item_link', {
    has: page.locator('span.item_name', { hasText: /^hist$/ }),
  }).first().click();
  await page.waitForURL(new RegExp('/tree/jobs/' + n + '/hist$'), { timeout: LIMIT });
  const svgLink = page.locator('#notebook_list a.item_link', {
    has: page.locator('span.item_name', { hasText: /^met\.svg$/ }),
  }).first();
  await svgLink.waitFor({ timeout: LIMIT });
  const [view] = await Promise.all([ctx.waitForEvent('page', { timeout: LIMIT }), svgLink.click()]);
  const served = await until(async () => {
    const r = await view.request.get(url('/files/jobs/' + n + '/hist/met.svg'));
    const body = await r.text();
    return r.ok() && /svg/.test(r.headers()['content-type'] || '') && body.includes('<svg') ? r : undefined;
  });
  check(served, 'met.svg is served as an SVG image');
  const shown = await until(() => view.evaluate(() => {
    const im = document.querySelector('img');
    if (im) return im.complete && im.naturalWidth > 0 ? 'img ' + im.naturalWidth : undefined;
    const svg = document.querySelector('svg');
    return svg ? 'svg' : undefined;
  }));
  check(shown, 'opening met.svg from the file browser shows the plot', view.url());
  await view.close();
}

// The editor: open NAME.query, change it, save; the save submits a job.
async function editQuery(page) {
  const before = Math.max(...jobNumbers());
  const name = cfg.query_name;
  await page.goto(url('/edit/jobs/' + name + '.query'));
  const cm = page.locator('.CodeMirror').first();
  await cm.waitFor({ timeout: LIMIT });
  const text = await until(async () => {
    const t = await page.evaluate(() => {
      const el = document.querySelector('.CodeMirror');
      return el && el.CodeMirror ? el.CodeMirror.getValue() : '';
    });
    return t.includes('dataset') ? t : undefined;
  });
  check(text, 'the editor opens jobs/' + name + '.query with its text', text);
  await cm.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('# saved from the Jupyter editor\n');
  await page.keyboard.press('Control+s');
  const job = await until(() => jobNumbers().find((j) => j > before &&
    readJob(j, 'query').includes('# saved from the Jupyter editor')));
  check(job, 'saving the query in the editor makes a new job', jobNumbers());
  if (job) {
    const link = fs.readlinkSync(path.join(cfg.mnt, 'jobs', name));
    check(link === String(job), 'jobs/' + name + ' points at the new job', link);
    const st = await until(() => ['done', 'failed', 'invalid'].find((s) => readJob(job, 'status').trim() === s));
    check(st === 'done', 'the saved query runs to done', st + ' ' + readJob(job, 'error'));
  }
  // Saved: the dirty indicator turns clean, no dialog ("File changed",
  // an error) opens, and the editor keeps the text it saved.
  const clean = await until(async () => await page.locator('.dirty-indicator-clean').count() > 0);
  const dialogs = await page.locator('.modal-dialog:visible').allTextContents();
  const kept = await page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.getValue());
  check(clean && dialogs.length === 0 && kept.includes('# saved from the Jupyter editor'),
    'the editor shows the file saved, no dialog, its text kept', dialogs.join(' | '));
}

async function pngOf(loc) {
  return loc.screenshot({ timeout: LIMIT });
}

// A notebook cell running Job(...).live(): the plot drawn while the job
// is paused, then changed after it ran a while, the cell ending when the
// job ends.
async function liveCell(page) {
  const job = cfg.slow_job;
  const ctl = (c) => fs.writeFileSync(path.join(cfg.mnt, 'jobs', String(job), 'ctl'), c + '\n');
  const progress = () => JSON.parse(readJob(job, 'progress.json') || '{}');
  await page.goto(url('/notebooks/' + cfg.notebook));
  const ready = await until(() => page.evaluate(() => window.Jupyter && Jupyter.notebook &&
    Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() &&
    Jupyter.notebook.kernel.info_reply && Jupyter.notebook.kernel.info_reply.status === 'ok'));
  check(ready, 'the notebook opens with its kernel connected');
  await page.locator('.cell .input_area').first().click();
  await page.keyboard.press('Shift+Enter');
  const img = page.locator('.cell').first().locator('.output_area img').first();
  await img.waitFor({ timeout: LIMIT });
  await until(() => img.evaluate((e) => e.complete && e.naturalWidth > 0));
  const bar = page.locator('.cell').first().locator('.anafs-progress').first();
  check(await bar.count() === 1 && /paused/.test(await bar.textContent()),
    'live() draws the plots and the progress of the paused job', await bar.textContent().catch(() => ''));
  const a = await pngOf(img);
  const srcA = await img.getAttribute('src');
  const merged0 = progress().tasks_done || 0;
  ctl('resume');
  const moved = await until(() => (progress().tasks_done || 0) > merged0, LIMIT, 20);
  ctl('pause');
  check(moved, 'the job merges tasks once resumed', JSON.stringify(progress()));
  // The display follows within its interval: the plot's SVG and its
  // pixels change (compared once the new image has loaded).
  const b = await until(async () => {
    const src = await img.evaluate((e) => e.complete && e.naturalWidth > 0 && e.src);
    if (!src || src === srcA) return undefined;
    const shot = await pngOf(img);
    return Buffer.compare(shot, a) !== 0 ? shot : undefined;
  }, LIMIT, 250);
  const st = readJob(job, 'status').trim();
  check(b, 'the plot in the cell changes while the job runs (two screenshots differ)');
  check(!['done', 'failed', 'cancelled'].includes(st), 'the job was not over at the second screenshot', st);
  const cell = page.locator('.cell').first();
  await until(async () => /running|paused/.test(await bar.textContent()));
  const shotFile = path.join(cfg.out, 'jupyter-live.png');
  await cell.screenshot({ path: shotFile, timeout: LIMIT });
  ctl('cancel');
  const ended = await until(async () => {
    const p = await cell.locator('.input_prompt').first().textContent();
    return /\[\d+\]/.test(p) && /cancelled/.test(await bar.textContent()) ? p : undefined;
  });
  check(ended, 'the cell ends when the job ends (cancelled)', await cell.locator('.input_prompt').first().textContent());
  const errs = await cell.locator('.output_error').count();
  check(errs === 0, 'the cell raised nothing', await cell.locator('.output_error').allTextContents());
  fs.writeFileSync(path.join(cfg.out, 'png-a.png'), a);
  if (b) fs.writeFileSync(path.join(cfg.out, 'png-b.png'), b);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    headless: true,
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await ctx.newPage();
    for (const step of [browseJob, editQuery, liveCell]) {
      console.log('--- ' + step.name);
      try {
        await (step === browseJob ? step(ctx, page) : step(page));
      } catch (e) {
        check(false, step.name + ' raised', e && e.stack ? e.stack : e);
      }
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log('FAIL the driver raised: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
