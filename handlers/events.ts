// The change feed (docs/events.md): every event, in commit order.
import { notImplemented } from './lib/not-implemented.ts';

export const eventHandlers = {
  listEvents: notImplemented('listEvents'),
  getEvent: notImplemented('getEvent'),
};
