/**
 * jsonata 2.x binary operators on already-evaluated operands, copied from its evaluator
 * (evaluateNumericExpression and friends) so that types, undefined and errors match.
 */
import { evalError, isDeepEqual, isNumeric, toJsonataString } from './runtime.js';

export type BinaryOp = (lhs: unknown, rhs: unknown) => unknown;

function numeric(apply: (l: number, r: number) => number): BinaryOp {
  return (lhs, rhs) => {
    if (lhs !== undefined && !isNumeric(lhs)) throw evalError('T2001', { value: lhs });
    if (rhs !== undefined && !isNumeric(rhs)) throw evalError('T2002', { value: rhs });
    if (lhs === undefined || rhs === undefined) return undefined;
    return apply(lhs, rhs);
  };
}

function comparison(apply: (l: string | number, r: string | number) => boolean): BinaryOp {
  return (lhs, rhs) => {
    const ltype = typeof lhs;
    const rtype = typeof rhs;
    const lcomparable = ltype === 'undefined' || ltype === 'string' || ltype === 'number';
    const rcomparable = rtype === 'undefined' || rtype === 'string' || rtype === 'number';
    if (!lcomparable || !rcomparable) {
      throw evalError('T2010', { value: !(ltype === 'string' || ltype === 'number') ? lhs : rhs });
    }
    if (ltype === 'undefined' || rtype === 'undefined') return undefined;
    if (ltype !== rtype) throw evalError('T2009', { value: lhs, value2: rhs });
    return apply(lhs as string | number, rhs as string | number);
  };
}

/** Binary operators whose operands are both evaluated first (not `and`/`or`). */
export const BINARY_OPERATORS: Readonly<Record<string, BinaryOp>> = {
  '+': numeric((l, r) => l + r),
  '-': numeric((l, r) => l - r),
  '*': numeric((l, r) => l * r),
  '/': numeric((l, r) => l / r),
  '%': numeric((l, r) => l % r),
  '=': (lhs, rhs) => (lhs === undefined || rhs === undefined ? false : isDeepEqual(lhs, rhs)),
  '!=': (lhs, rhs) => (lhs === undefined || rhs === undefined ? false : !isDeepEqual(lhs, rhs)),
  '<': comparison((l, r) => l < r),
  '<=': comparison((l, r) => l <= r),
  '>': comparison((l, r) => l > r),
  '>=': comparison((l, r) => l >= r),
  '&': (lhs, rhs) => {
    const lstr = lhs !== undefined ? (toJsonataString(lhs) as string) : '';
    const rstr = rhs !== undefined ? (toJsonataString(rhs) as string) : '';
    return lstr.concat(rstr);
  },
  in: (lhs, rhs) => {
    if (lhs === undefined || rhs === undefined) return false;
    const members = Array.isArray(rhs) ? rhs : [rhs];
    for (let i = 0; i < members.length; i++) {
      if (members[i] === lhs) return true;
    }
    return false;
  },
};
