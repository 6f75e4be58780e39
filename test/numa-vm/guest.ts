import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestImage, type GuestImage } from './cache.js';
import { numaArgs, type GuestLayout } from './layout.js';

// Runs one command in a throw-away QEMU guest with a given NUMA layout. The guest boots the
// cached kernel and initramfs, sees the host's / over virtio-9p (so the command, its working
// directory and its files are at their host paths), runs the command as root, and powers off.
// stdout and stderr come back live over two virtio serial ports (unix sockets here), the exit
// status over a third. qemu is killed by its PID on every path: after the status arrives and a
// short grace, on the timeout, on an error, when this process exits, and (setpriv --pdeathsig)
// when this process dies without running its exit handlers.

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  accel: Accel;
  /** Why: shown in logs and in docs/numa-testing.md. */
  reason: string;
}

/**
 * KVM only where the CPU really has vmx or svm and /dev/kvm is usable: a /dev/kvm without them
 * (a software nested-virtualisation device) hangs stock kernels. NUMA_VM_ACCEL=tcg|kvm forces one.
 */
export function chooseAccel(cpuinfo = readText('/proc/cpuinfo'), env = process.env): AccelChoice {
  const forced = env.NUMA_VM_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return { accel: forced, reason: `NUMA_VM_ACCEL=${forced}` };
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  const hw = flags.includes('vmx') ? 'vmx' : flags.includes('svm') ? 'svm' : null;
  if (!hw) return { accel: 'tcg', reason: 'TCG emulation: the CPU flags have no vmx or svm, so /dev/kvm (if any) is not hardware KVM' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: `TCG emulation: the CPU has ${hw} but /dev/kvm is not usable` };
  }
  return { accel: 'kvm', reason: `KVM: the CPU has ${hw} and /dev/kvm is usable` };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export const QEMU = 'qemu-system-x86_64';
const QBOOT = '/usr/share/qemu/qboot.rom';

/** Why qemu cannot run a guest here, or null when it can (the tests skip with this reason). */
export function qemuUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `numa-vm guests need an x86-64 Linux host, not ${process.platform}/${process.arch}`;
  const onPath = (cmd: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
  if (!onPath(QEMU)) return `${QEMU} is not installed (apt-get install qemu-system-x86)`;
  if (!existsSync('/bin/busybox')) return '/bin/busybox is not installed (apt-get install busybox-static)';
  for (const cmd of ['apt-get', 'apt-cache', 'dpkg-deb', 'xz']) if (!onPath(cmd)) return `${cmd} is missing: the guest kernel comes from Debian's linux-image-amd64`;
  return null;
}

export interface GuestRunOptions {
  layout: GuestLayout;
  /** The command, run with argv (no shell) unless it is ['sh', '-c', ...] itself. */
  argv: string[];
  /** Working directory in the guest (a host path); default this process's. */
  cwd?: string;
  /** Extra environment; the guest starts with PATH, HOME=/root and LANG=C.UTF-8 only. */
  env?: Record<string, string>;
  /** Whole run, boot included; the guest is killed after it. Default 600 s. */
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Progress lines of the harness itself (accelerator, kernel, timings). */
  log?: (line: string) => void;
  image?: GuestImage;
}

export interface GuestRunResult {
  /** The command's exit status; null when the guest ended without reporting one. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  accel: AccelChoice;
  /** The qemu process that ran the guest (gone when this returns). */
  qemuPid: number;
  seconds: number;
  /** Why there is no exit status (init failure, kernel panic, qemu error), with the console's last lines. */
  failure?: string;
}

/** One POSIX-shell word. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The script the guest runs chrooted in the host's /. */
export function guestScript(argv: readonly string[], cwd: string, env: Record<string, string>): string {
  const lines = [
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8',
    ...Object.entries(env).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`environment variable name ${JSON.stringify(k)} is not a shell name`);
      return `export ${k}=${shellQuote(v)}`;
    }),
    `cd ${shellQuote(cwd)} || exit 126`,
    `exec ${argv.map(shellQuote).join(' ')}`,
  ];
  return lines.join('\n') + '\n';
}

/** Live qemu processes of this process, killed when it exits. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.pid !== undefined) killPid(child.pid);
});

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A unix-socket server for one virtio serial port; qemu connects to it as a client. */
function portServer(path: string, onData: (chunk: Buffer) => void): Promise<{ server: Server; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let done: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const server = createServer((socket: Socket) => {
      socket.on('data', onData);
      socket.on('close', () => done());
      socket.on('error', () => done());
    });
    server.on('error', reject);
    server.listen(path, () => resolve({ server, closed }));
  });
}

function qemuArgs(image: GuestImage, layout: GuestLayout, accel: Accel, runDir: string, script: string): string[] {
  const append = [
    'console=ttyS0', 'quiet', 'loglevel=3', 'panic=-1', 'random.trust_cpu=on', 'mitigations=off', `numavm.script=${script}`,
  ].join(' ');
  const args = [
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-machine', 'pc', '-accel', accel,
    // vendor=GenuineIntel: with it the kernel reads the SMT siblings from the topology leaves qemu fills.
    '-cpu', accel === 'kvm' ? 'host' : 'max,vendor=GenuineIntel',
    ...(existsSync(QBOOT) ? ['-bios', QBOOT] : []),
    '-kernel', image.kernel, '-initrd', image.initramfs, '-append', append,
    '-serial', `file:${join(runDir, 'console.log')}`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap,id=hostroot',
    '-device', 'virtio-serial-pci,id=ports',
  ];
  ['stdout', 'stderr', 'status'].forEach((name, i) => {
    args.push('-chardev', `socket,id=${name},path=${join(runDir, name + '.sock')}`);
    args.push('-device', `virtserialport,bus=ports.0,nr=${i + 1},chardev=${name},name=${name}`);
  });
  return [...args, ...numaArgs(layout)];
}

export async function runInGuest(opts: GuestRunOptions): Promise<GuestRunResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const accel = chooseAccel();
  const image = opts.image ?? guestImage(undefined, log);
  log(`numa-vm: ${accel.reason}; kernel ${image.kernelPackage}`);
  // In the host's /tmp, which the guest sees at the same path over 9p.
  const runDir = mkdtempSync(join(tmpdir(), 'numa-vm-'));
  const script = join(runDir, 'run.sh');
  writeFileSync(script, guestScript(opts.argv, opts.cwd ?? process.cwd(), opts.env ?? {}));

  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let statusText = '';
  let onStatus: () => void = () => {};
  const statusSeen = new Promise<void>((r) => (onStatus = r));
  const servers: Server[] = [];
  let child: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let qemuOutput = '';
  try {
    const ports = await Promise.all([
      portServer(join(runDir, 'stdout.sock'), (c) => (out.push(c), opts.onStdout?.(c))),
      portServer(join(runDir, 'stderr.sock'), (c) => (err.push(c), opts.onStderr?.(c))),
      portServer(join(runDir, 'status.sock'), (c) => {
        statusText += c.toString('utf8');
        if (statusText.includes('\n')) onStatus();
      }),
    ]);
    servers.push(...ports.map((p) => p.server));
    const args = qemuArgs(image, opts.layout, accel.accel, runDir, script);
    // setpriv --pdeathsig: the kernel kills qemu should this process die without cleaning up.
    const hasSetpriv = existsSync('/usr/bin/setpriv');
    child = hasSetpriv ? spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', QEMU, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = child;
    const exited = new Promise<void>((r) => {
      proc.once('exit', () => r());
      proc.once('error', (e) => ((qemuOutput += `${e.message}\n`), r()));
    });
    if (proc.pid === undefined) throw new Error(`${QEMU} did not start: ${qemuOutput.trim()}`);
    live.add(proc);
    proc.stdout!.on('data', (c: Buffer) => (qemuOutput += c.toString('utf8')));
    proc.stderr!.on('data', (c: Buffer) => (qemuOutput += c.toString('utf8')));
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const timeout = new Promise<void>((r) => (timer = setTimeout(() => ((timedOut = true), r()), timeoutMs)));
    const spawned = Date.now();
    await Promise.race([statusSeen, exited, timeout]);
    const statusAt = Date.now();
    if (!timedOut && statusText) {
      // The guest powers itself off; give it a moment, so the ports drain, before the kill.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      await Promise.race([Promise.all(ports.map((p) => p.closed)), new Promise((r) => setTimeout(r, 1000))]);
    }
    const killedAt = Date.now();
    killPid(proc.pid);
    await exited;
    live.delete(proc);
    log(`numa-vm: qemu ran ${((statusAt - spawned) / 1000).toFixed(1)} s to the exit status, ${((killedAt - statusAt) / 1000).toFixed(1)} s more to power off`);

    const status = /^exit (\d+)$/m.exec(statusText);
    const seconds = (Date.now() - started) / 1000;
    const result: GuestRunResult = {
      exitCode: status ? Number(status[1]) : null,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      timedOut,
      accel,
      qemuPid: proc.pid,
      seconds,
    };
    if (!status) {
      const consoleTail = readText(join(runDir, 'console.log')).trim().split('\n').slice(-20).join('\n');
      const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : statusText ? statusText.trim() : 'the guest ended without an exit status';
      result.failure = [why, qemuOutput.trim() && `qemu: ${qemuOutput.trim()}`, consoleTail && `console (last lines):\n${consoleTail}`]
        .filter(Boolean).join('\n');
    }
    log(`numa-vm: guest done in ${seconds.toFixed(1)} s, ${result.failure ? result.failure.split('\n')[0] : `exit ${result.exitCode}`}`);
    return result;
  } finally {
    clearTimeout(timer);
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      killPid(child.pid);
      await gone;
    }
    if (child) live.delete(child);
    for (const s of servers) s.close();
    rmSync(runDir, { recursive: true, force: true });
  }
}
