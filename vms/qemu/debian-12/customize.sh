#!/bin/sh
# mmdebstrap --customize-hook for the VM image, run after vms/common and every role's hooks;
# $1 is the image root. One image serves every role: the seed of each host turns on the
# services of its role at first boot.
set -eu
root="$1"
recipe="$(dirname "$0")"

tar -C "$recipe/rootfs" -cf - . | tar -C "$root" -xf - --no-same-owner --no-overwrite-dir

# vms/common masks what a container has no use for; a VM has devices, consoles, a kernel
# and a root file system of its own, so every mask goes, except the timers that would reach
# for the network.
find "$root/etc/systemd/system" -maxdepth 1 -lname /dev/null -delete
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer

# The role services: each host's seed enables those of its role.
chroot "$root" systemctl disable nginx.service dnsmasq.service

# ifupdown brings up what cloud-init renders from the seed's network config, nothing more.
printf 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n' \
    > "$root/etc/network/interfaces"

# The serial console is where a person looks when a host does not come up.
chroot "$root" systemctl enable serial-getty@ttyS0.service

# The kernel and initrd are booted directly (no boot loader); stable names for the harness
# to extract them by.
kernel="$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n 1)"
ln -sf "$(basename "$kernel")" "$root/boot/vmlinuz"
ln -sf "initrd.img-${kernel##*/vmlinuz-}" "$root/boot/initrd.img"
test -e "$root/boot/initrd.img"

# cloud-init must run as on a fresh machine on every host made from the image.
rm -rf "$root/var/lib/cloud"
: > "$root/etc/machine-id"
