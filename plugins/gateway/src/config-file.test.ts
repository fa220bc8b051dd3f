// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold literal ${env:NAME} references
import { describe, expect, it } from 'vitest';
import { gatewayOptionsFromYaml } from './config-file.js';
import { parseGatewayOptions } from './options.js';
import { parseKeyList } from './security/api-keys.js';

describe('gateway config', () => {
  it('substitutes ${env:NAME} and validates the result', () => {
    const input = gatewayOptionsFromYaml(
      'port: 9000\nblue: http://127.0.0.1:8081\nkeys:\n  - { name: ops, role: operate, key: "${env:OPS_KEY}" }\ncheck: { maxAgeMs: 60000 }\n',
      { OPS_KEY: 'a-long-secret' },
    );
    const options = parseGatewayOptions(input);
    expect(options.keys).toEqual([{ name: 'ops', role: 'operate', key: 'a-long-secret' }]);
    expect(options.check).toMatchObject({ maxAgeMs: 60000, samples: 5, timeoutMs: 5000 });
    expect(options.host).toBe('127.0.0.1');
  });

  it('reports every unset variable and every invalid field with its path', () => {
    expect(() =>
      gatewayOptionsFromYaml('keys:\n  - { key: "${env:A}" }\nupstreamKey: "${env:B}"\n', {}),
    ).toThrow(
      'invalid gateway config: keys.0.key: environment variable A is not set; upstreamKey: environment variable B is not set',
    );
    expect(() =>
      parseGatewayOptions({
        port: 70000,
        blue: 'http://x:1/path',
        host: '0.0.0.0' as '127.0.0.1',
        keys: [{ name: 'a', key: 'short', role: 'operate' }],
      }),
    ).toThrow(/host: .*; port: .*; blue: expected an http\(s\) URL of a server root.*; keys\.0\.key: /);
    expect(() => parseGatewayOptions({ active: 'green', blue: 'http://127.0.0.1:1' })).not.toThrow();
  });

  it('parses name:role:key lists from one environment variable', () => {
    expect(parseKeyList('ops:operate:s3cret-key, dash:predict:d4sh-key-x', 'VIGIL_GATEWAY_KEYS')).toEqual([
      { name: 'ops', role: 'operate', key: 's3cret-key' },
      { name: 'dash', role: 'predict', key: 'd4sh-key-x' },
    ]);
    expect(() => parseKeyList('ops:root:s3cret-key', 'VIGIL_GATEWAY_KEYS')).toThrow(
      "VIGIL_GATEWAY_KEYS[0] (ops): role must be one of predict, operate, admin, got 'root'",
    );
    expect(() => parseKeyList('opskey', 'K')).toThrow('K[0]: expected name:role:key');
    expect(() => parseKeyList('ops:operate:short', 'K')).toThrow(
      'K[0] (ops): key must be at least 8 characters',
    );
  });
});
