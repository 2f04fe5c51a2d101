// The published contract, loaded once, and what the server needs to know about each operation.
// Routing, validation, scopes, idempotency and preconditions all come from here, so the server
// enforces exactly what the spec says.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './config.ts';

export type OpenApiDocument = Record<string, any> & { paths: Record<string, Record<string, any>> };

export type HeaderRule = 'required' | 'optional' | 'none';

export interface OperationMeta {
  operationId: string;
  method: string;
  /** OpenAPI path template, e.g. /inventory/items/{id}. */
  path: string;
  /** Scopes required, or null when the operation is public (`security: []`). */
  scopes: string[] | null;
  idempotency: HeaderRule;
  ifMatch: HeaderRule;
  paginated: boolean;
  /** The spec marks the JSON request body as required. */
  bodyRequired: boolean;
}

export const spec: OpenApiDocument = JSON.parse(
  readFileSync(join(repoRoot, 'generated/openapi.json'), 'utf8'),
);

function resolve(obj: any): any {
  if (obj && typeof obj.$ref === 'string') {
    return obj.$ref
      .slice(2)
      .split('/')
      .reduce((node: any, key: string) => node[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return obj;
}

function headerRule(params: any[], name: string): HeaderRule {
  const p = params.find((x) => x.in === 'header' && x.name.toLowerCase() === name);
  return p ? (p.required ? 'required' : 'optional') : 'none';
}

function build(): Map<string, OperationMeta> {
  const ops = new Map<string, OperationMeta>();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters' || !op.operationId) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(resolve);
      const security: Record<string, string[]>[] = op.security ?? spec.security ?? [];
      ops.set(op.operationId, {
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        scopes: security.length === 0 ? null : security.flatMap((req) => Object.values(req).flat()),
        idempotency: headerRule(params, 'idempotency-key'),
        ifMatch: headerRule(params, 'if-match'),
        paginated: params.some((p) => p.in === 'query' && p.name === 'cursor'),
        bodyRequired: resolve(op.requestBody)?.required === true,
      });
    }
  }
  return ops;
}

export const operations: ReadonlyMap<string, OperationMeta> = build();
