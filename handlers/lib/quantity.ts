// Quantities have at most 6 decimals (the spec's multipleOf). Summing them as JS numbers would
// drift (0.1 + 0.2 > 0.3 and a legitimate issue would be refused), so stock arithmetic in the
// handlers is done in whole millionths as bigint, and handed to PostgreSQL as exact decimals.

export type Micro = bigint;

const SCALE = 1_000_000n;

export function micro(qty: number): Micro {
  return BigInt(Math.round(qty * 1_000_000));
}

/** The exact decimal text, for SQL parameters (numeric columns). */
export function decimal(m: Micro): string {
  const sign = m < 0n ? '-' : '';
  const abs = m < 0n ? -m : m;
  const fraction = (abs % SCALE).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${abs / SCALE}${fraction ? `.${fraction}` : ''}`;
}

/** For JSON bodies (problem extension members). */
export function toNumber(m: Micro): number {
  return Number(decimal(m));
}
