// The catalogue of event types, as the spec's `webhooks` declare them: `npm run gen` writes it
// (generated/event-types.ts) with each body's schema made self-contained.
import { eventTypes } from '../generated/event-types.ts';
import type { Handlers } from './types.ts';

export const webhookEventTypeHandlers = {
  async listWebhookEventTypes({ page }) {
    // The spec's order; the cursor is the position of the last one shown.
    const from = page.after === null ? 0 : Number(page.after[0]) + 1;
    const rows = eventTypes
      .slice(from, from + page.limit + 1)
      .map((entry, i) => ({ position: from + i, entry }));
    const result = page.result(rows, (r) => [r.position]);
    return {
      status: 200,
      body: {
        ...result,
        data: result.data.map(({ entry }) => ({
          type: entry.type,
          description: entry.description,
          schema: entry.schema as Record<string, unknown>,
        })),
      },
    };
  },
} satisfies Pick<Handlers, 'listWebhookEventTypes'>;
