import type { ResponseSchema } from './client.ts';

/**
 * Small response validators for shapes the contract does not export as schemas. The web app reaches zod
 * only through @keel/contract, so these check by hand what the routes promise.
 */

type Failure = { success: false; error: unknown };
const fail = (what: string): Failure => ({ success: false, error: new TypeError(what) });

/** `{ [key]: T }`, where T is checked by a contract schema (e.g. `{ workspaces: Workspace[] }`). */
export function inField<K extends string, T>(
  key: K,
  schema: ResponseSchema<T>,
): ResponseSchema<Record<K, T>> {
  return {
    safeParse(data) {
      if (!isRecord(data)) return fail('expected an object');
      const inner = schema.safeParse(data[key]);
      if (!inner.success) return inner;
      return { success: true, data: { [key]: inner.data } as Record<K, T> };
    },
  };
}

export type FieldType = 'string' | 'number' | 'boolean' | 'string?' | 'number?' | 'boolean?';
type FieldValue<F extends FieldType> = F extends 'string'
  ? string
  : F extends 'number'
    ? number
    : F extends 'boolean'
      ? boolean
      : F extends 'string?'
        ? string | undefined
        : F extends 'number?'
          ? number | undefined
          : boolean | undefined;

/** An object with the named primitive fields; unknown fields are dropped, as zod's objects do. */
export function objectOf<S extends Record<string, FieldType>>(
  shape: S,
): ResponseSchema<{ [K in keyof S]: FieldValue<S[K]> }> {
  return {
    safeParse(data) {
      if (!isRecord(data)) return fail('expected an object');
      const out: Record<string, unknown> = {};
      for (const [name, type] of Object.entries(shape)) {
        const value = data[name];
        const optional = type.endsWith('?');
        if (value === undefined && optional) continue;
        if (typeof value !== type.replace('?', '')) return fail(`${name} should be a ${type}`);
        out[name] = value;
      }
      return { success: true, data: out as { [K in keyof S]: FieldValue<S[K]> } };
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
