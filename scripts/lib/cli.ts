// Command-line options for the npm scripts: `--help` prints the usage, and a mistyped option or a
// missing value prints what is wrong and the usage (exit code 2) instead of a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<T extends Options> = ReturnType<typeof parseArgs<{ options: T }>>['values'];

export function commandLine<T extends Options>(
  usage: string,
  options: T,
  args = process.argv.slice(2),
): Values<T> {
  try {
    const { values } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
    }) as { values: Record<string, unknown> };
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values as Values<T>;
  } catch (err) {
    if (
      !(err instanceof TypeError) ||
      !String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')
    )
      throw err;
    console.error(`${err.message}\n\n${usage}`);
    process.exit(2);
  }
}

/** A whole number at least `min`, or exit 2 saying which option is wrong. */
export function wholeNumber(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (Number.isInteger(n) && n >= min) return n;
  console.error(
    `--${name} must be a whole number of at least ${min}, not ${JSON.stringify(value)}.`,
  );
  process.exit(2);
}
