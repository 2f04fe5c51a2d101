// The published contract: GET /openapi.json, GET /openapi.yaml, and a human reference at /docs.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { stringify } from 'yaml';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { spec } from '../spec.ts';

export default fp(async function docs(app: FastifyInstance) {
  const json = JSON.stringify(spec);
  const yaml = stringify(spec, { aliasDuplicateObjects: false });
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(json));
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml').send(yaml));
  await app.register(fastifySwagger, { mode: 'static', specification: { document: spec as any } });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
}, { name: 'docs' });
