#!/bin/sh
# mmdebstrap --customize-hook for the load balancer image; $1 is the image root.
set -eu
root="$1"

# The stock nginx.conf stays: it loads the stream module through modules-enabled/, and
# the procedure's C6 exists because replacing the whole file loses that include. The
# link is absolute: it resolves only inside the image.
chroot "$root" test -e /etc/nginx/modules-enabled/50-mod-stream.conf
chroot "$root" systemctl enable nginx.service
