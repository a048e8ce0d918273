#!/bin/sh
# mmdebstrap --customize-hook for the deploy host image; $1 is the image root.
set -eu
root="$1"
recipe="$(dirname "$0")"

# Wheels for the image's own Python, fetched by its own pip while the build still has the
# network; no sdists, since nothing on the deploy host should compile at install time.
# --isolated and env -u keep the build host's pip and TLS settings out (requests lets
# REQUESTS_CA_BUNDLE override --cert); the build host's trust store comes in, so that a
# TLS-inspecting proxy the build host trusts is trusted here too.
host_ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -f "$host_ca" ]; then
    cp "$host_ca" "$root/tmp/build-host-ca.crt"
else
    cp "$root/etc/ssl/certs/ca-certificates.crt" "$root/tmp/build-host-ca.crt"
fi
install -d -m 0755 "$root/opt/wheelhouse"
install -m 0644 "$recipe/wheelhouse.txt" "$root/tmp/wheelhouse.txt"
chroot "$root" env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR \
    python3 -m pip --isolated download --no-cache-dir --disable-pip-version-check \
    --cert /tmp/build-host-ca.crt --only-binary=:all: --dest /opt/wheelhouse \
    --requirement /tmp/wheelhouse.txt
rm -f "$root/tmp/wheelhouse.txt" "$root/tmp/build-host-ca.crt"
chmod 0644 "$root"/opt/wheelhouse/*

install -m 0644 "$recipe/pip.conf" "$root/etc/pip.conf"
