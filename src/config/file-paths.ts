import type { Ajv } from 'ajv';
import { isAbsolute, resolve } from 'node:path';
import { FILE_PATH_KEYWORD } from '../sdk/schema.js';

/** What a validation run knows about where its data came from (ajv's `passContext`). */
export interface PathContext {
  /** Folder of the config file; null when the config did not come from a file (paths stay as given). */
  baseDir: string | null;
}

/**
 * Teaches an ajv instance the `filePath` marker: a relative path is resolved against the folder of
 * reflex.yaml while the value is validated. This is the one place that happens, for every schema
 * (reflex.yaml's own and each connector's), so no connector reads a path relative to the working directory.
 */
export function addFilePathKeyword(ajv: Ajv): Ajv {
  return ajv.addKeyword({
    keyword: FILE_PATH_KEYWORD,
    type: 'string',
    modifying: true,
    errors: false,
    validate(this: PathContext | undefined, marked: boolean, data: string, _schema: unknown, at?: { parentData: Record<string | number, unknown>; parentDataProperty: string | number }) {
      const base = this?.baseDir;
      if (marked && base && at && !isAbsolute(data)) at.parentData[at.parentDataProperty] = resolve(base, data);
      return true;
    },
  });
}
