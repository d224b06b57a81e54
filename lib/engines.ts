// Whether a Node version is in a package's `engines.node` range, for the forms runners write there: alternatives
// joined by `||`, each a list of comparators (>=, >, <=, <, =, ^, ~) or bare versions with x wildcards.

type Version = [number, number, number];

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The versions one comparator allows, as a test; null for a form this does not read. */
function comparator(text: string): ((version: Version) => boolean) | null {
  const match = /^(>=|<=|>|<|=|\^|~)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/.exec(text);
  if (!match) return null;
  const [, operator = '', ...parts] = match;
  // How many leading parts are numbers: "20" and "20.x" name every 20.y.z.
  const given = parts.findIndex((part) => part === undefined || !/^\d+$/.test(part));
  const fixed = given === -1 ? 3 : given;
  const low = [0, 1, 2].map((i) => (i < fixed ? Number(parts[i]) : 0)) as Version;
  // The first version past the range a partial or caret/tilde version names.
  const bump = (index: number): Version => [0, 1, 2].map((i) => (i < index ? low[i] : i === index ? low[i] + 1 : 0)) as Version;
  const below = (limit: Version) => (version: Version) => compare(version, low) >= 0 && compare(version, limit) < 0;
  switch (operator) {
    case '>=':
      return (version) => compare(version, low) >= 0;
    case '>':
      return fixed === 3 ? (version) => compare(version, low) > 0 : (version) => fixed > 0 && compare(version, bump(fixed - 1)) >= 0;
    case '<':
      return (version) => compare(version, low) < 0;
    case '<=':
      return fixed === 3 ? (version) => compare(version, low) <= 0 : (version) => fixed === 0 || compare(version, bump(fixed - 1)) < 0;
    case '^':
      return below(bump(low[0] > 0 || fixed < 2 ? 0 : low[1] > 0 || fixed < 3 ? 1 : 2));
    case '~':
      return below(bump(fixed < 2 ? 0 : 1));
    default:
      return fixed === 0 ? () => true : below(bump(fixed - 1));
  }
}

/** Whether `nodeVersion` (process.version) is in `range`; null when the range has a form this does not read. */
export function inEnginesRange(nodeVersion: string, range: string): boolean | null {
  const version = /^v?(\d+)\.(\d+)\.(\d+)/.exec(nodeVersion)?.slice(1, 4).map(Number) as Version | undefined;
  if (!version) return null;
  let inRange = false;
  for (const alternative of range.split('||')) {
    const tests = alternative.trim().split(/\s+/).filter((word) => word !== '').map(comparator);
    if (tests.length === 0 || tests.some((test) => test === null)) return null;
    if (tests.every((test) => (test as (version: Version) => boolean)(version))) inRange = true;
  }
  return inRange;
}
