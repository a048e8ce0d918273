#!/bin/sh
# mmdebstrap --customize-hook for every image; $1 is the root of the image being built.
set -eu
root="$1"
recipe="$(dirname "$0")"

# Files of rootfs/ land at the same path in the image.
tar -C "$recipe/rootfs" -cf - . | tar -C "$root" -xf - --no-same-owner --no-overwrite-dir

# openssh-server's postinst made host keys; an image shared by every host must not carry them.
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" systemctl enable ssh.service ssh-host-keys.service

# authorized_keys arrives at provisioning; the directory must already have sshd's modes.
install -d -m 0700 "$root/root/.ssh"

# Units that have nothing to do in a container: no consoles, no devices to manage, a root
# file system docker mounted, no kernel tunables or timers reaching for the network.
chroot "$root" systemctl mask \
    getty.target console-getty.service \
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-remount-fs.service systemd-firstboot.service \
    systemd-modules-load.service kmod-static-nodes.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-fs-fuse-connections.mount dev-hugepages.mount proc-sys-fs-binfmt_misc.automount \
    apt-daily.timer apt-daily-upgrade.timer fstrim.timer e2scrub_all.timer e2scrub_reap.service
