import { expect } from 'chai';
import { defaultResolution } from '../../lib/decision';
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
  const resolution = defaultResolution();
  for (const metric of report.judged) {
    expect(report.upperBytesPerCall[metric], `${metric}: ${report.reason}`).to.be.at.most(resolution[metric] as number);
  }
}
