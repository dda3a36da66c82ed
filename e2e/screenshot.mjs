// Regenerate the README's screenshots, docs/demo.png (desktop) and docs/demo-phone.png:
// `node e2e/screenshot.mjs` with a fresh demo running on E2E_PORT (default 3210).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, devices } from '@playwright/test';

const base = `http://localhost:${process.env.E2E_PORT ?? 3210}`;
const docs = join(import.meta.dirname, '..', 'docs');
const executablePath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
const open = async (name, options = { viewport: { width: 1400, height: 820 } }) => {
  const ctx = await browser.newContext(options);
  const page = await ctx.newPage();
  await page.goto(base);
  await page.getByTestId('name').fill(name);
  await page.getByTestId('signin').click();
  await page.getByTestId('state').getByText('connected').waitFor();
  await page.getByTestId('hint-close').click();
  return page;
};
const ada = await open('ada');
const linus = await open('linus');
const phone = await open('grace', { ...devices['Pixel 7'] });
for (const [p, text] of [
  [ada, 'Deploy finished, dashboards look green'],
  [linus, 'Nice. Starting the weekly summary run'],
  [ada, 'I will go offline mid-run to see it resume'],
  [phone, 'Watching from my phone'],
]) {
  await p.getByTestId('chat-input').fill(text);
  await p.getByTestId('send').click();
  await p.locator('[data-mark="handled"]').last().waitFor();
}
await ada.getByTestId('steps-input').fill('400');
await ada.getByTestId('interval-input').fill('10');
await ada.getByTestId('start-run').click();
await ada.getByText('#120 ').waitFor();
await ada.getByTestId('offline').click();
await ada.getByTestId('proof').getByText('Resumed').waitFor({ timeout: 20_000 });
await ada.getByTestId('answer').getByText('Done').waitFor();
await linus.getByTestId('chat-input').fill('Back already?');
await ada.getByTestId('typing').getByText('typing').waitFor();
await ada.screenshot({ path: join(docs, 'demo.png'), animations: 'disabled' });
await phone.screenshot({ path: join(docs, 'demo-phone.png'), animations: 'disabled' });
await browser.close();
console.log('wrote docs/demo.png and docs/demo-phone.png');
