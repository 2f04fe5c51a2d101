// domain/json.ts assembles list pages from rows that carry their JSON already (search results).
// Whatever path it takes, the text must be exactly what JSON.stringify gives.
import t from 'tap';
import { inOnePiece, serialize, withJson } from '../domain/json.ts';
import { PageBody } from '../domain/pages.ts';

const rows = () => [
  {
    id: 'itm-1',
    name: 'Hex "bolt" \\ M8',
    note: 'Épée\u2028clamp 🔧',
    active: true,
    qty: 1.5,
    tags: ['a', 'b'],
    expires_at: null,
  },
  { id: 'itm-2', name: 'Wing nut', nested: { deep: [1, { x: '</script>' }] } },
];

t.test('a page of rows carrying their JSON is the same text JSON.stringify gives', async (t) => {
  for (const page of [
    { limit: 2, has_more: false },
    { limit: 2, has_more: true, next_cursor: 'abc.def' },
  ]) {
    const body = new PageBody(
      rows().map((row) => withJson(row)),
      page,
    );
    t.equal(serialize(body), JSON.stringify(body), `has_more=${page.has_more}`);
    t.strictSame(JSON.parse(serialize(body)), { data: rows(), page });
  }
});

t.test(
  'a page with a row lacking its JSON, an empty page and other bodies come out as JSON.stringify gives',
  async (t) => {
    const [first, second] = rows();
    const mixed = new PageBody([withJson(first), second], { limit: 2, has_more: false });
    t.equal(serialize(mixed), JSON.stringify(mixed));
    const empty = new PageBody([], { limit: 20, has_more: false });
    t.equal(serialize(empty), '{"data":[],"page":{"limit":20,"has_more":false}}');
    t.equal(serialize(empty), JSON.stringify(empty));
    const plain = { data: [withJson(rows()[0])], page: { limit: 1, has_more: false }, extra: 1 };
    t.equal(serialize(plain), JSON.stringify(plain), 'only PageBody pages are assembled');
  },
);

t.test('the JSON attached is invisible to everything but the serializer', async (t) => {
  const row = withJson({ id: 'itm-1', name: 'x' });
  t.strictSame(Object.keys(row), ['id', 'name']);
  t.equal(JSON.stringify(row), '{"id":"itm-1","name":"x"}');
  t.equal(
    serialize(
      new PageBody([withJson({ id: 'itm-2' }, '{"id":"made before"}')], {
        limit: 1,
        has_more: false,
      }),
    ),
    '{"data":[{"id":"made before"}],"page":{"limit":1,"has_more":false}}',
    'a text made before is used as given',
  );
});

t.test('a text kept in one piece is the same text, whatever characters it holds', async (t) => {
  for (const value of [
    ...rows(),
    { name: 'lone \ud800 surrogate, \u0000 and ß' },
    'x'.repeat(5000),
  ]) {
    const text = JSON.stringify(value);
    t.equal(inOnePiece(text), text);
  }
});
