import type { V1LabelSelector } from '@kubernetes/client-node';
import { labelKeyProblem, labelValueProblem, quote } from '../config/rules.js';

/** Terms a workload's selector may have (matchLabels and matchExpressions together). */
export const MAX_WORKLOAD_SELECTOR_TERMS = 32;
/** Values one In or NotIn term may list. */
const MAX_VALUES = 32;

/**
 * A workload's spec.selector in the API's labelSelector syntax (`app=api,tier in (a,b)`),
 * which is how its pods are listed and watched; or the problem with it. The API server
 * validated it already; it is checked again because it comes from outside this process
 * and goes into every list and watch URL.
 */
export function selectorText(
  selector: V1LabelSelector | undefined,
): { text: string; problem?: undefined } | { text?: undefined; problem: string } {
  const labels = Object.entries(selector?.matchLabels ?? {});
  const expressions = selector?.matchExpressions ?? [];
  const count = labels.length + expressions.length;
  if (count === 0)
    return { problem: 'its selector is empty: it would take every pod in the namespace' };
  if (count > MAX_WORKLOAD_SELECTOR_TERMS) {
    return {
      problem: `its selector has ${count} terms; skiff follows at most ${MAX_WORKLOAD_SELECTOR_TERMS}`,
    };
  }
  const terms: string[] = [];
  for (const [key, value] of labels) {
    const problem =
      labelKeyProblem(key, 'its selector key') ??
      labelValueProblem(value, `its selector value of ${key}`);
    if (problem !== undefined) return { problem };
    terms.push(`${key}=${value}`);
  }
  for (const { key, operator, values = [] } of expressions) {
    const problem = labelKeyProblem(key, 'its selector key');
    if (problem !== undefined) return { problem };
    if (values.length > MAX_VALUES)
      return { problem: `its selector lists more than ${MAX_VALUES} values for ${key}` };
    for (const value of values) {
      const bad = labelValueProblem(value, `its selector value of ${key}`);
      if (bad !== undefined) return { problem: bad };
    }
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          return { problem: `its selector's ${operator} term for ${key} lists no values` };
        terms.push(`${key} ${operator.toLowerCase()} (${[...values].sort().join(',')})`);
        break;
      case 'Exists':
        terms.push(key);
        break;
      case 'DoesNotExist':
        terms.push(`!${key}`);
        break;
      default:
        return {
          problem: `its selector has the operator ${quote(operator)}, which Kubernetes does not define`,
        };
    }
  }
  return { text: terms.join(',') };
}
