// Regenerate docs/demo.png (the README's screenshot): `node e2e/screenshot.mjs` with the demo running on E2E_PORT (default 3210).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const base = `http://localhost:${process.env.E2E_PORT ?? 3210}`;
const executablePath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
const open = async (name) => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 820 } });
  const page = await ctx.newPage();
  await page.goto(base);
  await page.getByTestId('name').fill(name);
  await page.getByTestId('signin').click();
  await page.getByTestId('state').getByText('connected').waitFor();
  return page;
};
const ada = await open('ada');
const linus = await open('linus');
for (const [p, text] of [
  [ada, 'Deploy finished, dashboards look green'],
  [linus, 'Nice. Starting the weekly summary run'],
  [ada, 'I will drop my socket mid-run to see it resume'],
]) {
  await p.getByTestId('chat-input').fill(text);
  await p.getByTestId('send').click();
  await p.locator('[data-mark="handled"]').last().waitFor();
}
await ada.getByTestId('steps-input').fill('400');
await ada.getByTestId('interval-input').fill('10');
await ada.getByTestId('start-run').click();
await ada.getByText('#150 ').waitFor();
await ada.getByTestId('drop').click();
await ada.getByText('#260 ').waitFor();
await ada.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'demo.png') });
await browser.close();
console.log('wrote docs/demo.png');
