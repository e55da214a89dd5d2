import { existsSync } from 'node:fs';
import { aptInstall } from './apt.js';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's chromium, for the console's browser test (driven by playwright-core, which downloads no
 * browser of its own): installed with apt-get on the first run when missing.
 */
export function ensureChromium(): string {
  if (!existsSync(CHROMIUM)) aptInstall(['chromium'], "install Debian's chromium package (apt-get install chromium)");
  return CHROMIUM;
}
