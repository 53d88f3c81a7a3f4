/**
 * The web UI end to end, in headless Chromium, against a real `warren node` process: log in with
 * the printed link, add a magnet, watch the download complete (list, torrent page, piece map),
 * leave its file out and in again, look at the network page, and remove the torrent with its data. Screenshots go to
 * `test-artifacts/web/`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { encodeMagnet } from '../../src/codec/magnet.js';
import { toInfoHash } from '../../src/dht/types.js';
import type { TorrentDetail } from '../../src/node/view-types.js';
import { WarrenNode } from '../../src/node/warren-node.js';
import { startNodeProcess, type NodeProcess } from '../cli/node-process.js';
import { testNodeOptions } from '../node/node-options.js';
import { chromiumMissing, launchBrowser } from './browser.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/web/', import.meta.url));

describe('web UI against a real node', { skip: chromiumMissing() }, () => {
  let dir: string | undefined;
  let seeder: WarrenNode | undefined;
  let node: NodeProcess | undefined;
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    node?.child.kill('SIGKILL');
    await seeder?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('add a magnet, watch it complete, look around, remove it', { timeout: 120_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'warren-ui-e2e-'));
    await mkdir(ARTIFACTS, { recursive: true });
    const content = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, 'holiday.mp4'), content);
    // A seeder limited to 3 MiB/s, so the download is visibly in progress for a while.
    seeder = await WarrenNode.start(testNodeOptions(join(dir, 'seeder'), { uploadLimit: 3 * 1024 * 1024 }));
    const shared = await seeder.add({ path: join(dir, 'holiday.mp4') });
    const seederPort = Number(seeder.node().swarmAddress.split(':')[1]);
    const magnet = encodeMagnet({ infoHash: toInfoHash(shared.torrent.id), name: 'holiday.mp4', peers: [{ host: '127.0.0.1', port: seederPort }] });

    node = await startNodeProcess(join(dir, 'node'));
    browser = await launchBrowser();
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });

    await page.goto(node.ui);
    await page.getByTestId('add-input').waitFor();
    assert.equal(new URL(page.url()).hash.includes('token='), false, 'the token is taken out of the address bar');

    await page.getByTestId('add-input').fill(magnet);
    await page.getByTestId('add-submit').click();
    const row = page.locator(`[data-testid=torrent-row][data-id="${shared.torrent.id}"]`);
    await row.waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-1-downloading.png') });
    await row.getByTestId('torrent-state').filter({ hasText: 'seeding' }).waitFor({ timeout: 60_000 });
    assert.match((await row.getByTestId('torrent-percent').textContent()) ?? '', /100/);
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-2-complete.png') });
    assert.deepEqual(await readFile(join(dir, 'node', 'downloads', 'holiday.mp4')), content);

    // The torrent's page: its file at 100% and a piece map with every piece drawn as had.
    await row.getByTestId('torrent-name').click();
    await page.getByTestId('piece-map').waitFor();
    await page.getByTestId('file-row').filter({ hasText: 'holiday.mp4' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-3-torrent-page.png') });

    // Its checkbox chooses whether the file is downloaded; the node keeps the choice.
    const token = new URL(node.ui).hash.replace('#token=', '');
    const wanted = async () => {
      const response = await fetch(`${node!.api}/api/torrents/${shared.torrent.id}`, { headers: { authorization: `Bearer ${token}` } });
      return ((await response.json()) as TorrentDetail).files.map((f) => f.wanted);
    };
    const checkbox = page.getByTestId('file-row').getByTestId('file-wanted');
    assert.equal(await checkbox.isChecked(), true);
    await checkbox.uncheck();
    await page.locator('[data-testid=file-row][data-wanted=false]').waitFor();
    assert.deepEqual(await wanted(), [false]);
    await checkbox.check();
    await page.locator('[data-testid=file-row][data-wanted=true]').waitFor();
    assert.deepEqual(await wanted(), [true]);

    // The network page shows the node id (the DHT runs, with no contacts on this lone node).
    await page.getByTestId('nav-network').click();
    await page.getByTestId('node-id').waitFor();
    assert.match(await page.getByTestId('node-id').inputValue(), /^[0-9a-f]{40}$/);
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-4-network.png') });

    // Remove it with its data, from the list.
    await page.getByTestId('nav-torrents').click();
    await row.getByTestId('remove-button').click();
    await page.getByTestId('delete-data').check();
    await page.getByTestId('confirm-remove').click();
    await row.waitFor({ state: 'detached' });
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-5-removed.png') });
    assert.equal(await stat(join(dir, 'node', 'downloads', 'holiday.mp4')).catch(() => 'gone'), 'gone');
    assert.deepEqual(problems, []);
  });
});
