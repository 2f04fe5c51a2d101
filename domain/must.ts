// Values that an invariant guarantees but the type system cannot see: a Map entry made for every
// id asked for, a row a foreign key or a CHECK constraint guarantees, what validation has already
// checked. A broken invariant then fails here with an Error naming it, rather than as a TypeError
// somewhere further on. In domain/, the one layer that every other may import.

/** `value`, which an invariant says is there; throws naming `what` when it is not. */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`Invariant broken: no ${what}`);
  return value;
}
