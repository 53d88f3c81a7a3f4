/**
 * Development aid, not a test: renders every page of the web UI against the fake API in light and
 * dark, at desktop and phone sizes, into test-artifacts/web/dev/. Run after `npm run build`:
 * `node dist/test/web/dev-screenshots.js [out-dir]`. Does nothing under `node --test`.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, launchBrowser } from './browser.js';
import { FakeApi, IDS, sampleState, startUiServer } from './fake-api.js';

const TOKEN = 'dev-token';

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const out = process.argv[2] ?? fileURLToPath(new URL('../../../test-artifacts/web/dev/', import.meta.url));
  await mkdir(out, { recursive: true });
  const server = await startUiServer(TOKEN);
  const browser = await launchBrowser();
  const variants = [
    { name: 'desktop-light', viewport: { width: 1280, height: 800 }, colorScheme: 'light' as const, deviceScaleFactor: 1 },
    { name: 'desktop-dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' as const, deviceScaleFactor: 1 },
    { name: 'phone-light', viewport: { width: 390, height: 844 }, colorScheme: 'light' as const, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
    { name: 'phone-dark', viewport: { width: 390, height: 844 }, colorScheme: 'dark' as const, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  ];
  try {
    for (const { name, ...options } of variants) {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') console.log(`[${name}] console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => console.log(`[${name}] pageerror: ${e.message}`));
      const fake = new FakeApi(sampleState(TOKEN));
      await fake.install(page);
      await page.goto(`${server.url}/#token=${TOKEN}`);
      await page.locator('[data-testid=torrent-row]').first().waitFor();
      await page.locator('[data-testid=connection][data-state=connected]').waitFor();
      await page.screenshot({ path: `${out}/${name}-list.png`, fullPage: true });

      const dataTransfer = await page.evaluateHandle(`(() => {
        const data = new DataTransfer();
        data.items.add(new File(['x'], 'x.bin'));
        return data;
      })()`);
      await page.dispatchEvent('[data-testid=torrent-list]', 'dragenter', { dataTransfer });
      await page.screenshot({ path: `${out}/${name}-drop.png` });
      await page.dispatchEvent('[data-testid=torrent-list]', 'dragleave', { dataTransfer });

      await page.locator(`[data-testid=torrent-row][data-id="${IDS.debian}"] [data-testid=remove-button]`).click();
      await page.locator('[data-testid=confirm-dialog]').waitFor();
      await page.screenshot({ path: `${out}/${name}-confirm.png` });
      await page.locator('[data-testid=cancel-remove]').click();

      await page.locator('[data-testid=add-input]').fill('magnet:?xt=urn:btih:nothex');
      await page.locator('[data-testid=add-submit]').click();
      await page.locator('[data-testid=error]:visible').waitFor();
      await page.locator('[data-testid=share-file-input]').setInputFiles({ name: 'holiday-video.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(4096, 7) });
      await page.locator('[data-testid=share-magnet]').waitFor();
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: `${out}/${name}-list-share.png`, fullPage: true });

      await page.goto(`${server.url}/#/torrent/${IDS.debian}`);
      await page.locator('[data-testid=piece-map]').waitFor();
      await page.locator('[data-testid=peer-row]').first().waitFor();
      await page.screenshot({ path: `${out}/${name}-torrent.png`, fullPage: true });
      await page.goto(`${server.url}/#/torrent/${IDS.bunny}`);
      await page.locator('[data-testid=file-row]').first().waitFor();
      await page.screenshot({ path: `${out}/${name}-torrent-bunny.png`, fullPage: true });

      await page.goto(`${server.url}/#/network`);
      await page.locator('[data-testid=bucket]').first().waitFor();
      await page.locator('[data-testid=lookup-random]').click();
      await page.locator('[data-testid=lookup-row]').first().waitFor();
      await page.locator('[data-testid=bucket]').nth(12).locator('summary').click();
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: `${out}/${name}-network.png`, fullPage: true });
      await page.locator('[data-testid=ring-card]').screenshot({ path: `${out}/${name}-network-ring.png` });
      await page.locator('[data-testid=lookup-card]').screenshot({ path: `${out}/${name}-network-lookup.png` });
      await page.locator('[data-testid=routing-table]').screenshot({ path: `${out}/${name}-network-table.png` });
      await page.locator('[data-testid=node-card]').screenshot({ path: `${out}/${name}-network-node.png` });

      const fresh = await context.newPage();
      await fresh.goto(`${server.url}/`);
      await fresh.evaluate('sessionStorage.clear()');
      await fresh.goto(`${server.url}/`);
      await fresh.locator('[data-testid=login]').waitFor();
      await fresh.screenshot({ path: `${out}/${name}-login.png` });
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(`screenshots in ${out}`);
}

if (!process.env.NODE_TEST_CONTEXT) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
