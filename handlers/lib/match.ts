// The 3-way match: per purchase order line, what was ordered, received and invoiced, and at which
// price. A line is PENDING while nothing is invoiced; an EXCEPTION when more is invoiced than was
// received (beyond the vendor's qty_tolerance, a fraction of the received quantity) or an invoiced
// unit price is outside the price tolerance (the vendor's price_tolerance, else the server-wide
// INVOICE_PRICE_TOLERANCE; a fraction of the PO price); otherwise MATCHED. A report is an EXCEPTION when any line is, PENDING when no
// line is invoiced yet, else MATCHED. The report is always computed from the current figures.
import { matchFigures, type MatchFigures } from '../../db/match.ts';
import type { Db } from '../../db/client.ts';
import type { components } from '../../generated/api.ts';
import { must } from '../../domain/must.ts';

export type MatchReport = components['schemas']['MatchReport'];
type MatchLine = components['schemas']['MatchLine'];
type MatchReason = components['schemas']['MatchReason'];
export type LineStatus = 'MATCHED' | 'EXCEPTION';

export interface ReasonFigures {
  received: number;
  invoiced: number;
  po_unit_price: string;
  outside_prices: string[];
  price_tolerance: number;
  qty_tolerance: number;
  qty_exceeds: boolean;
}

function percent(fraction: number): string {
  return `${+(fraction * 100).toPrecision(12)}%`;
}

/** Why an invoiced line does not match (empty when it does). */
export function matchReasons(f: ReasonFigures): MatchReason[] {
  const reasons: MatchReason[] = [];
  if (f.qty_exceeds) {
    reasons.push({
      code: 'qty_invoiced_exceeds_received',
      detail: `Invoiced ${f.invoiced} but received ${f.received}${f.qty_tolerance ? ` (${percent(f.qty_tolerance)} more allowed)` : ''}.`,
    });
  }
  if (f.outside_prices.length) {
    reasons.push({
      code: 'price_outside_tolerance',
      detail: `Invoiced at ${f.outside_prices.join(', ')} against the PO price ${f.po_unit_price}: more than the ${percent(f.price_tolerance)} tolerance apart.`,
    });
  }
  return reasons;
}

export function statusOf(reasons: MatchReason[]): LineStatus {
  return reasons.length ? 'EXCEPTION' : 'MATCHED';
}

function matchLine({
  po_id: _,
  outside_prices,
  price_tolerance,
  qty_tolerance,
  qty_exceeds,
  ...figures
}: MatchFigures): MatchLine {
  if (figures.invoiced === 0) return { ...figures, status: 'PENDING', reasons: [] };
  const reasons = matchReasons({
    ...figures,
    outside_prices,
    price_tolerance,
    qty_tolerance,
    qty_exceeds,
  });
  return { ...figures, status: statusOf(reasons), reasons };
}

function reportStatus(lines: MatchLine[]): MatchReport['status'] {
  if (lines.some((l) => l.status === 'EXCEPTION')) return 'EXCEPTION';
  return lines.every((l) => l.status === 'PENDING') ? 'PENDING' : 'MATCHED';
}

/**
 * The current match report of each purchase order, by id, with its vendor's tolerances
 * (`defaultTolerance` for a vendor without a price tolerance).
 */
export async function matchReports(
  db: Db,
  poIds: string[],
  defaultTolerance: number,
): Promise<Map<string, MatchReport>> {
  const reports = new Map<string, MatchReport>(
    poIds.map((id) => [
      id,
      { po_id: id, status: 'PENDING', price_tolerance: defaultTolerance, lines: [] },
    ]),
  );
  // The figures are those of lines of the orders asked for (WHERE po_id = ANY(...)).
  for (const figures of await matchFigures(db, [...reports.keys()], defaultTolerance)) {
    const report = must(reports.get(figures.po_id), 'match report of an order asked for');
    report.price_tolerance = figures.price_tolerance;
    report.lines.push(matchLine(figures));
  }
  for (const report of reports.values()) report.status = reportStatus(report.lines);
  return reports;
}
