import { describe, expect, it } from 'vitest';
import { parsePositions } from '../../src/server/cluster-routes.js';

describe('cluster tail positions (after=, Last-Event-ID)', () => {
  it('reads <partition>-<offset> joined by commas, -1 for a partition with nothing had yet', () => {
    expect(parsePositions('0-41,1-17')).toEqual(new Map([[0, 41], [1, 17]]));
    expect(parsePositions('3-0,2--1')).toEqual(new Map([[3, 0], [2, -1]]));
  });

  it('refuses anything else: no list, a partition twice, another negative, an offset past 2^53', () => {
    for (const bad of ['', 'x', '41', '0-', '-1-3', '0-41,', '0-1,0-2', '0--2', '0-1 ,1-2', '5000-1', `0-${2 ** 53}`]) expect(parsePositions(bad), bad).toBeNull();
  });
});
