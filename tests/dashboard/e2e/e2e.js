// End-to-end test of `wattaudit serve` in Debian's headless Chromium, driven by playwright-core
// (which never downloads a browser here: executablePath points at /usr/bin/chromium).
//
//   node e2e.js WATTAUDIT CONFIG DATA_DIR STATUS_FILE ARTIFACT_DIR [CORR_CONFIG]
//
// Logs in, opens the largest finding and checks its chart and onset marker, switches to
// Chinese, visits a channel and its range picker, produces the savings report, prints it to
// PDF and downloads CSV and JSON.  With CORR_CONFIG (a site with its computers, written by
// dash_corr_fixture), a second server over it: the flagged addresses and their answers, a
// finding's and a channel's power against compute load (measured and explained power, the
// residual and its threshold, the fit and the hosts), both languages, the findings by class
// and the report's classes.  Screenshots and downloads stay in ARTIFACT_DIR.
// Exit 77 (ctest SKIP_RETURN_CODE) only when Chromium is missing.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const [wattaudit, config, dataDir, statusFile, outDir, corrConfig] = process.argv.slice(2);
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

// Every string of the pages in both languages (keys of www/i18n.js; "_one" forms are English's).
function checkStrings() {
  const vm = require('vm'), ctx = { window: {} };
  vm.runInNewContext(fs.readFileSync(path.join(__dirname, '../../../dashboard/www/i18n.js'), 'utf8'), ctx);
  const en = Object.keys(ctx.window.WA_STRINGS.en), zh = Object.keys(ctx.window.WA_STRINGS['zh-CN']);
  const missing = en.filter(k => !zh.includes(k) && !k.endsWith('_one')).concat(zh.filter(k => !en.includes(k)));
  check(missing.length === 0, `every string in English and Chinese (${en.length} keys)` + (missing.length ? ': missing ' + missing.join(', ') : ''));
}

async function startServer(usersFile, args0, log) {
  const args = args0.concat(['--users', usersFile, '--port', '0', '--log', path.join(outDir, log || 'requests.log')]);
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
  checkStrings();
  const { p: server, url } = await startServer(users, ['serve', '--config', config, '--data', dataDir, '--status', statusFile]);
  let server2 = null;
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

    // Findings, largest first; open the largest power finding.
    await page.click('#nav-findings');
    await page.waitForSelector('#findings-table');
    await page.click('a[data-sort="size"]');
    await page.waitForFunction(() => location.hash.includes('sort=size'));
    await page.waitForSelector('#findings-table .finding-row');
    const rows = await page.$$('#findings-table .finding-row');
    check(rows.length > 0, `the findings list has ${rows.length} rows`);
    await shot('02-findings');
    // The largest of the power findings (a correlation finding has no 95% interval).
    await page.$eval('#findings-table .finding-row[data-source="power"] a.finding-link', a => a.click());
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
    if (corrConfig) server2 = await corrPages(page, shot);
    check(consoleErrors.length === 0, 'no script or content-security errors: ' + consoleErrors.join('; '));
    console.log('screenshots and downloads in ' + outDir);
  } finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
    if (server2) server2.kill('SIGTERM');
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// The site with its computers, on a second server (its own users file and login).
async function corrPages(page, shot) {
  const users = path.join(outDir, 'users-corr');
  fs.rmSync(users, { force: true });
  execFileSync(wattaudit, ['useradd', '--users', users, '--role', 'officer', '--lang', 'en', 'inspector'],
    { input: 'e2e-password-2\n' });
  const { p, url } = await startServer(users, ['serve', '--config', corrConfig, '--status', ''], 'requests-corr.log');
  await page.emulateMedia({ media: 'screen' });
  await page.goto(url);
  await page.waitForSelector('#login-form');
  await page.fill('#user', 'inspector');
  await page.fill('#password', 'e2e-password-2');
  await page.click('#login-submit');
  await page.waitForSelector('.card.site');
  check(/5/.test(await page.textContent('.flagged-link')), 'the overview links to the site\'s 5 flagged addresses');

  // Flagged addresses: every one answered, the unmapped one too, each linked to its evidence.
  await page.click('.flagged-link');
  await page.waitForSelector('#flagged-table');
  const rows = await page.$$('#flagged-table .flagged-row');
  check(rows.length === 5, `the flagged-addresses page lists all 5 addresses (${rows.length})`);
  const cls = async ip => page.getAttribute(`#flagged-table tr[data-ip="${ip}"]`, 'data-class');
  check(await cls('10.0.2.1') === 'deliberate' && await cls('10.0.3.7') === 'deliberate' &&
    await cls('10.0.4.2') === 'passive' && await cls('10.0.1.1') === 'research',
  'each mapped address has its class: the hidden rig and the GPU node deliberate, the office PC passive, the research node research');
  check(await page.$('#flagged-table tr[data-ip="203.0.113.9"] .badge.unmapped') !== null, 'the address no host has is listed as unmapped');
  check((await page.$$('#flagged-table .evidence-link')).length === 4, 'each answered address links to its evidence');
  await shot('08-flagged');

  // The hidden rig's evidence: its residual against the compute load of the server it hides behind.
  await page.click('#flagged-table tr[data-ip="10.0.2.1"] .evidence-link');
  await page.waitForSelector('#compute-residual[data-loaded] svg');
  check((await page.textContent('#load-class')).includes('deliberate'), 'the finding shows its class with its reason');
  check(await page.$('#compute-power [data-line="explained"]') !== null, 'measured power is drawn against explained power');
  check(await page.$('#compute-residual [data-hline="threshold"] line') !== null, 'the residual is drawn with its threshold');
  check(await page.$('#compute-power [data-shade="ref"]') !== null, 'the fit\'s reference period is shaded');
  const mk = await page.$('#compute-residual [data-marker="onset"] line');
  const fr = await page.$eval('#compute-residual .chart-frame', r => [+r.getAttribute('x'), +r.getAttribute('width')]);
  const mx = +(await mk.getAttribute('x1'));
  check(mx > fr[0] && mx < fr[0] + fr[1], 'the onset marker lies inside the residual chart');
  check(await page.$('#hosts-table tr[data-host="srv0"]') !== null && (await page.textContent('#fit-stats')).includes('R²'),
    'the hosts\' table and the fit\'s statistics are shown');
  await shot('09-finding-residual');

  // The office floor's channel page: its PCs, their passive load, the compute-load charts.
  await page.goto(url + '#/channel/' + encodeURIComponent('lab/dist/l1'));
  await page.waitForSelector('#compute-residual[data-loaded] svg');
  await page.waitForSelector('#channel-findings-table');
  check((await page.$$('#hosts-table tr[data-host]')).length === 3, 'the channel page lists its 3 hosts');
  check((await page.$$('#channel-findings-table tr[data-class="passive"]')).length >= 3, 'the channel\'s findings are passive, with their reason');
  check(await page.$('#compute-power svg .chart-legend') !== null, 'the compute-load chart has its legend');
  await shot('10-channel-compute');

  // In Chinese.
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.waitForSelector('#compute-residual[data-loaded] svg');
  check((await page.textContent('#compute')).includes('功率对照计算负载'), 'the compute-load section is in Chinese');
  await shot('11-channel-compute-zh');
  await page.click('#nav-flagged');
  await page.waitForSelector('#flagged-table');
  const zh = await page.textContent('#flagged-table');
  check(zh.includes('未对应') && zh.includes('木马') && zh.includes('科研'), 'the flagged addresses and their classes are in Chinese');
  await shot('12-flagged-zh');

  // Findings by class: research only, every row research.
  await page.goto(url + '#/findings?load_class=research');
  await page.waitForSelector('#findings-table');
  const rs = await page.$$eval('#findings-table .finding-row', r => r.map(x => x.getAttribute('data-class')));
  check(rs.length >= 3 && rs.every(c => c === 'research'), `the findings filter by class (${rs.length} research findings)`);

  // The report: each finding with its class; research is explained, not a saving.
  await page.click('#nav-report');
  await page.waitForSelector('#report-form');
  await page.click('#produce');
  await page.waitForSelector('#class-table');
  check(await page.$('#class-table tr[data-class="research"][data-saving="explained"]') !== null &&
    await page.$('#class-table tr[data-class="research"][data-saving="yes"]') === null, 'the report marks research as explained, not a saving');
  check((await page.textContent('#class-note')).includes('科研'), 'the report says research loads are not savings');
  await shot('13-report-classes-zh');
  return p;
}

main().catch(e => { console.error('FAIL: ' + (e.stack || e)); process.exit(1); });
