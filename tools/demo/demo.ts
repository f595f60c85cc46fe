/**
 * `npm run demo`: the demo gateway on 127.0.0.1:9080 with ready-to-paste curl
 * lines. Runs nginx in the foreground; Ctrl-C or SIGTERM stops it cleanly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { demoSetup, JACK, tokenFor } from './consumers';
import { ROOT, startNginx } from '../../test/support/nginx';

const PORT = Number(process.env.DEMO_PORT || 9080);

async function main(): Promise<void> {
  const setup = await demoSetup();
  const nginx = await startNginx({
    config: readFileSync(path.join(ROOT, 'nginx', 'demo', 'nginx.conf'), 'utf8'),
    ports: ['PORT', 'ECHO_PORT'],
    fixedPorts: { PORT },
    files: setup.files,
  });
  const base = 'http://127.0.0.1:' + PORT;
  const lines = [
    'JWT gateway demo on ' + base + '  (nginx prefix ' + nginx.prefix + ')',
    '',
    '# jack, the seed token from the APISIX docs, in each place a token may be:',
    `curl -i ${base}/headers -H 'Authorization: ${JACK.seedToken}'`,
    `curl -i ${base}/headers -H 'Authorization: Bearer ${JACK.seedToken}'`,
    `curl -i '${base}/get?jwt=${JACK.seedToken}'`,
    `curl -i ${base}/headers --cookie 'jwt=${JACK.seedToken}'`,
    '',
  ];
  for (const consumer of setup.consumers) {
    lines.push(`# ${consumer.username} (${consumer.alg}), fresh token valid for 1 hour:`);
    lines.push(`curl -i ${base}/anything -H 'Authorization: Bearer ${await tokenFor(consumer)}'`);
  }
  lines.push('', '# the seed rate-limit scenario on /anything: jack may send 3 per 30 s, anonymous callers 1 per 30 s:');
  const count = (auth: string) =>
    `resp=$(seq 5 | xargs -I{} curl "${base}/anything"${auth} -o /dev/null -s -w "%{http_code}\\n") && ` +
    `count_200=$(echo "$resp" | grep "200" | wc -l) && count_429=$(echo "$resp" | grep "429" | wc -l) && ` +
    `echo "200": $count_200, "429": $count_429`;
  lines.push(count(` -H "Authorization: ${JACK.seedToken}"`) + '    # 200: 3, 429: 2');
  lines.push(count('') + '    # 200: 1, 429: 4');
  lines.push('', '# rejected: no token, a malformed token, a tampered signature:');
  lines.push(`curl -i ${base}/headers`);
  lines.push(`curl -i ${base}/headers -H 'Authorization: abc.def'`);
  lines.push(`curl -i ${base}/headers -H 'Authorization: ${JACK.seedToken.slice(0, -6)}AAAAAA'`);
  lines.push('', 'Logs: ' + path.join(nginx.prefix, 'logs') + '   Stop with Ctrl-C.');
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping nginx');
    await nginx.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error('demo failed: ' + (e instanceof Error ? e.message : String(e)));
  process.exit(1);
});
