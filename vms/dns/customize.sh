#!/bin/sh
# mmdebstrap --customize-hook for the DNS image; $1 is the image root.
set -eu
root="$1"
recipe="$(dirname "$0")"

install -m 0644 "$recipe/dnsmasq.conf" "$root/etc/dnsmasq.conf"
# dnsmasq.d/ holds only what provisioning writes (the package's README is not config).
rm -f "$root/etc/dnsmasq.d/README"
chroot "$root" systemctl enable dnsmasq.service
