// The published contract: GET /openapi.json, GET /openapi.yaml, and a human reference at /docs
// (Swagger UI, served from the package: no CDN). Both name as their server the address they were
// fetched from (the request's protocol and host, as TRUST_PROXY lets us believe them), so "Try it
// out" and a client generated from the document call this server, whatever port it listens on.
//
// The reference shows the generated document (problem types and code samples: scripts/gen.ts),
// changed only for the page, never in the published contract, so that it teaches:
// - a plain bearer scheme to paste a token into, listed before the oauth2 client-credentials flow
//   (which needs an authorization server that local development does not have);
// - no query parameter examples, which Swagger UI would fill in as filters of every "Try it out";
// - each operation's code samples (`x-codeSamples`, which Swagger UI does not render) in its
//   description;
// - the problem types after the operations, not before them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

const PROBLEM_TYPES_HEADING = '<h2 id="problem-types">';

/** The origin a request was addressed to (behind a trusted proxy, the one the client used). */
function origin(request: FastifyRequest): string | undefined {
  return request.host ? `${request.protocol}://${request.host}` : undefined;
}

/**
 * The document naming its server: PUBLIC_URL when the operator set it, else the origin it was
 * fetched from (see the file comment). That origin comes from the request's Host (or, behind a
 * trusted proxy, X-Forwarded-Host), which any client can set: such answers are marked private and
 * varying by those headers (`noSharedCaching`), so that no shared cache hands one client's
 * made-up host to another, whose "Try it out" would then send its token there.
 */
function servedFrom(
  doc: OpenApiDocument,
  request: FastifyRequest,
  publicUrl: string | undefined,
): OpenApiDocument {
  const url = publicUrl ?? origin(request);
  return url ? { ...doc, servers: [{ url, description: 'This server' }] } : doc;
}

function noSharedCaching(reply: FastifyReply) {
  reply.header('Vary', 'Host, X-Forwarded-Host, X-Forwarded-Proto');
  reply.header('Cache-Control', 'private, no-cache');
}

const withoutQueryExample = (param: any) => {
  if (param?.in !== 'query' || (param.example === undefined && param.examples === undefined))
    return param;
  const { example: _example, examples: _examples, ...rest } = param;
  return rest;
};

/** An operation's code samples as Markdown, after its description. */
function withCodeSamples(op: any) {
  const samples: { label: string; lang: string; source: string }[] = op['x-codeSamples'] ?? [];
  if (samples.length === 0) return op;
  const fence = (lang: string) => (lang === 'Shell' ? 'sh' : lang.toLowerCase());
  const markdown = samples
    .map((s) => `**${s.label}**\n\n\`\`\`${fence(s.lang)}\n${s.source}\n\`\`\`\n`)
    .join('\n');
  return {
    ...op,
    description: `${op.description ? `${op.description.trimEnd()}\n\n` : ''}${markdown}`,
  };
}

/** The document as the reference page shows it (see the file comment). */
function forTheReference(doc: OpenApiDocument): OpenApiDocument {
  const pasteToken = { pasted: [] as string[] };
  const withPasteToken = (security: Record<string, string[]>[] | undefined) =>
    security && security.length > 0 ? [pasteToken, ...security] : security;
  const paths = Object.fromEntries(
    Object.entries(doc.paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([key, value]) => {
          if (key === 'parameters') return [key, value.map(withoutQueryExample)];
          if (!value?.operationId) return [key, value];
          const op = withCodeSamples(value);
          return [
            key,
            {
              ...op,
              ...(op.parameters && { parameters: op.parameters.map(withoutQueryExample) }),
              ...(op.security && { security: withPasteToken(op.security) }),
            },
          ];
        }),
      ),
    ]),
  );
  const parameters = Object.fromEntries(
    Object.entries(doc.components.parameters ?? {}).map(([name, p]) => [
      name,
      withoutQueryExample(p),
    ]),
  );
  // The problem types go to the end of the page (problemTypesAfterOperations below).
  const description: string = doc.info.description ?? '';
  const cut = description.indexOf(PROBLEM_TYPES_HEADING);
  return {
    ...doc,
    info: { ...doc.info, description: cut < 0 ? description : description.slice(0, cut) },
    ...(cut >= 0 && { 'x-problem-types-section': description.slice(cut) }),
    security: withPasteToken(doc.security),
    paths,
    components: {
      ...doc.components,
      parameters,
      // The Authorize dialog lists the schemes in this order: the one that works locally first.
      securitySchemes: {
        pasted: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'Paste an access token here to try requests from this page. Locally: `npm run token -- --scope "inventory:read inventory:write procurement:write procurement:approve webhooks:manage"`.',
        },
        ...doc.components.securitySchemes,
      },
    },
  };
}

/**
 * A value that @fastify/swagger-ui writes into the page as this JavaScript expression: it writes
 * the functions of uiConfig by their source text, which lets uiConfig name Swagger UI's own
 * plugins and carry ours without TypeScript's compiled form of them.
 */
function inThePage(expression: string): (system: unknown) => object {
  const value = (_system: unknown) => ({});
  value.toString = () => expression;
  return value;
}

// A Swagger UI plugin: the operations, then the problem-type sections the page document carries
// apart (forTheReference), rendered as the description is (Markdown keeps their ids, so
// /docs#problem-<slug> links work).
const problemTypesAfterOperations = `function (system) {
  return {
    wrapComponents: {
      operations: function (Operations, system) {
        return function (props) {
          var h = system.React.createElement;
          var source = system.specSelectors.specJson().get('x-problem-types-section');
          if (!source) return h(Operations, props);
          var Markdown = system.getComponent('Markdown', true);
          return h('div', null,
            h(Operations, props),
            h('section', { className: 'info problem-types' }, h(Markdown, { source: source })));
        };
      },
    },
  };
}`;

export default fp(
  async function docs(app: FastifyInstance, { publicUrl }: { publicUrl?: string }) {
    const page = forTheReference(spec);
    app.get('/openapi.json', async (request, reply) => {
      if (!publicUrl) noSharedCaching(reply);
      return reply
        .type('application/json')
        .send(JSON.stringify(servedFrom(spec, request, publicUrl)));
    });
    app.get('/openapi.yaml', async (request, reply) => {
      if (!publicUrl) noSharedCaching(reply);
      return reply
        .type('application/yaml')
        .send(stringify(servedFrom(spec, request, publicUrl), { aliasDuplicateObjects: false }));
    });
    await app.register(fastifySwagger, {
      mode: 'static',
      specification: { document: page as any },
    });
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      uiConfig: {
        // The page is about the API, titled with its name: BaseLayout has no top bar, so neither
        // Swagger's logo (which @fastify/swagger-ui puts only into StandaloneLayout's) nor the
        // "Explore" bar for the URL of another document.
        layout: 'BaseLayout',
        plugins: [
          inThePage('SwaggerUIBundle.plugins.DownloadUrl'),
          inThePage(problemTypesAfterOperations),
        ],
        docExpansion: 'list',
        deepLinking: true,
        displayOperationId: true,
        persistAuthorization: true,
      },
      transformSpecification: (document, request) =>
        servedFrom(document as OpenApiDocument, request, publicUrl),
      uiHooks: {
        onRequest: async (_request: FastifyRequest, reply: FastifyReply) => {
          if (!publicUrl) noSharedCaching(reply);
        },
      },
      theme: {
        title: spec.info.title,
        js: [{ filename: 'problem-anchors.js', content: jumpToProblemSection }],
      },
    });
  },
  { name: 'docs' },
);
