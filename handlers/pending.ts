// Operations of the published contract that this server does not serve yet: each answers
// 501 not-implemented (problem+json), so nothing pretends to work. test/contract.test.ts lists them.
import { notImplemented } from './lib/not-implemented.ts';

// Every operation is served now; the list stays for the next contract addition.
export const pendingOperations = [] as const;

export const pendingHandlers = Object.fromEntries(
  pendingOperations.map((id) => [id, notImplemented(id)]),
) as {
  [K in (typeof pendingOperations)[number]]: ReturnType<typeof notImplemented>;
};
