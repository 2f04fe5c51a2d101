// Instants as clients may write them. The spec's `format: date-time` (ajv-formats) accepts forms of
// RFC 3339 that Date.parse refuses: a leap second (`23:59:60Z`, which PostgreSQL reads as the
// second after :59) and an offset of hours alone (`+01`). Code that turns a request's date-time
// into a Date goes through here, so that no accepted input becomes an Invalid Date (and a 500).

/** Milliseconds since the epoch of an RFC 3339 date-time, or null if it names no instant. */
export function instantOf(dateTime: string): number | null {
  const text = dateTime.replace(/([+-]\d\d)$/, '$1:00');
  const ms = Date.parse(text);
  if (!Number.isNaN(ms)) return ms;
  // A leap second is the second after :59, as PostgreSQL reads it.
  const leap = Date.parse(text.replace(/([Tt\s]\d\d:\d\d:)60/, '$159'));
  return Number.isNaN(leap) ? null : leap + 1000;
}

/**
 * An RFC 3339 date-time at millisecond precision in UTC (what timestamptz(3) returns), so that a
 * value answered before it is stored is the one read back later. A text naming no instant here is
 * left for PostgreSQL to read or refuse.
 */
export function isoInstant(dateTime: string): string {
  const ms = instantOf(dateTime);
  return ms === null ? dateTime : new Date(ms).toISOString();
}
