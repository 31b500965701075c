/**
 * A link's cost: a whole number from 1 to MAX_LINK_COST. One definition for `link create
 * --cost`, the router's own check, a peer's HELLO and the costs in adverts, so a value one
 * of them accepts is never refused by another. The cap keeps path sums over any network
 * far inside the integers a double holds exactly.
 */
export const MIN_LINK_COST = 1;
export const MAX_LINK_COST = 1_000_000;

export function isLinkCost(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= MIN_LINK_COST &&
    value <= MAX_LINK_COST
  );
}

/** What to tell someone who gave a bad cost. */
export const LINK_COST_RULE = `a whole number from ${MIN_LINK_COST} to ${MAX_LINK_COST}`;
