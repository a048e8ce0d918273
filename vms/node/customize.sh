#!/bin/sh
# mmdebstrap --customize-hook for the node image; $1 is the image root.
set -eu
root="$1"

# The install playbook writes /etc/default/etcd and starts etcd as a member of the run's
# cluster; a stock single-member etcd started at boot would only be in its way.
chroot "$root" systemctl disable etcd.service
rm -rf "$root"/var/lib/etcd/*
