import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';

/** The demo under test: started once by `webServer`; scenario 5 starts its own to restart it. */
export const PORT = Number(process.env.E2E_PORT ?? 3210);
/** The demo's presence grace in the suite: how long a closed tab may stay in Members. */
export const PRESENCE_GRACE_MS = 1000;
/** The React example under test (apps/react-example), with React's development build. */
export const REACT_PORT = Number(process.env.E2E_REACT_PORT ?? PORT + 1);
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  outputDir: './test-results',
  use: {
    baseURL: `http://localhost:${PORT}`,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      ...(existsSync(chromium) ? { executablePath: chromium } : {}),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [
    {
      name: 'desktop',
      testIgnore: /react\.spec\.ts$/,
      use: { ...devices['Desktop Chrome'], channel: undefined },
    },
    {
      // The showcase checks again on a phone-sized touch screen.
      name: 'phone',
      testMatch: /showcase\.spec\.ts$/,
      use: { ...devices['Pixel 7'], channel: undefined },
    },
    {
      name: 'react',
      testMatch: /react\.spec\.ts$/,
      use: { ...devices['Desktop Chrome'], channel: undefined, baseURL: `http://localhost:${REACT_PORT}` },
    },
  ],
  webServer: [
    {
      command: 'node ../apps/demo/dist/server/main.js',
      url: `http://localhost:${PORT}/healthz`,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
      // The whole suite signs in from one address: lift the per-address login limit. A short
      // presence grace keeps the "closed tab leaves Members" test quick.
      env: {
        PORT: String(PORT),
        CONNECTIONS_PER_USER: '5',
        NODE_NAME: 'e2e',
        LOGIN_BURST: '10000',
        PRESENCE_GRACE_MS: String(PRESENCE_GRACE_MS),
      },
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      // 20 messages kept per stream: a 30-step job while offline makes a gap.
      command: 'node ../apps/react-example/dist/server/main.js',
      url: `http://localhost:${REACT_PORT}/healthz`,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
      env: { PORT: String(REACT_PORT), RETENTION_MESSAGES: '20', REACT_DEV: '1' },
      stdout: 'pipe',
      stderr: 'pipe',
    },
  ],
});
