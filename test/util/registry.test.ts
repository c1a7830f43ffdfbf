import { describe, expect, it } from 'vitest';
import { Registry } from '../../src/util/registry.js';

describe('Registry', () => {
  const make = () => new Registry<number>('pruning method').register('magnitude', 1).register('global-magnitude', 2).register('block', 3);

  it('returns registered values and lists names in registration order', () => {
    const r = make();
    expect(r.get('global-magnitude')).toBe(2);
    expect(r.names()).toEqual(['magnitude', 'global-magnitude', 'block']);
    expect(r.has('block')).toBe(true);
    expect(r.has('pattern-lock')).toBe(false);
    expect(r.kind).toBe('pruning method');
  });

  it('throws on an unknown name, listing the known names', () => {
    expect(() => make().get('foo')).toThrowError("unknown pruning method 'foo'; known: magnitude, global-magnitude, block");
    expect(() => new Registry<number>('quantizer').get('int8')).toThrowError("unknown quantizer 'int8'; known: (none)");
  });

  it('throws on a duplicate name and keeps the first value', () => {
    const r = make();
    expect(() => r.register('block', 9)).toThrowError("pruning method 'block' is already registered");
    expect(r.get('block')).toBe(3);
  });

  it('rejects empty names', () => {
    expect(() => make().register('', 4)).toThrowError(/non-empty/);
  });

  it('finds values that are falsy', () => {
    const r = new Registry<number>('x').register('zero', 0);
    expect(r.get('zero')).toBe(0);
  });
});
