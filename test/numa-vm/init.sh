#!/bin/busybox sh
# PID 1 of a numa-vm guest (packed into its initramfs by cache.ts): load the virtio, 9p and
# virtio-console modules, mount the host's / over virtio-9p, give it this kernel's /proc, /sys
# and /dev, run the script named on the kernel command line (numavm.script=PATH) chrooted into
# it with stdout and stderr on the virtio ports "stdout" and "stderr", write its exit status on
# the port "status", and power off.
bb=/bin/busybox
fail() {
  $bb echo "numa-vm init: $*" >&2
  [ -e /dev/port-status ] && $bb echo "init-failed: $*" > /dev/port-status
  $bb poweroff -f
}
$bb mkdir -p /proc /sys /dev /host
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
for m in $($bb cat /modules.order); do
  $bb insmod "/modules/$m" || fail "insmod $m"
done
# Ports by name (no udev here): /dev/vportNpM -> /dev/port-NAME. The driver adds them after
# insmod returns, so wait for all three (up to 20 s).
tries=0
while :; do
  for p in /sys/class/virtio-ports/*; do
    [ -s "$p/name" ] && [ -e "/dev/${p##*/}" ] && $bb ln -sf "/dev/${p##*/}" "/dev/port-$($bb cat "$p/name")"
  done
  [ -e /dev/port-stdout ] && [ -e /dev/port-stderr ] && [ -e /dev/port-status ] && break
  tries=$((tries + 1))
  [ $tries -gt 200 ] && fail "the virtio ports stdout, stderr and status did not appear"
  $bb sleep 0.1
done
# cache=loose: Node's many small reads of the host's files are about 4x faster than with cache=mmap.
$bb mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=512000 hostroot /host || fail "mount 9p"
$bb mount -t proc proc /host/proc || fail "mount /host/proc"
$bb mount -t sysfs sysfs /host/sys || fail "mount /host/sys"
$bb mount -t devtmpfs devtmpfs /host/dev || fail "mount /host/dev"
$bb mkdir -p /host/dev/shm /host/dev/pts
$bb mount -t tmpfs tmpfs /host/dev/shm
$bb mount -t devpts devpts /host/dev/pts
script=""
for word in $($bb cat /proc/cmdline); do
  case "$word" in numavm.script=*) script="${word#numavm.script=}" ;; esac
done
[ -n "$script" ] || fail "no numavm.script= on the kernel command line"
$bb chroot /host /bin/sh "$script" </dev/null >/dev/port-stdout 2>/dev/port-stderr
$bb echo "exit $?" > /dev/port-status
$bb sync
$bb poweroff -f
