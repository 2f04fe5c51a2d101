// The published contract: GET /openapi.json, GET /openapi.yaml, and a human reference at /docs
// (Swagger UI, served from the package: no CDN). The reference shows the generated document, whose
// description ends with a section per problem type (scripts/gen.ts), with two aids for "Try it out"
// that exist only on the page, never in the published contract: the server the page came from, and
// a plain bearer scheme to paste a token into (the oauth2 client-credentials dialog needs an
// authorization server, which local development does not have).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { stringify } from 'yaml';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { spec, type OpenApiDocument } from '../spec.ts';

// Swagger UI renders after the page has loaded, so the browser's own jump to /docs#problem-<slug>
// finds nothing: jump once the section exists, and again whenever the hash changes. (Its deep
// linking rewrites the hash to #/problem-<slug>, hence the optional slash.)
const jumpToProblemSection = `(function () {
  function jump() {
    var id = decodeURIComponent(location.hash.slice(1)).replace(/^\\//, '');
    if (id.indexOf('problem') !== 0) return;
    var scroll = function () { var el = document.getElementById(id); if (el) el.scrollIntoView(); return !!el; };
    if (scroll()) return;
    var observer = new MutationObserver(function () { if (scroll()) observer.disconnect(); });
    observer.observe(document.body, { childList: true, subtree: true });
  }
  window.addEventListener('hashchange', jump);
  jump();
})();`;

/** The document as the reference page shows it (see the file comment). */
function forTryingOut(doc: OpenApiDocument): OpenApiDocument {
  const pasteToken = { pasted: [] as string[] };
  const withPasteToken = (security: Record<string, string[]>[] | undefined) =>
    security && security.length > 0 ? [...security, pasteToken] : security;
  const paths = Object.fromEntries(
    Object.entries(doc.paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, op]) => [
          method,
          op?.security ? { ...op, security: withPasteToken(op.security) } : op,
        ]),
      ),
    ]),
  );
  return {
    ...doc,
    servers: [{ url: '/', description: 'This server' }, ...(doc.servers ?? [])],
    security: withPasteToken(doc.security),
    paths,
    components: {
      ...doc.components,
      securitySchemes: {
        ...doc.components.securitySchemes,
        pasted: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'Paste an access token here to try requests from this page. Locally: `npm run token -- --scope "inventory:read inventory:write procurement:write procurement:approve webhooks:manage"`.',
        },
      },
    },
  };
}

export default fp(
  async function docs(app: FastifyInstance) {
    const json = JSON.stringify(spec);
    const yaml = stringify(spec, { aliasDuplicateObjects: false });
    app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(json));
    app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml').send(yaml));
    await app.register(fastifySwagger, {
      mode: 'static',
      specification: { document: forTryingOut(spec) as any },
    });
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      uiConfig: {
        docExpansion: 'list',
        deepLinking: true,
        displayOperationId: true,
        persistAuthorization: true,
      },
      theme: {
        title: `${spec.info.title} — reference`,
        js: [{ filename: 'problem-anchors.js', content: jumpToProblemSection }],
      },
    });
  },
  { name: 'docs' },
);
