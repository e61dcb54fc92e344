#!/bin/sh
# Build a tiny initramfs whose /init mounts proc and sys and sleeps forever: enough for
# a domU that boots the dom0's own kernel. Needs busybox-static. Run inside the guest.
#   make-busybox-initramfs.sh [OUTPUT]   (default /var/lib/xenops-lab/busybox-initramfs.cpio.gz)
set -eu
OUT=${1:-/var/lib/xenops-lab/busybox-initramfs.cpio.gz}
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "busybox-static is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/proc" "$work/sys" "$work/dev" "$work/tmp"
cp "$BUSYBOX" "$work/bin/busybox"
for app in sh mount sleep echo cat; do ln -s busybox "$work/bin/$app"; done
cat > "$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "xenops busybox domU is up"
while true; do /bin/busybox sleep 3600; done
INIT
chmod 755 "$work/init"
mkdir -p "$(dirname "$OUT")"
(cd "$work" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -9 > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
# a stable path to the dom0 kernel for domU configs
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -n 1)
ln -sf "$kernel" "$(dirname "$OUT")/vmlinuz"
echo "$OUT"
