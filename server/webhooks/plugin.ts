// Runs the webhook dispatcher with the server: started once the server is ready, stopped when it
// closes (before the database pool is ended by the caller). Its metrics join app.metrics.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Sql } from '../../db/client.ts';
import type { WebhookConfig } from '../config.ts';
import { Dispatcher } from './dispatcher.ts';
import { webhookMetrics } from './metrics.ts';

export default fp(
  async function webhooks(
    app: FastifyInstance,
    { sql, config }: { sql: Sql; config: WebhookConfig },
  ) {
    const dispatcher = new Dispatcher({
      sql,
      config,
      log: app.log.child({ component: 'webhooks' }),
      metrics: webhookMetrics(app.metrics, sql),
    });
    app.addHook('onReady', () => dispatcher.start());
    app.addHook('onClose', () => dispatcher.stop());
  },
  { name: 'webhooks', dependencies: ['metrics'] },
);
