// End-to-end test of `wattaudit serve` in Debian's headless Chromium, driven by playwright-core
// (which never downloads a browser here: executablePath points at /usr/bin/chromium).
//
//   node e2e.js WATTAUDIT CONFIG DATA_DIR STATUS_FILE ARTIFACT_DIR
//
// Logs in, opens the largest finding and checks its chart and onset marker, switches to
// Chinese, visits a channel and its range picker, produces the savings report, prints it to
// PDF and downloads CSV and JSON.  Screenshots and downloads stay in ARTIFACT_DIR.
// Exit 77 (ctest SKIP_RETURN_CODE) only when Chromium is missing.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [wattaudit, config, dataDir, statusFile, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node e2e.js WATTAUDIT CONFIG DATA_DIR STATUS_FILE ARTIFACT_DIR');
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} not found (apt-get install chromium); the end-to-end test needs it`);
  process.exit(77);
}
const { chromium } = require('playwright-core');

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function startServer(usersFile) {
  const args = ['serve', '--config', config, '--data', dataDir, '--status', statusFile,
    '--users', usersFile, '--port', '0', '--log', path.join(outDir, 'requests.log')];
  const p = spawn(wattaudit, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('serve did not announce its address')), 120000);
    p.stdout.on('data', d => {
      buf += d;
      const m = buf.match(/dashboard at (http\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    p.on('exit', code => reject(new Error('serve exited with ' + code)));
  });
  return { p, url };
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const users = path.join(outDir, 'users');
  fs.rmSync(users, { force: true });
  execFileSync(wattaudit, ['useradd', '--users', users, '--role', 'officer', '--lang', 'en', 'olivia'],
    { input: 'e2e-password-1\n' });
  const { p: server, url } = await startServer(users);
  const profile = fs.mkdtempSync('/tmp/wa-e2e-chromium-');
  let browser;
  const consoleErrors = [];
  try {
    // A fresh profile folder each run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
      acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: 'en-GB',
    });
    const page = browser.pages()[0] || await browser.newPage();
    // HTTP errors the test provokes (a wrong password, the absent utilisation series) are
    // logged as "Failed to load resource"; anything else is a script or CSP error.
    page.on('console', m => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
    });
    page.on('pageerror', e => consoleErrors.push(String(e)));
    const shot = name => page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });

    // Log in.
    await page.goto(url);
    await page.waitForSelector('#login-form');
    await page.fill('#user', 'olivia');
    await page.fill('#password', 'wrong-password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-form .error:not([hidden])');
    check((await page.textContent('#login-form .error')).includes('wrong'), 'a wrong password is refused with a message');
    await page.fill('#password', 'e2e-password-1');
    await page.click('#login-submit');
    await page.waitForSelector('.card.site');
    check(await page.isVisible('#nav-report'), 'an officer sees the report page in the menu');
    const kwhText = await page.textContent('.card.site .kpi-value');
    check(/\d/.test(kwhText), 'the overview shows the site\'s kWh: ' + kwhText.trim());
    check(await page.isVisible('.health'), 'the overview shows collection health');
    await shot('01-overview');

    // Findings, largest first; open it.
    await page.click('#nav-findings');
    await page.waitForSelector('#findings-table');
    await page.click('a[data-sort="size"]');
    await page.waitForFunction(() => location.hash.includes('sort=size'));
    await page.waitForSelector('#findings-table .finding-row');
    const rows = await page.$$('#findings-table .finding-row');
    check(rows.length > 0, `the findings list has ${rows.length} rows`);
    await shot('02-findings');
    await rows[0].$eval('a.finding-link', a => a.click());
    await page.waitForSelector('#finding-chart[data-loaded] svg');
    const marker = await page.$('#finding-chart [data-marker="onset"] line');
    check(marker !== null, 'the finding\'s chart has its onset marker');
    const onsetX = +(await marker.getAttribute('x1'));
    const frame = await page.$eval('#finding-chart .chart-frame', r => [+r.getAttribute('x'), +r.getAttribute('width')]);
    check(onsetX > frame[0] && onsetX < frame[0] + frame[1], 'the onset marker lies inside the plot');
    check(await page.$('#finding-chart .chart-line') !== null, 'the power line is drawn');
    check((await page.$$('#evidence tr')).length > 2, 'the evidence table lists the metrics');
    check((await page.textContent('#step-size')).includes('95%'), 'the step size comes with its interval');
    await shot('03-finding');

    // Switch to Chinese: the page, its numbers and dates follow.
    await page.click('#lang-toggle');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await page.waitForSelector('#finding-chart[data-loaded] svg');
    const nav = await page.textContent('#nav');
    check(nav.includes('发现') && nav.includes('节能报告'), 'the menu is in Chinese');
    const onsetZh = await page.textContent('#onset');
    check(/年|月/.test(onsetZh), 'dates are written the Chinese way: ' + onsetZh);
    await shot('04-finding-zh');

    // A channel, with the range picker.
    await page.click('h1 a');
    await page.waitForSelector('#chart-power[data-loaded] svg');
    await page.click('button[data-range="last_day"]');
    await page.waitForFunction(() => /from=\d+/.test(location.hash));
    await page.waitForSelector('#chart-power[data-loaded] svg .chart-line');
    await page.waitForSelector('#chart-energy[data-loaded] svg');
    await shot('05-channel-zh');

    // The savings report: produce, print to PDF, download CSV and JSON.
    await page.click('#nav-report');
    await page.waitForSelector('#report-form');
    await page.click('#produce');
    await page.waitForSelector('#statement');
    const stmt = await page.textContent('#statement');
    check(stmt.includes('千瓦时') || stmt.includes('没有'), 'the statement is in Chinese: ' + stmt);
    check((await page.$$('#figures tr')).length >= 3, 'the figures table has a row per site and a total');
    await shot('06-report-zh');
    await page.emulateMedia({ media: 'print' });
    await shot('07-report-print');
    check(!(await page.isVisible('#report-form')), 'the print stylesheet hides the form');
    await page.pdf({ path: path.join(outDir, 'report.pdf'), format: 'A4' });
    await page.emulateMedia({ media: 'screen' });
    for (const [id, name, test] of [['#download-csv', 'report.csv', s => s.startsWith('scope,')],
      ['#download-json', 'report.json', s => JSON.parse(s).schema === 'wattaudit.analysis/1']]) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(id)]);
      const file = path.join(outDir, name);
      await dl.saveAs(file);
      const text = fs.readFileSync(file, 'utf8');
      check(test(text), `the ${name} download is what it says (${dl.suggestedFilename()})`);
    }
    check(consoleErrors.length === 0, 'no script or content-security errors: ' + consoleErrors.join('; '));
    console.log('screenshots and downloads in ' + outDir);
  } finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch(e => { console.error('FAIL: ' + (e.stack || e)); process.exit(1); });
