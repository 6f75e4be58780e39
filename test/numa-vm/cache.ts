import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { packagePath } from '../../common/paths.js';
import { cpioNewc, type CpioEntry } from './cpio.js';
import { builtinModules, indexModules, moduleLoadOrder } from './kernel-modules.js';

// The guest's kernel and initramfs, prepared once into a cache directory outside the repository
// and reused by every later run (and CI run) on the machine:
//   <cache>/<kernel package version>-<initramfs hash>/{vmlinux, initramfs.cpio, kernel.txt}
// The kernel is Debian's linux-image-amd64 (apt-get download, dpkg-deb -x; nothing is installed),
// stored uncompressed: qemu boots the ELF vmlinux through its PVH entry, which spares the guest
// decompressing its kernel under emulation (about 10 s of a 18 s boot under TCG here);
// the initramfs holds busybox-static, the modules below and init.sh. A new entry is built in a
// temporary directory and renamed into place, so a half-built one is never used.

/** virtio-pci, the 9p file system over virtio, and the virtio serial ports. */
export const GUEST_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'virtio_console'];

export const INIT_SCRIPT = packagePath('test', 'numa-vm', 'init.sh');
const BUSYBOX = '/bin/busybox';

export interface GuestImage {
  dir: string;
  kernel: string;
  initramfs: string;
  /** The kernel package's name and version, e.g. "linux-image-6.1.0-57-amd64 6.1.192-3". */
  kernelPackage: string;
}

/** $NUMA_VM_CACHE, else /var/cache/numa-sweep-vm where writable, else $XDG_CACHE_HOME (~/.cache)/numa-sweep-vm. */
export function cacheDir(): string {
  if (process.env.NUMA_VM_CACHE) return process.env.NUMA_VM_CACHE;
  try {
    accessSync('/var/cache', constants.W_OK);
    return '/var/cache/numa-sweep-vm';
  } catch {
    return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'numa-sweep-vm');
  }
}

/** What goes into the initramfs besides the kernel's modules decides its hash. */
function initramfsKey(): string {
  const h = createHash('sha256');
  h.update(readFileSync(INIT_SCRIPT));
  h.update(readFileSync(BUSYBOX));
  h.update(GUEST_MODULES.join(','));
  h.update('vmlinux-pvh');
  return h.digest('hex').slice(0, 12);
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The cached kernel and initramfs, prepared now when absent. Throws with the reason when it cannot be. */
export function guestImage(dir = cacheDir(), log: (line: string) => void = () => {}): GuestImage {
  const key = initramfsKey();
  mkdirSync(dir, { recursive: true });
  // Any cached kernel with this initramfs will do: no network is needed once one is there.
  const ready = readdirSync(dir).filter((e) => e.endsWith(`-${key}`) && existsSync(join(dir, e, 'kernel.txt'))).sort();
  const cached = ready.at(-1);
  if (cached) return imageIn(join(dir, cached));

  const work = mkdtempSync(join(dir, '.prepare-'));
  try {
    const started = Date.now();
    // The meta-package names the current kernel package; download that one.
    const depends = run('apt-cache', ['depends', 'linux-image-amd64'], work);
    const pkg = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)\s*$/m.exec(depends)?.[1];
    if (!pkg) throw new Error(`apt-cache depends linux-image-amd64 names no kernel package:\n${depends}`);
    log(`numa-vm: downloading ${pkg} into ${dir}`);
    run('apt-get', ['download', '-q', pkg], work);
    const deb = readdirSync(work).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${work}`);
    const version = run('dpkg-deb', ['-f', join(work, deb), 'Version'], work).trim();
    run('dpkg-deb', ['-x', join(work, deb), join(work, 'root')], work);
    const boot = join(work, 'root', 'boot');
    const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${deb} holds no /boot/vmlinuz-*`);
    const modulesRoot = join(work, 'root', 'lib', 'modules');
    const release = readdirSync(modulesRoot)[0]!;
    const builtinList = join(modulesRoot, release, 'modules.builtin');
    const builtin = builtinModules(existsSync(builtinList) ? readFileSync(builtinList, 'utf8') : '');
    const modules = moduleLoadOrder(GUEST_MODULES, indexModules(join(modulesRoot, release, 'kernel')), builtin);

    const entries: CpioEntry[] = [
      { name: 'bin', kind: 'dir', mode: 0o755 },
      { name: 'bin/busybox', kind: 'file', mode: 0o755, data: readFileSync(BUSYBOX) },
      { name: 'bin/sh', kind: 'symlink', mode: 0o777, data: Buffer.from('busybox') },
      { name: 'init', kind: 'file', mode: 0o755, data: readFileSync(INIT_SCRIPT) },
      { name: 'modules', kind: 'dir', mode: 0o755 },
      ...modules.map((m): CpioEntry => ({ name: `modules/${basename(m)}`, kind: 'file', mode: 0o644, data: readFileSync(m) })),
      { name: 'modules.order', kind: 'file', mode: 0o644, data: Buffer.from(modules.map((m) => basename(m)).join('\n') + '\n') },
    ];
    const entry = join(work, 'entry');
    mkdirSync(entry);
    writeFileSync(join(entry, 'vmlinux'), uncompressedKernel(readFileSync(join(boot, vmlinuz))));
    writeFileSync(join(entry, 'initramfs.cpio'), cpioNewc(entries));
    writeFileSync(join(entry, 'kernel.txt'), `${pkg} ${version}\n`);
    const target = join(dir, `${version}-${key}`);
    try {
      renameSync(entry, target);
    } catch (err) {
      // Another run prepared the same entry meanwhile: use theirs.
      if (!existsSync(join(target, 'kernel.txt'))) throw err;
    }
    log(`numa-vm: prepared ${pkg} ${version} with ${modules.length} modules in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return imageIn(target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The ELF vmlinux inside a bzImage: its payload is one xz stream (Debian builds with CONFIG_KERNEL_XZ). */
export function uncompressedKernel(bzImage: Buffer): Buffer {
  const at = bzImage.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) throw new Error('the kernel image holds no xz stream (not an xz-compressed bzImage)');
  const elf = execFileSync('xz', ['-dc', '--single-stream'], { input: bzImage.subarray(at), maxBuffer: 1 << 30 });
  if (!elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) throw new Error('the xz stream in the kernel image is not an ELF vmlinux');
  return elf;
}

function imageIn(dir: string): GuestImage {
  return {
    dir,
    kernel: join(dir, 'vmlinux'),
    initramfs: join(dir, 'initramfs.cpio'),
    kernelPackage: readFileSync(join(dir, 'kernel.txt'), 'utf8').trim(),
  };
}
