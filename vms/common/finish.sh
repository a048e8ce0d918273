#!/bin/sh
# mmdebstrap --customize-hook run after the image's own customize.sh; $1 is the image root.
set -eu
root="$1"

# The build host's name and resolver were copied in for the build (the image's hooks may
# need the network); every host made from the image gets its own at provisioning.
: > "$root/etc/hostname"
rm -f "$root/etc/resolv.conf"
rm -rf "$root/root/.cache"
