// Requests derived from the spec itself, for suites that must cover every operation (contract,
// security, fuzzing): fast-check arbitraries built from the operation's JSON Schemas, the spec's
// own examples, and mutations that make a request invalid.
import fc from 'fast-check';
import { operations, spec, type OperationMeta } from '../../server/spec.ts';

type Schema = Record<string, any>;

export interface SpecRequest {
  operationId: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** undefined: no body; a string: sent raw (malformed JSON). */
  json?: unknown;
  raw?: string;
}

function deref(schema: Schema | undefined): Schema {
  let s = schema ?? {};
  while (s.$ref)
    s = s.$ref
      .slice(2)
      .split('/')
      .reduce((node: any, key: string) => node[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  return s;
}

export function operationSpec(meta: OperationMeta): Schema {
  return spec.paths[meta.path][meta.method.toLowerCase()];
}

export function parametersOf(meta: OperationMeta): Schema[] {
  return [
    ...(spec.paths[meta.path].parameters ?? []),
    ...(operationSpec(meta).parameters ?? []),
  ].map(deref);
}

export function bodySchemaOf(meta: OperationMeta): Schema | undefined {
  const body = deref(operationSpec(meta).requestBody);
  return body.content?.['application/json']?.schema;
}

/** The spec's own example body of an operation, if it has one. */
export function exampleBody(meta: OperationMeta): unknown {
  const media = deref(operationSpec(meta).requestBody).content?.['application/json'];
  return (
    media?.example ??
    (media?.examples ? (Object.values(media.examples)[0] as Schema).value : undefined)
  );
}

const hostile = fc.oneof(
  fc.constantFrom(
    "'; DROP TABLE items; --",
    '" OR 1=1 --',
    '\u0000',
    'a\u0000b',
    '\uD800',
    '🦄'.repeat(50),
    'ﷺ',
    '\u202Etxt.exe',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, literally
    '${7*7}',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    ' ',
  ),
  fc.string({ maxLength: 300, unit: 'binary' }),
);
const isoDate = fc.date({
  min: new Date('2020-01-01'),
  max: new Date('2035-12-31'),
  noInvalidDate: true,
});

/** Strings matching a pattern; fast-check can't generate from lookaheads, so those are dropped and checked by filtering. */
function matching(pattern: string): fc.Arbitrary<string> {
  const full = new RegExp(pattern);
  const generable = pattern.replace(/\(\?[=!][^)]*\)/g, '');
  return generable === pattern
    ? fc.stringMatching(full)
    : fc.stringMatching(new RegExp(generable)).filter((s) => full.test(s));
}

/**
 * An arbitrary of values valid against `schema`. Ids (the Code schema) are drawn half the time from
 * `knownIds`, so generated requests reach business logic instead of stopping at "unknown item".
 */
export function valueFor(
  schemaIn: Schema,
  knownIds: readonly string[] = [],
  depth = 0,
): fc.Arbitrary<unknown> {
  const isCode = schemaIn.$ref === '#/components/schemas/Code';
  const schema = deref(schemaIn);
  if (isCode && knownIds.length)
    return fc.oneof(fc.constantFrom(...knownIds), matching(schema.pattern));
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.oneOf || schema.anyOf)
    return fc.oneof(
      ...(schema.oneOf ?? schema.anyOf).map((s: Schema) => valueFor(s, knownIds, depth + 1)),
    );
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'object'];
  if (types.length > 1)
    return fc.oneof(...types.map((type) => valueFor({ ...schema, type }, knownIds, depth)));
  let arb: fc.Arbitrary<unknown>;
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      arb = fc.integer({
        min: schema.minimum ?? -1000,
        max: Math.min(schema.maximum ?? 1000, 1000),
      });
      break;
    case 'number': {
      const min =
        schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum : (schema.minimum ?? -1000);
      const max = Math.min(schema.maximum ?? 1000, 1000);
      // Quantities: mostly whole numbers, sometimes up to 6 decimals.
      arb = fc
        .oneof(
          fc.integer({ min: Math.ceil(min), max: Math.floor(max) }),
          fc.integer({ min: Math.ceil(min * 1e3), max: Math.floor(max * 1e3) }).map((n) => n / 1e3),
        )
        .filter((n) => n > min || (schema.exclusiveMinimum === undefined && n >= min));
      if (schema.not && 'const' in schema.not) arb = arb.filter((n) => n !== schema.not.const);
      break;
    }
    case 'string':
      if (schema.format === 'date-time') arb = isoDate.map((d) => d.toISOString());
      else if (schema.format === 'date') arb = isoDate.map((d) => d.toISOString().slice(0, 10));
      else if (schema.format === 'email') arb = fc.emailAddress();
      else if (schema.format === 'uri') arb = fc.webUrl();
      else if (schema.pattern) arb = matching(schema.pattern);
      // Free text: ordinary strings, and sometimes hostile ones (NUL, lone surrogates, SQL, RTL...).
      else
        arb = fc.oneof(
          {
            weight: 4,
            arbitrary: fc.string({
              minLength: schema.minLength ?? 0,
              maxLength: Math.min(schema.maxLength ?? 40, 40),
              unit: 'grapheme',
            }),
          },
          { weight: 1, arbitrary: hostile },
        );
      arb = arb.filter(
        (s) =>
          (s as string).length >= (schema.minLength ?? 0) &&
          (s as string).length <= (schema.maxLength ?? Infinity),
      );
      break;
    case 'array': {
      const item = valueFor(schema.items ?? {}, knownIds, depth + 1);
      const constraints = {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(
          schema.minItems ?? 0,
          Math.min(schema.maxItems ?? 3, depth > 1 ? 1 : 3),
        ),
      };
      arb = schema.uniqueItems
        ? fc.uniqueArray(item, { ...constraints, selector: (v) => JSON.stringify(v) })
        : fc.array(item, constraints);
      break;
    }
    default: {
      const properties: Record<string, Schema> = schema.properties ?? {};
      const shape = Object.fromEntries(
        Object.entries(properties).map(([name, s]) => [name, valueFor(s, knownIds, depth + 1)]),
      );
      if (
        schema.additionalProperties &&
        typeof schema.additionalProperties === 'object' &&
        !schema.properties
      ) {
        return fc.dictionary(
          valueFor(
            schema.propertyNames ?? { type: 'string', minLength: 1, maxLength: 10 },
            knownIds,
          ) as fc.Arbitrary<string>,
          valueFor(schema.additionalProperties, knownIds, depth + 1),
          { maxKeys: 3 },
        );
      }
      return fc.record(shape, { requiredKeys: schema.required ?? [] });
    }
  }
  return arb;
}

/** A valid request for the operation: path ids, required headers, and a generated body. */
export function validRequest(
  operationId: string,
  knownIds: readonly string[] = [],
): fc.Arbitrary<SpecRequest> {
  const meta = operations.get(operationId)!;
  const params = parametersOf(meta);
  const query = params.filter((p) => p.in === 'query');
  const bodySchema = bodySchemaOf(meta);
  const pathIds = params
    .filter((p) => p.in === 'path')
    .map((p) => [p.name, valueFor(p.schema, knownIds)] as const);
  return fc
    .record({
      path: fc.record(Object.fromEntries(pathIds)) as fc.Arbitrary<Record<string, string>>,
      query: fc.record(
        Object.fromEntries(query.map((p) => [p.name, valueFor(p.schema, knownIds)])),
        { requiredKeys: [] },
      ),
      body: bodySchema ? valueFor(bodySchema, knownIds) : fc.constant(undefined),
      key: fc.uuid(),
    })
    .map(({ path, query, body, key }) => {
      const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
      const headers: Record<string, string> = {};
      if (meta.idempotency !== 'none') headers['idempotency-key'] = key;
      if (meta.ifMatch === 'required') headers['if-match'] = '"v1"';
      return {
        operationId,
        method: meta.method,
        path:
          meta.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(path[name])) +
          (search.size ? `?${search}` : ''),
        headers,
        json: body,
      };
    });
}

const wrongTyped = fc.oneof(
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constant(true),
  fc.constantFrom(1e308, -1e308, 1e21, 1e-7, 2 ** 53 + 1, -0.5),
  hostile,
);

/**
 * Mutations that make a valid request invalid (schema or protocol), each of which must be a clean
 * 4xx; null for operations that take nothing that could be invalid (e.g. GET /healthz).
 */
export function invalidRequest(
  operationId: string,
  knownIds: readonly string[] = [],
): fc.Arbitrary<SpecRequest & { mutation: string }> | null {
  const meta = operations.get(operationId)!;
  const bodySchema = bodySchemaOf(meta) ? deref(bodySchemaOf(meta)) : undefined;
  if (
    !bodySchema &&
    !meta.paginated &&
    !meta.path.includes('{') &&
    meta.idempotency === 'none' &&
    meta.ifMatch !== 'required'
  )
    return null;
  return fc
    .tuple(validRequest(operationId, knownIds), fc.nat(), wrongTyped, hostile)
    .map(([req, n, wrong, text]) => {
      const mutations: (() => SpecRequest & { mutation: string })[] = [];
      if (bodySchema) {
        mutations.push(() => ({
          ...req,
          raw: ['{', '{"a":', '[1,2', '{"x": tru}', 'null x', '\u0000'][n % 6],
          json: undefined,
          mutation: 'malformed JSON',
        }));
        // Nested far deeper than the 64 levels a body may have, as arrays or as objects.
        mutations.push(() => ({
          ...req,
          raw: n % 2 ? `${'['.repeat(10_000)}${']'.repeat(10_000)}` : deepObject(10_000),
          json: undefined,
          mutation: 'deep JSON',
        }));
        const texts = stringPaths(req.json);
        if (texts.length)
          mutations.push(() => ({
            ...req,
            json: replaceAt(req.json, texts[n % texts.length], UNSTORABLE[n % UNSTORABLE.length]),
            mutation: 'unstorable text',
          }));
      }
      if (meta.paginated)
        mutations.push(() => ({
          ...req,
          path:
            req.path +
            (req.path.includes('?') ? '&' : '?') +
            `limit=${['0', '-1', 'abc', '1e999'][n % 4]}`,
          mutation: 'bad limit',
        }));
      if (meta.path.includes('{'))
        mutations.push(() => ({
          ...req,
          path: meta.path.replace(
            /\{\w+\}/g,
            ['x'.repeat(65), 'x'.repeat(101), '%20', '-starts-with-dash', '%00', '%E0%A4%A'][n % 6],
          ),
          mutation: 'impossible id',
        }));
      if (meta.idempotency === 'required')
        mutations.push(() => ({
          ...req,
          headers: { ...req.headers, 'idempotency-key': undefined as never },
          mutation: 'no Idempotency-Key',
        }));
      if (meta.idempotency !== 'none')
        mutations.push(() => ({
          ...req,
          headers: { ...req.headers, 'idempotency-key': ['k'.repeat(300), 'ü-key', 'a b'][n % 3] },
          mutation: 'bad Idempotency-Key',
        }));
      if (meta.ifMatch === 'required')
        mutations.push(() => ({
          ...req,
          headers: { ...req.headers, 'if-match': undefined as never },
          mutation: 'no If-Match',
        }));
      if (bodySchema?.type === 'object' && req.json && typeof req.json === 'object') {
        const body = req.json as Record<string, unknown>;
        const required: string[] = bodySchema.required ?? [];
        const fields = Object.keys(bodySchema.properties ?? {});
        if (required.length)
          mutations.push(() => {
            const b = { ...body };
            delete b[required[n % required.length]];
            return { ...req, json: b, mutation: `missing ${required[n % required.length]}` };
          });
        mutations.push(() => ({
          ...req,
          json: { ...body, [`unknown_${n % 7}`]: text },
          mutation: 'unknown field',
        }));
        if (fields.length) {
          const field = fields[n % fields.length];
          const fieldTypes = jsonTypesOf(bodySchema.properties[field]);
          const stillValid = (v: unknown) => fieldTypes.has(jsonTypeOf(v));
          if (!stillValid(wrong))
            mutations.push(() => ({
              ...req,
              json: { ...body, [field]: wrong },
              mutation: `wrong-typed ${field}`,
            }));
        }
        const arrays = fields.filter(
          (f) =>
            deref(bodySchema.properties[f]).type === 'array' &&
            deref(bodySchema.properties[f]).maxItems,
        );
        if (arrays.length) {
          const field = arrays[n % arrays.length];
          const item = (body[field] as unknown[] | undefined)?.[0] ?? {};
          mutations.push(() => ({
            ...req,
            json: { ...body, [field]: Array(10_000).fill(item) },
            mutation: `10,000 ${field}`,
          }));
        }
      } else if (bodySchema) {
        mutations.push(() => ({ ...req, json: wrong, mutation: 'body of the wrong type' }));
      }
      return mutations[n % mutations.length]();
    });
}

/** Text PostgreSQL cannot store: NUL, and halves of UTF-16 surrogate pairs (high, low). */
const UNSTORABLE = ['a\u0000b', '\uD800', 'x\uDC00y', 'ok\uDBFF'];

const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Paths of every string value in a JSON value. */
function stringPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  return [];
}

/** A copy of `value` with `replacement` at `path`. */
function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (!path.length) return replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = replaceAt(copy[head], rest, replacement);
  return copy;
}

function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? 'number' : typeof v;
}

/** The JSON types a schema can accept (integer counts as number): a value of another type is surely invalid. */
function jsonTypesOf(schemaIn: Schema): Set<string> {
  const schema = deref(schemaIn);
  if (schema.oneOf || schema.anyOf)
    return new Set((schema.oneOf ?? schema.anyOf).flatMap((s: Schema) => [...jsonTypesOf(s)]));
  if ('const' in schema) return new Set([jsonTypeOf(schema.const)]);
  if (schema.enum) return new Set(schema.enum.map(jsonTypeOf));
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'object'];
  return new Set(types.map((t) => (t === 'integer' ? 'number' : t)));
}

/** Sends a SpecRequest with fetch. */
export function send(baseUrl: string, req: SpecRequest, token: string | null): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (req.raw !== undefined) body = req.raw;
  else if (req.json !== undefined) body = JSON.stringify(req.json);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(baseUrl + req.path, { method: req.method, headers, body });
}

export const servedOperations = [...operations.keys()];
