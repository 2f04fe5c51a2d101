// `npm run build:sdk`: compiles the SDK that `npm run gen` wrote (generated/*.ts) into
// generated/dist/, what its package.json points at (docs/sdk.md):
//   dist/esm/  ES modules (.js) and declarations (.d.ts), for `import`;
//   dist/cjs/  CommonJS (.cjs) and declarations (.d.cts), for `require`.
// tsc emits CommonJS as .js/.d.ts only, so the CommonJS output is renamed here and its relative
// specifiers ('./api.js') follow. Built with the DOM library and no Node types: the SDK uses only
// fetch, WebCrypto and AbortSignal, so it runs wherever those exist. dist/ is not committed.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const generated = join(root, 'generated');
export const distDir = join(generated, 'dist');
const tsc = join(root, 'node_modules/.bin/tsc');
const files = ['client.ts', 'problems.ts'].map((f) => join(generated, f));

/** Runs tsc on the SDK's entry points with these module options (a tsconfig: `types: []` has no flag). */
function compile(outDir: string, module: string, moduleResolution: string): void {
  const config = join(tmpdir(), `inventory-sdk-${process.pid}-${module}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: [],
        strict: true,
        declaration: true,
        skipLibCheck: true,
        esModuleInterop: true,
        module,
        moduleResolution,
        rootDir: generated,
        outDir,
      },
      files,
    }),
  );
  try {
    execFileSync(tsc, ['-p', config], { stdio: 'inherit' });
  } finally {
    rmSync(config, { force: true });
  }
}

export function buildSdk(): void {
  rmSync(distDir, { recursive: true, force: true });
  const cjs = join(distDir, 'cjs');
  compile(join(distDir, 'esm'), 'nodenext', 'nodenext');
  compile(cjs, 'commonjs', 'node10');
  for (const file of readdirSync(cjs)) {
    const renamed = file.replace(/\.d\.ts$/, '.d.cts').replace(/\.js$/, '.cjs');
    const text = readFileSync(join(cjs, file), 'utf8').replace(
      /(['"])(\.\.?\/[^'"]+)\.js\1/g,
      (_, quote, path) => `${quote}${path}.cjs${quote}`,
    );
    writeFileSync(join(cjs, file), text);
    renameSync(join(cjs, file), join(cjs, renamed));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildSdk();
  console.log(`SDK built in ${distDir}`);
}
