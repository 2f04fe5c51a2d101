// Every operation's example request, and the code samples made from it (`x-codeSamples`: curl and
// the SDK), written into the published document by scripts/gen.ts and shown on /docs. The same
// requests are sent to a seeded server by test/examples.test.ts, so a sample is what was tested.
//
// A request is made of what the spec says: path ids from the parameters' examples (those of the
// demo data, see scripts/lib/demo-data.ts), the request body's first example, a fresh
// Idempotency-Key where the operation takes one, and for an operation that requires If-Match the
// ETag of a GET of the resource just before. Query parameters are left out: a sample lists everything.

type Doc = Record<string, any>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export interface ExampleRequest {
  operationId: string;
  method: string;
  /** The path template, e.g. /inventory/items/{id}. */
  template: string;
  pathParams: Record<string, string>;
  /** The path with the example ids filled in. */
  path: string;
  /** The query parameters' own examples (not in the samples, which list everything). */
  query: Record<string, string>;
  authorized: boolean;
  idempotencyKey: boolean;
  /** For an operation that requires If-Match: the GET whose ETag it sends (template and path). */
  etagFrom?: { template: string; path: string };
  /** The request body's examples by name, the first one being the sample's. */
  bodies: { name: string; value: unknown }[];
}

function resolve(doc: Doc, node: any): any {
  if (node && typeof node.$ref === 'string') {
    return resolve(
      doc,
      node.$ref
        .slice(2)
        .split('/')
        .reduce((at: any, key: string) => at[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc),
    );
  }
  return node;
}

function exampleOf(param: any): unknown {
  if (param.example !== undefined) return param.example;
  const named = Object.values<any>(param.examples ?? {})[0];
  if (named?.value !== undefined) return named.value;
  return param.schema?.examples?.[0];
}

const fill = (template: string, params: Record<string, string>) =>
  template.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(params[name] ?? `{${name}}`));

/** The example request of every operation under `paths`, in document order. */
export function exampleRequests(doc: Doc): ExampleRequest[] {
  const requests: ExampleRequest[] = [];
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op?.operationId) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) =>
        resolve(doc, p),
      );
      const header = (name: string) =>
        params.find((p) => p.in === 'header' && p.name.toLowerCase() === name);
      const pathParams = Object.fromEntries(
        params.filter((p) => p.in === 'path').map((p) => [p.name, String(exampleOf(p))]),
      );
      const query = Object.fromEntries(
        params
          .filter((p) => p.in === 'query' && p.example !== undefined)
          .map((p) => [p.name, String(p.example)]),
      );
      const media = resolve(doc, op.requestBody)?.content?.['application/json'];
      const bodies =
        media?.example !== undefined
          ? [{ name: 'example', value: media.example }]
          : Object.entries<any>(media?.examples ?? {}).map(([name, ex]) => ({
              name,
              value: resolve(doc, ex).value,
            }));
      let etagFrom: ExampleRequest['etagFrom'];
      if (header('if-match')?.required) {
        // The resource is the path itself (PUT, DELETE) or, for an action, the path above it.
        const resource = doc.paths[template]?.get
          ? template
          : template.slice(0, template.lastIndexOf('/'));
        if (doc.paths[resource]?.get)
          etagFrom = { template: resource, path: fill(resource, pathParams) };
      }
      requests.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        pathParams,
        path: fill(template, pathParams),
        query,
        authorized: (op.security ?? doc.security ?? []).length > 0,
        idempotencyKey: header('idempotency-key') !== undefined,
        etagFrom,
        bodies,
      });
    }
  }
  return requests;
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function curl(req: ExampleRequest): string {
  const auth = req.authorized ? ['-H "Authorization: Bearer $TOKEN"'] : [];
  const lines: string[] = [];
  if (req.etagFrom) {
    lines.push(
      '# If-Match: the ETag of the resource as you last read it',
      `ETAG=$(curl -s -o /dev/null -D - "$API${req.etagFrom.path}" ${auth.join(' ')} \\`,
      `  | tr -d '\\r' | awk 'tolower($1) == "etag:" { print $2 }')`,
    );
  }
  const args = [`curl -X ${req.method} "$API${req.path}"`, ...auth];
  if (req.idempotencyKey) args.push('-H "Idempotency-Key: $(node -p "crypto.randomUUID()")"');
  if (req.etagFrom) args.push('-H "If-Match: $ETAG"');
  const body = req.bodies[0]?.value;
  if (body !== undefined)
    args.push(`-H 'Content-Type: application/json'`, `-d ${shellQuote(JSON.stringify(body))}`);
  lines.push(args.join(' \\\n  '));
  return lines.join('\n');
}

/** A JSON value as a TypeScript expression (keys unquoted where they can be), indented to sit at `indent`. */
const literal = (value: unknown, indent: string) =>
  JSON.stringify(value, null, 2)
    .replace(/^(\s*)"([A-Za-z_$][\w$]*)":/gm, '$1$2:')
    .replace(/\n/g, `\n${indent}`);

function sdk(req: ExampleRequest): string {
  const lines = [
    "import { createApiClient } from '@inventory-api/sdk';",
    '',
    'const api = createApiClient({ baseUrl: process.env.API_URL, token: process.env.API_TOKEN });',
  ];
  const ids = Object.entries(req.pathParams).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  const path = ids.length ? `path: { ${ids.join(', ')} }` : undefined;
  if (req.etagFrom) {
    const init = req.etagFrom.template.includes('{') ? `, { params: { ${path} } }` : '';
    lines.push(
      '// If-Match: the ETag of the resource as you last read it',
      `const { response } = await api.GET('${req.etagFrom.template}'${init});`,
    );
  }
  const header: string[] = [];
  if (req.idempotencyKey) header.push("'Idempotency-Key': crypto.randomUUID()");
  if (req.etagFrom) header.push("'If-Match': response.headers.get('ETag') ?? ''");
  const params = [path, header.length ? `header: { ${header.join(', ')} }` : undefined].filter(
    Boolean,
  );
  const init: string[] = [];
  if (params.length) init.push(`  params: { ${params.join(', ')} },`);
  const body = req.bodies[0]?.value;
  if (body !== undefined) init.push(`  body: ${literal(body, '  ')},`);
  const call = `api.${req.method}('${req.template}'${init.length ? `, {\n${init.join('\n')}\n}` : ''})`;
  lines.push(`const { data, error } = await ${call};`);
  return lines.join('\n');
}

export interface CodeSample {
  lang: 'Shell' | 'TypeScript';
  label: 'curl' | 'SDK';
  source: string;
}

/** The `x-codeSamples` of an operation: curl, then the SDK. */
export function codeSamples(req: ExampleRequest): CodeSample[] {
  return [
    { lang: 'Shell', label: 'curl', source: curl(req) },
    { lang: 'TypeScript', label: 'SDK', source: sdk(req) },
  ];
}
