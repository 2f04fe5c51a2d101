// Validates every JSON response against the spec's schema for its route, status code and media
// type (tests turn this on). Validators compile lazily and are shared between routes with the same
// schema, so starting a server stays fast. A mismatch becomes a 500 and is recorded in
// app.responseViolations, which the test harness asserts is empty after every test.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

declare module 'fastify' {
  interface FastifyInstance {
    responseViolations: string[];
  }
}

type ResponseSchemas = Record<string, { content?: Record<string, { schema: unknown }> }>;

export default fp(
  async function responseValidation(app: FastifyInstance, { ajv }: { ajv: Ajv2020 }) {
    const compiled = new Map<string, ValidateFunction>();
    const validatorFor = (schema: unknown) => {
      const key = JSON.stringify(schema);
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.compile(schema as object);
        compiled.set(key, validate);
      }
      return validate;
    };
    app.decorate('responseViolations', []);

    app.addHook('onRoute', (route: RouteOptions) => {
      const responses = (route.schema as { response?: ResponseSchemas } | undefined)?.response;
      if (!responses) return;
      const check = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        const status = String(reply.statusCode);
        const response = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
        const mediaType = String(reply.getHeader('content-type') ?? 'application/json').split(
          ';',
        )[0];
        const where = `${request.method} ${route.url} → ${status} ${mediaType}`;
        const schema = response?.content?.[mediaType]?.schema;
        let problem: string | null = null;
        if (!schema) problem = `${where}: the spec documents no such response`;
        else {
          const validate = validatorFor(schema);
          if (!validate(payload))
            problem = `${where}: ${ajv.errorsText(validate.errors, { dataVar: 'response' })}`;
        }
        if (!problem) return payload;
        app.responseViolations.push(problem);
        request.log.error({ violation: problem }, 'response does not match the spec');
        throw new Error(`Response validation failed: ${problem}`);
      };
      route.preSerialization = [
        ...(Array.isArray(route.preSerialization)
          ? route.preSerialization
          : route.preSerialization
            ? [route.preSerialization]
            : []),
        check as any,
      ];
    });
  },
  { name: 'response-validation' },
);
