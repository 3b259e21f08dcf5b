/** Headless Debian Chromium (never a downloaded browser) for checking the HTML reports. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';
// scripts/setup installs it; a missing browser fails the test, never skips it
export const hasChromium = fs.existsSync(CHROMIUM);

export interface BrowserCheck {
  canvases: number;
  errors: string[];
  summaryRows: number;
  title: string;
}

/** Opens each page in headless Debian Chromium (never a downloaded browser) and checks what rendered. */
export async function openInChromium(pages: Array<{ file: string; screenshot: string }>): Promise<BrowserCheck[]> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  try {
    const out: BrowserCheck[] = [];
    for (const p of pages) {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      // the page must not try the network: every request other than the file itself is an error
      page.on('request', (r) => {
        if (!r.url().startsWith('file://')) errors.push(`network request ${r.url()}`);
      });
      await page.goto(`file://${p.file}`);
      await page.waitForSelector('body[data-charts="3"]', { timeout: 15_000 });
      out.push({
        canvases: await page.locator('#dist .uplot canvas, #time .uplot canvas, #rate .uplot canvas').count(),
        errors,
        summaryRows: await page.locator('#summary tbody tr').count(),
        title: await page.title(),
      });
      await page.screenshot({ path: p.screenshot, fullPage: true });
      await page.close();
    }
    return out;
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

