// What a client of one version of the contract would notice in another: the breaking changes
// between two OpenAPI documents, read by the compatibility policy at the top of CHANGELOG.md, and
// whether the changelog announces them (the convention is written there too). Used by
// test/released-spec.test.ts on every pair of versions. Inputs (parameters, request bodies) must
// not narrow; outputs (success responses, webhook event bodies) must not widen, except for what
// the policy lists as compatible: new response fields and new event types. It is deliberately
// simple: it compares schemas structurally, keyword by keyword, and says "changed" where it cannot
// tell narrower from wider (a pattern, a oneOf of another length).

type Doc = Record<string, any>;
type Direction = 'in' | 'out';

export interface BreakingChange {
  /** The operation (its operationId), or the webhook's operation for an event. */
  operation: string;
  /** `GET /inventory/items`, or for a webhook the event type (`inventory.receipt.posted`). */
  route: string;
  /** Where in the operation: `request body`, `response 200 application/json`, `query parameter limit`, `security`. */
  where: string;
  /** The field (`lines[].warehouse_id`), parameter or scope the change is about; '' for the operation itself. */
  name: string;
  message: string;
  /** Backticked names any one of which identifies what the change applies to. */
  subjects: string[];
  /** Backticked names any one of which identifies the field, parameter or scope. */
  names: string[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const UPPER_BOUNDS = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
const LOWER_BOUNDS = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];

function pointer(doc: Doc, ref: string): any {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are compared, not ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce((node: any, key: string) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

/** Follows $refs (of parameters, bodies, responses) to the object itself. */
function deref(doc: Doc, node: any): any {
  let n = node;
  for (let i = 0; n && typeof n.$ref === 'string' && i < 20; i++) n = pointer(doc, n.$ref);
  return n;
}

const componentName = (ref: string) => /^#\/components\/\w+\/([^/]+)$/.exec(ref)?.[1];

/** One schema being walked: the path from the operation's body, and every component entered on the way. */
interface Place {
  path: string;
  frames: { name: string; path: string }[];
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const extend = (place: Place, key: string, array = false): Place => {
  const step = (p: string) => (array ? `${p}[]` : join(p, key));
  return {
    path: step(place.path),
    frames: place.frames.map((f) => ({ name: f.name, path: step(f.path) })),
  };
};

function typesOf(schema: any): Set<string> | undefined {
  if (schema.type === undefined) return undefined;
  return new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
}

/** `narrow` accepts `t` (an integer is a number). */
function accepts(types: Set<string> | undefined, t: string) {
  return !types || types.has(t) || (t === 'integer' && types.has('number'));
}

class Differ {
  readonly changes: BreakingChange[] = [];
  private readonly oldEvents: Set<string>;
  private readonly newEvents: Set<string>;

  constructor(
    readonly older: Doc,
    readonly newer: Doc,
  ) {
    this.oldEvents = new Set(Object.keys(older.webhooks ?? {}));
    this.newEvents = new Set(Object.keys(newer.webhooks ?? {}));
  }

  run() {
    const newById = new Map<string, { method: string; path: string; op: any; item: any }>();
    for (const [path, item, method, op] of this.operationsOf(this.newer))
      newById.set(op.operationId, { method, path, op, item });
    for (const [path, item, method, op] of this.operationsOf(this.older)) {
      const route = `${method.toUpperCase()} ${path}`;
      const base = { operation: op.operationId, route, subjects: [op.operationId, route, path] };
      const now = newById.get(op.operationId);
      if (!now) {
        this.add(base, 'operation', '', 'the operation is gone');
        continue;
      }
      if (now.method !== method || now.path !== path) {
        this.add(
          base,
          'operation',
          '',
          `moved to ${now.method.toUpperCase()} ${now.path}`,
          [],
          [`${now.method.toUpperCase()} ${now.path}`],
        );
        continue;
      }
      this.compareOperation(base, item, op, now.item, now.op);
    }
    for (const [event, item] of Object.entries<any>(this.older.webhooks ?? {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const base = {
          operation: op.operationId ?? event,
          route: event,
          subjects: [event, ...(op.operationId ? [op.operationId] : [])],
        };
        const now = this.newer.webhooks?.[event]?.[method];
        if (!now) {
          this.add(base, 'webhook', '', 'the event is no longer sent');
          continue;
        }
        // The API sends the event: its body is an output, as a response is.
        this.compareBodies(base, 'event body', op.requestBody, now.requestBody, 'out');
      }
    }
    return this.changes;
  }

  private *operationsOf(doc: Doc): Generator<[string, any, string, any]> {
    for (const [path, item] of Object.entries<any>(doc.paths ?? {}))
      for (const method of METHODS)
        if (item[method]?.operationId) yield [path, item, method, item[method]];
  }

  private add(
    base: Pick<BreakingChange, 'operation' | 'route' | 'subjects'>,
    where: string,
    name: string,
    message: string,
    extraSubjects: string[] = [],
    extraNames: string[] = [],
  ) {
    this.changes.push({
      ...base,
      where,
      name,
      message,
      subjects: [...new Set([...base.subjects, ...extraSubjects])],
      names: [...new Set([...(name ? [name] : []), ...extraNames])],
    });
  }

  private compareOperation(
    base: Pick<BreakingChange, 'operation' | 'route' | 'subjects'>,
    oldItem: any,
    oldOp: any,
    newItem: any,
    newOp: any,
  ) {
    // Security: every set of scopes that was enough must still be enough.
    const oldSec: Record<string, string[]>[] = oldOp.security ?? this.older.security ?? [];
    const newSec: Record<string, string[]>[] = newOp.security ?? this.newer.security ?? [];
    if (oldSec.length === 0 || oldSec.some((req) => Object.keys(req).length === 0)) {
      if (newSec.length > 0 && !newSec.some((req) => Object.keys(req).length === 0))
        for (const scheme of new Set(newSec.flatMap(Object.keys)))
          this.add(base, 'security', scheme, `a public operation now needs ${scheme}`);
    } else {
      for (const had of oldSec) {
        const covered = newSec.some((req) =>
          Object.entries(req).every(([scheme, scopes]) =>
            scopes.every((s) => had[scheme]?.includes(s)),
          ),
        );
        if (covered) continue;
        // Name the scopes the closest new requirement adds to what was enough.
        const missing = new Set<string>();
        for (const req of newSec)
          for (const [scheme, scopes] of Object.entries(req)) {
            if (!had[scheme]) missing.add(scheme);
            for (const s of scopes) if (!had[scheme]?.includes(s)) missing.add(s);
          }
        for (const scope of missing)
          this.add(base, 'security', scope, `now needs ${scope} (enough was: ${describe(had)})`);
      }
    }

    // Parameters, by where and name; the operation's override the path's.
    const params = (doc: Doc, item: any, op: any) => {
      const all = new Map<string, { p: any; component?: string }>();
      for (const raw of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
        const p = deref(doc, raw);
        const key = `${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`;
        all.set(key, { p, component: raw.$ref ? componentName(raw.$ref) : undefined });
      }
      return all;
    };
    const oldParams = params(this.older, oldItem, oldOp);
    const newParams = params(this.newer, newItem, newOp);
    for (const [key, { p, component }] of oldParams) {
      const where = `${p.in} parameter ${p.name}`;
      const extra = component ? [component] : [];
      const now = newParams.get(key);
      if (!now) {
        this.add(base, where, p.name, 'the parameter is gone', extra);
        continue;
      }
      if (!p.required && now.p.required)
        this.add(base, where, p.name, 'the parameter is now required', extra);
      if (p.schema && now.p.schema)
        this.compareSchema(
          { ...base, subjects: [...base.subjects, ...extra] },
          where,
          p.schema,
          now.p.schema,
          'in',
          { path: p.name, frames: [] },
          new Set(),
        );
    }
    for (const [key, { p, component }] of newParams)
      if (!oldParams.has(key) && p.required)
        this.add(
          base,
          `${p.in} parameter ${p.name}`,
          p.name,
          'a new required parameter',
          component ? [component] : [],
        );

    this.compareBodies(base, 'request body', oldOp.requestBody, newOp.requestBody, 'in');

    // Success responses: each must still come, with no less in it.
    for (const [status, raw] of Object.entries<any>(oldOp.responses ?? {})) {
      if (!/^2(\d\d|XX)$/.test(status)) continue;
      const now = newOp.responses?.[status];
      if (!now) {
        this.add(base, `response ${status}`, '', `the ${status} response is gone`);
        continue;
      }
      const before = deref(this.older, raw);
      const after = deref(this.newer, now);
      for (const [media, content] of Object.entries<any>(before.content ?? {})) {
        const where = `response ${status} ${media}`;
        const nowContent = after.content?.[media];
        if (!nowContent) this.add(base, where, '', `no longer answers ${media}`);
        else if (content.schema && nowContent.schema)
          this.compareSchema(
            base,
            where,
            content.schema,
            nowContent.schema,
            'out',
            { path: '', frames: [] },
            new Set(),
          );
      }
    }
  }

  private compareBodies(
    base: Pick<BreakingChange, 'operation' | 'route' | 'subjects'>,
    where: string,
    oldRaw: any,
    newRaw: any,
    dir: Direction,
  ) {
    const before = deref(this.older, oldRaw);
    const after = deref(this.newer, newRaw);
    if (!before) {
      if (after?.required && dir === 'in') this.add(base, where, '', 'a body is now required');
      return;
    }
    if (!after) {
      this.add(base, where, '', 'the body is gone');
      return;
    }
    if (dir === 'in' && !before.required && after.required)
      this.add(base, where, '', 'the body is now required');
    for (const [media, content] of Object.entries<any>(before.content ?? {})) {
      const nowContent = after.content?.[media];
      if (!nowContent) this.add(base, `${where} ${media}`, '', `${media} is no longer accepted`);
      else if (content.schema && nowContent.schema)
        this.compareSchema(
          base,
          where,
          content.schema,
          nowContent.schema,
          dir,
          { path: '', frames: [] },
          new Set(),
        );
    }
  }

  private compareSchema(
    base: Pick<BreakingChange, 'operation' | 'route' | 'subjects'>,
    where: string,
    oldRaw: any,
    newRaw: any,
    dir: Direction,
    at: Place,
    seen: Set<string>,
  ) {
    // Entering a component: remember it, so that the change can be named by it (`Receipt.match`).
    let place = at;
    if (oldRaw?.$ref || newRaw?.$ref) {
      const key = `${oldRaw?.$ref}|${newRaw?.$ref}`;
      if (seen.has(key)) return; // a recursive schema: this pair is being compared further up
      seen = new Set(seen).add(key);
      const name = componentName(newRaw?.$ref ?? oldRaw.$ref);
      if (name) place = { path: at.path, frames: [...at.frames, { name, path: '' }] };
    }
    const o = deref(this.older, oldRaw);
    const n = deref(this.newer, newRaw);
    if (o === undefined || n === undefined || typeof o === 'boolean' || typeof n === 'boolean') {
      // `true`/`false` schemas are not used in the specs beyond additionalProperties (below).
      if (JSON.stringify(o) !== JSON.stringify(n))
        this.report(base, where, place, `the schema changed from ${j(o)} to ${j(n)}`);
      return;
    }
    const say = (message: string, detail?: string) =>
      this.report(base, where, place, message, detail);
    const narrowing = dir === 'in';

    // Types: an input accepts no less, an output gives no more.
    const ot = typesOf(o);
    const nt = typesOf(n);
    const lost = (from: Set<string> | undefined, to: Set<string> | undefined) =>
      from ? [...from].filter((t) => !accepts(to, t)) : to ? ['any type'] : [];
    const dropped = narrowing ? lost(ot, nt) : lost(nt, ot);
    if (dropped.length)
      say(
        `type ${narrowing ? 'narrowed' : 'widened'} from ${j(o.type ?? 'any')} to ${j(n.type ?? 'any')}`,
      );

    // Enums and consts.
    const oe: unknown[] | undefined = o.enum ?? ('const' in o ? [o.const] : undefined);
    const ne: unknown[] | undefined = n.enum ?? ('const' in n ? [n.const] : undefined);
    if (narrowing) {
      if (ne) {
        if (!oe) say(`now limited to ${j(ne)}`);
        else
          for (const v of oe)
            if (!ne.some((x) => JSON.stringify(x) === JSON.stringify(v)))
              say(`the value ${j(v)} is no longer accepted`, String(v));
      }
    } else if (oe) {
      // New event types are compatible (the policy): an enum of event types is open.
      const open =
        oe.every((v) => this.oldEvents.has(String(v))) &&
        (ne ?? []).every((v) => this.newEvents.has(String(v)));
      if (!ne) say(`no longer limited to ${j(oe)}`);
      else if (!open)
        for (const v of ne)
          if (!oe.some((x) => JSON.stringify(x) === JSON.stringify(v)))
            say(`may now be ${j(v)}`, String(v));
    }

    // Bounds: an input's may not close in, an output's may not open up.
    const [tighter, looser] = narrowing ? [n, o] : [o, n];
    for (const k of UPPER_BOUNDS)
      if (tighter[k] !== undefined && (looser[k] === undefined || looser[k] > tighter[k]))
        say(`${k} ${describeBound(o[k])} → ${describeBound(n[k])}`);
    for (const k of LOWER_BOUNDS)
      if (tighter[k] !== undefined && (looser[k] === undefined || looser[k] < tighter[k]))
        say(`${k} ${describeBound(o[k])} → ${describeBound(n[k])}`);
    for (const k of ['pattern', 'format', 'multipleOf'])
      if (tighter[k] !== undefined && tighter[k] !== looser[k])
        say(`${k} ${describeBound(o[k])} → ${describeBound(n[k])}`);
    if (tighter.uniqueItems && !looser.uniqueItems)
      say(`uniqueItems ${!!o.uniqueItems} → ${!!n.uniqueItems}`);
    if (JSON.stringify(o.not) !== JSON.stringify(n.not))
      say(`not ${j(o.not ?? null)} → ${j(n.not ?? null)}`);

    // Objects: no input field dropped or newly required, no output field dropped or made optional.
    const oProps: Record<string, any> = o.properties ?? {};
    const nProps: Record<string, any> = n.properties ?? {};
    const oReq = new Set<string>(o.required ?? []);
    const nReq = new Set<string>(n.required ?? []);
    for (const [key, schema] of Object.entries(oProps)) {
      const field = extend(place, key);
      if (!(key in nProps)) this.report(base, where, field, 'the field is gone');
      else {
        if (narrowing && !oReq.has(key) && nReq.has(key))
          this.report(base, where, field, 'the field is now required');
        if (!narrowing && oReq.has(key) && !nReq.has(key))
          this.report(base, where, field, 'the field is now optional (may be left out)');
        this.compareSchema(base, where, schema, nProps[key], dir, field, seen);
      }
    }
    if (narrowing)
      for (const key of nReq)
        if (!(key in oProps) && !oReq.has(key))
          this.report(base, where, extend(place, key), 'a new required field');
    if (narrowing && o.additionalProperties !== false && n.additionalProperties === false)
      say('additionalProperties tightened to false: fields it accepted are refused');
    if (isSchema(o.additionalProperties) && isSchema(n.additionalProperties))
      this.compareSchema(
        base,
        where,
        o.additionalProperties,
        n.additionalProperties,
        dir,
        extend(place, '{}', false),
        seen,
      );
    if (isSchema(o.propertyNames) || isSchema(n.propertyNames))
      this.compareSchema(
        base,
        where,
        o.propertyNames ?? {},
        n.propertyNames ?? {},
        dir,
        place,
        seen,
      );

    // Arrays and alternatives.
    if (o.items && n.items)
      this.compareSchema(base, where, o.items, n.items, dir, extend(place, '', true), seen);
    for (const k of ['oneOf', 'anyOf', 'allOf']) {
      const a: any[] | undefined = o[k];
      const b: any[] | undefined = n[k];
      if (!a && !b) continue;
      if (a && b && a.length === b.length)
        for (const [i, s] of a.entries())
          this.compareSchema(base, where, s, b[i], dir, place, seen);
      else say(`${k} changed (${a?.length ?? 0} → ${b?.length ?? 0} alternatives)`);
    }
  }

  private report(
    base: Pick<BreakingChange, 'operation' | 'route' | 'subjects'>,
    where: string,
    place: Place,
    message: string,
    detail?: string,
  ) {
    const leaf = place.path.replace(/\[\]/g, '').split('.').filter(Boolean).at(-1) ?? '';
    const named = place.frames
      .filter((f) => f.path.replace(/\[\]/g, ''))
      .map((f) => `${f.name}.${f.path.replace(/^\[\]\.?/, '')}`);
    const bare = named.map((n) => n.replace(/\[\]/g, ''));
    const subjects = [...place.frames.map((f) => f.name), ...named, ...bare];
    const names = [place.path, leaf, ...named, ...bare, ...(detail ? [detail] : [])].filter(
      Boolean,
    );
    this.add(base, where, place.path, message, subjects, names);
  }
}

const isSchema = (x: unknown) => typeof x === 'object' && x !== null;
const j = (x: unknown) => JSON.stringify(x);
const describeBound = (x: unknown) => (x === undefined ? 'none' : j(x));
const describe = (req: Record<string, string[]>) =>
  Object.entries(req)
    .map(([scheme, scopes]) => `${scheme} [${scopes.join(' ')}]`)
    .join(' + ') || 'no token';

/** The breaking changes a client of `older` meets in `newer`. */
export function breakingChanges(older: Doc, newer: Doc): BreakingChange[] {
  return new Differ(older, newer).run();
}

/** One bullet of the changelog (its wrapped lines joined), with its version and subsection. */
export interface ChangelogEntry {
  version: string;
  heading: string;
  text: string;
  /** Its backticked names. */
  names: Set<string>;
}

/** Every bullet of CHANGELOG.md's version sections (`## 1.1.0 — date`, `### Changed ...`). */
export function changelogEntries(markdown: string): ChangelogEntry[] {
  const entries: ChangelogEntry[] = [];
  let version: string | undefined;
  let heading = '';
  let current: ChangelogEntry | undefined;
  for (const line of markdown.split('\n')) {
    const v = /^## +v?(\d+\.\d+\.\d+\S*)/.exec(line);
    if (v) {
      version = v[1];
      heading = '';
      current = undefined;
      continue;
    }
    const h = /^### +(.*)/.exec(line);
    if (h) {
      heading = h[1].trim();
      current = undefined;
      continue;
    }
    if (!version) continue;
    if (/^[-*] /.test(line)) {
      current = { version, heading, text: line.slice(2), names: new Set() };
      entries.push(current);
    } else if (current && /^\s+\S/.test(line)) current.text += ` ${line.trim()}`;
    else current = undefined;
  }
  for (const e of entries)
    for (const [, name] of e.text.matchAll(/`([^`]+)`/g)) e.names.add(name.trim());
  return entries;
}

/** Bullets that may announce a breaking change: those under a `### Changed…` or `### Breaking…` heading. */
export const announcing = (e: ChangelogEntry) => /^(changed|breaking)\b/i.test(e.heading);

/** The bullet that announces `change`: it names, in backticks, one of its subjects and one of its names. */
export function announcement(
  change: BreakingChange,
  entries: ChangelogEntry[],
): ChangelogEntry | undefined {
  const names = change.names.length ? change.names : change.subjects;
  return entries.find(
    (e) =>
      announcing(e) &&
      change.subjects.some((s) => e.names.has(s)) &&
      names.some((n) => e.names.has(n)),
  );
}

/** Orders `1.10.0` after `1.9.0`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}
