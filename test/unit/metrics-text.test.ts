/**
 * The metrics page's text (njs/core/metrics-text.ts): series named as
 * Prometheus's text format wants, label values escaped, families in a fixed
 * order with HELP and TYPE, series sorted, anything else left out.
 */
import { metricFamilies, metricsText, series } from '../../njs/core/metrics-text';

describe('metricsText', () => {
  test('a series is its family and its labels in order, values escaped (\\, ", newline)', () => {
    expect(
      series('jwt_gateway_requests_total', [
        ['style', 'direct'],
        ['outcome', 'allowed'],
      ]),
    ).toBe('jwt_gateway_requests_total{style="direct",outcome="allowed"}');
    expect(series('jwt_gateway_consumer_requests_total', [['consumer', 'a"b\\c\nd']])).toBe('jwt_gateway_consumer_requests_total{consumer="a\\"b\\\\c\\nd"}');
  });

  test('families in the order of metricFamilies(), each with HELP and TYPE, series sorted', () => {
    const text = metricsText([
      [
        series('jwt_gateway_denials_total', [
          ['code', 'TOKEN_MISSING'],
          ['status', '401'],
        ]),
        2,
      ],
      [
        series('jwt_gateway_requests_total', [
          ['style', 'direct'],
          ['outcome', 'denied'],
        ]),
        2,
      ],
      [
        series('jwt_gateway_requests_total', [
          ['style', 'auth_request'],
          ['outcome', 'allowed'],
        ]),
        1,
      ],
    ]);
    expect(text).toBe(
      [
        '# HELP jwt_gateway_requests_total ' + metricFamilies().jwt_gateway_requests_total,
        '# TYPE jwt_gateway_requests_total counter',
        'jwt_gateway_requests_total{style="auth_request",outcome="allowed"} 1',
        'jwt_gateway_requests_total{style="direct",outcome="denied"} 2',
        '# HELP jwt_gateway_denials_total ' + metricFamilies().jwt_gateway_denials_total,
        '# TYPE jwt_gateway_denials_total counter',
        'jwt_gateway_denials_total{code="TOKEN_MISSING",status="401"} 2',
        '',
      ].join('\n'),
    );
  });

  test.each([
    ['another family', ['other_total{a="b"}', 1]],
    ['no labels', ['jwt_gateway_requests_total', 1]],
    ['a count that is no whole number', ['jwt_gateway_requests_total{style="direct"}', 1.5]],
    ['a negative count', ['jwt_gateway_requests_total{style="direct"}', -1]],
    ['NaN', ['jwt_gateway_requests_total{style="direct"}', NaN]],
  ] as [string, [string, number]][])('%s is left out', (_what, entry) => {
    expect(metricsText([entry])).toBe('');
  });
});
