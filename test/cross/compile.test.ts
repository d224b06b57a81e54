// The quick part of `npm run test:cross`, inside `npm test`: the Windows backend must
// compile with mingw-w64 (-Wall -Wextra -Werror), and src-native's Linux C built
// with musl-gcc must refuse the heap calls with its reason. Both need only the
// Debian packages .ci/run installs, no download; other OSes have no such toolchains.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { needCommand } from '../helpers/requires';

const runCross = path.join(__dirname, 'run.sh');

function crossTarget(target: string): { status: number | null; output: string } {
  const result = spawnSync('bash', [runCross, target], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('cross-compile checks (Linux only)', function () {
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('src-native/win32.c compiles with x86_64-w64-mingw32-gcc -Wall -Wextra -Werror', function () {
    needCommand(this, 'x86_64-w64-mingw32-gcc', 'gcc-mingw-w64-x86-64 (or mingw-w64)');
    const { status, output } = crossTarget('win32-compile');
    expect(status, output).to.equal(0);
  });

  it('src-native/linux.c built with musl-gcc refuses heapInfo/heapTrim with "no statistics API" and still reads /proc', function () {
    needCommand(this, 'musl-gcc', 'musl-tools');
    const { status, output } = crossTarget('musl');
    expect(status, output).to.equal(0);
    expect(output.split('\n').filter((line) => line.startsWith('ok - '))).to.have.length(4);
    expect(output).not.to.include('not ok');
  });
});
