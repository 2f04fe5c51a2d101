-- Items are listed in the C collation's order of their ids (db/items.ts listItems), the order the
-- in-memory search index keeps (db/item-index.ts): a database whose default collation is not C
-- (en_US.utf8 in compose.yaml) would otherwise order mixed-case or punctuated ids differently on
-- the two paths. The primary key's index follows the default collation, so it cannot serve that
-- order: without this one every page would sort every item.
-- docs/decisions/0010-in-memory-item-search-index.md
CREATE INDEX items_id_c ON items (id COLLATE "C");
