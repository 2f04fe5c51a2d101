import { ProblemError } from '../domain/problems.ts';
import type { Handlers } from './types.ts';

export const healthHandlers = {
  async getHealth() {
    return { status: 200, body: { status: 'ok' } };
  },

  async getReadiness({ db }) {
    try {
      await db`SELECT 1`;
    } catch {
      throw new ProblemError(
        'service-unavailable',
        'The database is not reachable.',
        {},
        { 'Retry-After': '1' },
      );
    }
    return { status: 200, body: { status: 'ok', database: 'ok' } };
  },
} satisfies Pick<Handlers, 'getHealth' | 'getReadiness'>;
