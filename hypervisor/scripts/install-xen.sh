#!/bin/sh
# Install the Xen hypervisor and toolstack on a Debian 12 lab host (run inside the guest,
# as root) and make GRUB boot Xen with the dom0 console on the serial port.
# Reboot afterwards. The Ansible roles of the collection replace this later.
#
#   DOM0_MEM       dom0 memory (default 768M)
#   EXTRA_PACKAGES more packages to install in the same apt run (e.g. busybox-static)
set -eu

DOM0_MEM=${DOM0_MEM:-768M}
EXTRA_PACKAGES=${EXTRA_PACKAGES:-}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

# Installing Xen rebuilds the initrd; with MODULES=most that takes many minutes under TCG.
if [ ! -e /etc/initramfs-tools/conf.d/xenops-lab.conf ]; then
    mkdir -p /etc/initramfs-tools/conf.d
    echo "MODULES=dep" > /etc/initramfs-tools/conf.d/xenops-lab.conf
fi

# finish an interrupted earlier run, if any
dpkg --configure -a >/dev/null 2>&1 || true

missing=""
for pkg in xen-system-amd64 $EXTRA_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    log=/var/log/xenops-install-xen.log
    # shellcheck disable=SC2086
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "install-xen: apt-get failed, see $log" >&2
        exit 1
    fi
    echo "xen: installed$missing"
fi

cat > /etc/default/grub.d/xenops-xen.cfg <<CFG
# written by xenops install-xen.sh
GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=${DOM0_MEM},max:${DOM0_MEM} dom0_max_vcpus=1-2 console=com1 com1=115200,8n1"
GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT="console=hvc0 loglevel=4"
CFG
update-grub 2>/dev/null

if [ -d /proc/xen ] && [ -e /proc/xen/capabilities ] && grep -q control_d /proc/xen/capabilities; then
    echo "xen: running as dom0 already"
else
    echo "xen: installed, reboot to start it"
fi
