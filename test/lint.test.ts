// The spec lints clean (redocly's recommended rules with examples as errors, spectral:oas) and
// the project type-checks: handlers are typed from the generated operations, so a missing or
// misnamed operationId is a compile error. Slow tools on a busy machine: a generous timeout.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
t.setTimeout(300_000);

t.test('the spec lints clean with redocly and spectral', async (t) => {
  await t.resolves(run('npx', ['redocly', 'lint', 'spec/openapi.yaml']), 'redocly lint');
  await t.resolves(
    run('npx', ['spectral', 'lint', 'spec/openapi.yaml', '--fail-severity=warn']),
    'spectral lint (oas)',
  );
});

t.test('the project type-checks (handlers are typed from the generated operations)', async (t) => {
  await t.resolves(run('npx', ['tsc', '--noEmit', '-p', '.']), 'tsc --noEmit');
});
