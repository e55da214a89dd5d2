/** Time as webhook delivery sees it: injected, so that unit tests drive it with fake timers. */
export interface Clock {
  now(): number;
  /** A timer that does not keep the process alive. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** Runs `fn` after the current turn of the event loop (many wake-ups in one turn become one). */
  setImmediate(fn: () => void): void;
}

/** The process clock; globals are looked up per call, so vitest's fake timers replace them too. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
  setImmediate: (fn) => void setImmediate(fn),
};
