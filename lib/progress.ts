// A long check says it is alive: on a terminal, after two seconds, one line rewritten after every round, erased when
// the check ends. Nothing is written when stderr is not a TTY (CI logs, piped runners) or at verbosity 0.
import * as clock from './clock';
import { formatNumber } from './numbers';

interface Stream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** How long a check runs before it shows progress, ms. */
const QUIET_FOR_MS = 2000;

/**
 * process.stderr, opened when first written or asked whether it is a terminal: Node makes the stream on first access,
 * loading its stream modules (net for a pipe) into V8's heap, which every collection of every check then marks.
 */
const lazyStderr: Stream = {
  get isTTY() {
    return process.stderr.isTTY;
  },
  write: (text: string) => process.stderr.write(text),
};

export class Progress {
  #shown = false;

  constructor(
    private readonly label: string,
    private readonly started: number,
    private readonly stream: Stream = lazyStderr,
    private readonly enabled = true,
  ) {}

  /** After a round: `nodeleak: <label>: measuring, round 5, 12,300 calls, 3.1 s`. */
  round(rounds: number, calls: number): void {
    const elapsed = clock.now() - this.started;
    if (!this.enabled || elapsed < QUIET_FOR_MS || !this.stream.isTTY) return;
    this.stream.write(`\r\x1b[2Knodeleak: ${this.label}: measuring, round ${rounds}, ${formatNumber(calls)} calls, ${(elapsed / 1000).toFixed(1)} s`);
    this.#shown = true;
  }

  /** Erases the line, if one was shown. */
  done(): void {
    if (this.#shown) this.stream.write('\r\x1b[2K');
    this.#shown = false;
  }
}
