import Type, { type Static, type TSchema } from 'typebox';

/**
 * Marks a string in a config schema as a file path: the config loader resolves it against the
 * folder of the reflex.yaml it came from (src/config/file-paths.ts), wherever it sits in the schema.
 */
export const FILE_PATH_KEYWORD = 'filePath';

/** A file path in reflex.yaml, relative to that file's folder. */
export function FilePath(options: { description?: string } = {}) {
  return Type.String({ minLength: 1, ...options, [FILE_PATH_KEYWORD]: true });
}

/** A schema with its one default: validation fills it in, so the connector sees the field as set. */
export function Default<T extends TSchema>(schema: T, value: Static<T>): ReturnType<typeof Type.Optional<T>> & { readonly default: Static<T> } {
  // A copy with every own property, TypeBox's hidden `~kind` too, so Value.Default still walks into it.
  const withDefault = Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(schema), default: { value, enumerable: true } }) as T;
  return Type.Optional(withDefault) as ReturnType<typeof Type.Optional<T>> & { readonly default: Static<T> };
}

type DefaultedKeys<S> = S extends { properties: infer P }
  ? { [K in keyof P]: P[K] extends { readonly default: unknown } ? K : never }[keyof P]
  : never;

/**
 * The settings a connector receives: the schema's static type with every field that has a
 * `Default(...)` present (the validator applied it), so the default is written once, in the schema.
 */
export type Settings<S extends TSchema> = Static<S> & { [K in DefaultedKeys<S> & keyof Static<S>]-?: Exclude<Static<S>[K], undefined> };

export { Type, type Static, type TSchema };
