import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../testing/fixtures.js';
import { ThrottledWarning } from './throttled-warning.js';

describe('ThrottledWarning', () => {
  it('logs a key at most once per interval and then says how many it left out', () => {
    const { logger, lines } = capturingLogger();
    let now = 1_000;
    const warning = new ThrottledWarning(logger, 10_000, () => now);
    for (let i = 0; i < 500; i++)
      warning.warn('m/1/model-error', { model: 'm' }, 'answered from the fallback');
    warning.warn('m/1/features-unavailable', { model: 'm' }, 'answered from the fallback');
    expect(lines).toHaveLength(2);
    now += 9_999;
    warning.warn('m/1/model-error', { model: 'm' }, 'answered from the fallback');
    expect(lines).toHaveLength(2);
    now += 1;
    warning.warn('m/1/model-error', { model: 'm' }, 'answered from the fallback');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toMatchObject({
      model: 'm',
      suppressed: 500,
      msg: 'answered from the fallback',
    });
    now += 10_000;
    warning.warn('m/1/model-error', { model: 'm' }, 'answered from the fallback');
    expect(JSON.parse(lines[3]!).suppressed).toBeUndefined();
  });
});
