/** Headless Debian Chromium (never a downloaded browser) through playwright-core, for the HTML pages. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
// scripts/setup installs it; a missing browser fails the test, never skips it
export const hasChromium = fs.existsSync(CHROMIUM);

/**
 * Opens each file in a fresh page of one headless Chromium, waits for `ready` (a selector), and
 * hands the page to `check`. Console errors, page errors and any request that is not the file
 * itself (a page must not try the network) are collected into `errors`.
 */
export async function inChromium<T>(files: string[], ready: string, check: (page: Page, file: string, errors: string[]) => Promise<T>): Promise<T[]> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  try {
    const out: T[] = [];
    for (const file of files) {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith('file://')) errors.push(`network request ${r.url()}`);
      });
      await page.goto(`file://${file}`);
      await page.waitForSelector(ready, { timeout: 15_000 });
      out.push(await check(page, file, errors));
      await page.close();
    }
    return out;
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

export interface BrowserCheck {
  canvases: number;
  errors: string[];
  summaryRows: number;
  title: string;
}

/** Opens each one-run report page and checks what rendered (three charts, the summary), with a screenshot. */
export function openInChromium(pages: Array<{ file: string; screenshot: string }>): Promise<BrowserCheck[]> {
  return inChromium(pages.map((p) => p.file), 'body[data-charts="3"]', async (page, file, errors) => {
    const check = {
      canvases: await page.locator('#dist .uplot canvas, #time .uplot canvas, #rate .uplot canvas').count(),
      errors,
      summaryRows: await page.locator('#summary tbody tr').count(),
      title: await page.title(),
    };
    await page.screenshot({ path: pages.find((p) => p.file === file)!.screenshot, fullPage: true });
    return check;
  });
}
