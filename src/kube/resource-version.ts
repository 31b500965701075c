/**
 * Orders two resourceVersions of objects of one resource, as KEP-5504 (GA in Kubernetes
 * 1.35) allows: a resourceVersion is a decimal integer without leading zeros, and a larger
 * one is a later write. Negative when `a` is older, 0 when equal, positive when newer, or
 * undefined when either is not of that form (an older or unusual API server), where only
 * equality means anything.
 */
export function compareResourceVersions(a: string, b: string): number | undefined {
  if (!WELL_FORMED.test(a) || !WELL_FORMED.test(b)) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const WELL_FORMED = /^[1-9][0-9]{0,39}$/;
