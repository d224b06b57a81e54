import type { MetricName } from './decision';
import { type Settled, settledSample } from './measure';

/** Rounds measured, after a first settled read and one round left out: a process's first collections set up what
 * V8's helper threads keep, which is no round's noise. */
const ROUNDS = 4;
const ROUNDS_LEFT_OUT = 1;

export interface NoOpMoves {
  /** The largest |growth| of a no-op's round, bytes, per metric. */
  moves: Partial<Record<MetricName, number>>;
  /** The last settled read, when the measurement ran now (a check may start from it: no call of its function since). */
  settled?: Settled;
}

let measured: Partial<Record<MetricName, number>> | undefined;

/**
 * How far a no-op's rounds move each metric in this process, measured once per process: rounds in which nothing is
 * called, each between two settled reads as a check's rounds are, so all they move is the process's own noise. In a
 * plain process that depends on the machine: V8's collector has a helper thread per core, each allocating as it works.
 * `since`: as for settledSample().
 */
export async function noOpMoves(metrics: readonly MetricName[], since?: Settled): Promise<NoOpMoves> {
  if (measured && metrics.every((metric) => metric in (measured as object))) return { moves: measured };
  let { figures: before, settled } = await settledSample(metrics, undefined, since);
  const moves: Partial<Record<MetricName, number>> = {};
  for (const metric of metrics) moves[metric] = 0;
  for (let round = 0; round < ROUNDS_LEFT_OUT; round++) ({ figures: before, settled } = await settledSample(metrics));
  for (let round = 0; round < ROUNDS; round++) {
    const read = await settledSample(metrics);
    for (const metric of metrics) {
      const moved = Math.abs((read.figures[metric] as number) - (before[metric] as number));
      moves[metric] = Math.max(moves[metric] as number, moved);
    }
    before = read.figures;
    settled = read.settled;
  }
  measured = moves;
  return { moves, settled };
}
