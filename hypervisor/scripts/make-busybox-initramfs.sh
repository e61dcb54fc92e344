#!/bin/sh
# Build a tiny initramfs whose /init mounts proc and sys and sleeps forever: enough for
# a domU that boots the dom0's own kernel. Needs busybox-static, and on Debian 13 (modules .ko.xz, a zstd
# bzImage) xz-utils and zstd. Run inside the guest.
# `xl shutdown` / `xl reboot` work: the guest kernel runs /sbin/poweroff or /sbin/reboot,
# which power off at once, unless the kernel command line has xenops_ignore_shutdown (a
# guest that ignores shutdown requests, for tests of shutdown timeouts).
# Network: with xenops_ip=ADDRESS/PREFIX on the kernel command line the domU loads
# xen-netfront (a module of Debian's kernel, copied in with what it depends on), gives
# eth0 that address and answers HTTP on port 80: /cgi-bin/state prints its boot id and
# its uptime in seconds (so a test can tell a domain that kept running from a new boot).
# xenops_ip1=ADDRESS/PREFIX gives eth1 (a second vif) an address too.
# SSH: with XENOPS_DOMU_AUTHORIZED_KEYS=FILE (and dropbear-bin installed) the domU also runs
# dropbear on port 22 for root with FILE as its authorized keys (so Ansible can reach it).
#   make-busybox-initramfs.sh [OUTPUT]   (default /var/lib/xenops-lab/busybox-initramfs.cpio.gz)
set -eu
OUT=${1:-/var/lib/xenops-lab/busybox-initramfs.cpio.gz}
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "busybox-static is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/sbin" "$work/proc" "$work/sys" "$work/dev" "$work/tmp" "$work/lib/modules" \
  "$work/www/cgi-bin"
cp "$BUSYBOX" "$work/bin/busybox"
for app in sh mount sleep echo cat cut ip insmod httpd ping; do ln -s busybox "$work/bin/$app"; done
# the dom0 kernel the domUs boot, and its network front-end with the modules it needs, in load order
kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
kver=${kernel##*/vmlinuz-}
add_module() {
  grep -qx "$1" "$work/lib/modules/order" 2>/dev/null && return 0
  for dep in $(modinfo -k "$kver" -F depends "$1" | tr ',' ' '); do add_module "$dep"; done
  file=$(modinfo -k "$kver" -n "$1")
  case "$file" in
    *.ko) cp "$file" "$work/lib/modules/$1.ko" ;;
    *.ko.xz) xz -dc "$file" > "$work/lib/modules/$1.ko" ;;
    *) return 0 ;;  # built in
  esac
  echo "$1" >> "$work/lib/modules/order"
}
if modinfo -k "$kver" -n xen-netfront >/dev/null 2>&1; then add_module xen-netfront; fi
touch "$work/lib/modules/order"
# dropbear and the libraries it links (copied with their paths), root's keys, a passwd for root
if [ -n "${XENOPS_DOMU_AUTHORIZED_KEYS:-}" ]; then
  dropbear=$(command -v dropbear || echo /usr/sbin/dropbear)
  [ -x "$dropbear" ] || { echo "XENOPS_DOMU_AUTHORIZED_KEYS is set, but dropbear-bin is not installed" >&2; exit 1; }
  [ -s "$XENOPS_DOMU_AUTHORIZED_KEYS" ] || { echo "no keys in $XENOPS_DOMU_AUTHORIZED_KEYS" >&2; exit 1; }
  mkdir -p "$work/usr/sbin" "$work/root/.ssh" "$work/etc/dropbear" "$work/var/run"
  cp "$dropbear" "$work/usr/sbin/dropbear"
  for lib in $(ldd "$dropbear" | grep -o '/[^ ]*'); do
    mkdir -p "$work$(dirname "$lib")"
    cp -L "$lib" "$work$lib"
  done
  cp "$XENOPS_DOMU_AUTHORIZED_KEYS" "$work/root/.ssh/authorized_keys"
  chmod 700 "$work/root" "$work/root/.ssh"
  chmod 600 "$work/root/.ssh/authorized_keys"
  echo 'root:x:0:0:root:/root:/bin/sh' > "$work/etc/passwd"
  echo 'root:x:0:' > "$work/etc/group"
  echo '/bin/sh' > "$work/etc/shells"
  for app in hostname uname id; do ln -s busybox "$work/bin/$app"; done
fi
cat > "$work/www/cgi-bin/state" <<'CGI'
#!/bin/sh
echo "Content-Type: text/plain"
echo
cat /proc/sys/kernel/random/boot_id
cut -d' ' -f1 /proc/uptime
CGI
chmod 755 "$work/www/cgi-bin/state"
cat > "$work/init" <<'INIT'
#!/bin/busybox sh
export PATH=/bin:/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "xenops busybox domU is up"
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    xenops_ip=*) ip="${arg#xenops_ip=}" ;;
    xenops_ip1=*) ip1="${arg#xenops_ip1=}" ;;
  esac
done
if [ -n "${ip:-}" ]; then
  for module in $(cat /lib/modules/order); do insmod "/lib/modules/$module.ko"; done
  n=0
  while [ ! -e /sys/class/net/eth0 ] && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  ip link set lo up
  ip addr add "$ip" dev eth0 && ip link set eth0 up && httpd -p 80 -h /www && echo "xenops busybox domU: eth0 $ip, http on port 80"
  if [ -n "${ip1:-}" ]; then
    n=0
    while [ ! -e /sys/class/net/eth1 ] && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    ip addr add "$ip1" dev eth1 && ip link set eth1 up && echo "xenops busybox domU: eth1 $ip1"
  fi
  if [ -x /usr/sbin/dropbear ]; then
    # a terminal for SSH sessions that ask for one (ansible's raw does): /dev is devtmpfs by now
    /bin/busybox mkdir -p /dev/pts && /bin/busybox mount -t devpts -o ptmxmode=0666 devpts /dev/pts
    # -R: host keys made at the first connection; -s: keys only
    /usr/sbin/dropbear -R -s -p 22 && echo "xenops busybox domU: ssh on port 22"
  fi
fi
while true; do /bin/busybox sleep 3600; done
INIT
chmod 755 "$work/init"
for action in poweroff reboot; do
  cat > "$work/sbin/$action" <<HELPER
#!/bin/busybox sh
case " \$(/bin/busybox cat /proc/cmdline) " in *" xenops_ignore_shutdown "*) exit 0 ;; esac
exec /bin/busybox $action -f
HELPER
  chmod 755 "$work/sbin/$action"
done
mkdir -p "$(dirname "$OUT")"
(cd "$work" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -9 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
# a stable path to the dom0 kernel for domU configs
ln -sf "$kernel" "$(dirname "$OUT")/vmlinuz"
# PVH guests cannot boot a bzImage: they need the uncompressed ELF vmlinux inside it
python3 - "$kernel" "$(dirname "$OUT")/vmlinux" <<'PY'
import gzip, lzma, subprocess, sys, zlib
data = open(sys.argv[1], "rb").read()
# Debian 12 compresses its kernel with xz, Debian 13 with zstd (Python has no zstd module: the zstd command)
for magic, kind in ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x1f\x8b\x08", "gzip")):
    pos = data.find(magic)
    while pos >= 0:
        try:
            if kind == "xz":
                out = lzma.LZMADecompressor().decompress(data[pos:])
            elif kind == "zstd":
                # the data after the frame makes zstd exit non-zero; what it wrote before is the kernel
                out = subprocess.run(["zstd", "-dcq"], input=data[pos:], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, check=False).stdout
            else:
                out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[pos:])
        except (lzma.LZMAError, zlib.error, EOFError, OSError):
            out = b""
        if out[:4] == b"\x7fELF":
            open(sys.argv[2], "wb").write(out)
            sys.exit(0)
        pos = data.find(magic, pos + 1)
sys.exit("no ELF kernel found in " + sys.argv[1])
PY
echo "$OUT"
