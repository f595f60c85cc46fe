/**
 * A container engine for the container tests, found or started:
 * - DOCKER_HOST, when set, or /var/run/docker.sock, when it answers;
 * - else podman, when installed: `podman system service` on a socket of its
 *   own (runc, cgroupfs, ulimits this machine allows: NJS_NOTES "Containers
 *   here"), which serves the Docker API testcontainers speaks.
 * It answers { reason } instead where none can be started, so that the suite
 * is reported as skipped with it.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export interface ContainerEngine {
  /** What it is, for the test log: "podman 4.3.1 (started by the tests)", "DOCKER_HOST=...". */
  name: string;
  stop(): Promise<void>;
}

/** GET /_ping on a Docker API unix socket: true when it answers OK. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

function socketOf(dockerHost: string): string | null {
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : null;
}

export async function containerEngine(): Promise<ContainerEngine | { reason: string }> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const given = process.env.DOCKER_HOST;
  if (given) {
    const socket = socketOf(given);
    if (socket && !(await ping(socket))) return { reason: 'DOCKER_HOST=' + given + ' does not answer' };
    return { name: 'DOCKER_HOST=' + given, stop: async () => {} };
  }
  if (existsSync('/var/run/docker.sock') && (await ping('/var/run/docker.sock'))) {
    process.env.DOCKER_HOST = 'unix:///var/run/docker.sock';
    return { name: 'Docker at /var/run/docker.sock', stop: async () => {} };
  }
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    return {
      reason: 'no Docker engine answers and podman is not installed (apt-get install podman runc uidmap slirp4netns fuse-overlayfs; build/ensure-deps.sh does)',
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-podman-'));
  const conf = path.join(dir, 'containers.conf');
  writeFileSync(
    conf,
    ['[engine]', 'runtime = "runc"', 'cgroup_manager = "cgroupfs"', '[containers]', 'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]', ''].join(
      '\n',
    ),
  );
  const socket = path.join(dir, 'podman.sock');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const child: ChildProcess = spawn('podman', ['system', 'service', '--time=0', 'unix://' + socket], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (chunk) => (errors = (errors + chunk).slice(-2000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (existsSync(socket) && (await ping(socket))) {
      process.env.DOCKER_HOST = 'unix://' + socket;
      return { name: version.stdout.trim() + ' (podman system service, started by the tests)', stop };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  return { reason: 'podman system service did not start: ' + (errors.trim().split('\n').pop() || 'no answer on its socket in 10 s') };
}
