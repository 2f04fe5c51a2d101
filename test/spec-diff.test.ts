// The comparison of contracts (scripts/lib/spec-diff.ts) on small hand-made specs: each kind of
// breaking change the compatibility policy (CHANGELOG.md) names is found, the compatible ones are
// not, and an announcement is recognised by the convention at the top of CHANGELOG.md.
import t from 'tap';
import {
  announcement,
  breakingChanges,
  changelogEntries,
  compareVersions,
} from '../scripts/lib/spec-diff.ts';

const ok = (ref: string) => ({
  description: 'OK',
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

function base(): any {
  return {
    openapi: '3.1.0',
    info: { title: 'things', version: '1.0.0' },
    security: [{ oauth2: [] }],
    'x-problem-types': { 'not-found': { status: 404, title: 'Not found' } },
    paths: {
      '/things': {
        get: {
          operationId: 'listThings',
          security: [{ oauth2: ['things:read'] }],
          parameters: [
            { $ref: '#/components/parameters/Limit' },
            { name: 'status', in: 'query', schema: { type: 'string', enum: ['A', 'B'] } },
            {
              name: 'q',
              in: 'query',
              schema: { type: 'string', maxLength: 50, pattern: '^\\w+$' },
            },
          ],
          responses: { '200': ok('ThingList') },
        },
        post: {
          operationId: 'createThing',
          security: [{ oauth2: ['things:write'] }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/ThingCreate' } },
            },
          },
          responses: { '201': ok('Thing') },
        },
      },
      '/things/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getThing',
          security: [{ oauth2: ['things:read'] }],
          responses: {
            '200': ok('Thing'),
            '404': { description: 'Not found' },
          },
        },
      },
      '/health': {
        get: { operationId: 'health', security: [], responses: { '200': { description: 'up' } } },
      },
    },
    webhooks: {
      'thing.created': {
        post: {
          operationId: 'onThingCreated',
          security: [],
          requestBody: {
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/ThingEvent' } },
            },
          },
          responses: { '200': { description: 'received' } },
        },
      },
    },
    components: {
      parameters: {
        Limit: {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 100 },
        },
      },
      schemas: {
        Status: { type: 'string', enum: ['A', 'B'] },
        EventType: { type: 'string', enum: ['thing.created'] },
        Thing: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name', 'status'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            status: { $ref: '#/components/schemas/Status' },
            size: { type: 'integer' },
            events: { type: 'array', items: { $ref: '#/components/schemas/EventType' } },
            parent: { $ref: '#/components/schemas/Thing' },
          },
        },
        ThingList: {
          type: 'object',
          required: ['data'],
          properties: { data: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } },
        },
        ThingCreate: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            size: { type: 'integer', minimum: 0, maximum: 10 },
            kind: { type: 'string', enum: ['x', 'y'] },
            meta: { type: 'object' },
            tags: { type: 'array', items: { type: 'string' } },
          },
        },
        ThingEvent: {
          type: 'object',
          required: ['type', 'data'],
          properties: {
            type: { const: 'thing.created' },
            data: { $ref: '#/components/schemas/Thing' },
          },
        },
      },
    },
  };
}

const changed = (edit: (spec: any) => void) => {
  const after = base();
  edit(after);
  return breakingChanges(base(), after);
};
const schemas = (spec: any) => spec.components.schemas;
const param = (spec: any, path: string, method: string, name: string) =>
  spec.paths[path][method].parameters.find((p: any) => p.name === name);

t.test('the base spec against itself: nothing', async (t) => {
  t.same(breakingChanges(base(), base()), []);
});

// Each case: the edit, and the (operation, name, message) the comparison must report.
const breaking: [string, (s: any) => void, [string, string, RegExp][]][] = [
  ['an operation removed', (s) => delete s.paths['/things/{id}'].get, [['getThing', '', /gone/]]],
  [
    'an operation moved',
    (s) => {
      s.paths['/items/{id}'] = s.paths['/things/{id}'];
      delete s.paths['/things/{id}'];
    },
    [['getThing', '', /moved to GET \/items\/\{id\}/]],
  ],
  [
    'a parameter removed',
    (s) => s.paths['/things'].get.parameters.pop(),
    [['listThings', 'q', /gone/]],
  ],
  [
    'a parameter newly required',
    (s) => (s.components.parameters.Limit.required = true),
    [['listThings', 'limit', /now required/]],
  ],
  [
    'a new required parameter',
    (s) =>
      s.paths['/things'].get.parameters.push({
        name: 'X-Tenant',
        in: 'header',
        required: true,
        schema: { type: 'string' },
      }),
    [['listThings', 'X-Tenant', /new required parameter/]],
  ],
  [
    "a parameter's type changed",
    (s) => (s.components.parameters.Limit.schema.type = 'string'),
    [['listThings', 'limit', /type narrowed/]],
  ],
  [
    "a parameter's enum value removed",
    (s) => (param(s, '/things', 'get', 'status').schema.enum = ['A']),
    [['listThings', 'status', /"B" is no longer accepted/]],
  ],
  [
    "a parameter's maxLength lowered",
    (s) => (param(s, '/things', 'get', 'q').schema.maxLength = 20),
    [['listThings', 'q', /maxLength 50 → 20/]],
  ],
  [
    "a parameter's maximum lowered",
    (s) => (s.components.parameters.Limit.schema.maximum = 50),
    [['listThings', 'limit', /maximum 100 → 50/]],
  ],
  [
    "a parameter's minimum raised",
    (s) => (s.components.parameters.Limit.schema.minimum = 5),
    [['listThings', 'limit', /minimum 1 → 5/]],
  ],
  [
    "a parameter's pattern changed",
    (s) => (param(s, '/things', 'get', 'q').schema.pattern = '^[a-z]+$'),
    [['listThings', 'q', /pattern/]],
  ],
  [
    "a body field's minLength raised",
    (s) => (schemas(s).ThingCreate.properties.name.minLength = 3),
    [['createThing', 'name', /minLength 1 → 3/]],
  ],
  [
    'a body field removed',
    (s) => delete schemas(s).ThingCreate.properties.kind,
    [['createThing', 'kind', /gone/]],
  ],
  [
    'a body field newly required',
    (s) => schemas(s).ThingCreate.required.push('size'),
    [['createThing', 'size', /now required/]],
  ],
  [
    'a new required body field',
    (s) => {
      schemas(s).ThingCreate.properties.owner = { type: 'string' };
      schemas(s).ThingCreate.required.push('owner');
    },
    [['createThing', 'owner', /new required field/]],
  ],
  [
    "a body field's enum narrowed",
    (s) => (schemas(s).ThingCreate.properties.kind.enum = ['x']),
    [['createThing', 'kind', /"y" is no longer accepted/]],
  ],
  [
    "a body array's items narrowed",
    (s) => (schemas(s).ThingCreate.properties.tags.items.maxLength = 10),
    [['createThing', 'tags[]', /maxLength none → 10/]],
  ],
  [
    'additionalProperties tightened',
    (s) => (schemas(s).ThingCreate.properties.meta.additionalProperties = false),
    [['createThing', 'meta', /additionalProperties tightened/]],
  ],
  [
    'a response field removed',
    (s) => delete schemas(s).Thing.properties.size,
    [
      ['listThings', 'data[].size', /gone/],
      ['createThing', 'size', /gone/],
      ['getThing', 'size', /gone/],
      ['onThingCreated', 'data.size', /gone/],
    ],
  ],
  [
    'a response field made optional',
    (s) => (schemas(s).Thing.required = ['id', 'name']),
    [
      ['listThings', 'data[].status', /now optional/],
      ['createThing', 'status', /now optional/],
      ['getThing', 'status', /now optional/],
      ['onThingCreated', 'data.status', /now optional/],
    ],
  ],
  [
    "a response field's type changed",
    (s) => (schemas(s).Thing.properties.size.type = 'string'),
    [
      ['listThings', 'data[].size', /type widened/],
      ['createThing', 'size', /type widened/],
      ['getThing', 'size', /type widened/],
      ['onThingCreated', 'data.size', /type widened/],
    ],
  ],
  [
    'a response field may now be null',
    (s) => (schemas(s).Thing.properties.name.type = ['string', 'null']),
    [
      ['listThings', 'data[].name', /type widened/],
      ['createThing', 'name', /type widened/],
      ['getThing', 'name', /type widened/],
      ['onThingCreated', 'data.name', /type widened/],
    ],
  ],
  [
    // Only event types and problem types are open (CHANGELOG.md): a new status is breaking.
    'an enum value added to a response field',
    (s) => schemas(s).Status.enum.push('C'),
    [
      ['listThings', 'data[].status', /may now be "C"/],
      ['createThing', 'status', /may now be "C"/],
      ['getThing', 'status', /may now be "C"/],
      ['onThingCreated', 'data.status', /may now be "C"/],
    ],
  ],
  [
    'a success status removed',
    (s) => {
      const post = s.paths['/things'].post;
      post.responses = { '200': post.responses['201'] };
    },
    [['createThing', '', /201 response is gone/]],
  ],
  [
    'a new scope required',
    (s) => s.paths['/things'].get.security[0].oauth2.push('things:admin'),
    [['listThings', 'things:admin', /now needs things:admin/]],
  ],
  [
    'a scope replaced',
    (s) => (s.paths['/things/{id}'].get.security = [{ oauth2: ['things:admin'] }]),
    [['getThing', 'things:admin', /now needs things:admin/]],
  ],
  [
    'a public operation secured',
    (s) => delete s.paths['/health'].get.security,
    [['health', 'oauth2', /public operation now needs oauth2/]],
  ],
  [
    'an event no longer sent',
    (s) => delete s.webhooks['thing.created'],
    [['onThingCreated', '', /no longer sent/]],
  ],
];

for (const [name, edit, expected] of breaking) {
  t.test(`found: ${name}`, async (t) => {
    const found = changed(edit).map((c) => [c.operation, c.name, c.message]);
    t.equal(found.length, expected.length, JSON.stringify(found));
    for (const [operation, field, message] of expected)
      t.ok(
        found.some(([o, n, m]) => o === operation && n === field && message.test(m)),
        `${operation} ${field} ${message}`,
      );
  });
}

const compatible: [string, (s: any) => void][] = [
  [
    'a new optional body field',
    (s) => (schemas(s).ThingCreate.properties.colour = { type: 'string' }),
  ],
  [
    'a new optional parameter',
    (s) =>
      s.paths['/things'].get.parameters.push({
        name: 'sort',
        in: 'query',
        schema: { type: 'string' },
      }),
  ],
  [
    'a new operation',
    (s) =>
      (s.paths['/things/{id}'].delete = {
        operationId: 'deleteThing',
        security: [{ oauth2: ['things:admin'] }],
        responses: { '204': { description: 'gone' } },
      }),
  ],
  [
    'a new response field, even a required one in a closed schema',
    (s) => {
      schemas(s).Thing.properties.owner = { type: 'string' };
      schemas(s).Thing.required.push('owner');
    },
  ],
  [
    'a new problem type',
    (s) => {
      s['x-problem-types'].gone = { status: 410, title: 'Gone' };
      s.paths['/things/{id}'].get.responses['410'] = { description: 'Gone' };
    },
  ],
  [
    'a new event type',
    (s) => {
      s.webhooks['thing.deleted'] = structuredClone(s.webhooks['thing.created']);
      s.webhooks['thing.deleted'].post.operationId = 'onThingDeleted';
      schemas(s).EventType.enum.push('thing.deleted');
    },
  ],
  ['a request enum value added', (s) => schemas(s).ThingCreate.properties.kind.enum.push('z')],
  ['an input widened', (s) => (schemas(s).ThingCreate.properties.name.maxLength = 200)],
  ['a response field made required', (s) => schemas(s).Thing.required.push('size')],
  ['a response enum value removed', (s) => (schemas(s).Status.enum = ['A'])],
  ['a parameter made optional', (s) => (s.paths['/things/{id}'].parameters[0].required = false)],
  ['a scope no longer needed', (s) => (s.paths['/things'].get.security = [{ oauth2: [] }])],
  ['a description changed', (s) => (schemas(s).Thing.description = 'A thing.')],
];

for (const [name, edit] of compatible) {
  t.test(`not flagged: ${name}`, async (t) => {
    t.same(changed(edit), []);
  });
}

t.test('an announcement names the subject and the field in backticks, under Changed', async (t) => {
  const entries = changelogEntries(`# Changelog

Header text with \`getThing\` and \`size\`: not a version's section.

## 1.1.0 — 2027-01-01

### Changed — clients may notice
- **\`GET /things/{id}\`** may leave out
  \`status\` now.
- \`Thing.size\` is gone.
- \`listThings\` needs \`things:admin\`.

### Added
- \`createThing\` takes \`colour\`, and \`getThing\` no longer \`name\`.

## 1.0.0 — 2026-12-07

- The first release.
`);
  t.same(
    entries.map((e) => [e.version, e.heading, [...e.names]]),
    [
      ['1.1.0', 'Changed — clients may notice', ['GET /things/{id}', 'status']],
      ['1.1.0', 'Changed — clients may notice', ['Thing.size']],
      ['1.1.0', 'Changed — clients may notice', ['listThings', 'things:admin']],
      ['1.1.0', 'Added', ['createThing', 'colour', 'getThing', 'name']],
      ['1.0.0', '', []],
    ],
  );
  const by = (edit: (s: any) => void) => changed(edit);
  const status = by((s) => (schemas(s).Thing.required = ['id', 'name']));
  const get = status.find((c) => c.operation === 'getThing');
  const list = status.find((c) => c.operation === 'listThings');
  t.ok(get && announcement(get, entries), 'by METHOD /path and field, over a wrapped line');
  t.notOk(list && announcement(list, entries), 'another operation is not announced by it');
  const size = by((s) => delete schemas(s).Thing.properties.size);
  t.equal(size.length, 4);
  t.ok(
    size.every((c) => announcement(c, entries)),
    'Schema.field announces it in every operation and event',
  );
  const scope = by((s) => s.paths['/things'].get.security[0].oauth2.push('things:admin'));
  t.ok(announcement(scope[0], entries), 'by operationId and scope');
  const name = by((s) => delete schemas(s).Thing.properties.name).find(
    (c) => c.operation === 'getThing',
  );
  t.notOk(name && announcement(name, entries), 'a bullet under Added announces nothing');
  const removed = by((s) => delete s.paths['/things'].get);
  t.ok(announcement(removed[0], entries), 'an operation removed: naming it is enough');
});

t.test('versions in order', async (t) => {
  t.same(['1.10.0', '1.2.0', '1.1.0', '2.0.0'].sort(compareVersions), [
    '1.1.0',
    '1.2.0',
    '1.10.0',
    '2.0.0',
  ]);
});
