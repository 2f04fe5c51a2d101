import { ProblemError } from '../../domain/problems.ts';

/** A handler for an operation the contract publishes but this server does not serve yet (501). */
export function notImplemented(operationId: string) {
  return async (): Promise<never> => {
    throw new ProblemError(
      'not-implemented',
      `${operationId} is part of the published contract but not available on this server yet.`,
    );
  };
}
