/** A small structured logger; components receive it, none creates its own. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Human-readable lines on stderr (`time LEVEL message key=value`), or JSON lines when `json` is set. */
export function createLogger(options: { level?: Level; json?: boolean; write?: (line: string) => void } = {}, bindings: Record<string, unknown> = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const log = (level: Exclude<Level, 'silent'>) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const all = { ...bindings, ...fields };
    if (options.json) {
      write(JSON.stringify({ time: new Date().toISOString(), level, message, ...all }));
      return;
    }
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`;
    for (const [k, v] of Object.entries(all)) line += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
    write(line);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => createLogger(options, { ...bindings, ...more }),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
