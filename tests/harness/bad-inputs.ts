import fc from 'fast-check';

/** The parts of a JSON Schema (as /openapi.json writes them) that bad inputs are made from. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
}

/** Strings a server must survive: control characters, NUL, unpaired surrogates, path tricks. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.constantFrom('\ud800', 'a\udc00b', '\udfff\ud800', '\u0000', '\uffff', '\u202e'),
  fc.constantFrom('..', '../../etc/passwd', '/', '', ' ', '%00', '\\', 'a/../../b', '\n', 'null', 'NaN'),
  fc.integer({ min: 1, max: 3 }).map((k) => 'x'.repeat(k * 70_000)),
);

/**
 * Objects and arrays `depth` deep around a value: JSON a validator might recurse through. Kept
 * within what JSON.stringify takes here; the raw bodies of the fuzz test go a hundred times deeper.
 */
function nested(depth: number): unknown {
  let value: unknown = 'deep';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

const anyWrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  hostileString,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(hostileString, fc.integer(), { maxKeys: 3 }),
  fc.integer({ min: 50, max: 300 }).map(nested),
  fc.constantFrom(0, 20_000).map((n) => Array.from({ length: n }, (_, i) => `item${i}`)),
);

function typesOf(s: JsonSchema): string[] {
  if (s.type) return Array.isArray(s.type) ? s.type : [s.type];
  const alts = s.anyOf ?? s.oneOf ?? s.allOf;
  return alts ? alts.flatMap(typesOf) : [];
}

/** A value the schema should refuse: of another type, too long, too big, or hostile text. */
export function badValue(s: JsonSchema): fc.Arbitrary<unknown> {
  const types = typesOf(s);
  const wrongType = anyWrong.filter((v) => !types.includes(jsonType(v)));
  const options: fc.Arbitrary<unknown>[] = [wrongType, hostileString];
  if (types.includes('string')) {
    options.push(fc.constant('y'.repeat((s.maxLength ?? 10_000) + 1)));
    if (s.minLength) options.push(fc.constant(''));
  }
  if (types.includes('number') || types.includes('integer')) {
    options.push(fc.constantFrom(-1, 1.5, 2 ** 53, -(2 ** 53), 1e308, (s.maximum ?? 1e9) + 1));
  }
  if (types.includes('array')) {
    options.push(
      fc.constant(Array.from({ length: (s.maxItems ?? 10_000) + 1 }, () => s.items?.default ?? 'a')),
    );
  }
  if (s.enum) options.push(hostileString.filter((v) => !s.enum!.includes(v)));
  return fc.oneof(...options);
}

/** A value the schema may accept (or nearly), so that one bad field is the only thing wrong. */
export function plausibleValue(s: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum?.length) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => plausibleValue(a, depth + 1)));
  const type = typesOf(s)[0];
  switch (type) {
    case 'string':
      return fc.string({ minLength: s.minLength ?? 1, maxLength: Math.min(s.maxLength ?? 12, 12) });
    case 'integer':
    case 'number': {
      const min = Math.ceil(s.minimum ?? 0);
      return fc.integer({ min, max: Math.max(min, Math.floor(Math.min(s.maximum ?? min + 100, min + 100))) });
    }
    case 'boolean':
      return fc.boolean();
    case 'array':
      return s.items && depth < 3
        ? fc.array(plausibleValue(s.items, depth + 1), { maxLength: 2 })
        : fc.constant([]);
    case 'object':
      return depth < 3 ? plausibleObject(s, depth + 1) : fc.constant({});
    default:
      return fc.constant(null);
  }
}

function plausibleObject(s: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(s.properties ?? {});
  return fc.record(Object.fromEntries(props.map(([k, p]) => [k, plausibleValue(p, depth)])), {
    requiredKeys: (s.required ?? []).filter((k) => s.properties?.[k]),
  }) as fc.Arbitrary<Record<string, unknown>>;
}

/**
 * Bad objects for an object schema: wrong as a whole, with required fields missing, with an
 * unknown field, or with some fields bad and the rest plausible.
 */
export function badObject(s: JsonSchema): fc.Arbitrary<unknown> {
  const props = Object.entries(s.properties ?? {});
  const fields = props.length
    ? fc.record(Object.fromEntries(props.map(([k, p]) => [k, fc.oneof(badValue(p), plausibleValue(p))])), {
        requiredKeys: [],
      })
    : fc.constant({});
  return fc.oneof(
    badValue({ type: 'object' }),
    fields,
    fc.tuple(plausibleObject(s, 0), hostileString, anyWrong).map(([o, k, v]) => ({ ...o, [`${k}_`]: v })),
    fc
      .integer({ min: 100, max: 300 })
      .map((n) => ({ ...Object.fromEntries(props.map(([k]) => [k, nested(n)])) })),
  );
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/**
 * A path or query value as it goes on the wire. `encodeURIComponent` refuses unpaired
 * surrogates, so those go as the bytes a careless encoder would send (invalid UTF-8).
 */
export function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value]
      .map((ch) => {
        const code = ch.charCodeAt(0);
        return code >= 0xd800 && code <= 0xdfff ? '%ED%A0%80' : encodeURIComponent(ch);
      })
      .join('');
  }
}
