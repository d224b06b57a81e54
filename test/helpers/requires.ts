// Specs that need more than node, npm, python3, make and g++ (what a fresh machine has) call these. Where the thing is
// missing they skip with a notice naming the Debian package (or the kernel setting); under CI=true (as .ci/run runs)
// they fail instead, so CI runs every spec.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export function inCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

function missing(ctx: Mocha.Context, what: string, debianPackage: string): never {
  skipOrFail(ctx, `${what} is missing (install the Debian package ${debianPackage}; .ci/run does)`);
}

function skipOrFail(ctx: Mocha.Context, message: string): never {
  if (inCi()) throw new Error(`${message}: under CI=true every spec must run`);
  console.log(`      skipped: ${message}`);
  ctx.skip();
}

/** Skips (or, under CI, fails) unless `file` exists. */
export function needFile(ctx: Mocha.Context, file: string, debianPackage: string): void {
  if (!fs.existsSync(file)) missing(ctx, file, debianPackage);
}

/** Skips (or, under CI, fails) unless `command` is on PATH. */
export function needCommand(ctx: Mocha.Context, command: string, debianPackage: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status !== 0) missing(ctx, `the command ${command}`, debianPackage);
}

/**
 * Skips (or, under CI, fails) unless `launcher` (IN_USER_NAMESPACE, WITHOUT_PROC) can start a command: the kernel may
 * refuse user namespaces.
 */
export function needNamespaces(ctx: Mocha.Context, launcher: string[]): void {
  const tried = spawnSync(launcher[0], [...launcher.slice(1), 'true'], { encoding: 'utf8' });
  if (tried.status !== 0) {
    const why = (tried.error?.message ?? tried.stderr).trim();
    skipOrFail(ctx, `unshare cannot start a process in namespaces of its own here (${launcher.join(' ')}: ${why}); on Ubuntu 24.04: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`);
  }
}
