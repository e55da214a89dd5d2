import { errorText } from './api.js';
import { fill, h } from './dom.js';
import { renderDeadLetters } from './pages/dead-letters.js';
import { renderOverview } from './pages/overview.js';
import { renderPlayground } from './pages/playground.js';
import { renderResources } from './pages/resources.js';
import { renderStream, renderStreams } from './pages/streams.js';
import { renderUnmatched } from './pages/unmatched.js';
import { renderWebhooks } from './pages/webhooks.js';

/** A page draws into `main`; `signal` aborts when the reader leaves it (tails, timers, requests stop). */
export type Page = (main: HTMLElement, params: string[], signal: AbortSignal) => Promise<void> | void;

const PAGES: Record<string, Page> = {
  overview: renderOverview,
  streams: (main, params, signal) => (params[0] ? renderStream(main, params[0], signal) : renderStreams(main, signal)),
  resources: renderResources,
  'dead-letters': renderDeadLetters,
  unmatched: renderUnmatched,
  webhooks: renderWebhooks,
  playground: renderPlayground,
};

let leaving: AbortController | null = null;

/** Hash routes (#/streams/orders) keep the server's part to one static index.html. */
async function route(): Promise<void> {
  const [name = 'overview', ...params] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  leaving?.abort();
  leaving = new AbortController();
  const main = document.getElementById('main')!;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page = PAGES[name];
  fill(main);
  document.title = `${name} · reflex console`;
  if (!page) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, `No page named ${name}. `, h('a', { href: '#/overview' }, 'Go to the overview')));
    return;
  }
  try {
    await page(main, params, leaving.signal);
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    main.append(h('p', { class: 'bad', role: 'alert' }, errorText(err)));
  }
}

// The skip link moves focus to the page without changing the route (its #main would be one).
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main')?.focus();
});
window.addEventListener('hashchange', () => {
  void route().then(() => document.getElementById('main')?.focus());
});
void route();
