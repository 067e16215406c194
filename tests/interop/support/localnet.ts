// Starts build/native/bin/localnet as a child process in a temp run
// directory, reads its JSON status line, sends it stdin commands, and stops
// it by PID. Its stdin is a pipe held only by this process, so localnet
// also stops when this process dies (it exits when its stdin closes).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface LocalnetGateway {
  role: 'entry' | 'exit';
  identity: string;
  ws_url: string;
}

export interface LocalnetService {
  name: string;
  ip: string;
  port: number;
  proto: 'tcp' | 'udp';
  real_port: number;
}

export interface LocalnetStatus {
  localnet: 'ready';
  pid: number;
  directory_url: string;
  gateways: LocalnetGateway[];
  /** The exit's IP Packet Router, once localnet has one. */
  ipr_address?: string;
  test_ca_pem?: string;
  dns_zone?: string;
  dns_servers?: string[];
  services?: LocalnetService[];
}

export interface NodeStats {
  node: string;
  running: boolean;
  received?: number;
  forwarded?: number;
  delivered?: number;
  dropped?: number;
  rejected?: number;
  /** Gateways only: client WebSocket connections, registrations and authentications. */
  connections?: number;
  registrations?: number;
  authentications?: number;
}

export interface Localnet {
  status: LocalnetStatus;
  runDir: string;
  /** Where localnet's stderr goes. */
  logPath: string;
  /** One `stats` answer: packet counters of every node. */
  stats(timeoutMs?: number): Promise<NodeStats[]>;
  /** Stops it by PID (SIGTERM, then SIGKILL), then removes its temp directory. */
  stop(): Promise<void>;
}

export interface LocalnetOptions {
  /** Where its stderr goes (kept after stop); default: inside the temp dir. */
  logPath?: string;
  /** How long to wait for the status line. */
  startTimeoutMs?: number;
  /** More command-line arguments (localnet/main.c), such as --kernel-internet. */
  args?: string[];
}

export async function startLocalnet(binary: string, options: LocalnetOptions = {}): Promise<Localnet> {
  if (!existsSync(binary)) throw new Error(`${binary} does not exist: build it first`);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const base = await mkdtemp(path.join(os.tmpdir(), 'mixnet-interop-'));
  const runDir = path.join(base, 'run');
  const logPath = options.logPath ?? path.join(base, 'localnet.stderr.log');
  await mkdir(path.dirname(logPath), { recursive: true });
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(binary, ['--run-dir', runDir, ...(options.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.pipe(log);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => {});

  // stdout: the status line first, then one JSON line per stdin command.
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  const reader = createInterface({ input: child.stdout! });
  reader.on('line', (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) w();
  });

  async function nextLine(what: string, timeoutMs: number, accept: (l: string) => boolean): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = lines.findIndex(accept);
      if (i >= 0) return lines.splice(0, i + 1)[i]!;
      if (exited) {
        const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-2000);
        throw new Error(`localnet exited (${exited.code ?? exited.signal}) before ${what}; stderr:\n${tail}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`localnet: no ${what} after ${timeoutMs} ms`);
      await Promise.race([
        new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, Math.min(left, 250));
        }),
        exitPromise,
        spawnError,
      ]);
    }
  }

  async function stop(): Promise<void> {
    if (!exited && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killed = await Promise.race([
        exitPromise.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
      ]);
      if (!killed && !exited) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 5_000))]);
      }
    }
    child.stdin?.destroy();
    reader.close();
    await new Promise<void>((resolve) => log.end(resolve));
    await rm(base, { recursive: true, force: true });
  }

  let status: LocalnetStatus;
  try {
    const line = await nextLine('status line', startTimeoutMs, (l) => l.startsWith('{"localnet"'));
    status = JSON.parse(line) as LocalnetStatus;
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    status,
    runDir,
    logPath,
    async stats(timeoutMs = 5_000) {
      child.stdin!.write('stats\n');
      const line = await nextLine('stats answer', timeoutMs, (l) => l.startsWith('{"stats"'));
      return (JSON.parse(line) as { stats: NodeStats[] }).stats;
    },
    stop,
  };
}
