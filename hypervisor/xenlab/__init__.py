"""Local QEMU lab of Debian 12 machines that can become Xen hosts."""
