import { expect } from 'chai';
import type { LeakReport } from '../../lib';

/**
 * A clean verdict that measured: every judged metric bounded below the rule's resolution, none left undecided, and
 * calls made. `memory: false` for checks that exclude the memory checker (no rounds to look at).
 */
export function expectClean(report: LeakReport, { memory = true }: { memory?: boolean } = {}): void {
  expect(report.verdict, report.reason).to.equal('clean');
  expect(report.undecided, report.reason).to.deep.equal([]);
  if (!memory) return;
  expect(report.calls).to.be.greaterThan(0);
  expect(report.calls).to.equal(report.rounds.reduce((sum, round) => sum + round.calls, 0));
  for (const metric of report.judged) {
    expect(report.resolution[metric], metric).to.be.a('number');
    expect(report.upperBytesPerCall[metric], `${metric}: ${report.reason}`).to.be.at.most(report.resolution[metric] as number);
  }
}

/** What `promise` rejects with; fails the spec, with the check's reason when it has one, if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  const reason = (value as { reason?: string } | undefined)?.reason;
  throw new Error(`expected the promise to reject, but it resolved${reason ? `: ${reason}` : ''}`);
}
