/**
 * The web UI in headless Chromium against a faked API: a loopback server serves the built UI (with
 * the node's CSP) and a controllable SSE stream; `page.route` answers the rest of `/api/` and records
 * what the page sent. Checks login by fragment, the live list, adding, errors, sharing, pause and
 * remove, the piece map, choosing files, verifying, the network page, and that nothing logs an error or breaks the CSP.
 * Screenshots go to test-artifacts/web/. Skipped when /usr/bin/chromium is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TorrentSummary } from '../../src/node/view-types.js';
import { chromiumMissing, launchBrowser } from './browser.js';
import { FakeApi, IDS, NODE_ID, sampleState, startUiServer, type UiServer } from './fake-api.js';

const TOKEN = 'T0ken-for-the-ui-test_123';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/web/', import.meta.url));
/** The 400, 401 and 409 answers the tests provoke, and the test's own canvas readbacks. */
const ALLOWED_CONSOLE = /^(Failed to load resource: the server responded with a status of (400|401|409)\b|Canvas2D: Multiple readback operations)/;

const row = (id: string) => `[data-testid=torrent-row][data-id="${id}"]`;

/** Collects console errors/warnings, CSP violations and uncaught errors of a page. */
function watch(page: Page, problems: string[]): void {
  page.on('console', (message) => {
    const text = message.text();
    if ((message.type() === 'error' || message.type() === 'warning') && !ALLOWED_CONSOLE.test(text)) {
      problems.push(`console ${message.type()}: ${text}`);
    } else if (/Content Security Policy/i.test(text)) {
      problems.push(`CSP: ${text}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
}

/**
 * Polls a page expression until it is truthy. (`page.waitForFunction` evaluates its predicate with
 * eval inside the page, which the UI's CSP rightly refuses; `page.evaluate` goes through the
 * DevTools protocol instead.)
 */
async function until(page: Page, expression: string, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await page.evaluate<unknown>(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

/** Sum of the piece map's pixels: changes when any cell is redrawn in another colour. */
function canvasChecksum(page: Page): Promise<number> {
  return page.evaluate<number>(`(() => {
    const canvas = document.querySelector('[data-testid=piece-map]');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum = (sum + data[i] * (i % 251 + 1)) % 2147483647;
    return sum;
  })()`);
}

function firstMissingPiece(base64: string, count: number): number {
  const bytes = Buffer.from(base64, 'base64');
  for (let i = 0; i < count; i++) if (!(bytes[i >> 3]! & (0x80 >> (i & 7)))) return i;
  return -1;
}

describe('web UI against a faked API', { skip: chromiumMissing() }, () => {
  let server: UiServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let fake: FakeApi;
  const problems: string[] = [];

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    [server, browser] = await Promise.all([startUiServer(TOKEN), launchBrowser()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    watch(page, problems);
    fake = new FakeApi(sampleState(TOKEN));
    await fake.install(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('takes the token from the fragment, uses it, and removes it from the address bar', async () => {
    await page.goto(`${server.url}/#token=${encodeURIComponent(TOKEN)}`);
    await page.locator('[data-testid=torrent-row]').first().waitFor();
    assert.equal(page.url(), `${server.url}/#/`);
    assert.equal(await page.evaluate<string | null>(`sessionStorage.getItem('warren-token')`), TOKEN);
    const list = fake.sent('GET', '/api/torrents');
    assert.ok(list.length >= 1);
    for (const request of fake.requests) assert.equal(request.authorization, `Bearer ${TOKEN}`, `${request.method} ${request.path}`);
    await page.locator('[data-testid=connection][data-state=connected]').waitFor();
    assert.deepEqual([...new Set(server.eventTokens)], [TOKEN]);
    // Header totals come from GET /api/node.
    assert.match(await page.locator('[data-testid=total-down]').innerText(), /3\.2 MiB\/s/);
  });

  test('lists the torrents and follows added, removed and torrents events', async () => {
    const rows = page.locator('[data-testid=torrent-row]');
    assert.equal(await rows.count(), fake.state.torrents.length);
    assert.equal(await page.locator(`${row(IDS.debian)} [data-testid=torrent-state]`).innerText(), 'Downloading');
    assert.equal(await page.locator(`${row(IDS.debian)} [data-testid=torrent-progress]`).getAttribute('data-value'), '0.4200');
    await page.screenshot({ path: `${ARTIFACTS}/desktop-list.png`, fullPage: true });

    const debian = fake.state.torrents.find((t) => t.id === IDS.debian)!;
    const arch = fake.state.torrents.find((t) => t.id === IDS.arch)!;
    server.send({ type: 'torrents', torrents: [{ ...debian, progress: 0.55, bytesHad: debian.totalLength * 0.55 }, { ...arch, state: 'downloading' }] });
    await page.locator(`${row(IDS.debian)} [data-testid=torrent-progress][data-value="0.5500"]`).waitFor();
    await page.locator(`${row(IDS.arch)} [data-testid=torrent-state][data-state=downloading]`).waitFor();
    assert.equal(await page.locator(`${row(IDS.debian)} [data-testid=torrent-percent]`).innerText(), '55.0%');

    const extra: TorrentSummary = { ...debian, id: 'e'.repeat(40), name: 'from-an-event', addedAt: Date.now() };
    server.send({ type: 'added', torrent: extra });
    await page.locator(row(extra.id)).waitFor();
    assert.equal(await rows.first().getAttribute('data-id'), extra.id, 'newest first');
    server.send({ type: 'removed', id: extra.id });
    await page.locator(row(extra.id)).waitFor({ state: 'detached' });
  });

  test('reconnects the event stream and refetches the list', async () => {
    const before = fake.sent('GET', '/api/torrents').length;
    server.dropEventClients();
    await page.locator('[data-testid=connection][data-state=reconnecting]').waitFor();
    await page.locator('[data-testid=connection][data-state=connected]').waitFor();
    await until(page, `document.querySelectorAll('[data-testid=torrent-row]').length > 0`);
    assert.ok(fake.sent('GET', '/api/torrents').length > before, 'list refetched after the reconnect');
  });

  test('adds a magnet link with the right JSON', async () => {
    const id = '0123456789abcdef0123456789abcdef01234567';
    const magnet = `magnet:?xt=urn:btih:${id}&dn=Added+by+test`;
    await page.locator('[data-testid=add-input]').fill(magnet);
    await page.locator('[data-testid=add-submit]').click();
    await page.locator(row(id)).waitFor();
    const posts = fake.sent('POST', '/api/torrents');
    const last = posts[posts.length - 1]!;
    assert.match(last.contentType ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(last.body!.toString()), { magnet });
    assert.equal(await page.locator('[data-testid=add-input]').inputValue(), '');
    assert.equal(await page.locator(`${row(id)} [data-testid=torrent-name]`).innerText(), 'Added by test');

    await page.locator('[data-testid=add-input]').fill(IDS.ubuntu.toUpperCase());
    await page.locator('[data-testid=add-submit]').click();
    await until(page, `document.querySelector('[data-testid=add-input]').value === ''`);
    const again = fake.sent('POST', '/api/torrents');
    assert.deepEqual(JSON.parse(again[again.length - 1]!.body!.toString()), { infoHash: IDS.ubuntu.toUpperCase() });
  });

  test('shows an API error inline', async () => {
    const error = page.locator('[data-testid=error]');
    assert.equal(await error.isVisible(), false);
    await page.locator('[data-testid=add-input]').fill('magnet:?xt=urn:btih:not-a-hash');
    await page.locator('[data-testid=add-submit]').click();
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /bad magnet link: no xt=urn:btih infohash/);
    await page.screenshot({ path: `${ARTIFACTS}/desktop-error.png` });
    await error.getByRole('button', { name: 'Dismiss' }).click();
    await error.waitFor({ state: 'hidden' });
  });

  test('opens a .torrent file and shares a file, showing its magnet link', async () => {
    const torrentBytes = Buffer.from('d8:announce0:4:infod4:name1:aee');
    await page.locator('[data-testid=torrent-file-input]').setInputFiles({ name: 'x.torrent', mimeType: 'application/x-bittorrent', buffer: torrentBytes });
    await until(page, `[...document.querySelectorAll('[data-testid=torrent-name]')].some((a) => a.textContent === 'from-a-file')`);
    const posts = fake.sent('POST', '/api/torrents');
    const raw = posts[posts.length - 1]!;
    assert.equal(raw.contentType, 'application/x-bittorrent');
    assert.deepEqual(raw.body, torrentBytes);

    const bytes = Buffer.from('hello from the share test\n'.repeat(100));
    await page.locator('[data-testid=share-file-input]').setInputFiles({ name: 'holiday notes #1.txt', mimeType: 'text/plain', buffer: bytes });
    const magnet = page.locator('[data-testid=share-magnet]');
    await magnet.waitFor();
    assert.match(await magnet.inputValue(), /^magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=holiday%20notes%20%231\.txt$/);
    const share = fake.sent('POST', '/api/share')[0]!;
    assert.equal(share.search, `?name=${encodeURIComponent('holiday notes #1.txt')}`);
    assert.equal(share.contentType, 'application/octet-stream');
    assert.deepEqual(share.body, bytes);
    await page.locator('[data-testid=copy-magnet]').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/desktop-shared.png`, fullPage: true });

    // A file dropped anywhere on the list page is shared too.
    const dataTransfer = await page.evaluateHandle(`(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped bytes'], 'dropped.bin'));
      return data;
    })()`);
    await page.dispatchEvent('[data-testid=torrent-list]', 'dragenter', { dataTransfer });
    await page.locator('[data-testid=add-box].dragging').waitFor();
    await page.dispatchEvent('[data-testid=torrent-list]', 'drop', { dataTransfer });
    await page.locator('[data-testid=add-box]:not(.dragging)').waitFor();
    await until(page, `document.querySelector('[data-testid=share-magnet]')?.value.endsWith('&dn=dropped.bin')`);
    const dropped = fake.sent('POST', '/api/share')[1]!;
    assert.equal(dropped.search, '?name=dropped.bin');
    assert.equal(dropped.body?.toString(), 'dropped bytes');
  });

  test('pauses, and removes after the in-page confirm with "delete files"', async () => {
    await page.locator(`${row(IDS.debian)} [data-testid=pause-button]`).click();
    await page.locator(`${row(IDS.debian)}[data-state=paused]`).waitFor();
    assert.equal(fake.sent('POST', `/api/torrents/${IDS.debian}/pause`).length, 1);
    await page.locator(`${row(IDS.debian)} [data-testid=resume-button]`).click();
    await page.locator(`${row(IDS.debian)}[data-state=downloading]`).waitFor();

    // Paused while its data is still being checked: says so, and offers to resume.
    const debian = fake.state.torrents.find((t) => t.id === IDS.debian)!;
    server.send({ type: 'torrents', torrents: fake.state.torrents.map((t) => (t.id === IDS.debian ? { ...debian, state: 'checking', paused: true } : t)) });
    await page.locator(`${row(IDS.debian)} [data-testid=torrent-state][data-state=checking]`).waitFor();
    assert.equal(await page.locator(`${row(IDS.debian)} [data-testid=torrent-state]`).innerText(), 'Checking (paused)');
    await page.locator(`${row(IDS.debian)} [data-testid=resume-button]`).click();
    const resumes = () => fake.sent('POST', `/api/torrents/${IDS.debian}/resume`).length;
    for (let i = 0; i < 100 && resumes() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(resumes(), 2, 'the button resumed the paused torrent that was checking');

    // Cancel first: nothing is sent.
    await page.locator(`${row(IDS.arch)} [data-testid=remove-button]`).click();
    await page.locator('[data-testid=cancel-remove]').click();
    await page.locator('[data-testid=confirm-dialog]').waitFor({ state: 'detached' });
    assert.equal(fake.sent('DELETE', `/api/torrents/${IDS.arch}`).length, 0);

    await page.locator(`${row(IDS.arch)} [data-testid=remove-button]`).click();
    await page.locator('[data-testid=confirm-dialog]').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/desktop-confirm.png` });
    await page.locator('[data-testid=delete-data]').check();
    await page.locator('[data-testid=confirm-remove]').click();
    await page.locator(row(IDS.arch)).waitFor({ state: 'detached' });
    const deletes = fake.sent('DELETE', `/api/torrents/${IDS.arch}`);
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0]!.search, '?deleteData=1');
  });

  test('torrent page: details, files, peers, and a piece map that fills in from piece events', async () => {
    await page.locator(`${row(IDS.debian)} [data-testid=torrent-name]`).click();
    await page.waitForURL(`${server.url}/#/torrent/${IDS.debian}`);
    await page.locator('[data-testid=peer-row]').first().waitFor();
    const detail = fake.state.details.get(IDS.debian)!;
    assert.equal(await page.locator('[data-testid=peer-row]').count(), detail.peerList.length);
    assert.equal(await page.locator('[data-testid=file-row]').count(), 1);
    assert.equal(await page.locator('[data-testid=torrent-magnet]').inputValue(), detail.magnet);
    assert.equal(await page.locator('[data-testid=torrent-details] dd[data-key=format]').innerText(), 'BitTorrent v1');
    await until(page, `document.querySelector('[data-testid=piece-map]').height > 0`);

    const index = firstMissingPiece(detail.pieces, detail.pieceCount);
    assert.ok(index >= 0);
    const caption = await page.locator('[data-testid=piece-caption]').innerText();
    const before = await canvasChecksum(page);
    // The node would also have the piece in its next detail.
    const bits = Buffer.from(detail.pieces, 'base64');
    bits[index >> 3]! |= 0x80 >> (index & 7);
    detail.pieces = bits.toString('base64');
    server.send({ type: 'piece', id: IDS.debian, index });
    await until(page, `document.querySelector('[data-testid=piece-caption]').textContent !== ${JSON.stringify(caption)}`);
    const afterPiece = await canvasChecksum(page);
    assert.notEqual(afterPiece, before, 'canvas pixels changed');
    await page.screenshot({ path: `${ARTIFACTS}/desktop-torrent.png`, fullPage: true });
  });

  test('torrent page: the file checkboxes choose the files to download', async () => {
    await page.goto(`${server.url}/#/torrent/${IDS.bunny}`);
    const rows = page.locator('[data-testid=file-row]');
    await rows.nth(2).waitFor();
    assert.equal(await rows.count(), 3);
    const checked = () => page.evaluate<boolean[]>(`[...document.querySelectorAll('[data-testid=file-wanted]')].map((box) => box.checked)`);
    assert.deepEqual(await checked(), [true, true, true]);
    const path = `/api/torrents/${IDS.bunny}/files`;

    await rows.nth(1).getByTestId('file-wanted').uncheck();
    await page.locator('[data-testid=file-row][data-index="1"][data-wanted=false].skipped').waitFor();
    const [first] = fake.sent('PUT', path);
    assert.match(first!.contentType ?? '', /^application\/json/);
    assert.equal(first!.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(first!.body!.toString()), { files: [0, 2] });
    assert.deepEqual(await checked(), [true, false, true]);
    assert.equal(await page.locator('[data-testid=files-card] .card-title').innerText(), 'Files (2 of 3 selected)');
    assert.match(await page.locator('[data-testid=torrent-size]').innerText(), /^264 MiB selected$/);
    await page.screenshot({ path: `${ARTIFACTS}/desktop-files.png`, fullPage: true });

    // Every file checked again asks for all of them (null), not a list.
    await rows.nth(1).getByTestId('file-wanted').check();
    await page.locator('[data-testid=file-row][data-index="1"][data-wanted=true]').waitFor();
    assert.deepEqual(JSON.parse(fake.sent('PUT', path)[1]!.body!.toString()), { files: null });
    assert.equal(await page.locator('[data-testid=files-card] .card-title').innerText(), 'Files (3)');

    // A refusal is shown, and the checkbox goes back to the node's choice.
    fake.refuseFiles = 'no file number 9: the torrent has 3 files';
    await rows.nth(0).getByTestId('file-wanted').click();
    const error = page.locator('[data-testid=error]');
    await error.filter({ hasText: 'no file number 9: the torrent has 3 files' }).waitFor();
    await until(page, `document.querySelector('[data-testid=file-row][data-index="0"] [data-testid=file-wanted]').checked`);
    assert.deepEqual(JSON.parse(fake.sent('PUT', path)[2]!.body!.toString()), { files: [1, 2] });
    assert.deepEqual(await checked(), [true, true, true]);
    await error.getByRole('button', { name: 'Dismiss' }).click();
  });

  test('torrent page: Verify starts a check, is off while it runs and without metadata, and shows a refusal', async () => {
    await page.goto(`${server.url}/#/torrent/${IDS.bunny}`);
    const verify = page.locator('[data-testid=verify-button]');
    const badge = page.locator('[data-testid=torrent-summary] [data-testid=torrent-state]');
    await page.locator('[data-testid=torrent-summary] [data-testid=torrent-state][data-state=seeding]').waitFor();
    assert.equal(await verify.isEnabled(), true);
    const path = `/api/torrents/${IDS.bunny}/verify`;
    await verify.click();
    await page.locator('[data-testid=torrent-summary] [data-testid=torrent-state][data-state=checking]').waitFor();
    const [sent] = fake.sent('POST', path);
    assert.equal(sent!.authorization, `Bearer ${TOKEN}`);
    assert.equal(await badge.innerText(), 'Checking');
    assert.equal(await verify.isDisabled(), true, 'off while the data is being checked');
    await page.screenshot({ path: `${ARTIFACTS}/desktop-verify.png` });

    // The check ends: seeding again, and Verify is on again.
    const index = fake.state.torrents.findIndex((t) => t.id === IDS.bunny);
    fake.state.torrents[index] = { ...fake.state.torrents[index]!, state: 'seeding' };
    server.send({ type: 'torrents', torrents: [fake.state.torrents[index]!] });
    await until(page, `!document.querySelector('[data-testid=verify-button]').disabled`);
    assert.equal(await badge.getAttribute('data-state'), 'seeding');

    // The node refuses (a check started elsewhere meanwhile): its message is shown.
    fake.refuseVerify = 'the data is being checked already';
    await verify.click();
    const error = page.locator('[data-testid=error]');
    await error.filter({ hasText: 'the data is being checked already' }).waitFor();
    assert.equal(fake.sent('POST', path).length, 2);
    await until(page, `!document.querySelector('[data-testid=verify-button]').disabled`);
    await error.getByRole('button', { name: 'Dismiss' }).click();

    // Without metadata there is nothing to check.
    await page.goto(`${server.url}/#/torrent/${IDS.ubuntu}`);
    await page.locator('[data-testid=torrent-summary] [data-testid=torrent-state][data-state=metadata]').waitFor();
    assert.equal(await verify.isDisabled(), true, 'off before the metadata arrives');
    assert.equal(fake.sent('POST', `/api/torrents/${IDS.ubuntu}/verify`).length, 0);
  });

  test('network page: node, buckets, ring, and a lookup', async () => {
    await page.locator('[data-testid=nav-network]').click();
    await page.locator('[data-testid=bucket]').first().waitFor();
    const { dht } = fake.state;
    assert.equal(await page.locator('[data-testid=bucket]').count(), dht.buckets.length);
    assert.equal(await page.locator('[data-testid=node-id]').inputValue(), NODE_ID);
    assert.equal(await page.locator('[data-testid=node-card] dd[data-key=encryption]').innerText(), 'required (RC4 with every peer)');
    assert.equal(await page.locator('[data-testid=node-card] dd[data-key=limits]').innerText(), '↓ none ↑ 512 KiB/s per torrent');
    assert.equal(await page.locator('[data-testid=node-card] dd[data-key=swarmAddress]').innerText(), '0.0.0.0:51413, [::]:51413 (TCP and uTP)');
    assert.equal(await page.locator('[data-testid=node-card] dd[data-key=dhtAddress]').innerText(), '0.0.0.0:6881, [::]:6881');
    const [v4, v6] = dht.families!;
    assert.equal(await page.locator('[data-testid=dht-card] dd[data-key=nodes]').innerText(), `${dht.nodes} in the routing tables (IPv4 ${v4!.nodes}, IPv6 ${v6!.nodes})`);
    assert.equal(await page.locator('[data-testid=ring-contact]').count(), v4!.nodes, 'the ring draws the IPv4 table');
    await page.locator('[data-testid=bucket][data-index="12"] summary').click();
    assert.equal(await page.locator('[data-testid=bucket][data-index="12"] [data-testid=contact-row]').count(), dht.buckets[12]!.contacts.length);

    const target = 'b'.repeat(40);
    await page.locator('[data-testid=lookup-input]').fill(target);
    await page.locator('[data-testid=lookup-submit]').click();
    const result = page.locator('[data-testid=lookup-result]');
    await result.waitFor();
    assert.deepEqual(JSON.parse(fake.sent('POST', '/api/dht/lookup')[0]!.body!.toString()), { target });
    const expected = fake.lookup(target);
    assert.equal(await result.locator('[data-testid=lookup-row]').count(), expected.closest.length);
    assert.equal(await page.locator('[data-testid=ring-hit]').count(), expected.closest.length);
    assert.equal(await page.locator('[data-testid=ring-target]').count(), 1);
    assert.equal(await result.locator('[data-testid=lookup-peers] li').count(), expected.peers.length);

    await page.locator('[data-testid=lookup-random]').click();
    await until(page, `document.querySelectorAll('[data-testid=lookup-row]').length > 0 && /^[0-9a-f]{40}$/.test(document.querySelector('[data-testid=lookup-input]').value) && document.querySelector('[data-testid=lookup-input]').value !== ${JSON.stringify(target)}`);
    assert.equal(fake.sent('POST', '/api/dht/lookup').length, 2);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: `${ARTIFACTS}/desktop-network.png`, fullPage: true });
  });

  test('phone-sized, dark: every page fits the screen; without a token, or with a refused one, it asks for the link', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    try {
      const mobile = await phone.newPage();
      mobile.setDefaultTimeout(20_000);
      watch(mobile, problems);
      await new FakeApi(sampleState(TOKEN)).install(phone);
      await mobile.goto(`${server.url}/#token=${TOKEN}`);
      const pages: [string, string, string][] = [
        ['#/', 'torrent-row', 'phone-list'],
        [`#/torrent/${IDS.debian}`, 'peer-row', 'phone-torrent'],
        ['#/network', 'bucket', 'phone-network'],
      ];
      for (const [hash, testid, name] of pages) {
        if (hash !== '#/') await mobile.goto(`${server.url}/${hash}`);
        await mobile.locator(`[data-testid=${testid}]`).first().waitFor();
        const overflow = await mobile.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(overflow <= 0, `${name}: page is ${overflow}px wider than the screen`);
        await mobile.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
      }

      // A new tab has its own sessionStorage, so no token.
      const bare = await phone.newPage();
      watch(bare, problems);
      await bare.goto(`${server.url}/`);
      const login = bare.locator('[data-testid=login]');
      await login.waitFor();
      assert.match(await login.innerText(), /Open the link printed by\s+warren node/);
      await bare.screenshot({ path: `${ARTIFACTS}/phone-login.png` });

      await bare.goto(`${server.url}/?again#token=wrong`);
      await login.filter({ hasText: 'did not accept' }).waitFor();
      assert.equal(await bare.evaluate<string | null>(`sessionStorage.getItem('warren-token')`), null);
    } finally {
      await phone.close();
    }
  });

  test('logged no console errors and no CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
