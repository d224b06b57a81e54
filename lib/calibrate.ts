import { type MetricName, widenedNoise } from './decision';
import { type SettleOptions, type Settled, settledSample } from './measure';

/** Rounds measured, after a first settled read and one round left out: a process's first collections set up what
 * V8's helper threads keep, which is no round's noise. */
const NO_OP_ROUNDS = 4;
const ROUNDS_LEFT_OUT = 1;

export interface NoOpMoves {
  /** The largest |growth| of a no-op's round, bytes, per metric. */
  moves: Partial<Record<MetricName, number>>;
  /** The last settled read, when the measurement ran now (a check may start from it: no call of its function since). */
  settled?: Settled;
}

/**
 * |growth| of each of `rounds` rounds in which nothing is called, per metric, each between two settled reads as a
 * check's rounds are, so all they move is the process's own noise.
 */
export async function noOpRoundMoves(
  metrics: readonly MetricName[],
  rounds = NO_OP_ROUNDS,
  { since, throwIfStopped }: SettleOptions = {},
): Promise<{ moves: Partial<Record<MetricName, number[]>>; settled: Settled }> {
  let { figures: before, settled } = await settledSample(metrics, { since, throwIfStopped });
  const moves: Partial<Record<MetricName, number[]>> = {};
  for (const metric of metrics) moves[metric] = [];
  for (let round = 0; round < ROUNDS_LEFT_OUT; round++) ({ figures: before, settled } = await settledSample(metrics, { throwIfStopped }));
  for (let round = 0; round < rounds; round++) {
    const read = await settledSample(metrics, { throwIfStopped });
    for (const metric of metrics) moves[metric]?.push(Math.abs((read.figures[metric] as number) - (before[metric] as number)));
    before = read.figures;
    settled = read.settled;
  }
  return { moves, settled };
}

let measured: Partial<Record<MetricName, number>> | undefined;

/**
 * How far a no-op's rounds move each metric in this process, at most. In a plain process that depends on the machine:
 * V8's collector has a helper thread per core, each allocating as it works. A measurement is kept for the process's
 * later checks only when it widens none of `floors` (the fixed floors of the metrics judged): one that does may have
 * caught a passing event (another test's worker exiting, a child's output arriving), which must not lengthen every
 * later check, so the next check measures again.
 */
export async function noOpMoves(metrics: readonly MetricName[], floors: Partial<Record<MetricName, number>>, settleOptions: SettleOptions = {}): Promise<NoOpMoves> {
  if (measured && metrics.every((metric) => metric in (measured as object))) return { moves: measured };
  const { moves: perRound, settled } = await noOpRoundMoves(metrics, NO_OP_ROUNDS, settleOptions);
  const moves: Partial<Record<MetricName, number>> = {};
  for (const metric of metrics) moves[metric] = Math.max(...(perRound[metric] as number[]));
  const widened = widenedNoise(floors, moves);
  measured = Object.entries(floors).every(([metric, floor]) => widened[metric as MetricName] === floor) ? moves : undefined;
  return { moves, settled };
}
